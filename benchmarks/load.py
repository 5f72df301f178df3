"""Loading a scenario folder: wall time and peak memory at three sizes, and `validate` start-up.

    uv run python -m benchmarks.load [--sizes small,regional,national] [--repeat 2]

Each load runs in a fresh interpreter (multiprocessing, spawn) through the Python API
(`cohort_solver.stages.load.scenario.load_scenario`), so its peak memory is its own; the
time counts the load alone, after the package is imported. `validate` on oxford-2024 is
timed once as the command a coordinator runs, start-up included. Generated scenarios are
cached in benchmarks/.cache/ (git-ignored). Results go to benchmarks/results/load.{csv,md}.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

from benchmarks.common import CACHE, ROOT, peak_mib, write_results

SIZES: dict[str, dict[str, int] | None] = {
    "small": None,  # the bundled oxford-2024
    "regional": dict(
        councils=50, applicants=12_000, cohorts=50, mentors=600, coaches=100, venues=20
    ),
    "national": dict(
        councils=300, applicants=100_000, cohorts=300, mentors=4_000, coaches=600, venues=120
    ),
}
COLUMNS = ["size", "applicants", "rows", "wall_s", "cpu_s", "peak_mib", "note"]


def scenario_for(size: str) -> Path:
    shape = SIZES[size]
    if shape is None:
        return ROOT / "scenarios" / "oxford-2024"
    folder = CACHE / size  # shared with `python -m benchmarks`
    if not (folder / "scenario.toml").exists():
        from cohort_solver.synthetic.generate import generate_scenario

        generate_scenario(folder, seed=1, **shape)
    return folder


def _load_once(folder: str) -> tuple[float, float, float, int, int]:
    """In the child: wall seconds, CPU seconds, peak MiB, applicants and rows read.

    CPU time as well as wall: on a shared machine the wall time counts the other processes'
    turns on the cores too."""
    from cohort_solver.stages.load.scenario import load_scenario

    started, cpu = time.perf_counter(), time.process_time()
    scenario = load_scenario(folder)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    tables = (
        scenario.applicants,
        scenario.scores,
        scenario.mentors,
        scenario.coaches,
        scenario.programme,
        scenario.people,
        scenario.venues,
        scenario.unavailability,
        scenario.conflicts,
        scenario.outcomes,
    )
    return wall, cpu, peak_mib(), len(scenario.applicants), sum(map(len, tables))


def measure(folder: Path) -> tuple[float, float, float, int, int]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_load_once, (str(folder),))


def validate_wall() -> tuple[float, int]:
    """`cohort-solver validate scenarios/oxford-2024`, start-up included."""
    command = ROOT / ".venv" / "bin" / "cohort-solver"
    started = time.perf_counter()
    done = subprocess.run(
        [str(command), "validate", str(ROOT / "scenarios" / "oxford-2024")],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="small,regional,national")
    parser.add_argument("--repeat", type=int, default=2, help="loads per size; the best is kept")
    parser.add_argument("--name", default="load", help="results file stem")
    parser.add_argument("--note", default="", help="said first in the results' note")
    args = parser.parse_args(argv)
    print(f"{'size':<10} {'applicants':>10} {'rows':>8} {'wall s':>7} {'cpu s':>6} {'peak MiB':>8}")
    rows: list[list[object]] = []
    oxford = ""
    for size in args.sizes.split(","):
        folder = scenario_for(size)
        runs = [measure(folder) for _ in range(max(1, args.repeat))]
        wall = min(run[0] for run in runs)
        cpu = min(run[1] for run in runs)
        peak = max(run[2] for run in runs)
        _, _, _, applicants, count = runs[0]
        walls = ", ".join(f"{run[0]:.2f}" for run in runs)
        print(f"{size:<10} {applicants:>10} {count:>8} {wall:>7.2f} {cpu:>6.2f} {peak:>8.0f}")
        if size == "small":
            oxford = str(applicants)
        rows.append(
            [size, applicants, count, f"{wall:.2f}", f"{cpu:.2f}", f"{peak:.0f}", f"runs {walls} s"]
        )
    wall, code = validate_wall()
    print(f"validate scenarios/oxford-2024: {wall:.2f} s wall, start-up included (exit {code})")
    rows.append(
        ["validate oxford-2024", oxford, "", f"{wall:.2f}", "", "", f"exit {code}, subprocess"]
    )
    load = os.getloadavg()[0]
    note = (
        args.note
        + (" " if args.note else "")
        + (
            f"Load average {load:.2f} when measured (2 cores, shared). wall_s is the best of "
            f"{args.repeat} loads in a fresh interpreter, cpu_s the least CPU time of them; "
            "peak_mib includes the interpreter."
        )
    )
    target = write_results(args.name, COLUMNS, rows, note=note)
    print(f"written to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
