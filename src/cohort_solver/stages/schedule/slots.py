"""Lawful slots: for each event, the days and start slots where every rule about
that event alone holds, and what the order rules (`after`, the group gap) leave of them.

The rules about one event: inside its programme month, Monday to Friday, no bank holiday,
the calendar's group weekdays for group sessions (cohort events may be on any weekday),
a working day of every participant and coach attending, nobody attending unavailable, and a
venue of the cohort seating everyone free for the whole session.

``prune_for_order`` then removes times that no calendar can use because of a chain of order
rules (a workshop so late that the review that must follow it has no time left). Every time
it removes breaks a hard rule in *every* lawful calendar, so a model over the pruned times
is still exact, and a relaxation over them is still a relaxation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Grid, bits
from cohort_solver.stages.schedule.order import gap_kept_by, order_window

if TYPE_CHECKING:
    from cohort_solver.stages.schedule.context import Context, Placement

Options = dict[int, int]  # day number -> mask of lawful start slots
Blocked = dict[str, dict[int, int]]  # person or venue id -> day number -> unavailable slots
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def unavailable_slots(scenario: Scenario, grid: Grid) -> Blocked:
    """Per person or venue id: the slots of each day they are unavailable (any overlap)."""
    blocked: Blocked = defaultdict(lambda: defaultdict(int))
    for u in scenario.unavailability:
        day = u.start.date()
        while datetime.combine(day, datetime.min.time()) < u.end:
            midnight = datetime.combine(day, datetime.min.time())
            mask = 0
            for slot in range(grid.per_day):
                begin = midnight + timedelta(minutes=grid.opens + slot * grid.slot_minutes)
                if begin < u.end and u.start < begin + timedelta(minutes=grid.slot_minutes):
                    mask |= 1 << slot
            if mask:
                blocked[u.id][grid.number(day)] |= mask
            day += timedelta(days=1)
    return {who: dict(days) for who, days in blocked.items()}


def working_days(scenario: Scenario) -> dict[str, frozenset[int]]:
    """Weekdays (0 = Monday) each participant and coach works; others work Monday-Friday."""
    out = {
        a.applicant_id: frozenset(WEEKDAY_NAMES.index(d) for d in a.working_days)
        for a in scenario.applicants
    }
    out.update(
        {
            c.coach_id: frozenset(WEEKDAY_NAMES.index(d) for d in c.working_days)
            for c in scenario.coaches
        }
    )
    return out


def lawful_slots(
    scenario: Scenario,
    grid: Grid,
    blocked: Blocked,
    works: dict[str, frozenset[int]],
    demand: Demand,
    days: Iterable[int] | None = None,
) -> Options:
    """The days and start slots where every rule about this event alone holds."""
    if demand.needs_venue and not demand.venues:  # no venue of the cohort seats everyone
        return {}
    group_days = {WEEKDAY_NAMES.index(d) for d in scenario.settings.calendar.group_weekdays}
    shared = None
    for person in demand.attendees:
        if person in works:
            shared = works[person] if shared is None else shared & works[person]
    session = demand.session
    # A fixed date is the coordinator's choice: it overrides the group weekdays, not people's
    # working days or absences (those clash, and the clash is explained).
    fixed_day = None if session.fixed_date is None else grid.number(session.fixed_date)
    fixed_start = ~0 if session.fixed_time is None else 1 << grid.slot_at(session.fixed_time)
    out: Options = {}
    for day in grid.month_days(demand.month) if days is None else days:
        weekday = grid.weekday(day)
        if fixed_day is not None and day != fixed_day:
            continue
        if demand.kind == "group" and weekday not in group_days and fixed_day is None:
            continue
        if shared is not None and weekday not in shared:
            continue
        busy = 0
        for person in demand.attendees:
            busy |= blocked.get(person, {}).get(day, 0)
        starts = grid.starts_clear_of(busy, demand.length)
        if demand.venues and starts:
            rooms = 0
            for v in demand.venues:
                rooms |= grid.starts_clear_of(blocked.get(v, {}).get(day, 0), demand.length)
            starts &= rooms
        starts &= fixed_start
        if starts:
            out[day] = starts
    return out


# --------------------------------------------------------------------------- order rules


def order_pairs(demands: Sequence[Demand]) -> list[tuple[Demand, Demand]]:
    """(before, after) pairs of the `after` rule: the same cohort, sharing a participant."""
    by_key: dict[tuple[str, str], list[Demand]] = defaultdict(list)
    for d in demands:
        by_key[d.cohort_id, d.key].append(d)
    pairs = []
    for d in demands:
        if not d.session.after:
            continue
        for other in by_key.get((d.cohort_id, d.session.after), []):
            if set(other.members) & set(d.members):
                pairs.append((other, d))
    return pairs


def gap_pairs(demands: Sequence[Demand]) -> list[tuple[Demand, Demand]]:
    """(earlier month, later month) pairs of one cohort's group sessions."""
    groups: dict[str, list[Demand]] = defaultdict(list)
    for d in demands:
        if d.kind == "group":
            groups[d.cohort_id].append(d)
    return [(a, b) for mine in groups.values() for a in mine for b in mine if a.month < b.month]


