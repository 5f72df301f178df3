"""Lower bounds that hold for every lawful calendar, not only for those this method finds.

Each goal's bound relaxes the calendar to what that goal sees, over each event's candidate
times (the rules about the event alone, and the order chains):

- rhythm: per cohort, the best weekday and start time for its first group session, every
  other group session at its own best candidate against it;
- venue_week_overload: per month, bookings that cannot get a (venue, week) of their own
  (a bipartite matching of whole-cohort sessions to venue-weeks);
- review_days_before_month_end: each review on its latest candidate day;
- coach_week_overload: per coach and month, sessions that cannot fit the even weekly share of
  the weeks they can use (a capacitated matching of sessions to weeks);
- coaching_in_workshop_week, review_before_workshop: 0 on their own.

The total is sharper than the sum of those. The penalties of coaching fall apart into one
unit per coach and month (its weekly load, and its sessions in workshop weeks), and a unit
whose calendar costs more than its per-goal bound gets its own relaxed model: the coach's
sessions of that month and the group sessions of their cohorts the goals see, every rule
among them, nothing else. That bound is CP-SAT's proven one, so it holds for every calendar;
with the rhythm, venue and review bounds it makes the ``soft_total`` bound.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from cohort_solver.stages.schedule.context import Context
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Week, bits
from cohort_solver.stages.schedule.model import CalendarModel
from cohort_solver.stages.schedule.slots import Options

if TYPE_CHECKING:
    from cohort_solver.stages.schedule.stage import Unit

# How many times a bound's search that has not proved its optimum is run again with twice the
# effort: a proven optimum of a relaxation is its sharpest bound (a month's joint venue and
# coach model of 50 cohorts: bound 18 at the first effort, 21 proven at eight times it).
MONTH_DOUBLINGS = 4
# A coach unit's bound gets one search: doubling it bought nothing measured (tight 10-cohort
# and 50-cohort tight-venue programmes) and multiplied the national bound's time.
UNIT_DOUBLINGS = 0
WEEK_DOUBLINGS = 1
# Relaxations of more events than this get one search only: a national month (300
# whole-cohort sessions) or a coach unit with many cohorts around it would spend minutes
# proving a few units more.
DOUBLING_EVENTS = 100
# A month of more than DOUBLING_EVENTS sessions gets one search of its joint bound at this
# effort per session: a national March's relaxation (300 sessions) was proven at 198 within
# it, about 3 s (before coaching with no later day paid for its workshop's week, its LP's
# 141 was all that 5, 20 and 80 reached).
LARGE_MONTH_SCALE = 20.0
# The most whole-cohort and coaching sessions a month may have for ``month_week_bound``:
# measured on a 50-cohort month (50 sessions, 600 coaching) under load, its search takes
# 10-140 s, too slow for the regional budget; a 10-cohort month takes about a second.
WEEK_BOUND_EVENTS = 300


def goal_bounds(ctx: Context) -> dict[str, int]:
    """Weighted lower bound of each soft goal on its own."""
    w = ctx.weights
    bound = dict.fromkeys(w, 0)
    rhythm = rhythm_bounds(ctx)
    bound["rhythm_weekday"] = rhythm["weekday"]
    bound["rhythm_time"] = rhythm["time"]
    bound["venue_week_overload"] = w["venue_week_overload"] * venue_deficit(ctx)
    bound["review_days_before_month_end"] = w["review_days_before_month_end"] * sum(
        review_days(ctx, d) for d in ctx.of_kind["review"]
    )
    bound["coach_week_overload"] = w["coach_week_overload"] * sum(
        coach_overflow(ctx, coach, month) for coach, month in sorted(ctx.coaching_of)
    )
    return bound


def rhythm_bounds(ctx: Context) -> dict[str, int]:
    """Weighted rhythm bounds: weekday alone, time alone, and both together (per cohort)."""
    w_day, w_time = ctx.weights["rhythm_weekday"], ctx.weights["rhythm_time"]
    out = {"weekday": 0, "time": 0, "both": 0}
    for cohort, ref in sorted(ctx.reference.items()):
        others = [g for g in ctx.groups[cohort] if g.event_id != ref]
        if not others:
            continue
        seen = []
        for g in others:
            pairs = _pairs(ctx, g)
            seen.append((pairs, {p[0] for p in pairs}, {p[1] for p in pairs}))
        refs = _pairs(ctx, ctx.by_id[ref])
        out["weekday"] += min(sum(w_day * (d not in days) for _, days, _ in seen) for d, _ in refs)
        out["time"] += min(sum(w_time * (s not in slots) for _, _, slots in seen) for _, s in refs)
        out["both"] += min(
            sum(
                0
                if (d, s) in pairs
                else min(
                    w_time + (0 if d in days else w_day), w_day + (0 if s in slots else w_time)
                )
                for pairs, days, slots in seen
            )
            for d, s in refs
        )
    return out


def _pairs(ctx: Context, d: Demand) -> set[tuple[int, int]]:
    return {
        (ctx.grid.weekday(day), s)
        for day, mask in ctx.options[d.event_id].items()
        for s in bits(mask)
    }


def venue_deficit(ctx: Context) -> int:
    """Whole-cohort sessions that cannot each have a (venue, week) of their month to
    themselves."""
    return sum(month_venue_deficit(ctx, month) for month in sorted(ctx.whole_of_month))


def month_venue_deficit(ctx: Context, month: int) -> int:
    # Online sessions book no venue: they cannot overload one.
    choices = [venue_weeks(ctx, d) for d in ctx.whole_of_month[month] if d.needs_venue]
    return len(choices) - most_assigned(choices, 1)


def venue_weeks(
    ctx: Context, d: Demand, options: Mapping[str, Options] | None = None
) -> list[tuple[str, Week]]:
    """The (venue, ISO week) pairs a whole-cohort session may take: the venue is free at one
    of its candidate times (``options``, default every lawful one) that week."""
    grid = ctx.grid
    out = set()
    for day, mask in (options or ctx.options)[d.event_id].items():
        week = grid.week(day)
        for v in d.venues:
            if (v, week) not in out and mask & grid.starts_clear_of(
                ctx.blocked.get(v, {}).get(day, 0), d.length
            ):
                out.add((v, week))
    return sorted(out)


def review_days(ctx: Context, d: Demand) -> int:
    return ctx.grid.month_end(d.month) - max(ctx.options[d.event_id])


def coach_overflow(ctx: Context, coach: str, month: int) -> int:
    """A coach's sessions of a month that cannot fit the even weekly share of their weeks."""
    mine = ctx.coaching_of[coach, month]
    share = ctx.coach_share(coach, month)
    choices = [sorted({ctx.grid.week(day) for day in ctx.options[d.event_id]}) for d in mine]
    return len(choices) - most_assigned(choices, share)


