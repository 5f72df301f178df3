"""The typed data model: a scenario (settings + tables) and the plain results of each stage.

Nothing here imports a solver. Results are plain objects, so the checker in
``cohort_solver.checks`` can verify them without OR-Tools.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
FULL_WEEK: tuple[str, ...] = WEEKDAYS[:5]

INELIGIBLE_REASONS = (
    "grade",
    "probation",
    "line_manager_approval",
    "performance",
    "not_scored",
    "below_min_score",
    "no_cohort",
)


class _Settings(BaseModel):
    # Unknown toml keys are reported as warnings by the loader, not rejected here.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --------------------------------------------------------------------------- settings


class ProgrammeSettings(_Settings):
    name: str
    organisation: str = ""
    start: date
    timezone: str = "Europe/London"
    holidays: str = "GB-ENG"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Europe/London')") from exc
        return value

    @field_validator("holidays")
    @classmethod
    def _known_holiday_region(cls, value: str) -> str:
        import holidays

        country, _, subdivision = value.partition("-")
        try:
            holidays.country_holidays(country, subdiv=subdivision or None, years=2024)
        except (NotImplementedError, KeyError) as exc:
            raise ValueError(
                f"unknown bank-holiday region {value!r} (use country[-subdivision], e.g. GB-ENG)"
            ) from exc
        return value


class RingFence(_Settings):
    name: str
    groups: list[str] = Field(min_length=1)
    min_places: int | None = Field(default=None, ge=0)
    min_share: float | None = Field(default=None, ge=0, le=1)
    unfilled: Literal["release", "hold"] = "release"

    @model_validator(mode="after")
    def _one_minimum(self) -> RingFence:
        if (self.min_places is None) == (self.min_share is None):
            raise ValueError(
                f"ring fence {self.name!r}: give exactly one of min_places or min_share"
            )
        return self

    def minimum(self, places: int) -> int:
        """Places held for members in a cohort of ``places`` (a share is rounded up)."""
        if self.min_places is not None:
            return min(self.min_places, places)
        # Decimal avoids 0.75 * 12 = 9.000000000000002 rounding up to 10.
        return min(places, math.ceil(Decimal(str(self.min_share)) * places))


class Spread(_Settings):
    max_per_service_area: int | None = Field(default=None, ge=1)
    min_service_areas: int | None = Field(default=None, ge=0)
    max_per_council: int | None = Field(default=None, ge=1)


class SelectionSettings(_Settings):
    places: int = Field(ge=0)
    eligible_grades: list[int] = Field(min_length=1)
    aggregate: Literal["mean", "median", "normalised_mean"] = "mean"
    min_score: float = 0
    seed: int = 0
    reserves: int = Field(default=0, ge=0)
    ring_fence: list[RingFence] = []
    spread: Spread = Spread()
    criteria: dict[str, float] = {}
    # Panelists' totals for one applicant further apart than this are flagged for review in
    # report.html; None = a fifth of the range of all panel scores (see panel.py).
    disagreement_threshold: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _unique_ring_fences(self) -> SelectionSettings:
        names = [r.name for r in self.ring_fence]
        if len(set(names)) != len(names):
            raise ValueError("ring fence names must be unique")
        for ring_fence in self.ring_fence:
            if ring_fence.min_places is not None and ring_fence.min_places > self.places:
                raise ValueError(
                    f"ring fence {ring_fence.name!r} holds {ring_fence.min_places} places "
                    f"but a cohort has only {self.places}"
                )
        return self


class GroupProfile(_Settings):
    workforce: float = Field(ge=0, le=1)
    senior: float = Field(ge=0, le=1)


class PositiveAction(_Settings):
    basis: str = "s158"
    evidence: str = ""
    profile: dict[str, GroupProfile] = {}


class ImpactSettings(_Settings):
    """The programme's impact targets; a target left out scales the seed's figure to the places.

    The seed programme (12 places) aims for 10 to complete and for positive outcomes for 3 by
    the end of the programme, 4 within 12 months after it and 8 within 18 months after it.
    """

    programme_months: int = Field(default=12, ge=1)  # the programme ends with this month
    completed: int | None = Field(default=None, ge=0)
    by_programme_end: int | None = Field(default=None, ge=0)
    within_12_months_after: int | None = Field(default=None, ge=0)
    within_18_months_after: int | None = Field(default=None, ge=0)


class CohortSettings(_Settings):
    id: str = Field(min_length=1)
    places: int | None = Field(default=None, ge=0)
    councils: list[str] | None = None


class MatchingWeights(_Settings):
    needs: int = 10
    other_council: int = 3
    other_service_area: int = 2


class MatchingSettings(_Settings):
    mentor_min_grade_gap: int = 2
    exclude_same_service_area: bool = True
    fairness: Literal["utilitarian", "egalitarian"] = "utilitarian"
    weights: MatchingWeights = MatchingWeights()


class CalendarSettings(_Settings):
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    group_weekdays: list[Weekday] = ["Tue", "Wed", "Thu"]
    min_days_between_group_sessions: int = Field(default=14, ge=0)

    @model_validator(mode="after")
    def _working_day_fits_slots(self) -> CalendarSettings:
        minutes = (self.day_end.hour * 60 + self.day_end.minute) - (
            self.day_start.hour * 60 + self.day_start.minute
        )
        if minutes <= 0:
            raise ValueError("day_end must be after day_start")
        if minutes % self.slot_minutes:
            raise ValueError("the working day must be a whole number of slots")
        return self


class Settings(_Settings):
    """Everything in ``scenario.toml``."""

    programme: ProgrammeSettings
    selection: SelectionSettings
    positive_action: PositiveAction | None = None
    cohorts: list[CohortSettings] = []
    matching: MatchingSettings = MatchingSettings()
    calendar: CalendarSettings = CalendarSettings()
    impact: ImpactSettings = ImpactSettings()

    @model_validator(mode="after")
    def _unique_cohorts(self) -> Settings:
        ids = [c.id for c in self.cohorts]
        if len(set(ids)) != len(ids):
            raise ValueError("cohort ids must be unique")
        return self

    def cohort_list(self) -> list[Cohort]:
        """The cohorts with their places resolved (default: one cohort ``main``)."""
        if not self.cohorts:
            return [Cohort(id="main", places=self.selection.places, councils=None)]
        return [
            Cohort(
                id=c.id,
                places=self.selection.places if c.places is None else c.places,
                councils=None if c.councils is None else tuple(c.councils),
            )
            for c in self.cohorts
        ]


class Cohort(_Record):
    id: str
    places: int
    councils: tuple[str, ...] | None


# --------------------------------------------------------------------------- tables

Names = tuple[str, ...]


class Applicant(_Record):
    applicant_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    council: str = ""
    service_area: str = ""
    grade: int
    probation_passed: bool
    line_manager_approved: bool
    performance_eligible: bool
    line_manager_id: str | None = None
    groups: dict[str, bool] = {}
    development_needs: Names = ()
    working_days: tuple[Weekday, ...] = FULL_WEEK  # type: ignore[assignment]
    cohorts: Names = ()

    @property
    def area(self) -> tuple[str, str]:
        """Spread limits count per (council, service_area)."""
        return (self.council, self.service_area)


class Score(_Record):
    applicant_id: str
    panelist: str = Field(min_length=1)
    score: Decimal
    criterion: str | None = None


class Mentor(_Record):
    mentor_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    council: str = ""
    service_area: str = ""
    grade: int
    capacity: int = Field(default=1, ge=0)
    expertise: Names = ()


class Coach(_Record):
    coach_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    capacity: int = Field(default=6, ge=0)
    expertise: Names = ()
    councils: Names = ()
    working_days: tuple[Weekday, ...] = FULL_WEEK  # type: ignore[assignment]

    def serves(self, council: str) -> bool:
        return not self.councils or council in self.councils


SessionKind = Literal["group", "coaching", "review", "cohort_event"]


class Session(_Record):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    kind: SessionKind
    month: int = Field(ge=1)
    duration_minutes: int = Field(gt=0)
    facilitator: str | None = None
    with_: Names = Field(default=(), alias="with")
    after: str | None = None

    @property
    def per_participant(self) -> bool:
        return self.kind in ("coaching", "review")


class Person(_Record):
    person_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    role: str = ""
    council: str = ""
    service_area: str = ""


class Venue(_Record):
    venue_id: str = Field(min_length=1)
    name: str = ""
    capacity: int = Field(gt=0)
    council: str | None = None


class Unavailability(_Record):
    id: str = Field(min_length=1)
    start: datetime
    end: datetime


class Conflict(_Record):
    person_a: str = Field(min_length=1)
    person_b: str = Field(min_length=1)


OutcomeKind = Literal[
    "promotion",
    "grade_increase",
    "acting_up",
    "secondment",
    "new_role",
    "sideways_move",
    "additional_responsibilities",
    "project_lead",
    "none",
]
OUTCOME_KINDS: tuple[str, ...] = OutcomeKind.__args__  # type: ignore[attr-defined]


class ProgrammeOutcome(_Record):
    """One row of outcomes.csv: how a participant's career moved on (impact tracking)."""

    participant_id: str = Field(min_length=1)
    completed: bool | None = None  # None = not known yet (still on the programme)
    outcome: OutcomeKind = "none"
    outcome_date: date | None = None

    @property
    def positive(self) -> bool:
        """Every recorded outcome except ``none`` counts towards the impact targets."""
        return self.outcome != "none"


