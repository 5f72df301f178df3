"""Place allocation with CP-SAT: the contract's six lexicographic objectives, level by level.

Cohorts that share no eligible applicant are independent, so each connected group of cohorts
is solved on its own (in parallel across the workers), and the lexicographic optimum of the
whole is the union of the parts' optima.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from ..errors import InfeasibleError
from ..model import Allocation, Cohort, Level, Scenario, StageReport
from ..selection import Candidate, candidates, outcomes
from . import cp_sat, no_solution

LEVELS = (
    ("ring_fence_fill", "max"),
    ("places_filled", "max"),
    ("total_score_hundredths", "max"),
    ("preference_positions", "min"),
    ("lottery_ranks", "min"),
    ("cohort_tie_break", "min"),
)


@dataclass
class Part:
    """A connected group of cohorts and the eligible applicants who can join them."""

    cohorts: list[Cohort]
    pool: list[Candidate]  # sorted by lottery rank, so the model never depends on row order
    fixed: dict[str, str] = field(default_factory=dict)  # applicant -> cohort, kept as is


class AllocationModel:
    """The CP-SAT model of one part, with its variables in one typed holder."""

    def __init__(self, scenario: Scenario, part: Part, *, explain: bool = False):
        self.scenario = scenario
        self.part = part
        self.model = cp_model.CpModel()
        self.assumptions: dict[int, str] = {}  # literal index -> plain-words constraint
        self._explain = explain
        self.x: dict[tuple[str, str], cp_model.IntVar] = {}
        cohort_ids = {c.id for c in part.cohorts}
        for cand in part.pool:
            for cohort_id in cand.cohorts:
                if cohort_id in cohort_ids:
                    self.x[cand.id, cohort_id] = self.model.new_bool_var(
                        f"placed[{cand.id},{cohort_id}]"
                    )
        self.by_cohort: dict[str, list[tuple[Candidate, cp_model.IntVar]]] = defaultdict(list)
        self.by_id = {c.id: c for c in part.pool}
        for (applicant_id, cohort_id), var in self.x.items():
            self.by_cohort[cohort_id].append((self.by_id[applicant_id], var))
        self.fill: list[cp_model.IntVar] = []

        self.add_one_cohort_each()
        for cohort in part.cohorts:
            self.add_places(cohort)
            self.add_ring_fences(cohort)
            self.add_max_per_service_area(cohort)
            self.add_max_per_council(cohort)
            self.add_min_service_areas(cohort)
        self.add_kept_selections()

    # -- helpers

    def placed(self, applicant_id: str, cohort_id: str) -> cp_model.IntVar | None:
        return self.x.get((applicant_id, cohort_id))

    def _guard(self, description: str) -> list[cp_model.IntVar]:
        """An assumption literal for a constraint family, when explaining infeasibility."""
        if not self._explain:
            return []
        literal = self.model.new_bool_var(description)
        self.assumptions[literal.index] = description
        return [literal]

    def _enforce(self, constraint: cp_model.Constraint, guard: list[cp_model.IntVar]) -> None:
        if guard:
            constraint.only_enforce_if(guard)

    # -- hard rules

    def add_one_cohort_each(self) -> None:
        """An applicant takes at most one place, in a cohort acceptable to them."""
        per_applicant: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        for (applicant_id, _), var in self.x.items():
            per_applicant[applicant_id].append(var)
        for vars_ in per_applicant.values():
            if len(vars_) > 1:
                self.model.add_at_most_one(vars_)

    def add_places(self, cohort: Cohort) -> None:
        """A cohort takes at most its number of places."""
        guard = self._guard(f"cohort {cohort.id}: only {cohort.places} places")
        self._enforce(
            self.model.add(sum(v for _, v in self.by_cohort[cohort.id]) <= cohort.places), guard
        )

    def add_ring_fences(self, cohort: Cohort) -> None:
        """Level 1 counts members up to each ring fence's minimum; `hold` caps non-members."""
        for rf in self.scenario.settings.selection.ring_fence:
            minimum = rf.minimum(cohort.places)
            members = [v for c, v in self.by_cohort[cohort.id] if rf.name in c.ring_fences]
            outsiders = [v for c, v in self.by_cohort[cohort.id] if rf.name not in c.ring_fences]
            fill = self.model.new_int_var(0, minimum, f"ring_fence_fill[{rf.name},{cohort.id}]")
            self.model.add(fill <= sum(members))
            self.fill.append(fill)
            if rf.unfilled == "hold":
                guard = self._guard(
                    f"cohort {cohort.id}: {minimum} places held for '{rf.name}' (hold), "
                    f"so at most {cohort.places - minimum} go to non-members"
                )
                self._enforce(self.model.add(sum(outsiders) <= cohort.places - minimum), guard)

    def add_max_per_service_area(self, cohort: Cohort) -> None:
        """No more than max_per_service_area from one (council, service area)."""
        limit = self.scenario.settings.selection.spread.max_per_service_area
        self._add_cap(cohort, "max_per_service_area", limit, lambda c: c.applicant.area)

    def add_max_per_council(self, cohort: Cohort) -> None:
        """No more than max_per_council from one council."""
        limit = self.scenario.settings.selection.spread.max_per_council
        self._add_cap(cohort, "max_per_council", limit, lambda c: c.applicant.council)

    def _add_cap(
        self, cohort: Cohort, rule: str, limit: int | None, key: Callable[[Candidate], object]
    ) -> None:
        if limit is None:
            return
        guard = self._guard(f"cohort {cohort.id}: {rule}={limit}")
        for vars_ in self._grouped(cohort, key).values():
            if len(vars_) > limit:
                self._enforce(self.model.add(sum(vars_) <= limit), guard)

    def add_min_service_areas(self, cohort: Cohort) -> None:
        """At least min_service_areas distinct (council, service area) in the cohort."""
        needed = self.scenario.settings.selection.spread.min_service_areas
        if not needed:
            return
        groups = self._grouped(cohort, lambda c: c.applicant.area)
        guard = self._guard(
            f"cohort {cohort.id}: min_service_areas={needed} "
            f"(eligible applicants who can join come from {len(groups)} service areas)"
        )
        covered = []
        for area, vars_ in sorted(groups.items()):
            has = self.model.new_bool_var(f"covers[{cohort.id},{area[0]}/{area[1]}]")
            self.model.add(has <= sum(vars_))
            covered.append(has)
        self._enforce(self.model.add(sum(covered) >= needed), guard)

    def add_kept_selections(self) -> None:
        """After a withdrawal, everyone else already selected keeps their place."""
        for applicant_id, cohort_id in sorted(self.part.fixed.items()):
            var = self.placed(applicant_id, cohort_id)
            guard = self._guard(f"{applicant_id} keeps their place in cohort {cohort_id}")
            if var is None:  # no longer eligible for that cohort: cannot be kept
                flag = self.model.new_constant(0)
                self._enforce(self.model.add(flag == 1), guard)
            else:
                self._enforce(self.model.add(var == 1), guard)

    def _grouped(
        self, cohort: Cohort, key: Callable[[Candidate], object]
    ) -> dict[object, list[cp_model.IntVar]]:
        groups: dict[object, list[cp_model.IntVar]] = defaultdict(list)
        for cand, var in self.by_cohort[cohort.id]:
            groups[key(cand)].append(var)
        return groups

    # -- objectives

    def objectives(self) -> list[cp_model.LinearExprT]:
        position = {c.id: i for i, c in enumerate(self.scenario.cohorts)}
        terms = [(self.by_id[a], cohort_id, var) for (a, cohort_id), var in self.x.items()]
        return [
            sum(self.fill),
            sum(var for _, _, var in terms),
            sum(c.hundredths * var for c, _, var in terms),
            sum(c.cohorts.index(k) * var for c, k, var in terms),
            sum(c.lottery * var for c, _, var in terms),
            sum(c.lottery * position[k] * var for c, k, var in terms),
        ]


