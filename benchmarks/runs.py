"""Flexible sessions as runs: every participant in one run of each (issue 16, item 4).

    uv run python -m benchmarks runs [--sizes 100x6x8,30x4x3] [--time-limit 600]

One row per size PxSxR: a generated programme of P participants (one in five part-time, one
in ten away for a fortnight), S flexible sessions of R runs each over 12 months (no fixed
dates: the solver picks every run's day and time), run capacity the even share plus three,
two facilitators and two rooms shared by every run. Measured: ``runs.place_runs`` alone (the
CP-SAT model of ``stages/schedule/runs.py``), in a fresh process: wall seconds, peak memory,
status, run_balance and its bound. Results: benchmarks/results/runs.{md,csv}.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import write_results
from benchmarks.measure import FIGURES, Failed, in_child, load_average, row
from cohort_solver.domain.results import StageReport

COLUMNS = ["size", "runs", "assignments", *FIGURES, "load_avg", "note"]
TOML = """[programme]
name = "Runs benchmark"
organisation = "Generated Council"
start = "2025-04-01"
timezone = "Europe/London"
holidays = "GB-ENG"

[selection]
mode = "mandatory"
places = {places}
eligible_grades = [12]
seed = 1

[calendar]
day_start = "09:00"
day_end = "17:00"
slot_minutes = 30
"""


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, participants: int, sessions: int, runs: int, seed: int = 1) -> Path:
    """The benchmark's scenario folder (deterministic in its arguments)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(TOML.format(places=participants))
    applicants = []
    away = []
    for i in range(1, participants + 1):
        pid = f"P{i:04d}"
        days = "Mon;Tue;Wed;Thu" if i % 5 == 0 else ""
        applicants.append([pid, 12, "yes", "yes", "yes", days])
        if i % 10 == 3:
            month = rng.randint(1, 12)
            start = f"2025-{(month + 2) % 12 + 1:02d}-10"
            away.append([pid, start, start[:8] + "24"])
    _write(
        folder / "applicants.csv",
        ["applicant_id", "grade", "probation_passed", "line_manager_approved"]
        + ["performance_eligible", "working_days"],
        applicants,
    )
    _write(folder / "unavailability.csv", ["id", "start", "end"], away)
    _write(folder / "people.csv", ["person_id", "name"], [["F1", "Fac One"], ["F2", "Fac Two"]])
    _write(folder / "venues.csv", ["venue_id", "capacity"], [["V1", 40], ["V2", 40]])
    capacity = math.ceil(participants / runs) + 3
    programme, table = [], []
    for k in range(1, sessions + 1):
        key = f"CORE{k}"
        months = sorted({(k + j * 12 // runs) % 12 + 1 for j in range(runs)})
        programme.append([key, f"Core element {k}", "flexible", 1, 180, f"F{k % 2 + 1}", 12])
        for j in range(runs):
            table.append([key, j + 1, months[j % len(months)], "", "", f"V{j % 2 + 1}", capacity])
    _write(
        folder / "programme.csv",
        ["session_key", "title", "kind", "month", "duration_minutes", "facilitator", "until"],
        programme,
    )
    _write(
        folder / "runs.csv",
        ["session_key", "run", "month", "date", "start_time", "venue", "capacity"],
        table,
    )
    return folder


def solve_runs(folder: Path, time_limit: float) -> tuple[StageReport, int]:
    """Load the folder and place its runs (the runs' model alone)."""
    import time

    from cohort_solver.domain.results import Decision
    from cohort_solver.errors import InfeasibleError
    from cohort_solver.stages.load.scenario import load_scenario
    from cohort_solver.stages.schedule.grid import Grid
    from cohort_solver.stages.schedule.runs import place_runs
    from cohort_solver.stages.schedule.search import Search
    from cohort_solver.stages.schedule.slots import unavailable_slots, working_days

    scenario = load_scenario(folder)
    selected = [
        Decision.model_construct(applicant_id=a.applicant_id, cohort_id="main", status="selected")
        for a in scenario.applicants
    ]
    began = time.monotonic()
    grid = Grid(scenario)
    blocked, works = unavailable_slots(scenario, grid), working_days(scenario)
    search = Search(time_limit, 1)
    result, causes = place_runs(scenario, grid, blocked, works, selected, search, 0)
    if causes:
        raise InfeasibleError("runs", causes)
    assert result.level is not None
    report = StageReport(
        stage="runs",
        status="optimal" if result.optimal else "feasible",
        levels=(result.level,),
        seconds=round(time.monotonic() - began, 3),
        solver="CP-SAT",
    )
    return report, sum(len(d.members) for d in result.demands)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks runs", description=__doc__)
    parser.add_argument("--sizes", default="30x4x3,100x6x8")
    parser.add_argument("--time-limit", type=float, default=600)
    args = parser.parse_args(argv)
    rows: list[list[Any]] = []
    print(" ".join(f"{c:>11}" for c in COLUMNS), flush=True)
    with tempfile.TemporaryDirectory(prefix="runs-bench-") as tmp:
        for size in args.sizes.split(","):
            p, s, r = (int(x) for x in size.split("x"))
            folder = generate(Path(tmp) / size, p, s, r)
            load = load_average()
            measured = in_child(solve_runs, folder, args.time_limit)
            if isinstance(measured.result, Failed):
                line = [size, s * r, "", *row(measured, []), load, measured.result.message]
            else:
                report, assigned = measured.result
                line = [size, s * r, assigned, *row(measured, [report]), load, ""]
            rows.append(line)
            print(" ".join(f"{c!s:>11}" for c in line), flush=True)
    print(f"wrote {write_results('runs', COLUMNS, rows, 'peak_mib: the whole process')}")
    return 0