class Scenario(BaseModel):
    """A loaded, validated scenario folder. Tables keep the row order of their files."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    folder: Path
    settings: Settings
    applicants: tuple[Applicant, ...]
    scores: tuple[Score, ...] = ()
    mentors: tuple[Mentor, ...] = ()
    coaches: tuple[Coach, ...] = ()
    programme: tuple[Session, ...] = ()
    people: tuple[Person, ...] = ()
    venues: tuple[Venue, ...] = ()
    unavailability: tuple[Unavailability, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    outcomes: tuple[ProgrammeOutcome, ...] = ()
    checksum: str = ""
    warnings: tuple[str, ...] = ()  # non-fatal remarks from loading (unknown columns, settings)

    @property
    def cohorts(self) -> list[Cohort]:
        return self.settings.cohort_list()

    def ring_fence_groups(self) -> list[str]:
        """Every protected-characteristic column named by a ring fence, in toml order."""
        seen: dict[str, None] = {}
        for ring_fence in self.settings.selection.ring_fence:
            seen.update(dict.fromkeys(ring_fence.groups))
        return list(seen)


# --------------------------------------------------------------------------- results

Status = Literal["selected", "reserve", "not_selected", "ineligible"]


class Outcome(_Record):
    """One row of allocation.csv."""

    applicant_id: str
    status: Status
    cohort_id: str | None = None
    score: Decimal | None = None
    ring_fences: Names = ()
    reserve_rank: int | None = None
    reason: str = ""


class Level(_Record):
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


class StageReport(_Record):
    stage: str
    status: Literal["optimal", "feasible"]
    levels: tuple[Level, ...] = ()
    seconds: float = 0.0
    solver: str = "CP-SAT"
    notes: tuple[str, ...] = ()  # what the reader should know, e.g. a time limit that cut in


class Allocation(_Record):
    outcomes: tuple[Outcome, ...]
    report: StageReport

    def selected(self, cohort_id: str | None = None) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if o.status == "selected" and (cohort_id is None or o.cohort_id == cohort_id)
        ]


class Match(_Record):
    """One row of matches.csv."""

    participant_id: str
    cohort_id: str
    mentor_id: str
    coach_id: str
    mentor_fit: int
    coach_fit: int
    reasons: str = ""


class Event(_Record):
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


class SoftGoal(NamedTuple):
    """One soft goal of the calendar: the penalty per unit of the preference that gave way."""

    name: str
    weight: int
    meaning: str


# The calendar's soft objective is the weighted sum of these counts. The calendar stage
# minimises it and the independent checker recomputes it; both read the weights from here.
CALENDAR_SOFT_GOALS: tuple[SoftGoal, ...] = (
    SoftGoal("rhythm_weekday", 10, "a group session not on the weekday of the cohort's first one"),
    SoftGoal("rhythm_time", 5, "a group session not at the start time of the cohort's first one"),
    SoftGoal("coaching_in_workshop_week", 5, "coaching in an ISO week with a cohort group session"),
    SoftGoal("review_before_workshop", 10, "a review starting before that month's workshop ends"),
    SoftGoal("review_days_before_month_end", 1, "per day between a review and its month's end"),
    SoftGoal("coach_week_overload", 3, "a coach's sessions in a week beyond an even share"),
    SoftGoal("venue_week_overload", 3, "a venue's bookings in a week beyond one"),
)
CALENDAR_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {goal.name: goal.weight for goal in CALENDAR_SOFT_GOALS}
)
