"""Impact tracking: progress of the participants (outcomes.csv) against the programme's targets.

The seed programme has 12 places and aims for 10 to complete, and for positive outcomes for 3
by the end of the programme, 4 within 12 months after it and 8 within 18 months after it.
Counts are cumulative from the programme start: an early promotion counts towards every target.
A target not set in ``[impact]`` is the seed's figure scaled to the scenario's places (the same
figure when there are 12 places), rounded half up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from cohort_solver.domain.programme_time import month_last_day
from cohort_solver.domain.results import Allocation
from cohort_solver.domain.scenario import CareerOutcome, Scenario

SEED_PLACES = 12
SEED_TARGETS = {
    "completed": 10,
    "by_programme_end": 3,
    "within_12_months_after": 4,
    "within_18_months_after": 8,
}


@dataclass(frozen=True)
class Target:
    label: str
    aim: int
    achieved: int
    deadline: date | None  # last day an outcome may be dated to count; None for completion

    @property
    def met(self) -> bool:
        return self.achieved >= self.aim


@dataclass(frozen=True)
class Impact:
    participants: int  # selected participants in this allocation
    recorded: int  # outcomes.csv rows about them
    targets: tuple[Target, ...]
    kinds: dict[str, int]  # positive outcome -> participants
    undated: int  # positive outcomes without an outcome_date: counted in no time window
    elsewhere: int  # rows about people not selected in this allocation: left out


def target_aims(scenario: Scenario) -> dict[str, int]:
    """Each target's number: as set in [impact], else the seed's scaled to the places."""
    places = sum(c.places for c in scenario.cohorts)
    settings = scenario.settings.impact
    aims = {}
    for name, seed in SEED_TARGETS.items():
        value = getattr(settings, name)
        if value is None:
            scaled = Decimal(seed * places) / SEED_PLACES
            value = int(scaled.to_integral_value(rounding=ROUND_HALF_UP))
        aims[name] = value
    return aims


def impact(scenario: Scenario, allocation: Allocation) -> Impact:
    participants = {o.applicant_id for o in allocation.selected()}
    ours: list[CareerOutcome] = [o for o in scenario.outcomes if o.participant_id in participants]
    positive = [o for o in ours if o.positive]
    start = scenario.settings.programme.start
    months = scenario.settings.impact.programme_months
    aims = target_aims(scenario)

    def by(deadline: date) -> int:
        return sum(o.outcome_date is not None and o.outcome_date <= deadline for o in positive)

    windows = [
        ("by_programme_end", f"positive outcome by the end of programme month {months}", 0),
        ("within_12_months_after", "positive outcome within 12 months after the programme", 12),
        ("within_18_months_after", "positive outcome within 18 months after the programme", 18),
    ]
    targets = [
        Target(
            "completed the programme",
            aims["completed"],
            sum(o.completed is True for o in ours),
            None,
        )
    ]
    for name, label, after in windows:
        deadline = month_last_day(start, months + after)
        targets.append(Target(label, aims[name], by(deadline), deadline))
    return Impact(
        participants=len(participants),
        recorded=len(ours),
        targets=tuple(targets),
        kinds=dict(sorted(Counter(o.outcome for o in positive).items())),
        undated=sum(o.outcome_date is None for o in positive),
        elsewhere=len(scenario.outcomes) - len(ours),
    )
