"""How each file's columns map onto the domain records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from cohort_solver.domain.scenario import GradeSettings, parse_repeat
from cohort_solver.stages.load.cells import (
    _optional,
    _text,
    parse_clock,
    parse_date,
    parse_decimal,
    parse_email,
    parse_int,
    parse_list,
    parse_moment,
    parse_outcome,
    parse_weekdays,
    parse_yes_no,
)


@dataclass(frozen=True)
class Column:
    """How one CSV column maps onto a model field."""

    name: str
    parse: Callable[[str], Any] = _text
    required: bool = False  # the column must be present
    blank_ok: bool = True  # an empty cell is allowed (then the field keeps its default)
    field: str | None = None
    key: bool = False  # the id this file defines: unique, one id (no ';'), compared as id_key
    dates: bool = False  # holds dates or date-times (an xlsx date cell is welcome here)
    free_text: bool = False  # a display name or title: invisible characters (ZWJ in a name) allowed
    protected: bool = False  # a protected characteristic: its values are never echoed

    @property
    def target(self) -> str:
        return self.field or self.name


def _columns(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


APPLICANT_COLUMNS = _columns(
    Column("applicant_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("council"),
    Column("service_area"),
    Column("grade", parse_int, required=True, blank_ok=False),
    Column("probation_passed", parse_yes_no, required=True, blank_ok=False),
    Column("line_manager_approved", parse_yes_no, required=True, blank_ok=False),
    Column("performance_eligible", parse_yes_no, required=True, blank_ok=False),
    Column("line_manager_id", _optional),
    Column("development_needs", parse_list),
    Column("working_days", parse_weekdays),
    Column("cohorts", parse_list),
    Column("tracks", parse_list),  # [[tracks]] ids in preference order; blank = every track
)


SCORE_COLUMNS = _columns(
    Column("applicant_id", required=True, blank_ok=False),
    Column("panelist", required=True, blank_ok=False),
    Column("score", parse_decimal, required=True, blank_ok=False),
    Column("criterion", _optional),
)


MENTOR_COLUMNS = _columns(
    Column("mentor_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("council"),
    Column("service_area"),
    Column("grade", parse_int, required=True, blank_ok=False),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
)


COACH_COLUMNS = _columns(
    Column("coach_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
    Column("councils", parse_list),
    Column("working_days", parse_weekdays),
)


SESSION_COLUMNS = _columns(
    Column("session_key", required=True, blank_ok=False, key=True),
    Column("title", required=True, blank_ok=False, free_text=True),
    Column("kind", lambda c: c.strip().lower(), required=True, blank_ok=False),
    Column("month", parse_int, required=True, blank_ok=False),
    Column("duration_minutes", parse_int, required=True, blank_ok=False),
    Column("facilitator", _optional),
    Column("with", parse_list, field="with"),
    Column("after", _optional),
    # in_person | online (also "in person", "In-Person"); blank = in person for group sessions
    Column("mode", lambda c: "_".join(c.strip().lower().replace("-", " ").split())),
    Column("date", parse_date, field="fixed_date", dates=True),
    Column("start_time", parse_clock, field="fixed_time"),
    Column("repeat", parse_repeat),  # monthly | bimonthly | quarterly | every N months
    Column("until", parse_int),  # the last month of a recurring session
    Column("cohorts", parse_list),  # blank: once per cohort; all, or cohort ids: one joint event
    Column("invite", free_text=True),  # a note for the feeds: who else is invited
    Column("track", parse_list, field="tracks"),  # [[tracks]] ids; blank: every track
)


# runs.csv (extension, issue 16): the runs of flexible sessions.
RUN_COLUMNS = _columns(
    Column("session_key", required=True, blank_ok=False),
    Column("run", parse_int, required=True, blank_ok=False),
    Column("month", parse_int, required=True, blank_ok=False),
    Column("date", parse_date, field="fixed_date", dates=True),
    Column("start_time", parse_clock, field="fixed_time"),
    Column("venue", _optional, field="venue_id"),
    Column("capacity", parse_int, required=True, blank_ok=False),
)


PERSON_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("role", lambda c: c.strip().lower()),
    Column("council"),
    Column("service_area"),
)


VENUE_COLUMNS = _columns(
    Column("venue_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("capacity", parse_int, required=True, blank_ok=False),
    Column("council", _optional),
)


def unavailability_columns(zone: tzinfo) -> dict[str, Column]:
    """unavailability.csv, read in the programme's time zone (offsets are converted to it)."""
    return _columns(
        Column("id", required=True, blank_ok=False),
        Column(
            "start",
            lambda c: parse_moment(c, end=False, zone=zone),
            required=True,
            blank_ok=False,
            dates=True,
        ),
        Column(
            "end",
            lambda c: parse_moment(c, end=True, zone=zone),
            required=True,
            blank_ok=False,
            dates=True,
        ),
    )


CONFLICT_COLUMNS = _columns(
    Column("person_a", required=True, blank_ok=False),
    Column("person_b", required=True, blank_ok=False),
)


OUTCOME_COLUMNS = _columns(
    Column("participant_id", required=True, blank_ok=False),  # a row per step: a history
    Column("completed", parse_yes_no),  # blank: not known yet
    Column("outcome", parse_outcome),  # blank: none
    Column("outcome_date", parse_date, dates=True),
)


def grade_columns(order: GradeSettings | None) -> dict[str, Column]:
    """The grade column of applicants.csv and mentors.csv: a whole number, or with a declared
    [grades] order one of its labels, read as its position in that order."""
    if order is None:
        return {}

    def parse_grade(cell: str) -> int:
        position = order.position(cell)
        if position is None:
            raise ValueError(
                f"grade {cell.strip()!r} is not in [grades] order ({', '.join(order.order)})"
            )
        return position

    return _columns(Column("grade", parse_grade, required=True, blank_ok=False))


def group_columns(groups: Iterable[str]) -> dict[str, Column]:
    """The protected-characteristic columns a ring fence or the evidence profile names."""
    return _columns(*(Column(g, parse_yes_no, field=f"groups.{g}", protected=True) for g in groups))
