"""The matching rules: who may mentor or coach whom, written once.

Each rule is one entry of ``MENTOR_RULES`` or ``COACH_RULES``: a test of *every* mentor (or coach)
at once, as an array mask, with the words ``explain`` gives when it fails. ``Pool.build`` ands the
masks, because at national scale every participant meets every mentor (3,600 x 4,000 pairs) and
one Python call per pair cost most of the stage. ``mentor_barriers`` and ``coach_barriers`` run
the same masks on one person, so the words can never drift from what the solver allows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from cohort_solver.domain.scenario import Applicant, Coach, MatchingSettings, Mentor, Scenario

Mask = npt.NDArray[np.bool_]
Person = TypeVar("Person", bound=Mentor | Coach)


def management_chain(applicant: Applicant, by_id: Mapping[str, Applicant]) -> list[str]:
    """The participant's line manager and everyone above them, as far as applicants.csv tells."""
    chain: list[str] = []
    manager = applicant.line_manager_id
    while manager and manager not in chain and manager != applicant.applicant_id:
        chain.append(manager)
        above = by_id.get(manager)
        manager = above.line_manager_id if above else None
    return chain


@dataclass(frozen=True)
class Facts:
    """What the rules know about one participant beyond their own row."""

    applicant: Applicant
    chain: tuple[str, ...]  # line manager and up
    conflicted: frozenset[str]  # people with a declared conflict with them


class Relations:
    """Management chains and declared conflicts of a scenario, to give each participant's Facts."""

    def __init__(self, scenario: Scenario) -> None:
        self.by_id = {a.applicant_id: a for a in scenario.applicants}
        self.conflicted: dict[str, set[str]] = defaultdict(set)
        for c in scenario.conflicts:
            self.conflicted[c.person_a].add(c.person_b)
            self.conflicted[c.person_b].add(c.person_a)

    def facts(self, applicant: Applicant) -> Facts:
        return Facts(
            applicant,
            tuple(management_chain(applicant, self.by_id)),
            frozenset(self.conflicted.get(applicant.applicant_id, ())),
        )


