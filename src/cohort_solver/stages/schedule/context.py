"""The one object every part of the calendar stage shares: the scenario, its time grid, the
events to place with their candidate times, the rules' indexes, and the search policy."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cohort_solver.domain.results import Level
from cohort_solver.domain.scenario import Scenario
from cohort_solver.domain.weights import CALENDAR_WEIGHTS
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Grid
from cohort_solver.stages.schedule.search import Search
from cohort_solver.stages.schedule.slots import Blocked, Options, order_pairs

if TYPE_CHECKING:
    from cohort_solver.stages.schedule.bounds import Chains


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one event is: a day number, a start slot and (whole-cohort sessions) a venue."""

    day: int
    slot: int
    venue: str | None = None


Plan = dict[str, Placement]  # event_id -> placement


class Overlay(Mapping[str, Placement]):
    """The placements of ``top`` over those of ``base``, without copying ``base``."""

    def __init__(self, base: Mapping[str, Placement], top: Mapping[str, Placement]):
        self.base, self.top = base, top

    def __getitem__(self, key: str) -> Placement:
        return self.top[key] if key in self.top else self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self.top or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.top
        yield from (k for k in self.base if k not in self.top)

    def __len__(self) -> int:
        return len(self.top) + sum(1 for k in self.base if k not in self.top)


@dataclass
class Context:
    scenario: Scenario
    grid: Grid
    blocked: Blocked
    works: dict[str, frozenset[int]]
    demands: list[Demand]
    options: dict[str, Options]
    search: Search
    pins: Plan = field(default_factory=dict)  # re-plan: earlier placements still lawful alone
    progress: Callable[[int, int], None] | None = None
    weights: Mapping[str, int] = field(default_factory=lambda: CALENDAR_WEIGHTS)
    unit_bounds: dict[tuple[str, ...], int] = field(default_factory=dict)  # bounds.unit_bound
    chains: dict[int, dict[str, Chains]] = field(default_factory=dict)  # bounds.coach_chains
    runs_level: Level | None = None  # run_balance: flexible sessions' runs (runs.py)
    runs_optimal: bool = True

    def __post_init__(self) -> None:
        self._venue_short: bool | None = None
        self.by_id = {d.event_id: d for d in self.demands}
        self.gap = self.scenario.settings.calendar.min_days_between_group_sessions
        self.coach_ids = frozenset(c.coach_id for c in self.scenario.coaches)
        self.before: dict[str, list[Demand]] = defaultdict(list)  # `after` predecessors
        self.later: dict[str, list[Demand]] = defaultdict(list)  # `after` followers
        for a, b in order_pairs(self.demands):
            self.before[b.event_id].append(a)
            self.later[a.event_id].append(b)
        self.gap_partners: dict[str, list[Demand]] = defaultdict(list)
        self.groups: dict[str, list[Demand]] = defaultdict(list)  # cohort -> group sessions
        self.cohort_month: dict[tuple[str, int], list[Demand]] = defaultdict(list)
        for d in self.demands:
            if d.kind == "group":
                self.groups[d.cohort_id].append(d)
            self.cohort_month[d.cohort_id, d.month].append(d)
        for mine in self.groups.values():
            for a in mine:
                self.gap_partners[a.event_id] = [b for b in mine if b is not a]
        self.reference = _rhythm_references(self.scenario, self.groups)
        self.coaching_of: dict[tuple[str, int], list[Demand]] = defaultdict(list)
        for d in self.demands:
            if d.kind == "coaching":
                for coach in self.coaches_at(d):
                    self.coaching_of[coach, d.month].append(d)
        self.months = sorted({d.month for d in self.demands})
        self.of_kind: dict[str, list[Demand]] = defaultdict(list)
        self.cohort_kind: dict[tuple[str, str], list[Demand]] = defaultdict(list)
        self.whole_of_month: dict[int, list[Demand]] = defaultdict(list)
        self.events_of: dict[str, list[Demand]] = defaultdict(list)  # person -> their events
        for d in self.demands:
            for who in d.attendees:
                self.events_of[who].append(d)
            self.of_kind[d.kind].append(d)
            self.cohort_kind[d.cohort_id, d.kind].append(d)
            if d.whole_cohort:
                self.whole_of_month[d.month].append(d)

    def around(self, free: Sequence[Demand], fixed: Mapping[str, Placement]) -> list[Demand]:
        """The fixed events that can clash with or share a goal with ``free`` ones: those of
        the same months with a shared attendee, and every whole-cohort session of those months
        when a free event needs a venue."""
        free_ids = {d.event_id for d in free}
        months = {d.month for d in free}
        seen: dict[str, Demand] = {}
        for d in free:
            for who in d.attendees:
                for e in self.events_of[who]:
                    if e.month in months and e.event_id in fixed and e.event_id not in free_ids:
                        seen.setdefault(e.event_id, e)
        for month in sorted({d.month for d in free if d.venues}):
            for e in self.whole_of_month[month]:
                if e.event_id in fixed and e.event_id not in free_ids:
                    seen.setdefault(e.event_id, e)
        return sorted(seen.values(), key=lambda e: e.index)

    def venue_short(self) -> bool:
        """Whether some month has whole-cohort sessions that cannot each have a (venue, week)
        of their own (``bounds.venue_deficit``): then venues must be shared within a week."""
        if self._venue_short is None:
            from cohort_solver.stages.schedule.bounds import month_venue_deficit

            self._venue_short = any(
                month_venue_deficit(self, m) > 0 for m in sorted(self.whole_of_month)
            )
        return self._venue_short

    def coach_share(self, coach: str, month: int) -> int:
        """The even weekly share of a coach's sessions of a month: more in a week is an
        overload (``coach_week_overload``)."""
        mine = self.coaching_of.get((coach, month), ())
        return math.ceil(len(mine) / len(self.grid.month_weeks(month)))

    def coaches_at(self, d: Demand) -> list[str]:
        """The coaches at a coaching session (their weekly load is a soft goal)."""
        return [a for a in d.attendees if a in self.coach_ids] if d.kind == "coaching" else []


def _rhythm_references(
    scenario: Scenario, groups: Mapping[str, Sequence[Demand]]
) -> dict[str, str]:
    """cohort -> event_id of the session that sets its rhythm: its first group session in
    programme order (month, then row of programme.csv)."""
    order = {s.session_key: (s.month, i) for i, s in enumerate(scenario.programme)}
    return {
        cohort: min(mine, key=lambda d: order[d.key]).event_id for cohort, mine in groups.items()
    }
