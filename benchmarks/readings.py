"""Both readings of a ring fence (minimum guarantee, over and above) at 1k and 12k applicants.

    uv run python -m benchmarks readings [--sizes 1000,12000] [--check-up-to 1000]

One row per size and reading, on the allocation benchmark's generated scenarios (one ring
fence, min_share 0.75, release; spread limits on): the allocation stage's wall seconds and
peak memory (each in its own process), status, objective, bound and gap of the decisive level,
every level's value, the members selected and whether the independent checker agrees (up to
--check-up-to applicants: its brute-force replaced_by check is slow).
Results: benchmarks/results/readings.{md,csv}.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.allocation import scenario
from benchmarks.common import write_results
from benchmarks.measure import FIGURES, Failed, in_child, row

COLUMNS = ["applicants", "reading", *FIGURES, "members", "levels", "note"]


def solve(folder: Path, reading: str, options: cohort_solver.Options, check: bool) -> Any:
    """The allocation stage under ``reading``, its own wall seconds, and the checker's verdict."""
    from cohort_solver.checks.allocation import violations

    loaded = cohort_solver.load(folder, sets=[f"selection.ring_fence.0.reading={reading}"])
    started = time.monotonic()
    allocation = cohort_solver.allocate(loaded, options)
    seconds = time.monotonic() - started
    found = violations(loaded, allocation.outcomes) if check else []
    verdict = f"{len(found)} checker violations" if check else "not re-checked"
    return allocation, seconds, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks readings", description=__doc__)
    parser.add_argument("--sizes", default="1000,12000")
    parser.add_argument("--check-up-to", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = scenario(size)
        for reading in ("minimum_guarantee", "over_and_above"):
            measured = in_child(solve, folder, reading, options, size <= args.check_up_to)
            if isinstance(measured.result, Failed):
                line = [size, reading, *row(measured, []), "", "", measured.result.message]
            else:
                allocation, seconds, note = measured.result
                measured = replace(measured, wall_s=seconds)  # the stage, not load or check
                members = sum(1 for o in allocation.selected() if o.ring_fences)
                levels = [lv.value for lv in allocation.report.levels]
                figures = row(measured, [allocation.report])
                line = [size, reading, *figures, members, levels, note]
            rows.append(line)
            print(" ".join(f"{c!s:>10}" for c in line), flush=True)
    print(f"wrote {write_results('readings', COLUMNS, rows)}")
    return 0
