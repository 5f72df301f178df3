"""Property: the calendar stage finds a calendar exactly when one exists.

Over many small programmes (hypothesis, derandomized so CI is repeatable): whenever the exact
monolithic model of ``exact_calendar.py`` (written from the contract, sharing nothing with
the stage) finds a calendar, the stage finds one too and the independent checker accepts it;
whenever the stage says "infeasible", the exact model proves it. The programmes mix what once
made the stage give up: `after` chains across kinds and people, a facilitator shared by the
cohorts, part-timers, absences of participants, coaches, facilitators and venues, tight
venues and group weekdays, named review attendees.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cohort_solver.checks import calendar as rules
from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import (
    Applicant,
    Coach,
    Person,
    Scenario,
    Session,
    Settings,
    Unavailability,
    Venue,
)
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.schedule import schedule

from .conftest import generated_inputs
from .exact_calendar import exact_calendar

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")


def _away(who: str, first: date, days: int) -> Unavailability:
    return Unavailability(
        id=who,
        start=datetime.combine(first, time(0)),
        end=datetime.combine(first + timedelta(days=days), time(0)),
    )


def fixed_and_mode(draw, month: int) -> dict[str, object]:
    """Sometimes online, sometimes on a fixed date (any day of its month, weekends too) and
    sometimes at a fixed start time (the day is 09:00 to 11:00 or 12:00, one-hour slots)."""
    extra: dict[str, object] = {}
    if draw(st.integers(0, 3)) == 0:
        extra["mode"] = "online"
    if draw(st.integers(0, 3)) == 0:
        first = date(2024, 1 + month, 1)
        extra["fixed_date"] = first + timedelta(days=draw(st.integers(0, 27)))
        if draw(st.booleans()):
            extra["fixed_time"] = time(draw(st.sampled_from([9, 10])))
    return extra


@st.composite
def programmes(draw):
    """A programme of 1-2 cohorts of 1-2 participants over 1-2 months from February 2024,
    with one-hour slots and a two- or three-hour day."""
    months = draw(st.integers(1, 2))
    shared_facilitator = draw(st.booleans())
    sessions = []
    for m in range(1, months + 1):
        group = draw(st.booleans())
        if group:
            sessions.append(
                dict(
                    session_key=f"W{m}",
                    kind="group",
                    month=m,
                    duration_minutes=60 * draw(st.integers(1, 2)),
                    facilitator="F" if shared_facilitator else None,
                    **fixed_and_mode(draw, m),
                )
            )
        if draw(st.booleans()):
            sessions.append(
                dict(
                    session_key=f"C{m}",
                    kind="coaching",
                    month=m,
                    duration_minutes=60,
                    after=f"W{m}" if group and draw(st.booleans()) else None,
                )
            )
        if draw(st.booleans()):
            before = draw(st.sampled_from([None, f"C{m}", f"W{m}"]))
            if before and not any(s["session_key"] == before for s in sessions):
                before = None
            sessions.append(
                dict(
                    session_key=f"R{m}",
                    kind="review",
                    month=m,
                    duration_minutes=60,
                    after=before,
                    **{"with": draw(st.sampled_from([(), ("line_manager",), ("P1",)]))},
                )
            )
        if draw(st.integers(0, 3)) == 0:
            sessions.append(
                dict(
                    session_key=f"E{m}",
                    kind="cohort_event",
                    month=m,
                    duration_minutes=60,
                    **fixed_and_mode(draw, m),
                )
            )
    if not sessions:
        sessions.append(dict(session_key="W1", kind="group", month=1, duration_minutes=60))
    cohorts = draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, 2)) for _ in range(cohorts)]
    one_manager = draw(st.booleans())
    applicants, selected = [], []
    for c, size in enumerate(sizes):
        for k in range(size):
            pid = f"A{c}{k}"
            days = draw(st.sets(st.sampled_from(DAYS), min_size=2, max_size=5))
            applicants.append(
                Applicant(
                    applicant_id=pid,
                    grade=6,
                    probation_passed=True,
                    line_manager_approved=True,
                    performance_eligible=True,
                    line_manager_id="LM" if one_manager else f"LM{c}{k}",
                    working_days=tuple(d for d in DAYS if d in days),
                )
            )
            selected.append(Decision(applicant_id=pid, status="selected", cohort_id=f"c{c}"))
    coaches = [Coach(coach_id=f"CO{k}") for k in range(draw(st.integers(1, 2)))]
    matches = [
        Match(
            participant_id=o.applicant_id,
            cohort_id=o.cohort_id or "",
            mentor_id="M",
            coach_id=coaches[i % len(coaches)].coach_id,
            mentor_fit=0,
            coach_fit=0,
        )
        for i, o in enumerate(selected)
    ]
    venues = [
        Venue(venue_id=f"V{k}", capacity=draw(st.integers(2, 5)))
        for k in range(draw(st.integers(1, 2)))
    ]
    people = [Person(person_id="F", role="facilitator"), Person(person_id="P1", role="board")]
    people += [Person(person_id=a.line_manager_id or "", role="line_manager") for a in applicants]
    ids = [a.applicant_id for a in applicants] + [c.coach_id for c in coaches]
    ids += ["F", "P1", "LM", *(v.venue_id for v in venues)]
    away = []
    for who in ids:
        for _ in range(draw(st.integers(0, 2))):
            first = date(2024, 2, 1) + timedelta(days=draw(st.integers(0, 55)))
            away.append(_away(who, first, draw(st.integers(1, 12))))
    calendar = {
        "day_start": "09:00",
        "day_end": draw(st.sampled_from(["11:00", "12:00"])),
        "slot_minutes": 60,
        "group_weekdays": sorted(
            draw(st.sets(st.sampled_from(DAYS), min_size=1, max_size=3)), key=DAYS.index
        ),
        "min_days_between_group_sessions": draw(st.sampled_from([0, 7, 14, 21])),
    }
    scenario = Scenario(
        folder=Path("."),
        settings=Settings.model_validate(
            {
                "programme": {"name": "Property", "start": "2024-02-01"},
                "selection": {"places": 2, "eligible_grades": [6]},
                "cohorts": [{"id": f"c{c}"} for c in range(cohorts)],
                "calendar": calendar,
            }
        ),
        applicants=tuple(applicants),
        coaches=tuple(coaches),
        programme=tuple(Session.model_validate({"title": s["session_key"], **s}) for s in sessions),
        people=tuple({p.person_id: p for p in people}.values()),
        venues=tuple(venues),
        unavailability=tuple(away),
    )
    return scenario, selected, matches


def stage_agrees_with_the_exact_model(scenario, selected, matches, note=event) -> None:
    exact = exact_calendar(scenario, selected, matches)
    assert exact != "unknown"
    if exact is not None:
        assert rules.violations(scenario, selected, matches, exact) == []
    try:
        result = schedule(scenario, selected, matches, time_limit=120, workers=1)
    except InfeasibleError as err:
        note("infeasible")
        assert err.causes
        assert exact is None, f"the stage said infeasible ({err.causes}) but a calendar exists"
        return
    note("scheduled")
    assert exact is not None, "the stage found a calendar the exact model says cannot exist"
    assert rules.violations(scenario, selected, matches, result.events) == []
    total = next(level for level in result.report.levels if level.name == "soft_total")
    assert total.bound <= total.value == rules.soft_objective(scenario, result.events)


@pytest.mark.slow  # 300 programmes, each solved twice: the full suite runs it
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(programmes())
def test_the_stage_finds_a_calendar_exactly_when_one_exists(case):
    stage_agrees_with_the_exact_model(*case)


GENERATED = [
    # councils, applicants, cohorts, places, months, family options
    (1, 40, 1, 3, 2, {}),
    (2, 60, 2, 2, 2, {"after_chains": True}),
    (2, 60, 1, 3, 3, {"part_time_share": 0.5, "participant_unavailability_share": 0.3}),
    (3, 80, 2, 2, 2, {"venues": 1, "group_weekdays": ("Wed",)}),
    (2, 60, 2, 3, 2, {"unavailability_share": 0.5, "after_chains": True}),
    (1, 40, 2, 2, 3, {"venues": 1, "part_time_share": 0.6}),
]


@pytest.mark.slow
@pytest.mark.parametrize("councils,applicants,cohorts,places,months,extra", GENERATED)
def test_generated_small_programmes_agree_with_the_exact_model(
    tmp_path, councils, applicants, cohorts, places, months, extra
):
    # Programmes from `cohort-solver generate` itself (its calendar families, a few months),
    # allocated and matched by the real stages, then the calendar against the exact model.
    scenario, selected, matches = generated_inputs(
        tmp_path / "s",
        councils=councils,
        applicants=applicants,
        cohorts=cohorts,
        places=places,
        months=months,
        seed=councils * 100 + months,
        **extra,
    )
    stage_agrees_with_the_exact_model(scenario, selected, matches, note=lambda _: None)
