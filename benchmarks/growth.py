"""Cost growth: allocation and matching time against applicants (1k / 10k / 100k).

    uv run python -m benchmarks.growth [--sizes 1000,10000,100000] [--time-limit 900]

Each size is a generated scenario (cached in benchmarks/.cache/growth-N) of the shape issue 7
names: about 40 applicants per council, one cohort of 12 per council and roughly one mentor per
place. The table gives wall seconds per stage and the growth exponent k in time ~ applicants^k
between consecutive sizes, so "linear" or "quadratic" is read off the numbers, not guessed.
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from pathlib import Path

from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.solve import match
from cohort_solver.synthetic.generate import generate_scenario

CACHE = Path(__file__).resolve().parent / ".cache"
# applicants -> councils = cohorts, mentors, coaches, venues
SHAPES = {
    1_000: (5, 60, 10, 2),
    10_000: (50, 600, 100, 20),
    100_000: (300, 4_000, 600, 120),
}


def scenario(size: int) -> Path:
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


def exponent(rows: list[dict], stage: str, k: int) -> str:
    if k == 0:
        return ""
    before, now = rows[k - 1], rows[k]
    return f"{math.log(now[stage] / before[stage]) / math.log(now['applicants'] / before['applicants']):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--time-limit", type=float, default=900)
    args = parser.parse_args()
    header = (
        f"{'applicants':>10} {'participants':>12} {'mentors':>7} {'load s':>7} {'allocate s':>10} "
        f"{'k':>5} {'status':<8} {'match s':>8} {'k':>5} {'status':<8} {'peak MiB':>8}"
    )
    print(header)
    print("-" * len(header))
    rows: list[dict] = []
    for size in (int(s) for s in args.sizes.split(",")):
        folder = scenario(size)
        started = time.monotonic()
        loaded = load_scenario(folder)
        load_s = time.monotonic() - started
        started = time.monotonic()
        allocation = allocate(loaded, time_limit=args.time_limit, workers=2)
        allocate_s = time.monotonic() - started
        started = time.monotonic()
        matched = match(loaded, allocation.selected(), time_limit=args.time_limit, workers=2)
        match_s = time.monotonic() - started
        rows.append({"applicants": size, "allocate": allocate_s, "match": match_s})
        k = len(rows) - 1
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{size:>10} {len(allocation.selected()):>12} {len(loaded.mentors):>7} {load_s:>7.1f} "
            f"{allocate_s:>10.2f} {exponent(rows, 'allocate', k):>5} {allocation.report.status:<8} "
            f"{match_s:>8.2f} {exponent(rows, 'match', k):>5} {matched.report.status:<8} {peak:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