def most_assigned(choices: Sequence[Sequence[Hashable]], capacity: int) -> int:
    """How many items can each get one of their choices, a choice taking at most ``capacity``
    items (augmenting paths)."""
    holders: dict[Hashable, list[int]] = defaultdict(list)

    def place(item: int, seen: set[Hashable]) -> bool:
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


def unit_bounds(ctx: Context, mine: Sequence[Unit]) -> None:
    """Compute (side by side) and keep in ``ctx.unit_bounds`` the bound of every coach unit
    in ``mine`` not computed yet; review units keep their floor."""
    todo = [u for u in mine if u.key[0] == "coach" and u.key not in ctx.unit_bounds]
    for u, b in zip(todo, ctx.search.map(lambda u: unit_bound(ctx, u), todo), strict=True):
        ctx.unit_bounds[u.key] = b


def unit_bound(ctx: Context, unit: Unit) -> int:
    """CP-SAT's proven lower bound of one coach's penalties in a month, over a relaxation:
    the coach's sessions of that month and the group sessions of their cohorts that the goals
    see (``stage.sessions_near``), every rule among them, nothing else (no venues, no other
    events). Never below the unit's own per-goal floor."""
    from cohort_solver.stages.schedule.stage import sessions_near

    floor = unit.floor(ctx)
    free = [*(d for d in sessions_near(ctx, unit.events) if d.kind == "group"), *unit.events]
    options = {d.event_id: ctx.options[d.event_id] for d in free}
    goals = ("coaching_in_workshop_week", "coach_week_overload")
    m = CalendarModel(ctx, free, {}, options=options, venues=False, goal_names=goals)
    m.model.minimize(m.soft())
    effort = ctx.search.effort(len(free), 2.0)
    if len(free) > DOUBLING_EVENTS:  # large: one search, as its share of the budget allows
        solved = ctx.search.until_found(m.model, effort, retries=0)
    else:
        solved = ctx.search.until_proven(m.model, effort, UNIT_DOUBLINGS)
    if solved.infeasible:  # a placed calendar exists, so this cannot be; stay on the safe side
        return floor
    return max(floor, solved.bound())