def prune_for_order(
    grid: Grid, demands: Sequence[Demand], options: dict[str, Options], gap: int
) -> None:
    """Remove, in place, every time that breaks an `after` or group-gap rule whatever the
    other events do, until nothing changes (earliest starts pushed forward along the chains,
    latest starts pulled back)."""
    after = order_pairs(demands)
    gaps = gap_pairs(demands) if gap > 0 else []
    changed = True
    while changed:
        changed = False
        for before, later in after:
            earliest = _earliest(grid, options[before.event_id]) + before.length
            changed |= _keep_from(grid, options[later.event_id], earliest)
            latest = _latest(grid, options[later.event_id]) - before.length
            changed |= _keep_until(grid, options[before.event_id], latest)
        for a, b in gaps:
            if not options[a.event_id] or not options[b.event_id]:
                continue
            first_b = min(options[a.event_id]) + gap
            changed |= _keep_days(options[b.event_id], first=first_b)
            last_a = max(options[b.event_id]) - gap
            changed |= _keep_days(options[a.event_id], last=last_a)


def _earliest(grid: Grid, options: Options) -> int:
    if not options:
        return 1 << 40
    day = min(options)
    return grid.absolute(day, bits(options[day])[0])


def _latest(grid: Grid, options: Options) -> int:
    if not options:
        return -(1 << 40)
    day = max(options)
    return grid.absolute(day, options[day].bit_length() - 1)


def _keep_from(grid: Grid, options: Options, earliest: int) -> bool:
    """Keep starts at or after the absolute slot ``earliest``; True if anything went."""
    changed = False
    for day in list(options):
        base = grid.absolute(day, 0)
        if base + grid.per_day <= earliest:
            del options[day]
            changed = True
        elif base < earliest:
            kept = options[day] & ~((1 << (earliest - base)) - 1)
            if kept != options[day]:
                changed = True
                if kept:
                    options[day] = kept
                else:
                    del options[day]
    return changed


def _keep_until(grid: Grid, options: Options, latest: int) -> bool:
    """Keep starts at or before the absolute slot ``latest``; True if anything went."""
    changed = False
    for day in list(options):
        base = grid.absolute(day, 0)
        if base > latest:
            del options[day]
            changed = True
        elif base + grid.per_day - 1 > latest:
            kept = options[day] & ((1 << (latest - base + 1)) - 1)
            if kept != options[day]:
                changed = True
                if kept:
                    options[day] = kept
                else:
                    del options[day]
    return changed


def _keep_days(options: Options, *, first: int = -(1 << 40), last: int = 1 << 40) -> bool:
    """Keep, in place, only the days from ``first`` to ``last``; whether any went."""
    gone = [d for d in options if not first <= d <= last]
    for d in gone:
        del options[d]
    return bool(gone)


# --------------------------------------------------------------------------- around fixed events


def room_around(
    ctx: Context, free: Sequence[Demand], fixed: Mapping[str, Placement]
) -> dict[str, Options]:
    """Each free event's candidate times without those that break a hard rule against a
    fixed event: an attendee already busy, every candidate venue taken, the `after` order or
    the group gap. Exact, so a model of the free events needs no constraint against fixed
    ones (except each venue's own bookings, since the model chooses the venue)."""
    busy = _busy_around(ctx, free, fixed)
    out: dict[str, Options] = {}
    for d in free:
        window = order_window(ctx, d, fixed)
        mine: Options = {}
        for day, mask in ctx.options[d.event_id].items():
            if not gap_kept_by(ctx, d, day, fixed):
                continue
            left = _starts_left(ctx, d, day, mask, busy, window)
            if left:
                mine[day] = left
        out[d.event_id] = mine
    return out


def _busy_around(
    ctx: Context, free: Sequence[Demand], fixed: Mapping[str, Placement]
) -> dict[str, dict[int, int]]:
    """Person or venue -> day -> the slots the fixed events near ``free`` take."""
    busy: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for d in ctx.around(free, fixed):
        p = fixed[d.event_id]
        span = ((1 << d.length) - 1) << p.slot
        for who in d.attendees:
            busy[who][p.day] |= span
        if p.venue:
            busy[p.venue][p.day] |= span
    return busy


def _starts_left(
    ctx: Context,
    d: Demand,
    day: int,
    mask: int,
    busy: Mapping[str, Mapping[int, int]],
    window: tuple[int, int],
) -> int:
    """The lawful starts of ``d`` on ``day`` (``mask``) with every attendee free, a venue
    free, and inside the `after` window."""
    grid = ctx.grid
    taken = 0
    for who in d.attendees:
        taken |= busy.get(who, {}).get(day, 0)
    if taken:
        mask &= grid.starts_clear_of(taken, d.length)
    if mask and d.venues:
        rooms = 0
        for v in d.venues:
            closed = busy.get(v, {}).get(day, 0) | ctx.blocked.get(v, {}).get(day, 0)
            rooms |= grid.starts_clear_of(closed, d.length)
        mask &= rooms
    earliest, latest = window
    base = grid.absolute(day, 0)
    if mask and earliest > base:
        mask &= ~((1 << min(grid.per_day, earliest - base)) - 1)
    if mask and latest < base + grid.per_day - 1:
        mask &= (1 << max(0, latest - base + 1)) - 1
    return mask
