"""The calendar stage: every session of the programme at a lawful time, close to the best.

``schedule(scenario, selected, matches)`` is the front door; it returns the events of
calendar.csv and a report with each soft goal's value and a lower bound that holds for every
lawful calendar. The parts, one module each: the time grid (``grid``), the events to place
(``events``), their lawful slots (``slots``), the hard rules (``rules``) and
soft goals (``goals``) of the CP-SAT ``model``, the warm start (``construct``) and the guides
the skeleton gets (``guides``), the search policy (``search``), the method (``stage``),
the bounds (``bounds``) and explanations (``explain``). calendar.csv itself is written and
read back in ``stages/export/calendar_csv.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from cohort_solver.domain.results import Decision, Event, Level, Match, StageReport
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InfeasibleError, OutOfTimeError
from cohort_solver.stages.schedule import bounds, explain
from cohort_solver.stages.schedule.context import Context, Plan
from cohort_solver.stages.schedule.events import build_demands, cohort_members
from cohort_solver.stages.schedule.explain import explain_event
from cohort_solver.stages.schedule.goals import Scope, evaluate, weighted
from cohort_solver.stages.schedule.grid import Grid
from cohort_solver.stages.schedule.learning_sets import form_learning_sets
from cohort_solver.stages.schedule.replan import lawful_pins, replan
from cohort_solver.stages.schedule.runs import RunsInfeasible, place_runs, with_fixed_events
from cohort_solver.stages.schedule.search import Search
from cohort_solver.stages.schedule.slots import (
    lawful_slots,
    prune_for_order,
    unavailable_slots,
    working_days,
)
from cohort_solver.stages.schedule.stage import (
    fill,
    improve,
    improve_months,
    place_skeleton,
    units,
)

__all__ = [
    "CalendarResult",
    "explain_event",
    "schedule",
]

# Enough for a national programme (300 cohorts, 40,000 events) on two busy cores.
DEFAULT_TIME_LIMIT = 1800.0


@dataclass(frozen=True)
class CalendarResult:
    events: tuple[Event, ...]
    report: StageReport


def schedule(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 2,
    previous: Sequence[Event] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalendarResult:
    """Place every session of the programme and report each soft goal with a lower bound.

    ``InfeasibleError`` (exit 1) only with a proof; ``OutOfTimeError`` (exit 4) when the time
    limit ends a search before it has used its (deterministic) effort. ``previous``: a re-plan
    that moves as few events as it can (level ``moved_events``), then minds the soft goals.
    """
    began = time.monotonic()
    search = Search(time_limit, workers)
    try:
        try:
            ctx = prepare(scenario, selected, matches, search, previous, progress)
            plan = replan(ctx) if previous is not None else new_calendar(ctx)
        except InfeasibleError as error:
            raise _around_runs(scenario, selected, matches, search, error) from None
        totals = _cheap_total(ctx) if previous is not None else _sharp_total(ctx, plan)
        events = _events(ctx, plan)
        levels = _levels(ctx, plan, previous, totals)
    finally:
        search.close()
    # The objective is the weighted total (after the fewest moves in a re-plan): proven
    # optimal when those levels meet their bounds; each goal's own bound is for reading.
    optimal = all(
        lv.value == lv.bound
        for lv in levels
        if lv.name in ("moved_events", "run_balance", "soft_total")
    )
    report = StageReport(
        stage="calendar",
        status="optimal" if optimal else "feasible",
        levels=tuple(levels),
        seconds=round(time.monotonic() - began, 3),
        solver="CP-SAT",
    )
    return CalendarResult(events=events, report=report)


def _around_runs(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    search: Search,
    error: InfeasibleError,
) -> Exception:
    """A calendar found infeasible around the runs of flexible sessions (placed first) is a
    proof only if the calendar without them is infeasible too: then that is the proof. If
    it is not, nothing is proven (other runs' times might have left room): say so, exit 4."""
    if not any(s.kind == "flexible" for s in scenario.programme):
        return error
    if isinstance(error, RunsInfeasible):
        return error  # the runs' own proof: it holds with every other event left out
    bare = scenario.model_copy(
        update={"programme": tuple(s for s in scenario.programme if s.kind != "flexible")}
    )
    try:
        new_calendar(prepare(bare, selected, matches, search, None, None))
    except InfeasibleError as without_runs:
        return without_runs
    return OutOfTimeError(
        "calendar",
        "the runs of the flexible sessions were placed first, and the rest of the calendar "
        "has no lawful time around them; without the runs it has one, so this is no proof "
        f"({'; '.join(error.causes[:3])})",
        "fix a run's date or time in runs.csv (or leave it blank), add a run, or move the "
        "sessions named above: the runs are then placed again",
    )


def prepare(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    search: Search,
    previous: Sequence[Event] | None,
    progress: Callable[[int, int], None] | None,
) -> Context:
    """The events, their candidate times and the order rules' pruning; a proof of
    infeasibility for any event left with no time at all."""
    grid = Grid(scenario)
    formed = form_learning_sets(scenario, cohort_members(selected), search)
    demands, causes = build_demands(scenario, grid, selected, matches, formed.sets)
    causes = [*formed.causes, *causes]
    if causes:
        raise InfeasibleError("calendar", causes)
    blocked, works = unavailable_slots(scenario, grid), working_days(scenario)
    # Flexible sessions first: their runs then have one lawful time each (runs.py).
    held = with_fixed_events(grid, blocked, demands)
    runs, causes = place_runs(scenario, grid, held, works, selected, search, len(demands))
    if causes:
        raise RunsInfeasible("calendar", causes)
    demands = [*demands, *runs.demands]
    options = {d.event_id: lawful_slots(scenario, grid, blocked, works, d) for d in demands}
    ctx = Context(scenario, grid, blocked, works, demands, options, search, progress=progress)
    ctx.runs_level, ctx.runs_optimal = runs.level, runs.optimal
    empty = [explain.why_no_time(ctx, d) for d in demands if not options[d.event_id]]
    keys = {s.session_key: s for s in scenario.programme}
    for s in scenario.programme:
        if s.after and s.after in keys and keys[s.after].month > s.month:
            empty.append(
                f"{s.session_key} (month {s.month}) must come after {s.after}, which is in "
                f"month {keys[s.after].month}"
            )
    if empty:
        raise InfeasibleError("calendar", empty)
    prune_for_order(grid, demands, options, ctx.gap)
    empty = [explain.why_no_time(ctx, d) for d in demands if not options[d.event_id]]
    if empty:
        raise InfeasibleError("calendar", empty)
    if previous is not None:
        ctx.pins = lawful_pins(ctx, previous)
    search.reached = "the candidate times of every event were computed"
    return ctx


def new_calendar(ctx: Context) -> Plan:
    plan = place_skeleton(ctx)
    fill(ctx, plan)
    ctx.search.reached = "every event was placed and the calendar was being improved"
    improve(ctx, plan)
    improve_months(ctx, plan, lambda month: _month_cost(ctx, plan, month))
    if ctx.progress:
        ctx.progress(len(ctx.whole_of_month) + 1, len(ctx.whole_of_month) + 2)
    return plan


def _cheap_total(ctx: Context) -> int:
    """The soft_total bound from the per-goal bounds only (a re-plan stays quick)."""
    per_goal = bounds.goal_bounds(ctx)
    return bounds.rhythm_bounds(ctx)["both"] + sum(
        v for k, v in per_goal.items() if not k.startswith("rhythm")
    )


def _sharp_total(ctx: Context, plan: Plan) -> int:
    """The soft_total bound: rhythm and reviews goal by goal; each coach's month at its own
    relaxed bound (where its calendar costs more than the per-goal floor); and per month,
    the venues together with that month's coaches at the largest of three bounds of the same
    penalties: their separate bounds, the joint one with the coaches whose sessions follow
    its workshops (``bounds.month_bound``), and the joint one over ISO weeks with every coach
    (``bounds.month_week_bound``, only where the calendar costs more than the other two and
    the month is small enough for it)."""
    ctx.search.reached = "a calendar was found and its lower bound was being computed"
    w = ctx.weights
    mine = units(ctx)
    bounds.unit_bounds(ctx, [u for u in mine if u.cost(ctx, plan) > u.floor(ctx)])
    unit_lb = {u.key: max(u.floor(ctx), ctx.unit_bounds.get(u.key, 0)) for u in mine}
    total = bounds.rhythm_bounds(ctx)["both"] + w["review_days_before_month_end"] * sum(
        bounds.review_days(ctx, d) for d in ctx.of_kind["review"]
    )
    months = sorted(ctx.whole_of_month)
    joint_months = [m for m in months if bounds.chained_units(ctx, m)]
    joint = dict(
        zip(
            joint_months,
            ctx.search.map(
                lambda m: bounds.month_bound(ctx, m, _month_cost(ctx, plan, m)), joint_months
            ),
            strict=True,
        )
    )
    best: dict[int, int] = {}
    for month in months:
        coaches = [k for k in unit_lb if k[0] == "coach" and k[2] == str(month)]
        chained = {("coach", c, str(month)) for c in bounds.chained_units(ctx, month)}
        separate = w["venue_week_overload"] * bounds.month_venue_deficit(ctx, month)
        separate += sum(unit_lb[k] for k in coaches)
        best[month] = separate
        if month in joint:
            others = sum(unit_lb[k] for k in coaches if k not in chained)
            best[month] = max(separate, joint[month] + others)
    weekly = [
        m
        for m in months
        if bounds.week_bound_size(ctx, m) <= bounds.WEEK_BOUND_EVENTS
        and _month_cost(ctx, plan, m) > best[m]
    ]
    for month, b in zip(
        weekly, ctx.search.map(lambda m: bounds.month_week_bound(ctx, m), weekly), strict=True
    ):
        best[month] = max(best[month], b)
    total += sum(best.values())
    total += sum(b for key, b in unit_lb.items() if key[0] == "coach" and int(key[2]) not in best)
    if ctx.progress:
        ctx.progress(len(ctx.whole_of_month) + 2, len(ctx.whole_of_month) + 2)
    return total


def _month_cost(ctx: Context, plan: Plan, month: int) -> int:
    """The calendar's venue overloads of ``month`` and its coaches' penalties that month."""
    coaching = {d.event_id for d in ctx.of_kind["coaching"] if d.month == month}
    scope = Scope(
        cohorts=set(),
        coaching=coaching,
        reviews=set(),
        coach_months={k for k in ctx.coaching_of if k[1] == month},
        venue_months={month},
    )
    return weighted(ctx, evaluate(ctx, plan, scope))


def _levels(
    ctx: Context, plan: Plan, previous: Sequence[Event] | None, total_bound: int
) -> list[Level]:
    w = ctx.weights
    counts = evaluate(ctx, plan)
    per_goal = bounds.goal_bounds(ctx)
    levels = []
    if ctx.runs_level is not None:  # the runs are placed first: their level comes first
        levels.append(ctx.runs_level)
    if previous is not None:
        before = {e.event_id: e for e in previous}
        moved = sum(
            1
            for d in ctx.demands
            if d.event_id in before
            and (d.event_id not in ctx.pins or plan[d.event_id] != ctx.pins[d.event_id])
        )
        forced = sum(1 for d in ctx.demands if d.event_id in before and d.event_id not in ctx.pins)
        levels.append(Level(name="moved_events", sense="min", value=moved, bound=forced))
    for name in w:
        value = w[name] * counts[name]
        levels.append(Level(name=name, sense="min", value=value, bound=per_goal[name]))
    total = weighted(ctx, counts)
    levels.append(Level(name="soft_total", sense="min", value=total, bound=total_bound))
    return levels


def _events(ctx: Context, plan: Plan) -> tuple[Event, ...]:
    grid = ctx.grid
    out = []
    for d in ctx.demands:
        p = plan[d.event_id]
        start = grid.moment(p.day, p.slot)
        out.append(
            Event(
                event_id=d.event_id,
                session_key=d.key,
                title=d.session.title,
                kind=d.session.kind,
                cohort_id=d.cohort_id,
                start=start,
                end=start + timedelta(minutes=d.session.duration_minutes),
                venue_id=p.venue or None,
                attendee_ids=d.attendees,
            )
        )
    return tuple(sorted(out, key=lambda e: (e.start, e.event_id)))
