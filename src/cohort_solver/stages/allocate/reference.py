"""The same lexicographic allocation model as a MIP for HiGHS (bundled with OR-Tools).

A second, independent solver: tests compare its optimum with CP-SAT's, and the allocation
benchmark times the two side by side on the whole (undecomposed) model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ortools.linear_solver import pywraplp

from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate, candidates
from cohort_solver.stages.allocate.model import LEVELS
from cohort_solver.stages.allocate.readings import held_blocks, over_and_above

Member = tuple[Candidate, pywraplp.Variable]  # an applicant who could join a cohort, and x


@dataclass(frozen=True)
class ReferenceResult:
    placement: dict[str, str]
    levels: tuple[int, ...]
    optimal: bool
    seconds: float


def allocate_with_highs(
    scenario: Scenario, *, time_limit: float = 600.0, workers: int = 2
) -> ReferenceResult:
    started = time.monotonic()
    solver = pywraplp.Solver.CreateSolver("HIGHS")
    solver.SetNumThreads(workers)
    solver.SuppressOutput()
    pool = sorted((c for c in candidates(scenario) if c.eligible), key=lambda c: c.lottery)
    cohorts = scenario.cohorts
    position = {c.id: i for i, c in enumerate(cohorts)}
    x = {(c.id, k): solver.BoolVar(f"x[{c.id},{k}]") for c in pool for k in c.cohorts}
    by_id = {c.id: c for c in pool}
    per_applicant: dict[str, list[pywraplp.Variable]] = defaultdict(list)
    per_cohort: dict[str, list[Member]] = defaultdict(list)
    for (a, k), var in x.items():
        per_applicant[a].append(var)
        per_cohort[k].append((by_id[a], var))
    for vars_ in per_applicant.values():
        solver.Add(sum(vars_) <= 1)
    fill = [
        f
        for cohort in cohorts
        for f in _add_cohort_rules(solver, scenario, cohort, per_cohort[cohort.id])
    ]
    open_: dict[tuple[str, str], pywraplp.Variable] = {}
    held_fill: list[pywraplp.Variable] = []
    optimal = True
    if over_and_above(scenario):
        for cohort in cohorts:
            held_fill += _add_held_places(solver, scenario, cohort, per_cohort[cohort.id], open_)
        # First pass: the open places on merit, each level fixed like any other.
        first = _levels(by_id, position, open_, sum(fill))
        _, _, optimal = _solve_in_order(solver, first, open_, time_limit, started)
    objectives = _levels(by_id, position, x, sum(fill) + sum(held_fill))
    placement, values, second = _solve_in_order(solver, objectives, x, time_limit, started)
    return ReferenceResult(placement, tuple(values), optimal and second, time.monotonic() - started)


def _levels(
    by_id: dict[str, Candidate],
    position: dict[str, int],
    chosen: dict[tuple[str, str], pywraplp.Variable],
    fill: Any,
) -> list[Any]:
    terms = [(by_id[a], k, v) for (a, k), v in chosen.items()]
    return [
        fill,
        sum(v for _, _, v in terms),
        sum(c.hundredths * v for c, _, v in terms),
        sum(c.cohorts.index(k) * v for c, k, v in terms),
        sum(c.lottery * v for c, _, v in terms),
        sum(c.lottery * position[k] * v for c, k, v in terms),
    ]


def _add_held_places(
    solver: pywraplp.Solver,
    scenario: Scenario,
    cohort: Cohort,
    members: list[Member],
    open_: dict[tuple[str, str], pywraplp.Variable],
) -> list[pywraplp.Variable]:
    """Over and above: each place is open or held for one ring fence; returns the held
    places' member seats (level 1's part for them)."""
    blocks = held_blocks(scenario, cohort.places)
    seats: dict[str, list[pywraplp.Variable]] = {b.name: [] for b in blocks}
    member_seats = []
    for c, v in members:
        open_[c.id, cohort.id] = solver.BoolVar(f"open[{c.id},{cohort.id}]")
        mine = [open_[c.id, cohort.id]]
        for block in blocks:
            seat = solver.BoolVar(f"held[{c.id},{cohort.id},{block.name}]")
            if not block.admits(c):
                solver.Add(seat == 0)
            if block.name in c.ring_fences:
                member_seats.append(seat)
            seats[block.name].append(seat)
            mine.append(seat)
        solver.Add(sum(mine) == v)
    solver.Add(
        sum(open_[c.id, cohort.id] for c, _ in members)
        <= cohort.places - sum(b.size for b in blocks)
    )
    for block in blocks:
        solver.Add(sum(seats[block.name]) <= block.size)
    return member_seats


def _add_cohort_rules(
    solver: pywraplp.Solver, scenario: Scenario, cohort: Cohort, members: list[Member]
) -> list[pywraplp.Variable]:
    """Places, ring fences and spread for one cohort; returns its ring-fence fill variables."""
    selection = scenario.settings.selection
    spread = selection.spread
    solver.Add(sum(v for _, v in members) <= cohort.places)
    fill = []
    for rf in selection.ring_fence:
        if rf.reading == "over_and_above":
            continue  # seats of its own (_add_held_places)
        minimum = rf.minimum_in(cohort)
        f = solver.IntVar(0, minimum, f"fill[{rf.name},{cohort.id}]")
        solver.Add(f <= sum(v for c, v in members if rf.name in c.ring_fences))
        fill.append(f)
        if rf.unfilled == "hold":
            solver.Add(
                sum(v for c, v in members if rf.name not in c.ring_fences)
                <= cohort.places - minimum
            )
    areas: dict[object, list[pywraplp.Variable]] = defaultdict(list)
    councils: dict[object, list[pywraplp.Variable]] = defaultdict(list)
    for c, v in members:
        areas[c.applicant.area].append(v)
        councils[c.applicant.council].append(v)
    for limit, groups in (
        (spread.max_per_service_area, areas),
        (spread.max_per_council, councils),
    ):
        if limit is not None:
            for vars_ in groups.values():
                solver.Add(sum(vars_) <= limit)
    if spread.min_service_areas:
        covered = []
        for vars_ in areas.values():
            y = solver.BoolVar("")
            solver.Add(y <= sum(vars_))
            covered.append(y)
        solver.Add(sum(covered) >= spread.min_service_areas)
    return fill


def _solve_in_order(
    solver: pywraplp.Solver,
    objectives: list[Any],
    x: dict[tuple[str, str], pywraplp.Variable],
    time_limit: float,
    started: float,
) -> tuple[dict[str, str], list[int], bool]:
    """Each level in turn at its exact optimum, then fixed there for the next."""
    # HiGHS stops at a 0.01% gap by default; lexicographic fixing needs the exact optimum.
    parameters = pywraplp.MPSolverParameters()
    parameters.SetDoubleParam(parameters.RELATIVE_MIP_GAP, 0.0)
    values = []
    placement: dict[str, str] = {}
    optimal = True
    for (_, sense), objective in zip(LEVELS, objectives, strict=True):
        if sense == "max":
            solver.Maximize(objective)
        else:
            solver.Minimize(objective)
        solver.SetTimeLimit(int(max(1, time_limit - (time.monotonic() - started)) * 1000))
        status = solver.Solve(parameters)
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            raise RuntimeError(f"HiGHS found no allocation (status {status})")
        optimal = optimal and status == pywraplp.Solver.OPTIMAL
        value = round(solver.Objective().Value())
        values.append(value)
        placement = {a: k for (a, k), v in x.items() if v.solution_value() > 0.5}
        solver.Add(objective == value)
    return placement, values, optimal
