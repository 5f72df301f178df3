"""Lawful pairs and their fit as arrays, built from the rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Applicant, Coach, Mentor, Scenario
from cohort_solver.stages.match.rules import management_chain


class _Side:
    """Mentors (or coaches) as arrays: ids, (council, service area) codes and expertise."""

    def __init__(self, people: list, id_field: str, area: Callable, expertise: Callable):
        self.people = people
        self.ids = np.array([getattr(x, id_field) for x in people], dtype=object)
        self.position = {i: k for k, i in enumerate(self.ids)}
        self._areas = {a: k for k, a in enumerate(dict.fromkeys(area(x) for x in people))}
        self.areas = np.array([self._areas[area(x)] for x in people], dtype=np.int64)
        themes = {
            t: k for k, t in enumerate(dict.fromkeys(t for x in people for t in expertise(x)))
        }
        self._themes = themes
        self.offers = np.zeros((len(people), len(themes)), dtype=np.int64)
        for row, x in enumerate(people):
            self.offers[row, [themes[t] for t in set(expertise(x))]] = 1

    def area_code(self, area: tuple[str, str]) -> int:
        return self._areas.get(area, -1)

    def covered(self, needs: Sequence[str]) -> np.ndarray:
        """How many of the participant's needs each person's expertise covers."""
        columns = [self._themes[n] for n in set(needs) if n in self._themes]
        return self.offers[:, columns].sum(axis=1)

    def options(self, lawful: np.ndarray, fit: np.ndarray, barred: set[str]) -> dict[str, int]:
        for who in barred:
            if who in self.position:
                lawful[self.position[who]] = False
        chosen = np.flatnonzero(lawful)
        return dict(zip(self.ids[chosen].tolist(), fit[chosen].tolist(), strict=True))


@dataclass
class Pool:
    """The participants (sorted by id) and their lawful mentors and coaches, with fit."""

    participants: list[Applicant]
    cohort: dict[str, str]
    mentors: dict[str, Mentor]
    coaches: dict[str, Coach]
    mentor_options: dict[str, dict[str, int]]  # participant -> mentor -> fit, mentors sorted
    coach_options: dict[str, dict[str, int]]

    @classmethod
    def build(cls, scenario: Scenario, selected: Sequence[Decision]) -> Pool:
        applicants = {a.applicant_id: a for a in scenario.applicants}
        cohort = {o.applicant_id: o.cohort_id or "" for o in selected}
        participants = [applicants[i] for i in sorted(cohort)]
        mentors = {m.mentor_id: m for m in sorted(scenario.mentors, key=lambda m: m.mentor_id)}
        coaches = {c.coach_id: c for c in sorted(scenario.coaches, key=lambda c: c.coach_id)}
        rules, weights = scenario.settings.matching, scenario.settings.matching.weights
        conflicted: dict[str, set[str]] = defaultdict(set)
        for c in scenario.conflicts:
            conflicted[c.person_a].add(c.person_b)
            conflicted[c.person_b].add(c.person_a)
        # The rules of mentor_barriers/coach_barriers, and the contract's fit, as array
        # operations: at national scale every participant meets every mentor (3,600 x 4,000
        # pairs), and one Python call per pair cost most of the stage. A test keeps them in step
        # with the barriers and with the checker's fit.
        mentor_side = _Side(
            [m for m in mentors.values() if m.capacity > 0],
            "mentor_id",
            lambda m: (m.council, m.service_area),
            lambda m: m.expertise,
        )
        coach_side = _Side(
            [c for c in coaches.values() if c.capacity > 0],
            "coach_id",
            lambda c: None,
            lambda c: c.expertise,
        )
        grades = np.array([m.grade for m in mentor_side.people], dtype=np.int64)
        councils = np.array([m.council for m in mentor_side.people], dtype=object)
        serves: dict[str, np.ndarray] = {}
        mentor_options: dict[str, dict[str, int]] = {}
        coach_options: dict[str, dict[str, int]] = {}
        for p in participants:
            barred = {
                p.applicant_id,
                *management_chain(p, applicants),
                *conflicted.get(p.applicant_id, ()),
            }
            other_area = mentor_side.areas != mentor_side.area_code(p.area)
            lawful = grades >= p.grade + rules.mentor_min_grade_gap
            if rules.exclude_same_service_area:
                lawful &= other_area
            fit = (
                weights.needs * mentor_side.covered(p.development_needs)
                + weights.other_council * (councils != p.council)
                + weights.other_service_area * other_area
            )
            mentor_options[p.applicant_id] = mentor_side.options(lawful, fit, barred)
            if p.council not in serves:
                serves[p.council] = np.array(
                    [c.serves(p.council) for c in coach_side.people], dtype=bool
                )
            coach_options[p.applicant_id] = coach_side.options(
                serves[p.council].copy(),
                weights.needs * coach_side.covered(p.development_needs),
                barred,
            )
        return cls(participants, cohort, mentors, coaches, mentor_options, coach_options)

    @property
    def ids(self) -> list[str]:
        return [p.applicant_id for p in self.participants]
