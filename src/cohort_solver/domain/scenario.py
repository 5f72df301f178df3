"""The typed data model: a scenario (settings + tables) and the plain results of each stage.

Nothing here imports a solver. Results are plain objects, so the checker in
``cohort_solver.checks`` can verify them without OR-Tools."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

if TYPE_CHECKING:
    from cohort_solver.domain.results import Decision

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


FULL_WEEK: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")


# The solvers add these numbers up in 64-bit integers (CP-SAT, the flows, numpy), and the
# calendar turns months and days into dates: past these bounds a value is a typing slip, and
# letting it through would overflow a solver or a date. Each is far above any real programme.
MAX_COUNT = 100_000  # places, reserves, spread limits, capacities, impact targets


MAX_MONTH = 120  # programme months (ten years)


MAX_GRADE = 100  # grades, and the mentor grade gap either way


MAX_WEIGHT = 1_000  # matching weights (either sign) and criterion weights


MAX_SCORE = 1_000_000  # a panel score, and min_score, either sign


MAX_GAP_DAYS = 366  # min_days_between_group_sessions


FIRST_DATE = date(1900, 1, 1)  # every date and date-time must lie in this window


LAST_DATE = date(2199, 12, 31)


def check_date(day: date) -> date:
    """A date inside the window the calendar and the bank-holiday tables can work with."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"the date must be between {FIRST_DATE} and {LAST_DATE}")
    return day


# The date spellings every file accepts: ISO 8601 calendar dates, extended or basic. Other
# spellings (31/01/2025, 5 Nov 2024, week dates) are refused: 05/11/2024 means 5 November in
# the UK and 11 May in the US, and a guess would be a silent wrong date.
DATE_SPELLING = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})", re.ASCII)


_CLOCK = r"(\d{2}):(\d{2})(?::(\d{2}))?"


_MOMENT = re.compile(
    DATE_SPELLING.pattern + rf"(?:[T ]{_CLOCK}(Z|[+-]\d{{2}}(?::?\d{{2}})?)?)?", re.ASCII
)


CLOCK_SPELLING = re.compile(_CLOCK, re.ASCII)


DATE_HELP = "write 2024-11-05 or 20241105"


MOMENT_HELP = (
    "write a date, 2024-11-05 or 20241105, or a date and time, 2024-11-05T13:00, "
    "optionally with an offset such as +01:00 or Z"
)


def parse_day(text: str) -> date:
    """A date in one of the accepted spellings, inside the supported window."""
    match = DATE_SPELLING.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an ISO date ({DATE_HELP})")
    return _real_day(text, match.group(1), match.group(3), match.group(4))


def _real_day(text: str, year: str, month: str, day: str) -> date:
    try:
        value = date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None
    return check_date(value)


def parse_moment_parts(text: str) -> tuple[date, time | None, tzinfo | None]:
    """A date, or a date and a time of day with an optional UTC offset."""
    match = _MOMENT.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an ISO date or date-time ({MOMENT_HELP})")
    year, _, month, day, hour, minute, second, offset = match.groups()
    value = _real_day(text, year, month, day)
    if hour is None:
        return value, None, None
    try:
        clock = time(int(hour), int(minute), int(second or 0))
    except ValueError:
        raise ValueError(f"{text!r} is not a real time of day") from None
    if offset is None:
        return value, clock, None
    if offset == "Z":
        return value, clock, UTC
    digits = offset[1:].replace(":", "")
    shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if shift >= timedelta(hours=24) or int(digits[2:] or 0) >= 60:
        raise ValueError(f"{text!r} has an impossible UTC offset {offset}")
    return value, clock, timezone(-shift if offset[0] == "-" else shift)


def _toml_date(value: Any) -> Any:
    """scenario.toml dates: a toml date or a string in the accepted spellings, never a number
    (pydantic would read 20240401 as seconds since 1970) and never a date-time."""
    if isinstance(value, datetime):
        raise ValueError("write a date without a time of day, e.g. 2024-04-01")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_day(value)
    raise ValueError('write the date as text, e.g. "2024-04-01" or "20240401"')


