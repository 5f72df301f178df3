"""cohort-solver: places, pairings and the calendar of a leadership programme.

The Python API is the pipeline's stages, each a plain function (see ``cohort_solver.pipeline``)::

    import cohort_solver

    scenario = cohort_solver.load("scenarios/oxford-2024")
    allocation = cohort_solver.allocate(scenario)
    matching = cohort_solver.match(scenario, allocation)
    calendar = cohort_solver.schedule(scenario, allocation, matching.matches)
    feeds = cohort_solver.export(scenario, calendar.events)
    result = cohort_solver.run("scenarios/oxford-2024", out="out/")  # every stage, every file

The names load lazily, so ``import cohort_solver`` (and ``--help``) stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "Options",
    "allocate",
    "export",
    "load",
    "match",
    "report",
    "run",
    "schedule",
    "withdraw",
]

if TYPE_CHECKING:
    from cohort_solver.pipeline import (
        Options,
        allocate,
        export,
        load,
        match,
        report,
        run,
        schedule,
        withdraw,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("cohort_solver.pipeline"), name)
    raise AttributeError(f"module 'cohort_solver' has no attribute {name!r}")
