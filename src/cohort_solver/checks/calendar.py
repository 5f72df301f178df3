"""An independent checker for calendar.csv: plain Python, no solver.

One function per hard rule of the contract, each returning violation strings (empty = OK),
and the soft objective recomputed from the events alone. The solver imports only the
weights from here, never the checks.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import holidays

from ..model import Event, Match, Outcome, Scenario

# The soft objective: weight per unit of each preference that gave way.
WEIGHTS: dict[str, int] = {
    "rhythm_weekday": 10,  # a group session not on the weekday of the cohort's first one
    "rhythm_time": 5,  # ... or not at its start time
    "coaching_in_workshop_week": 5,  # coaching in the same ISO week as a cohort group session
    "review_before_workshop": 10,  # review starts before that month's workshop has ended
    "review_days_before_month_end": 1,  # per calendar day between the review and month end
    "coach_week_overload": 3,  # coach sessions in a week beyond an even share of the month
    "venue_week_overload": 3,  # venue bookings in a week beyond one
}


def programme_month(scenario: Scenario, day: date) -> int:
    start = scenario.settings.programme.start
    return (day.year - start.year) * 12 + day.month - start.month + 1


def month_bounds(scenario: Scenario, month: int) -> tuple[date, date]:
    """First and last day of programme month ``month``."""
    start = scenario.settings.programme.start
    index = start.year * 12 + start.month - 1 + month - 1
    first = date(index // 12, index % 12 + 1, 1)
    nxt = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def bank_holidays(scenario: Scenario, years: Sequence[int]) -> set[date]:
    country, _, subdivision = scenario.settings.programme.holidays.partition("-")
    return set(holidays.country_holidays(country, subdiv=subdivision or None, years=list(years)))


def weeks_of_month(scenario: Scenario, month: int) -> set[tuple[int, int]]:
    first, last = month_bounds(scenario, month)
    weeks = set()
    day = first
    while day <= last:
        if day.weekday() < 5:
            weeks.add(day.isocalendar()[:2])
        day += timedelta(days=1)
    return weeks


def _local(scenario: Scenario, moment: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(scenario.settings.programme.timezone)).replace(tzinfo=None)


def _sessions(scenario: Scenario):
    return {s.session_key: s for s in scenario.programme}


# --------------------------------------------------------------------------- hard rules


def check_every_session_placed(
    scenario: Scenario,
    selected: Sequence[Outcome],
    matches: Sequence[Match],
    events: Sequence[Event],
) -> list[str]:
    """Every session once per cohort (group, cohort_event) or per participant (coaching, review),
    with the matched coach at coaching and the line manager at reviews."""
    out = []
    by_id: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_id[e.event_id].append(e)
    expected: set[str] = set()
    coach = {m.participant_id: m.coach_id for m in matches}
    applicants = {a.applicant_id: a for a in scenario.applicants}
    cohorts = sorted({o.cohort_id for o in selected if o.cohort_id})
    for session in scenario.programme:
        for cohort_id in cohorts:
            members = sorted(o.applicant_id for o in selected if o.cohort_id == cohort_id)
            if not session.per_participant:
                expected.add(f"{cohort_id}/{session.session_key}")
                for e in by_id.get(f"{cohort_id}/{session.session_key}", []):
                    missing = set(members) - set(e.attendee_ids)
                    if missing:
                        out.append(f"{e.event_id}: participants missing {sorted(missing)}")
                continue
            for pid in members:
                eid = f"{cohort_id}/{session.session_key}/{pid}"
                expected.add(eid)
                for e in by_id.get(eid, []):
                    if pid not in e.attendee_ids:
                        out.append(f"{eid}: the participant is not attending")
                    if session.kind == "coaching" and coach.get(pid) not in e.attendee_ids:
                        out.append(f"{eid}: the matched coach {coach.get(pid)} is not attending")
                    manager = applicants[pid].line_manager_id
                    if session.kind == "review" and manager and manager not in e.attendee_ids:
                        out.append(f"{eid}: the line manager {manager} is not attending")
    for eid in sorted(expected - set(by_id)):
        out.append(f"{eid}: not on the calendar")
    for eid in sorted(set(by_id) - expected):
        out.append(f"{eid}: not a session of the programme")
    for eid, group in sorted(by_id.items()):
        if len(group) > 1:
            out.append(f"{eid}: placed {len(group)} times")
    return out


def check_in_programme_month(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Each event lies inside its session's programme month."""
    sessions = _sessions(scenario)
    out = []
    for e in events:
        first, last = month_bounds(scenario, sessions[e.session_key].month)
        day = _local(scenario, e.start).date()
        if not first <= day <= last:
            out.append(f"{e.event_id}: on {day}, outside programme month {first:%B %Y}")
    return out