def _toml_clock(value: Any) -> Any:
    """A time of day: a toml time or "HH:MM", never a number (pydantic reads 9 as 00:00:09)."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    spelled = CLOCK_SPELLING.fullmatch(value.strip()) if isinstance(value, str) else None
    if spelled:
        hour, minute, second = spelled.groups()
        try:
            return time(int(hour), int(minute), int(second or 0))
        except ValueError:
            raise ValueError(f"{value!r} is not a real time of day") from None
    raise ValueError('write the time of day as text, e.g. "09:00"')


_CHARACTER_NAMES = {
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
    "\x00": "a NUL character",
}


# Cc (C0, DEL and C1 controls), and the line and paragraph separators Zl and Zp.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def unsafe_character(text: str) -> str | None:
    """Why ``text`` cannot be a one-line name or id: a control or line-separator character.

    A line break in a name passes every check and then breaks the calendar feeds, whose lines
    it splits; NUL and the other control characters are never meant. Names the character by
    its code point, never by echoing the text (it may be a protected characteristic).
    """
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    char = found.group()
    label = _CHARACTER_NAMES.get(char, "a control character")
    return f"contains {label} (U+{ord(char):04X}): it must be one line of plain text"


def invisible_character(text: str) -> str | None:
    """Why ``text`` cannot be an id: a zero-width or other invisible formatting character.

    Two ids that differ only by such a character look the same in every file and report, so
    one would silently stand for two people.
    """
    if text.isascii():
        return None  # no format character is ASCII
    for char in text:
        if unicodedata.category(char) == "Cf":
            name = unicodedata.name(char, "FORMAT CHARACTER")
            return f"contains an invisible character (U+{ord(char):04X} {name}): retype it"
    return None


def id_key(text: str) -> str:
    """How ids are compared for near-duplicates: NFKC (full-width letters, ligatures and
    non-breaking spaces fold to their plain forms), case kept."""
    return unicodedata.normalize("NFKC", text)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for key in value for s in _strings(key)]
    return []


class _Settings(BaseModel):
    # Unknown toml keys are reported as warnings by the loader, not rejected here. NaN and
    # infinity (toml's nan, inf, and 1e309) are never a setting.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    # Free text that may span lines (it is never written to a feed or a CSV cell).
    multiline: ClassVar[frozenset[str]] = frozenset()
    # Display text, where an invisible character may belong (a ZWJ in a name); every other
    # string is an id or a key compared with the files (a cohort id, a council, a group).
    display: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _one_line_text(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name in cls.multiline:
            return value
        for text in _strings(value):
            reason = unsafe_character(text)
            if reason is None and info.field_name not in cls.display:
                reason = invisible_character(text)
            if reason:
                raise ValueError(reason)
        return value


# Regions the holidays package has (a test asks it about each), so that loading a scenario in
# one of them need not import the package: its import is most of a small scenario's load.
UK_HOLIDAY_REGIONS = frozenset({"GB", "GB-ENG", "GB-NIR", "GB-SCT", "GB-WLS"})


class Record(BaseModel):
    # Cells are checked for control characters by the loader, where the cell can be named.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


Grade = Annotated[int, Field(ge=0, le=MAX_GRADE)]


Weight = Annotated[int, Field(ge=-MAX_WEIGHT, le=MAX_WEIGHT)]


class ProgrammeSettings(_Settings):
    display = frozenset({"name", "organisation"})

    name: str
    organisation: str = ""
    # The UID namespace of every feed. Never a display name: renaming the programme, or running
    # it again next year under the same name, must not change or share UIDs. Blank: the id
    # recorded in the previous feeds, else one made on first export (see ics.programme_id).
    id: str = ""
    start: date
    timezone: str = "Europe/London"
    holidays: str = "GB-ENG"

    @field_validator("id")
    @classmethod
    def _uid_safe_id(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", value):
            raise ValueError(
                "should be 1 to 63 letters, digits and '-', starting with a letter or digit"
                " (it becomes part of every calendar event's UID)"
            )
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start_spelling(cls, value: Any) -> Any:
        return check_date(_toml_date(value))

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
        if value in UK_HOLIDAY_REGIONS:
            return value  # known without importing the holidays package (0.3-0.4 s)
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
    display = frozenset({"name"})

    name: str
    groups: list[str] = Field(min_length=1)
    min_places: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    min_share: float | None = Field(default=None, ge=0, le=1)
    unfilled: Literal["release", "hold"] = "release"
    # minimum_guarantee: members selected on merit count towards the minimum (a floor).
    # over_and_above: the held places come on top of the open places, which are filled on
    # merit from everyone first (contract: "Two readings of a ring fence").
    reading: Literal["minimum_guarantee", "over_and_above"] = "minimum_guarantee"
    # With [[tracks]]: the tracks in whose cohorts it holds places; None = every cohort.
    tracks: list[str] | None = Field(default=None, min_length=1)

    @model_serializer(mode="wrap")
    def _default_reading_unsaid(self, handler: SerializerFunctionWrapHandler) -> Any:
        # solution.json echoes the settings: the default reading is left out, so a scenario
        # written before readings existed gives the same bytes (and so is tracks unsaid).
        data = handler(self)
        if isinstance(data, dict) and data.get("reading") == "minimum_guarantee":
            del data["reading"]
        if isinstance(data, dict) and data.get("tracks") is None:
            data.pop("tracks", None)
        return data

    @model_validator(mode="after")
    def _tracks_under_a_minimum_guarantee(self) -> RingFence:
        if self.tracks is not None and self.reading == "over_and_above":
            raise ValueError(
                f"ring fence {self.name!r}: tracks is for minimum-guarantee ring fences; an "
                "over-and-above ring fence holds places in every cohort"
            )
        return self

    def minimum_in(self, cohort: Cohort) -> int:
        """Places held for members in ``cohort``: none in a cohort outside its ``tracks``."""
        if self.tracks is not None and cohort.track not in self.tracks:
            return 0
        return self.minimum(cohort.places)

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
    max_per_service_area: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    min_service_areas: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    max_per_council: int | None = Field(default=None, ge=1, le=MAX_COUNT)


SelectionMode = Literal["competitive", "open", "mandatory"]


class SelectionSettings(_Settings):
    # competitive: the panel's scores decide; open: every eligible applicant up to the places,
    # the seeded lottery when oversubscribed; mandatory: every eligible person takes a place.
    mode: SelectionMode = "competitive"
    places: int = Field(ge=0, le=MAX_COUNT)
    # Whole numbers, or labels of the [grades] order ("8a", "SO1").
    eligible_grades: list[Grade | str] = Field(min_length=1)
    aggregate: Literal["mean", "median", "normalised_mean"] = "mean"
    min_score: float = Field(default=0, ge=-MAX_SCORE, le=MAX_SCORE)
    seed: int = 0
    reserves: int = Field(default=0, ge=0, le=MAX_COUNT)
    ring_fence: list[RingFence] = []
    spread: Spread = Spread()
    criteria: dict[str, Annotated[float, Field(ge=0, le=MAX_WEIGHT)]] = {}
    # Panelists' totals for one applicant further apart than this are flagged for review in
    # report.html; None = a fifth of the range of all panel scores (see panel.py).
    disagreement_threshold: float | None = Field(default=None, ge=0, le=2 * MAX_SCORE)

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

    @property
    def scored(self) -> bool:
        """Only a competitive selection reads the panel's scores."""
        return self.mode == "competitive"


