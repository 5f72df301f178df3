"""The skeleton's warm starts: greedy, greedy along a week plan, greedy from the last window.

On a generated programme where venues are short and every coaching session must follow its
cohort's workshop in the same month (the trade-off the week plan is for: workshops early
leave coaches their weeks but share venues within a week), the skeleton keeps the best of
its starts on its own objective, a start built from given placements keeps them, and the
week plan gives every session of the month one of its own weeks.
"""

from __future__ import annotations

import pytest

from cohort_solver.checks import calendar as rules
from cohort_solver.stages.schedule import bounds, prepare, schedule
from cohort_solver.stages.schedule.context import Context
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
