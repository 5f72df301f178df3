"""Calendar benchmarks: the schedule stage on its own, every figure the issue asks for.

    uv run python -m benchmarks.schedule generated [--runs 2]   # 10 and 50 cohorts (issue #12)
    uv run python -m benchmarks.schedule old [--runs 2]         # the old benchmark instance
    uv run python -m benchmarks.schedule national [--runs 1]    # 300 cohorts, ~40,000 events
    uv run python -m benchmarks.schedule sweep                  # >= 50 generated programmes

Each instance runs in its own process (``--one``), so wall time and peak memory (max RSS) are
the schedule stage's: the scenario is generated and its allocation and matches computed once
into ``benchmarks/.cache/`` by the ``cohort-solver`` command line, and the measured process
only loads them and schedules. Printed per run: events, wall seconds of the stage, peak MiB,
hard violations found by the independent checker (``checks/calendar.py``), the soft
objective recomputed by the checker, the stage's lower bound and gap, every soft goal's value
and bound, the calendar.csv sha256 (runs must agree), and the machine's load. Results go to
``benchmarks/results/schedule-<suite>.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"

GENERATED = {
    "10-cohorts": dict(councils=10, applicants=2000, cohorts=10, seed=3),
    "50-cohorts": dict(councils=50, applicants=12000, cohorts=50, seed=1),
    # the tight variant: two venues open to every cohort (and one council's own),
    # workshops on Wednesdays only
    "10-cohorts-tight": dict(
        councils=10, applicants=2000, cohorts=10, seed=3, venues=3, group_weekdays=("Wed",)
    ),
}
NATIONAL = {
    "national": dict(
        councils=300,
        applicants=100_000,
        cohorts=300,
        mentors=4_000,
        coaches=600,
        venues=120,
        seed=1,
    )
}

# --------------------------------------------------------------------------- one instance


def prepared(name: str, options: dict) -> Path:
    """A generated scenario with its allocation and matches, made once by the command line."""
    folder = CACHE / f"schedule-{name}"
    out = CACHE / f"schedule-{name}-out"
    if not (folder / "scenario.toml").exists():
        from cohort_solver.synthetic.generate import generate_scenario

        generate_scenario(folder, **options)
    if not (out / "matches.csv").exists():
        command = [sys.executable, "-m", "cohort_solver.cli", "match", str(folder)]
        command += ["--out", str(out), "--workers", "2", "--quiet"]
        subprocess.run(command, check=True, capture_output=True)
    return folder


def measure(scenario, selected, matches, time_limit: float, workers: int) -> dict:
    """Schedule once and return every figure (run inside the measured process)."""
    from cohort_solver.checks.calendar import WEIGHTS, soft_penalties, violations
    from cohort_solver.stages.schedule import calendar_csv, schedule

    began = time.monotonic()
    result = schedule(scenario, selected, matches, time_limit=time_limit, workers=workers)
    seconds = time.monotonic() - began
    broken = violations(scenario, selected, matches, result.events)
    counts = soft_penalties(scenario, result.events)
    levels = {lv.name: [lv.value, lv.bound] for lv in result.report.levels}
    total = levels["soft_total"]
    return {
        "events": len(result.events),
        "seconds": round(seconds, 1),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "violations": len(broken),
        "first_violations": broken[:5],
        "soft": sum(WEIGHTS[k] * v for k, v in counts.items()),
        "stage_soft": total[0],
        "bound": total[1],
        "gap": round((total[0] - total[1]) / max(1, total[0]), 4),
        "status": result.report.status,
        "levels": levels,
        "sha256": hashlib.sha256(calendar_csv(result.events).encode()).hexdigest(),
    }


def one(kind: str, name: str, time_limit: float, workers: int) -> dict:
    if kind == "old":
        scenario, selected, matches = regional()
    else:
        from cohort_solver.stages.export.tables import read_allocation, read_matches
        from cohort_solver.stages.load.scenario import load_scenario

        options = {**GENERATED, **NATIONAL}[name]
        folder = prepared(name, options)
        out = CACHE / f"schedule-{name}-out"
        scenario = load_scenario(folder)
        selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
        matches = read_matches(out / "matches.csv")
    return measure(scenario, selected, matches, time_limit, workers)


def run_one(kind: str, name: str, time_limit: float, workers: int, seed: int) -> dict:
    """``one`` in a fresh process with its own hash seed; its figures plus the load."""
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    command = [sys.executable, "-m", "benchmarks.schedule", "--one", kind, name]
    command += ["--time-limit", str(time_limit), "--workers", str(workers)]
    load = os.getloadavg()[0]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1], "load": load}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": round(load, 2)}


# --------------------------------------------------------------------------- suites


def suite(kind: str, names: list[str], runs: int, time_limit: float, workers: int) -> None:
    rows = []
    for name in names:
        if kind != "old":
            prepared(name, {**GENERATED, **NATIONAL}[name])
        figures = [run_one(kind, name, time_limit, workers, seed) for seed in range(1, runs + 1)]
        for run, f in enumerate(figures, start=1):
            rows.append((name, run, f))
            print(_line(name, run, f), flush=True)
        same = len({f.get("sha256") for f in figures}) == 1
        print(
            f"  {name}: calendar.csv identical across {runs} processes: {'yes' if same else 'NO'}"
        )
        if "levels" in figures[0]:
            for goal, (value, bound) in figures[0]["levels"].items():
                print(f"    {goal}: {value} (bound {bound})")
    write(kind, rows)


def _line(name: str, run: int, f: dict) -> str:
    if "error" in f:
        return f"{name} run {run}: {f['error']} (load {f['load']})"
    return (
        f"{name} run {run}: events {f['events']}, wall {f['seconds']} s, peak {f['peak_mib']} MiB, "
        f"hard violations {f['violations']}, soft {f['soft']} (stage {f['stage_soft']}), "
        f"bound {f['bound']}, gap {f['gap']:.1%}, {f['status']}, sha256 {f['sha256'][:12]}, "
        f"load {f['load']}"
    )


def write(kind: str, rows: list) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        f"# schedule benchmark: {kind}",
        "",
        f"Measured {stamp} on {machine} (load average at the start of each run in the table).",
        "",
        "| instance | run | events | wall s | peak MiB | hard violations | soft | bound | gap "
        "| status | load | calendar.csv sha256 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, run, f in rows:
        if "error" in f:
            lines.append(f"| {name} | {run} | {f['error']} |||||||| {f['load']} | |")
            continue
        lines.append(
            f"| {name} | {run} | {f['events']:,} | {f['seconds']} | {f['peak_mib']:,} | "
            f"{f['violations']} | {f['soft']:,} | {f['bound']:,} | {f['gap']:.1%} | "
            f"{f['status']} | {f['load']} | `{f['sha256'][:16]}` |"
        )
    lines += ["", "Per soft goal (first run): value / bound", ""]
    seen = set()
    for name, _, f in rows:
        if name in seen or "levels" not in f:
            continue
        seen.add(name)
        goals = ", ".join(f"{g} {v}/{b}" for g, (v, b) in f["levels"].items())
        lines.append(f"- {name}: {goals}")
    (RESULTS / f"schedule-{kind}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("suite", nargs="?", choices=["generated", "old", "national", "sweep"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=1800)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.time_limit, args.workers)))
        return
    if args.suite == "generated":
        suite("generated", list(GENERATED), args.runs, args.time_limit, args.workers)
    elif args.suite == "old":
        suite("old", ["old-regional"], args.runs, args.time_limit, args.workers)
    elif args.suite == "national":
        suite("national", list(NATIONAL), args.runs, args.time_limit, args.workers)
    elif args.suite == "sweep":
        from .sweep import sweep

        sweep(args.time_limit, args.workers)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
