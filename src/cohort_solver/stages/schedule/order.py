"""The two order rules between events, each written once: `after` and the group gap.

Every part of the calendar stage that tests a pair of placed events (the greedy
construction, the re-plan's pins, the skeleton's placement model, the room left around fixed
events, the explanations) asks these functions. The CP-SAT rules (``rules.add_after_order``,
``rules.add_group_gap``) and the pruning of candidate times (``slots.prune_for_order``) state
the same rules as constraints and bounds over times not yet chosen; the independent checker
(``checks/calendar.py``) keeps its own reading of them, so a mistake here is caught there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cohort_solver.stages.schedule.events import Demand

if TYPE_CHECKING:
    from cohort_solver.stages.schedule.context import Context, Placement

FAR = 1 << 40  # further than any slot of any programme


def after_broken(start: int, before_start: int, before_length: int) -> bool:
    """A session with `after` starting (absolute slot) before the earlier session has ended."""
    return start < before_start + before_length


def gap_broken(gap: int, month_a: int, day_a: int, month_b: int, day_b: int) -> bool:
    """Two group sessions of one cohort closer than the group gap (day numbers): across
    months in month order, the later month's at least ``gap`` days after the earlier's;
    within a month at least ``gap`` days apart in either order."""
    if month_a < month_b:
        return day_b < day_a + gap
    if month_a > month_b:
        return day_a < day_b + gap
    return abs(day_a - day_b) < gap


def order_window(ctx: Context, d: Demand, placed: Mapping[str, Placement]) -> tuple[int, int]:
    """The earliest and latest absolute start of ``d`` that `after` leaves, given the events
    already placed: after every earlier session has ended, ending before every later one."""
    grid = ctx.grid
    earliest, latest = -FAR, FAR
    for b in ctx.before.get(d.event_id, ()):
        p = placed.get(b.event_id)
        if p is not None:
            earliest = max(earliest, grid.absolute(p.day, p.slot) + b.length)
    for f in ctx.later.get(d.event_id, ()):
        p = placed.get(f.event_id)
        if p is not None:
            latest = min(latest, grid.absolute(p.day, p.slot) - d.length)
    return earliest, latest


def gap_kept_by(ctx: Context, d: Demand, day: int, placed: Mapping[str, Placement]) -> bool:
    """Whether ``d`` on ``day`` keeps the group gap to its cohort's placed group sessions."""
    for b in ctx.gap_partners.get(d.event_id, ()):
        p = placed.get(b.event_id)
        if p is not None and gap_broken(ctx.gap, b.month, p.day, d.month, day):
            return False
    return True
