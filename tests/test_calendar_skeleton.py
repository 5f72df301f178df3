"""The skeleton's warm starts: greedy, greedy along a week plan, greedy from the last window.

On a generated programme where venues are short and every coaching session must follow its
cohort's workshop in the same month (the trade-off the week plan is for: workshops early
leave coaches their weeks but share venues within a week), the skeleton keeps the best of
its starts on its own objective, a start built from given placements keeps them, and the
week plan gives every session of the month one of its own weeks.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cohort_solver.checks import calendar as rules
from cohort_solver.stages.schedule import bounds, prepare, schedule
from cohort_solver.stages.schedule.context import Context
from cohort_solver.stages.schedule.grid import bits
from cohort_solver.stages.schedule.guides import (
    fill_guides,
    keeping_weeks,
    rhythm_costs,
    week_plans,
)
from cohort_solver.stages.schedule.search import Search
from cohort_solver.stages.schedule.skeleton import SkeletonModel
from cohort_solver.stages.schedule.slots import room_around
from cohort_solver.stages.schedule.stage import solve_skeleton

from .conftest import generated_inputs

CHAINED_MONTH = 2  # the generator's W01 and C1 (after W01)


@pytest.fixture(scope="module")
def short_venues(tmp_path_factory):
    """Eight cohorts, two venues, workshops on Tuesdays and Wednesdays, two months."""
    return generated_inputs(
        tmp_path_factory.mktemp("short") / "s",
        councils=8,
        applicants=400,
        cohorts=8,
        places=6,
        months=2,
        seed=5,
        venues=2,
        group_weekdays=("Tue", "Wed"),
    )


def _model(ctx: Context) -> tuple[SkeletonModel, list, dict, dict]:
    free = [d for m in sorted(ctx.whole_of_month) for d in ctx.whole_of_month[m]]
    options = room_around(ctx, free, {})
    guides = fill_guides(ctx)
    m = SkeletonModel(ctx, free, {}, options, guides, rhythm_costs(ctx))
    m.build(guides)
    m.model.minimize(m.objective())
    return m, free, options, guides


def test_the_week_plan_gives_each_session_of_a_chained_month_one_of_its_weeks(short_venues):
    scenario, selected, matches = short_venues
    ctx = prepare(scenario, selected, matches, Search(120, 1), None, None)
    assert bounds.chained_units(ctx, CHAINED_MONTH)
    _, free, options, _ = _model(ctx)
    plans = week_plans(ctx, free, options, least=0)
    month = {d.event_id for d in ctx.whole_of_month[CHAINED_MONTH]}
    assert set(plans) == month  # only the chained month has a plan
    for eid, week in plans.items():
        assert week in {ctx.grid.week(day) for day in options[eid]}


def test_a_start_from_given_placements_keeps_them_and_the_skeleton_keeps_the_best_start(
    short_venues, monkeypatch
):
    from cohort_solver.stages.schedule import guides as guide_module

    monkeypatch.setattr(guide_module, "PLAN_SESSIONS", 0)  # every chained month gets a plan here
    scenario, selected, matches = short_venues
    ctx = prepare(scenario, selected, matches, Search(120, 1), None, None)
    m, free, options, guides = _model(ctx)
    greedy, _ = m.construct(guides)
    planned, _ = m.construct(keeping_weeks(ctx, guides, week_plans(ctx, free, options), options))
    assert len(greedy) == len(planned) == len(free)
    assert planned != greedy  # the plan leads somewhere the greedy start does not go
    assert m.construct(guides, keep=planned)[0] == planned
    costs = [ctx.search.complete_hint(m.model, m.decisions(s)) for s in (greedy, planned)]
    assert None not in costs
    part = solve_skeleton(ctx, free, {}, guides, rhythm_costs(ctx), planned)
    assert part.status == "found"
    chosen = ctx.search.complete_hint(m.model, m.decisions(part.plan))
    assert chosen is not None and chosen <= min(c for c in costs if c is not None)


def test_the_calendar_of_that_programme_passes_the_checker(short_venues):
    scenario, selected, matches = short_venues
    result = schedule(scenario, selected, matches, time_limit=300, workers=1)
    assert rules.violations(scenario, selected, matches, result.events) == []
    levels = {lv.name: lv for lv in result.report.levels}
    assert levels["soft_total"].value == rules.soft_objective(scenario, result.events)
    assert levels["soft_total"].bound <= levels["soft_total"].value


def test_the_coaching_warm_start_leaves_the_late_weeks_to_sessions_after_late_workshops(
    short_venues,
):
    """Around the skeleton, each coach's sessions that must follow a workshop go into the
    weeks after it with no more excess (sessions beyond the even share of a week, or in
    their workshop's week) than Hall's condition forces: for some week t, the sessions whose
    workshop is in t or later, less the room of the weeks after t. Checked for the coaches
    whose every session can use each week after its workshop (then earliest fit is exact),
    with the sessions after early workshops placed first (the least-loaded week, the rule
    before, then spread them over the late weeks: 3 where 2 are forced)."""
    from cohort_solver.stages.schedule.construct import greedy
    from cohort_solver.stages.schedule.stage import place_skeleton

    scenario, selected, matches = short_venues
    ctx = prepare(scenario, selected, matches, Search(120, 1), None, None)
    grid = ctx.grid
    weeks = grid.month_weeks(CHAINED_MONTH)
    # Workshops staggered: every other cohort's in the first week it can take, the others'
    # in the last week but one, so late sessions compete with early ones for the late weeks.
    skeleton = dict(place_skeleton(ctx))
    for i, g in enumerate(sorted(ctx.whole_of_month[CHAINED_MONTH], key=lambda g: g.cohort_id)):
        days = sorted(ctx.options[g.event_id])
        if i % 2:
            days = [day for day in days if grid.week(day) <= weeks[-2]][::-1] or days
        slot = bits(ctx.options[g.event_id][days[0]])[0]
        skeleton[g.event_id] = replace(skeleton[g.event_id], day=days[0], slot=slot)
    coaching = [d for d in ctx.of_kind["coaching"] if d.month == CHAINED_MONTH]
    options = room_around(ctx, coaching, skeleton)
    for d in coaching:  # the early ones get one start a day: they are placed first
        if all(grid.week(skeleton[g.event_id].day) == weeks[0] for g in ctx.before[d.event_id]):
            options[d.event_id] = {day: 1 << bits(m)[0] for day, m in options[d.event_id].items()}
    placed = greedy(ctx, coaching, skeleton, options)
    assert len(placed) == len(coaching)
    checked = 0
    for (coach, month), mine in sorted(ctx.coaching_of.items()):
        if month != CHAINED_MONTH:
            continue
        release = {
            d.event_id: max(grid.week(skeleton[g.event_id].day) for g in ctx.before[d.event_id])
            for d in mine
        }
        if any(
            {w for w in weeks if w > release[d.event_id]}
            - {grid.week(day) for day in options[d.event_id]}
            for d in mine
        ):
            continue  # a part-time day or an absence takes a week: not a suffix any more
        share = -(-len(mine) // len(weeks))
        load = {w: 0 for w in weeks}
        excess = 0
        for d in mine:
            week = grid.week(placed[d.event_id].day)
            excess += week == release[d.event_id]
            load[week] += 1
        excess += sum(max(0, n - share) for n in load.values())
        forced = max(
            0,
            *(
                sum(release[d.event_id] >= t for d in mine) - share * sum(w > t for w in weeks)
                for t in weeks
            ),
        )
        assert excess == forced, coach
        checked += 1
    assert checked >= 5
