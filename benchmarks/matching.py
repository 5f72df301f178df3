"""Benchmark the matching stage: 600 participants, 600 mentors, 100 coaches, 2% conflicts.

    uv run python -m benchmarks matching [--time-limit 120]

One row per instance (base, scarce) and fairness mode, each solve through the API in its own
process: wall seconds and peak memory of the stage, solver, status, objective, bound and gap of
the decisive level, and every level. Results: benchmarks/results/matching.{md,csv}.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import date
from typing import Any

import cohort_solver
from benchmarks.common import write_results
from benchmarks.measure import FIGURES, Failed, in_child, row
from cohort_solver.domain.results import Allocation, Decision, StageReport
from cohort_solver.domain.scenario import (
    Applicant,
    Coach,
    Conflict,
    Mentor,
    ProgrammeSettings,
    Scenario,
    SelectionSettings,
    Settings,
)

NEEDS = (
    "strategic",
    "agile",
    "collaborative",
    "accountable",
    "innovative",
    "compassionate",
    "change_agent",
    "financial",
)
COUNCILS = tuple(f"Council {k}" for k in range(6))
AREAS = ("Housing", "Finance", "Planning", "Community", "Environment", "Legal", "IT", "HR")


def instance(
    participants: int = 600,
    mentors: int = 600,
    coaches: int = 100,
    conflict_share: float = 0.02,
    fairness: str = "utilitarian",
    seed: int = 1,
    scarce: bool = False,
) -> tuple[Scenario, list[Decision]]:
    """``scarce``: broader needs, narrower mentors, tighter places (the flows rarely suffice)."""
    rng = random.Random(seed)
    settings = Settings(
        programme=ProgrammeSettings(name="bench", start=date(2024, 4, 1)),
        selection=SelectionSettings(places=participants, eligible_grades=[6, 7]),
        matching={"fairness": fairness},
    )
    applicants = tuple(
        Applicant(
            applicant_id=f"P{k:04d}",
            council=rng.choice(COUNCILS),
            service_area=rng.choice(AREAS),
            grade=rng.choice((6, 7)),
            probation_passed=True,
            line_manager_approved=True,
            performance_eligible=True,
            line_manager_id=f"M{rng.randrange(mentors):04d}",
            development_needs=tuple(
                rng.sample(NEEDS, rng.randint(2, 4) if scarce else rng.randint(1, 3))
            ),
        )
        for k in range(participants)
    )
    mentor_rows = tuple(
        Mentor(
            mentor_id=f"M{k:04d}",
            council=rng.choice(COUNCILS),
            service_area=rng.choice(AREAS),
            grade=rng.randint(8, 12),
            capacity=1 if scarce else rng.choice((1, 1, 2)),
            expertise=tuple(rng.sample(NEEDS, rng.randint(1, 2) if scarce else rng.randint(1, 4))),
        )
        for k in range(mentors)
    )
    coach_rows = tuple(
        Coach(
            coach_id=f"C{k:03d}",
            capacity=6 if scarce else rng.randint(6, 9),
            expertise=tuple(rng.sample(NEEDS, rng.randint(2, 4))),
            councils=() if rng.random() < 0.5 else tuple(rng.sample(COUNCILS, 3)),
        )
        for k in range(coaches)
    )
    people = [a.applicant_id for a in applicants]
    others = [m.mentor_id for m in mentor_rows] + [c.coach_id for c in coach_rows]
    wanted = round(conflict_share * len(people) * len(others))
    pairs = set()
    while len(pairs) < wanted:
        pairs.add((rng.choice(others), rng.choice(people)))
    conflicts = tuple(Conflict(person_a=a, person_b=b) for a, b in sorted(pairs))
    scenario = Scenario(
        folder=".",
        settings=settings,
        applicants=applicants,
        mentors=mentor_rows,
        coaches=coach_rows,
        conflicts=conflicts,
    )
    selected = [
        Decision(applicant_id=a.applicant_id, status="selected", cohort_id="main")
        for a in applicants
    ]
    return scenario, selected


COLUMNS = ["instance", "fairness", *FIGURES, "solver", "levels"]


def solve(fairness: str, scarce: bool, options: cohort_solver.Options) -> tuple[Any, float]:
    """Build the instance, then match it: the result and the stage's own seconds."""
    scenario, selected = instance(fairness=fairness, scarce=scarce)
    allocation = Allocation(
        outcomes=tuple(selected), report=StageReport(stage="allocation", status="optimal")
    )
    started = time.monotonic()
    result = cohort_solver.match(scenario, allocation, options)
    return result, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks matching",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    print(
        "600 participants / 600 mentors / 100 coaches / 2% of participant-mentor/coach pairs "
        "in conflict; scarce = broader needs, one place per mentor, 1-2 themes each (the flows "
        f"alone rarely suffice); time limit {args.time_limit:g} s per solve"
    )
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for scarce in (False, True):
        for fairness in ("utilitarian", "egalitarian"):
            measured = in_child(solve, fairness, scarce, options)
            name = "scarce" if scarce else "base"
            if isinstance(measured.result, Failed):
                rows.append([name, fairness, *row(measured, []), "", measured.result.message])
            else:
                result, seconds = measured.result
                report = result.report
                levels = ", ".join(f"{lv.name}={lv.value}/{lv.bound}" for lv in report.levels)
                figures = row(replace(measured, wall_s=seconds), [report])
                rows.append([name, fairness, *figures, report.solver, levels])
            print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
    print(f"wrote {write_results('matching', COLUMNS, rows)}")
    return 0
