"""Measuring one stage on its own: in a fresh process, with its wall time and peak memory.

A stage measured in the benchmark's own process would carry the memory of everything run
before it, so ``in_child`` runs a module-level function in a new (spawned, not forked)
interpreter and returns its result beside the wall seconds of the call and the child's peak
resident memory. A solver error (infeasible, out of time) comes back as a ``Failed``, so one
instance that fails does not stop the table.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchmarks.common import peak_mib
from cohort_solver.domain.results import StageReport

# The columns every benchmark prints and writes, in this order, then its own.
FIGURES = ["wall_s", "peak_mib", "status", "objective", "bound", "gap"]


@dataclass(frozen=True)
class Failed:
    """What a stage raised instead of returning: its exit code and its message."""

    exit_code: int
    message: str


@dataclass(frozen=True)
class Measured:
    result: Any  # the stage's return value, or a Failed
    wall_s: float
    peak_mib: float


def _timed(function: Callable[..., Any], args: tuple[Any, ...]) -> Measured:
    started = time.monotonic()
    try:
        result = function(*args)
    except Exception as exc:  # reported in the table, never a traceback
        lines = str(exc).strip().splitlines()
        result = Failed(getattr(exc, "exit_code", 3), lines[0] if lines else type(exc).__name__)
    return Measured(result, time.monotonic() - started, peak_mib())


def in_child(function: Callable[..., Any], *args: Any, hash_seed: str | None = None) -> Measured:
    """``function(*args)`` in a fresh interpreter (``hash_seed``: its PYTHONHASHSEED)."""
    saved = os.environ.get("PYTHONHASHSEED")
    if hash_seed is not None:
        os.environ["PYTHONHASHSEED"] = hash_seed  # a spawned child reads it at start-up
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(_timed, function, args).result()
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved


def report_figures(reports: Sequence[StageReport]) -> list[str]:
    """Status, objective, bound and gap of one stage (or of several, for a whole run).

    The decisive level is the last one: by then every earlier level is fixed at its optimum.
    A whole run gives only its status: its stages' objectives are not one number."""
    if not reports:
        return ["", "", "", ""]
    status = "optimal" if all(r.status == "optimal" for r in reports) else "feasible"
    if len(reports) > 1 or not reports[0].levels:
        return [status, "", "", ""]
    last = reports[0].levels[-1]
    return [status, str(last.value), str(last.bound), f"{last.gap:.4%}"]


def row(measured: Measured, reports: Sequence[StageReport]) -> list[str]:
    """The six shared figures of one measured stage (FIGURES)."""
    figures = (
        [f"exit {measured.result.exit_code}", "", "", ""]
        if isinstance(measured.result, Failed)
        else report_figures(reports)
    )
    return [f"{measured.wall_s:.2f}", f"{measured.peak_mib:.0f}", *figures]


def load_average() -> str:
    """The 1-minute load when a measurement starts (the machine is shared)."""
    return f"{os.getloadavg()[0]:.2f}"
