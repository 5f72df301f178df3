"""Cost growth: allocation and matching time against applicants (1k / 10k / 100k).

    uv run python -m benchmarks growth [--sizes 1000,10000,100000] [--time-limit 900]

Each size is a generated scenario (cached in benchmarks/.cache/growth-N) of the shape issue 7
names: about 40 applicants per council, one cohort of 12 per council and roughly one mentor per
place. Each stage runs through the API in its own process, so its peak memory is its own. The
table gives wall seconds per stage and the growth exponent k in time ~ applicants^k between
consecutive sizes, so "linear" or "quadratic" is read off the numbers, not guessed.
Results: benchmarks/results/growth.{md,csv}.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.common import CACHE, write_results
from benchmarks.measure import FIGURES, Failed, in_child, row

# applicants -> councils = cohorts, mentors, coaches, venues
SHAPES = {
    1_000: (5, 60, 10, 2),
    10_000: (50, 600, 100, 20),
    100_000: (300, 4_000, 600, 120),
}
COLUMNS = ["applicants", "stage", *FIGURES, "k", "note"]


def scenario(size: int) -> Path:
    from cohort_solver.synthetic.generate import generate_scenario

    councils, mentors, coaches, venues = SHAPES[size]
    folder = CACHE / f"growth-{size}"
    if not (folder / "scenario.toml").exists():
        generate_scenario(
            folder,
            seed=1,
            councils=councils,
            applicants=size,
            cohorts=councils,
            mentors=mentors,
            coaches=coaches,
            venues=venues,
        )
    return folder


def stage(name: str, folder: Path, allocation: Any, options: cohort_solver.Options) -> Any:
    """One stage and its own seconds (loading the scenario is not counted)."""
    loaded = cohort_solver.load(folder)
    started = time.monotonic()
    if name == "allocate":
        result: Any = cohort_solver.allocate(loaded, options)
    else:
        result = cohort_solver.match(loaded, allocation, options)
    return result, time.monotonic() - started, len(loaded.mentors)


def exponent(seconds: dict[int, float], size: int) -> str:
    """k in time ~ applicants^k from the size before this one."""
    sizes = sorted(seconds)
    k = sizes.index(size)
    if k == 0:
        return ""
    before = sizes[k - 1]
    return f"{math.log(seconds[size] / seconds[before]) / math.log(size / before):.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks growth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--time-limit", type=float, default=900)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    seconds: dict[str, dict[int, float]] = {"allocate": {}, "match": {}}
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = scenario(size)
        allocation = None
        for name in ("allocate", "match"):
            measured = in_child(stage, name, folder, allocation, options)
            if isinstance(measured.result, Failed):
                rows.append([size, name, *row(measured, []), "", measured.result.message])
                print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
                break
            result, wall, mentors = measured.result
            seconds[name][size] = wall
            measured = replace(measured, wall_s=wall)
            note = (
                f"{len(result.selected())} participants"
                if name == "allocate"
                else f"{mentors} mentors"
            )
            rows.append(
                [size, name, *row(measured, [result.report]), exponent(seconds[name], size), note]
            )
            print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
            allocation = result
    print(f"wrote {write_results('growth', COLUMNS, rows)}")
    return 0
