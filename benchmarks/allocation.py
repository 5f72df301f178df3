"""Allocation at 1k, 10k and 100k applicants: CP-SAT (decomposed, lexicographic) vs HiGHS.

    uv run python -m benchmarks allocation [--sizes 1000,10000,100000] [--no-highs]

One row per solver and size: applicants, load seconds, wall seconds and peak memory of the
stage (each in its own process), status, objective, bound and gap of the decisive level, every
level's value, and whether HiGHS reached the same optimum. The independent checker re-checks
every allocation up to 12,000 applicants. Results: benchmarks/results/allocation.{md,csv}.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.common import CACHE, write_results
from benchmarks.measure import FIGURES, Failed, in_child, row

# applicants -> (councils, cohorts): roughly the regional and national shapes of issue 7.
SHAPES = {1_000: (5, 5), 10_000: (50, 50), 12_000: (50, 50), 100_000: (300, 300)}
COLUMNS = ["applicants", "solver", "load_s", *FIGURES, "levels", "note"]


def scenario(size: int) -> Path:
    """A generated scenario of ``size`` applicants (seed 1), made once into the cache."""
    from cohort_solver.synthetic.generate import generate_scenario

    councils, cohorts = SHAPES.get(size, (max(1, size // 240), max(1, size // 240)))
    folder = CACHE / f"allocation-{size}"
    if not (folder / "scenario.toml").exists():
        generate_scenario(folder, councils=councils, applicants=size, cohorts=cohorts, seed=1)
    return folder


def timed_load(folder: Path) -> float:
    started = time.monotonic()
    cohort_solver.load(folder)
    return time.monotonic() - started


def cp_sat(folder: Path, options: cohort_solver.Options, check: bool) -> tuple[Any, float, str]:
    """The allocation stage, its own wall seconds, and the independent checker's verdict."""
    from cohort_solver.checks.allocation import violations

    loaded = cohort_solver.load(folder)
    started = time.monotonic()
    allocation = cohort_solver.allocate(loaded, options)
    seconds = time.monotonic() - started
    found = violations(loaded, allocation.outcomes) if check else []
    verdict = f"{len(found)} checker violations" if check else "not re-checked"
    return allocation, seconds, verdict


def highs(folder: Path, time_limit: float, workers: int) -> Any:
    from cohort_solver.stages.allocate.reference import allocate_with_highs

    return allocate_with_highs(cohort_solver.load(folder), time_limit=time_limit, workers=workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks allocation", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-highs", action="store_true")
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = scenario(size)
        load_s = f"{in_child(timed_load, folder).result:.1f}"
        measured = in_child(cp_sat, folder, options, size <= 12_000)
        if isinstance(measured.result, Failed):
            levels, note = [], measured.result.message
            line = [size, "CP-SAT", load_s, *row(measured, []), "", note]
        else:
            allocation, seconds, note = measured.result
            measured = replace(measured, wall_s=seconds)  # the stage, not the load or the check
            levels = [lv.value for lv in allocation.report.levels]
            line = [size, "CP-SAT", load_s, *row(measured, [allocation.report]), levels, note]
        rows.append(line)
        print(" ".join(f"{c!s:>10}" for c in line), flush=True)
        if args.no_highs:
            continue
        reference = in_child(highs, folder, args.time_limit, args.workers)
        if isinstance(reference.result, Failed):
            rows.append([size, "HiGHS", load_s, *row(reference, []), "", reference.result.message])
        else:
            found = reference.result
            same = "same" if list(found.levels) == levels else "DIFFERENT"
            status = "optimal" if found.optimal else "feasible"
            figures = [f"{found.seconds:.2f}", f"{reference.peak_mib:.0f}", status, "", "", ""]
            rows.append([size, "HiGHS", load_s, *figures, list(found.levels), f"{same} optimum"])
        print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
    print(f"wrote {write_results('allocation', COLUMNS, rows)}")
    return 0
