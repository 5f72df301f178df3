"""The hard rules of the contract that link events, one function each.

The rules about one event alone (its month, weekdays, bank holidays, working days,
unavailability, venue size) are in its candidate times already (``slots.py``), and so is
every rule against a fixed event (``room_around``). What is left links free events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from cohort_solver.stages.schedule.grid import bits

if TYPE_CHECKING:
    from cohort_solver.stages.schedule.model import CalendarModel


def add_no_double_booking(m: CalendarModel) -> None:
    """No participant, coach, facilitator, manager or named attendee in two events at once.
    People who attend exactly the same free events (a cohort's participants at its
    workshops) share one constraint."""
    per_person: dict[str, list[str]] = defaultdict(list)
    for d in m.free:
        for person in d.attendees:
            per_person[person].append(d.event_id)
    for events in sorted({tuple(e) for e in per_person.values() if len(e) > 1}):
        m.model.add_no_overlap([m.interval[e] for e in events])


def add_venue_bookings(m: CalendarModel) -> None:
    """A venue hosts one event at a time, and none while it is closed or booked by a fixed
    event (each whole-cohort session has chosen exactly one venue in ``_add_event``)."""
    grid = m.grid
    per_venue: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
    days_of: dict[str, set[int]] = defaultdict(set)
    for d in m.free:
        for v, interval in m.venue_interval.get(d.event_id, {}).items():
            per_venue[v].append(interval)
            days_of[v].update(m.options[d.event_id])
    booked: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for e in m.around:
        p = m.fixed[e.event_id]
        if p.venue in per_venue and p.day in days_of[p.venue]:
            booked[p.venue].append((grid.absolute(p.day, p.slot), e.length, e.event_id))
    for v in sorted(per_venue):
        fixed = [
            m.model.new_fixed_size_interval_var(at, length, f"booked[{v},{eid}]")
            for at, length, eid in sorted(booked[v])
        ]
        for day in sorted(days_of[v]):
            for slot in bits(m.ctx.blocked.get(v, {}).get(day, 0)):
                fixed.append(
                    m.model.new_fixed_size_interval_var(
                        grid.absolute(day, slot), 1, f"closed[{v},{day},{slot}]"
                    )
                )
        if len(per_venue[v]) + len(fixed) > 1:
            m.model.add_no_overlap(per_venue[v] + fixed)


def add_after_order(m: CalendarModel) -> None:
    """A session with `after` starts once the same participant's or cohort's instance of the
    earlier session has ended."""
    for d in m.free:
        for before in m.ctx.before.get(d.event_id, ()):
            if before.event_id in m.free_ids:
                m.model.add(m.start[d.event_id] >= m.interval[before.event_id].end_expr())


def add_group_gap(m: CalendarModel) -> None:
    """One cohort's group sessions at least min_days_between_group_sessions days apart: in
    month order across months, in either order within a month."""
    gap = m.ctx.gap
    if gap <= 0:
        return
    for a in m.free:
        for b in m.ctx.gap_partners.get(a.event_id, ()):
            if b.event_id not in m.free_ids or (b.month, b.index) <= (a.month, a.index):
                continue  # each pair once, from its earlier session
            day_a, day_b = _day_number(m, a.event_id), _day_number(m, b.event_id)
            if b.month > a.month:
                if min(m.options[b.event_id]) - max(m.options[a.event_id]) >= gap:
                    continue  # far enough apart whatever the days
                m.model.add(day_b >= day_a + gap)
                continue
            first = m.model.new_bool_var(f"first[{a.event_id},{b.event_id}]")
            m.model.add(day_b >= day_a + gap).only_enforce_if(first)
            m.model.add(day_a >= day_b + gap).only_enforce_if(~first)


def _day_number(m: CalendarModel, eid: str) -> cp_model.LinearExprT:
    return sum(b * day for day, b in m.days[eid].items())


def add_keep_previous_times(m: CalendarModel) -> None:
    """Re-planning: an event keeps its earlier time and venue unless it is marked moved; the
    number moved is the first objective level."""
    for d in m.free:
        pin = m.ctx.pins.get(d.event_id)
        if pin is None or pin.day not in m.options[d.event_id]:
            continue
        if not m.options[d.event_id][pin.day] >> pin.slot & 1:
            continue  # its old time clashes with something fixed: it must move anyway
        moved = m.model.new_bool_var(f"moved[{d.event_id}]")
        at = m.grid.absolute(pin.day, pin.slot)
        m.model.add(m.start[d.event_id] == at).only_enforce_if(~moved)
        if pin.venue and pin.venue in m.venue.get(d.event_id, {}):
            m.model.add(m.venue[d.event_id][pin.venue] == 1).only_enforce_if(~moved)
        m.moved[d.event_id] = moved


HARD_RULES = (
    add_no_double_booking,
    add_venue_bookings,
    add_after_order,
    add_group_gap,
    add_keep_previous_times,
)
