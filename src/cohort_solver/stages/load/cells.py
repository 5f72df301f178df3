"""Cell parsers: one text cell to one typed value, or a ValueError in a coordinator's words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from cohort_solver.domain.scenario import (
    CLOCK_SPELLING,
    DATE_HELP,
    WEEKDAYS,
    outcome_word,
    parse_moment_parts,
)

YES = {"yes", "y", "true", "1"}


NO = {"no", "n", "false", "0"}


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Many one-line addresses, each followed by a line break: a whole column checked at once.
# Atomic and possessive, so an address that fails never sends the search back through the
# addresses before it (that would take exponential time).
EMAILS = re.compile(r"(?>[^@\s]+@[^@\s]+\.[^@\s]+\n)*+")


# Plain ASCII numbers only: Decimal would also take "1_000", "٣" and "Infinity".
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


# Beyond this many digits a number is a slip, and turning it into an int would be slow.
_MAX_DIGITS = 1000


_DAY_NAMES = {d.lower(): d for d in WEEKDAYS} | {
    full: short
    for short, full in zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
}


def parse_yes_no(cell: str) -> bool:
    word = cell.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValueError(f"{cell!r} is not yes or no (use yes/no, y/n, true/false or 1/0)")


def _number(cell: str, what: str) -> Decimal:
    text = cell.strip()
    if not NUMBER.fullmatch(text):
        raise ValueError(f"{cell!r} is not {what}")
    number = Decimal(text)
    if number and number.adjusted() >= _MAX_DIGITS:
        raise ValueError(f"{cell!r} is far too large a number")
    return number


def parse_int(cell: str) -> int:
    number = _number(cell, "a whole number")
    if number != number.to_integral_value():
        raise ValueError(f"{cell!r} is not a whole number")
    return int(number)


def parse_decimal(cell: str) -> Decimal:
    return _number(cell, "a number")


def parse_list(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def parse_weekdays(cell: str) -> tuple[str, ...]:
    days = []
    for part in parse_list(cell):
        day = _DAY_NAMES.get(part.lower())
        if day is None:
            raise ValueError(f"{part!r} is not a weekday (use Mon, Tue, Wed, Thu, Fri)")
        days.append(day)
    return tuple(sorted(set(days), key=WEEKDAYS.index))


def parse_email(cell: str) -> str:
    if cell and not EMAIL.match(cell):
        raise ValueError(f"{cell!r} does not look like an email address")
    return cell


def parse_moment(cell: str, *, end: bool, zone: tzinfo = UTC) -> datetime:
    """A whole day (an end date is inclusive: it blocks that whole day) or a moment.

    The result is wall-clock time in the programme's time zone ``zone``, as the calendar
    works: a moment written with a UTC offset is converted to it, one without is taken as
    already in it.
    """
    day, clock, offset = parse_moment_parts(cell)
    if clock is None:
        return datetime.combine(day + timedelta(days=1 if end else 0), time())
    moment = datetime.combine(day, clock, tzinfo=offset)
    if offset is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def parse_date(cell: str) -> date:
    """A date; a date-time at exactly midnight (an xlsx date-time cell) is that date."""
    try:
        day, clock, offset = parse_moment_parts(cell)
    except ValueError as exc:
        if "is not an ISO date" in str(exc):
            raise ValueError(f"{cell!r} is not an ISO date ({DATE_HELP})") from None
        raise
    if clock not in (None, time()) or offset is not None:
        raise ValueError(f"{cell!r} has a time of day: give the date only ({DATE_HELP})")
    return day


def parse_outcome(cell: str) -> str:
    # The words allowed are the scenario's ([impact] positive and other): checked with the
    # settings in references.check_outcomes.
    return outcome_word(cell)


def _text(cell: str) -> str:
    return cell


def _optional(cell: str) -> str | None:
    return cell or None


def parse_clock(cell: str) -> time:
    """A time of day, HH:MM (or HH:MM:SS), 24-hour."""
    spelled = CLOCK_SPELLING.fullmatch(cell.strip())
    if not spelled:
        raise ValueError(f"{cell!r} is not a time of day (write 09:30, 24-hour)")
    hour, minute, second = spelled.groups()
    try:
        return time(int(hour), int(minute), int(second or 0))
    except ValueError:
        raise ValueError(f"{cell!r} is not a real time of day") from None
