"""The plain results of each stage: what allocation.csv, matches.csv and calendar.csv hold.

Results are plain objects, so the checkers in ``cohort_solver.checks`` verify them without a solver.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from cohort_solver.domain.reasons import Reason
from cohort_solver.domain.scenario import Names, Record, SessionKind

Status = Literal["selected", "reserve", "not_selected", "ineligible"]


class Decision(Record):
    """Allocation's decision on one applicant: one row of allocation.csv."""

    applicant_id: str
    status: Status
    cohort_id: str | None = None
    score: Decimal | None = None
    ring_fences: Names = ()
    reserve_rank: int | None = None
    reason: Reason = Reason()
    replaced_by: str | None = None  # a selected participant's: who takes the place if they leave


class Feedback(Record):
    """One row of feedback.csv: an applicant's outcome and a paragraph the panel can send."""

    applicant_id: str
    name: str
    email: str
    outcome: str  # selected, reserve, not selected, not eligible
    cohort: str
    feedback: str


class Level(Record):
    """One lexicographic objective level: its optimum (or best found) and proven bound."""

    name: str
    sense: Literal["max", "min"]
    value: int
    bound: int

    @property
    def gap(self) -> float:
        if self.value == self.bound:
            return 0.0
        return abs(self.bound - self.value) / max(1, abs(self.value))


class StageReport(Record):
    stage: str
    status: Literal["optimal", "feasible"]
    levels: tuple[Level, ...] = ()
    seconds: float = 0.0
    solver: str = "CP-SAT"
    notes: tuple[str, ...] = ()  # what the reader should know, e.g. a time limit that cut in
    inputs: str = ""  # checksum of the files the stage read, so a later command can reuse it


class Allocation(Record):
    outcomes: tuple[Decision, ...]
    report: StageReport

    def selected(self, cohort_id: str | None = None) -> list[Decision]:
        return [
            o
            for o in self.outcomes
            if o.status == "selected" and (cohort_id is None or o.cohort_id == cohort_id)
        ]


class Match(Record):
    """One row of matches.csv."""

    participant_id: str
    cohort_id: str
    mentor_id: str
    coach_id: str
    mentor_fit: int
    coach_fit: int
    reasons: str = ""


class Event(Record):
    """One row of calendar.csv: times are timezone-aware in the programme timezone."""

    event_id: str
    session_key: str
    title: str
    kind: SessionKind
    cohort_id: str
    start: datetime
    end: datetime
    venue_id: str | None = None
    attendee_ids: Names = ()
