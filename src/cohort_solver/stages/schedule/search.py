"""The search policy: effort that grows until a search succeeds, and stays deterministic.

Every CP-SAT call runs on one worker and stops on CP-SAT's *deterministic time*, its own count
of work done, which is the same on every machine and under any load. A search that finds
nothing within its effort is run again with twice the effort, so more time always buys more
search. Independent parts of the calendar (linked groups of events, months) are solved side
by side on ``workers`` threads and combined in a fixed order, so the number of cores changes
the wall time, never the calendar.

The wall clock (``--time-limit``) decides only between "done" and "out of time": when it
stops a search before that search has used its effort, the stage raises ``OutOfTimeError``
(exit 4) instead of returning a calendar that depends on the machine's speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ortools.sat.python import cp_model

from cohort_solver.errors import InternalError, OutOfTimeError

T = TypeVar("T")
R = TypeVar("R")

# Deterministic time (about a second of one core on CP-SAT's reference machine) per event of
# a model, and the least any search gets. Improvement searches get a fixed share on top.
EFFORT_PER_EVENT = 0.002
MIN_EFFORT = 0.5
# How many times a search that found nothing is retried with twice the effort before the
# next, larger, decomposition is tried; the whole-programme model doubles without end.
RETRIES = 2
# Floating-point noise in CP-SAT's objective bound, far below one unit of any soft goal.
BOUND_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Solved:
    status: cp_model.CpSolverStatus | int
    solver: cp_model.CpSolver

    @property
    def found(self) -> bool:
        return self.status in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    @property
    def optimal(self) -> bool:
        return self.status == cp_model.OPTIMAL

    @property
    def infeasible(self) -> bool:
        return self.status == cp_model.INFEASIBLE

    def bound(self) -> int:
        """CP-SAT's proven lower bound of the objective, rounded up (the objective is integral)
        after its floating-point noise is taken off: CP-SAT reports an optimum of 13 as
        13.000000000000002, which a plain ceiling would turn into a bound of 14."""
        value = self.solver.best_objective_bound
        return math.ceil(value - BOUND_TOLERANCE) if math.isfinite(value) else 0


class Search:
    """Every CP-SAT call of one ``schedule()``, and the threads independent parts run on."""

    def __init__(self, time_limit: float, workers: int):
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit
        self.workers = max(1, workers)
        self.reached = "the candidate times of every event were being computed"
        self._pool: ThreadPoolExecutor | None = None

    def effort(self, events: int, scale: float = 1.0) -> float:
        return max(MIN_EFFORT, EFFORT_PER_EVENT * events * scale)

    def solve(self, model: cp_model.CpModel, effort: float, *, probing: bool = True) -> Solved:
        """One deterministic search; ``OutOfTimeError`` if the wall clock stops it first.
        ``probing=False``: no probing in presolve or search (the runs' model: probing its
        thousands of time literals took 90% of the time and found nothing)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.out_of_time()
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        # Symmetry detection can stall a sequential search for many seconds before it starts
        # on these models (measured: 15 s of 17 on a two-month skeleton), for little gain.
        solver.parameters.symmetry_level = 0
        solver.parameters.max_deterministic_time = effort
        solver.parameters.max_time_in_seconds = left
        if not probing:
            solver.parameters.cp_model_probing_level = 0
        status = solver.solve(model)
        used = solver.response_proto.deterministic_time
        if status == cp_model.MODEL_INVALID:
            raise InternalError(f"calendar: the solver rejected a model ({model.validate()})")
        undecided = status in (cp_model.FEASIBLE, cp_model.UNKNOWN)
        if undecided and used < effort * 0.999:
            raise self.out_of_time()
        return Solved(status, solver)

    def complete_hint(
        self, model: cp_model.CpModel, fixed: Sequence[tuple[cp_model.IntVar, int]]
    ) -> int | None:
        """Hint every variable of ``model``: solve a copy with ``fixed`` decisions held and
        hint all its values (penalty variables included), so the search starts from exactly
        that calendar. Returns its objective, or None if those decisions are not lawful."""
        trial = model.clone()
        trial.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves clear_hints unannotated
        for var, value in fixed:
            trial.add(trial.get_int_var_from_proto_index(var.index) == value)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.symmetry_level = 0
        solver.parameters.max_deterministic_time = MIN_EFFORT
        solver.parameters.max_time_in_seconds = max(0.01, self.deadline - time.monotonic())
        status = solver.solve(trial)
        if status == cp_model.UNKNOWN and solver.response_proto.deterministic_time < MIN_EFFORT:
            raise self.out_of_time()  # the wall clock, not the model, decided
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        model.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves clear_hints unannotated
        for index, value in enumerate(solver.response_proto.solution):
            model.add_hint(model.get_int_var_from_proto_index(index), value)
        return round(solver.objective_value)

    def until_found(
        self,
        model: cp_model.CpModel,
        effort: float,
        retries: int | None = RETRIES,
        *,
        probing: bool = True,
    ) -> Solved:
        """Solve, doubling the effort while the search finds nothing and proves nothing;
        ``retries=None`` doubles until the wall clock says otherwise."""
        attempt = 0
        while True:
            solved = self.solve(model, effort, probing=probing)
            if solved.status != cp_model.UNKNOWN or (retries is not None and attempt >= retries):
                return solved
            attempt += 1
            effort *= 2

    def until_proven(
        self, model: cp_model.CpModel, effort: float, doublings: int, enough: float = math.inf
    ) -> Solved:
        """Solve for a lower bound: while the search neither proves its optimum, nor finds the
        model infeasible, nor reaches a bound of ``enough``, double the effort, at most
        ``doublings`` times (deterministic time throughout, so the bound is the same on every
        machine)."""
        solved = self.solve(model, effort)
        while doublings > 0 and not (
            solved.optimal or solved.infeasible or solved.bound() >= enough
        ):
            doublings -= 1
            effort *= 2
            solved = self.solve(model, effort)
        return solved

    def map(self, solve: Callable[[T], R], parts: Iterable[T]) -> list[R]:
        """``solve`` each independent part, side by side on the worker threads; results in
        the order of ``parts`` (CP-SAT releases the interpreter lock while it searches)."""
        items: Sequence[T] = list(parts)
        if self.workers == 1 or len(items) < 2:
            return [solve(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="calendar")
        return list(self._pool.map(solve, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def out_of_time(self) -> OutOfTimeError:
        return OutOfTimeError(
            "calendar",
            f"after {self.time_limit:g} s {self.reached}",
            "every search here is deterministic and its effort doubles until it succeeds, so a "
            f"larger --time-limit (e.g. --time-limit {max(2 * self.time_limit, 60):g}) lets it "
            "go on, and the calendar it then finds is the same on any machine",
        )