class People(Generic[Person]):
    """Mentors or coaches as columns, one row per person, for rules that test them all at once."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people: list[Person] = list(people)
        self.ids = np.array([_id(x) for x in self.people], dtype=object)
        self.position = {i: k for k, i in enumerate(self.ids.tolist())}
        self._areas = {a: k for k, a in enumerate(dict.fromkeys(_area(x) for x in self.people))}
        self.areas = np.array([self._areas[_area(x)] for x in self.people], dtype=np.int64)
        self.grades = np.array([getattr(x, "grade", 0) for x in self.people], dtype=np.int64)
        self._serving: dict[str, Mask] = {}

    def among(self, ids: Iterable[str]) -> Mask:
        """Whether each person is one of ``ids``."""
        mask = np.zeros(len(self.people), dtype=bool)
        mask[[self.position[i] for i in ids if i in self.position]] = True
        return mask

    def in_area(self, area: tuple[str, str]) -> Mask:
        """Whether each person works in this (council, service area)."""
        return np.asarray(self.areas == self._areas.get(area, -1), dtype=bool)

    def serving(self, council: str) -> Mask:
        """Whether each coach serves this council (worked out once per council)."""
        if council not in self._serving:
            self._serving[council] = np.array(
                [isinstance(x, Coach) and x.serves(council) for x in self.people], dtype=bool
            )
        return self._serving[council]


def _id(person: Mentor | Coach) -> str:
    return person.mentor_id if isinstance(person, Mentor) else person.coach_id


def _area(person: Mentor | Coach) -> tuple[str, str] | None:
    return (person.council, person.service_area) if isinstance(person, Mentor) else None


@dataclass(frozen=True)
class Rule(Generic[Person]):
    """One matching rule: which people it allows for a participant, and why it bars one."""

    allows: Callable[[MatchingSettings, Facts, People[Person]], Mask]
    barrier: Callable[[MatchingSettings, Facts, Person], str]


def _not_the_participant(rules: MatchingSettings, f: Facts, side: People[Person]) -> Mask:
    return ~side.among([f.applicant.applicant_id])


def _not_in_management_chain(rules: MatchingSettings, f: Facts, side: People[Person]) -> Mask:
    return ~side.among(f.chain)


def _no_declared_conflict(rules: MatchingSettings, f: Facts, side: People[Person]) -> Mask:
    return ~side.among(f.conflicted)


def _grade_gap(rules: MatchingSettings, f: Facts, side: People[Mentor]) -> Mask:
    return np.asarray(side.grades >= f.applicant.grade + rules.mentor_min_grade_gap, dtype=bool)


def _other_service_area(rules: MatchingSettings, f: Facts, side: People[Mentor]) -> Mask:
    if not rules.exclude_same_service_area:
        return np.ones(len(side.people), dtype=bool)
    return ~side.in_area(f.applicant.area)


def _serves_council(rules: MatchingSettings, f: Facts, side: People[Coach]) -> Mask:
    return side.serving(f.applicant.council)


MENTOR_RULES: tuple[Rule[Mentor], ...] = (
    Rule(_not_the_participant, lambda r, f, m: "is the participant"),
    Rule(
        _grade_gap,
        lambda r, f, m: f"grade {m.grade} is below {f.applicant.grade + r.mentor_min_grade_gap}",
    ),
    Rule(_not_in_management_chain, lambda r, f, m: "is in their management chain"),
    Rule(
        _other_service_area, lambda r, f, m: f"works in their own service area ({m.service_area})"
    ),
    Rule(_no_declared_conflict, lambda r, f, m: "has a declared conflict with them"),
)

COACH_RULES: tuple[Rule[Coach], ...] = (
    Rule(_not_the_participant, lambda r, f, c: "is the participant"),
    Rule(_serves_council, lambda r, f, c: f"does not serve {f.applicant.council}"),
    Rule(_not_in_management_chain, lambda r, f, c: "is in their management chain"),
    Rule(_no_declared_conflict, lambda r, f, c: "has a declared conflict with them"),
)


def lawful(
    rules: MatchingSettings, table: Sequence[Rule[Person]], f: Facts, side: People[Person]
) -> Mask:
    """Whether each person on ``side`` passes every rule of ``table`` for this participant."""
    mask = np.ones(len(side.people), dtype=bool)
    for rule in table:
        mask &= rule.allows(rules, f, side)
    return mask


def _barriers(
    rules: MatchingSettings, table: Sequence[Rule[Person]], f: Facts, person: Person
) -> list[str]:
    one = People([person])
    return [rule.barrier(rules, f, person) for rule in table if not rule.allows(rules, f, one)[0]]


def mentor_barriers(scenario: Scenario, f: Facts, mentor: Mentor) -> list[str]:
    """Why this mentor may not mentor this participant (empty = lawful)."""
    barriers = _barriers(scenario.settings.matching, MENTOR_RULES, f, mentor)
    if scenario.settings.grades is None:
        return barriers
    # Grades are positions in the declared order: say it in its labels, not in positions.
    label = scenario.settings.grade_label
    gap = scenario.settings.matching.mentor_min_grade_gap
    words = (
        f"grade {label(mentor.grade)} is not {gap} grades above {label(f.applicant.grade)} "
        "in the [grades] order"
    )
    return [words if b.startswith("grade ") else b for b in barriers]


def coach_barriers(scenario: Scenario, f: Facts, coach: Coach) -> list[str]:
    """Why this coach may not coach this participant (empty = lawful)."""
    return _barriers(scenario.settings.matching, COACH_RULES, f, coach)


def covered_needs(applicant: Applicant, expertise: Sequence[str]) -> list[str]:
    offered = set(expertise)
    return [need for need in dict.fromkeys(applicant.development_needs) if need in offered]