def chained_units(ctx: Context, month: int) -> dict[str, dict[str, int]]:
    """coach -> whole-cohort session of ``month`` -> how many of the coach's sessions that
    month must follow it (``after``)."""
    return {coach: dict(c.follow) for coach, c in coach_chains(ctx, month).items()}


@dataclass(frozen=True)
class Chains:
    """A coach's sessions of a month that must follow (``after``) a whole-cohort session of
    their cohort that month, and the room the coach has for them (``coach_room``)."""

    room: Mapping[Week, int]
    follow: Mapping[str, int]  # whole-cohort session -> the coach's sessions after it
    exempt: Mapping[str, Mapping[Week, int]]  # ... -> its week -> those held in that week
    forced: Mapping[str, Mapping[Week, int]]  # ... -> its week -> those that pay for it

    def demand(self, g: str, week: Week, at: Week) -> int:
        """What ``g`` in ``week`` asks of the room after week ``at`` (Hall's condition on
        suffixes): its sessions when it is later; when it is that week, those it does not
        hold in its own week anyway."""
        if week < at:
            return 0
        return self.follow[g] - (self.exempt.get(g, {}).get(week, 0) if week == at else 0)

    def forced_in(self, g: str, week: Week) -> int:
        """The sessions that pay ``coaching_in_workshop_week`` when ``g`` is in ``week``."""
        return self.forced.get(g, {}).get(week, 0)


def coach_chains(ctx: Context, month: int) -> dict[str, Chains]:
    """Per coach with sessions of ``month`` that must follow a whole-cohort session of it
    (each session counted after one such session only: a group session if it has one).

    A session whose candidate days all lie in or before the week of the session it follows
    is held in that week: after a group session that is a coaching in a workshop week, a
    cost of its own (``forced``, counted for the session's first coach only); after a cohort
    event it costs nothing. Either way it needs no room after that week (``exempt``).
    Computed once per month (kept in ``ctx.chains``): the skeleton asks for it in every
    model and warm start of a window, and the bounds once more."""
    if month not in ctx.chains:
        ctx.chains[month] = _coach_chains(ctx, month)
    return ctx.chains[month]


def _coach_chains(ctx: Context, month: int) -> dict[str, Chains]:
    grid = ctx.grid
    out: dict[str, Chains] = {}
    for (coach, m), mine in sorted(ctx.coaching_of.items()):
        if m != month:
            continue
        follow: dict[str, int] = defaultdict(int)
        exempt: dict[str, dict[Week, int]] = defaultdict(dict)
        forced: dict[str, dict[Week, int]] = defaultdict(dict)
        for e in mine:
            leads = [g for g in ctx.before[e.event_id] if g.whole_cohort and g.month == month]
            if not leads:
                continue
            g = min(leads, key=lambda g: (g.kind != "group", g.index))
            last = max(grid.week(day) for day in ctx.options[e.event_id])
            follow[g.event_id] += 1
            for week in sorted({grid.week(day) for day in ctx.options[g.event_id]}):
                if g.kind != "group" or week >= last:
                    exempt[g.event_id][week] = exempt[g.event_id].get(week, 0) + 1
                if g.kind == "group" and week >= last and ctx.coaches_at(e)[0] == coach:
                    forced[g.event_id][week] = forced[g.event_id].get(week, 0) + 1
        if follow:
            out[coach] = Chains(coach_room(ctx, coach, month), dict(follow), exempt, forced)
    return out


