"""Re-planning: keep every event whose earlier time is still lawful, move the fewest others.

An earlier placement is kept as a *pin* when every rule about the event alone still holds
there (its month, working days, unavailability, a free venue). Pins that now clash with each
other (an attendee changed, a venue closed) and events without a pin are placed around the
other pins; if they do not fit, the events they share people or venues with in their month
are opened too, then their whole months, then the whole programme. Each search minimises
the number of pins that move first, then the soft goals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cohort_solver.domain.programme_time import minutes_of_day
from cohort_solver.domain.results import Event
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.schedule import explain
from cohort_solver.stages.schedule.context import Context, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.model import CalendarModel
from cohort_solver.stages.schedule.order import after_broken, gap_broken
from cohort_solver.stages.schedule.slots import room_around


def lawful_pins(ctx: Context, previous: Sequence[Event]) -> Plan:
    """Earlier placements that still obey every rule about their event alone."""
    grid = ctx.grid
    pins: Plan = {}
    for e in previous:
        d = ctx.by_id.get(e.event_id)
        if d is None:
            continue
        local = e.start.astimezone(grid.zone).replace(tzinfo=None)
        minutes = minutes_of_day(local) - grid.opens
        if minutes < 0 or minutes % grid.slot_minutes:
            continue
        day, slot = grid.number(local.date()), minutes // grid.slot_minutes
        if not ctx.options[d.event_id].get(day, 0) >> slot & 1:
            continue
        if d.venues:
            span = ((1 << d.length) - 1) << slot
            if e.venue_id not in d.venues or ctx.blocked.get(e.venue_id, {}).get(day, 0) & span:
                continue
        pins[d.event_id] = Placement(day, slot, e.venue_id if d.venues else None)
    return pins


def clashing_pins(ctx: Context, pins: Plan) -> set[str]:
    """Pins that break a rule together: both of each pair (the search picks which moves)."""
    grid = ctx.grid
    out: set[str] = set()
    booked: dict[tuple[str, int], list[tuple[int, int, str]]] = defaultdict(list)
    for eid, p in pins.items():
        d = ctx.by_id[eid]
        for who in (*d.attendees, *([p.venue] if p.venue else [])):
            booked[who, p.day].append((p.slot, p.slot + d.length, eid))
    for mine in booked.values():
        mine.sort()
        for (_, end, first), (start, _, second) in zip(mine, mine[1:], strict=False):
            if start < end:
                out |= {first, second}
    for eid, p in pins.items():
        at = grid.absolute(p.day, p.slot)
        for b in ctx.before[eid]:
            q = pins.get(b.event_id)
            if q is not None and after_broken(at, grid.absolute(q.day, q.slot), b.length):
                out |= {eid, b.event_id}
        for g in ctx.gap_partners.get(eid, ()):
            q = pins.get(g.event_id)
            if q is not None and gap_broken(ctx.gap, ctx.by_id[eid].month, p.day, g.month, q.day):
                out |= {eid, g.event_id}
    return out


def replan(ctx: Context) -> Plan:
    pins = dict(ctx.pins)
    loose = clashing_pins(ctx, pins)
    free = [d for d in ctx.demands if d.event_id not in pins or d.event_id in loose]
    plan = {k: v for k, v in pins.items() if k not in loose}
    if not free:
        return plan
    for widen in (_as_is, _with_neighbours, _whole_months, _everything):
        opened = widen(ctx, free)
        ids = {d.event_id for d in opened}
        fixed = {k: v for k, v in plan.items() if k not in ids}
        placed = _fewest_moved(ctx, opened, fixed)
        if placed is not None:
            plan = {**fixed, **placed}
            ctx.search.reached = "the re-plan placed every event"
            return plan
    raise InfeasibleError(
        "calendar", explain.why_no_skeleton(ctx, [d for d in ctx.demands if d.whole_cohort])
    )


def _as_is(ctx: Context, free: list[Demand]) -> list[Demand]:
    return free


def _with_neighbours(ctx: Context, free: list[Demand]) -> list[Demand]:
    months = {d.month for d in free}
    people = {p for d in free for p in d.attendees}
    venues = {v for d in free for v in d.venues}
    return [
        d
        for d in ctx.demands
        if d.month in months and (set(d.attendees) & people or set(d.venues) & venues)
    ]


def _whole_months(ctx: Context, free: list[Demand]) -> list[Demand]:
    months = {d.month for d in free}
    return [d for d in ctx.demands if d.month in months]


def _everything(ctx: Context, free: list[Demand]) -> list[Demand]:
    return list(ctx.demands)


def _fewest_moved(ctx: Context, free: list[Demand], fixed: Plan) -> Plan | None:
    """Fewest moved pins first, then the soft goals; None if impossible around ``fixed``."""
    options = room_around(ctx, free, fixed)
    if any(not options[d.event_id] for d in free):
        return None
    last = len(free) == len(ctx.demands)
    m = CalendarModel(ctx, free, fixed, options=options)
    m.hint(ctx.pins)
    effort = ctx.search.effort(len(free))
    retries = None if last else 2
    if m.moved:
        m.model.minimize(sum(m.moved.values()))
        solved = ctx.search.until_found(m.model, effort / 2, retries)
        if not solved.found:
            return None
        m.model.add(sum(m.moved.values()) <= round(solved.solver.objective_value))
        m.model.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves clear_hints unannotated
        for d in free:
            m.model.add_hint(m.start[d.event_id], solved.solver.value(m.start[d.event_id]))
    m.model.minimize(m.soft())
    solved = ctx.search.until_found(m.model, effort, retries)
    if not solved.found:
        return None
    return m.extract(solved.solver.value)
