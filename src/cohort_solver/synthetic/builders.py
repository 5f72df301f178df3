"""Scenarios built in Python (no files), shared by tests and benchmarks.

``regional`` is the old calendar benchmark: cohorts of 12 on the oxford-2024 session plan, with
part-time participants and a 5% chance of being away on any day. Tests use its small sizes
(``regional(size=2)``), the schedule benchmark its full size.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import (
    Applicant,
    Coach,
    CohortSettings,
    Person,
    Scenario,
    Session,
    Settings,
    Unavailability,
    Venue,
)

# The old benchmark instance (built in Python, no files): the oxford-2024 session plan.
PROGRAMME = [
    ("IND", "cohort_event", 1, 180, "", "", ""),
    ("W01", "group", 2, 210, "F", "", ""),
    ("C1", "coaching", 2, 60, "", "", "W01"),
    ("W02", "group", 3, 180, "F", "", ""),
    ("W03", "group", 4, 210, "F", "", ""),
    ("C2", "coaching", 4, 60, "", "", ""),
    ("R-LM1", "review", 4, 60, "", "line_manager", "W03"),
    ("W04", "group", 5, 210, "F", "", ""),
    ("W05", "group", 6, 180, "F", "", ""),
    ("C3", "coaching", 6, 60, "", "", ""),
    ("W06", "group", 7, 180, "F", "", ""),
    ("R-LM2", "review", 7, 60, "", "line_manager", "W06"),
    ("W07", "group", 8, 180, "F", "", ""),
    ("C4", "coaching", 8, 60, "", "", ""),
    ("W08", "group", 9, 180, "F", "", ""),
    ("W09", "group", 10, 210, "F", "", ""),
    ("C5", "coaching", 10, 60, "", "", ""),
    ("R-HOS1", "review", 10, 60, "", "head_of_service", "W09"),
    ("W10", "group", 11, 210, "F", "", ""),
    ("W11", "group", 12, 180, "F", "", ""),
    ("C6", "coaching", 12, 60, "", "", "W11"),
    ("W12", "group", 13, 210, "F", "", ""),
    ("IMPACT", "cohort_event", 14, 120, "F", "CMT", ""),
    ("C7", "coaching", 19, 60, "", "", ""),
]


def regional(seed: int = 7, size: int = 50) -> tuple[Scenario, list[Decision], list[Match]]:
    """The old calendar benchmark: ``size`` cohorts of 12 (5 per council), 100 coaches,
    20 venues, part-time participants and 5% unavailability, built in Python."""
    rng = random.Random(seed)
    councils = [f"Council {i:02d}" for i in range(10)]
    cohorts = [
        CohortSettings(id=f"c{i:02d}", places=12, councils=[councils[i // 5]]) for i in range(size)
    ]
    settings = Settings.model_validate(
        {
            "programme": {"name": "Regional", "start": "2024-04-01"},
            "selection": {"places": 12, "eligible_grades": [6, 7]},
            "cohorts": [c.model_dump() for c in cohorts],
        }
    )
    patterns = [("Mon", "Tue", "Wed", "Thu", "Fri")] * 4 + [
        ("Mon", "Tue", "Wed"),
        ("Tue", "Wed", "Thu"),
    ]
    applicants: list[Applicant] = []
    selected: list[Decision] = []
    people: list[Person] = []
    matches: list[Match] = []
    areas = [f"Area {k}" for k in range(6)]
    for council in councils:
        for area in areas:
            people.append(
                Person(
                    person_id=f"HOS-{council[-2:]}-{area[-1]}",
                    role="head_of_service",
                    council=council,
                    service_area=area,
                )
            )
    for i, cohort in enumerate(cohorts):
        for j in range(12):
            pid = f"A{i:02d}{j:02d}"
            applicants.append(
                Applicant(
                    applicant_id=pid,
                    council=councils[i // 5],
                    service_area=areas[j % 6],
                    grade=6,
                    probation_passed=True,
                    line_manager_approved=True,
                    performance_eligible=True,
                    line_manager_id=f"LM{i:02d}{j // 2:02d}",  # two participants per manager
                    working_days=rng.choice(patterns),
                )
            )
            selected.append(Decision(applicant_id=pid, status="selected", cohort_id=cohort.id))
            matches.append(
                Match(
                    participant_id=pid,
                    cohort_id=cohort.id,
                    mentor_id="M",
                    coach_id=f"CO{(i * 12 + j) // 6:03d}",
                    mentor_fit=0,
                    coach_fit=0,
                )
            )
        people.append(Person(person_id=f"FAC{i // 5:02d}", role="facilitator"))
    coaches = [
        Coach(
            coach_id=f"CO{k:03d}",
            capacity=6,
            working_days=("Mon", "Tue", "Wed", "Thu")
            if k % 5 == 0
            else ("Mon", "Tue", "Wed", "Thu", "Fri"),
        )
        for k in range(100)
    ]
    venues = [Venue(venue_id=f"V{k:02d}", capacity=20, council=councils[k // 2]) for k in range(20)]
    programme = [
        Session.model_validate(
            {
                "session_key": key,
                "title": key,
                "kind": kind,
                "month": month,
                "duration_minutes": minutes,
                "with": (with_,) if with_ and with_ != "CMT" else (),
                "after": after or None,
            }
        )
        for key, kind, month, minutes, _facilitator, with_, after in PROGRAMME
    ]
    ids = (
        [a.applicant_id for a in applicants]
        + [c.coach_id for c in coaches]
        + [v.venue_id for v in venues]
    )
    unavailability: list[Unavailability] = []
    first = date(2024, 4, 1)
    for who in ids:  # away on 5% of days: half a day (appointments, training) or a whole day
        for day in range(0, 19 * 31):
            if rng.random() < 0.05:
                start = datetime.combine(first + timedelta(days=day), datetime.min.time())
                part = rng.choice(["morning", "afternoon", "day"])
                if part == "morning":
                    start, end = start + timedelta(hours=9), start + timedelta(hours=13)
                elif part == "afternoon":
                    start, end = start + timedelta(hours=13), start + timedelta(hours=17)
                else:
                    end = start + timedelta(days=1)
                unavailability.append(Unavailability(id=who, start=start, end=end))
    scenario = Scenario(
        folder=Path("."),
        settings=settings,
        applicants=tuple(applicants),
        coaches=tuple(coaches),
        programme=tuple(programme),
        people=tuple(people),
        venues=tuple(venues),
        unavailability=tuple(unavailability),
    )
    return scenario, selected, matches
