"""The benchmark suite: every stage and the full `run` at three sizes, one table.

    uv run python -m benchmarks [--sizes small,regional,national] [--time-limit 120]

Each stage runs as its own `cohort-solver` process, so wall time and peak memory (max RSS) are
that stage's alone. Results go to stdout and to benchmarks/results/latest.{csv,md} with the
machine they were measured on. Generated scenarios are cached in benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"

SIZES = {
    "small": None,  # the bundled oxford-2024
    "regional": dict(
        councils=50, applicants=12_000, cohorts=50, mentors=600, coaches=100, venues=20
    ),
    "national": dict(
        councils=300, applicants=100_000, cohorts=300, mentors=4_000, coaches=600, venues=120
    ),
}
STAGES = {
    "small": ["allocate", "match", "schedule", "export", "run"],
    "regional": ["allocate", "match", "schedule", "export", "run"],
    "national": ["allocate", "match"],
}
SOLUTION_STAGE = {"allocate": "allocation", "match": "matching", "schedule": "calendar"}
COLUMNS = ["size", "stage", "wall_s", "peak_mib", "status", "objective", "bound", "gap", "note"]


def scenario_for(size: str) -> Path:
    if SIZES[size] is None:
        return ROOT / "scenarios" / "oxford-2024"
    folder = CACHE / size
    if not (folder / "scenario.toml").exists():
        from cohort_solver.synthetic.generate import generate_scenario

        generate_scenario(folder, seed=1, **SIZES[size])
    return folder


def timed(args: list[str]) -> tuple[float, float, int, str]:
    """Run a command; return wall seconds, peak MiB, exit code and stderr tail."""
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    return (
        wall,
        usage.ru_maxrss / 1024,
        process.returncode,
        err.strip().splitlines()[-1:] and err.strip().splitlines()[-1] or "",
    )


def stage_figures(out: Path, stage: str) -> tuple[str, str, str, str]:
    """Status, objective (first level that is not zero-width), bound and gap from solution.json."""
    try:
        stages = json.loads((out / "solution.json").read_text())["stages"]
    except (OSError, ValueError, KeyError):
        return "", "", "", ""
    names = (
        [SOLUTION_STAGE[stage]]
        if stage in SOLUTION_STAGE
        else list(stages)
        if stage == "run"
        else []
    )
    rows = [stages[n] for n in names if n in stages]
    if not rows:
        return "", "", "", ""
    status = "optimal" if all(r["status"] == "optimal" for r in rows) else "feasible"
    if stage == "run":
        return status, "", "", ""
    levels = rows[0]["objectives"]
    # The decisive level is the last one: by then every earlier level is fixed at its optimum.
    last = levels[-1] if levels else {"value": "", "bound": "", "gap": ""}
    return status, str(last["value"]), str(last["bound"]), f"{last['gap']:.4%}" if levels else ""


def calendar_violations(folder: Path, out: Path) -> str:
    from cohort_solver.checks.calendar import violations
    from cohort_solver.stages.export.tables import read_allocation, read_matches
    from cohort_solver.stages.load.scenario import load_scenario
    from cohort_solver.stages.schedule import read_calendar_csv

    scenario = load_scenario(folder)
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    events = read_calendar_csv(out / "calendar.csv")
    found = violations(scenario, selected, read_matches(out / "matches.csv"), events)
    return f"{len(events)} events, {len(found)} hard violations"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="small,regional,national")
    parser.add_argument("--time-limit", type=float, default=120)
    args = parser.parse_args()
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in args.sizes.split(","):
        folder = scenario_for(size)
        out = CACHE / f"{size}-out"
        for stage in STAGES[size]:
            target = CACHE / f"{size}-run" if stage == "run" else out
            if stage in ("allocate", "run"):
                subprocess.run(["rm", "-rf", str(target)], check=True)
            command = [
                sys.executable,
                "-m",
                "cohort_solver.cli",
                stage,
                str(folder),
                "--out",
                str(target),
                "--workers",
                "2",
                "--time-limit",
                str(args.time_limit),
                "--quiet",
            ]
            wall, peak, code, tail = timed(command)
            status, objective, bound, gap = stage_figures(target, stage)
            note = tail if code else ""
            if code == 0 and stage in ("schedule", "run"):
                note = calendar_violations(folder, target)
            row = [
                size,
                stage,
                f"{wall:.1f}",
                f"{peak:.0f}",
                status or ("done" if code == 0 else f"exit {code}"),
                objective,
                bound,
                gap,
                note,
            ]
            rows.append(row)
            print(" ".join(f"{c:>10}" for c in row), flush=True)
    write_results(rows)


def write_results(rows: list[list[str]]) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([COLUMNS, *rows])
    (RESULTS / "latest.csv").write_text(buffer.getvalue())
    lines = [
        f"Measured {stamp} on {machine}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
