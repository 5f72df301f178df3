"""What the three solver stages share about CP-SAT: one way to set a solver up, one way to fail."""

from __future__ import annotations

from ortools.sat.python import cp_model

from cohort_solver.errors import InternalError, OutOfTimeError


def cp_sat(workers: int, seconds: float, *, deterministic: bool = True) -> cp_model.CpSolver:
    """A CP-SAT solver on ``workers`` threads with a wall-clock limit.

    Interleaved search makes a parallel solve reproducible whatever the thread timing, so ties
    come out the same on every run; the calendar turns it off for months too big for it.
    """
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    solver.parameters.random_seed = 0
    solver.parameters.interleave_search = deterministic
    return solver


def no_solution(stage: str, status: cp_model.CpSolverStatus | int, reached: str) -> None:
    """Raise the right error when a solve returned no solution (status not OPTIMAL/FEASIBLE).

    UNKNOWN means the time limit stopped the search first: exit 4, never "infeasible".
    MODEL_INVALID means this program built a bad model: a bug, exit 3. INFEASIBLE is for the
    caller to explain, because only it knows the rules in the panel's words.
    """
    if status == cp_model.MODEL_INVALID:
        raise InternalError(f"{stage}: the solver rejected the model as invalid")
    if status == cp_model.UNKNOWN:
        raise OutOfTimeError(
            stage,
            reached,
            "a larger --time-limit gives the solver more time to find a first solution",
        )
