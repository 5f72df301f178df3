"""Place allocation with CP-SAT: the contract's six lexicographic objectives, level by level.

Cohorts that share no eligible applicant are independent, so each connected group of cohorts
is solved on its own (in parallel across the workers), and the lexicographic optimum of the
whole is the union of the groups' optima."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ortools.sat.python import cp_model

from cohort_solver.cpsat import cp_sat, no_solution
from cohort_solver.domain.results import Allocation, Level, StageReport
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.allocate.eligibility import Candidate, candidates
from cohort_solver.stages.allocate.model import LEVELS, AllocationModel, CohortGroup
from cohort_solver.stages.allocate.outcomes import outcomes


@dataclass
class GroupResult:
    placement: dict[str, str]
    values: list[int]
    bounds: list[int]
    optimal: bool


@dataclass
class Pass:
    values: list[int]
    bounds: list[int]
    optimal: bool
    hint: dict[int, int]


def solve_group(
    scenario: Scenario, group: CohortGroup, *, workers: int, deadline: float
) -> GroupResult:
    """Lexicographic solve: optimise each level, then fix it and go on to the next.

    Over and above, a first pass fills the open places (open_objectives), each of its levels
    fixed like any other; the second pass then fills the held places with the six levels of
    the whole. Twelve levels in all, so a tie in the first pass is settled by the second."""
    model = AllocationModel(scenario, group)
    hint: dict[int, int] | None = None
    optimal = True
    if model.open:
        first = _lexicographic(
            scenario, group, model, model.open_objectives(), hint, workers, deadline
        )
        hint, optimal = first.hint, first.optimal
    result = _lexicographic(scenario, group, model, model.objectives(), hint, workers, deadline)
    chosen = _canonical(model, result.hint, workers=workers, deadline=deadline)
    placement = {a: k for (a, k), var in model.x.items() if chosen[var.index]}
    return GroupResult(placement, result.values, result.bounds, optimal and result.optimal)


def _lexicographic(
    scenario: Scenario,
    group: CohortGroup,
    model: AllocationModel,
    objectives: Sequence[cp_model.LinearExprT],
    hint: dict[int, int] | None,
    workers: int,
    deadline: float,
) -> Pass:
    values: list[int] = []
    bounds: list[int] = []
    optimal = True
    decisions = model.decisions()
    # Levels that the earlier ones already decide need no solve: with only first choices in
    # play the preference total is 0, and in a one-cohort group the cohort tie-break is a
    # fixed multiple of the lottery total.
    position = {c.id: i for i, c in enumerate(scenario.cohorts)}
    only_first_choices = all(model.by_id[a].cohorts[0] == k for a, k in model.x)
    for level, ((_, sense), objective) in enumerate(zip(LEVELS, objectives, strict=True)):
        if level == 3 and only_first_choices:
            values.append(0)
            bounds.append(0)
            continue
        if level == 5 and len(group.cohorts) == 1:
            values.append(position[group.cohorts[0].id] * values[4])
            bounds.append(position[group.cohorts[0].id] * bounds[4])
            continue
        if sense == "max":
            model.model.maximize(objective)
        else:
            model.model.minimize(objective)
        if hint:
            model.model.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves it unannotated
            for var in decisions:
                model.model.add_hint(var, hint[var.index])
        # Free search is faster; the result is still the same every run, because the optimum of
        # each level is unique and _canonical settles the ties left after level 6.
        solver = cp_sat(workers, deadline - time.monotonic(), deterministic=False)
        status = solver.solve(model.model)
        if status == cp_model.INFEASIBLE:
            raise InfeasibleError("allocation", explain_infeasible(scenario, group))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            no_solution(
                "allocation",
                status,
                f"no allocation was found within the limit (objective level {level + 1} of 6)",
            )
        value = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
        optimal = optimal and status == cp_model.OPTIMAL
        values.append(value)
        bounds.append(bound)
        hint = {var.index: solver.value(var) for var in decisions}
        # Fix the level at what was reached; when proven, this is exactly the optimum.
        if status == cp_model.OPTIMAL:
            model.model.add(objective == value)
        elif sense == "max":
            model.model.add(objective >= value)
        else:
            model.model.add(objective <= value)
    assert hint is not None
    return Pass(values, bounds, optimal, hint)


def _canonical(
    model: AllocationModel, hint: dict[int, int], *, workers: int, deadline: float
) -> dict[int, int]:
    """Settle any tie left after level 6 the same way every run: among all optimal
    allocations, take the one that places earlier (lottery rank, cohort order) pairs first.

    Usually one solve proves the optimum unique. Otherwise pairs are fixed greedily in that
    order; a pair already placed in a known optimum is fixed without a solve.
    """
    position = {c.id: i for i, c in enumerate(model.scenario.cohorts)}
    order = sorted(
        model.x.items(),
        key=lambda item: (model.by_id[item[0][0]].lottery, position[item[0][1]]),
    )
    fixed: dict[int, int] = {}
    current = {var.index: hint[var.index] for var in model.x.values()}

    def solve_with(extra: Callable[[cp_model.CpModel], None]) -> dict[int, int] | None:
        trial = model.model.clone()
        trial.clear_objective()  # type: ignore[no-untyped-call]  # OR-Tools leaves it unannotated
        trial.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves it unannotated
        for index, value in fixed.items():
            trial.add(trial.get_bool_var_from_proto_index(index) == value)
        extra(trial)
        solver = cp_sat(workers, deadline - time.monotonic(), deterministic=False)
        status = solver.solve(trial)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return {
                var.index: solver.value(trial.get_bool_var_from_proto_index(var.index))
                for var in model.x.values()
            }
        return None

    def differs(trial: cp_model.CpModel) -> None:
        chosen = [trial.get_bool_var_from_proto_index(i) for i, v in current.items() if v]
        trial.add(sum(chosen) <= len(chosen) - 1)

    while time.monotonic() < deadline and solve_with(differs) is not None:
        for _, var in order:
            if var.index in fixed:
                continue
            if current[var.index]:
                fixed[var.index] = 1
                continue

            def place(trial: cp_model.CpModel, index: int = var.index) -> None:
                trial.add(trial.get_bool_var_from_proto_index(index) == 1)

            found = solve_with(place)
            if found is None:
                fixed[var.index] = 0
            else:
                current = found
                fixed[var.index] = 1
                break
        else:
            break
    return current


def explain_infeasible(scenario: Scenario, group: CohortGroup) -> list[str]:
    """Name the constraint families that cannot hold together (an assumption core)."""
    model = AllocationModel(scenario, group, explain=True)
    solver = cp_model.CpSolver()
    # Core extraction is only reliable single-threaded.
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    model.model.add_assumptions(
        [model.model.get_bool_var_from_proto_index(i) for i in model.assumptions]
    )
    status = solver.solve(model.model)
    if status != cp_model.INFEASIBLE:
        return ["the allocation rules clash, but the solver could not isolate which ones in time"]
    core = solver.sufficient_assumptions_for_infeasibility()
    return [model.assumptions[i] for i in core] or ["the allocation rules clash"]


def prune_dominated(
    scenario: Scenario, pool: Sequence[Candidate], keep: Mapping[str, str]
) -> list[Candidate]:
    """Drop applicants who can never be in an optimal allocation.

    Two single-cohort applicants of the same cohort, service area and ring-fence memberships are
    interchangeable for every rule, so if ``cap`` of them (the most that rule set can ever seat)
    rank higher on score-then-lottery, swapping in an unseated one would always improve the
    objective. This is exact, and shrinks a 300-applicant cohort to a few dozen.
    """
    spread = scenario.settings.selection.spread
    places = {c.id: c.places for c in scenario.cohorts}
    groups: dict[tuple[str, tuple[str, str], tuple[str, ...]], list[Candidate]] = defaultdict(list)
    kept: list[Candidate] = []
    for cand in pool:
        if len(cand.cohorts) == 1 and cand.id not in keep:
            groups[(cand.cohorts[0], cand.applicant.area, cand.ring_fences)].append(cand)
        else:
            kept.append(cand)
    for (cohort_id, _, _), group in groups.items():
        cap = min(
            places[cohort_id],
            spread.max_per_service_area or places[cohort_id],
            spread.max_per_council or places[cohort_id],
        )
        group.sort(key=lambda c: (-c.hundredths, c.lottery))
        kept.extend(group[:cap])
    return kept


def split_groups(
    scenario: Scenario, pool: Sequence[Candidate], fixed: Mapping[str, str]
) -> list[CohortGroup]:
    """Connected groups of cohorts (linked by applicants who could join either)."""
    cohorts = scenario.cohorts
    parent = {c.id: c.id for c in cohorts}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for cand in pool:
        for other in cand.cohorts[1:]:
            parent[find(other)] = find(cand.cohorts[0])
    groups: dict[str, CohortGroup] = {}
    for cohort in cohorts:
        groups.setdefault(find(cohort.id), CohortGroup([], [])).cohorts.append(cohort)
    for cand in sorted(pool, key=lambda c: c.lottery):
        groups[find(cand.cohorts[0])].pool.append(cand)
    for applicant_id, cohort_id in fixed.items():
        groups[find(cohort_id)].fixed[applicant_id] = cohort_id
    return list(groups.values())


def allocate(
    scenario: Scenario,
    *,
    time_limit: float = 60.0,
    workers: int = 2,
    keep: Mapping[str, str] | None = None,
    withdrawn: Sequence[str] = (),
    pool: Sequence[Candidate] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Allocation:
    """Select participants. ``keep`` (applicant -> cohort) pins places after a withdrawal, and
    then at most one applicant joins;
    ``pool`` replaces the candidates (``explain`` uses it to try other scores)."""
    started = time.monotonic()
    deadline = started + time_limit
    pool_all = list(pool) if pool is not None else candidates(scenario)
    excluded = set(withdrawn)
    eligible = [c for c in pool_all if c.eligible and c.id not in excluded]
    # Pruning drops applicants no optimum can seat; a mandatory selection must seat them all.
    if scenario.settings.selection.mode != "mandatory":
        eligible = prune_dominated(scenario, eligible, keep or {})
    groups = split_groups(scenario, eligible, keep or {})
    for group in groups:
        group.one_newcomer = keep is not None
    # Many small groups: one worker each, run side by side. One big group: all workers on it.
    per_group = workers if len(groups) < workers else 1
    results: list[GroupResult] = []
    with ThreadPoolExecutor(max_workers=max(1, workers // per_group)) as executor:
        futures = [
            executor.submit(solve_group, scenario, group, workers=per_group, deadline=deadline)
            for group in groups
        ]
        for done, future in enumerate(futures, start=1):
            results.append(future.result())
            if progress:
                progress(done, len(futures))
    placement: dict[str, str] = {}
    for result in results:
        placement.update(result.placement)
    levels = tuple(
        Level(
            name=name,
            sense=sense,
            value=sum(r.values[i] for r in results),
            bound=sum(r.bounds[i] for r in results),
        )
        for i, (name, sense) in enumerate(LEVELS)
    )
    report = StageReport(
        stage="allocation",
        status="optimal" if all(r.optimal for r in results) else "feasible",
        levels=levels,
        seconds=round(time.monotonic() - started, 3),
    )
    return Allocation(
        outcomes=tuple(outcomes(scenario, pool_all, placement, withdrawn=excluded)), report=report
    )