class GradeSettings(_Settings):
    """Grades as ordered labels (NHS bands "2".."7", "8a".."8d", "9"; "SO1", "PO3"), lowest
    first. A grade is then its position in this order: eligibility and the mentor grade gap
    work on positions, so "8c" is two grades above "8a"."""

    order: list[str] = Field(min_length=1, max_length=MAX_GRADE + 1)

    @field_validator("order")
    @classmethod
    def _distinct_labels(cls, value: list[str]) -> list[str]:
        labels = [label.strip() for label in value]
        if any(not label for label in labels):
            raise ValueError("a grade label is blank")
        folded = [label.casefold() for label in labels]
        if len(set(folded)) != len(folded):
            raise ValueError("grade labels must be distinct (case is ignored)")
        return labels

    def position(self, label: str) -> int | None:
        """The label's place in the order (0 = lowest), ignoring case and surrounding spaces."""
        folded = label.strip().casefold()
        return next((i for i, g in enumerate(self.order) if g.casefold() == folded), None)


class GroupProfile(_Settings):
    workforce: float = Field(ge=0, le=1)
    senior: float = Field(ge=0, le=1)


class PositiveAction(_Settings):
    multiline = frozenset({"evidence"})
    display = frozenset({"basis"})

    basis: str = "s158"
    evidence: str = ""
    profile: dict[str, GroupProfile] = {}


# The outcome words of outcomes.csv when [impact] names none: every one but "none" is positive.
DEFAULT_POSITIVE_OUTCOMES: tuple[str, ...] = (
    "promotion",
    "grade_increase",
    "acting_up",
    "secondment",
    "new_role",
    "sideways_move",
    "additional_responsibilities",
    "project_lead",
)
NO_OUTCOME = "none"  # always a word of the vocabulary; a blank outcome cell reads as it


