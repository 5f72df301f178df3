"""Mentor and coach matching: lawful pairs only, maximum fit, proven optimal, explained.

Mentor and coach assignments are two transportation problems tied together only by the
same-person rule and, in egalitarian mode, by each participant's combined fit. So the
utilitarian optimum is two min-cost flows (exact and deterministic); CP-SAT takes over when
the flows put one person on both sides of a participant, and for the egalitarian levels."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from cohort_solver.domain.results import Decision, Level, Match, StageReport
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.match.explain import feasibility_causes, reasons
from cohort_solver.stages.match.flow import flow_side
from cohort_solver.stages.match.model import (
    STAGE,
    MatchingModel,
    _kept,
    _min_fit,
    _solve_levels,
    _total_fit,
)
from cohort_solver.stages.match.pool import Pool


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...]  # one per selected participant, sorted by participant_id
    report: StageReport


def match(
    scenario: Scenario,
    selected: Sequence[Decision],
    *,
    time_limit: float = 60,
    workers: int = 2,
    previous: Sequence[Match] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MatchResult:
    """Give every selected participant a mentor and a coach, optimally for the fairness mode.

    ``progress(done, total)`` hears of each step: lawful pairs, mentor flow, coach flow, and
    the CP-SAT levels when the flows alone cannot settle it.

    With ``previous``, keeping earlier pairs comes first (every still-lawful pair is kept
    unless capacities no longer allow it), then the fairness levels.
    """
    started = time.monotonic()
    deadline = started + time_limit
    step = progress or (lambda done, total: None)
    pool = Pool.build(scenario, scenario.matched(selected))
    step(1, 4)
    kept_before = {
        p.participant_id: (p.mentor_id, p.coach_id)
        for p in previous or ()
        if p.participant_id in pool.cohort
    }
    ids = pool.ids
    mentor_caps = {m: x.capacity for m, x in pool.mentors.items()}
    coach_caps = {c: x.capacity for c, x in pool.coaches.items()}
    mentors = flow_side(
        ids, pool.mentor_options, mentor_caps, {i: m for i, (m, _) in kept_before.items()}
    )
    step(2, 4)
    coaches = flow_side(
        ids, pool.coach_options, coach_caps, {i: c for i, (_, c) in kept_before.items()}
    )
    step(3, 4)
    if mentors is None or coaches is None:
        # No complete assignment on one side: Hall's theorem says which group is short, and why.
        raise InfeasibleError(STAGE, feasibility_causes(scenario, pool))
    fairness = scenario.settings.matching.fairness
    clash = any(mentors[i] == coaches[i] for i in ids)
    flow_levels = []
    if previous is not None:
        kept = _kept(kept_before, mentors, coaches)
        flow_levels.append(Level(name="kept_pairs", sense="max", value=kept, bound=kept))
    flow_total = _total_fit(pool, mentors, coaches)
    flow_worst = _min_fit(pool, mentors, coaches)
    ceiling = _fit_ceiling(pool)
    # Each flow is optimal for its side, so their union has the best total of all matchings.
    # In egalitarian mode it is also best when its worst fit reaches the proven optimum: no
    # matching with that worst fit can have a larger total than the best total overall.
    if not clash and (fairness == "utilitarian" or flow_worst == ceiling):
        if fairness == "egalitarian":
            flow_levels.append(Level(name="min_fit", sense="max", value=flow_worst, bound=ceiling))
        flow_levels.append(Level(name="total_fit", sense="max", value=flow_total, bound=flow_total))
        report = StageReport(
            stage=STAGE,
            status="optimal",
            levels=tuple(flow_levels),
            seconds=round(time.monotonic() - started, 3),
            solver="min-cost flow",
        )
    else:
        mentors, coaches, levels, optimal = _solve_with_cp_sat(
            pool,
            kept_before,
            (mentors, coaches),
            fairness=fairness,
            keep=previous is not None,
            clash=clash,
            workers=workers,
            deadline=deadline,
        )
        report = StageReport(
            stage=STAGE,
            status="optimal" if optimal else "feasible",
            levels=tuple(levels),
            seconds=round(time.monotonic() - started, 3),
            solver="CP-SAT",
        )
    step(4, 4)
    matches = tuple(
        Match(
            participant_id=i,
            cohort_id=pool.cohort[i],
            mentor_id=mentors[i],
            coach_id=coaches[i],
            mentor_fit=pool.mentor_options[i][mentors[i]],
            coach_fit=pool.coach_options[i][coaches[i]],
            reasons=reasons(scenario, p, pool.mentors[mentors[i]], pool.coaches[coaches[i]]),
        )
        for i, p in zip(ids, pool.participants, strict=True)
    )
    return MatchResult(matches=matches, report=report)


def _solve_with_cp_sat(
    pool: Pool,
    kept_before: dict[str, tuple[str, str]],
    flows: tuple[dict[str, str], dict[str, str]],
    *,
    fairness: str,
    keep: bool,
    clash: bool,
    workers: int,
    deadline: float,
) -> tuple[dict[str, str], dict[str, str], list[Level], bool]:
    """The levels the flows alone cannot settle (kept pairs, a clash, the worst fit), by CP-SAT,
    started from the flows' matching where it is lawful."""
    mentors, coaches = flows
    ids = pool.ids
    flow_total = _total_fit(pool, mentors, coaches)
    flow_worst = _min_fit(pool, mentors, coaches)
    ceiling = _fit_ceiling(pool)
    model = MatchingModel(pool, kept_before)
    if not clash:
        model.hint(mentors, coaches)
    objectives: list[tuple[str, cp_model.LinearExprT]] = []
    if keep:
        objectives.append(("kept_pairs", model.kept()))
    if fairness == "egalitarian":
        # The flows' matching is lawful, so its worst fit is a floor for the optimum.
        floor = 0 if keep or clash else flow_worst
        worst = model.model.new_int_var(floor, ceiling, "min_fit")
        model.add_worst_fit_at_least(floor)
        for i in ids:
            model.model.add(worst <= model.fit(i))
        objectives.append(("min_fit", worst))

    def evaluate(name: str, chosen_mentors: dict[str, str], chosen_coaches: dict[str, str]) -> int:
        if name == "kept_pairs":
            return _kept(kept_before, chosen_mentors, chosen_coaches)
        if name == "min_fit":
            return _min_fit(pool, chosen_mentors, chosen_coaches)
        return _total_fit(pool, chosen_mentors, chosen_coaches)

    ceilings = {
        "kept_pairs": 2 * len(kept_before),
        "min_fit": ceiling,
        "total_fit": sum(
            max(pool.mentor_options[i].values()) + max(pool.coach_options[i].values()) for i in ids
        ),
    }
    solved_mentors, solved_coaches, levels, optimal = _solve_levels(
        model,
        objectives,
        workers=workers,
        deadline=deadline,
        start=None if clash else (mentors, coaches),
        ceilings=ceilings,
        evaluate=evaluate,
    )
    if fairness == "egalitarian" and not clash and optimal and levels[-1].value == flow_worst:
        # The flows already reach the best worst fit, with the best total of all.
        levels.append(Level(name="total_fit", sense="max", value=flow_total, bound=flow_total))
    else:
        total_objective = sum(model.fit(i) for i in ids)
        solved_mentors, solved_coaches, more, more_optimal = _solve_levels(
            model,
            [("total_fit", total_objective)],
            workers=workers,
            deadline=deadline,
            start=(solved_mentors, solved_coaches) if solved_mentors else None,
            ceilings=ceilings,
            evaluate=evaluate,
        )
        mentors, coaches = solved_mentors, solved_coaches
        levels += more
        optimal = optimal and more_optimal
    return mentors, coaches, levels, optimal


def _fit_ceiling(pool: Pool) -> int:
    """No participant can do better than their best mentor plus their best coach."""
    return min(
        (
            max(pool.mentor_options[i].values()) + max(pool.coach_options[i].values())
            for i in pool.ids
        ),
        default=0,
    )
