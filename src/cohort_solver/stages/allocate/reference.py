"""The same lexicographic allocation model as a MIP for HiGHS (bundled with OR-Tools).

A second, independent solver: tests compare its optimum with CP-SAT's, and the allocation
benchmark times the two side by side on the whole (undecomposed) model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.allocate.eligibility import candidates
from cohort_solver.stages.allocate.model import LEVELS


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
    selection = scenario.settings.selection
    spread = selection.spread
    pool = sorted((c for c in candidates(scenario) if c.eligible), key=lambda c: c.lottery)
    cohorts = scenario.cohorts
    position = {c.id: i for i, c in enumerate(cohorts)}
    x = {(c.id, k): solver.BoolVar(f"x[{c.id},{k}]") for c in pool for k in c.cohorts}
    by_id = {c.id: c for c in pool}
    per_applicant = defaultdict(list)
    per_cohort = defaultdict(list)
    for (a, k), var in x.items():
        per_applicant[a].append(var)
        per_cohort[k].append((by_id[a], var))
    for vars_ in per_applicant.values():
        solver.Add(sum(vars_) <= 1)
    fill = []
    for cohort in cohorts:
        members = per_cohort[cohort.id]
        solver.Add(sum(v for _, v in members) <= cohort.places)
        for rf in selection.ring_fence:
            minimum = rf.minimum(cohort.places)
            f = solver.IntVar(0, minimum, f"fill[{rf.name},{cohort.id}]")
            solver.Add(f <= sum(v for c, v in members if rf.name in c.ring_fences))
            fill.append(f)
            if rf.unfilled == "hold":
                solver.Add(
                    sum(v for c, v in members if rf.name not in c.ring_fences)
                    <= cohort.places - minimum
                )
        areas: dict[object, list] = defaultdict(list)
        councils: dict[object, list] = defaultdict(list)
        for c, v in members:
            areas[c.applicant.area].append(v)
            councils[c.applicant.council].append(v)
        if spread.max_per_service_area is not None:
            for vars_ in areas.values():
                solver.Add(sum(vars_) <= spread.max_per_service_area)
        if spread.max_per_council is not None:
            for vars_ in councils.values():
                solver.Add(sum(vars_) <= spread.max_per_council)
        if spread.min_service_areas:
            covered = []
            for vars_ in areas.values():
                y = solver.BoolVar("")
                solver.Add(y <= sum(vars_))
                covered.append(y)
            solver.Add(sum(covered) >= spread.min_service_areas)
    terms = [(by_id[a], k, v) for (a, k), v in x.items()]
    objectives = [
        sum(fill),
        sum(v for _, _, v in terms),
        sum(c.hundredths * v for c, _, v in terms),
        sum(c.cohorts.index(k) * v for c, k, v in terms),
        sum(c.lottery * v for c, _, v in terms),
        sum(c.lottery * position[k] * v for c, k, v in terms),
    ]
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
    return ReferenceResult(placement, tuple(values), optimal, time.monotonic() - started)
