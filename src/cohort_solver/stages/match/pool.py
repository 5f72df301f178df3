"""Lawful pairs and their fit as arrays, built from the rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Applicant, Coach, Mentor, Scenario
from cohort_solver.stages.match.rules import (
    COACH_RULES,
    MENTOR_RULES,
    Mask,
    People,
    Person,
    Relations,
    lawful,
)


class _Side(People[Person]):
    """Mentors (or coaches) as columns, with their expertise for the fit."""

    def __init__(self, people: Sequence[Person], expertise: Callable[[Person], Sequence[str]]):
        super().__init__(people)
        themes = {
            t: k for k, t in enumerate(dict.fromkeys(t for x in self.people for t in expertise(x)))
        }
        self._themes = themes
        self.offers = np.zeros((len(self.people), len(themes)), dtype=np.int64)
        for row, x in enumerate(self.people):
            self.offers[row, [themes[t] for t in set(expertise(x))]] = 1

    def covered(self, needs: Sequence[str]) -> npt.NDArray[np.int64]:
        """How many of the participant's needs each person's expertise covers."""
        columns = [self._themes[n] for n in set(needs) if n in self._themes]
        return np.asarray(self.offers[:, columns].sum(axis=1), dtype=np.int64)

    def options(self, lawful: Mask, fit: npt.NDArray[np.int64]) -> dict[str, int]:
        chosen = np.flatnonzero(lawful)
        return dict(zip(self.ids[chosen].tolist(), fit[chosen].tolist(), strict=True))


NOBODY = ""  # the mentor_id (coach_id) of a programme without mentoring (coaching)


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
        relations = Relations(scenario)
        # The rules are masks over every mentor (or coach) at once; see rules.py.
        mentor_side = _Side([m for m in mentors.values() if m.capacity > 0], _expertise)
        coach_side = _Side([c for c in coaches.values() if c.capacity > 0], _expertise)
        councils = np.array([m.council for m in mentor_side.people], dtype=object)
        mentor_options: dict[str, dict[str, int]] = {}
        coach_options: dict[str, dict[str, int]] = {}
        for p in participants:
            facts = relations.facts(p)
            fit = (
                weights.needs * mentor_side.covered(p.development_needs)
                + weights.other_council * (councils != p.council)
                + weights.other_service_area * ~mentor_side.in_area(p.area)
            )
            mentor_options[p.applicant_id] = mentor_side.options(
                lawful(rules, MENTOR_RULES, facts, mentor_side), fit
            )
            coach_options[p.applicant_id] = coach_side.options(
                lawful(rules, COACH_RULES, facts, coach_side),
                weights.needs * coach_side.covered(p.development_needs),
            )
        # A programme without mentors.csv (or coaches.csv) has no mentoring (or coaching): that
        # side is one empty id for everyone, of fit 0, so the flows and models stay unchanged.
        if not scenario.mentors:
            mentors = {
                NOBODY: Mentor.model_construct(mentor_id=NOBODY, grade=0, capacity=len(cohort))
            }
            mentor_options = {i: {NOBODY: 0} for i in cohort}
        if not scenario.coaches:
            coaches = {NOBODY: Coach.model_construct(coach_id=NOBODY, capacity=len(cohort))}
            coach_options = {i: {NOBODY: 0} for i in cohort}
        return cls(participants, cohort, mentors, coaches, mentor_options, coach_options)

    @property
    def ids(self) -> list[str]:
        return [p.applicant_id for p in self.participants]


def _expertise(person: Mentor | Coach) -> Sequence[str]:
    return person.expertise
