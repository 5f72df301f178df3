"""Every OR-Tools model lives here: one module per stage, plus the HiGHS reference."""

from __future__ import annotations

from ortools.sat.python import cp_model


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
