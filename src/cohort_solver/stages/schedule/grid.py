"""The time grid: programme days as numbers, each day a row of equal slots.

A moment of the programme is an absolute slot, ``day number x slots per day + slot``, so "the
same person in two places at once" becomes overlapping integer intervals. Day number 0 is the
first day of programme month 1. Slot sets of one day are bit masks (bit ``s`` = slot ``s``):
a day has at most a few dozen slots, and masks make the candidate filters a few integer
operations per day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date as Date
from datetime import datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from cohort_solver.domain.programme_time import (
    bank_holidays,
    iso_week,
    month_bounds,
    working_minutes,
)
from cohort_solver.domain.scenario import Scenario

Week = tuple[int, int]  # ISO (year, week)


class Grid:
    """Programme days and slots of one scenario."""

    def __init__(self, scenario: Scenario):
        cal = scenario.settings.calendar
        self.scenario = scenario
        self.slot_minutes = cal.slot_minutes
        self.opens, closes = working_minutes(cal)
        self.per_day = (closes - self.opens) // self.slot_minutes
        self.full = (1 << self.per_day) - 1
        self.origin = month_bounds(scenario, 1)[0]
        self.zone = ZoneInfo(scenario.settings.programme.timezone)
        self.months = sorted(
            {s.month for s in scenario.programme} | {r.month for r in scenario.runs}
        ) or [1]
        last = month_bounds(scenario, self.months[-1])[1]
        self.closed = bank_holidays(scenario, range(self.origin.year, last.year + 1))

    # -- days

    def date(self, day: int) -> Date:
        return self.origin + timedelta(days=day)

    def number(self, day: Date) -> int:
        return (day - self.origin).days

    def weekday(self, day: int) -> int:
        """0 = Monday."""
        return (self.origin.weekday() + day) % 7

    def week(self, day: int) -> Week:
        return self._weeks[day] if day in self._weeks else iso_week(self.date(day))

    def month_days(self, month: int) -> list[int]:
        """Monday-Friday days of programme month ``month`` that are not bank holidays."""
        return self._month_days[month]

    def month_weeks(self, month: int) -> list[Week]:
        """The ISO weeks with a Monday-Friday day in the month (bank holidays included)."""
        return self._month_weeks[month]

    def month_end(self, month: int) -> int:
        return self.number(month_bounds(self.scenario, month)[1])

    def month_of(self, day: int) -> int:
        d = self.date(day)
        start = self.scenario.settings.programme.start
        return (d.year - start.year) * 12 + d.month - start.month + 1

    @cached_property
    def _month_days(self) -> dict[int, list[int]]:
        return defaultdict(list, {m: self._open_days(m) for m in range(1, self.months[-1] + 1)})

    @cached_property
    def _month_weeks(self) -> dict[int, list[Week]]:
        out: dict[int, list[Week]] = {}
        for m in range(1, self.months[-1] + 1):
            first, last = month_bounds(self.scenario, m)
            weeks: dict[Week, None] = {}
            for k in range((last - first).days + 1):
                d = first + timedelta(days=k)
                if d.weekday() < 5:
                    weeks[iso_week(d)] = None
            out[m] = list(weeks)
        return out

    @cached_property
    def _weeks(self) -> dict[int, Week]:
        last = self.month_end(self.months[-1])
        return {d: iso_week(self.date(d)) for d in range(-7, last + 8)}

    def _open_days(self, month: int) -> list[int]:
        first, last = month_bounds(self.scenario, month)
        out = []
        for k in range((last - first).days + 1):
            d = first + timedelta(days=k)
            if d.weekday() < 5 and d not in self.closed:
                out.append(self.number(d))
        return out

    # -- slots

    def slots(self, minutes: int) -> int:
        return math.ceil(minutes / self.slot_minutes)

    def slot_at(self, clock: time) -> int:
        """The slot starting at ``clock`` (on the grid: the loader has checked it)."""
        return (clock.hour * 60 + clock.minute - self.opens) // self.slot_minutes

    def absolute(self, day: int, slot: int) -> int:
        return day * self.per_day + slot

    def split(self, absolute: int) -> tuple[int, int]:
        return divmod(absolute, self.per_day)

    def moment(self, day: int, slot: int) -> datetime:
        """The aware start time of ``slot`` on ``day`` in the programme timezone."""
        naive = datetime.combine(self.date(day), datetime.min.time()) + timedelta(
            minutes=self.opens + slot * self.slot_minutes
        )
        return naive.replace(tzinfo=self.zone)

    def starts_clear_of(self, busy: int, length: int) -> int:
        """The start slots whose ``length`` slots all avoid the ``busy`` mask."""
        starts = (1 << max(0, self.per_day - length + 1)) - 1
        spread = 0
        for k in range(length):
            spread |= busy >> k
        return starts & ~spread


def bits(mask: int) -> list[int]:
    """The set bits of a mask, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
