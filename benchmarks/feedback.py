"""feedback.csv for every applicant of the regional generated scenario, against the allocation.

    uv run python -m benchmarks feedback [--sizes 1000,12000] [--time-limit 600] [--workers 2]

One row per size (the generated scenario of benchmarks.allocation: 12,000 applicants = 50
councils, 50 cohorts, seed 1): the allocation's own wall seconds and status, then the feedback
paragraphs' wall seconds and peak memory (worked out from the solved allocation, no re-solve),
and the share of unselected applicants given a sufficient score. Results:
benchmarks/results/feedback.{md,csv}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.allocation import scenario
from benchmarks.common import write_results
from benchmarks.measure import FIGURES, Failed, in_child, load_average, row

COLUMNS = ["applicants", "part", *FIGURES, "load_avg", "note"]


def allocate_then_feedback(folder: Path, options: cohort_solver.Options) -> Any:
    """The allocation and its feedback, each timed on its own (one process, one load)."""
    from cohort_solver import pipeline

    loaded = cohort_solver.load(folder)
    started = time.monotonic()
    allocation = cohort_solver.allocate(loaded, options)
    allocated = time.monotonic() - started
    started = time.monotonic()
    rows = pipeline.feedback(loaded, allocation)
    written = pipeline.allocation_files(loaded, allocation, rows)["feedback.csv"]
    seconds = time.monotonic() - started
    unselected = [r for r in rows if r.outcome in ("reserve", "not selected")]
    scored = sum("would have secured you a place" in r.feedback for r in unselected)
    note = f"{scored}/{len(unselected)} unselected given a score; {len(written) // 1024} KiB"
    return allocation.report, allocated, seconds, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks feedback", description=__doc__)
    parser.add_argument("--sizes", default="1000,12000")
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    rows: list[list[Any]] = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = scenario(size)
        load = load_average()
        measured = in_child(allocate_then_feedback, folder, options)
        if isinstance(measured.result, Failed):
            rows.append([size, "allocation", *row(measured, []), load, measured.result.message])
        else:
            report, allocated, seconds, note = measured.result
            figures = row(measured, [report])
            rows.append([size, "allocation", f"{allocated:.2f}", *figures[1:], load, ""])
            rows.append(
                [size, "feedback", f"{seconds:.2f}", figures[1], "", "", "", "", load, note]
            )
        for line in rows[-2:]:
            print(" ".join(f"{c!s:>10}" for c in line), flush=True)
    print(f"wrote {write_results('feedback', COLUMNS, rows, 'peak_mib: the whole process')}")
    return 0
