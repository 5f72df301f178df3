"""Calendar benchmarks: the schedule stage on its own, every figure the issue asks for.

    uv run python -m benchmarks schedule generated [--runs 2]   # 10 and 50 cohorts (issue #12)
    uv run python -m benchmarks schedule old [--runs 2]         # the old benchmark instance
    uv run python -m benchmarks schedule national [--runs 1]    # 300 cohorts, ~40,000 events
    uv run python -m benchmarks schedule features [--runs 2]    # 10 cohorts + issue 16 features
    uv run python -m benchmarks schedule old --size 2 --runs 1  # a quick look (2 cohorts)

The scenario is generated once into ``benchmarks/.cache/`` (or, for ``old``, built in Python by
``synthetic.builders.regional``) and allocated and matched through the API; then each run
schedules it in its own fresh process with its own hash seed (``measure.in_child``), so wall
time and peak memory (max RSS) are the schedule stage's. Printed per run: events, wall seconds
of the stage, peak MiB, status, the stage's soft objective, lower bound and gap, hard
violations found by the independent checker (``checks/calendar.py``), the soft objective
recomputed by the checker, the calendar.csv sha256 (runs must agree), and the machine's load;
then every soft goal's value and bound. The sweep of many programmes is ``benchmarks sweep``.
Results go to ``benchmarks/results/schedule-<suite>.{md,csv}``.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.common import CACHE, write_results
from benchmarks.measure import FIGURES, Failed, in_child, load_average, row
from cohort_solver.domain.results import Allocation, Match, StageReport
from cohort_solver.domain.scenario import Scenario

GENERATED = {
    "10-cohorts": dict(councils=10, applicants=2000, cohorts=10, seed=3),
    "50-cohorts": dict(councils=50, applicants=12000, cohorts=50, seed=1),
    # the tight variant: two venues open to every cohort (and one council's own),
    # workshops on Wednesdays only
    "10-cohorts-tight": dict(
        councils=10, applicants=2000, cohorts=10, seed=3, venues=3, group_weekdays=("Wed",)
    ),
}
# The 10-cohort programme with the calendar features of issue 16 added to its programme.csv:
# a quarterly forum of all cohorts, a talent board of two, mentor meetings every two months
# and monthly action learning sets (two of six per cohort), and a hall for everyone together.
FEATURES = {"10-cohorts-features": GENERATED["10-cohorts"]}
FEATURE_ROWS = (
    "FORUM,Regional forum,group,2,120,FAC1,,,quarterly,17,all",
    "BOARD,Regional talent board,cohort_event,9,60,FAC2,,,,,c01;c02",
    "MEET,Mentor meeting,mentoring,2,60,,,,every 2 months,18,",
    "ALS,Action learning set,action_learning,3,120,FAC2,,,monthly,14,",
)
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


COLUMNS = ["instance", "run", "events", *FIGURES, "hard_violations", "checker_soft", "load"]
COLUMNS += ["calendar_sha256"]


def prepared(name: str) -> Path:
    """A generated scenario folder, made once."""
    from cohort_solver.synthetic.generate import generate_scenario

    folder = CACHE / f"schedule-{name}"
    if not (folder / "scenario.toml").exists():
        generate_scenario(folder, **{**GENERATED, **FEATURES, **NATIONAL}[name])
        if name in FEATURES:
            _add_features(folder)
    return folder


def _add_features(folder: Path) -> None:
    """Append FEATURE_ROWS to programme.csv (three columns more on every row) and a hall."""
    import csv

    programme = folder / "programme.csv"
    with programme.open(newline="") as f:
        table = list(csv.reader(f))
    table = [table[0] + ["repeat", "until", "cohorts"]] + [r + ["", "", ""] for r in table[1:]]
    table += [row.split(",") for row in FEATURE_ROWS]
    with programme.open("w", newline="") as f:
        csv.writer(f).writerows(table)
    with (folder / "venues.csv").open("a") as f:
        f.write("V-HALL,Regional Hall,200,\n")


def inputs(
    suite: str, name: str, size: int, options: cohort_solver.Options
) -> tuple[Scenario, Allocation, tuple[Match, ...]]:
    """What the schedule stage reads: the scenario, its allocation and its matches."""
    if suite == "old":
        from cohort_solver.synthetic.builders import regional

        scenario, selected, matches = regional(size=size)
        report = StageReport(stage="allocation", status="optimal")
        return scenario, Allocation(outcomes=tuple(selected), report=report), tuple(matches)
    scenario = cohort_solver.load(prepared(name))
    allocation = cohort_solver.allocate(scenario, options)
    return scenario, allocation, cohort_solver.match(scenario, allocation, options).matches


def measure(
    scenario: Scenario,
    allocation: Allocation,
    matches: tuple[Match, ...],
    options: cohort_solver.Options,
) -> dict[str, Any]:
    """Schedule once and return every figure (run inside the measured process)."""
    import time

    from cohort_solver.checks.calendar import WEIGHTS, soft_penalties, violations
    from cohort_solver.stages.export.calendar_csv import calendar_csv

    began = time.monotonic()
    result = cohort_solver.schedule(scenario, allocation, matches, options)
    seconds = time.monotonic() - began
    counts = soft_penalties(scenario, result.events)
    return {
        "report": result.report,
        "seconds": seconds,
        "events": len(result.events),
        "violations": violations(scenario, allocation.selected(), matches, result.events),
        "checker_soft": sum(WEIGHTS[k] * v for k, v in counts.items()),
        "sha256": hashlib.sha256(calendar_csv(result.events).encode()).hexdigest(),
    }


def soft_total(report: StageReport) -> StageReport:
    """The report as its soft_total level sees it: the figure the calendar is judged by."""
    return report.model_copy(
        update={"levels": tuple(lv for lv in report.levels if lv.name == "soft_total")}
    )


def suite(
    suite_name: str, names: list[str], runs: int, size: int, options: cohort_solver.Options
) -> None:
    rows: list[list[Any]] = []
    goals: list[str] = []
    for name in names:
        scenario, allocation, matches = inputs(suite_name, name, size, options)
        hashes = set()
        for run in range(1, runs + 1):
            load = load_average()
            measured = in_child(measure, scenario, allocation, matches, options, hash_seed=str(run))
            f = measured.result
            if isinstance(f, Failed):
                rows.append([name, run, "", *row(measured, []), f.message, "", load, ""])
            else:
                figures = row(replace(measured, wall_s=f["seconds"]), [soft_total(f["report"])])
                rows.append(
                    [
                        name,
                        run,
                        f["events"],
                        *figures,
                        len(f["violations"]),
                        f["checker_soft"],
                        load,
                        f["sha256"][:16],
                    ]
                )
                hashes.add(f["sha256"])
                if run == 1:
                    levels = ", ".join(
                        f"{lv.name} {lv.value}/{lv.bound}" for lv in f["report"].levels
                    )
                    goals.append(f"{name}: {levels}")
                    for broken in f["violations"][:5]:
                        print(f"  violation: {broken}")
            print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
        same = "yes" if len(hashes) == 1 else "NO"
        print(f"  {name}: calendar.csv identical across {runs} processes: {same}", flush=True)
    note = "Per soft goal (first run), value/bound: " + "; ".join(goals)
    for line in goals:
        print(f"    {line}")
    print(f"wrote {write_results(f'schedule-{suite_name}', COLUMNS, rows, note)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks schedule",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("suite", choices=["generated", "old", "national", "features"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--size", type=int, default=50, help="cohorts of the old instance")
    parser.add_argument("--time-limit", type=float, default=1800)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    names = {
        "generated": list(GENERATED),
        "old": ["old-regional"],
        "national": list(NATIONAL),
        "features": list(FEATURES),
    }
    suite(args.suite, names[args.suite], args.runs, args.size, options)
    return 0