@dataclass
class PartResult:
    placement: dict[str, str]
    values: list[int]
    bounds: list[int]
    optimal: bool


def solve_part(scenario: Scenario, part: Part, *, workers: int, deadline: float) -> PartResult:
    """Lexicographic solve: optimise each level, then fix it and go on to the next."""
    model = AllocationModel(scenario, part)
    objectives = model.objectives()
    values: list[int] = []
    bounds: list[int] = []
    optimal = True
    hint: dict[int, int] | None = None
    # Levels that the earlier ones already decide need no solve: with only first choices in
    # play the preference total is 0, and in a one-cohort part the cohort tie-break is a
    # fixed multiple of the lottery total.
    position = {c.id: i for i, c in enumerate(scenario.cohorts)}
    only_first_choices = all(model.by_id[a].cohorts[0] == k for a, k in model.x)
    for level, ((_, sense), objective) in enumerate(zip(LEVELS, objectives, strict=True)):
        if level == 3 and only_first_choices:
            values.append(0)
            bounds.append(0)
            continue
        if level == 5 and len(part.cohorts) == 1:
            values.append(position[part.cohorts[0].id] * values[4])
            bounds.append(position[part.cohorts[0].id] * bounds[4])
            continue
        if sense == "max":
            model.model.maximize(objective)
        else:
            model.model.minimize(objective)
        if hint:
            model.model.clear_hints()
            for var in model.x.values():
                model.model.add_hint(var, hint[var.index])
        # Free search is faster; the result is still the same every run, because the optimum of
        # each level is unique and _canonical settles the ties left after level 6.
        solver = cp_sat(workers, deadline - time.monotonic(), deterministic=False)
        status = solver.solve(model.model)
        if status == cp_model.INFEASIBLE:
            raise InfeasibleError("allocation", explain_infeasible(scenario, part))
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
        hint = {var.index: solver.value(var) for var in model.x.values()}
        # Fix the level at what was reached; when proven, this is exactly the optimum.
        if status == cp_model.OPTIMAL:
            model.model.add(objective == value)
        elif sense == "max":
            model.model.add(objective >= value)
        else:
            model.model.add(objective <= value)
    assert hint is not None
    chosen = _canonical(model, hint, workers=workers, deadline=deadline)
    placement = {a: k for (a, k), var in model.x.items() if chosen[var.index]}
    return PartResult(placement, values, bounds, optimal)


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
    current = dict(hint)

    def solve_with(extra: Callable[[cp_model.CpModel], None]) -> dict[int, int] | None:
        trial = model.model.clone()
        trial.clear_objective()
        trial.clear_hints()
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
            found = solve_with(
                lambda t, i=var.index: t.add(t.get_bool_var_from_proto_index(i) == 1)
            )
            if found is None:
                fixed[var.index] = 0
            else:
                current = found
                fixed[var.index] = 1
                break
        else:
            break
    return current


