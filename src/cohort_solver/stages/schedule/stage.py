"""The method: a lawful calendar whenever one exists, close to the best, in fixed steps.

1. **Skeleton.** The whole-cohort sessions (group sessions and cohort events), month by month,
   each month with the next one in view, every cohort's in one model (``skeleton.py``): venues,
   facilitators, the gap and each cohort's rhythm are exact there, and it counts the room the
   coaching that must follow a workshop will need. ``guides.py`` adds what it knows of the
   rest of the coaching.
2. **Fill.** Given the skeleton, months share no rule and no goal, and within a month events
   that share no attendee share none either: every linked group of coaching and reviews is
   its own small model, side by side on the worker threads.
3. **Improve.** Every unit (a coach's month, a review) that costs more than its own lower
   bound is re-solved with the events around it; independent ones side by side.

**No dead ends.** Whatever a step cannot place is re-solved with more of the calendar open:
a skeleton window with every candidate time, then with the months before it; a linked group
with its cohorts' sessions of the month, then the whole month, then the month alone and the
whole programme as one model, whose search effort doubles until it finds a calendar or
proves there is none. "Infeasible" is only said of a relaxation: an event with no lawful
time, the skeleton (every whole-cohort session and every rule among them), a month on its
own, or the whole programme.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.schedule import explain
from cohort_solver.stages.schedule.construct import greedy
from cohort_solver.stages.schedule.context import Context, Overlay, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.goals import Scope, evaluate, scope_of, weighted
from cohort_solver.stages.schedule.grid import Week
from cohort_solver.stages.schedule.guides import (
    fill_guides,
    keeping_weeks,
    rhythm_costs,
    rhythm_targets,
    week_plans,
)
from cohort_solver.stages.schedule.model import CalendarModel
from cohort_solver.stages.schedule.skeleton import SkeletonModel
from cohort_solver.stages.schedule.slots import Options, room_around

# Effort of an improvement search, per event, relative to a first search.
IMPROVE_SCALE = 2.0
# Effort of a skeleton search per session, relative to a first search of other events: its
# placements are few, but presolve and the LP take their share before the search starts.
SKELETON_SCALE = 5.0
# Venues a whole-cohort session may choose from in an improvement search.
NEIGHBOURHOOD_VENUES = 4
# The most events a month may have for ``improve_months`` to re-solve it with a neighbour.
MONTH_PAIR_EVENTS = 300
# The most events a linked group of coaching and reviews may have for ``fill_group`` to
# improve its warm start in one model.
FILL_MODEL_EVENTS = 1000
# Months after the one being placed that its skeleton search also sees.
LOOKAHEAD = 1


@dataclass
class Part:
    """The outcome of one search over some free events around fixed ones."""

    status: str  # "found", "infeasible" (proved, around these fixed events) or "undecided"
    plan: Plan
    optimal: bool = False


def solve_free(
    ctx: Context,
    free: Sequence[Demand],
    fixed: Mapping[str, Placement],
    *,
    guides: Mapping[str, Mapping[Week, int]] | None = None,
    restrict: Mapping[str, Options] | None = None,
    prefer: Mapping[str, Placement] | None = None,
    scale: float = 1.0,
    retries: int | None = 2,
    floor: int | None = None,
) -> Part:
    """Place ``free`` around ``fixed``, minimising the soft goals (and guides). ``floor``:
    a lower bound of the free events' penalties; a warm start that meets it is optimal."""
    options = room_around(ctx, free, fixed)
    if restrict:
        for eid, allowed in restrict.items():
            if eid in options:
                options[eid] = {
                    day: mask & allowed[day]
                    for day, mask in options[eid].items()
                    if mask & allowed.get(day, 0)
                }
    if any(not options[d.event_id] for d in free):
        return Part("infeasible", {})
    warm = greedy(ctx, free, fixed, options, guides, prefer)
    complete = len(warm) == len(free)
    if complete and floor is not None and _cost(ctx, warm, fixed, free) <= floor:
        return Part("found", warm, True)  # the warm start meets a lower bound: optimal
    m = CalendarModel(ctx, free, fixed, options=options, guides=guides)
    m.hint({**warm, **{k: v for k, v in (prefer or {}).items() if k not in warm}})
    m.model.minimize(m.objective())
    solved = ctx.search.until_found(m.model, ctx.search.effort(len(free), scale), retries)
    if solved.infeasible:
        return Part("infeasible", {})
    if not solved.found:
        return Part("found", warm) if complete else Part("undecided", {})
    plan = m.extract(solved.solver.value)
    if complete and _cost(ctx, warm, fixed, free) < _cost(ctx, plan, fixed, free):
        return Part("found", warm)  # a search does not always take its hint up: keep the better
    return Part("found", plan, solved.optimal)