def outcome_word(text: str) -> str:
    """An outcome as outcomes.csv and [impact] spell it: case, spaces and hyphens forgiven."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


class ImpactTarget(_Settings):
    """One ``[[impact.target]]``: how many participants should reach an outcome in a window.

    The window is counted in programme months ``relative_to`` the programme's ``start`` (month
    1 = the month it starts: "within months 9-12 of the start date") or its ``end`` (month 1 =
    the first month after the programme: "within 12 months following the programme").
    ``since_start`` opens the window on the programme's first day instead, so an earlier
    outcome counts too (the seed's targets are cumulative).
    """

    display = frozenset({"label"})

    label: str = ""  # blank: worded from the window
    count: Count | None = None
    share: float | None = Field(default=None, ge=0, le=1)  # of the participants
    counts: Literal["positive", "completed"] | list[str] = "positive"
    relative_to: Literal["start", "end"] = "start"
    months: list[Annotated[int, Field(ge=1, le=MAX_MONTH)]] = Field(default=[], max_length=2)
    since_start: StrictBool = False

    @model_validator(mode="after")
    def _one_aim_and_a_window(self) -> ImpactTarget:
        if (self.count is None) == (self.share is None):
            raise ValueError("an impact target needs exactly one of count or share")
        if self.counts == "completed" and (self.months or self.since_start):
            raise ValueError(
                "a completion target has no window (it closes with the programme): leave out "
                "months and since_start"
            )
        if self.counts != "completed" and not self.months:
            raise ValueError(
                "an impact target needs its window: months = [first, last] (or [last])"
            )
        if len(self.months) == 2 and self.months[0] > self.months[1]:
            raise ValueError(f"months {self.months}: the first month is after the last")
        return self

    @field_validator("counts")
    @classmethod
    def _outcome_words(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("counts: name at least one outcome")
            return [outcome_word(v) for v in value]
        return value

    def window_months(self) -> tuple[int, int]:
        """First and last month of the window as written (``[12]`` means months 1 to 12)."""
        first, last = (1, self.months[0]) if len(self.months) == 1 else tuple(self.months)
        return first, last


class ImpactSettings(_Settings):
    """The programme's impact targets and the outcome words of outcomes.csv.

    Without ``[[impact.target]]`` the targets are the seed's four: 10 of 12 complete, and
    positive outcomes for 3 by the end of the programme, 4 within 12 months after it and 8
    within 18 months after it; a figure not set below scales the seed's to the places.
    """

    programme_months: int = Field(default=12, ge=1, le=MAX_MONTH)  # ends with this month
    completed: Count | None = None
    by_programme_end: Count | None = None
    within_12_months_after: Count | None = None
    within_18_months_after: Count | None = None
    target: list[ImpactTarget] = []
    # The day the outcomes are known up to; a window closing after it is "open". Blank: the
    # latest outcome_date in outcomes.csv (never today's date, so a re-run gives the same page).
    as_of: date | None = None
    positive: list[str] = list(DEFAULT_POSITIVE_OUTCOMES)  # outcome words that count
    other: list[str] = []  # outcome words recorded but not counted (besides "none")

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_spelling(cls, value: Any) -> Any:
        return None if value is None else check_date(_toml_date(value))

    @field_validator("positive", "other")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        words = [outcome_word(v) for v in value]
        for word in words:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,60}", word):
                raise ValueError(f"{word!r} is not an outcome word (letters, digits, _)")
        if len(set(words)) != len(words):
            raise ValueError("an outcome word is named twice")
        return words

    @model_validator(mode="after")
    def _vocabulary(self) -> ImpactSettings:
        if NO_OUTCOME in self.positive:
            raise ValueError("'none' is never a positive outcome")
        both = set(self.positive) & set(self.other)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: both positive and other")
        for number, target in enumerate(self.target, start=1):
            named = target.counts if isinstance(target.counts, list) else []
            unknown = [w for w in named if w not in self.words()]
            if unknown:
                raise ValueError(
                    f"[[impact.target]] {number} counts {', '.join(unknown)}: not an outcome "
                    f"word ({', '.join(self.words())}; set them in [impact] positive or other)"
                )
        return self

    def words(self) -> tuple[str, ...]:
        """Every word outcomes.csv may use: the positive ones, the others, then ``none``."""
        return (*self.positive, *self.other, NO_OUTCOME)

    @model_serializer(mode="wrap")
    def _without_unset_history(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Nothing new set: the settings dump (solution.json, compare) reads as it did before.
        dumped: dict[str, Any] = handler(self)
        defaults = {
            "target": [],
            "as_of": None,
            "positive": list(DEFAULT_POSITIVE_OUTCOMES),
            "other": [],
        }
        for key, default in defaults.items():
            if dumped.get(key) == default:
                dumped.pop(key, None)
        return dumped


class CohortSettings(_Settings):
    id: str = Field(min_length=1)
    places: Count | None = None
    councils: list[str] | None = None
    track: str | None = None  # the [[tracks]] id this cohort belongs to (with tracks only)

    @model_serializer(mode="wrap")
    def _no_track_unsaid(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Without tracks the settings dump (solution.json) reads as it did before.
        data = handler(self)
        if isinstance(data, dict) and data.get("track") is None:
            data.pop("track", None)
        return data


class TrackSettings(_Settings):
    """One ``[[tracks]]`` table: a track or tier of the programme, with its own session
    template (programme.csv rows whose ``track`` names it, and the common rows), grade band,
    places per cohort, cohorts and months."""

    display = frozenset({"name"})

    id: str = Field(min_length=1)
    name: str = ""
    # The track's grade band; None: [selection] eligible_grades.
    eligible_grades: list[Grade | str] | None = Field(default=None, min_length=1)
    places: Count | None = None  # places per cohort of this track; None: [selection] places
    # [first, last] programme month of the track; None: every month of the programme.
    months: list[Annotated[int, Field(ge=1, le=MAX_MONTH)]] | None = Field(
        default=None, min_length=2, max_length=2
    )
    # False: the track's participants are outside matching (no mentor, no coach), as for a
    # workshop-only programme beside a mentoring scheme.
    matching: StrictBool = True

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if ";" in value or value.strip() != value or value.casefold() == ALL_COHORTS:
            raise ValueError(
                f"track id {value!r} may not contain ';', spaces at its ends, or be 'all'"
            )
        return value

    @field_validator("months")
    @classmethod
    def _first_before_last(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(
                f"months = [{value[0]}, {value[1]}]: the first month is after the last"
            )
        return value

    @property
    def label(self) -> str:
        """How the track reads in explanations: ``AM (Aspiring Manager)``."""
        return f"{self.id} ({self.name})" if self.name and self.name != self.id else self.id

    def holds_month(self, month: int) -> bool:
        return self.months is None or self.months[0] <= month <= self.months[1]

    def holds(self, session: Session) -> bool:
        """The track's cohorts hold ``session``: its own rows and the common ones (blank
        track column), within the track's months."""
        in_track = not session.tracks or self.id in session.tracks
        return in_track and self.holds_month(session.month)


class MatchingWeights(_Settings):
    needs: Weight = 10
    other_council: Weight = 3
    other_service_area: Weight = 2


class MatchingSettings(_Settings):
    mentor_min_grade_gap: int = Field(default=2, ge=-MAX_GRADE, le=MAX_GRADE)
    exclude_same_service_area: bool = True
    fairness: Literal["utilitarian", "egalitarian"] = "utilitarian"
    weights: MatchingWeights = MatchingWeights()


