"""The benchmark suite: every stage and the full `run` at three sizes, one table.

    uv run python -m benchmarks suite [--sizes small,regional,national] [--time-limit 120]

Each stage runs through the Python API in its own process (``measure.in_child``), so wall time
and peak memory (max RSS) are that stage's alone; the stage before it hands over its result.
Results go to stdout and to benchmarks/results/suite.{csv,md} with the machine and the commit.
Generated scenarios are cached in benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.common import CACHE, ROOT, write_results
from benchmarks.measure import FIGURES, Failed, Measured, in_child, row

SIZES: dict[str, dict[str, int] | None] = {
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
COLUMNS = ["size", "stage", *FIGURES, "note"]


def scenario_for(size: str) -> Path:
    """The scenario folder of a size: oxford-2024, or generated once (seed 1) into the cache."""
    shape = SIZES[size]
    if shape is None:
        return ROOT / "scenarios" / "oxford-2024"
    folder = CACHE / size
    if not (folder / "scenario.toml").exists():
        from cohort_solver.synthetic.generate import generate_scenario

        generate_scenario(folder, seed=1, **shape)
    return folder


def stage(
    name: str, folder: Path, earlier: dict[str, Any], out: Path, options: cohort_solver.Options
) -> Any:
    """One stage through the API, in the measured process (loading is part of every stage,
    as it is of every command)."""
    scenario = cohort_solver.load(folder)
    if name == "allocate":
        return cohort_solver.allocate(scenario, options)
    if name == "match":
        return cohort_solver.match(scenario, earlier["allocate"], options)
    if name == "schedule":
        return cohort_solver.schedule(
            scenario, earlier["allocate"], earlier["match"].matches, options
        )
    if name == "export":
        return cohort_solver.export(scenario, earlier["schedule"].events)
    return cohort_solver.run(scenario, out, options)


def reports_of(name: str, result: Any) -> list[Any]:
    if name == "export" or isinstance(result, Failed):
        return []
    if name == "run":
        return list(result.reports)
    return [result.report]


def note(name: str, measured: Measured, folder: Path, earlier: dict[str, Any]) -> str:
    """What the table says beside the figures: the failure, or the calendar's own check."""
    result = measured.result
    if isinstance(result, Failed):
        return result.message
    if name == "export":
        return f"{len(result)} feeds"
    if name == "run":
        return hard_violations(result.scenario, result.allocation, result.matches, result.events)
    if name == "schedule":
        scenario = cohort_solver.load(folder)
        return hard_violations(
            scenario, earlier["allocate"], earlier["match"].matches, result.events
        )
    return ""


def hard_violations(scenario: Any, allocation: Any, matches: Any, events: Any) -> str:
    """The independent checker's verdict on the calendar just made."""
    from cohort_solver.checks.calendar import violations

    found = violations(scenario, allocation.selected(), matches, events)
    return f"{len(events)} events, {len(found)} hard violations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks suite",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="small,regional,national")
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in args.sizes.split(","):
        folder = scenario_for(size)
        out = CACHE / f"{size}-run"
        shutil.rmtree(out, ignore_errors=True)
        earlier: dict[str, Any] = {}
        for name in STAGES[size]:
            measured = in_child(stage, name, folder, earlier, out, options)
            earlier[name] = measured.result
            line = [size, name, *row(measured, reports_of(name, measured.result))]
            line.append(note(name, measured, folder, earlier))
            rows.append(line)
            print(" ".join(f"{c:>10}" for c in line), flush=True)
            if isinstance(measured.result, Failed):
                break  # the later stages need this one's result
    print(f"wrote {write_results('suite', COLUMNS, rows)}")
    return 0
