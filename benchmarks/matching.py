"""Benchmark the matching stage: 600 participants, 600 mentors, 100 coaches, 2% conflicts.

Run: ``uv run python benchmarks/matching.py``. Prints one row per fairness mode.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and benchmarks/calendar.py would
# shadow the standard library's calendar module.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from datetime import date  # noqa: E402

from cohort_solver.domain.results import Decision
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
from cohort_solver.stages.match.solve import match  # noqa: E402

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


def main() -> None:
    print(
        "600 participants / 600 mentors / 100 coaches / 2% of participant-mentor/coach pairs in conflict"
    )
    print(
        "scarce = broader needs, one place per mentor, 1-2 themes each (the flows alone rarely suffice)"
    )
    print("time limit 120 s per solve; status feasible = the limit ran out before the proof")
    header = (
        f"{'instance':<8} {'fairness':<12} {'wall s':>7} {'solver':<14} {'status':<8} "
        f"{'objective':<30} {'bound':<14} {'gap':>5}"
    )
    print(header)
    print("-" * len(header))
    for scarce in (False, True):
        for fairness in ("utilitarian", "egalitarian"):
            scenario, selected = instance(fairness=fairness, scarce=scarce)
            started = time.perf_counter()
            result = match(scenario, selected, time_limit=120, workers=2)
            wall = time.perf_counter() - started
            report = result.report
            objective = ", ".join(f"{lv.name}={lv.value}" for lv in report.levels)
            bound = ", ".join(f"{lv.bound}" for lv in report.levels)
            gap = max(lv.gap for lv in report.levels)
            print(
                f"{'scarce' if scarce else 'base':<8} {fairness:<12} {wall:>7.2f} {report.solver:<14} "
                f"{report.status:<8} {objective:<30} {bound:<14} {gap:>5.3f}"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