# Output names a market may not take: the files every run writes (contract section 3).
TAKEN_NAMES = frozenset(
    {
        "allocation",
        "decision_log",
        "matches",
        "calendar",
        "changes",
        "outcomes",
        "robustness",
        # run writes these beside the markets' files: a market of that name would clobber one
        "notices",
        "tokens",
        "links",
    }
)
STEM = r"^[a-z][a-z0-9_-]{0,40}$"


class MarketSettings(_Settings):
    """One ``[[markets]]`` table: a sign-up scheme or a job-swap scheme; ``match`` writes its
    result to NAME.csv."""

    name: str = Field(pattern=STEM)
    kind: Literal["signup", "swap", "placement"] = "signup"
    signups: str = Field(pattern=STEM)  # the sign-up table's file name, without .csv/.xlsx
    rankings: str | None = Field(default=None, pattern=STEM)
    exclusions: str | None = Field(default=None, pattern=STEM)
    open: bool = False  # every lawful pair acceptable, not only ranked ones
    ranks: int = Field(default=5, ge=1, le=1000)  # the fit scale: a first choice earns this
    cycle_length: int = Field(default=2, ge=2, le=3)  # swap: 3 allows A->B->C->A
    same_department: bool = False  # swap: only within one department
    placements: str | None = Field(default=None, pattern=STEM)  # placement: the hosts' table
    # The reading the programme acts on: the report shows it first, and a placement scheme's
    # placements of that reading go into the calendar.
    adopt: Literal["max_fit", "egalitarian", "stable"] = "max_fit"
    # placement: "blocked" keeps a participant's full-time placement days free of programme
    # sessions (unless the placement is released_for_programme); "allowed" books them anyway.
    sessions_during_placements: Literal["blocked", "allowed"] = "blocked"

    @model_validator(mode="after")
    def _placements_table(self) -> MarketSettings:
        if (self.kind == "placement") != (self.placements is not None):
            raise ValueError("placements = TABLE is required for, and only for, kind = placement")
        if self.kind == "placement" and self.adopt == "egalitarian":
            raise ValueError("a placement scheme has max_fit and stable readings only")
        return self

    @field_validator("name")
    @classmethod
    def _not_a_taken_name(cls, value: str) -> str:
        if value in TAKEN_NAMES:
            raise ValueError(f"{value}.csv is already an output: name the market otherwise")
        return value


class CalendarSettings(_Settings):
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    group_weekdays: list[Weekday] = Field(default=["Tue", "Wed", "Thu"], min_length=1)
    min_days_between_group_sessions: int = Field(default=14, ge=0, le=MAX_GAP_DAYS)

    @field_validator("day_start", "day_end", mode="before")
    @classmethod
    def _clock_spelling(cls, value: Any) -> Any:
        return _toml_clock(value)

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


class FeedsSettings(_Settings):
    # A participant's feed is theirs, but a shared event's description is the same in every
    # feed that holds it (one version per event): listing the cohort there would hand every
    # participant everyone else's name. Off unless the scenario says the cohort has agreed.
    show_cohort_names: StrictBool = False


