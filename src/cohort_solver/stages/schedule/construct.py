"""The warm start: a lawful placement built event by event, each at its most promising time.

It honours every hard rule (the candidate times around fixed events, who is busy, each venue's
bookings, `after` chains across kinds and people, the group gap), so what it places is a valid
partial calendar and a hint CP-SAT starts from. It may leave events out when an earlier choice
took their last time; the search, which is exact, places them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from cohort_solver.stages.schedule.context import Context, Overlay, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Week, bits
from cohort_solver.stages.schedule.order import gap_kept_by, order_window
from cohort_solver.stages.schedule.slots import Options

KIND_ORDER = {
    "cohort_event": 0,
    "group": 0,
    "review": 1,
    "coaching": 2,
    "mentoring": 2,
    "action_learning": 1,
    "flexible": 0,
}


def greedy(
    ctx: Context,
    free: Sequence[Demand],
    fixed: Mapping[str, Placement],
    options: Mapping[str, Options],
    guides: Mapping[str, Mapping[Week, int]] | None = None,
    prefer: Mapping[str, Placement] | None = None,
) -> Plan:
    """Place ``free`` around ``fixed`` one by one; returns what it could place."""
    grid = ctx.grid
    guides = guides or {}
    prefer = prefer or {}
    busy: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    placed: Plan = {}
    everything = Overlay(fixed, placed)
    near = ctx.around(free, fixed)
    for d in near:
        _book(busy, d, fixed[d.event_id])
    venue_weeks: dict[tuple[str, Week], int] = defaultdict(int)
    coach_weeks: dict[tuple[str, Week], int] = defaultdict(int)
    for d in near:
        p = fixed[d.event_id]
        if p.venue:
            venue_weeks[p.venue, grid.week(p.day)] += 1
        for c in ctx.coaches_at(d):
            coach_weeks[c, grid.week(p.day)] += 1
    order = sorted(
        free,
        key=lambda d: (
            KIND_ORDER[d.kind],
            len(ctx.before[d.event_id]),
            _count(options[d.event_id]),
            d.index,
        ),
    )
    for d in order:
        choice = _first_lawful(
            ctx, d, options[d.event_id], busy, everything, venue_weeks, coach_weeks, guides, prefer
        )
        if choice is None:
            continue
        placed[d.event_id] = choice
        _book(busy, d, choice)
        if choice.venue:
            venue_weeks[choice.venue, grid.week(choice.day)] += 1
        for c in ctx.coaches_at(d):
            coach_weeks[c, grid.week(choice.day)] += 1
    return placed


def _count(options: Options) -> int:
    return sum(m.bit_count() for m in options.values())


def _book(busy: dict[str, dict[int, int]], d: Demand, p: Placement) -> None:
    span = ((1 << d.length) - 1) << p.slot
    for who in d.attendees:
        busy[who][p.day] |= span
    if p.venue:
        busy[p.venue][p.day] |= span


def _first_lawful(
    ctx: Context,
    d: Demand,
    options: Options,
    busy: dict[str, dict[int, int]],
    placed: Mapping[str, Placement],
    venue_weeks: Mapping[tuple[str, Week], int],
    coach_weeks: Mapping[tuple[str, Week], int],
    guides: Mapping[str, Mapping[Week, int]],
    prefer: Mapping[str, Placement],
) -> Placement | None:
    grid = ctx.grid
    earliest, latest = order_window(ctx, d, placed)
    for day in _day_order(ctx, d, options, placed, coach_weeks, guides, prefer):
        if not gap_kept_by(ctx, d, day, placed):
            continue
        taken = 0
        for who in d.attendees:
            taken |= busy.get(who, {}).get(day, 0)
        starts = options[day] & grid.starts_clear_of(taken, d.length)
        for slot in _slot_order(ctx, d, starts, placed, prefer, day):
            at = grid.absolute(day, slot)
            if at < earliest or at > latest:
                continue
            if not d.venues:
                return Placement(day, slot, None)
            span = ((1 << d.length) - 1) << slot
            free_rooms = [
                v
                for v in d.venues
                if not (busy.get(v, {}).get(day, 0) | ctx.blocked.get(v, {}).get(day, 0)) & span
            ]
            if free_rooms:
                week = grid.week(day)
                wanted = prefer.get(d.event_id)
                venue = min(
                    free_rooms,
                    key=lambda v: (
                        not (wanted and wanted.venue == v),
                        venue_weeks.get((v, week), 0),
                        v,
                    ),
                )
                return Placement(day, slot, venue)
    return None


def _day_order(
    ctx: Context,
    d: Demand,
    options: Options,
    placed: Mapping[str, Placement],
    coach_weeks: Mapping[tuple[str, Week], int],
    guides: Mapping[str, Mapping[Week, int]],
    prefer: Mapping[str, Placement],
) -> list[int]:
    grid = ctx.grid
    days = sorted(options)
    wanted = prefer.get(d.event_id)
    key: Callable[[int], tuple[bool | int | Week, ...]]
    if d.kind == "review":
        key = lambda day: (day != (wanted.day if wanted else None), -day)  # noqa: E731
    elif d.kind == "coaching":
        workshop = {
            grid.week(placed[g.event_id].day)
            for g in ctx.groups[d.cohort_id]
            if g.event_id in placed
        }
        coach = d.coach_id or ""
        share = ctx.coach_share(coach, d.month)
        turn = d.index % max(1, len(days))
        # The earliest week with room under the coach's even share: a session whose
        # workshop came early then leaves the late weeks to those that must follow a late
        # workshop (with every session able to use the weeks to the month's end, earliest
        # fit is a largest matching of sessions to room, Hall's condition on suffixes).
        key = lambda day: (  # noqa: E731
            day != (wanted.day if wanted else None),
            grid.week(day) in workshop,
            coach_weeks.get((coach, grid.week(day)), 0) >= share,
            grid.week(day),
            (days.index(day) - turn) % len(days),
        )
    else:
        ref = ctx.reference.get(d.cohort_id)
        rhythm = placed.get(ref) if ref and ref != d.event_id else None
        costs = guides.get(d.event_id, {})
        key = lambda day: (  # noqa: E731
            day != (wanted.day if wanted else None),
            rhythm is not None and grid.weekday(day) != grid.weekday(rhythm.day),
            costs.get(grid.week(day), 0),
            day,
        )
    return sorted(days, key=key)


def _slot_order(
    ctx: Context,
    d: Demand,
    starts: int,
    placed: Mapping[str, Placement],
    prefer: Mapping[str, Placement],
    day: int,
) -> list[int]:
    slots = bits(starts)
    wanted = prefer.get(d.event_id)
    if wanted is not None and wanted.day == day and wanted.slot in slots:
        slots.remove(wanted.slot)
        slots.insert(0, wanted.slot)
        return slots
    if d.kind == "group":
        ref = ctx.reference.get(d.cohort_id)
        rhythm = placed.get(ref) if ref and ref != d.event_id else None
        if rhythm is not None and rhythm.slot in slots:
            slots.remove(rhythm.slot)
            slots.insert(0, rhythm.slot)
    return slots
