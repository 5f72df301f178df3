"""Programme time: months of the programme, bank holidays and the working day.

Both the calendar stage and its independent checker need these definitions, so they live in
the domain rather than on either side: a mistake here would otherwise be made identically by
the solver and by the code meant to catch it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from cohort_solver.domain.scenario import CalendarSettings, Scenario


def month_first_day(start: date, month: int) -> date:
    """The first day of programme month ``month`` of a programme starting on ``start``
    (1 = the month of ``start``, 13 = the same month a year later)."""
    index = start.year * 12 + start.month - 1 + month - 1
    return date(index // 12, index % 12 + 1, 1)


def month_last_day(start: date, month: int) -> date:
    return month_first_day(start, month + 1) - timedelta(days=1)


def month_bounds(scenario: Scenario, month: int) -> tuple[date, date]:
    """First and last day of programme month ``month`` (1 = the month of ``start``)."""
    start = scenario.settings.programme.start
    return month_first_day(start, month), month_last_day(start, month)


def bank_holidays(scenario: Scenario, years: Iterable[int]) -> frozenset[date]:
    """Bank holidays of the programme's region (``holidays = "GB-ENG"``) in those years."""
    return _bank_holidays(scenario.settings.programme.holidays, tuple(sorted(set(years))))


@lru_cache(maxsize=32)
def _bank_holidays(region: str, years: tuple[int, ...]) -> frozenset[date]:
    # The holidays package builds its tables in Python on every call: a few ms, asked often.
    country, _, subdivision = region.partition("-")
    return frozenset(
        holidays.country_holidays(country, subdiv=subdivision or None, years=list(years))
    )


def weeks_of_month(scenario: Scenario, month: int) -> list[tuple[int, int]]:
    """The ISO (year, week) pairs with a Monday-Friday day inside programme month ``month``,
    in order. The coach-load goal shares a coach's sessions evenly over these weeks."""
    first, last = month_bounds(scenario, month)
    weeks: dict[tuple[int, int], None] = {}
    day = first
    while day <= last:
        if day.weekday() < 5:
            iso = day.isocalendar()
            weeks[(iso[0], iso[1])] = None
        day += timedelta(days=1)
    return list(weeks)


def iso_week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return (iso[0], iso[1])


def minutes_of_day(moment: time | datetime) -> int:
    """Minutes after midnight of a clock time (seconds do not count: the grid is in minutes)."""
    return moment.hour * 60 + moment.minute


def working_minutes(calendar: CalendarSettings) -> tuple[int, int]:
    """The working day as minutes after midnight: (day_start, day_end)."""
    return minutes_of_day(calendar.day_start), minutes_of_day(calendar.day_end)
