"""The error tree: what went wrong, in the coordinator's words, and the exit code it maps to.

Bad input exits 2, a proven infeasibility 1, a bug 3, and running out of time 4: the last is
not a proof that no plan exists, so it says how far the search got and what more time buys.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, pointing at the cell to fix."""

    file: str
    row: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class CohortSolverError(Exception):
    exit_code = 1


class InputError(CohortSolverError):
    """The scenario cannot be read as given. Carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(
        self,
    ) -> tuple[
        type[Exception], tuple[object, ...]
    ]:  # a worker process or Dask sends it back whole, not as bare text
        return (type(self), (self.problems,))


class OutputFolderError(CohortSolverError):
    """``--out`` cannot be used as given (a file, too long, read-only, busy with another run).

    Exit 2 like bad input: the coordinator fixes the command line, not the scenario.
    """

    exit_code = 2

    def __reduce__(self) -> tuple[type[Exception], tuple[object, ...]]:
        return (type(self), (str(self),))


class InfeasibleError(CohortSolverError):
    """No plan satisfies every hard rule. ``causes`` name the rules that clash, in panel words."""

    exit_code = 1

    def __init__(self, stage: str, causes: list[str]):
        self.stage = stage
        self.causes = causes
        super().__init__(
            f"{stage}: no plan satisfies every rule:\n" + "\n".join(f"  - {c}" for c in causes)
        )

    def __reduce__(self) -> tuple[type[Exception], tuple[object, ...]]:
        return (type(self), (self.stage, self.causes))


class OutOfTimeError(CohortSolverError):
    """The time limit ran out before any plan was found. This proves nothing about feasibility.

    ``reached`` says how far the search got; ``more_time`` what a larger ``--time-limit`` buys.
    """

    exit_code = 4

    def __init__(self, stage: str, reached: str, more_time: str):
        self.stage = stage
        self.reached = reached
        self.more_time = more_time
        super().__init__(
            f"{stage}: the time limit ran out before a plan was found "
            f"(this does not mean no plan exists):\n  - {reached}\n  - {more_time}"
        )

    def __reduce__(self) -> tuple[type[Exception], tuple[object, ...]]:
        return (type(self), (self.stage, self.reached, self.more_time))


class InternalError(CohortSolverError):
    """A bug, not the user's input: e.g. the solver rejected a model this program built."""

    exit_code = 3

    def __init__(self, message: str):
        self.message = message
        super().__init__(
            f"internal error ({message}); nothing was written. "
            "Please report this with the scenario folder."
        )

    def __reduce__(self) -> tuple[type[Exception], tuple[object, ...]]:
        return (type(self), (self.message,))


class PublishError(CohortSolverError):
    """The calendar server failed part-way through ``publish`` (down, 401, 412...). Exit 5:
    nothing is lost, the next ``publish`` writes what this one did not."""

    exit_code = 5
