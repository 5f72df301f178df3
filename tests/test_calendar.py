"""The calendar stage against the contract: every solve goes through the independent checker."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from cohort_solver.checks import calendar as rules
from cohort_solver.domain.programme_time import bank_holidays
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
from cohort_solver.errors import InfeasibleError, OutOfTimeError
from cohort_solver.stages.export.calendar_csv import calendar_csv, read_calendar_csv
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.schedule import explain_event, schedule

OXFORD = Path(__file__).parents[1] / "scenarios" / "oxford-2024"

# GB-ENG bank holidays inside oxford-2024's months (April 2024 - October 2025).
OXFORD_BANK_HOLIDAYS = [
    date(2024, 5, 6),
    date(2024, 5, 27),
    date(2024, 8, 26),
    date(2024, 12, 25),
    date(2024, 12, 26),
    date(2025, 1, 1),
    date(2025, 4, 18),
    date(2025, 4, 21),
    date(2025, 5, 5),
    date(2025, 5, 26),
    date(2025, 8, 25),
]


def round_robin_matches(scenario: Scenario, selected: list[Decision]) -> list[Match]:
    """Coaches in turn, respecting Coach.serves and capacity (matching is another stage)."""
    applicants = {a.applicant_id: a for a in scenario.applicants}
    coaches = sorted(scenario.coaches, key=lambda c: c.coach_id)
    load = dict.fromkeys((c.coach_id for c in coaches), 0)
    matches, turn = [], 0
    for o in sorted(selected, key=lambda o: o.applicant_id):
        for _ in range(len(coaches)):
            coach = coaches[turn % len(coaches)]
            turn += 1
            if (
                coach.serves(applicants[o.applicant_id].council)
                and load[coach.coach_id] < coach.capacity
            ):
                break
        load[coach.coach_id] += 1
        matches.append(
            Match(
                participant_id=o.applicant_id,
                cohort_id=o.cohort_id or "",
                mentor_id="M",
                coach_id=coach.coach_id,
                mentor_fit=0,
                coach_fit=0,
            )
        )
    return matches


def checked(scenario, selected, matches, **kwargs):
    """Solve, then insist the checker finds nothing and the objective is recomputed exactly."""
    result = schedule(scenario, selected, matches, time_limit=60, **kwargs)
    assert rules.violations(scenario, selected, matches, result.events) == []
    total = next(level for level in result.report.levels if level.name == "soft_total")
    assert total.value == rules.soft_objective(scenario, result.events)
    counts = rules.soft_penalties(scenario, result.events)
    for level in result.report.levels:
        if level.name in counts:
            assert level.value == rules.WEIGHTS[level.name] * counts[level.name], level.name
    # Every bound is a bound over all lawful calendars, so never above what was found, and the
    # status claims optimality only when the bound proves it.
    assert all(level.bound <= level.value for level in result.report.levels)
    decisive = [lv for lv in result.report.levels if lv.name in ("moved_events", "soft_total")]
    assert (result.report.status == "optimal") == all(lv.bound == lv.value for lv in decisive)
    return result


@pytest.fixture(scope="module")
def oxford():
    from cohort_solver.stages.allocate.solve import allocate

    scenario = load_scenario(OXFORD)
    selected = allocate(scenario, time_limit=30).selected()
    matches = round_robin_matches(scenario, selected)
    return scenario, selected, matches, checked(scenario, selected, matches)


# --------------------------------------------------------------------------- oxford-2024


@pytest.mark.slow
def test_oxford_places_every_session_cleanly(oxford):
    scenario, selected, matches, result = oxford
    per_cohort = [s for s in scenario.programme if not s.per_participant]
    per_person = [s for s in scenario.programme if s.per_participant]
    assert len(result.events) == len(per_cohort) + len(per_person) * len(selected) == 14 + 10 * 12
    assert result.report.stage == "calendar"
    assert [e.start for e in result.events] == sorted(e.start for e in result.events)


@pytest.mark.slow
def test_oxford_calendar_is_optimal_with_its_bound(oxford):
    # Five review days before month ends cannot be avoided (each review's latest possible day),
    # every other goal is met: the bound proves it.
    _, _, _, result = oxford
    assert result.report.status == "optimal"
    total = next(level for level in result.report.levels if level.name == "soft_total")
    assert total.value == total.bound == 5


def test_oxford_bank_holidays_are_pinned_and_never_used(oxford):
    scenario, _, _, result = oxford
    first, last = date(2024, 4, 1), date(2025, 10, 31)
    expected = sorted(d for d in bank_holidays(scenario, [2024, 2025]) if first <= d <= last)
    # Easter Monday 2024 (1 April) is in month 1 as well.
    assert expected == [date(2024, 4, 1), *OXFORD_BANK_HOLIDAYS]
    used = {e.start.date() for e in result.events}
    assert used.isdisjoint(expected)


def test_oxford_coaching_has_the_matched_coach_and_reviews_the_line_manager(oxford):
    scenario, _, matches, result = oxford
    coach = {m.participant_id: m.coach_id for m in matches}
    managers = {a.applicant_id: a.line_manager_id for a in scenario.applicants}
    for e in result.events:
        participant = e.event_id.split("/")[-1]
        if e.kind == "coaching":
            assert set(e.attendee_ids) == {participant, coach[participant]}
        if e.session_key == "R-HOS1":
            assert managers[participant] in e.attendee_ids
            assert any(a.startswith("HOS-") for a in e.attendee_ids)


def test_oxford_calendar_is_byte_identical_on_a_rerun(oxford):
    scenario, selected, matches, result = oxford
    again = schedule(scenario, selected, matches, time_limit=60, workers=1)
    assert calendar_csv(again.events) == calendar_csv(result.events)


def test_calendar_csv_round_trips(oxford, tmp_path):
    _, _, _, result = oxford
    text = calendar_csv(result.events)
    assert (
        text.splitlines()[0]
        == "event_id,session_key,title,kind,cohort_id,start,end,venue_id,attendee_ids"
    )
    assert "+01:00" in text and "+00:00" in text  # summer and winter time offsets
    path = tmp_path / "calendar.csv"
    path.write_text(text, encoding="utf-8")
    assert read_calendar_csv(path) == list(result.events)


def test_no_protected_characteristics_or_scores_in_the_calendar(oxford):
    _, _, _, result = oxford
    text = calendar_csv(result.events).lower()
    for word in ("woman", "minority", "disabled", "score"):
        assert word not in text


def test_replan_keeps_every_event_that_is_still_lawful(oxford):
    scenario, selected, matches, result = oxford
    target = next(e for e in result.events if e.event_id == "main/C2/A001")
    day = target.start.date()
    away = Unavailability(
        id="A001",
        start=datetime.combine(day, time(0)),
        end=datetime.combine(day + timedelta(days=1), time(0)),
    )
    changed = scenario.model_copy(update={"unavailability": (*scenario.unavailability, away)})
    replan = checked(changed, selected, matches, previous=result.events)
    before = {e.event_id: (e.start, e.venue_id) for e in result.events}
    moved = sorted(e.event_id for e in replan.events if before[e.event_id] != (e.start, e.venue_id))
    assert moved == ["main/C2/A001"]
    assert replan.report.levels[0].name == "moved_events"
    assert replan.report.levels[0].value == replan.report.levels[0].bound == 1


def test_explain_names_what_rules_out_other_days(oxford):
    scenario, _, _, result = oxford
    event = next(e for e in result.events if e.event_id == "main/W01")
    text = explain_event(scenario, result.events, "main/W01")
    assert text.startswith(
        f"main/W01 (Group Workshop - Self Assessment) is on {event.start:%A %d %B %Y}"
    )
    assert "Mon 06 May: bank holiday (06 May)" in text  # Monday 6 May 2024
    assert "not a group weekday (group sessions are on Tue/Wed/Thu)" in text
    # Every soft goal of oxford's W01 is 0, so a lawful other day is a tie, never "worse".
    assert "scores worse" not in text


def test_explain_a_later_workshop_names_the_rhythm(oxford):
    scenario, _, _, result = oxford
    w01 = next(e for e in result.events if e.event_id == "main/W01")
    text = explain_event(scenario, result.events, "main/W02")
    assert f"Rhythm: the cohort's first workshop main/W01 is on a {w01.start:%A} at 09:00" in text


def test_explain_says_who_is_busy_and_what_a_move_would_cost(oxford):
    scenario, _, _, result = oxford
    coaching = next(e for e in result.events if e.event_id == "main/C2/A001")
    text = explain_event(scenario, result.events, coaching.event_id)
    lines = [line for line in text.splitlines() if line.startswith("  ")]
    assert lines, text
    # each other weekday says a rule that rules it out, or what the soft goals would do there
    for line in lines:
        assert ("allowed" in line) or any(
            word in line for word in ("bank holiday", "unavailable", "is at", "working day")
        ), line


def test_the_checker_catches_each_broken_rule(oxford):
    scenario, selected, matches, result = oxford
    events = list(result.events)
    w01 = next(i for i, e in enumerate(events) if e.event_id == "main/W01")
    shift = datetime(2024, 5, 6, 9, tzinfo=events[w01].start.tzinfo) - events[w01].start
    on_holiday = [*events]
    on_holiday[w01] = events[w01].model_copy(
        update={"start": events[w01].start + shift, "end": events[w01].end + shift}
    )
    broken = rules.violations(scenario, selected, matches, on_holiday)
    assert "main/W01: on the bank holiday 2024-05-06" in broken
    assert "main/W01: a group session on Mon" in broken
    twice = [*events, events[w01].model_copy(update={"event_id": "main/W02"})]
    assert any(
        "in main/W01 and main/W02 at once" in v for v in rules.check_no_double_booking(twice)
    )
    assert rules.check_every_session_placed(scenario, selected, matches, events[1:]) == [
        f"{events[0].event_id}: not on the calendar"
    ]
    stray = events[w01].model_copy(update={"attendee_ids": (*events[w01].attendee_ids, "X9")})
    assert rules.check_every_session_placed(
        scenario, selected, matches, [*events[:w01], stray, *events[w01 + 1 :]]
    ) == ["main/W01: attendees who are not part of it ['X9']"]


# --------------------------------------------------------------------------- tiny scenarios


def tiny(
    *,
    working_days=(("Mon", "Tue", "Wed", "Thu", "Fri"),) * 2,
    sessions=None,
    away=(),
    venue_seats=10,
    group_weekdays=("Tue", "Wed", "Thu"),
    gap=14,
    day_end="11:00",
    coach_days=("Mon", "Tue", "Wed", "Thu", "Fri"),
    people=None,
):
    """One cohort 'main' from February 2024 (Good Friday is 29 March), slots of an hour.
    A session is (key, kind, month, minutes, after) or with a sixth item, its `with`."""
    sessions = sessions or [("W1", "group", 1, 120, None)]
    people = people or (Person(person_id="LM", role="line_manager"),)
    settings = Settings.model_validate(
        {
            "programme": {"name": "Tiny", "start": "2024-02-01"},
            "selection": {"places": len(working_days), "eligible_grades": [6]},
            "calendar": {
                "day_start": "09:00",
                "day_end": day_end,
                "slot_minutes": 60,
                "group_weekdays": list(group_weekdays),
                "min_days_between_group_sessions": gap,
            },
        }
    )
    applicants = [
        Applicant(
            applicant_id=f"A{i}",
            grade=6,
            probation_passed=True,
            line_manager_approved=True,
            performance_eligible=True,
            line_manager_id="LM",
            working_days=days,
        )
        for i, days in enumerate(working_days)
    ]
    programme = [
        Session.model_validate(
            {
                "session_key": s[0],
                "title": s[0],
                "kind": s[1],
                "month": s[2],
                "duration_minutes": s[3],
                "after": s[4],
                "with": s[5] if len(s) > 5 else (),
            }
        )
        for s in sessions
    ]
    scenario = Scenario(
        folder=Path("."),
        settings=settings,
        applicants=tuple(applicants),
        coaches=(Coach(coach_id="CO", working_days=coach_days),),
        programme=tuple(programme),
        people=tuple(people),
        venues=(Venue(venue_id="V", capacity=venue_seats),),
        unavailability=tuple(away),
    )
    selected = [
        Decision(applicant_id=a.applicant_id, status="selected", cohort_id="main")
        for a in applicants
    ]
    matches = [
        Match(
            participant_id=a.applicant_id,
            cohort_id="main",
            mentor_id="M",
            coach_id="CO",
            mentor_fit=0,
            coach_fit=0,
        )
        for a in applicants
    ]
    return scenario, selected, matches


def whole_days(who, first: date, last: date):
    return Unavailability(
        id=who,
        start=datetime.combine(first, time(0)),
        end=datetime.combine(last + timedelta(days=1), time(0)),
    )


def test_part_timers_only_meet_on_a_shared_working_day():
    # A0 works Mon/Wed, A1 works Wed/Fri: the only shared group weekday is Wednesday.
    scenario, selected, matches = tiny(working_days=(("Mon", "Wed"), ("Wed", "Fri")))
    result = checked(scenario, selected, matches)
    assert [e.start.strftime("%a") for e in result.events] == ["Wed"]


def test_a_person_is_never_in_two_events_at_once():
    # One line manager, two reviews of an hour, a two-hour day: only one review per day fits
    # for that manager at a time, and the solver must use different hours or days.
    scenario, selected, matches = tiny(sessions=[("R1", "review", 1, 60, None)])
    result = checked(scenario, selected, matches)
    a, b = result.events
    assert a.end <= b.start
    # Both reviews as late in February as allowed: Thursday 29th, 09:00 and 10:00 (0 days early).
    assert {e.start.strftime("%d %H") for e in result.events} == {"29 09", "29 10"}
    # Each review's latest candidate day is the 29th, so the bound 0 proves the optimum.
    assert result.report.status == "optimal"


def test_after_order_and_gap_between_group_sessions():
    # W1 then W2 at least 14 days later on Tue-Thu; the coaching follows W1.
    scenario, selected, matches = tiny(
        sessions=[
            ("W1", "group", 1, 120, None),
            ("W2", "group", 1, 120, None),
            ("C1", "coaching", 1, 60, "W1"),
        ],
        day_end="12:00",
    )
    result = checked(scenario, selected, matches)
    start = {e.session_key: e.start for e in result.events if e.session_key != "C1"}
    assert abs((start["W2"] - start["W1"]).days) >= 14
    for e in result.events:
        if e.session_key == "C1":
            assert e.start >= start["W1"] + timedelta(hours=2)


def test_an_after_chain_across_kinds_and_people():
    # Workshop, then each participant's coaching (with the coach), then their review (with the
    # line manager), all in February: the chain of the issue's failing months.
    scenario, selected, matches = tiny(
        sessions=[
            ("W1", "group", 1, 120, None),
            ("C1", "coaching", 1, 60, "W1"),
            ("R1", "review", 1, 60, "C1"),
        ],
        away=[whole_days("CO", date(2024, 2, 1), date(2024, 2, 20))],
    )
    result = checked(scenario, selected, matches)
    at = {e.event_id: e for e in result.events}
    for pid in ("A0", "A1"):
        assert at["main/W1"].end <= at[f"main/C1/{pid}"].start
        assert at[f"main/C1/{pid}"].end <= at[f"main/R1/{pid}"].start
        assert at[f"main/C1/{pid}"].start.date() > date(2024, 2, 20)


def test_review_with_named_people_includes_them_and_never_double_books_them():
    # `with = P1;P2` on a review (a talent board): both attend every review, so the two
    # reviews cannot overlap even though the participants differ.
    board = (
        Person(person_id="LM", role="line_manager"),
        Person(person_id="P1", role="board"),
        Person(person_id="P2", role="board"),
    )
    scenario, selected, matches = tiny(
        sessions=[("R1", "review", 1, 60, None, ("P1", "P2"))], people=board
    )
    result = checked(scenario, selected, matches)
    assert all({"P1", "P2", "LM"} <= set(e.attendee_ids) for e in result.events)
    a, b = sorted(result.events, key=lambda e: e.start)
    assert a.end <= b.start


def test_group_weekdays_hold_group_sessions_but_not_cohort_events():
    # group_weekdays is for group sessions (as its name says); a cohort event (an induction,
    # a presentation to the CMT) may be on any weekday. With Thursdays away for the venue in
    # February, the workshop has no day left, the induction has every other weekday.
    away = [whole_days("V", date(2024, 2, d), date(2024, 2, d)) for d in (1, 8, 15, 22, 29)]
    scenario, selected, matches = tiny(
        sessions=[("IND", "cohort_event", 1, 120, None)], group_weekdays=("Thu",), away=away
    )
    result = checked(scenario, selected, matches)
    assert result.events[0].start.strftime("%a") != "Thu"
    scenario, selected, matches = tiny(
        sessions=[("W1", "group", 1, 120, None)], group_weekdays=("Thu",), away=away
    )
    with pytest.raises(InfeasibleError) as err:
        schedule(scenario, selected, matches, time_limit=10)
    assert "of them are Thu" in err.value.causes[0]


def test_no_shared_working_day_is_explained_in_coordinator_words():
    # A0 works only Monday, group sessions only Tue-Thu.
    scenario, selected, matches = tiny(working_days=(("Mon",), ("Tue", "Wed")))
    with pytest.raises(InfeasibleError) as err:
        schedule(scenario, selected, matches, time_limit=10)
    (cause,) = err.value.causes
    assert cause.startswith("cohort main, month 1 (February 2024): W1 'W1': no possible time")
    assert "0 are working days of all 2 participants (part-time: A0, A1)" in cause


def test_venue_too_small_is_explained():
    scenario, selected, matches = tiny(venue_seats=1)
    with pytest.raises(InfeasibleError) as err:
        schedule(scenario, selected, matches, time_limit=10)
    assert "no venue of the cohort has ≥ 2 seats (V seats 1)" in err.value.causes[0]


def test_an_after_chain_with_no_time_left_is_explained():
    # The review must follow the coaching, but the coach is away until the last Thursday
    # afternoon and the day ends at 11:00: no time is left for the review after it.
    scenario, selected, matches = tiny(
        working_days=(("Mon", "Tue", "Wed", "Thu", "Fri"),),
        sessions=[("C1", "coaching", 1, 60, None), ("R1", "review", 1, 60, "C1")],
        away=[whole_days("CO", date(2024, 2, 1), date(2024, 2, 28))],
        day_end="10:00",
    )
    with pytest.raises(InfeasibleError) as err:
        schedule(scenario, selected, matches, time_limit=10)
    assert any("R1" in c and "must come after C1" in c for c in err.value.causes)


@pytest.mark.slow
def test_running_out_of_time_is_exit_4_and_more_time_helps():
    # A time limit too short for any search is "out of time", never "infeasible"; with more
    # time the same scenario gets its calendar.
    from cohort_solver.synthetic.builders import regional

    scenario, selected, matches = regional(size=2)
    with pytest.raises(OutOfTimeError) as err:
        schedule(scenario, selected, matches, time_limit=0.01)
    assert err.value.exit_code == 4
    assert "--time-limit" in err.value.more_time
    checked(scenario, selected, matches)


def test_brute_force_agrees_on_a_known_infeasible_case():
    # Two group sessions 21 days apart in February on Mondays only, both participants away the
    # first two Mondays: only 19 and 26 February are left, 7 days apart.
    from .exact_calendar import exact_calendar

    scenario, selected, matches = tiny(
        sessions=[("W1", "group", 1, 60, None), ("W2", "group", 1, 60, None)],
        group_weekdays=("Mon",),
        gap=21,
        away=[whole_days("A0", date(2024, 2, 1), date(2024, 2, 13))],
    )
    assert exact_calendar(scenario, selected, matches) is None
    with pytest.raises(InfeasibleError):
        schedule(scenario, selected, matches, time_limit=10)


def test_month_by_month_keeps_room_for_the_next_month_gap():
    # Feasible: S0 by 13 February, then S1 on 4 March and S2 on 25 March; month 1 must leave
    # room for month 2's two workshops 21 days apart.
    from .exact_calendar import exact_calendar

    scenario, selected, matches = tiny(
        working_days=(("Mon", "Tue"),),
        sessions=[
            ("S0", "group", 1, 60, None),
            ("S1", "group", 2, 60, None),
            ("S2", "group", 2, 60, None),
        ],
        group_weekdays=("Mon", "Tue"),
        gap=21,
    )
    assert isinstance(exact_calendar(scenario, selected, matches), list)
    checked(scenario, selected, matches)


def test_group_gap_is_carried_across_months():
    # W1 in February, W2 in March at least 21 days later; A0 is away from 8 March, so W2 must be
    # on 5, 6 or 7 March and W1 on or before 15 February (the month-1 solve must leave room).
    scenario, selected, matches = tiny(
        sessions=[("W1", "group", 1, 60, None), ("W2", "group", 2, 60, None)],
        gap=21,
        away=[whole_days("A0", date(2024, 3, 8), date(2024, 3, 31))],
    )
    result = checked(scenario, selected, matches)
    start = {e.session_key: e.start.date() for e in result.events}
    assert date(2024, 3, 5) <= start["W2"] <= date(2024, 3, 7)
    assert (start["W2"] - start["W1"]).days >= 21


@pytest.mark.slow
def test_a_regional_calendar_is_byte_identical_across_processes_and_under_load(tmp_path):
    # The old benchmark's regional instance (50 cohorts, 6,700 events) in two separate
    # processes with different hash seeds, on 2 workers and on 1 worker beside a CPU-bound
    # process: the same calendar.csv both times (the seed, the load and the worker count all
    # differ at once, so any of them changing the bytes fails it).
    import hashlib
    import subprocess
    import sys

    code = (
        "import hashlib, sys; from cohort_solver.synthetic.builders import regional; "
        "from cohort_solver.stages.schedule import schedule; from cohort_solver.stages.export.calendar_csv import calendar_csv; "
        "s, sel, m = regional(); "
        "r = schedule(s, sel, m, time_limit=600, workers=int(sys.argv[1])); "
        "print(hashlib.sha256(calendar_csv(r.events).encode()).hexdigest())"
    )
    root = Path(__file__).parents[1]

    def run(workers: int, seed: str) -> str:
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", code, str(workers)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    first = run(2, "1")
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = run(1, "2")
    finally:
        burner.kill()
        burner.wait()
    assert loaded == first
    assert hashlib.sha256(b"").hexdigest() != first