def coach_room(ctx: Context, coach: str, month: int) -> dict[Week, int]:
    """Per week of the month: how many of the coach's sessions can be held after it without
    an overload, each later week holding at most the even share and only sessions that
    have a candidate day in it (Hall's condition on suffixes of the month)."""
    grid = ctx.grid
    weeks = grid.month_weeks(month)
    share = ctx.coach_share(coach, month)
    usable = dict.fromkeys(weeks, 0)
    for d in ctx.coaching_of[coach, month]:
        for w in {grid.week(day) for day in ctx.options[d.event_id]}:
            if w in usable:
                usable[w] += 1
    room, after = {}, 0
    for w in reversed(weeks):
        room[w] = after
        after += min(share, usable[w])
    return room


Pick = dict[str, dict[tuple[tuple[str, ...], Week], cp_model.IntVar]]


def month_bound(ctx: Context, month: int, enough: float = math.inf) -> int:
    """A joint lower bound of a month's venue overloads and the penalties of the coaches
    whose sessions must follow a workshop of that month (``month_relaxation``): CP-SAT's
    proven bound of that model (searched longer only while below ``enough``, what the
    calendar costs)."""
    sessions = ctx.whole_of_month[month]
    model, _ = month_relaxation(ctx, month)
    if len(sessions) > DOUBLING_EVENTS:
        # large: one longer search, doubled only if it found nothing at all
        effort = ctx.search.effort(len(sessions), LARGE_MONTH_SCALE)
        solved = ctx.search.until_found(model, effort, retries=1)
    else:
        effort = ctx.search.effort(len(sessions), 5.0)
        solved = ctx.search.until_proven(model, effort, MONTH_DOUBLINGS, enough)
    return solved.bound() if not solved.infeasible else 0


def month_relaxation(
    ctx: Context, month: int, options: Mapping[str, Options] | None = None
) -> tuple[cp_model.CpModel, Pick]:
    """A month's whole-cohort sessions with times within the week relaxed: every one picks
    a (venue, week) it may take, venues count their bookings per week, and each coach
    whose sessions must follow a workshop of the month pays at least the Hall shortfall of
    ``skeleton.add_coach_room_after_workshops``, and the coaching in a workshop week of the
    sessions that have no day after their workshop's week (``coach_chains``). Venues alike
    for every session of the month (same council, closures and sessions that fit) are one
    pool of k venues, which takes k bookings a week without an overload. ``options``: the candidate times to pick
    weeks from (default: every lawful one), so a plan can be made around placed events.
    Returns the model (its objective set) and each session's pick literals."""
    w = ctx.weights
    sessions = ctx.whole_of_month[month]
    options = options or ctx.options
    pools = venue_pools(ctx, sessions)
    model = cp_model.CpModel()
    pick: Pick = {}
    per_pool_week: dict[tuple[tuple[str, ...], Week], list[cp_model.IntVar]] = defaultdict(list)
    for d in sessions:
        pick[d.event_id] = {}
        if d.needs_venue:
            choices = sorted({(pools[v], week) for v, week in venue_weeks(ctx, d, options)})
        else:  # online: any week of its days, and no venue to overload
            choices = sorted({((), ctx.grid.week(day)) for day in options[d.event_id]})
        for pool, week in choices:
            lit = model.new_bool_var(f"y[{d.event_id},{pool[0] if pool else 'online'},{week}]")
            pick[d.event_id][pool, week] = lit
            if pool:
                per_pool_week[pool, week].append(lit)
        model.add_exactly_one(pick[d.event_id].values())
    costs: list[cp_model.LinearExprT] = []
    for (pool, week), lits in sorted(per_pool_week.items()):
        if len(lits) > len(pool):
            over = model.new_int_var(0, len(lits), f"over[{pool[0]},{week}]")
            model.add(over >= sum(lits) - len(pool))
            costs.append(w["venue_week_overload"] * over)
    cheaper = min(w["coach_week_overload"], w["coaching_in_workshop_week"])
    for coach, chains in sorted(coach_chains(ctx, month).items()):
        most = sum(chains.follow.values())
        short = model.new_int_var(0, most, f"short[{coach}]")
        for at, room in sorted(chains.room.items()):
            if most > room:
                late = [
                    n * lit
                    for g in sorted(chains.follow)
                    for (_, week), lit in pick[g].items()
                    if (n := chains.demand(g, week, at))
                ]
                model.add(short >= sum(late) - room)
        costs.append(cheaper * short)
        forced = [
            n * lit
            for g in sorted(chains.forced)
            for (_, week), lit in pick[g].items()
            if (n := chains.forced_in(g, week))
        ]
        if forced:
            costs.append(w["coaching_in_workshop_week"] * sum(forced))
    model.minimize(sum(costs))
    return model, pick


