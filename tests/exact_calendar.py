"""An exact monolithic model of a whole (small) programme, written from the contract alone.

It shares nothing with the calendar stage: who attends comes from the independent checker
(``expected_attendees``), each event's lawful (day, start, venue) triples are those the
checker accepts for that event alone, and the rules between events are a time-indexed 0-1
model (one literal per triple): at most one event per person and per venue in every slot,
`after` as start >= end, the group gap as a disjunction. CP-SAT decides it exactly, so
"no calendar" here is a proof, and a calendar it finds is checked by the checker too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from cohort_solver.checks import calendar as rules
from cohort_solver.domain.programme_time import month_bounds
from cohort_solver.domain.results import Decision, Event, Match
from cohort_solver.domain.scenario import Scenario

SINGLE_EVENT_RULES = (
    rules.check_in_programme_month,
    rules.check_weekdays_and_bank_holidays,
    rules.check_working_hours,
    rules.check_working_days,
    rules.check_group_weekdays,
    rules.check_availability,
    rules.check_venues,
    rules.check_fixed_times,
)


def lawful_alone(scenario: Scenario, selected, matches) -> dict[str, list[Event]]:
    """Every event of the programme with each (day, start, venue) the checker accepts."""
    zone = ZoneInfo(scenario.settings.programme.timezone)
    cal = scenario.settings.calendar
    sessions = {s.session_key: s for s in scenario.programme}
    opens = cal.day_start.hour * 60 + cal.day_start.minute
    closes = cal.day_end.hour * 60 + cal.day_end.minute
    out: dict[str, list[Event]] = {}
    for event_id, people in sorted(rules.expected_attendees(scenario, selected, matches).items()):
        parts = event_id.split("/")
        session = sessions[parts[1]]
        # No venue is a candidate too: the checker alone says whether the session needs one.
        venues = [None, *(v.venue_id for v in scenario.venues)]
        first, last = month_bounds(scenario, session.month)
        mine = []
        for k in range((last - first).days + 1):
            day = first + timedelta(days=k)
            if day.weekday() >= 5:
                continue
            for minute in range(opens, closes - session.duration_minutes + 1, cal.slot_minutes):
                start = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(
                    minutes=minute
                )
                for venue in venues:
                    e = Event(
                        event_id=event_id,
                        session_key=session.session_key,
                        title=session.title,
                        kind=session.kind,
                        cohort_id=parts[0],
                        start=start,
                        end=start + timedelta(minutes=session.duration_minutes),
                        venue_id=venue,
                        attendee_ids=tuple(sorted(people)),
                    )
                    if not any(check(scenario, [e]) for check in SINGLE_EVENT_RULES):
                        mine.append(e)
        out[event_id] = mine
    return out


def exact_calendar(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    *,
    seconds: float = 60,
) -> list[Event] | None | str:
    """A lawful calendar, None if there is none (proved), or "unknown" if CP-SAT ran out."""
    options = lawful_alone(scenario, selected, matches)
    if any(not mine for mine in options.values()):
        return None
    model = cp_model.CpModel()
    pick = {
        event_id: [(e, model.new_bool_var(f"{event_id}@{i}")) for i, e in enumerate(mine)]
        for event_id, mine in options.items()
    }
    for choices in pick.values():
        model.add_exactly_one(x for _, x in choices)
    add_no_double_booking(model, scenario, pick)
    add_after(model, scenario, pick)
    add_group_gap(model, scenario, pick)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = seconds
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "unknown"
    return [e for mine in pick.values() for e, x in mine if solver.value(x)]


Picks = dict[str, list[tuple[Event, cp_model.IntVar]]]  # event_id -> (placement, chosen?)


def add_no_double_booking(model: cp_model.CpModel, scenario: Scenario, pick: Picks) -> None:
    """No person and no venue in two events in the same slot."""
    slot = timedelta(minutes=scenario.settings.calendar.slot_minutes)
    busy: dict[tuple[str, datetime], list[cp_model.IntVar]] = defaultdict(list)
    for choices in pick.values():
        for e, x in choices:
            moment = e.start
            while moment < e.end:
                for who in (*e.attendee_ids, *([e.venue_id] if e.venue_id else [])):
                    busy[who, moment].append(x)
                moment += slot
    for lits in busy.values():
        if len(lits) > 1:
            model.add_at_most_one(lits)


def _minutes(pick: Picks, event_id: str, end: bool = False) -> cp_model.LinearExprT:
    return sum(x * int(((e.end if end else e.start).timestamp()) // 60) for e, x in pick[event_id])


def _day(pick: Picks, event_id: str) -> cp_model.LinearExprT:
    return sum(x * e.start.date().toordinal() for e, x in pick[event_id])


def add_after(model: cp_model.CpModel, scenario: Scenario, pick: Picks) -> None:
    """A session with `after` starts once the named session of the same cohort, shared by
    one of the same participants, has ended."""
    sessions = {s.session_key: s for s in scenario.programme}
    applicants = {a.applicant_id for a in scenario.applicants}
    for event_id, choices in pick.items():
        cohort, key, *_ = event_id.split("/")
        before = sessions[key].after
        if not before:
            continue
        mine = set(choices[0][0].attendee_ids) & applicants
        for other, theirs in pick.items():
            o_cohort, o_key, *_ = other.split("/")
            if o_cohort == cohort and o_key == before and set(theirs[0][0].attendee_ids) & mine:
                model.add(_minutes(pick, event_id) >= _minutes(pick, other, end=True))


def add_group_gap(model: cp_model.CpModel, scenario: Scenario, pick: Picks) -> None:
    """A cohort's group sessions are at least min_days_between_group_sessions days apart."""
    sessions = {s.session_key: s for s in scenario.programme}
    gap = scenario.settings.calendar.min_days_between_group_sessions
    groups: dict[str, list[str]] = defaultdict(list)
    for event_id in pick:
        cohort, key = event_id.split("/")[:2]
        if sessions[key].kind == "group":
            groups[cohort].append(event_id)
    for mine in groups.values():
        for i, a in enumerate(mine):
            for b in mine[i + 1 :]:
                first = model.new_bool_var(f"{a}<{b}")
                model.add(_day(pick, b) >= _day(pick, a) + gap).only_enforce_if(first)
                model.add(_day(pick, a) >= _day(pick, b) + gap).only_enforce_if(~first)