def _cost(ctx: Context, plan: Plan, fixed: Mapping[str, Placement], free: Sequence[Demand]) -> int:
    return weighted(ctx, evaluate(ctx, Overlay(fixed, plan), scope_of(ctx, free)))


# --------------------------------------------------------------------------- 1. skeleton


def place_skeleton(ctx: Context) -> Plan:
    """Every whole-cohort session, month by month: each month is solved together with the
    next one (whose sessions the gap rule and shared ISO weeks tie to it) around the months
    already placed, and only its own sessions are kept. A month that does not fit is solved
    together with the months before it, one more each time, down to the whole skeleton."""
    months = sorted(ctx.whole_of_month)
    guides = fill_guides(ctx)
    targets = rhythm_targets(ctx)
    ref_costs = rhythm_costs(ctx)
    plan: Plan = {}
    ahead: Plan = {}  # the next month as the last window placed it: a hint
    for done in range(len(months)):
        first = done
        while True:
            window = months[first : done + LOOKAHEAD + 1]
            free = [d for m in window for d in ctx.whole_of_month[m]]
            fixed = {k: v for k, v in plan.items() if ctx.by_id[k].month < months[first]}
            hint = {**plan, **ahead}
            part = solve_skeleton(ctx, free, fixed, guides, ref_costs, hint)
            if part.status != "found":
                part = solve_free(ctx, free, fixed, guides=guides, restrict=targets, prefer=hint)
            if part.status != "found" and targets:
                part = solve_free(ctx, free, fixed, guides=guides, prefer=hint)
            if part.status == "found":
                break
            if first == 0:
                if part.status == "infeasible":
                    raise InfeasibleError("calendar", explain.why_no_skeleton(ctx, free))
                part = solve_free(ctx, free, fixed, guides=guides, retries=None)
                break
            first -= 1
        kept = set(months[first : done + 1])
        for eid, p in part.plan.items():
            if ctx.by_id[eid].month in kept:
                plan[eid] = p
        ahead = {k: v for k, v in part.plan.items() if ctx.by_id[k].month not in kept}
        ctx.search.reached = (
            f"the whole-cohort sessions of {done + 1} of {len(months)} months were placed"
        )
        _progress(ctx, done + 1)
    return plan


