"""Placements (secondments, stretch assignments, job moves) read two ways, each exact.

A participant may take a placement they ranked whose requirements they meet: a grade band it
is open to, every skill it asks for, a location they can work in, and its dates inside their
availability. Fit is the participant's rank points plus the host's (see ``rank_points``).

- max_fit: the most participants placed, then the largest total fit (a min-cost max-flow).
- stable: participant-proposing deferred acceptance with placement capacities, hosts holding
  the participants they rank highest: the stable allocation every participant likes best.

The pair book is the sign-up scheme's (participant = mentee, placement = mentor), so both
readings, the blocking pairs and Hall's condition are the same proven code.
"""

from __future__ import annotations

from collections import defaultdict

from cohort_solver.domain.markets import (
    Placement,
    PlacementCandidate,
    PlacementMarket,
    PlacementResult,
    Unmatched,
    rank_points,
)
from cohort_solver.stages.match.markets.book import Book
from cohort_solver.stages.match.markets.signup import (
    Assignment,
    blocking_pairs,
    connected_parts,
    deferred_acceptance,
    max_fit,
    named,
    reading,
)

REQUIREMENTS = "grade band, skills, location and dates"


def unmet_requirement(person: PlacementCandidate, placement: Placement) -> str | None:
    """The first requirement of ``placement`` that ``person`` does not meet, in words."""
    if placement.capacity == 0:
        return f"{placement.placement_id} offers no places"
    if placement.grade_bands and person.grade_band not in placement.grade_bands:
        return (
            f"{placement.placement_id} is open to grade bands {', '.join(placement.grade_bands)}"
            f", not {person.grade_band}"
        )
    missing = [s for s in placement.skills if s not in person.skills]
    if missing:
        return f"{person.person_id} lacks the {', '.join(missing)} skills it asks for"
    if placement.location and person.locations and placement.location not in person.locations:
        return f"{person.person_id} cannot work in {placement.location}"
    if placement.start and person.available_from and placement.start < person.available_from:
        return f"it starts {placement.start}, before {person.person_id} is free"
    if placement.end and person.available_to and placement.end > person.available_to:
        return f"it ends {placement.end}, after {person.person_id} is free"
    return None


def placement_book(market: PlacementMarket) -> Book:
    """Acceptable (participant, placement) pairs: ranked by the participant, requirements met."""
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
    people = {p.person_id: p for p in market.people}
    offered = {p.placement_id: p for p in market.placements}
    fit = {
        (a, b): rank_points(rank[a, b], market.ranks) + rank_points(rank.get((b, a)), market.ranks)
        for a, b in sorted(rank)
        if a in people and b in offered and unmet_requirement(people[a], offered[b]) is None
    }
    return Book(
        mentees=tuple(people),
        mentors=tuple(offered),
        capacity={b: p.capacity for b, p in offered.items()},
        fit=fit,
        rank=rank,
        needs={},
    )


def solve_placements(market: PlacementMarket) -> PlacementResult:
    """Both readings, the pairs that block the max_fit one, and the fit stability costs."""
    pairs = placement_book(market)
    best = max_fit(pairs)
    stable = deferred_acceptance(pairs)
    readings = (
        reading("max_fit", pairs, best, placement_hall_reasons(pairs, best)),
        reading("stable", pairs, stable, placement_stable_reasons(pairs, stable)),
    )
    return PlacementResult(
        market=market.name,
        readings=readings,
        blocking_pairs=tuple(blocking_pairs(pairs, best)),
        stability_cost=readings[0].total_fit - readings[1].total_fit,
    )


def _nothing_acceptable(person: str) -> str:
    return (
        f"no acceptable placement: {person} ranked none whose requirements ({REQUIREMENTS}) "
        "they meet"
    )


def _empty(pairs: Book, assignment: Assignment, reason: str) -> list[Unmatched]:
    """Placements nobody takes, as the sign-up scheme lists mentors with no mentee."""
    taken = set(assignment.values())
    suitors = pairs.suitors()
    return [
        Unmatched(
            b,
            "mentor",
            reason if suitors[b] else "nobody who ranked it meets its requirements",
        )
        for b in pairs.mentors
        if b not in taken and pairs.capacity[b] > 0
    ]


def placement_hall_reasons(pairs: Book, assignment: Assignment) -> list[Unmatched]:
    """Why each participant is unplaced by the largest allocation: the connected parts that
    alternating paths from the unplaced reach are sets of participants whose acceptable
    placements have fewer places than they are (Hall's condition fails there)."""
    options = pairs.options()
    taken: dict[str, list[str]] = defaultdict(list)
    for a, b in assignment.items():
        taken[b].append(a)
    lonely = [a for a in pairs.mentees if a not in assignment]
    part = connected_parts(options, taken, [a for a in lonely if options[a]])
    groups: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for (side, person), root in part.items():
        groups[root][0 if side == "mentee" else 1].add(person)
    words = {root: _hall_words(pairs, *group) for root, group in groups.items()}
    found = [
        Unmatched(a, "mentee", words[part["mentee", a]] if options[a] else _nothing_acceptable(a))
        for a in lonely
    ]
    return found + _empty(
        pairs, assignment, "everyone who could take it is placed already: no larger allocation"
    )


def _hall_words(pairs: Book, people: set[str], places: set[str]) -> str:
    seats = sum(pairs.capacity[b] for b in places)
    if len(places) == 1:
        return (
            f"these {len(people)} participants ({named(people)}) can only take 1 placement "
            f"({named(places)}), which has {seats} place{'' if seats == 1 else 's'}"
        )
    return (
        f"these {len(people)} participants ({named(people)}) can only take {len(places)} "
        f"placements ({named(places)}), which have {seats} places between them"
    )


def placement_stable_reasons(pairs: Book, assignment: Assignment) -> list[Unmatched]:
    """Why each participant is unplaced by the stable allocation."""
    options = pairs.options()
    found = [
        Unmatched(
            a,
            "mentee",
            "every acceptable placement is full with participants its host ranks higher"
            if options[a]
            else _nothing_acceptable(a),
        )
        for a in pairs.mentees
        if a not in assignment
    ]
    return found + _empty(
        pairs, assignment, "everyone who could take it holds a placement they rank higher"
    )