def check_weekdays_and_bank_holidays(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Monday to Friday, and never on a bank holiday of the programme's region."""
    out = []
    days = [_local(scenario, e.start).date() for e in events]
    closed = bank_holidays(scenario, sorted({d.year for d in days}) or [2024])
    for e, day in zip(events, days, strict=True):
        if day.weekday() >= 5:
            out.append(f"{e.event_id}: on a {day:%A} ({day})")
        if day in closed:
            out.append(f"{e.event_id}: on the bank holiday {day}")
    return out


def check_working_hours(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Within day_start..day_end on one day, starting on the slot grid, lasting the session."""
    cal = scenario.settings.calendar
    sessions = _sessions(scenario)
    out = []
    for e in events:
        start, end = _local(scenario, e.start), _local(scenario, e.end)
        opens = datetime.combine(start.date(), cal.day_start)
        closes = datetime.combine(start.date(), cal.day_end)
        if start < opens or end > closes:
            out.append(f"{e.event_id}: {start:%H:%M}-{end:%H:%M} outside working hours")
        if (start - opens).total_seconds() % (cal.slot_minutes * 60):
            out.append(
                f"{e.event_id}: starts at {start:%H:%M}, off the {cal.slot_minutes}-minute grid"
            )
        if end - start != timedelta(minutes=sessions[e.session_key].duration_minutes):
            out.append(f"{e.event_id}: lasts {end - start}, not the session's duration")
    return out


def check_working_days(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """On a working day of every participant and coach attending."""
    days_of = {a.applicant_id: a.working_days for a in scenario.applicants}
    days_of.update({c.coach_id: c.working_days for c in scenario.coaches})
    out = []
    for e in events:
        weekday = _local(scenario, e.start).strftime("%a")
        for person in e.attendee_ids:
            if person in days_of and weekday not in days_of[person]:
                out.append(f"{e.event_id}: {person} does not work on {weekday}")
    return out


def check_group_weekdays(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Group sessions only on the calendar's group_weekdays."""
    allowed = scenario.settings.calendar.group_weekdays
    out = []
    for e in events:
        weekday = _local(scenario, e.start).strftime("%a")
        if e.kind == "group" and weekday not in allowed:
            out.append(f"{e.event_id}: a group session on {weekday}")
    return out


def check_no_double_booking(events: Sequence[Event]) -> list[str]:
    """No person and no venue in two events at once."""
    booked: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        for who in set(e.attendee_ids) | ({e.venue_id} if e.venue_id else set()):
            booked[who].append(e)
    out = []
    for who, mine in sorted(booked.items()):
        mine.sort(key=lambda e: (e.start, e.event_id))
        for a, b in zip(mine, mine[1:], strict=False):
            if b.start < a.end:
                out.append(f"{who}: in {a.event_id} and {b.event_id} at once")
    return out


def check_availability(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Nobody and no venue on an unavailable day or time."""
    away = defaultdict(list)
    for u in scenario.unavailability:
        away[u.id].append(u)
    out = []
    for e in events:
        start, end = _local(scenario, e.start), _local(scenario, e.end)
        for who in [*e.attendee_ids, *([e.venue_id] if e.venue_id else [])]:
            for u in away.get(who, []):
                if u.start < end and start < u.end:
                    out.append(f"{e.event_id}: {who} is unavailable {u.start}..{u.end}")
    return out


def check_venues(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Group sessions and cohort events have a venue of the cohort seating every attendee;
    coaching and reviews are online."""
    venues = {v.venue_id: v for v in scenario.venues}
    councils = {c.id: c.councils for c in scenario.cohorts}
    out = []
    for e in events:
        needs = e.kind in ("group", "cohort_event")
        if not needs:
            if e.venue_id:
                out.append(f"{e.event_id}: a {e.kind} session with a venue")
            continue
        venue = venues.get(e.venue_id or "")
        if venue is None:
            out.append(f"{e.event_id}: no venue")
            continue
        if venue.capacity < len(e.attendee_ids):
            out.append(
                f"{e.event_id}: {venue.venue_id} seats {venue.capacity}, {len(e.attendee_ids)} attend"
            )
        allowed = councils.get(e.cohort_id)
        if venue.council and allowed is not None and venue.council not in allowed:
            out.append(f"{e.event_id}: {venue.venue_id} belongs to {venue.council}")
    return out


def check_after_order(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """A session with `after` starts once the same cohort's/participant's instance has ended."""
    sessions = _sessions(scenario)
    people = {a.applicant_id for a in scenario.applicants}
    by_key: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in events:
        by_key[e.cohort_id, e.session_key].append(e)
    out = []
    for e in events:
        before = sessions[e.session_key].after
        if not before:
            continue
        mine = set(e.attendee_ids) & people
        for b in by_key.get((e.cohort_id, before), []):
            if set(b.attendee_ids) & mine and b.end > e.start:
                out.append(f"{e.event_id}: starts before {b.event_id} has ended")
    return out


def check_group_gap(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """One cohort's group sessions at least min_days_between_group_sessions days apart."""
    gap = scenario.settings.calendar.min_days_between_group_sessions
    per_cohort: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.kind == "group":
            per_cohort[e.cohort_id].append(e)
    out = []
    for mine in per_cohort.values():
        mine.sort(key=lambda e: (e.start, e.event_id))
        for a, b in zip(mine, mine[1:], strict=False):
            days = (_local(scenario, b.start).date() - _local(scenario, a.start).date()).days
            if days < gap:
                out.append(f"{a.event_id} and {b.event_id}: {days} days apart, fewer than {gap}")
    return out


def violations(
    scenario: Scenario,
    selected: Sequence[Outcome],
    matches: Sequence[Match],
    events: Sequence[Event],
) -> list[str]:
    """Every hard-rule violation of the calendar (empty list = lawful)."""
    return [
        *check_every_session_placed(scenario, selected, matches, events),
        *check_in_programme_month(scenario, events),
        *check_weekdays_and_bank_holidays(scenario, events),
        *check_working_hours(scenario, events),
        *check_working_days(scenario, events),
        *check_group_weekdays(scenario, events),
        *check_no_double_booking(events),
        *check_availability(scenario, events),
        *check_venues(scenario, events),
        *check_after_order(scenario, events),
        *check_group_gap(scenario, events),
    ]


# --------------------------------------------------------------------------- soft objective


def soft_penalties(scenario: Scenario, events: Sequence[Event]) -> dict[str, int]:
    """Unweighted count of each preference that gave way (see WEIGHTS)."""
    order = {s.session_key: (s.month, i) for i, s in enumerate(scenario.programme)}
    local = {e.event_id: _local(scenario, e.start) for e in events}
    local_end = {e.event_id: _local(scenario, e.end) for e in events}
    month = {e.event_id: order[e.session_key][0] for e in events}
    counts = dict.fromkeys(WEIGHTS, 0)
    groups: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.kind == "group":
            groups[e.cohort_id].append(e)
    for mine in groups.values():
        mine.sort(key=lambda e: order[e.session_key])
        ref = local[mine[0].event_id]
        for e in mine[1:]:
            counts["rhythm_weekday"] += local[e.event_id].weekday() != ref.weekday()
            counts["rhythm_time"] += local[e.event_id].time() != ref.time()
    group_weeks = {
        (e.cohort_id, local[e.event_id].isocalendar()[:2]) for mine in groups.values() for e in mine
    }
    coach_ids = {c.coach_id for c in scenario.coaches}
    coach_load: dict[tuple[str, int], dict[tuple[int, int], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    venue_load: dict[tuple[str, int, tuple[int, int]], int] = defaultdict(int)
    for e in events:
        when = local[e.event_id]
        week = when.isocalendar()[:2]
        if e.kind == "coaching":
            counts["coaching_in_workshop_week"] += (e.cohort_id, week) in group_weeks
            for person in e.attendee_ids:
                if person in coach_ids:
                    coach_load[person, month[e.event_id]][week] += 1
        if e.kind == "review":
            _, last = month_bounds(scenario, month[e.event_id])
            counts["review_days_before_month_end"] += (last - when.date()).days
            counts["review_before_workshop"] += any(
                month[g.event_id] == month[e.event_id] and local_end[g.event_id] > when
                for g in groups.get(e.cohort_id, [])
            )
        if e.venue_id:
            venue_load[e.venue_id, month[e.event_id], week] += 1
    for (_, m), weeks in coach_load.items():
        share = math.ceil(sum(weeks.values()) / len(weeks_of_month(scenario, m)))
        counts["coach_week_overload"] += sum(max(0, n - share) for n in weeks.values())
    counts["venue_week_overload"] = sum(max(0, n - 1) for n in venue_load.values())
    return counts


def soft_objective(scenario: Scenario, events: Sequence[Event]) -> int:
    """The weighted soft objective the solver minimises."""
    counts = soft_penalties(scenario, events)
    return sum(WEIGHTS[k] * v for k, v in counts.items())
