"""The programme calendar with CP-SAT: a skeleton of group sessions, then month by month.

Every event of a programme month must lie inside that month, so months only interact through
the group sessions: the gap between one cohort's group sessions, the group-session rhythm, and
ISO weeks that straddle a month boundary (coaching should avoid workshop weeks). The calendar
is therefore solved in two steps. The skeleton, every group session and cohort event of every
month (one per cohort and session: 600 for 50 cohorts), is one model, so those rules are
exact. Around it, each month's coaching and reviews are independent of every other month's.

Each event picks one candidate day (pre-filtered in Python: the month, Monday to Friday, bank
holidays, group weekdays, everyone's working days and unavailability) and a start slot on an
absolute slot timeline (day number x slots per day + slot), so "nobody in two places at once"
is a no-overlap of intervals per person and per venue.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from ..checks.calendar import (
    WEIGHTS,
    bank_holidays,
    check_no_double_booking,
    month_bounds,
    soft_penalties,
    weeks_of_month,
)
from ..errors import InfeasibleError
from ..model import Event, Level, Match, Outcome, Scenario, Session, StageReport
from . import cp_sat

CALENDAR_COLUMNS = (
    "event_id",
    "session_key",
    "title",
    "kind",
    "cohort_id",
    "start",
    "end",
    "venue_id",
    "attendee_ids",
)


@dataclass(frozen=True)
class Demand:
    """One event to place: a session for a cohort, or for one participant of it."""

    event_id: str
    session: Session
    cohort_id: str
    participant_id: str | None
    attendees: tuple[str, ...]  # sorted person ids
    members: tuple[str, ...]  # the participants attending
    coach_id: str | None
    venues: tuple[str, ...]  # candidate venues (empty = online)
    seats: int


@dataclass(frozen=True)
class CalendarResult:
    events: tuple[Event, ...]
    report: StageReport


class Grid:
    """Programme days and slots: absolute slot = day number x slots per day + slot."""

    def __init__(self, scenario: Scenario):
        cal = scenario.settings.calendar
        self.scenario = scenario
        self.slot = cal.slot_minutes
        self.opens = cal.day_start.hour * 60 + cal.day_start.minute
        closes = cal.day_end.hour * 60 + cal.day_end.minute
        self.per_day = (closes - self.opens) // self.slot
        self.origin = month_bounds(scenario, 1)[0]
        self.zone = ZoneInfo(scenario.settings.programme.timezone)
        months = [s.month for s in scenario.programme] or [1]
        last = month_bounds(scenario, max(months))[1]
        self.closed = bank_holidays(scenario, range(self.origin.year, last.year + 1))

    def day_number(self, day: date) -> int:
        return (day - self.origin).days

    def absolute(self, day: date, slot: int) -> int:
        return self.day_number(day) * self.per_day + slot

    def day_of(self, absolute: int) -> tuple[date, int]:
        number, slot = divmod(absolute, self.per_day)
        return self.origin + timedelta(days=number), slot

    def moment(self, day: date, slot: int) -> datetime:
        minutes = self.opens + slot * self.slot
        naive = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
        return naive.replace(tzinfo=self.zone)

    def slots(self, session: Session) -> int:
        return math.ceil(session.duration_minutes / self.slot)

    def weekdays(self, month: int) -> list[date]:
        """Monday-Friday days of the month that are not bank holidays."""
        first, last = month_bounds(self.scenario, month)
        days = []
        day = first
        while day <= last:
            if day.weekday() < 5 and day not in self.closed:
                days.append(day)
            day += timedelta(days=1)
        return days


def _blocked(scenario: Scenario, grid: Grid) -> dict[str, dict[date, set[int]]]:
    """Per person or venue id: the slots of each day they are unavailable."""
    blocked: dict[str, dict[date, set[int]]] = defaultdict(lambda: defaultdict(set))
    for u in scenario.unavailability:
        day = u.start.date()
        while datetime.combine(day, datetime.min.time()) < u.end:
            for slot in range(grid.per_day):
                begin = datetime.combine(day, datetime.min.time()) + timedelta(
                    minutes=grid.opens + slot * grid.slot
                )
                if begin < u.end and u.start < begin + timedelta(minutes=grid.slot):
                    blocked[u.id][day].add(slot)
            day += timedelta(days=1)
    return blocked


# --------------------------------------------------------------------------- demands


def build_demands(
    scenario: Scenario, selected: Sequence[Outcome], matches: Sequence[Match]
) -> tuple[list[Demand], list[str]]:
    """Every event the programme needs, in canonical order, and any missing person."""
    applicants = {a.applicant_id: a for a in scenario.applicants}
    coach = {m.participant_id: m.coach_id for m in matches}
    heads = {
        (p.council, p.service_area): p.person_id
        for p in sorted(scenario.people, key=lambda p: p.person_id)
        if p.role == "head_of_service"
    }
    cohorts = {c.id: c for c in scenario.cohorts}
    members: dict[str, list[str]] = defaultdict(list)
    for o in selected:
        if o.cohort_id:
            members[o.cohort_id].append(o.applicant_id)
    demands: list[Demand] = []
    causes: list[str] = []

    def extra(session: Session, pid: str) -> list[str]:
        out = []
        applicant = applicants[pid]
        for who in session.with_:
            if who == "line_manager":
                if applicant.line_manager_id:
                    out.append(applicant.line_manager_id)
            elif who == "head_of_service":
                head = heads.get(applicant.area)
                if head is None:
                    causes.append(
                        f"{pid}: {session.session_key} needs their head of service, but people.csv "
                        f"has no head_of_service for {applicant.council}, {applicant.service_area}"
                    )
                else:
                    out.append(head)
        return out

    for session in sorted(scenario.programme, key=lambda s: (s.month, s.session_key)):
        for cohort_id in sorted(members):
            cohort = sorted(members[cohort_id])
            if session.per_participant:
                for pid in cohort:
                    people = [pid, *extra(session, pid)]
                    if session.kind == "review" and applicants[pid].line_manager_id:
                        people.append(applicants[pid].line_manager_id)  # type: ignore[arg-type]
                    coach_id = None
                    if session.kind == "coaching":
                        coach_id = coach.get(pid)
                        if coach_id is None:
                            causes.append(f"{pid}: no coach matched for {session.session_key}")
                            continue
                        people.append(coach_id)
                    attendees = tuple(sorted(set(people)))
                    demands.append(
                        Demand(
                            f"{cohort_id}/{session.session_key}/{pid}",
                            session,
                            cohort_id,
                            pid,
                            attendees,
                            (pid,),
                            coach_id,
                            (),
                            len(attendees),
                        )
                    )
                continue
            people = list(cohort)
            if session.facilitator:
                people.append(session.facilitator)
            for who in session.with_:
                if who in ("line_manager", "head_of_service"):
                    for pid in cohort:
                        people.extend(extra(session.model_copy(update={"with_": (who,)}), pid))
                else:
                    people.append(who)
            attendees = tuple(sorted(set(people)))
            allowed = cohorts[cohort_id].councils if cohort_id in cohorts else None
            venues = tuple(
                sorted(
                    v.venue_id
                    for v in scenario.venues
                    if v.capacity >= len(attendees)
                    and (not v.council or allowed is None or v.council in allowed)
                )
            )
            demands.append(
                Demand(
                    f"{cohort_id}/{session.session_key}",
                    session,
                    cohort_id,
                    None,
                    attendees,
                    tuple(cohort),
                    None,
                    venues or ("",),
                    len(attendees),
                )
            )
    return demands, sorted(set(causes))


_WORKING_DAYS: dict[int, tuple[Scenario, dict[str, tuple[str, ...]]]] = {}


def _working_days(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """Working days per person, built once per scenario: candidates() asks for every event,
    and rebuilding it each time cost 37 s of a regional re-plan."""
    cached = _WORKING_DAYS.get(id(scenario))
    if cached is None or cached[0] is not scenario:
        days = {a.applicant_id: tuple(a.working_days) for a in scenario.applicants}
        days.update({c.coach_id: tuple(c.working_days) for c in scenario.coaches})
        _WORKING_DAYS.clear()  # only the scenario being scheduled is kept
        _WORKING_DAYS[id(scenario)] = cached = (scenario, days)
    return cached[1]


def candidates(
    scenario: Scenario,
    grid: Grid,
    blocked: dict[str, dict[date, set[int]]],
    demand: Demand,
    days: list[date] | None = None,
) -> dict[date, list[int]]:
    """The days and start slots where every rule about this event alone holds."""
    if demand.venues == ("",):  # needs a venue, and none of the cohort's seats everyone
        return {}
    working = _working_days(scenario)
    group_days = scenario.settings.calendar.group_weekdays
    length = grid.slots(demand.session)
    out: dict[date, list[int]] = {}
    for day in grid.weekdays(demand.session.month) if days is None else days:
        weekday = day.strftime("%a")
        if demand.session.kind == "group" and weekday not in group_days:
            continue
        if any(weekday not in working.get(p, (weekday,)) for p in demand.attendees):
            continue
        busy: set[int] = set()
        for person in demand.attendees:
            busy |= blocked.get(person, {}).get(day, set())
        starts = [
            s for s in range(grid.per_day - length + 1) if not busy & set(range(s, s + length))
        ]
        if demand.venues and demand.venues != ("",):
            starts = [
                s
                for s in starts
                if any(
                    not blocked.get(v, {}).get(day, set()) & set(range(s, s + length))
                    for v in demand.venues
                )
            ]
        if starts:
            out[day] = starts
    return out


def why_no_time(scenario: Scenario, grid: Grid, blocked, demand: Demand) -> str:
    """Plain words for an event with no candidate day or start at all."""
    session = demand.session
    first, _ = month_bounds(scenario, session.month)
    who = f"cohort {demand.cohort_id}" + (
        f", {demand.participant_id}" if demand.participant_id else ""
    )
    head = f"{who}, month {session.month} ({first:%B %Y}): {session.session_key} '{session.title}'"
    days = grid.weekdays(session.month)
    steps = [f"{len(days)} weekdays are not bank holidays"]
    if session.kind == "group":
        allowed = scenario.settings.calendar.group_weekdays
        days = [d for d in days if d.strftime("%a") in allowed]
        steps.append(f"{len(days)} of them are {'/'.join(allowed)}")
    working = _working_days(scenario)
    part_time = sorted(p for p in demand.attendees if p in working and len(working[p]) < 5)
    days = [
        d
        for d in days
        if all(
            d.strftime("%a") in working.get(p, ("Mon", "Tue", "Wed", "Thu", "Fri"))
            for p in demand.attendees
        )
    ]
    people = len(demand.members)
    steps.append(
        f"{len(days)} are working days of all {people} participant{'s' * (people != 1)}"
        + (f" and the coach {demand.coach_id}" if demand.coach_id else "")
        + (f" (part-time: {', '.join(part_time)})" if part_time else "")
    )
    free = candidates(scenario, grid, blocked, demand, days)
    if demand.venues == ("",):
        venues = sorted(scenario.venues, key=lambda v: -v.capacity)
        best = ", ".join(f"{v.venue_id} seats {v.capacity}" for v in venues[:3]) or "no venues"
        steps.append(f"but no venue of the cohort has ≥ {demand.seats} seats ({best})")
    else:
        away = sorted({p for p in demand.attendees for d in days if blocked.get(p, {}).get(d)})
        steps.append(
            f"{len(free)} are free for everyone attending"
            + (f" (unavailable: {', '.join(away)})" if away else "")
            + (f" and a venue with ≥ {demand.seats} seats" if demand.venues else "")
        )
    return f"{head}: no possible time — " + "; ".join(steps)


# --------------------------------------------------------------------------- the model


@dataclass
class Placed:
    demand: Demand
    day: date
    slot: int
    venue: str | None


class CalendarModel:
    """The CP-SAT model of some events (the group-session skeleton of every month, or one
    month's coaching and reviews), its variables in one typed holder.

    ``placed`` events are fixed. The caller passes ``options`` already cleared of every time
    that clashes with them (``room_left``), so the hard rules here only link the free events;
    only the venues' fixed bookings enter as fixed intervals, since a venue is chosen per event.
    With ``goals`` false the model has no soft goals (a feasibility check).
    """

    def __init__(
        self,
        scenario: Scenario,
        grid: Grid,
        blocked: dict[str, dict[date, set[int]]],
        demands: list[Demand],
        options: dict[str, dict[date, list[int]]],
        placed: Sequence[Placed],
        pins: dict[str, Placed],
        *,
        goals: bool = True,
    ):
        self.scenario, self.grid, self.blocked = scenario, grid, blocked
        self.demands, self.options, self.placed, self.pins = demands, options, placed, pins
        self.months = sorted({d.session.month for d in demands})
        self.model = cp_model.CpModel()
        self.day: dict[str, dict[date, cp_model.IntVar]] = {}
        self.start: dict[str, cp_model.IntVar] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self.venue: dict[str, dict[str, cp_model.IntVar]] = {}
        self.venue_interval: dict[str, dict[str, cp_model.IntervalVar]] = {}
        self.penalties: dict[str, list[cp_model.LinearExprT]] = defaultdict(list)
        self.moved: list[cp_model.IntVar] = []
        self.greedy: dict[str, tuple[int, str | None]] = {}  # warm start: event -> start, venue
        self.suggested: dict[str, Placed] = {}  # where the warm start tries first
        # The warm start as a full solution and its objective: interleaved search does not
        # always pick a hint up, so the result is never worse than this.
        self.incumbent: tuple[list[int], int] | None = None
        for d in demands:
            self._add_event(d)
        self.add_no_double_booking()
        self.add_venue_bookings()
        self.add_after_order()
        self.add_group_gap()
        if goals:
            self.add_group_rhythm()
            self.add_coaching_away_from_workshops()
            self.add_reviews_late_and_after_workshop()
            self.add_even_coach_load()
            self.add_even_venue_load()
        self.add_keep_previous_times()

    def _add_event(self, d: Demand) -> None:
        eid, length = d.event_id, self.grid.slots(d.session)
        days = self.options[eid]
        values = sorted(self.grid.absolute(day, s) for day, starts in days.items() for s in starts)
        start = self.model.new_int_var_from_domain(
            cp_model.Domain.from_values(values), f"start[{eid}]"
        )
        self.start[eid] = start
        self.interval[eid] = self.model.new_fixed_size_interval_var(start, length, f"at[{eid}]")
        self.day[eid] = {}
        for day in sorted(days):
            b = self.model.new_bool_var(f"day[{eid},{day}]")
            self.day[eid][day] = b
            base = self.grid.absolute(day, 0)
            self.model.add(start >= base + min(days[day])).only_enforce_if(b)
            self.model.add(start <= base + max(days[day])).only_enforce_if(b)
        self.model.add_exactly_one(self.day[eid].values())
        if d.venues:
            self.venue[eid] = {}
            self.venue_interval[eid] = {}
            for v in d.venues:
                x = self.model.new_bool_var(f"venue[{eid},{v}]")
                self.venue[eid][v] = x
                self.venue_interval[eid][v] = self.model.new_optional_fixed_size_interval_var(
                    start, length, x, f"at[{eid},{v}]"
                )
            self.model.add_exactly_one(self.venue[eid].values())

    def weekday(self, eid: str, weekday: int) -> cp_model.LinearExprT:
        return sum(b for day, b in self.day[eid].items() if day.weekday() == weekday)

    def week(self, eid: str, week: tuple[int, int]) -> cp_model.LinearExprT:
        return sum(b for day, b in self.day[eid].items() if day.isocalendar()[:2] == week)

    def day_number(self, eid: str) -> cp_model.LinearExprT:
        return sum(b * self.grid.day_number(day) for day, b in self.day[eid].items())

    def time_of_day(self, eid: str) -> cp_model.LinearExprT:
        return self.start[eid] - sum(
            b * self.grid.absolute(day, 0) for day, b in self.day[eid].items()
        )

    # -- hard rules

    def add_no_double_booking(self) -> None:
        """No participant, coach, facilitator, manager or named attendee in two events at once.
        People who attend exactly the same events (a cohort's participants at its workshops)
        share one constraint."""
        per_person: dict[str, list[str]] = defaultdict(list)
        for d in self.demands:
            for person in d.attendees:
                per_person[person].append(d.event_id)
        for events in sorted({tuple(e) for e in per_person.values() if len(e) > 1}):
            self.model.add_no_overlap([self.interval[e] for e in events])

    def add_venue_bookings(self) -> None:
        """One venue per group session and cohort event; a venue hosts one event at a time
        and none while it is closed or booked by a fixed event."""
        per_venue: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        for options in self.venue_interval.values():
            for v, interval in options.items():
                per_venue[v].append(interval)
        spans = [month_bounds(self.scenario, m) for m in self.months]
        for v in sorted(per_venue):
            closed = [
                self.model.new_fixed_size_interval_var(
                    self.grid.absolute(day, s), 1, f"closed[{v},{day},{s}]"
                )
                for day, slots in sorted(self.blocked.get(v, {}).items())
                if any(first <= day <= last for first, last in spans)
                for s in sorted(slots)
            ]
            booked = [
                self.model.new_fixed_size_interval_var(
                    self.grid.absolute(p.day, p.slot),
                    self.grid.slots(p.demand.session),
                    f"booked[{v},{p.demand.event_id}]",
                )
                for p in self.placed
                if p.venue == v and p.demand.session.month in self.months
            ]
            if len(per_venue[v]) + len(closed) + len(booked) > 1:
                self.model.add_no_overlap(per_venue[v] + closed + booked)

    def add_after_order(self) -> None:
        """A session with `after` starts once the same participant's/cohort's instance ended
        (fixed instances are already in the options; one in an earlier month always has)."""
        by_key: dict[tuple[str, str], list[Demand]] = defaultdict(list)
        for d in self.demands:
            by_key[d.cohort_id, d.session.session_key].append(d)
        for d in self.demands:
            if not d.session.after:
                continue
            for other in by_key.get((d.cohort_id, d.session.after), []):
                if set(other.members) & set(d.members):
                    self.model.add(
                        self.start[d.event_id] >= self.interval[other.event_id].end_expr()
                    )

    def add_group_gap(self) -> None:
        """Group sessions of one cohort at least min_days apart: in either order within a
        month, in month order across months (fixed sessions are already in the options)."""
        gap = self.scenario.settings.calendar.min_days_between_group_sessions
        groups: dict[str, list[Demand]] = defaultdict(list)
        for d in self.demands:
            if d.session.kind == "group":
                groups[d.cohort_id].append(d)
        for mine in groups.values():
            mine.sort(key=lambda d: d.session.month)
            for i, a in enumerate(mine):
                for b in mine[i + 1 :]:
                    da, db = self.day_number(a.event_id), self.day_number(b.event_id)
                    if a.session.month != b.session.month:
                        earliest = min(self.options[b.event_id])
                        if (earliest - max(self.options[a.event_id])).days >= gap:
                            continue  # far enough apart whatever the days
                        self.model.add(db >= da + gap)
                        continue
                    first = self.model.new_bool_var(f"first[{a.event_id},{b.event_id}]")
                    self.model.add(db >= da + gap).only_enforce_if(first)
                    self.model.add(da >= db + gap).only_enforce_if(~first)

    # -- soft goals

    def add_group_rhythm(self) -> None:
        """Each cohort's group sessions on the weekday and start time of its first one."""
        reference = _rhythm_references(self.scenario)
        fixed = {p.demand.event_id: (p.day.weekday(), p.slot) for p in self.placed}
        for d in self.demands:
            if d.session.kind != "group":
                continue
            ref = f"{d.cohort_id}/{reference}"
            if ref == d.event_id:
                continue
            eid = d.event_id
            off_day = self.model.new_bool_var(f"off_weekday[{eid}]")
            off_time = self.model.new_bool_var(f"off_time[{eid}]")
            pattern = fixed.get(ref) or (_pattern(self.options[ref]) if ref in self.day else None)
            if pattern:  # the reference's weekday and time are known: linear terms
                weekday, slot = pattern
                self.model.add(self.weekday(eid, weekday) == 1).only_enforce_if(~off_day)
                self.model.add(self.weekday(eid, weekday) == 0).only_enforce_if(off_day)
                self.model.add(self.time_of_day(eid) == slot).only_enforce_if(~off_time)
                self.model.add(self.time_of_day(eid) != slot).only_enforce_if(off_time)
            elif ref in self.day:
                for w in range(5):
                    self.model.add(off_day >= self.weekday(ref, w) - self.weekday(eid, w))
                    self.model.add(
                        self.weekday(ref, w) + self.weekday(eid, w) <= 1
                    ).only_enforce_if(off_day)
                self.model.add(self.time_of_day(eid) == self.time_of_day(ref)).only_enforce_if(
                    ~off_time
                )
                self.model.add(self.time_of_day(eid) != self.time_of_day(ref)).only_enforce_if(
                    off_time
                )
            else:
                continue
            self.penalties["rhythm_weekday"].append(off_day)
            self.penalties["rhythm_time"].append(off_time)

    def add_coaching_away_from_workshops(self) -> None:
        """A participant's coaching not in the ISO week of one of their cohort's group sessions."""
        fixed_groups = {
            (p.demand.cohort_id, p.day.isocalendar()[:2])
            for p in self.placed
            if p.demand.session.kind == "group"
        }
        coached = {d.cohort_id for d in self.demands if d.session.kind == "coaching"}
        coached |= {p.demand.cohort_id for p in self.placed if p.demand.session.kind == "coaching"}
        days_in_week: dict[tuple[str, tuple[int, int]], list[cp_model.IntVar]] = defaultdict(list)
        for d in self.demands:
            if d.session.kind != "group" or d.cohort_id not in coached:
                continue
            for day, b in self.day[d.event_id].items():
                key = (d.cohort_id, day.isocalendar()[:2])
                if key not in fixed_groups:
                    days_in_week[key].append(b)
        busy: dict[tuple[str, tuple[int, int]], cp_model.IntVar] = {}
        for key, bools in sorted(days_in_week.items()):
            busy[key] = self.model.new_bool_var(f"workshop_week[{key}]")
            self.model.add_max_equality(busy[key], bools)
        for d in self.demands:
            if d.session.kind != "coaching":
                continue
            weeks = sorted({day.isocalendar()[:2] for day in self.day[d.event_id]})
            # Weeks with a fixed workshop: a linear count (one day is chosen, so at most 1).
            fixed_clash = sum(
                self.week(d.event_id, w) for w in weeks if (d.cohort_id, w) in fixed_groups
            )
            open_weeks = [w for w in weeks if (d.cohort_id, w) in busy]
            if not open_weeks:
                self.penalties["coaching_in_workshop_week"].append(fixed_clash)
                continue
            pen = self.model.new_bool_var(f"coaching_in_workshop_week[{d.event_id}]")
            clashes: list[cp_model.LinearExprT] = [fixed_clash]
            for week in open_weeks:
                both = self.model.new_bool_var(f"coaching_week[{d.event_id},{week}]")
                self.model.add(both <= self.week(d.event_id, week))
                self.model.add(both <= busy[d.cohort_id, week])
                self.model.add(both >= self.week(d.event_id, week) + busy[d.cohort_id, week] - 1)
                clashes.append(both)
            for clash in clashes:
                self.model.add(pen >= clash)
            self.model.add(pen <= sum(clashes))
            self.penalties["coaching_in_workshop_week"].append(pen)
        # Coaching already fixed, in a week one of these workshops may take.
        for p in self.placed:
            key = (p.demand.cohort_id, p.day.isocalendar()[:2])
            if p.demand.session.kind == "coaching" and key in busy:
                self.penalties["coaching_in_workshop_week"].append(busy[key])

    def add_reviews_late_and_after_workshop(self) -> None:
        """Reviews late in their month, and after that month's workshop has ended."""
        groups: dict[tuple[str, int], list[Demand]] = defaultdict(list)
        for d in self.demands:
            if d.session.kind == "group":
                groups[d.cohort_id, d.session.month].append(d)
        fixed_ends: dict[tuple[str, int], list[int]] = defaultdict(list)
        for p in self.placed:
            if p.demand.session.kind == "group":
                end = self.grid.absolute(p.day, p.slot) + self.grid.slots(p.demand.session)
                fixed_ends[p.demand.cohort_id, p.demand.session.month].append(end)
        for d in self.demands:
            if d.session.kind != "review":
                continue
            _, last = month_bounds(self.scenario, d.session.month)
            self.penalties["review_days_before_month_end"].append(
                sum(b * (last - day).days for day, b in self.day[d.event_id].items())
            )
            key = (d.cohort_id, d.session.month)
            if not groups[key] and not fixed_ends[key]:
                continue
            early = self.model.new_bool_var(f"review_before_workshop[{d.event_id}]")
            start = self.start[d.event_id]
            overlaps = []
            if fixed_ends[key]:
                end = max(fixed_ends[key])
                self.model.add(start >= end).only_enforce_if(~early)
                h = self.model.new_bool_var(f"review_before_fixed[{d.event_id}]")
                self.model.add(start < end).only_enforce_if(h)
                overlaps.append(h)
            for g in groups[key]:
                self.model.add(start >= self.interval[g.event_id].end_expr()).only_enforce_if(
                    ~early
                )
                h = self.model.new_bool_var(f"review_before[{d.event_id},{g.event_id}]")
                self.model.add(start < self.interval[g.event_id].end_expr()).only_enforce_if(h)
                overlaps.append(h)
            self.model.add(early <= sum(overlaps))
            self.penalties["review_before_workshop"].append(early)

    def add_even_coach_load(self) -> None:
        """A coach's sessions of a month spread evenly over its weeks."""
        per_coach: dict[tuple[str, int], list[str]] = defaultdict(list)
        for d in self.demands:
            if d.coach_id:
                per_coach[d.coach_id, d.session.month].append(d.event_id)
        for (coach_id, month), mine in sorted(per_coach.items()):
            weeks = sorted(weeks_of_month(self.scenario, month))
            share = math.ceil(len(mine) / len(weeks))
            for week in weeks:
                load = sum(self.week(eid, week) for eid in mine)
                over = self.model.new_int_var(0, len(mine), f"coach_overload[{coach_id},{week}]")
                self.model.add_max_equality(over, [load - share, 0])
                self.penalties["coach_week_overload"].append(over)

    def add_even_venue_load(self) -> None:
        """A venue booked at most once a week, where the cohorts allow."""
        per_venue: dict[tuple[str, int], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
        for d in self.demands:
            for v, x in self.venue.get(d.event_id, {}).items():
                per_venue[v, d.session.month].append((d.event_id, x))
        fixed: dict[tuple[str, int, tuple[int, int]], int] = defaultdict(int)
        for p in self.placed:
            if p.venue:
                fixed[p.venue, p.demand.session.month, p.day.isocalendar()[:2]] += 1
        for (v, month), mine in sorted(per_venue.items()):
            for week in sorted(weeks_of_month(self.scenario, month)):
                here = []
                for eid, x in mine:
                    w = self.week(eid, week)
                    if isinstance(w, int):  # no candidate day in that week
                        continue
                    z = self.model.new_bool_var(f"venue_week[{eid},{v},{week}]")
                    self.model.add(z >= x + w - 1)
                    self.model.add(z <= x)
                    self.model.add(z <= w)
                    here.append(z)
                already = fixed[v, month, week]
                if len(here) + already < 2:
                    continue
                over = self.model.new_int_var(
                    0, len(here) + already, f"venue_overload[{v},{month},{week}]"
                )
                self.model.add_max_equality(over, [sum(here) + already - 1, 0])
                self.penalties["venue_week_overload"].append(over)

    def add_keep_previous_times(self) -> None:
        """Re-planning: an event keeps its earlier time and venue unless it must move."""
        for d in self.demands:
            pin = self.pins.get(d.event_id)
            if pin is None:
                continue
            moved = self.model.new_bool_var(f"moved[{d.event_id}]")
            at = self.grid.absolute(pin.day, pin.slot)
            self.model.add(self.start[d.event_id] == at).only_enforce_if(~moved)
            # Most events stay put: start the search from the old calendar.
            self.model.add_hint(self.start[d.event_id], at)
            self.model.add_hint(moved, 0)
            if pin.venue and d.event_id in self.venue:
                self.model.add(self.venue[d.event_id][pin.venue] == 1).only_enforce_if(~moved)
            self.moved.append(moved)

    def add_greedy_hint(self) -> int:
        """Warm start: place events one by one at the first free time (groups first, in month
        order, on the cohort's rhythm; reviews late in the month; coaching spread over it).
        Returns how many were placed."""
        grid = self.grid
        busy: dict[str, set[int]] = defaultdict(set)
        for v, days in self.blocked.items():
            for day, slots in days.items():
                busy[v].update(grid.absolute(day, s) for s in slots)
        for p in self.placed:
            if p.demand.session.month in self.months:
                at = grid.absolute(p.day, p.slot)
                span = range(at, at + grid.slots(p.demand.session))
                for who in (*p.demand.attendees, *([p.venue] if p.venue else [])):
                    busy[who].update(span)
        ends: dict[str, int] = {}
        group_days: dict[str, list[date]] = defaultdict(list)
        gap = self.scenario.settings.calendar.min_days_between_group_sessions
        rank = {"group": 0, "cohort_event": 0, "review": 1, "coaching": 2}
        order = sorted(
            enumerate(self.demands),
            key=lambda p: (
                rank[p[1].session.kind],
                p[1].session.month,
                len(self.options[p[1].event_id]),
                p[0],
            ),
        )
        reference = _rhythm_references(self.scenario)
        rhythm = {  # cohort -> (weekday, slot) of its first group session, once placed
            p.demand.cohort_id: (p.day.weekday(), p.slot)
            for p in self.placed
            if p.demand.session.session_key == reference
        }
        workshop_weeks: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for p in self.placed:
            if p.demand.session.kind == "group":
                workshop_weeks[p.demand.cohort_id].add(p.day.isocalendar()[:2])
        coach_weeks: dict[str | None, dict[tuple[int, int], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        by_key: dict[tuple[str, str], list[Demand]] = defaultdict(list)
        for d in self.demands:
            by_key[d.cohort_id, d.session.session_key].append(d)
        placed = 0
        for index, d in order:
            days = sorted(self.options[d.event_id])
            if d.session.kind == "review":
                days.reverse()
            elif d.session.kind == "coaching" and days:
                turn = index % len(days)
                days = days[turn:] + days[:turn]
                weeks = workshop_weeks[d.cohort_id] | {
                    day.isocalendar()[:2] for day in group_days[d.cohort_id]
                }
                load = coach_weeks[d.coach_id]
                days.sort(
                    key=lambda day: (day.isocalendar()[:2] in weeks, load[day.isocalendar()[:2]])
                )
            elif d.session.kind == "group" and rhythm.get(d.cohort_id):
                weekday = rhythm[d.cohort_id][0]
                days.sort(key=lambda day: day.weekday() != weekday)
            hint = self.suggested.get(d.event_id)
            if hint is not None and hint.day in days:
                days.remove(hint.day)
                days.insert(0, hint.day)
            earliest = max(
                (
                    ends[o.event_id]
                    for o in by_key.get((d.cohort_id, d.session.after or ""), [])
                    if set(o.members) & set(d.members) and o.event_id in ends
                ),
                default=0,
            )
            length = grid.slots(d.session)
            found = None
            for day in days:
                if d.session.kind == "group" and any(
                    abs((day - other).days) < gap for other in group_days[d.cohort_id]
                ):
                    continue
                slots = list(self.options[d.event_id][day])
                if d.session.kind == "group" and rhythm.get(d.cohort_id):
                    slots.sort(key=lambda slot: slot != rhythm[d.cohort_id][1])
                if hint is not None and day == hint.day:
                    slots.sort(key=lambda slot: slot != hint.slot)
                for slot in slots:
                    start = grid.absolute(day, slot)
                    span = set(range(start, start + length))
                    if start < earliest or any(busy[p] & span for p in d.attendees):
                        continue
                    free = [v for v in d.venues if not busy[v] & span]
                    if hint is not None and hint.venue in free:
                        free.remove(hint.venue)
                        free.insert(0, hint.venue)
                    venue = next(iter(free), None)
                    if d.venues and venue is None:
                        continue
                    found = (day, start, span, venue)
                    break
                if found:
                    break
            if found is None:
                continue
            day, start, span, venue = found
            for p in (*d.attendees, *([venue] if venue else [])):
                busy[p] |= span
            ends[d.event_id] = start + length
            if d.coach_id:
                coach_weeks[d.coach_id][day.isocalendar()[:2]] += 1
            if d.session.kind == "group":
                group_days[d.cohort_id].append(day)
                if d.session.session_key == reference:
                    rhythm[d.cohort_id] = (day.weekday(), start - grid.absolute(day, 0))
            self.greedy[d.event_id] = (start, venue)
            self.model.add_hint(self.start[d.event_id], start)
            for other, b in self.day[d.event_id].items():
                self.model.add_hint(b, int(other == day))
            for v, x in self.venue.get(d.event_id, {}).items():
                self.model.add_hint(x, int(v == venue))
            placed += 1
        return placed

    def soft(self) -> cp_model.LinearExprT:
        return sum(WEIGHTS[name] * sum(terms) for name, terms in self.penalties.items())

    def extract(self, value: Callable[[cp_model.IntVar], int]) -> list[Placed]:
        out = []
        for d in self.demands:
            day, slot = self.grid.day_of(value(self.start[d.event_id]))
            venue = None
            if d.event_id in self.venue:
                venue = next(v for v, x in self.venue[d.event_id].items() if value(x))
            out.append(Placed(d, day, slot, venue))
        return out


def _pattern(options: dict[date, list[int]]) -> tuple[int, int] | None:
    """The weekday and start slot every option shares, if they all share one."""
    pairs = {(day.weekday(), s) for day, starts in options.items() for s in starts}
    return next(iter(pairs)) if len(pairs) == 1 else None


def _rhythm_references(scenario: Scenario) -> str | None:
    """The session that sets a cohort's rhythm: its first group session in programme order."""
    groups = [
        (s.month, i, s.session_key) for i, s in enumerate(scenario.programme) if s.kind == "group"
    ]
    return min(groups)[2] if groups else None


def room_left(
    scenario: Scenario,
    grid: Grid,
    demands: Sequence[Demand],
    options: dict[str, dict[date, list[int]]],
    placed: Sequence[Placed],
) -> dict[str, dict[date, list[int]]]:
    """Each demand's options without the times that break a hard rule against a fixed event:
    an attendee already busy, every venue of the event booked, `after` order, the group gap.
    Exact, so the model needs no constraint against fixed events (venues aside)."""
    gap = scenario.settings.calendar.min_days_between_group_sessions
    months = {d.session.month for d in demands}
    busy: dict[str, set[int]] = defaultdict(set)
    group_days: dict[str, list[date]] = defaultdict(list)
    ends: dict[tuple[str, str], list[tuple[set[str], int, int]]] = defaultdict(list)
    starts_after: dict[tuple[str, str], list[tuple[set[str], int, int]]] = defaultdict(list)
    for p in placed:
        d = p.demand
        at = grid.absolute(p.day, p.slot)
        if d.session.month in months:
            for who in (*d.attendees, *([p.venue] if p.venue else [])):
                busy[who].update(range(at, at + grid.slots(d.session)))
        if d.session.kind == "group":
            group_days[d.cohort_id].append(p.day)
        ends[d.cohort_id, d.session.session_key].append(
            (set(d.members), at, at + grid.slots(d.session))
        )
        if d.session.after:
            starts_after[d.cohort_id, d.session.after].append((set(d.members), at, 0))
    out: dict[str, dict[date, list[int]]] = {}
    for d in demands:
        length = grid.slots(d.session)
        members = set(d.members)
        # `after`: a fixed earlier session must have ended; a fixed later one not yet begun.
        earliest = max(
            (
                end
                for who, _, end in ends.get((d.cohort_id, d.session.after or ""), [])
                if who & members
            ),
            default=0,
        )
        latest_end = min(
            (
                at
                for who, at, _ in starts_after.get((d.cohort_id, d.session.session_key), [])
                if who & members
            ),
            default=None,
        )
        people = [busy[p] for p in d.attendees if p in busy]
        venues = [busy.get(v, set()) for v in d.venues if v]
        mine: dict[date, list[int]] = {}
        for day, starts in sorted(options[d.event_id].items()):
            if d.session.kind == "group" and any(
                abs((day - other).days) < gap for other in group_days[d.cohort_id]
            ):
                continue
            base = grid.absolute(day, 0)
            free = []
            for s in starts:
                begin = base + s
                if begin < earliest or (latest_end is not None and begin + length > latest_end):
                    continue
                span = range(begin, begin + length)
                if any(not taken.isdisjoint(span) for taken in people):
                    continue
                if venues and all(not taken.isdisjoint(span) for taken in venues):
                    continue
                free.append(s)
            if free:
                mine[day] = free
        out[d.event_id] = mine
    return out


# --------------------------------------------------------------------------- search effort


# CP-SAT deterministic time (its own work counter, the same on every machine and load) per
# event of a model. Budgets come from the model alone, so a run is reproducible byte for byte.
SKELETON_EFFORT = 0.002
FILL_EFFORT = 0.001
MIN_EFFORT = 0.1
# Independent groups of events are solved as separate models of about this many events.
CHUNK = 150


class Search:
    """Every CP-SAT call of one schedule(): interleaved search on a fixed number of workers,
    stopped by deterministic time, so the result never depends on the wall clock. The wall
    clock (the caller's time limit) is only a safety net; ``wall_clock_stops`` counts the
    solves it cut short, after which the result may differ between runs."""

    def __init__(self, workers: int, time_limit: float, began: float):
        self.workers = workers
        self.deadline = began + time_limit
        self.wall_clock_stops = 0

    def solve(self, model: cp_model.CpModel, effort: float) -> tuple[cp_model.CpSolver, int]:
        solver = cp_sat(self.workers, max(1.0, self.deadline - time.monotonic()))
        solver.parameters.max_deterministic_time = effort
        status = solver.solve(model)
        stopped = status in (cp_model.FEASIBLE, cp_model.UNKNOWN)
        if stopped and solver.response_proto.deterministic_time < effort:
            self.wall_clock_stops += 1
        return solver, status


@dataclass
class Part:
    """A solved part of the calendar: its placements and the bound CP-SAT proved."""

    placed: list[Placed]
    bound: int
    optimal: bool


def solve_part(
    scenario: Scenario,
    grid: Grid,
    blocked: dict[str, dict[date, set[int]]],
    demands: list[Demand],
    options: dict[str, dict[date, list[int]]],
    placed: Sequence[Placed],
    pins: dict[str, Placed],
    search: Search,
    effort: float,
    *,
    goals: bool = True,
    suggested: dict[str, Placed] | None = None,
    escalate: bool = True,
) -> Part | None:
    """Place ``demands`` around the fixed ``placed`` events, fewest moved pins first, then the
    soft goals. None when proven impossible around those fixed events.

    Events that share no attendee and no venue share no rule or goal either, so each group of
    linked events (e.g. one council's cohorts, venues and coaches) is its own, smaller model;
    ``effort`` is per event."""
    mine = room_left(scenario, grid, demands, options, placed)
    if any(not mine[d.event_id] for d in demands):
        return None
    whole = Part([], 0, True)
    for linked in _linked(demands):
        part = _solve_linked(
            scenario,
            grid,
            blocked,
            linked,
            mine,
            placed,
            pins,
            search,
            effort * len(linked),
            goals,
            suggested or {},
            escalate,
        )
        if part is None:
            return None
        whole = Part(
            whole.placed + part.placed, whole.bound + part.bound, whole.optimal and part.optimal
        )
    return whole


def _linked(demands: Sequence[Demand]) -> list[list[Demand]]:
    """The demands in groups linked by a shared attendee or candidate venue, in input order."""
    parent = list(range(len(demands)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, d in enumerate(demands):
        for key in (*d.attendees, *(f"venue:{v}" for v in d.venues if v)):
            if key in first:
                parent[root(i)] = root(first[key])
            else:
                first[key] = i
    groups: dict[int, list[Demand]] = defaultdict(list)
    for i, d in enumerate(demands):
        groups[root(i)].append(d)
    # Tiny groups (one coach's participants) cost more in model overhead than they save:
    # solve them together, in order, up to a modest size.
    chunks: list[list[Demand]] = []
    for group in groups.values():
        if chunks and len(chunks[-1]) < CHUNK:
            chunks[-1].extend(group)
        else:
            chunks.append(list(group))
    return chunks


def _solve_linked(
    scenario,
    grid,
    blocked,
    demands,
    mine,
    placed,
    pins,
    search,
    effort,
    goals,
    suggested,
    escalate=True,
):
    if pins and _pins_hold(grid, demands, mine, pins):
        # Keeping every lawful pin is the first level and it fixes every event here: copy
        # them across instead of building and solving a model (re-plans touch few parts).
        return Part([pins[d.event_id] for d in demands], 0, False)
    m = CalendarModel(scenario, grid, blocked, demands, mine, placed, pins, goals=goals)
    m.suggested = suggested
    if not m.moved and m.add_greedy_hint() == len(demands):
        _complete_hint(m, search)
    optimal = True
    if m.moved and not _keep_every_pin(m, search, effort / 2):
        # Some lawful pin must give way: move as few as possible.
        m.model.minimize(sum(m.moved))
        solver, status = search.solve(m.model, effort / 2)
        if status == cp_model.INFEASIBLE:
            return None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _out_of_time(scenario, demands)
        m.model.add(sum(m.moved) <= round(solver.objective_value))
        optimal = status == cp_model.OPTIMAL
        m.model.clear_hints()
        for v in m.start.values():
            m.model.add_hint(v, solver.value(v))
    m.model.minimize(m.soft())
    solver, status = search.solve(m.model, effort)
    for _ in range(
        2 if escalate else 0
    ):  # nothing found, no warm start: a larger, still fixed, effort
        if status != cp_model.UNKNOWN or m.incumbent or len(m.greedy) == len(demands):
            break
        effort *= 4
        solver, status = search.solve(m.model, effort)
    if status == cp_model.INFEASIBLE:
        return None
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if m.incumbent and (not found or solver.objective_value > m.incumbent[1]):
        values = m.incumbent[0]
        bound = math.ceil(solver.best_objective_bound - 1e-6) if found else 0
        return Part(m.extract(lambda v: values[v.index]), bound, False)
    if status == cp_model.UNKNOWN and len(m.greedy) == len(demands):
        # No calendar within the effort, but the warm start is lawful: keep it.
        for eid, (start, venue) in sorted(m.greedy.items()):
            m.model.add(m.start[eid] == start)
            if venue:
                m.model.add(m.venue[eid][venue] == 1)
        solver, status = search.solve(m.model, MIN_EFFORT)
        status = cp_model.FEASIBLE if status == cp_model.OPTIMAL else status
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _out_of_time(scenario, demands)
    bound = math.ceil(solver.best_objective_bound - 1e-6)
    return Part(m.extract(solver.value), bound, optimal and status == cp_model.OPTIMAL)


def _out_of_time(scenario: Scenario, demands: Sequence[Demand]) -> Part:
    months = sorted({d.session.month for d in demands})
    first, _ = month_bounds(scenario, months[0])
    where = f"month {months[0]} ({first:%B %Y})" if len(months) == 1 else "the group sessions"
    raise InfeasibleError(
        "calendar",
        [f"{where}: the time limit ran out before a calendar was found; raise --time-limit"],
    )


def _pins_hold(grid: Grid, demands: Sequence[Demand], options, pins: dict[str, Placed]) -> bool:
    """Every event has a lawful old placement, still free around the fixed events, and the old
    placements still never put one person or venue in two places (attendees may change)."""
    if not all(
        d.event_id in pins
        and pins[d.event_id].slot in options[d.event_id].get(pins[d.event_id].day, ())
        for d in demands
    ):
        return False
    return not check_no_double_booking([_event(grid, pins[d.event_id]) for d in demands])


def _keep_every_pin(m: CalendarModel, search: Search, effort: float) -> bool:
    """Re-planning, first try: every event whose old time is still lawful stays exactly there
    and only the rest is placed. Small and fast; when it works, no pinned event moves, which is
    the fewest possible, and the soft search continues from there."""
    trial = m.model.clone()
    trial.clear_hints()
    for v in m.moved:
        trial.add(trial.get_bool_var_from_proto_index(v.index) == 0)
    solver, status = search.solve(trial, effort)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    m.model.add(sum(m.moved) == 0)
    m.model.clear_hints()
    for v in m.start.values():
        m.model.add_hint(v, solver.value(trial.get_int_var_from_proto_index(v.index)))
    return True


def _complete_hint(m: CalendarModel, search: Search) -> None:
    """Turn a complete warm start into a full hint (penalties included), so the solver starts
    from a calendar at once instead of repairing a partial one."""
    fixed = m.model.clone()
    for eid, (start, venue) in sorted(m.greedy.items()):
        fixed.add(fixed.get_int_var_from_proto_index(m.start[eid].index) == start)
        if venue:
            fixed.add(fixed.get_bool_var_from_proto_index(m.venue[eid][venue].index) == 1)
    fixed.minimize(m.soft())
    solver, status = search.solve(fixed, MIN_EFFORT)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    values = list(solver.response_proto.solution)
    m.incumbent = (values, round(solver.objective_value))
    m.model.clear_hints()
    for index, value in enumerate(values):
        m.model.add_hint(m.model.get_int_var_from_proto_index(index), value)


# --------------------------------------------------------------------------- front door


def schedule(
    scenario: Scenario,
    selected: Sequence[Outcome],
    matches: Sequence[Match],
    *,
    time_limit: float = 60,
    workers: int = 2,
    previous: Sequence[Event] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalendarResult:
    """Place every session of the programme and report each soft goal with a lower bound.

    First the skeleton: every group session and cohort event of every month in one model, so
    the gap between a cohort's group sessions, its rhythm and the venues are decided with all
    months in view. Then each month's coaching and reviews around it; given the skeleton the
    months share nothing, so each is solved once. When a month cannot be filled around its
    skeleton, its group sessions are re-opened; when that fails too, the month is tried on its
    own (if impossible, no calendar exists) and then the whole programme as one model. An
    ``InfeasibleError`` is therefore only raised with a proof.

    ``previous`` (a re-plan): each event that can keep its earlier time and venue lawfully does;
    the fewest events move (level ``moved_events``), then the soft goals are optimised.

    Search effort is CP-SAT deterministic time derived from the size of each model, so the same
    input gives the same calendar on any machine load; ``time_limit`` is a safety net only (the
    report's notes say when it cut a search short). ``progress(done, total)`` is called after
    each part (the skeleton, then each month).

    Each level's bound is a lower bound over *every* lawful calendar (see ``soft_bounds``), not
    only over this method's; the status is ``optimal`` only when every level meets its bound.
    """
    began = time.monotonic()
    search = Search(workers, time_limit, began)
    grid = Grid(scenario)
    blocked = _blocked(scenario, grid)
    demands, causes = build_demands(scenario, selected, matches)
    if causes:
        raise InfeasibleError("calendar", causes)
    options = {d.event_id: candidates(scenario, grid, blocked, d) for d in demands}
    empty = [why_no_time(scenario, grid, blocked, d) for d in demands if not options[d.event_id]]
    keys = {s.session_key: s for s in scenario.programme}
    for s in scenario.programme:
        if s.after and s.after in keys and keys[s.after].month > s.month:
            empty.append(
                f"{s.session_key} (month {s.month}) must come after {s.after}, which is in month {keys[s.after].month}"
            )
    if empty:
        raise InfeasibleError("calendar", empty)

    pins = _lawful_pins(scenario, grid, demands, options, previous or ())
    skeleton = [d for d in demands if not d.session.per_participant]
    months = sorted({d.session.month for d in demands if d.session.per_participant})
    fills = {
        m: [d for d in demands if d.session.per_participant and d.session.month == m]
        for m in months
    }
    parts = 1 + len(months)

    def solve(
        mine: list[Demand], fixed: Sequence[Placed], scale: float, goals: bool = True, suggested=()
    ):
        return solve_part(
            scenario,
            grid,
            blocked,
            mine,
            options,
            fixed,
            pins,
            search,
            scale,
            goals=goals,
            suggested={p.demand.event_id: p for p in suggested},
        )

    _leave_room_for_followers(grid, demands, options)
    rhythm_choice = {} if previous is not None else _rhythm_choice(scenario, skeleton, options)
    frame = None
    if all(options[d.event_id] for d in skeleton):
        # First with each cohort's rhythm set in advance (its best weekday and time over the
        # candidates), which makes the skeleton far easier; if that leaves no calendar, freely.
        patterned = dict(options)
        for d in skeleton:
            if d.event_id in rhythm_choice:
                weekday, slot = rhythm_choice[d.event_id]
                patterned[d.event_id] = {
                    day: [slot]
                    for day, starts in options[d.event_id].items()
                    if day.weekday() == weekday and slot in starts
                }
        try:
            # An attempt only: if it finds nothing at the base effort, solving freely is
            # cheaper than a larger effort here (regional: 10 s, against 60 s and more).
            frame = solve_part(
                scenario,
                grid,
                blocked,
                skeleton,
                patterned,
                [],
                pins,
                search,
                SKELETON_EFFORT,
                escalate=False,
            )
        except InfeasibleError:  # out of effort with the rhythm fixed: try freely
            frame = None
        if frame is None:
            frame = solve(skeleton, [], SKELETON_EFFORT)
    if frame is None:
        raise InfeasibleError("calendar", _why_no_skeleton(scenario, skeleton, solve))
    skeleton_bound = frame.bound if previous is None else None
    frame_placed = frame.placed
    if progress:
        progress(1, parts)
    references = {f"{d.cohort_id}/{_rhythm_references(scenario)}" for d in skeleton}
    rebuilt = False
    while True:
        filled: dict[int, list[Placed]] = {}
        for done, month in enumerate(months, start=2):
            # Coaching and reviews around the skeleton. If they do not fit, the month's group
            # sessions are re-opened around every other month's (so the gap stays exact), first
            # all but each cohort's rhythm-setting session (later months follow it), then all.
            part = None
            for reopen in ("none", "non-reference", "all"):
                own = [
                    d
                    for d in skeleton
                    if d.session.month == month
                    and (reopen == "all" or (reopen != "none" and d.event_id not in references))
                ]
                fixed = [
                    *(p for p in frame_placed if p.demand not in own),
                    *(p for ps in filled.values() for p in ps),
                ]
                part = solve(own + fills[month], fixed, FILL_EFFORT, suggested=frame_placed)
                if part is not None:
                    break
            if part is None:
                break
            frame_placed = [
                *(
                    p
                    for p in frame_placed
                    if p.demand.session.month != month or p.demand not in own
                ),
                *(p for p in part.placed if not p.demand.session.per_participant),
            ]
            filled[month] = [p for p in part.placed if p.demand.session.per_participant]
            if progress:
                progress(done, parts)
        else:
            break
        # Month `month` has no calendar around the other months' group sessions.
        if (
            solve(
                [*(d for d in skeleton if d.session.month == month), *fills[month]],
                [],
                FILL_EFFORT,
                False,
            )
            is None
        ):
            raise InfeasibleError("calendar", [_why_month_full(scenario, month, fills[month])])
        whole = None if rebuilt else solve(demands, [], FILL_EFFORT, False)
        if whole is None:
            gap = scenario.settings.calendar.min_days_between_group_sessions
            first, _ = month_bounds(scenario, month)
            raise InfeasibleError(
                "calendar",
                [
                    f"month {month} ({first:%B %Y}): its sessions fit on their own, but not "
                    f"with every cohort's group sessions at least {gap} days apart across months"
                ],
            )
        # The whole programme fits: its skeleton leaves room in every month (it is a witness).
        frame_placed = [p for p in whole.placed if not p.demand.session.per_participant]
        rebuilt = True

    placed = [*frame_placed, *(p for ps in filled.values() for p in ps)]
    events = tuple(sorted((_event(grid, p) for p in placed), key=lambda e: (e.start, e.event_id)))
    values = soft_penalties(scenario, events)
    bounds = soft_bounds(scenario, demands, options, skeleton_bound)
    levels = []
    if previous is not None:
        before = {e.event_id: (e.start, e.venue_id) for e in previous}
        moved = sum(
            1
            for e in events
            if e.event_id in before and before[e.event_id] != (e.start, e.venue_id)
        )
        forced = sum(1 for d in demands if d.event_id in before and d.event_id not in pins)
        levels.append(Level(name="moved_events", sense="min", value=moved, bound=forced))
    levels += [
        Level(name=k, sense="min", value=WEIGHTS[k] * values[k], bound=bounds[k]) for k in WEIGHTS
    ]
    total = sum(WEIGHTS[k] * values[k] for k in WEIGHTS)
    levels.append(Level(name="soft_total", sense="min", value=total, bound=bounds["soft_total"]))
    notes = ()
    if search.wall_clock_stops:
        notes = (
            f"the time limit cut {search.wall_clock_stops} search(es) short: this calendar may "
            "differ between runs; raise --time-limit for a reproducible one",
        )
    report = StageReport(
        stage="calendar",
        status="optimal"
        if all(lv.value == lv.bound for lv in levels if lv.name in ("moved_events", "soft_total"))
        else "feasible",
        levels=tuple(levels),
        seconds=round(time.monotonic() - began, 3),
        notes=notes,
    )
    return CalendarResult(events=events, report=report)


def _rhythm_choice(
    scenario: Scenario, skeleton: Sequence[Demand], options
) -> dict[str, tuple[int, int]]:
    """Per cohort's first group session: the weekday and start slot that its other group
    sessions can best keep (each at its own best candidate), ties to the earliest."""
    reference = _rhythm_references(scenario)
    groups: dict[str, list[Demand]] = defaultdict(list)
    for d in skeleton:
        if d.session.kind == "group":
            groups[d.cohort_id].append(d)
    choice = {}
    for cohort_id, mine in sorted(groups.items()):
        ref = f"{cohort_id}/{reference}"
        if ref not in options or not options[ref]:
            continue
        cost = _rhythm_costs(options, ref, [d for d in mine if d.event_id != ref])
        choice[ref] = min(sorted(cost), key=lambda pair: cost[pair])
    return choice


def _rhythm_costs(options, ref: str, others: Sequence[Demand]) -> dict[tuple[int, int], int]:
    """For each (weekday, slot) of the reference: the rhythm penalty if every other group
    session took its own best candidate against it."""
    w_day, w_time = WEIGHTS["rhythm_weekday"], WEIGHTS["rhythm_time"]
    seen = []
    for d in others:
        pairs = {(day.weekday(), s) for day, starts in options[d.event_id].items() for s in starts}
        seen.append((pairs, {p[0] for p in pairs}, {p[1] for p in pairs}))
    refs = {(day.weekday(), s) for day, starts in options[ref].items() for s in starts}
    return {
        (w, s): sum(
            0
            if (w, s) in pairs
            else min(
                w_time if w in wds else w_day + w_time, w_day if s in slots else w_day + w_time
            )
            for pairs, wds, slots in seen
        )
        for w, s in refs
    }


def _leave_room_for_followers(grid: Grid, demands: Sequence[Demand], options) -> None:
    """A group session or cohort event must end before the latest candidate start of every
    session that comes `after` it (e.g. a review after that month's workshop). Necessary for
    any calendar, so the skeleton stays a relaxation; without it the skeleton could put a
    workshop so late that the review has no time left."""
    latest: dict[tuple[str, str], list[tuple[set[str], int]]] = defaultdict(list)
    for d in demands:
        if d.session.after and options[d.event_id]:
            last = max(grid.absolute(day, max(s)) for day, s in options[d.event_id].items())
            latest[d.cohort_id, d.session.after].append((set(d.members), last))
    for d in demands:
        if d.session.per_participant:
            continue
        ends = [
            last
            for who, last in latest.get((d.cohort_id, d.session.session_key), [])
            if who & set(d.members)
        ]
        if not ends:
            continue
        limit = min(ends) - grid.slots(d.session)
        kept = {}
        for day, starts in options[d.event_id].items():
            ok = [s for s in starts if grid.absolute(day, s) <= limit]
            if ok:
                kept[day] = ok
        options[d.event_id] = kept


def _why_no_skeleton(scenario: Scenario, skeleton: list[Demand], solve) -> list[str]:
    """Coordinator words for group sessions and cohort events that cannot all be placed."""
    gap = scenario.settings.calendar.min_days_between_group_sessions
    causes = []
    for cohort_id in sorted({d.cohort_id for d in skeleton}):
        mine = [d for d in skeleton if d.cohort_id == cohort_id]
        if solve(mine, [], SKELETON_EFFORT, False) is None:
            keys = ", ".join(d.session.session_key for d in mine)
            causes.append(
                f"cohort {cohort_id}: its group sessions and cohort events ({keys}) cannot all be "
                f"placed on days everyone attends with group sessions at least {gap} days apart"
            )
    return causes or [
        "the cohorts' group sessions and cohort events fit one cohort at a time, but not all "
        "together: too few venues or shared attendees free at the same times"
    ]


def _why_month_full(scenario: Scenario, month: int, mine: list[Demand]) -> str:
    first, _ = month_bounds(scenario, month)
    load: dict[str, int] = defaultdict(int)
    for d in mine:
        for p in d.attendees:
            load[p] += d.session.duration_minutes
    busiest = sorted(load.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    names = ", ".join(f"{p} ({minutes // 60}h{minutes % 60:02d})" for p, minutes in busiest)
    return (
        f"month {month} ({first:%B %Y}): each of its sessions has a possible time on its own, "
        f"but they cannot all fit together without double-booking someone or a venue; "
        f"busiest: {names}"
    )


# --------------------------------------------------------------------------- lower bounds


def soft_bounds(
    scenario: Scenario,
    demands: Sequence[Demand],
    options: dict[str, dict[date, list[int]]],
    skeleton_bound: int | None,
) -> dict[str, int]:
    """Lower bounds on each weighted soft goal and on their total, valid for every calendar
    that obeys the hard rules (not only for calendars this method can find).

    Each goal's bound relaxes the calendar to what that goal sees, over each event's candidate
    times (``candidates``: the rules about the event alone):

    - rhythm: per cohort, the best weekday and start time for its first group session, every
      other group session at its own best candidate against it (no gap, venue or clash);
    - venue_week_overload: per month, bookings that cannot get a (venue, week) of their own
      (a bipartite matching of sessions to venue-weeks);
    - review_days_before_month_end: each review on its latest candidate day;
    - coach_week_overload: per coach and month, sessions that cannot fit the even weekly share
      (a capacitated matching of sessions to weeks);
    - coaching_in_workshop_week, review_before_workshop: 0.

    ``soft_total`` adds them up, taking for rhythm plus venues the larger of that sum and
    ``skeleton_bound`` (CP-SAT's proven bound of the skeleton model, whose group sessions and
    cohort events obey every hard rule among themselves and whose objective is exactly those
    two goals), so it is at most the optimum of the whole calendar problem.
    """
    by_kind: dict[str, list[Demand]] = defaultdict(list)
    for d in demands:
        by_kind[d.session.kind].append(d)
    bound = dict.fromkeys(WEIGHTS, 0)

    # rhythm: per cohort, the best reference (weekday, slot) of its first group session.
    reference = _rhythm_references(scenario)
    groups: dict[str, list[Demand]] = defaultdict(list)
    for d in by_kind["group"]:
        groups[d.cohort_id].append(d)
    rhythm_both = 0
    for cohort_id, mine in sorted(groups.items()):
        ref = f"{cohort_id}/{reference}"
        if ref not in options:
            continue
        others = [d for d in mine if d.event_id != ref]
        seen = []
        for d in others:
            pairs = {
                (day.weekday(), s) for day, starts in options[d.event_id].items() for s in starts
            }
            seen.append(({p[0] for p in pairs}, {p[1] for p in pairs}))
        refs = {(day.weekday(), s) for day, starts in options[ref].items() for s in starts}
        w_day, w_time = WEIGHTS["rhythm_weekday"], WEIGHTS["rhythm_time"]
        bound["rhythm_weekday"] += min(
            sum(w_day * (w not in wds) for wds, _ in seen) for w, _ in refs
        )
        bound["rhythm_time"] += min(
            sum(w_time * (s not in slots) for _, slots in seen) for _, s in refs
        )
        rhythm_both += min(_rhythm_costs(options, ref, others).values())

    # venues: per month, sessions that cannot each have a (venue, week) to themselves.
    venue_months: dict[int, list[list[tuple[str, tuple[int, int]]]]] = defaultdict(list)
    for d in demands:
        if d.venues and d.venues != ("",):
            weeks = sorted({day.isocalendar()[:2] for day in options[d.event_id]})
            venue_months[d.session.month].append([(v, w) for v in d.venues for w in weeks])
    bound["venue_week_overload"] = WEIGHTS["venue_week_overload"] * sum(
        len(choices) - _most_assigned(choices, 1) for choices in venue_months.values()
    )

    # reviews: each on its latest candidate day.
    for d in by_kind["review"]:
        _, last = month_bounds(scenario, d.session.month)
        bound["review_days_before_month_end"] += WEIGHTS["review_days_before_month_end"] * min(
            (last - day).days for day in options[d.event_id]
        )

    # coaches: per coach and month, sessions beyond the even share of every week they can use.
    coach_months: dict[tuple[str, int], list[list[tuple[int, int]]]] = defaultdict(list)
    for d in demands:
        if d.coach_id:
            weeks = sorted({day.isocalendar()[:2] for day in options[d.event_id]})
            coach_months[d.coach_id, d.session.month].append(weeks)
    for (_, month), choices in sorted(coach_months.items()):
        share = math.ceil(len(choices) / len(weeks_of_month(scenario, month)))
        bound["coach_week_overload"] += WEIGHTS["coach_week_overload"] * (
            len(choices) - _most_assigned(choices, share)
        )

    group_part = max(rhythm_both + bound["venue_week_overload"], skeleton_bound or 0)
    bound["soft_total"] = (
        group_part + bound["review_days_before_month_end"] + bound["coach_week_overload"]
    )
    return bound


def _most_assigned(choices: Sequence[Sequence], capacity: int) -> int:
    """How many items can each get one of their choices, a choice taking at most ``capacity``
    items (augmenting paths; the instances are a few dozen items)."""
    holders: dict[object, list[int]] = defaultdict(list)

    def place(item: int, seen: set) -> bool:
        for choice in choices[item]:
            if choice in seen:
                continue
            seen.add(choice)
            if len(holders[choice]) < capacity:
                holders[choice].append(item)
                return True
            for other in list(holders[choice]):
                if place(other, seen):
                    holders[choice].remove(other)
                    holders[choice].append(item)
                    return True
        return False

    return sum(place(item, set()) for item in range(len(choices)))


def _lawful_pins(scenario, grid, demands, options, previous: Sequence[Event]) -> dict[str, Placed]:
    """Previous placements that still obey every rule about their event alone."""
    by_id = {d.event_id: d for d in demands}
    pins = {}
    for e in previous:
        d = by_id.get(e.event_id)
        if d is None:
            continue
        local = e.start.astimezone(grid.zone).replace(tzinfo=None)
        day = local.date()
        minutes = local.hour * 60 + local.minute - grid.opens
        if minutes % grid.slot or minutes < 0:
            continue
        slot = minutes // grid.slot
        if slot not in options[d.event_id].get(day, []):
            continue
        if d.venues and (e.venue_id or "") not in d.venues:
            continue
        pins[d.event_id] = Placed(d, day, slot, e.venue_id)
    return pins


def _event(grid: Grid, p: Placed) -> Event:
    d = p.demand
    start = grid.moment(p.day, p.slot)
    return Event(
        event_id=d.event_id,
        session_key=d.session.session_key,
        title=d.session.title,
        kind=d.session.kind,
        cohort_id=d.cohort_id,
        start=start,
        end=start + timedelta(minutes=d.session.duration_minutes),
        venue_id=p.venue or None,
        attendee_ids=d.attendees,
    )


# --------------------------------------------------------------------------- csv and explain


def calendar_csv(events: Sequence[Event]) -> str:
    """calendar.csv: one row per event, sorted by start then event_id."""
    from ..io import csv_text

    rows = [
        (
            e.event_id,
            e.session_key,
            e.title,
            e.kind,
            e.cohort_id,
            e.start.isoformat(),
            e.end.isoformat(),
            e.venue_id or "",
            ";".join(sorted(e.attendee_ids)),
        )
        for e in sorted(events, key=lambda e: (e.start, e.event_id))
    ]
    return csv_text(CALENDAR_COLUMNS, rows)


def read_calendar_csv(path: str | Path) -> list[Event]:
    """Read calendar.csv back (e.g. the previous plan for a re-plan)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Event(
            event_id=r["event_id"],
            session_key=r["session_key"],
            title=r["title"],
            kind=r["kind"],  # type: ignore[arg-type]
            cohort_id=r["cohort_id"],
            start=datetime.fromisoformat(r["start"]),
            end=datetime.fromisoformat(r["end"]),
            venue_id=r["venue_id"] or None,
            attendee_ids=tuple(a for a in r["attendee_ids"].split(";") if a),
        )
        for r in rows
    ]


def explain_event(scenario: Scenario, events: Sequence[Event], event_id: str) -> str:
    """Why an event is at its time, and what blocks each other day of its month."""
    from ..checks import calendar as rules

    by_id = {e.event_id: e for e in events}
    if event_id not in by_id:
        return f"{event_id} is not on the calendar"
    event = by_id[event_id]
    grid = Grid(scenario)
    session = next(s for s in scenario.programme if s.session_key == event.session_key)
    local = event.start.astimezone(grid.zone)
    lines = [
        f"{event_id} ({session.title}) is on {local:%A %d %B %Y} at {local:%H:%M}"
        + (f" in {event.venue_id}" if event.venue_id else " (online)")
        + f", programme month {session.month}, with {len(event.attendee_ids)} attending."
    ]
    lines += _why_here(scenario, grid, events, event, session)
    lines.append("Other days of the month at the same time:")
    others = [e for e in events if e.event_id != event_id]
    first, last = month_bounds(scenario, session.month)
    day = first
    while day <= last:
        if day != local.date():
            start = grid.moment(day, 0) + (local - grid.moment(local.date(), 0))
            moved = event.model_copy(
                update={"start": start, "end": start + (event.end - event.start)}
            )
            trial = [moved, *others]
            reasons = [
                *rules.check_weekdays_and_bank_holidays(scenario, [moved]),
                *rules.check_working_days(scenario, [moved]),
                *rules.check_group_weekdays(scenario, [moved]),
                *rules.check_availability(scenario, [moved]),
                *[v for v in rules.check_no_double_booking(trial) if event_id in v],
                *[v for v in rules.check_after_order(scenario, trial) if event_id in v],
                *[v for v in rules.check_group_gap(scenario, trial) if event_id in v],
            ]
            if day.weekday() < 5:
                if reasons:
                    lines.append(
                        f"  {day:%a %d %b} at {local:%H:%M}: "
                        + "; ".join(r.removeprefix(f"{event_id}: ") for r in reasons[:3])
                    )
                else:
                    lines.append(
                        f"  {day:%a %d %b} at {local:%H:%M}: allowed, but scores worse on the soft goals (rhythm, weeks, load)"
                    )
        day += timedelta(days=1)
    return "\n".join(lines)


def _why_here(
    scenario: Scenario, grid: Grid, events: Sequence[Event], event: Event, session: Session
) -> list[str]:
    """The soft goals this placement serves."""
    local = event.start.astimezone(grid.zone)
    out = []
    if event.kind == "group":
        reference = _rhythm_references(scenario)
        ref = next((e for e in events if e.event_id == f"{event.cohort_id}/{reference}"), None)
        if ref is not None and ref.event_id != event.event_id:
            ref_local = ref.start.astimezone(grid.zone)
            same = ref_local.weekday() == local.weekday() and ref_local.time() == local.time()
            out.append(
                f"Rhythm: the cohort's first workshop {ref.event_id} is on a {ref_local:%A} at "
                f"{ref_local:%H:%M}; this one {'keeps' if same else 'breaks'} that rhythm."
            )
    if event.kind == "review":
        _, last = month_bounds(scenario, session.month)
        out.append(
            f"Reviews go late in the month: {(last - local.date()).days} days before its end."
        )
    if event.kind == "coaching":
        week = local.isocalendar()[:2]
        clash = [
            e.event_id
            for e in events
            if e.kind == "group"
            and e.cohort_id == event.cohort_id
            and e.start.astimezone(grid.zone).isocalendar()[:2] == week
        ]
        out.append(
            "Coaching avoids workshop weeks: "
            + (f"this week also has {', '.join(clash)}." if clash else "no workshop that week.")
        )
    return out