class Settings(_Settings):
    """Everything in ``scenario.toml``."""

    programme: ProgrammeSettings
    selection: SelectionSettings
    positive_action: PositiveAction | None = None
    cohorts: list[CohortSettings] = []
    matching: MatchingSettings = MatchingSettings()
    calendar: CalendarSettings = CalendarSettings()
    feeds: FeedsSettings = FeedsSettings()
    impact: ImpactSettings = ImpactSettings()
    markets: list[MarketSettings] = []
    grades: GradeSettings | None = None
    tracks: list[TrackSettings] = []

    @model_validator(mode="after")
    def _eligible_grades_known(self) -> Settings:
        for grade in self.selection.eligible_grades:
            if self.grades is None and isinstance(grade, str) and not grade.strip().isdigit():
                raise ValueError(
                    f"eligible grade {grade!r} is a label: declare the order of the grades, "
                    'lowest first, e.g. [grades] order = ["2", "3", "8a", "8b"]'
                )
            if self.grades is not None and self.grades.position(str(grade)) is None:
                raise ValueError(
                    f"eligible grade {grade!r} is not in [grades] order "
                    f"({', '.join(self.grades.order)})"
                )
        return self

    def eligible_grade_positions(self) -> frozenset[int]:
        """The eligible grades as the applicants' grade values (positions, with an order)."""
        grades = self.grades
        if grades is None:
            return frozenset(int(g) for g in self.selection.eligible_grades)
        return frozenset(grades.position(str(g)) or 0 for g in self.selection.eligible_grades)

    def grade_label(self, grade: int) -> str:
        """How a grade value reads to the coordinator: its label, with an order."""
        if self.grades is None or not 0 <= grade < len(self.grades.order):
            return str(grade)
        return self.grades.order[grade]

    @model_validator(mode="after")
    def _unique_cohorts(self) -> Settings:
        ids = [c.id for c in self.cohorts]
        if len(set(ids)) != len(ids):
            raise ValueError("cohort ids must be unique")
        names = [m.name for m in self.markets]
        if len(set(names)) != len(names):
            raise ValueError("market names must be unique (each writes NAME.csv)")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_markets(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # No [[markets]]: the settings dump (solution.json, compare) reads as it did before.
        dumped: dict[str, Any] = handler(self)
        if not self.markets:
            dumped.pop("markets", None)
        if not self.tracks:
            dumped.pop("tracks", None)  # no tracks: the dump reads as it did before
        return dumped

    def grade_positions(self, listed: Sequence[int | str]) -> frozenset[int]:
        """Eligible grades as the applicants' grade values (positions, with an order)."""
        grades = self.grades
        if grades is None:
            return frozenset(int(g) for g in listed)
        return frozenset(grades.position(str(g)) or 0 for g in listed)

    def track(self, track_id: str | None) -> TrackSettings | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def track_grades(self, track: TrackSettings) -> list[int | str]:
        """A track's grade band, as written (default: [selection] eligible_grades)."""
        if track.eligible_grades is not None:
            return list(track.eligible_grades)
        return list(self.selection.eligible_grades)

    def cohort_list(self) -> list[Cohort]:
        """The cohorts with their places resolved (default: one cohort ``main``; with tracks
        and no [[cohorts]], one cohort per track, named after it)."""
        if not self.cohorts and self.tracks:
            return [
                Cohort(
                    id=t.id,
                    places=self.selection.places if t.places is None else t.places,
                    councils=None,
                    track=t.id,
                )
                for t in self.tracks
            ]
        if not self.cohorts:
            return [Cohort(id="main", places=self.selection.places, councils=None)]
        return [
            Cohort(
                id=c.id,
                places=self._cohort_places(c),
                councils=None if c.councils is None else tuple(c.councils),
                track=c.track,
            )
            for c in self.cohorts
        ]

    def _cohort_places(self, cohort: CohortSettings) -> int:
        if cohort.places is not None:
            return cohort.places
        track = self.track(cohort.track)
        if track is not None and track.places is not None:
            return track.places
        return self.selection.places


class Cohort(Record):
    id: str
    places: int
    councils: tuple[str, ...] | None
    track: str | None = None  # its [[tracks]] id; None without tracks


Names = tuple[str, ...]


class Applicant(Record):
    applicant_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    council: str = ""
    service_area: str = ""
    grade: Grade
    probation_passed: bool
    line_manager_approved: bool
    performance_eligible: bool
    line_manager_id: str | None = None
    groups: dict[str, bool] = {}
    development_needs: Names = ()
    working_days: tuple[Weekday, ...] = FULL_WEEK
    cohorts: Names = ()
    # The tracks column: the [[tracks]] applied to, in preference order; () = every track.
    tracks: Names = ()

    @property
    def area(self) -> tuple[str, str]:
        """Spread limits count per (council, service_area)."""
        return (self.council, self.service_area)


class Score(Record):
    applicant_id: str
    panelist: str = Field(min_length=1)
    score: Decimal = Field(ge=-MAX_SCORE, le=MAX_SCORE)
    criterion: str | None = None


class Mentor(Record):
    mentor_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    council: str = ""
    service_area: str = ""
    grade: Grade
    capacity: Count = 1
    expertise: Names = ()


class Coach(Record):
    coach_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    capacity: Count = 6
    expertise: Names = ()
    councils: Names = ()
    working_days: tuple[Weekday, ...] = FULL_WEEK

    def serves(self, council: str) -> bool:
        return not self.councils or council in self.councils


SessionKind = Literal[
    "group", "coaching", "review", "cohort_event", "mentoring", "action_learning", "flexible"
]


# An action learning set: each cohort is split into sets of this many participants (the least
# number of sets), and every action learning session of the cohort meets in those sets.
LEARNING_SET_SIZES = (4, 6)


SessionMode = Literal["in_person", "online"]


ALL_COHORTS = "all"  # the cohorts column: a session joining every cohort


JOINT = "joint:"  # the cohort_id of a joint session's event: "joint:c01;c02"


def joint_cohort_id(cohort_ids: Sequence[str]) -> str:
    """The cohort_id of a joint session's event: never one cohort's own id, so a joint session
    is no part of any one cohort's rhythm or group gap, even when it joins one cohort only."""
    return JOINT + ";".join(cohort_ids)


def cohorts_in(cohort_id: str) -> list[str]:
    """The cohorts an event's cohort_id stands for: itself, or those a joint event joins."""
    return cohort_id.removeprefix(JOINT).split(";") if cohort_id.startswith(JOINT) else [cohort_id]


_REPEAT_WORDS = {"monthly": 1, "bimonthly": 2, "bi-monthly": 2, "quarterly": 3}
_EVERY_MONTHS = re.compile(r"every\s+(\d{1,3})\s+months?")
REPEAT_HELP = 'use monthly, bimonthly, quarterly or "every N months"'


def parse_repeat(cell: str) -> int:
    """The repeat column: months between a recurring session's occurrences. Weeks are not a
    programme unit (each occurrence is placed in a programme month), so "every 6 weeks" is
    refused with the nearest spellings that work."""
    text = " ".join(cell.strip().lower().split())
    if text in _REPEAT_WORDS:
        return _REPEAT_WORDS[text]
    found = _EVERY_MONTHS.fullmatch(text)
    if found and 1 <= int(found.group(1)) <= MAX_MONTH:
        return int(found.group(1))
    raise ValueError(f"repeat {cell.strip()!r} is not a repeat: {REPEAT_HELP}")


class Session(Record):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    kind: SessionKind
    month: int = Field(ge=1, le=MAX_MONTH)
    duration_minutes: int = Field(gt=0, le=24 * 60)
    facilitator: str | None = None
    with_: Names = Field(default=(), alias="with")
    after: str | None = None
    mode: SessionMode | None = None  # None: group sessions and cohort events in person
    fixed_date: date | None = None  # the date column: held on this day, whatever the rhythm
    fixed_time: time | None = None  # the start_time column: starts at this time of day
    # The repeat column: held every this many months from `month` to `until` (one occurrence
    # per month of the series, each its own session keyed `<session_key>-<n>`).
    every_months: int | None = Field(default=None, alias="repeat", ge=1, le=MAX_MONTH)
    until: int | None = Field(default=None, ge=1, le=MAX_MONTH)
    series: str | None = None  # an occurrence: the session_key of its programme.csv row
    # The cohorts column: () is once per cohort; ("all",) or cohort ids is one joint event.
    cohorts: Names = ()
    # The invite column: who else is invited, in the coordinator's words ("Stepping Up alumni
    # of earlier cohorts"); a note in the feeds, not attendees the calendar books.
    invite: str = ""
    # The track column: the [[tracks]] whose cohorts hold this session; () = every track.
    tracks: Names = ()

    @field_validator("mode")
    @classmethod
    def _one_to_one_sessions_are_online(
        cls, mode: SessionMode | None, info: ValidationInfo
    ) -> SessionMode | None:
        kind = info.data.get("kind")
        if kind in ("coaching", "review") and mode == "in_person":
            raise ValueError(
                f"a {kind} session is held online; in_person is only for group sessions "
                "and cohort events"
            )
        return mode

    @field_validator("cohorts")
    @classmethod
    def _joint_sessions_are_whole_cohort(cls, cohorts: Names, info: ValidationInfo) -> Names:
        kind = info.data.get("kind")
        if cohorts and kind in ("coaching", "review", "mentoring", "action_learning", "flexible"):
            raise ValueError(
                f"a {kind} session is not one for whole cohorts; cohorts is only for group "
                "sessions and cohort events"
            )
        if ALL_COHORTS in cohorts and len(cohorts) > 1:
            raise ValueError(f"cohorts {';'.join(cohorts)!r}: write all, or list cohort ids")
        return cohorts

    @field_validator("until")
    @classmethod
    def _series_ends_after_it_starts(cls, until: int | None, info: ValidationInfo) -> int | None:
        month, every = info.data.get("month"), info.data.get("every_months")
        if until is not None and month is not None and until < month:
            raise ValueError(f"until {until} is before the session's month {month}")
        if info.data.get("kind") == "flexible":
            return until  # a flexible session's window: its runs fall in months month..until
        if until is not None and every is None:
            raise ValueError("until is the last month of a recurring session: set repeat too")
        if until is not None and month is not None and until < month:
            raise ValueError(f"until {until} is before the session's month {month}")
        return until

    @model_validator(mode="after")
    def _flexible_sessions_are_held_as_runs(self) -> Session:
        if self.kind != "flexible":
            return self
        if self.every_months is not None:
            raise ValueError(
                "a flexible session is offered as runs (runs.csv), not repeated: drop repeat"
            )
        if self.fixed_date is not None or self.fixed_time is not None:
            raise ValueError(
                "a flexible session's dates and times are its runs' (runs.csv date, start_time)"
            )
        if self.after:
            raise ValueError("a flexible session cannot come after another session")
        if any(who in ("line_manager", "head_of_service") for who in self.with_):
            raise ValueError(
                "with on a flexible session names people.csv ids only (a run mixes "
                "participants of many managers)"
            )
        return self

    @model_validator(mode="after")
    def _series_has_an_end(self) -> Session:
        if self.every_months is not None and self.series is None:
            if self.until is None:
                raise ValueError("a recurring session (repeat) needs until, its last month")
            if self.fixed_date is not None:
                raise ValueError(
                    "a recurring session cannot have one fixed date: give each date its own row"
                )
        return self

    @property
    def per_participant(self) -> bool:
        return self.kind in ("coaching", "review", "mentoring")

    @property
    def joint(self) -> bool:
        """One event for several cohorts (or all of them), not one per cohort."""
        return bool(self.cohorts)

    def run_window(self) -> tuple[int, int]:
        """A flexible session's window: the first and last month its runs may be in."""
        return self.month, self.until if self.until is not None else self.month

    def for_run(self, run: Run) -> Session:
        """A flexible session as one of its runs: the run's month, and its date and start
        time when runs.csv fixes them."""
        return self.model_copy(
            update={"month": run.month, "fixed_date": run.fixed_date, "fixed_time": run.fixed_time}
        )

    def occurrences(self) -> tuple[Session, ...]:
        """A programme.csv row as the sessions it stands for: itself, or (repeat) one
        session per month of the series, keyed `<session_key>-1`, `-2`, ... in month order."""
        if self.every_months is None or self.until is None or self.series is not None:
            return (self,)  # (a flexible session's until is its window, not a series)
        months = range(self.month, self.until + 1, self.every_months)
        return tuple(
            self.model_copy(
                update={
                    "session_key": f"{self.session_key}-{n}",
                    "month": m,
                    "series": self.session_key,
                }
            )
            for n, m in enumerate(months, start=1)
        )

    @property
    def online(self) -> bool:
        """Online sessions need no venue: coaching, reviews, and any session marked online."""
        return self.mode == "online" or self.per_participant


class Run(Record):
    """One row of runs.csv: one run of a flexible session, which each of its participants
    attends once, in one of its runs (issue 16, item 4)."""

    session_key: str = Field(min_length=1)
    run: int = Field(ge=1, le=MAX_COUNT)
    month: int = Field(ge=1, le=MAX_MONTH)
    fixed_date: date | None = None  # the date column: blank = the solver picks, in the month
    fixed_time: time | None = None  # the start_time column: blank = the solver picks
    venue_id: str | None = None  # blank: online (an online session), else the run's room
    capacity: int = Field(gt=0, le=MAX_COUNT)


RUNS = "runs/"  # the event id of a run: runs/<session_key>/<run>


def run_event_id(session_key: str, run: int) -> str:
    """The calendar.csv event id of one run of a flexible session."""
    return f"{RUNS}{session_key}/{run}"


def run_number(event_id: str) -> int | None:
    """The run of a run's event id (``runs/FIN/2`` -> 2); None for any other event."""
    if not event_id.startswith(RUNS):
        return None
    tail = event_id.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def flexible_participants(
    scenario: Scenario, session: Session, members: Mapping[str, Sequence[str]]
) -> list[str]:
    """Who must attend one run of a flexible session: every participant of every cohort whose
    track holds it (every cohort, without tracks), sorted. The one place this is decided, for
    the solver and the checker alike."""
    tracks = scenario.cohort_tracks()
    return sorted(
        {
            pid
            for cohort, pids in members.items()
            if scenario.track_holds(tracks.get(cohort), session)
            for pid in pids
        }
    )


class Person(Record):
    person_id: str = Field(min_length=1)
    name: str = ""
    email: str = ""
    role: str = ""
    council: str = ""
    service_area: str = ""


class Venue(Record):
    venue_id: str = Field(min_length=1)
    name: str = ""
    capacity: int = Field(gt=0, le=MAX_COUNT)
    council: str | None = None


class Unavailability(Record):
    id: str = Field(min_length=1)
    start: datetime
    end: datetime


class Conflict(Record):
    person_a: str = Field(min_length=1)
    person_b: str = Field(min_length=1)


class CareerOutcome(Record):
    """One row of outcomes.csv: a participant's completion, or a step in their career.

    A participant may have several rows over time (a history); ``outcome`` is a word of the
    scenario's vocabulary (``[impact] positive`` and ``other``, checked by the loader).
    """

    participant_id: str = Field(min_length=1)
    completed: bool | None = None  # None = not stated on this row (or not known yet)
    outcome: str = NO_OUTCOME
    outcome_date: date | None = None


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
    runs: tuple[Run, ...] = ()  # runs.csv: the runs of flexible sessions
    outcomes: tuple[CareerOutcome, ...] = ()
    checksum: str = ""
    stage_checksums: dict[str, str] = Field(default_factory=dict)  # stage -> checksum of its inputs
    warnings: tuple[str, ...] = ()  # non-fatal remarks from loading (unknown columns, settings)

    def inputs(self, stage: str) -> str:
        """The checksum of the files ``stage`` reads (the whole scenario's if not recorded)."""
        return self.stage_checksums.get(stage, self.checksum)

    @property
    def cohorts(self) -> list[Cohort]:
        return self.settings.cohort_list()

    @property
    def has_tracks(self) -> bool:
        return bool(self.settings.tracks)

    def track_holds(self, track_id: str | None, session: Session) -> bool:
        """Whether the cohorts of a track hold ``session``: the track's own rows and the common
        ones (blank track), within the track's months. Without tracks every cohort holds all."""
        if track_id is None:
            return True
        track = self.settings.track(track_id)
        if track is None:  # not declared (the loader refuses it): the track column decides
            return not session.tracks or track_id in session.tracks
        return track.holds(session)

    def matched(self, selected: Sequence[Decision]) -> list[Decision]:
        """The selected participants matching serves: all, but those in cohorts of a track
        with ``matching = false``. The one place this is decided (solver and checker)."""
        tracks = self.cohort_tracks()
        served = []
        for decision in selected:
            track = self.settings.track(tracks.get(decision.cohort_id or ""))
            if decision.status == "selected" and (track is None or track.matching):
                served.append(decision)
        return served

    def cohort_tracks(self) -> dict[str, str | None]:
        """cohort id -> its track id (None without tracks)."""
        return {c.id: c.track for c in self.cohorts}

    def ring_fence_groups(self) -> list[str]:
        """Every protected-characteristic column named by a ring fence, in toml order."""
        seen: dict[str, None] = {}
        for ring_fence in self.settings.selection.ring_fence:
            seen.update(dict.fromkeys(ring_fence.groups))
        return list(seen)
