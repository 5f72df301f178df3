"""The soft goals, each returning its named penalty terms (as in OR-Tools'
``shift_scheduling_sat.py``), and the same goals evaluated on a placed calendar.

A goal's terms cover every penalty that involves at least one free event of the model; a
penalty among fixed events only is a constant and left out, and an event not placed yet takes
no part (its penalties are counted by the model that places it). The weights are the domain's
(``model.CALENDAR_SOFT_GOALS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cohort_solver.stages.schedule.context import Context, Placement
from cohort_solver.stages.schedule.events import Demand

if TYPE_CHECKING:
    from ortools.sat.python.cp_model import IntVar

    from cohort_solver.stages.schedule.model import CalendarModel, Terms


# --------------------------------------------------------------------------- in the model


def rhythm_weekday(m: CalendarModel) -> Terms:
    """A group session not on the weekday of its cohort's first group session."""
    terms: Terms = []
    for g, ref in _rhythm_pairs(m):
        if m.is_fixed(ref):
            weekday = m.grid.weekday(m.fixed[ref].day)
            terms.append((1 - m.on_weekday(g, weekday), 1))
        elif m.is_fixed(g):
            weekday = m.grid.weekday(m.fixed[g].day)
            terms.append((1 - m.on_weekday(ref, weekday), 1))
        else:
            off = m.model.new_bool_var(f"off_weekday[{g}]")
            for w in range(5):
                m.model.add(off >= m.on_weekday(ref, w) - m.on_weekday(g, w))
            terms.append((off, 1))
    return terms


def rhythm_time(m: CalendarModel) -> Terms:
    """A group session not at the start time of its cohort's first group session."""
    terms: Terms = []
    for g, ref in _rhythm_pairs(m):
        off = m.model.new_bool_var(f"off_time[{g}]")
        m.model.add(m.time_of_day(g) == m.time_of_day(ref)).only_enforce_if(~off)
        terms.append((off, 1))
    return terms


def _rhythm_pairs(m: CalendarModel) -> list[tuple[str, str]]:
    pairs = []
    for cohort, ref in sorted(m.ctx.reference.items()):
        for g in m.ctx.groups[cohort]:
            eid = g.event_id
            if eid == ref or not (m.is_free(eid) or m.is_free(ref)):
                continue
            if m.present(eid) and m.present(ref):
                pairs.append((eid, ref))
    return pairs


def coaching_in_workshop_week(m: CalendarModel) -> Terms:
    """A participant's coaching in an ISO week with one of their cohort's group sessions."""
    terms: Terms = []
    for d in _touched(m, "coaching", by_month=False):
        weeks = m.weeks(d.event_id)
        groups = [g for g in m.ctx.groups[d.cohort_id] if m.present(g.event_id)]
        fixed_weeks = {
            m.grid.week(m.fixed[g.event_id].day) for g in groups if m.is_fixed(g.event_id)
        }
        free_groups = [g for g in groups if m.is_free(g.event_id) and m.weeks(g.event_id) & weeks]
        if m.is_fixed(d.event_id) and weeks & fixed_weeks:
            continue  # a constant penalty
        clash = [m.in_week(d.event_id, w) for w in sorted(weeks & fixed_weeks)]
        if not free_groups:
            if clash:
                terms.append((sum(clash), 1))  # one chosen day: at most 1
            continue
        pen = m.model.new_bool_var(f"coaching_in_workshop_week[{d.event_id}]")
        for c in clash:
            m.model.add(pen >= c)
        for g in free_groups:
            for w in sorted(m.weeks(g.event_id) & weeks):
                m.model.add(pen >= m.in_week(d.event_id, w) + m.in_week(g.event_id, w) - 1)
        terms.append((pen, 1))
    return terms


def review_before_workshop(m: CalendarModel) -> Terms:
    """A review that starts before a group session of the same cohort and month has ended."""
    terms: Terms = []
    for d in _touched(m, "review", by_month=True):
        groups = [
            g
            for g in m.ctx.cohort_month[d.cohort_id, d.month]
            if g.kind == "group" and m.present(g.event_id)
        ]
        if not groups or not (m.is_free(d.event_id) or any(m.is_free(g.event_id) for g in groups)):
            continue
        if m.is_fixed(d.event_id) and any(
            m.is_fixed(g.event_id) and m.end(g.event_id) > m.begin(d.event_id) for g in groups
        ):
            continue  # a constant penalty
        early = []
        for g in groups:
            if m.is_fixed(g.event_id) and m.is_fixed(d.event_id):
                continue
            b = m.model.new_bool_var(f"review_before[{d.event_id},{g.event_id}]")
            m.model.add(m.begin(d.event_id) >= m.end(g.event_id)).only_enforce_if(~b)
            early.append(b)
        if len(early) == 1:
            terms.append((early[0], 1))
        elif early:
            pen = m.model.new_bool_var(f"review_before_workshop[{d.event_id}]")
            for b in early:
                m.model.add(pen >= b)
            terms.append((pen, 1))
    return terms


