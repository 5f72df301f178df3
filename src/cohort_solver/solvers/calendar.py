"""The programme calendar with CP-SAT, month by month.

Every event of a programme month must lie inside that month, so months only interact through
the gap between one cohort's group sessions, the group-session rhythm and ISO weeks that
straddle a month boundary. The calendar is therefore solved one month at a time, in order,
with the earlier months fixed: their group sessions carry the gap forward as a hard bound, and
their placements enter the next month's soft goals as constants.

Each event picks one candidate day (pre-filtered in Python: the month, Monday to Friday, bank
holidays, group weekdays, everyone's working days and unavailability) and a start slot on an
absolute slot timeline (day number x slots per day + slot), so "nobody in two places at once"
is a no-overlap of intervals per person and per venue.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
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

# Months with at most this many events are solved in CP-SAT's deterministic interleaved mode.
DETERMINISTIC_UP_TO = 400

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


@dataclass
class Candidates:
    """Where a demand may go: day -> allowed start slots (and which venues are free then)."""

    starts: dict[date, list[int]] = field(default_factory=dict)


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


# --------------------------------------------------------------------------- the month model


@dataclass
class Placed:
    demand: Demand
    day: date
    slot: int
    venue: str | None


class MonthModel:
    """The CP-SAT model of one programme month, its variables in one typed holder."""

    def __init__(
        self,
        scenario: Scenario,
        grid: Grid,
        blocked: dict[str, dict[date, set[int]]],
        month: int,
        demands: list[Demand],
        options: dict[str, dict[date, list[int]]],
        placed: list[Placed],
        pins: dict[str, Placed],
    ):
        self.scenario, self.grid, self.blocked, self.month = scenario, grid, blocked, month
        self.demands, self.options, self.placed, self.pins = demands, options, placed, pins
        self.model = cp_model.CpModel()
        self.day: dict[str, dict[date, cp_model.IntVar]] = {}
        self.start: dict[str, cp_model.IntVar] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self.venue: dict[str, dict[str, cp_model.IntVar]] = {}
        self.venue_interval: dict[str, dict[str, cp_model.IntervalVar]] = {}
        self.penalties: dict[str, list[cp_model.LinearExprT]] = defaultdict(list)
        self.moved: list[cp_model.IntVar] = []
        self.greedy: dict[str, tuple[int, str | None]] = {}  # warm start: event -> start, venue
        for d in demands:
            self._add_event(d)
        self.add_no_double_booking()
        self.add_venue_bookings()
        self.add_after_order()
        self.add_group_gap_within_month()
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

    def time_of_day(self, eid: str) -> cp_model.LinearExprT:
        return self.start[eid] - sum(
            b * self.grid.absolute(day, 0) for day, b in self.day[eid].items()
        )

    # -- hard rules

    def add_no_double_booking(self) -> None:
        """No participant, coach, facilitator, manager or named attendee in two events at once."""
        per_person: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        for d in self.demands:
            for person in d.attendees:
                per_person[person].append(self.interval[d.event_id])
        for person in sorted(per_person):
            if len(per_person[person]) > 1:
                self.model.add_no_overlap(per_person[person])

    def add_venue_bookings(self) -> None:
        """One venue per group session and cohort event; a venue hosts one event at a time
        and none while it is closed."""
        per_venue: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        for options in self.venue_interval.values():
            for v, interval in options.items():
                per_venue[v].append(interval)
        first, last = month_bounds(self.scenario, self.month)
        for v in sorted(per_venue):
            closed = [
                self.model.new_fixed_size_interval_var(
                    self.grid.absolute(day, s), 1, f"closed[{v},{day},{s}]"
                )
                for day, slots in sorted(self.blocked.get(v, {}).items())
                if first <= day <= last
                for s in sorted(slots)
            ]
            if len(per_venue[v]) + len(closed) > 1:
                self.model.add_no_overlap(per_venue[v] + closed)

    def add_after_order(self) -> None:
        """A session with `after` starts once the same participant's/cohort's instance ended
        (an instance in an earlier month always has)."""
        for d in self.demands:
            before = d.session.after
            if not before:
                continue
            for other in self.demands:
                if (
                    other.session.session_key == before
                    and other.cohort_id == d.cohort_id
                    and set(other.members) & set(d.members)
                ):
                    self.model.add(
                        self.start[d.event_id] >= self.interval[other.event_id].end_expr()
                    )

    def add_group_gap_within_month(self) -> None:
        """Group sessions of one cohort in the same month are min_days apart (earlier months
        are enforced when the candidate days are filtered)."""
        gap = self.scenario.settings.calendar.min_days_between_group_sessions
        groups: dict[str, list[Demand]] = defaultdict(list)
        for d in self.demands:
            if d.session.kind == "group":
                groups[d.cohort_id].append(d)
        for mine in groups.values():
            for i, a in enumerate(mine):
                for b in mine[i + 1 :]:
                    da = sum(v * self.grid.day_number(k) for k, v in self.day[a.event_id].items())
                    db = sum(v * self.grid.day_number(k) for k, v in self.day[b.event_id].items())
                    first = self.model.new_bool_var(f"first[{a.event_id},{b.event_id}]")
                    self.model.add(db >= da + gap).only_enforce_if(first)
                    self.model.add(da >= db + gap).only_enforce_if(~first)

    # -- soft goals

    def add_group_rhythm(self) -> None:
        """Each cohort's group sessions on the weekday and start time of its first one."""
        reference = _rhythm_references(self.scenario)
        fixed = {p.demand.event_id: p for p in self.placed}
        for d in self.demands:
            if d.session.kind != "group":
                continue
            ref = f"{d.cohort_id}/{reference}"
            if ref == d.event_id:
                continue
            eid = d.event_id
            off_day = self.model.new_bool_var(f"off_weekday[{eid}]")
            off_time = self.model.new_bool_var(f"off_time[{eid}]")
            if ref in fixed:
                p = fixed[ref]
                self.model.add(self.weekday(eid, p.day.weekday()) == 1).only_enforce_if(~off_day)
                self.model.add(self.weekday(eid, p.day.weekday()) == 0).only_enforce_if(off_day)
                self.model.add(self.time_of_day(eid) == p.slot).only_enforce_if(~off_time)
                self.model.add(self.time_of_day(eid) != p.slot).only_enforce_if(off_time)
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
        days_in_week: dict[tuple[str, tuple[int, int]], list[cp_model.IntVar]] = defaultdict(list)
        for d in self.demands:
            if d.session.kind != "group":
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
            pen = self.model.new_bool_var(f"coaching_in_workshop_week[{d.event_id}]")
            clashes: list[cp_model.LinearExprT] = []
            for week in weeks:
                if (d.cohort_id, week) in fixed_groups:
                    clashes.append(self.week(d.event_id, week))
                elif (d.cohort_id, week) in busy:
                    both = self.model.new_bool_var(f"coaching_week[{d.event_id},{week}]")
                    self.model.add(both <= self.week(d.event_id, week))
                    self.model.add(both <= busy[d.cohort_id, week])
                    self.model.add(
                        both >= self.week(d.event_id, week) + busy[d.cohort_id, week] - 1
                    )
                    clashes.append(both)
            for clash in clashes:
                self.model.add(pen >= clash)
            self.model.add(pen <= sum(clashes))
            self.penalties["coaching_in_workshop_week"].append(pen)
        # Coaching already fixed in an earlier month, in a week this month's workshop may take.
        for p in self.placed:
            key = (p.demand.cohort_id, p.day.isocalendar()[:2])
            if p.demand.session.kind == "coaching" and key in busy:
                self.penalties["coaching_in_workshop_week"].append(busy[key])

    def add_reviews_late_and_after_workshop(self) -> None:
        """Reviews late in their month, and after that month's workshop has ended."""
        _, last = month_bounds(self.scenario, self.month)
        groups = defaultdict(list)
        for d in self.demands:
            if d.session.kind == "group":
                groups[d.cohort_id].append(d)
        for d in self.demands:
            if d.session.kind != "review":
                continue
            self.penalties["review_days_before_month_end"].append(
                sum(b * (last - day).days for day, b in self.day[d.event_id].items())
            )
            if groups[d.cohort_id]:
                early = self.model.new_bool_var(f"review_before_workshop[{d.event_id}]")
                overlaps = []
                for g in groups[d.cohort_id]:
                    self.model.add(
                        self.start[d.event_id] >= self.interval[g.event_id].end_expr()
                    ).only_enforce_if(~early)
                    h = self.model.new_bool_var(f"review_before[{d.event_id},{g.event_id}]")
                    self.model.add(
                        self.start[d.event_id] < self.interval[g.event_id].end_expr()
                    ).only_enforce_if(h)
                    overlaps.append(h)
                self.model.add(early <= sum(overlaps))
                self.penalties["review_before_workshop"].append(early)

    def add_even_coach_load(self) -> None:
        """A coach's sessions of the month spread evenly over its weeks."""
        weeks = sorted(weeks_of_month(self.scenario, self.month))
        per_coach = defaultdict(list)
        for d in self.demands:
            if d.coach_id:
                per_coach[d.coach_id].append(d.event_id)
        for coach_id, mine in sorted(per_coach.items()):
            share = math.ceil(len(mine) / len(weeks))
            for week in weeks:
                load = sum(self.week(eid, week) for eid in mine)
                over = self.model.new_int_var(0, len(mine), f"coach_overload[{coach_id},{week}]")
                self.model.add_max_equality(over, [load - share, 0])
                self.penalties["coach_week_overload"].append(over)

    def add_even_venue_load(self) -> None:
        """A venue booked at most once a week, where the cohorts allow."""
        weeks = sorted(weeks_of_month(self.scenario, self.month))
        per_venue = defaultdict(list)
        for eid, options in self.venue.items():
            for v, x in options.items():
                per_venue[v].append((eid, x))
        for v, mine in sorted(per_venue.items()):
            if len(mine) < 2:
                continue
            for week in weeks:
                here = []
                for eid, x in mine:
                    w = self.week(eid, week)
                    z = self.model.new_bool_var(f"venue_week[{eid},{v},{week}]")
                    self.model.add(z >= x + w - 1)
                    self.model.add(z <= x)
                    self.model.add(z <= w)
                    here.append(z)
                over = self.model.new_int_var(0, len(mine), f"venue_overload[{v},{week}]")
                self.model.add_max_equality(over, [sum(here) - 1, 0])
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
        """Warm start: place events one by one at the first free time (groups first, reviews
        late in the month, coaching spread over it). Returns how many were placed."""
        grid = self.grid
        busy: dict[str, set[int]] = defaultdict(set)
        for v, days in self.blocked.items():
            for day, slots in days.items():
                busy[v].update(grid.absolute(day, s) for s in slots)
        ends: dict[str, int] = {}
        group_days: dict[str, list[date]] = defaultdict(list)
        gap = self.scenario.settings.calendar.min_days_between_group_sessions
        rank = {"group": 0, "cohort_event": 0, "review": 1, "coaching": 2}
        order = sorted(
            enumerate(self.demands),
            key=lambda p: (rank[p[1].session.kind], len(self.options[p[1].event_id]), p[0]),
        )
        reference = _rhythm_references(self.scenario)
        rhythm = {  # cohort -> (weekday, slot) of its first group session, once placed
            p.demand.cohort_id: (p.day.weekday(), p.slot)
            for p in self.placed
            if p.demand.session.session_key == reference
        }
        coach_weeks: dict[str | None, dict[tuple[int, int], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        placed = 0
        for index, d in order:
            days = sorted(self.options[d.event_id])
            if d.session.kind == "review":
                days.reverse()
            elif d.session.kind == "coaching" and days:
                turn = index % len(days)
                days = days[turn:] + days[:turn]
                workshop_weeks = {day.isocalendar()[:2] for day in group_days[d.cohort_id]} | {
                    p.day.isocalendar()[:2]
                    for p in self.placed
                    if p.demand.cohort_id == d.cohort_id and p.demand.session.kind == "group"
                }
                load = coach_weeks[d.coach_id]
                days.sort(
                    key=lambda day: (
                        day.isocalendar()[:2] in workshop_weeks,
                        load[day.isocalendar()[:2]],
                    )
                )
            elif d.session.kind == "group" and rhythm.get(d.cohort_id):
                weekday = rhythm[d.cohort_id][0]
                days.sort(key=lambda day: day.weekday() != weekday)
            earliest = max(
                (
                    ends[o.event_id]
                    for o in self.demands
                    if o.session.session_key == d.session.after
                    and o.cohort_id == d.cohort_id
                    and set(o.members) & set(d.members)
                    and o.event_id in ends
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
                for slot in slots:
                    start = grid.absolute(day, slot)
                    span = set(range(start, start + length))
                    if start < earliest or any(busy[p] & span for p in d.attendees):
                        continue
                    venue = next((v for v in d.venues if not busy[v] & span), None)
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

    def extract(self, solver: cp_model.CpSolver) -> list[Placed]:
        out = []
        for d in self.demands:
            day, slot = self.grid.day_of(solver.value(self.start[d.event_id]))
            venue = None
            if d.event_id in self.venue:
                venue = next(v for v, x in self.venue[d.event_id].items() if solver.value(x))
            out.append(Placed(d, day, slot, venue))
        return out


def _rhythm_references(scenario: Scenario) -> str | None:
    """The session that sets a cohort's rhythm: its first group session in programme order."""
    groups = [
        (s.month, i, s.session_key) for i, s in enumerate(scenario.programme) if s.kind == "group"
    ]
    return min(groups)[2] if groups else None


# --------------------------------------------------------------------------- front door


def schedule(
    scenario: Scenario,
    selected: Sequence[Outcome],
    matches: Sequence[Match],
    *,
    time_limit: float = 60,
    workers: int = 2,
    previous: Sequence[Event] | None = None,
) -> CalendarResult:
    """Place every session of the programme, month by month, and report each soft goal.

    ``previous`` (a re-plan): each event that can keep its earlier time and venue lawfully does;
    the fewest events move (level ``moved_events``), then the soft goals are optimised.

    The report's status is ``optimal`` when every month was solved to proven optimality *given
    the months before it*; ``soft_total``'s bound is the sum of those month bounds, so it bounds
    the month-by-month decomposition, not every calendar. The per-goal levels carry the trivial
    bound 0: only their weighted total is optimised.
    """
    began = time.monotonic()
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
    gap = scenario.settings.calendar.min_days_between_group_sessions
    months = sorted({d.session.month for d in demands})
    by_month = {m: [d for d in demands if d.session.month == m] for m in months}
    placed: list[Placed] = []
    values: dict[str, int] = defaultdict(int)
    bound_total = 0
    moved_total = 0
    optimal = True
    remaining = len(demands)
    copied_months = 0
    for month in months:
        mine = by_month[month]
        month_options = {d.event_id: dict(options[d.event_id]) for d in mine}
        _carry_group_gap(scenario, grid, mine, month_options, placed, demands, options, gap)
        for d in mine:
            if not month_options[d.event_id]:
                first, _ = month_bounds(scenario, month)
                raise InfeasibleError(
                    "calendar",
                    [
                        f"cohort {d.cohort_id}, month {month} ({first:%B %Y}): no day for "
                        f"{d.session.session_key} is at least {gap} days after the cohort's "
                        f"previous group session"
                    ],
                )
        if previous is not None and _month_unchanged(grid, mine, month_options, pins):
            # Keeping every lawful pin is the first level and it fixes this whole month: copy
            # it across instead of building and solving a model (re-plans touch few months).
            placed.extend(pins[d.event_id] for d in mine)
            remaining -= len(mine)
            copied_months += 1
            continue
        m = MonthModel(scenario, grid, blocked, month, mine, month_options, placed, pins)
        if not m.moved and m.add_greedy_hint() == len(mine):
            _complete_hint(m, workers)
        # This month's share of the time left (kept back: ~3% for building later months).
        left = 0.97 * time_limit - (time.monotonic() - began)
        budget = max(1.0, left * len(mine) / max(1, remaining))
        remaining -= len(mine)
        deadline = time.monotonic() + budget
        hint: dict[int, int] | None = None
        if m.moved:
            hint = _keep_every_pin(m, workers, budget / 2)
            if hint is None:  # some lawful pin must give way: move as few as possible
                m.model.minimize(sum(m.moved))
                solver = cp_sat(workers, max(budget / 2, 5.0), deterministic=len(mine) <= DETERMINISTIC_UP_TO)
                status = solver.solve(m.model)
                _raise_unless_solved(scenario, status, month, mine)
                moved = round(solver.objective_value)
                m.model.add(sum(m.moved) <= moved)
                optimal = optimal and status == cp_model.OPTIMAL
                hint = {v.index: solver.value(v) for v in m.start.values()}
        m.model.minimize(m.soft())
        if hint:
            m.model.clear_hints()
            for v in m.start.values():
                m.model.add_hint(v, hint[v.index])
        solver = cp_sat(workers, deadline - time.monotonic(), deterministic=len(mine) <= DETERMINISTIC_UP_TO)
        status = solver.solve(m.model)
        bound = solver.best_objective_bound
        if status == cp_model.UNKNOWN and len(m.greedy) == len(mine):
            # No calendar within the budget, but the warm start is lawful: keep it.
            for eid, (start, venue) in sorted(m.greedy.items()):
                m.model.add(m.start[eid] == start)
                if venue:
                    m.model.add(m.venue[eid][venue] == 1)
            solver = cp_sat(workers, 30.0, deterministic=True)
            status = solver.solve(m.model)
            status = cp_model.FEASIBLE if status == cp_model.OPTIMAL else status
        elif status == cp_model.UNKNOWN:  # search freely with what time is left
            spare = time_limit - (time.monotonic() - began)
            solver = cp_sat(workers, max(5.0, spare), deterministic=False)
            status = solver.solve(m.model)
            bound = solver.best_objective_bound
        _raise_unless_solved(scenario, status, month, mine)
        optimal = optimal and status == cp_model.OPTIMAL
        bound_total += math.ceil(bound - 1e-6)
        if m.moved:
            moved_total += sum(solver.value(v) for v in m.moved)
        for name, terms in m.penalties.items():
            values[name] += sum(solver.value(t) for t in terms)
        placed.extend(m.extract(solver))

    events = tuple(sorted((_event(grid, p) for p in placed), key=lambda e: (e.start, e.event_id)))
    if copied_months:
        # Copied months were not solved: count every soft goal on the whole calendar, and add
        # the copied months' share (which nothing could improve) to the solved months' bound.
        solved = sum(WEIGHTS[k] * values[k] for k in WEIGHTS)
        values = defaultdict(int, soft_penalties(scenario, events))
        bound_total += sum(WEIGHTS[k] * values[k] for k in WEIGHTS) - solved
    total = sum(WEIGHTS[k] * values[k] for k in WEIGHTS)
    levels = []
    if previous is not None:
        kept_ids = {e.event_id for e in previous}
        forced = sum(1 for d in demands if d.event_id in kept_ids and d.event_id not in pins)
        levels.append(
            Level(name="moved_events", sense="min", value=moved_total + forced, bound=forced)
        )
    levels += [Level(name=k, sense="min", value=WEIGHTS[k] * values[k], bound=0) for k in WEIGHTS]
    levels.append(Level(name="soft_total", sense="min", value=total, bound=min(total, bound_total)))
    report = StageReport(
        stage="calendar",
        status="optimal" if optimal else "feasible",
        levels=tuple(levels),
        seconds=round(time.monotonic() - began, 3),
    )
    return CalendarResult(events=events, report=report)


def _month_unchanged(grid: Grid, mine: list[Demand], month_options, pins: dict[str, Placed]) -> bool:
    """Every event of the month has a lawful old placement, still on an allowed day, and the
    old placements still never put one person or venue in two places (attendees may change)."""
    if not all(d.event_id in pins and pins[d.event_id].day in month_options[d.event_id] for d in mine):
        return False
    return not check_no_double_booking([_event(grid, pins[d.event_id]) for d in mine])


def _keep_every_pin(m: MonthModel, workers: int, seconds: float) -> dict[int, int] | None:
    """Re-planning, first try: every event whose old time is still lawful stays exactly there
    and only the rest is placed. Small and fast; when it works, no pinned event moves, which is
    the fewest possible. Returns the start times found, or None."""
    trial = m.model.clone()
    trial.clear_hints()
    for v in m.moved:
        trial.add(trial.get_bool_var_from_proto_index(v.index) == 0)
    solver = cp_sat(workers, max(seconds, 5.0))
    if solver.solve(trial) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    m.model.add(sum(m.moved) == 0)
    return {v.index: solver.value(trial.get_int_var_from_proto_index(v.index)) for v in m.start.values()}


def _complete_hint(m: MonthModel, workers: int) -> None:
    """Turn a complete warm start into a full hint (penalties included), so the solver starts
    from a calendar at once instead of repairing a partial one."""
    fixed = m.model.clone()
    for eid, (start, venue) in sorted(m.greedy.items()):
        fixed.add(fixed.get_int_var_from_proto_index(m.start[eid].index) == start)
        if venue:
            fixed.add(fixed.get_bool_var_from_proto_index(m.venue[eid][venue].index) == 1)
    fixed.minimize(m.soft())
    solver = cp_sat(workers, 10.0, deterministic=True)
    solver.parameters.max_deterministic_time = 5.0
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    values = solver.response_proto.solution
    m.model.clear_hints()
    for index, value in enumerate(values):
        m.model.add_hint(m.model.get_int_var_from_proto_index(index), value)


def _carry_group_gap(scenario, grid, mine, month_options, placed, demands, options, gap) -> None:
    """Group sessions keep min_days from the cohort's earlier group sessions (hard), and leave
    room for its next month's group session when they can (look-ahead)."""
    last: dict[str, date] = {}
    for p in placed:
        if p.demand.session.kind == "group":
            last[p.demand.cohort_id] = max(p.day, last.get(p.demand.cohort_id, p.day))
    month = mine[0].session.month if mine else 0
    for d in mine:
        if d.session.kind != "group":
            continue
        opts = month_options[d.event_id]
        if d.cohort_id in last:
            limit = last[d.cohort_id] + timedelta(days=gap)
            month_options[d.event_id] = opts = {k: v for k, v in opts.items() if k >= limit}
        latest = _latest_before_later_groups(d.cohort_id, month, demands, options, gap)
        if latest is not None:
            room = {k: v for k, v in opts.items() if k <= latest}
            if room:
                month_options[d.event_id] = room


def _latest_before_later_groups(cohort_id, month, demands, options, gap) -> date | None:
    """The latest day a group session of ``month`` can take and still leave room for every
    later group session of the cohort, each ``gap`` days apart (worked back from the last
    month). A necessary condition, so it never rules out a calendar that exists."""
    later: dict[int, list] = defaultdict(list)
    for o in demands:
        if o.cohort_id == cohort_id and o.session.kind == "group" and o.session.month > month:
            later[o.session.month].append(o)
    bound: date | None = None
    for m in sorted(later, reverse=True):
        days = [day for o in later[m] for day in options[o.event_id]]
        if not days:
            return None
        latest = max(days) if bound is None else min(max(days), bound)
        # k sessions of that month, gap days apart: the first is at least (k - 1) gaps earlier.
        bound = latest - timedelta(days=gap * len(later[m]))
    return bound


def _raise_unless_solved(scenario: Scenario, status, month: int, mine: list[Demand]) -> None:
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    first, _ = month_bounds(scenario, month)
    where = f"month {month} ({first:%B %Y})"
    if status == cp_model.INFEASIBLE:
        load: dict[str, int] = defaultdict(int)
        for d in mine:
            for p in d.attendees:
                load[p] += d.session.duration_minutes
        busiest = sorted(load.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        names = ", ".join(f"{p} ({minutes // 60}h{minutes % 60:02d})" for p, minutes in busiest)
        raise InfeasibleError(
            "calendar",
            [
                f"{where}: each of the {len(mine)} sessions has a possible time on its own, but "
                f"they cannot all fit together without double-booking someone or a venue; "
                f"busiest: {names}"
            ],
        )
    raise InfeasibleError(
        "calendar",
        [f"{where}: the time limit ran out before a calendar was found; raise --time-limit"],
    )


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