def venue_pools(ctx: Context, sessions: Sequence[Demand]) -> dict[str, tuple[str, ...]]:
    """Venues alike for these sessions: the same council, the same closures on their days
    and the same sessions seated."""
    days = sorted({day for d in sessions for day in ctx.options[d.event_id]})
    users: dict[str, set[str]] = defaultdict(set)
    for d in sessions:
        for v in d.venues:
            users[v].add(d.event_id)
    council = {v.venue_id: v.council or "" for v in ctx.scenario.venues}
    groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for v in sorted(users):
        closed = tuple(
            (day, ctx.blocked[v][day]) for day in days if ctx.blocked.get(v, {}).get(day)
        )
        groups[council.get(v, ""), closed, frozenset(users[v])].append(v)
    return {v: tuple(members) for members in groups.values() for v in members}


def week_bound_size(ctx: Context, month: int) -> int:
    """The sessions ``month_week_bound`` places in ``month``."""
    coaching = sum(1 for d in ctx.of_kind["coaching"] if d.month == month)
    return len(ctx.whole_of_month[month]) + coaching


def month_week_bound(ctx: Context, month: int) -> int:
    """``_month_week_bound``, computed once per month (kept in ``ctx.unit_bounds``)."""
    key = ("month-weeks", str(month))
    if key not in ctx.unit_bounds:
        ctx.unit_bounds[key] = _month_week_bound(ctx, month)
    return ctx.unit_bounds[key]


def _month_week_bound(ctx: Context, month: int) -> int:
    """A joint lower bound of a month's venue overloads and of every coach's penalties that
    month (``coach_week_overload``, and ``coaching_in_workshop_week`` of its coaching), over
    a relaxation that keeps only ISO weeks: each whole-cohort session picks a (pool of alike
    venues, week) it may take (``venue_weeks``), each coaching session a week of its
    candidate days, and nothing else is decided.

    Why it holds for every lawful calendar: the calendar gives each of these events its
    week and (whole-cohort sessions) its venue, which is a choice of this model; a coaching
    that must come after a workshop starts after it ends, so its week is not earlier. On
    that choice the model's cost is at most the calendar's: a coach's weekly load and its
    overload are the same; a coaching in the week of one of its cohort's group sessions of
    this month pays here, while the calendar also pays for group sessions of other months
    in that week; and a pool of k venues with n bookings in a week pays n - k, no more than
    its venues' own overloads (each beyond one) add up to. So CP-SAT's proven bound of the
    minimum here is at most the calendar's cost of those penalties."""
    w, grid = ctx.weights, ctx.grid
    sessions = ctx.whole_of_month[month]
    pools = venue_pools(ctx, sessions)
    model = cp_model.CpModel()
    week_of: dict[str, dict[Week, list[cp_model.IntVar]]] = {}
    per_pool_week: dict[tuple[tuple[str, ...], Week], list[cp_model.IntVar]] = defaultdict(list)
    for d in sessions:
        if d.needs_venue:
            choices = sorted({(pools[v], week) for v, week in venue_weeks(ctx, d)})
        else:
            choices = sorted({((), grid.week(day)) for day in ctx.options[d.event_id]})
        lits = []
        week_of[d.event_id] = defaultdict(list)
        for pool, week in choices:
            lit = model.new_bool_var(f"y[{d.event_id},{pool[0] if pool else 'online'},{week}]")
            lits.append(lit)
            week_of[d.event_id][week].append(lit)
            if pool:
                per_pool_week[pool, week].append(lit)
        model.add_exactly_one(lits)
    costs: list[cp_model.LinearExprT] = []
    for (pool, week), lits in sorted(per_pool_week.items()):
        if len(lits) > len(pool):
            over = model.new_int_var(0, len(lits), f"over[{pool[0]},{week}]")
            model.add(over >= sum(lits) - len(pool))
            costs.append(w["venue_week_overload"] * over)
    costs += _coaching_weeks(ctx, model, month, week_of)
    if not costs:
        return 0
    model.minimize(sum(costs))
    effort = ctx.search.effort(len(sessions) + len(costs), 1.0)
    solved = ctx.search.until_proven(model, effort, WEEK_DOUBLINGS)
    return solved.bound() if not solved.infeasible else 0