def _touched(m: CalendarModel, kind: str, *, by_month: bool) -> list[Demand]:
    """Placed events of ``kind`` that are free, or whose cohort (in the same month, with
    ``by_month``) has a free group session."""
    ctx = m.ctx
    seen: dict[str, Demand] = {d.event_id: d for d in m.free if d.kind == kind}
    for g in m.free:
        if g.kind != "group":
            continue
        pool = (
            ctx.cohort_month[g.cohort_id, g.month]
            if by_month
            else ctx.cohort_kind[g.cohort_id, kind]
        )
        for d in pool:
            if d.kind == kind and m.present(d.event_id):
                seen.setdefault(d.event_id, d)
    return sorted(seen.values(), key=lambda d: d.index)


def review_days_before_month_end(m: CalendarModel) -> Terms:
    """Days between a review and the end of its month."""
    terms: Terms = []
    for d in m.free:
        if d.kind == "review":
            last = m.grid.month_end(d.month)
            terms.append((sum(b * (last - day) for day, b in m.days[d.event_id].items()), 1))
    return terms


def coach_week_overload(m: CalendarModel) -> Terms:
    """A coach's sessions in a week beyond an even share of the month's weeks."""
    terms: Terms = []
    keys = sorted({(c, d.month) for d in m.free for c in m.ctx.coaches_at(d)})
    for coach, month in keys:
        mine = m.ctx.coaching_of[coach, month]
        free = [d for d in mine if m.is_free(d.event_id)]
        weeks = m.grid.month_weeks(month)
        share = m.ctx.coach_share(coach, month)
        for week in weeks:
            fixed = sum(
                1
                for d in mine
                if m.is_fixed(d.event_id) and m.grid.week(m.fixed[d.event_id].day) == week
            )
            could = [d for d in free if week in m.weeks(d.event_id)]
            if fixed + len(could) <= share:
                continue
            over = m.model.new_int_var(0, len(mine), f"coach_overload[{coach},{week}]")
            m.model.add(over >= fixed + sum(m.in_week(d.event_id, week) for d in could) - share)
            terms.append((over, 1))
    return terms


def venue_week_overload(m: CalendarModel) -> Terms:
    """A venue's bookings in a week beyond one (per programme month), by whole-cohort sessions
    (an action learning set's room is not counted: a cohort's sets may share a week)."""
    here: dict[tuple[str, int, tuple[int, int]], list[IntVar]] = defaultdict(list)
    for d in m.free:
        if not d.whole_cohort:
            continue
        for v, x in m.venue.get(d.event_id, {}).items():
            for week in sorted(m.weeks(d.event_id)):
                z = m.model.new_bool_var(f"venue_week[{d.event_id},{v},{week}]")
                m.model.add(z >= x + m.in_week(d.event_id, week) - 1)
                here[v, d.month, week].append(z)
    fixed: dict[tuple[str, int, tuple[int, int]], int] = defaultdict(int)
    for d in m.around:
        p = m.fixed[d.event_id]
        if p.venue and d.whole_cohort:
            fixed[p.venue, d.month, m.grid.week(p.day)] += 1
    terms: Terms = []
    for key, zs in sorted(here.items()):
        if len(zs) + fixed[key] < 2:
            continue
        over = m.model.new_int_var(0, len(zs) + fixed[key], f"venue_overload[{key}]")
        m.model.add(over >= sum(zs) + fixed[key] - 1)
        terms.append((over, 1))
    return terms


SOFT_GOALS: dict[str, Callable[[CalendarModel], Terms]] = {
    "rhythm_weekday": rhythm_weekday,
    "rhythm_time": rhythm_time,
    "coaching_in_workshop_week": coaching_in_workshop_week,
    "review_before_workshop": review_before_workshop,
    "review_days_before_month_end": review_days_before_month_end,
    "coach_week_overload": coach_week_overload,
    "venue_week_overload": venue_week_overload,
}


# --------------------------------------------------------------------------- on a calendar


@dataclass
class Scope:
    """The penalties a set of events takes part in (to compare two calendars that differ only
    in those events). ``None`` fields mean every penalty of that goal."""

    cohorts: set[str] | None = None  # rhythm
    coaching: set[str] | None = None
    reviews: set[str] | None = None
    coach_months: set[tuple[str, int]] | None = None
    venue_months: set[int] | None = None


