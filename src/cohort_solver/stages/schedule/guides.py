"""What the skeleton is told about the events placed after it.

The skeleton places whole-cohort sessions before any coaching or review exists, so it gets
two guides, both derived from the candidate times alone (never from a search):

- **rhythm costs**: a cohort's first group session sets the weekday and start time the
  others should keep, so each (weekday, time) pair it may take costs what its later group
  sessions would pay at best against it (each at its own best candidate), less the best
  pair's; its targets are the pairs that cost nothing;
- **week guides**: the cost a session's ISO week is expected to cause its cohort's coaching,
  which avoids workshop weeks and is shared evenly over a coach's weeks. Coaching that must
  follow a workshop (``after``) also loses the weeks before it, so a workshop late in its
  month can leave a coach too few weeks;
- **week plans**: in a month whose coaching must follow its workshops, the ISO week each
  whole-cohort session takes in the best calendar found of ``bounds.month_relaxation`` (a
  venue and a week per session, the coaches' room after their workshops; times within the
  week left out). The skeleton's one-by-one warm start cannot see that trade-off between
  venues shared within a week and coaches short of weeks: a national month's greedy start
  cost 336 where the relaxation's plan costs 174, and the search from there found nothing
  better within its effort. So the skeleton also starts from the plan, and keeps whichever
  start its own objective prefers.

Guides steer the search; they are never part of the reported soft objective.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from cohort_solver.stages.schedule.context import Context
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Week, bits
from cohort_solver.stages.schedule.slots import Options


def rhythm_costs(ctx: Context) -> dict[str, dict[tuple[int, int], int]]:
    """Per cohort's rhythm-setting session: for each (weekday, start) pair it may take, the
    rhythm penalty its other group sessions would pay at best (each at its own best
    candidate against it), less that of the best pair: what the pair costs the months ahead."""
    weights = ctx.weights
    out: dict[str, dict[tuple[int, int], int]] = {}
    for cohort, ref in sorted(ctx.reference.items()):
        others = [g for g in ctx.groups[cohort] if g.event_id != ref]
        seen = []
        for g in others:
            pairs = _pairs(ctx, ctx.options[g.event_id])
            seen.append((pairs, {w for w, _ in pairs}, {s for _, s in pairs}))
        cost: dict[tuple[int, int], int] = {}
        for pair in sorted(_pairs(ctx, ctx.options[ref])):
            w, s = pair
            cost[pair] = sum(
                0
                if pair in pairs
                else min(
                    weights["rhythm_time"] + (0 if w in days else weights["rhythm_weekday"]),
                    weights["rhythm_weekday"] + (0 if s in slots else weights["rhythm_time"]),
                )
                for pairs, days, slots in seen
            )
        if cost:
            best = min(cost.values())
            out[ref] = {pair: c - best for pair, c in cost.items()}
    return out


def rhythm_targets(ctx: Context) -> dict[str, Options]:
    """Per cohort's rhythm-setting session: its candidate times at the (weekday, start)
    pairs that cost the months ahead nothing (``rhythm_costs``), the earliest such start of
    each weekday (no goal prefers one start time to another, and short lists search fast)."""
    out: dict[str, Options] = {}
    for ref, cost in rhythm_costs(ctx).items():
        tied = {pair for pair, c in cost.items() if c == 0}
        keep = {(w, min(s for v, s in tied if v == w)) for w in {w for w, _ in tied}}
        allowed: Options = {}
        for day, mask in ctx.options[ref].items():
            kept = sum(1 << s for s in bits(mask) if (ctx.grid.weekday(day), s) in keep)
            if kept:
                allowed[day] = kept
        out[ref] = allowed
    return out


def _pairs(ctx: Context, options: Options) -> set[tuple[int, int]]:
    return {(ctx.grid.weekday(day), s) for day, mask in options.items() for s in bits(mask)}


def fill_guides(ctx: Context) -> dict[str, dict[Week, int]]:
    """Per group session: for each ISO week it may take, the coaching cost that week is
    expected to cause (its cohort's coaching of that month and of months sharing the week),
    relative to its best week."""
    grid = ctx.grid
    out: dict[str, dict[Week, int]] = {}
    for cohort, groups in sorted(ctx.groups.items()):
        coaching: dict[int, list[Demand]] = defaultdict(list)
        for d in ctx.cohort_kind[cohort, "coaching"]:
            coaching[d.month].append(d)
        for g in groups:
            weeks = sorted({grid.week(day) for day in ctx.options[g.event_id]})
            costs = {w: _week_cost(ctx, g, w, coaching) for w in weeks}
            if costs and max(costs.values()) > min(costs.values()):
                low = min(costs.values())
                out[g.event_id] = {w: c - low for w, c in costs.items()}
    return out


def _week_cost(ctx: Context, g: Demand, week: Week, coaching: dict[int, list[Demand]]) -> int:
    grid, weights = ctx.grid, ctx.weights
    cost = 0
    for month in (g.month - 1, g.month, g.month + 1):
        if not coaching.get(month) or week not in grid.month_weeks(month):
            continue
        per_coach: dict[str, list[set[Week]]] = defaultdict(list)
        for e in coaching[month]:
            if g in ctx.before[e.event_id]:
                continue  # the skeleton model counts the room left after its workshop
            usable = {grid.week(day) for day in ctx.options[e.event_id]} - {week}
            if not usable:
                cost += min(weights["coaching_in_workshop_week"], weights["coach_week_overload"])
                continue
            for coach in ctx.coaches_at(e):
                per_coach[coach].append(usable)
        for coach, mine in per_coach.items():
            share = ctx.coach_share(coach, month)
            room = share * len(set().union(*mine))
            cost += weights["coach_week_overload"] * max(0, len(mine) - room)
    return cost


# What leaving its planned week costs a session in the warm start built from a week plan:
# more than any other cost of one placement (the largest weight is 10), so the greedy start
# keeps the plan wherever the exact rules let it.
PLAN_COST = 20
# The fewest whole-cohort sessions a month needs for a week plan. The skeleton's own search
# finds the trade-off in smaller months, and a plan there only misled it (measured: the
# tight 10-cohort benchmark, 52 without a plan and 59 with one; a national month of 300
# sessions, 336 without and 210 with).
PLAN_SESSIONS = 100
# Effort of a week plan's search per session, relative to a first search: the relaxation of
# a national month (300 sessions) finds its plan at the first effort; more bought nothing.
PLAN_SCALE = 5.0


def week_plans(
    ctx: Context,
    free: Sequence[Demand],
    options: Mapping[str, Options],
    least: int | None = None,
) -> dict[str, Week]:
    """The planned ISO week of each whole-cohort session of a month in ``free`` with more
    than ``least`` of them (default ``PLAN_SESSIONS``) whose coaching must follow its workshops, its weeks taken from
    ``options`` (the times left around the events placed so far). Empty where there is
    no such month, or no plan is found within the search's effort."""
    from cohort_solver.stages.schedule.bounds import chained_units, month_relaxation

    least = PLAN_SESSIONS if least is None else least
    months = sorted({d.month for d in free if d.whole_cohort})
    free_ids = {d.event_id for d in free}
    out: dict[str, Week] = {}
    for month in months:
        sessions = ctx.whole_of_month[month]
        if len(sessions) <= least or not chained_units(ctx, month):
            continue
        if any(d.event_id not in free_ids for d in sessions):
            continue
        model, pick = month_relaxation(ctx, month, options)
        effort = ctx.search.effort(len(sessions), PLAN_SCALE)
        solved = ctx.search.until_found(model, effort, retries=0)
        if solved.found:
            for eid, lits in pick.items():
                out[eid] = next(week for (_, week), lit in lits.items() if solved.solver.value(lit))
    return out


def keeping_weeks(
    ctx: Context,
    guides: Mapping[str, Mapping[Week, int]],
    weeks: Mapping[str, Week],
    options: Mapping[str, Options],
) -> dict[str, dict[Week, int]]:
    """The guides, with ``PLAN_COST`` more for each session in ``weeks`` in every ISO week
    of its ``options`` but that one: what a warm start that keeps those weeks is built on."""
    out = {eid: dict(costs) for eid, costs in guides.items()}
    for eid, kept in weeks.items():
        mine = out.setdefault(eid, {})
        for week in {ctx.grid.week(day) for day in options[eid]} - {kept}:
            mine[week] = mine.get(week, 0) + PLAN_COST
    return out
