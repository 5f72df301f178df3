"""Objective weights that a stage and its independent checker must agree on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple


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