def solve_skeleton(
    ctx: Context,
    free: Sequence[Demand],
    fixed: Mapping[str, Placement],
    guides: Mapping[str, Mapping[Week, int]],
    ref_costs: Mapping[str, Mapping[tuple[int, int], int]],
    prefer: Mapping[str, Placement],
) -> Part:
    """Whole-cohort sessions on their short lists of placements (``skeleton.py``), from the
    best of the model's own warm starts (greedy; greedy along the week plan of
    ``guides.week_plans``, where one is made; greedy from the placements the last window
    gave these sessions, ``prefer``), never worse than it; not found there says nothing
    about the full candidate times, so it is "undecided"."""
    options = room_around(ctx, free, fixed)
    if any(not options[d.event_id] for d in free):
        return Part("infeasible", {})
    m = SkeletonModel(ctx, free, fixed, options, guides, ref_costs)
    if m.empty:
        return Part("undecided", {})
    warm, cost = m.construct(guides)
    if len(warm) == len(free) and cost == 0:
        return Part("found", warm, True)  # nothing to gain: every cost is zero
    m.build(guides)
    m.model.minimize(m.objective())
    starts = [warm]
    plans = week_plans(ctx, free, options)
    if plans:
        starts.append(m.construct(keeping_weeks(ctx, guides, plans, options))[0])
    if any(d.event_id in prefer for d in free):
        # The last window's search has often improved on the start it had (a national
        # month: 336 greedy, 273 planned, 210 from the last window; the sweep: 6,970 in all
        # with this start, 7,202 without).
        starts.append(m.construct(guides, keep=prefer)[0])
    warm, hinted = _best_start(ctx, m, [s for s in starts if len(s) == len(free)])
    complete = hinted is not None
    if not complete and len(starts[0]) < len(free):
        m.hint(starts[0])  # no complete start holds the hints: the greedy one's placements
    solved = ctx.search.until_found(
        m.model, ctx.search.effort(len(free), SKELETON_SCALE), retries=1
    )
    if not solved.found or hinted is not None and round(solved.solver.objective_value) >= hinted:
        return Part("found", warm) if complete else Part("undecided", {})
    return Part("found", m.extract(solved.solver.value), solved.optimal)


def _best_start(ctx: Context, m: SkeletonModel, starts: Sequence[Plan]) -> tuple[Plan, int | None]:
    """Of complete warm starts, the one the skeleton's objective prefers (the first on a
    tie), with its objective; the model is left hinted with exactly that start. None if
    no start is lawful on the model (a partial start is hinted by the caller)."""
    scored: list[tuple[int, int, Plan]] = []
    for start in starts:
        value = ctx.search.complete_hint(m.model, m.decisions(start))
        if value is not None:
            scored.append((value, len(scored), start))
    if not scored:
        return {}, None
    value, i, best = min(scored, key=lambda t: (t[0], t[1]))
    if i != len(scored) - 1:  # the last start scored holds the hints: hint the best again
        ctx.search.complete_hint(m.model, m.decisions(best))
    return best, value


# --------------------------------------------------------------------------- 2. fill