def explain_infeasible(scenario: Scenario, part: Part) -> list[str]:
    """Name the constraint families that cannot hold together (an assumption core)."""
    model = AllocationModel(scenario, part, explain=True)
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
    groups: dict[tuple, list[Candidate]] = defaultdict(list)
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


def split_parts(
    scenario: Scenario, pool: Sequence[Candidate], fixed: Mapping[str, str]
) -> list[Part]:
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
    groups: dict[str, Part] = {}
    for cohort in cohorts:
        groups.setdefault(find(cohort.id), Part([], [])).cohorts.append(cohort)
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
    """Select participants. ``keep`` (applicant -> cohort) pins places, e.g. after a withdrawal;
    ``pool`` replaces the candidates (``explain`` uses it to try other scores)."""
    started = time.monotonic()
    deadline = started + time_limit
    pool_all = list(pool) if pool is not None else candidates(scenario)
    excluded = set(withdrawn)
    eligible = [c for c in pool_all if c.eligible and c.id not in excluded]
    parts = split_parts(scenario, prune_dominated(scenario, eligible, keep or {}), keep or {})
    # Many small parts: one worker each, run side by side. One big part: all workers on it.
    per_part = workers if len(parts) < workers else 1
    results: list[PartResult] = []
    with ThreadPoolExecutor(max_workers=max(1, workers // per_part)) as executor:
        futures = [
            executor.submit(solve_part, scenario, part, workers=per_part, deadline=deadline)
            for part in parts
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
            sense=sense,  # type: ignore[arg-type]
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
