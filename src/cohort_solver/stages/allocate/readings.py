"""The over-and-above reading of a ring fence, in plain Python, for one cohort's selection.

Under over-and-above the places of a cohort are seats of two kinds: the open places, filled on
merit from everyone first, and each over-and-above ring fence's held places, filled afterwards
from its members not yet chosen (anyone, under `release`, once no member is left). Reserves,
replacements and reasons need three facts about a selection S of one cohort: can S be seated
at all (a hard rule under `hold`), which of S hold the open places (the merit-first pick), and
how many held places go to members. The CP-SAT model (model.py) decides the same with seat
variables; these functions let the plain-Python steps agree with it exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate


@dataclass(frozen=True)
class Block:
    """The held places of one over-and-above ring fence in one cohort."""

    name: str  # the ring fence ("" for the open places)
    size: int
    members_only: bool  # `hold`: an unfilled place stays empty rather than go to a non-member

    def admits(self, candidate: Candidate) -> bool:
        return not self.members_only or self.name in candidate.ring_fences


def over_and_above(scenario: Scenario) -> bool:
    """Does any ring fence use the over-and-above reading?"""
    return any(rf.reading == "over_and_above" for rf in scenario.settings.selection.ring_fence)


def held_blocks(scenario: Scenario, places: int) -> list[Block]:
    """The over-and-above ring fences' held places, in toml order: each holds its minimum of
    what the earlier ones left (so together they never hold more than the cohort's places)."""
    left = places
    blocks = []
    for rf in scenario.settings.selection.ring_fence:
        if rf.reading == "over_and_above":
            size = min(rf.minimum(places), left)
            left -= size
            blocks.append(Block(rf.name, size, rf.unfilled == "hold"))
    return blocks


def open_places(scenario: Scenario, places: int) -> int:
    return places - sum(b.size for b in held_blocks(scenario, places))


def seated(people: Sequence[Candidate], blocks: Sequence[Block]) -> int | None:
    """Seat every one of ``people`` in ``blocks``: the most held places that can go to members
    of their own ring fence, or None when they cannot all be seated. A dynamic programme over
    the blocks' free places (few blocks, few places), so it is exact."""
    if len(blocks) == 1:  # one block: everyone in it, if they fit
        inside = sum(blocks[0].name in p.ring_fences for p in people)
        fits = len(people) <= blocks[0].size and all(blocks[0].admits(p) for p in people)
        return inside if fits else None
    states: dict[tuple[int, ...], int] = {tuple(b.size for b in blocks): 0}
    for person in people:
        after: dict[tuple[int, ...], int] = {}
        for free, members in states.items():
            for i, block in enumerate(blocks):
                if free[i] and block.admits(person):
                    key = free[:i] + (free[i] - 1,) + free[i + 1 :]
                    gain = members + (block.name in person.ring_fences)
                    after[key] = max(after.get(key, -1), gain)
        states = after
        if not states:
            return None
    return max(states.values())


def _merit(candidate: Candidate, cohort_id: str) -> tuple[int, int, int]:
    return (candidate.hundredths, -candidate.cohorts.index(cohort_id), -candidate.lottery)


def can_seat(scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]) -> bool:
    """The hard rule of over-and-above `hold`: everyone fits in an open place or a held place
    that admits them. By Hall's theorem, exactly when for every set T of members-only blocks,
    those in none of T's ring fences fit in the places outside T."""
    hold = [b for b in held_blocks(scenario, cohort.places) if b.members_only]
    for n in range(len(hold) + 1):
        for fences in itertools.combinations(hold, n):
            outside = sum(not any(b.name in c.ring_fences for b in fences) for c in chosen)
            if outside > cohort.places - sum(b.size for b in fences):
                return False
    return True


def open_pick(scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]) -> list[Candidate]:
    """Who of ``chosen`` hold the open places: the best on merit (score, preference position,
    lottery) such that the rest still fit in the held places. The sets that can be left for the
    held places form a matroid (a transversal one), so taking the weakest first for the held
    places, whenever they still fit, is exact."""
    blocks = held_blocks(scenario, cohort.places)
    weakest_first = sorted(chosen, key=lambda c: _merit(c, cohort.id))
    need = max(0, len(chosen) - open_places(scenario, cohort.places))
    held: list[Candidate] = []
    for candidate in weakest_first:
        if len(held) == need:
            break
        if seated([*held, candidate], blocks) is not None:
            held.append(candidate)
    ids = {id(c) for c in held}  # identity: Candidate equality compares every field
    return [c for c in chosen if id(c) not in ids]


def passes(
    scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]
) -> tuple[list[Candidate], int]:
    """Who hold the open places, and how many held places then go to members."""
    picked = open_pick(scenario, cohort, chosen)
    ids = {id(c) for c in picked}
    rest = [c for c in chosen if id(c) not in ids]
    return picked, seated(rest, held_blocks(scenario, cohort.places)) or 0


def held_fill(scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]) -> int:
    """Held places of over-and-above ring fences that go to members (level 1's part for them)."""
    return passes(scenario, cohort, chosen)[1]


def open_key(picked: Sequence[Candidate], cohort: Cohort) -> tuple[int, ...]:
    """The first pass's levels 2-5 for the open places (bigger is better)."""
    return (
        len(picked),
        sum(c.hundredths for c in picked),
        -sum(c.cohorts.index(cohort.id) for c in picked),
        -sum(c.lottery for c in picked),
    )


def place_words(
    scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate], me: Candidate
) -> str | None:
    """Over and above, which kind of place ``me`` (selected in ``cohort``) holds, in words;
    None under minimum guarantees only (every place is then filled the same way)."""
    if not over_and_above(scenario):
        return None
    if me in open_pick(scenario, cohort, chosen):
        return "selected on merit for an open place (filled from everyone before the held places)"
    fences = [b.name for b in held_blocks(scenario, cohort.places) if b.name in me.ring_fences]
    if fences:
        names = " or ".join(f"'{name}'" for name in fences)
        return f"selected for a place held over and above for ring fence {names}"
    return "selected for a held place that no member could take (released)"