def linked(demands: Sequence[Demand]) -> list[list[Demand]]:
    """The events in groups linked by a shared attendee or candidate venue, in input order."""
    parent = list(range(len(demands)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, d in enumerate(demands):
        for key in (*d.attendees, *(f"venue:{v}" for v in d.venues)):
            if key in first:
                parent[root(i)] = root(first[key])
            else:
                first[key] = i
    groups: dict[int, list[Demand]] = defaultdict(list)
    for i, d in enumerate(demands):
        groups[root(i)].append(d)
    return list(groups.values())


def fill_groups(ctx: Context) -> list[list[Demand]]:
    """Each month's coaching and reviews in linked groups, month order then input order."""
    out = []
    for month in ctx.months:
        mine = [d for d in ctx.demands if d.month == month and not d.whole_cohort]
        out.extend(linked(mine))
    return out


def group_floor(ctx: Context, group: Sequence[Demand]) -> int:
    """The per-goal floors of a linked group's penalties, added up (weighted)."""
    from cohort_solver.stages.schedule.bounds import coach_overflow, review_days

    w = ctx.weights
    coaches = sorted({(c, d.month) for d in group for c in ctx.coaches_at(d)})
    return w["review_days_before_month_end"] * sum(
        review_days(ctx, d) for d in group if d.kind == "review"
    ) + w["coach_week_overload"] * sum(coach_overflow(ctx, c, m) for c, m in coaches)


def fill(ctx: Context, plan: Plan) -> None:
    """Every linked group of coaching and reviews around the skeleton, side by side; a group
    that does not fit is re-solved with more of its month open (``place_stuck``)."""
    groups = fill_groups(ctx)
    skeleton = dict(plan)
    parts = ctx.search.map(lambda group: fill_group(ctx, group, skeleton), groups)
    stuck = []
    for group, part in zip(groups, parts, strict=True):
        if part.status == "found":
            plan.update(part.plan)
        else:
            stuck.append(group)
    ctx.search.reached = (
        f"the skeleton and {len(groups) - len(stuck)} of {len(groups)} linked groups of "
        "coaching and reviews were placed"
    )
    for group in stuck:
        place_stuck(ctx, plan, group)


def fill_group(ctx: Context, group: Sequence[Demand], skeleton: Mapping[str, Placement]) -> Part:
    """One linked group around the skeleton. A group of more than ``FILL_MODEL_EVENTS``
    events keeps its warm start when that places every event: ``improve`` then mends each
    coach's month and review above its bound in a neighbourhood of its own. (Heads of
    service shared across a national programme link a month's coaching and reviews into
    one group of 6,900 events; its model ran for over ten minutes to improve the start.)"""
    if len(group) > FILL_MODEL_EVENTS:
        warm = greedy(ctx, group, skeleton, room_around(ctx, group, skeleton))
        if len(warm) == len(group):
            return Part("found", warm)
    return solve_free(ctx, group, skeleton, floor=group_floor(ctx, group))


def place_stuck(ctx: Context, plan: Plan, group: Sequence[Demand]) -> None:
    """A linked group with no lawful time around the calendar so far: open its cohorts'
    whole-cohort sessions of the month with it, then the whole month, then (a proof or a
    calendar either way) the month alone and the whole programme."""
    month = group[0].month
    cohorts = {d.cohort_id for d in group}
    own = [d for d in ctx.whole_of_month[month] if d.cohort_id in cohorts]
    whole_month = [d for d in ctx.demands if d.month == month]
    placed_fills = {d.event_id for d in whole_month if d.event_id in plan and not d.whole_cohort}
    for free in (
        [*own, *group],
        [d for d in whole_month if d.whole_cohort or d.event_id not in placed_fills or d in group],
        whole_month,
    ):
        ids = {d.event_id for d in free}
        fixed = {k: v for k, v in plan.items() if k not in ids}
        part = solve_free(ctx, free, fixed, prefer=plan)
        if part.status == "found":
            plan.update(part.plan)
            return
    alone = solve_free(ctx, whole_month, {}, retries=None)
    if alone.status == "infeasible":
        raise InfeasibleError("calendar", [explain.why_month_full(ctx, month, whole_month)])
    whole = solve_free(ctx, ctx.demands, {}, prefer=plan, retries=None)
    if whole.status == "infeasible":
        raise InfeasibleError("calendar", explain.why_not_together(ctx, month))
    plan.clear()
    plan.update(whole.plan)


# --------------------------------------------------------------------------- 3. improve


@dataclass(frozen=True)
class Unit:
    """The penalties of one coach in one month, or of one review: what the improvement step
    and the lower bound work on (a linked group can be a whole month of shared coaches)."""

    key: tuple[str, ...]
    events: tuple[Demand, ...]

    def scope(self, ctx: Context) -> Scope:
        coaching = {d.event_id for d in self.events if d.kind == "coaching"}
        return Scope(
            cohorts=set(),
            coaching=coaching,
            reviews={d.event_id for d in self.events if d.kind == "review"},
            coach_months={(self.key[1], self.events[0].month)} if coaching else set(),
            venue_months=set(),
        )

    def floor(self, ctx: Context) -> int:
        """The unit's penalties bounded goal by goal (weighted)."""
        from cohort_solver.stages.schedule.bounds import coach_overflow, review_days

        w = ctx.weights
        if self.key[0] == "coach":
            return w["coach_week_overload"] * coach_overflow(ctx, self.key[1], self.events[0].month)
        return w["review_days_before_month_end"] * review_days(ctx, self.events[0])

    def cost(self, ctx: Context, plan: Mapping[str, Placement]) -> int:
        return weighted(ctx, evaluate(ctx, plan, self.scope(ctx)))


def units(ctx: Context) -> list[Unit]:
    out = [
        Unit(("coach", coach, str(month)), tuple(mine))
        for (coach, month), mine in sorted(ctx.coaching_of.items())
    ]
    out += [Unit(("review", d.event_id), (d,)) for d in ctx.of_kind["review"]]
    return out


def improve(ctx: Context, plan: Plan) -> None:
    """Re-solve every unit that costs more than its own lower bound together with the events
    it shares people with in its month and the whole-cohort sessions its goals see; keep the
    result only if the calendar gets better. Units whose neighbourhoods share nothing (no
    person or venue in a month, no cohort, no coach's month) are solved side by side, in
    waves formed in a fixed order, so the result is the same as one by one."""
    from cohort_solver.stages.schedule.bounds import unit_bounds

    mine = units(ctx)
    above = [u for u in mine if u.cost(ctx, plan) > u.floor(ctx)]
    unit_bounds(ctx, above)
    todo = [u for u in above if u.cost(ctx, plan) > ctx.unit_bounds.get(u.key, u.floor(ctx))]
    while todo:
        wave: list[list[Demand]] = []
        later: list[Unit] = []
        taken: set[tuple[str, ...]] = set()
        for unit in todo:
            free = neighbourhood(ctx, unit.events)
            keys = footprint(ctx, free)
            if keys & taken:
                later.append(unit)
            else:
                taken |= keys
                wave.append(free)
        for part in ctx.search.map(lambda f: _improve(ctx, plan, f), wave):
            if part is not None:
                plan.update(part)
        todo = [u for u in later if u.cost(ctx, plan) > ctx.unit_bounds.get(u.key, u.floor(ctx))]


def improve_months(ctx: Context, plan: Plan, cost: Callable[[int], int]) -> None:
    """Large neighbourhoods: every event of two consecutive months re-solved together around
    the rest, for each month whose venue and coach penalties (``cost``) are above their
    lower bound (``bounds.month_week_bound``), first with the month after it, then with the
    month before. What a month's own re-solve cannot mend often needs its neighbour to move
    (the group gap ties a cohort's sessions across months). Only months of at most
    ``MONTH_PAIR_EVENTS`` events each (a model of two national months would be slow);
    kept only if the calendar gets better, one pair at a time in month order."""
    from cohort_solver.stages.schedule.bounds import month_week_bound

    of_month: dict[int, list[Demand]] = defaultdict(list)
    for d in ctx.demands:
        of_month[d.month].append(d)
    for month in sorted(ctx.whole_of_month):
        if len(of_month[month]) > MONTH_PAIR_EVENTS or cost(month) <= month_week_bound(ctx, month):
            continue
        for other in (month + 1, month - 1):
            if other in of_month and len(of_month[other]) <= MONTH_PAIR_EVENTS:
                free = sorted([*of_month[month], *of_month[other]], key=lambda d: d.index)
                if _improve(ctx, plan, free, few_venues=False) is not None and cost(month) <= (
                    month_week_bound(ctx, month)
                ):
                    break


def _improve(
    ctx: Context, plan: Plan, free: list[Demand], *, few_venues: bool = True
) -> Plan | None:
    """One neighbourhood: its better placements, or None. A whole-cohort session keeps its
    venue or takes one of a few that are free in its weeks (a search over every venue of a
    national programme is slow, and this one only has to improve on the calendar)."""
    if few_venues:
        free = [_few_venues(ctx, plan, d) if d.venues else d for d in free]
    ids = {d.event_id for d in free}
    fixed = {k: v for k, v in plan.items() if k not in ids}
    before = _cost(ctx, {k: plan[k] for k in ids}, fixed, free)
    part = solve_free(ctx, free, fixed, prefer=plan, scale=IMPROVE_SCALE)
    if part.status == "found" and _cost(ctx, part.plan, fixed, free) < before:
        if not few_venues:  # one neighbourhood at a time: keep it now
            plan.update(part.plan)
        return part.plan
    return None


def _few_venues(ctx: Context, plan: Plan, d: Demand) -> Demand:
    """``d`` with its current venue and the few others with the most free weeks it can use."""
    from dataclasses import replace

    if len(d.venues) <= NEIGHBOURHOOD_VENUES:
        return d
    grid = ctx.grid
    weeks = {grid.week(day) for day in ctx.options[d.event_id]}
    booked: dict[str, set[Week]] = defaultdict(set)
    for e in ctx.whole_of_month[d.month]:
        p = plan.get(e.event_id)
        if p is not None and p.venue and e.event_id != d.event_id:
            booked[p.venue].add(grid.week(p.day))
    current = plan[d.event_id].venue if d.event_id in plan else None
    ranked = sorted(d.venues, key=lambda v: (v != current, -len(weeks - booked[v]), v))
    return replace(d, venues=tuple(sorted(ranked[:NEIGHBOURHOOD_VENUES])))


def footprint(ctx: Context, free: Sequence[Demand]) -> set[tuple[str, ...]]:
    """What a neighbourhood's search reads or changes: people and venues in its months, its
    cohorts (rhythm, coaching and reviews against their workshops), its coaches' months."""
    keys: set[tuple[str, ...]] = set()
    for d in free:
        month = str(d.month)
        keys.update(("person", who, month) for who in d.attendees)
        keys.update(("venue", v, month) for v in d.venues)
        keys.add(("cohort", d.cohort_id))
        keys.update(("coach", c, month) for c in ctx.coaches_at(d))
    return keys


def neighbourhood(ctx: Context, seeds: Sequence[Demand]) -> list[Demand]:
    """The seeds, the coaching and reviews of their month that share a person with them,
    and the whole-cohort sessions their goals see (``sessions_near``)."""
    month = seeds[0].month
    people = {p for d in seeds for p in d.attendees}
    near: dict[str, Demand] = {d.event_id: d for d in seeds}
    for who in sorted(people):
        for e in ctx.events_of[who]:
            if e.month == month and not e.whole_cohort:
                near.setdefault(e.event_id, e)
    for d in sessions_near(ctx, seeds):
        near.setdefault(d.event_id, d)
    return sorted(near.values(), key=lambda d: d.index)


def sessions_near(ctx: Context, group: Sequence[Demand]) -> list[Demand]:
    """The whole-cohort sessions of a linked group's cohorts that its goals see: those of its
    month, those of the months either side that may fall in one of its ISO weeks (coaching
    avoids workshop weeks, whichever month the workshop belongs to), and the group sessions
    of the months either side whose gap rule can bind them."""
    month = group[0].month
    cohorts = {d.cohort_id for d in group}
    weeks = {ctx.grid.week(day) for d in group for day in ctx.options[d.event_id]}
    near: dict[str, Demand] = {}
    for m in (month - 1, month, month + 1):
        for d in ctx.whole_of_month.get(m, ()):
            if d.cohort_id not in cohorts:
                continue
            if m == month or {ctx.grid.week(day) for day in ctx.options[d.event_id]} & weeks:
                near[d.event_id] = d
    for d in list(near.values()):
        for other in ctx.gap_partners.get(d.event_id, ()):
            if abs(other.month - d.month) == 1 and _gap_binds(ctx, d, other):
                near.setdefault(other.event_id, other)
    return sorted(near.values(), key=lambda d: d.index)


def _gap_binds(ctx: Context, a: Demand, b: Demand) -> bool:
    """Whether some candidate days of two group sessions of a cohort break the gap."""
    first, second = (a, b) if a.month < b.month else (b, a)
    return max(ctx.options[first.event_id]) + ctx.gap > min(ctx.options[second.event_id])


# --------------------------------------------------------------------------- progress


def _progress(ctx: Context, done: int) -> None:
    if ctx.progress:
        ctx.progress(done, len(ctx.whole_of_month) + 2)
