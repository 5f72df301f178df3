"""Allocation at 1k, 10k and 100k applicants: CP-SAT (decomposed, lexicographic) vs HiGHS.

    uv run python benchmarks/allocation.py [--sizes 1000,10000,100000] [--no-highs]

Prints one row per solver and size: wall seconds, status, the six objective levels and the gap.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.stages.allocate.reference import allocate_with_highs
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.synthetic.generate import generate_scenario

# applicants -> (councils, cohorts): roughly the regional and national shapes of issue 7.
SHAPES = {1_000: (5, 5), 10_000: (50, 50), 12_000: (50, 50), 100_000: (300, 300)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-highs", action="store_true")
    parser.add_argument("--time-limit", type=float, default=600)
    args = parser.parse_args()
    rows = []
    header = f"{'applicants':>10} {'solver':<8} {'load s':>7} {'wall s':>8} {'status':<8} {'gap':>6}  levels"
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        councils, cohorts = SHAPES.get(size, (max(1, size // 240), max(1, size // 240)))
        with tempfile.TemporaryDirectory() as tmp:
            folder = generate_scenario(
                Path(tmp) / "s", councils=councils, applicants=size, cohorts=cohorts, seed=1
            )
            started = time.monotonic()
            scenario = load_scenario(folder)
            load_seconds = time.monotonic() - started
        started = time.monotonic()
        result = allocate(scenario, time_limit=args.time_limit, workers=2)
        wall = time.monotonic() - started
        violations = allocation_violations(scenario, result.outcomes) if size <= 12_000 else []
        if violations:
            print(f"checker found {len(violations)} violations: {violations[:3]}", file=sys.stderr)
        levels = [lv.value for lv in result.report.levels]
        gap = max(lv.gap for lv in result.report.levels)
        rows.append((size, "CP-SAT", load_seconds, wall, result.report.status, gap, levels))
        print(
            f"{size:>10} {'CP-SAT':<8} {load_seconds:>7.1f} {wall:>8.2f} {result.report.status:<8} {gap:>6.2%}  {levels}",
            flush=True,
        )
        if not args.no_highs:
            reference = allocate_with_highs(scenario, time_limit=args.time_limit, workers=2)
            status = "optimal" if reference.optimal else "feasible"
            same = "same" if list(reference.levels) == levels else "DIFFERENT"
            print(
                f"{size:>10} {'HiGHS':<8} {'':>7} {reference.seconds:>8.2f} {status:<8} {'':>6}  "
                f"{list(reference.levels)} ({same} optimum)",
                flush=True,
            )


if __name__ == "__main__":
    main()