def _coaching_weeks(
    ctx: Context,
    model: cp_model.CpModel,
    month: int,
    week_of: Mapping[str, Mapping[Week, Sequence[cp_model.IntVar]]],
) -> list[cp_model.LinearExprT]:
    """The coaching of ``month`` in ``month_week_bound``. Sessions alike for the model (the
    same coaches, cohort, candidate weeks and whole-cohort sessions to follow) are one class,
    and the model only counts how many of a class are in each week (no order among alike
    sessions to search through): not before a session they must follow, each in a week of
    their cohort's group session paying once, and per coach the sessions beyond the even
    share of a week."""
    w, grid = ctx.weights, ctx.grid
    Class = tuple[tuple[str, ...], str, tuple[Week, ...], tuple[str, ...]]
    classes: dict[Class, int] = defaultdict(int)
    for d in ctx.of_kind["coaching"]:
        coaches = tuple(ctx.coaches_at(d))
        if d.month != month or not coaches:
            continue
        weeks = tuple(sorted({grid.week(day) for day in ctx.options[d.event_id]}))
        follows = tuple(sorted(g.event_id for g in ctx.before[d.event_id] if g.event_id in week_of))
        classes[coaches, d.cohort_id, weeks, follows] += 1
    load: dict[tuple[str, Week], list[cp_model.IntVar]] = defaultdict(list)
    most: dict[tuple[str, Week], int] = defaultdict(int)  # the most a coach's week can hold
    costs: list[cp_model.LinearExprT] = []
    for k, ((coaches, cohort, weeks, follows), size) in enumerate(sorted(classes.items())):
        count = {week: model.new_int_var(0, size, f"n[{k},{week}]") for week in weeks}
        model.add(sum(count.values()) == size)
        for week, n in count.items():
            for coach in coaches:
                load[coach, week].append(n)
                most[coach, week] += size
            for g in follows:  # none of the class in this week if g is in a later one
                later = [y for wk, ys in week_of[g].items() if wk > week for y in ys]
                if later:
                    model.add(n <= size * (1 - sum(later)))
            clash = [
                ys for g in ctx.groups[cohort] if (ys := week_of.get(g.event_id, {}).get(week))
            ]
            if clash:
                paid = model.new_int_var(0, size, f"cww[{k},{week}]")
                for ys in clash:
                    model.add(paid >= n - size * (1 - sum(ys)))
                costs.append(w["coaching_in_workshop_week"] * paid)
    for (coach, week), counts in sorted(load.items()):
        share = ctx.coach_share(coach, month)
        if most[coach, week] > share:
            over = model.new_int_var(0, most[coach, week], f"over[{coach},{week}]")
            model.add(over >= sum(counts) - share)
            costs.append(w["coach_week_overload"] * over)
    return costs
