"""The calendar sweep: many generated programmes of 1 to 50 cohorts, every family that once
failed (``after`` chains across kinds, shared facilitators, part-timers, absences of
participants, coaches and facilitators, tight venues, 24-month programmes).

    uv run python -m benchmarks.schedule sweep [--time-limit 600]

Each programme is generated, allocated and matched, then scheduled in its own process.
Printed per programme: its families, events, whether it was scheduled (with the independent
checker's hard violations, which must be 0), proven infeasible (with the first cause) or
timed out (exit 4), wall seconds of the stage, and the gap to the stage's lower bound.
Target: every feasible programme scheduled. Results: benchmarks/results/schedule-sweep.md.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

SIZES = (1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 50)


def families(cohorts: int) -> dict[str, dict]:
    """The generator options of each family for a programme of ``cohorts`` cohorts."""
    return {
        "default": {},
        "chains": {"after_chains": True},
        "part-time+absent": {
            "part_time_share": 0.3,
            "participant_unavailability_share": 0.1,
            "unavailability_share": 0.1,
        },
        "tight-venues": {"venues": max(1, math.ceil(cohorts / 3)), "group_weekdays": ("Wed",)},
        "24-months+chains": {"months": 24, "after_chains": True},
        "shared-facilitators+chains": {"shared_facilitators": 8, "after_chains": True},
    }


def programmes() -> list[tuple[str, dict]]:
    """Every programme of the sweep: each family at most sizes, seeds varying."""
    out = []
    for i, cohorts in enumerate(SIZES):
        for j, (family, extra) in enumerate(families(cohorts).items()):
            if family == "shared-facilitators+chains" and cohorts > 8:
                continue  # every cohort would share the same two facilitators
            if family == "24-months+chains" and cohorts in (4, 15, 40):
                continue
            options = {
                "councils": max(1, cohorts if (i + j) % 2 else math.ceil(cohorts / 2)),
                "applicants": max(60, cohorts * 40),
                "cohorts": cohorts,
                "seed": 100 + 7 * i + j,
                "places": 12 if cohorts > 1 else 8,
                **extra,
            }
            out.append((f"{cohorts:02d}-{family}", options))
    return out


def one(index: int, time_limit: float, workers: int) -> dict:
    """Generate, allocate and match programme ``index``; schedule it and report."""
    from cohort_solver.checks.calendar import violations
    from cohort_solver.errors import InfeasibleError, OutOfTimeError
    from cohort_solver.stages.allocate.solve import allocate
    from cohort_solver.stages.load.scenario import load_scenario
    from cohort_solver.stages.match.solve import match
    from cohort_solver.stages.schedule import schedule
    from cohort_solver.synthetic.generate import generate_scenario

    name, options = programmes()[index]
    with tempfile.TemporaryDirectory() as folder:
        generate_scenario(Path(folder) / "s", **options)
        scenario = load_scenario(Path(folder) / "s")
    selected = allocate(scenario, time_limit=120, workers=workers).selected()
    matches = match(scenario, selected, time_limit=120, workers=workers).matches
    began = time.monotonic()
    figures: dict = {"name": name}
    try:
        result = schedule(scenario, selected, matches, time_limit=time_limit, workers=workers)
    except InfeasibleError as exc:
        figures.update(status="proven infeasible", cause=exc.causes[0][:160])
    except OutOfTimeError as exc:
        figures.update(status="timed out (exit 4)", cause=exc.reached[:160])
    else:
        total = next(lv for lv in result.report.levels if lv.name == "soft_total")
        figures.update(
            status="scheduled",
            events=len(result.events),
            violations=len(violations(scenario, selected, matches, result.events)),
            soft=total.value,
            bound=total.bound,
            gap=round((total.value - total.bound) / max(1, total.value), 4),
        )
    figures["seconds"] = round(time.monotonic() - began, 1)
    return figures


def sweep(time_limit: float, workers: int) -> None:
    rows = []
    print(f"{len(programmes())} programmes", flush=True)
    for index, (name, _) in enumerate(programmes()):
        command = [sys.executable, "-m", "benchmarks.sweep", str(index)]
        command += [str(time_limit), str(workers)]
        load = round(os.getloadavg()[0], 2)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            figures = {"name": name, "status": f"error: {tail[:160]}", "seconds": ""}
        else:
            figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["load"] = load
        rows.append(figures)
        print(_line(figures), flush=True)
    counts: dict[str, int] = {}
    for f in rows:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    write(rows, counts)


def _line(f: dict) -> str:
    if f["status"] == "scheduled":
        return (
            f"{f['name']:32s} scheduled   {f['events']:6d} events {f['seconds']:7.1f} s  "
            f"violations {f['violations']}  soft {f['soft']} bound {f['bound']} gap {f['gap']:.1%}"
        )
    return f"{f['name']:32s} {f['status']}  {f['seconds']} s  {f.get('cause', '')}"


def write(rows: list[dict], counts: dict[str, int]) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        "# schedule benchmark: sweep",
        "",
        f"Measured {stamp} on {machine}. "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + ".",
        "",
        "| programme | outcome | events | wall s | hard violations | soft | bound | gap | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in rows:
        if f["status"] == "scheduled":
            lines.append(
                f"| {f['name']} | scheduled | {f['events']:,} | {f['seconds']} | "
                f"{f['violations']} | {f['soft']} | {f['bound']} | {f['gap']:.1%} | {f['load']} |"
            )
        else:
            cause = f.get("cause", "").replace("|", "/")
            lines.append(
                f"| {f['name']} | {f['status']}: {cause} | | {f['seconds']} | | | | | {f['load']} |"
            )
    (RESULTS / "schedule-sweep.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    print(json.dumps(one(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))))