def scope_of(ctx: Context, free: Iterable[Demand]) -> Scope:
    free = list(free)
    groups = {(d.cohort_id, d.month) for d in free if d.kind == "group"}
    cohorts = {c for c, _ in groups}
    coaching = {d.event_id for d in free if d.kind == "coaching"}
    reviews = {d.event_id for d in free if d.kind == "review"}
    for cohort in cohorts:
        coaching.update(d.event_id for d in ctx.cohort_kind[cohort, "coaching"])
    for key in groups:
        reviews.update(d.event_id for d in ctx.cohort_month[key] if d.kind == "review")
    return Scope(
        cohorts=cohorts,
        coaching=coaching,
        reviews=reviews,
        coach_months={(c, d.month) for d in free for c in ctx.coaches_at(d)},
        venue_months={d.month for d in free if d.venues},
    )


def evaluate(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope | None = None
) -> dict[str, int]:
    """Unweighted count of each soft goal's penalties on a placed calendar (within ``scope``)."""
    scope = scope or Scope()
    counts = dict.fromkeys(SOFT_GOALS, 0)
    for count in (
        _count_rhythm,
        _count_coaching_in_workshop_week,
        _count_reviews,
        _count_coach_week_overload,
        _count_venue_week_overload,
    ):
        count(ctx, plan, scope, counts)
    return counts


def _count_rhythm(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope, counts: dict[str, int]
) -> None:
    """rhythm_weekday and rhythm_time: each group session against its cohort's reference."""
    grid = ctx.grid
    cohorts = ctx.reference.keys() if scope.cohorts is None else scope.cohorts
    for cohort in sorted(cohorts):
        ref = ctx.reference.get(cohort)
        if ref is None or ref not in plan:
            continue
        r = plan[ref]
        for g in ctx.groups[cohort]:
            if g.event_id != ref and g.event_id in plan:
                p = plan[g.event_id]
                counts["rhythm_weekday"] += grid.weekday(p.day) != grid.weekday(r.day)
                counts["rhythm_time"] += p.slot != r.slot


def _count_coaching_in_workshop_week(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope, counts: dict[str, int]
) -> None:
    grid = ctx.grid
    coaching = (
        ctx.of_kind["coaching"]
        if scope.coaching is None
        else [ctx.by_id[e] for e in scope.coaching]
    )
    weeks_of: dict[str, set[tuple[int, int]]] = {}
    for d in coaching:
        at = plan.get(d.event_id)
        if at is None:
            continue
        if d.cohort_id not in weeks_of:
            weeks_of[d.cohort_id] = {
                grid.week(plan[g.event_id].day)
                for g in ctx.groups[d.cohort_id]
                if g.event_id in plan
            }
        counts["coaching_in_workshop_week"] += grid.week(at.day) in weeks_of[d.cohort_id]


def _count_reviews(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope, counts: dict[str, int]
) -> None:
    """review_days_before_month_end and review_before_workshop."""
    grid = ctx.grid
    reviews = (
        ctx.of_kind["review"] if scope.reviews is None else [ctx.by_id[e] for e in scope.reviews]
    )
    for d in reviews:
        held = plan.get(d.event_id)
        if held is None:
            continue
        counts["review_days_before_month_end"] += grid.month_end(d.month) - held.day
        begin = grid.absolute(held.day, held.slot)
        counts["review_before_workshop"] += any(
            grid.absolute(plan[g.event_id].day, plan[g.event_id].slot) + g.length > begin
            for g in ctx.cohort_month[d.cohort_id, d.month]
            if g.kind == "group" and g.event_id in plan
        )


def _count_coach_week_overload(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope, counts: dict[str, int]
) -> None:
    grid = ctx.grid
    keys = ctx.coaching_of.keys() if scope.coach_months is None else scope.coach_months
    for coach, month in sorted(keys):
        mine = ctx.coaching_of[coach, month]
        share = ctx.coach_share(coach, month)
        load: dict[tuple[int, int], int] = defaultdict(int)
        for d in mine:
            if d.event_id in plan:
                load[grid.week(plan[d.event_id].day)] += 1
        counts["coach_week_overload"] += sum(max(0, n - share) for n in load.values())


def _count_venue_week_overload(
    ctx: Context, plan: Mapping[str, Placement], scope: Scope, counts: dict[str, int]
) -> None:
    grid = ctx.grid
    months = ctx.whole_of_month.keys() if scope.venue_months is None else scope.venue_months
    venue_load: dict[tuple[str, int, tuple[int, int]], int] = defaultdict(int)
    for month in sorted(months):
        for d in ctx.whole_of_month[month]:
            booked = plan.get(d.event_id)
            if booked is not None and booked.venue:
                venue_load[booked.venue, month, grid.week(booked.day)] += 1
    counts["venue_week_overload"] = sum(max(0, n - 1) for n in venue_load.values())


def weighted(ctx: Context, counts: Mapping[str, int]) -> int:
    return sum(ctx.weights[name] * n for name, n in counts.items())
