"""The error tree. Bad input exits 2, an infeasible scenario exits 1; both say what to fix."""

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

    def __reduce__(self):  # a worker process or Dask sends it back whole, not as bare text
        return (type(self), (self.problems,))


class InfeasibleError(CohortSolverError):
    """No plan satisfies every hard rule. ``causes`` name the rules that clash, in panel words."""

    exit_code = 1

    def __init__(self, stage: str, causes: list[str]):
        self.stage = stage
        self.causes = causes
        super().__init__(
            f"{stage}: no plan satisfies every rule:\n" + "\n".join(f"  - {c}" for c in causes)
        )

    def __reduce__(self):
        return (type(self), (self.stage, self.causes))
