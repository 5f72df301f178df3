"""The report's impact section (targets, career tracking, suppression) at regional scale.

    uv run python -m benchmarks impact [--sizes 480,1000,12000] [--outcomes 3] [--time-limit 600]

One row per size: the generated scenario of benchmarks.allocation (12,000 applicants = 50
councils, 50 cohorts, seed 1) is allocated once, and its selected participants are given a
seeded career history (up to ``--outcomes`` rows each, over the programme and three years
after it) in outcomes.csv, with the seed's default targets and ``[impact] as_of`` set. The row
times ``impact_html`` alone (targets, tracking per cohort and year, and the disclosure audit
that keeps every count of 1 or 2 from being read or worked out), in a fresh process, with its
peak memory, and says which suppression rule applied: the exact audit, or past its budget
(participants x 3^cohorts over 1,200) the nested-difference rule. Results:
benchmarks/results/impact.{md,csv}.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.allocation import scenario
from benchmarks.common import CACHE, write_results
from benchmarks.measure import FIGURES, Failed, in_child, load_average

COLUMNS = ["applicants", "participants", "cohorts", "outcome_rows", *FIGURES, "load_avg", "note"]
WORDS = ("promotion", "acting_up", "secondment", "new_role", "project_lead", "none")
AUDIT_BUDGET = 1_200  # the exact audit's budget, as the contract states it


def with_histories(size: int, per_person: int, options: cohort_solver.Options) -> Path:
    """The generated scenario of ``size`` applicants with outcomes.csv for its participants."""
    folder = CACHE / f"impact-{size}-{per_person}"
    if (folder / "outcomes.csv").exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(scenario(size), folder, ignore=shutil.ignore_patterns("out"))
    loaded = cohort_solver.load(folder)
    selected = cohort_solver.allocate(loaded, options).selected()
    start = loaded.settings.programme.start
    rng = random.Random(1)
    lines = ["participant_id,completed,outcome,outcome_date"]
    for decision in selected:
        completed = "yes" if rng.random() < 0.85 else "no"
        for _ in range(rng.randint(0, per_person)):
            day = start + timedelta(days=rng.randrange(48 * 30))
            lines.append(f"{decision.applicant_id},{completed},{rng.choice(WORDS)},{day}")
    (folder / "outcomes.csv").write_text("\n".join(lines) + "\n")
    as_of = start + timedelta(days=40 * 30)
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text() + f'\n[impact]\nas_of = "{as_of}"\n')
    return folder


def timed_impact(folder: Path, options: cohort_solver.Options) -> Any:
    """The allocation (not timed), then the impact section alone, timed."""
    from cohort_solver.stages.report.impact import impact_html

    loaded = cohort_solver.load(folder)
    allocation = cohort_solver.allocate(loaded, options)
    started = time.monotonic()
    page = impact_html(loaded, allocation)
    seconds = time.monotonic() - started
    participants = len(allocation.selected())
    cohorts = len({d.cohort_id for d in allocation.selected()})
    hidden = page.count("fewer than 3") + page.count("suppressed")
    return seconds, participants, cohorts, len(loaded.outcomes), hidden


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks impact", description=__doc__)
    parser.add_argument("--sizes", default="480,1000,12000")
    parser.add_argument("--outcomes", type=int, default=3, help="most outcome rows per person")
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    rows: list[list[Any]] = []
    print(" ".join(f"{c:>12}" for c in COLUMNS), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        folder = with_histories(size, args.outcomes, options)
        load = load_average()
        measured = in_child(timed_impact, folder, options)
        if isinstance(measured.result, Failed):
            line = [size, "", "", "", "", f"{measured.peak_mib:.0f}", "failed", "", "", ""]
            rows.append([*line, load, measured.result.message])
        else:
            seconds, participants, cohorts, outcome_rows, hidden = measured.result
            exact = participants * 3**cohorts <= AUDIT_BUDGET
            rule = "exact audit" if exact else "nested-difference rule (past the audit budget)"
            note = f"{rule}; {hidden} figures shown as fewer than 3 or suppressed"
            figures = [f"{seconds:.2f}", f"{measured.peak_mib:.0f}", "done", "", "", ""]
            rows.append([size, participants, cohorts, outcome_rows, *figures, load, note])
        print(" ".join(f"{c!s:>12}" for c in rows[-1]), flush=True)
    note = "wall_s: impact_html alone; peak_mib: the whole process, allocation included"
    print(f"wrote {write_results('impact', COLUMNS, rows, note)}")
    return 0
