"""An independent attacker for small-number suppression: brute force over every world that is
consistent with what an output shows. Plain Python, imports nothing from cohort_solver.

The attacker knows the people in each population an output names or counts (so the *atoms*:
the people every population treats alike), the size of each atom, which combinations of
characteristics exist at all (the *profiles*), and every figure shown. A world is a number of
people per atom and profile. Suppression holds when, over all consistent worlds, no count of a
column (a group or ring fence) in any union of atoms is pinned to 1 or 2, and neither is the
number of people in that union outside the column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product


@dataclass
class Knowledge:
    populations: Mapping[str, frozenset[str]]  # name -> people
    columns: Mapping[str, frozenset[str]]  # group or ring fence -> members (the truth)
    equal: list[tuple[str, str, int]] = field(default_factory=list)  # population, column, count
    at_least: list[tuple[str, str, int]] = field(default_factory=list)


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def leaks(knowledge: Knowledge) -> list[str]:
    """Every count of 1 or 2 (or its complement) the figures pin down, in words."""
    people = sorted(set().union(*knowledge.populations.values()))
    names = list(knowledge.populations)
    atoms: dict[tuple[bool, ...], list[str]] = {}
    for person in people:
        atoms.setdefault(tuple(person in knowledge.populations[n] for n in names), []).append(
            person
        )
    keys = sorted(atoms)
    columns = list(knowledge.columns)
    profile = {p: tuple(p in knowledge.columns[c] for c in columns) for p in people}
    profiles = sorted(set(profile.values()))
    truth = [[sum(profile[p] == q for p in atoms[k]) for q in profiles] for k in keys]

    def members(world: Sequence[Sequence[int]], atom_set: Sequence[int], column: int) -> int:
        return sum(world[a][q] for a in atom_set for q, pr in enumerate(profiles) if pr[column])

    def inside(population: str) -> list[int]:
        return [a for a, k in enumerate(keys) if k[names.index(population)]]

    checks = [(inside(p), columns.index(c), v, "=") for p, c, v in knowledge.equal]
    checks += [(inside(p), columns.index(c), v, ">=") for p, c, v in knowledge.at_least]
    options = [list(_compositions(len(atoms[k]), len(profiles))) for k in keys]
    worlds = []
    for world in product(*options):
        if all(
            (members(world, a, c) == v) if op == "=" else (members(world, a, c) >= v)
            for a, c, v, op in checks
        ):
            worlds.append(world)
    assert tuple(tuple(t) for t in truth) in worlds, "the true world must be consistent"
    found = []
    for mask in range(1, 2 ** len(keys)):
        union = [a for a in range(len(keys)) if mask >> a & 1]
        size = sum(len(atoms[keys[a]]) for a in union)
        for c, column in enumerate(columns):
            values = {members(w, union, c) for w in worlds}
            if len(values) == 1:
                (value,) = values
                if 0 < value < 3 or 0 < size - value < 3:
                    who = sorted(p for a in union for p in atoms[keys[a]])
                    found.append(f"{column}: {value} of {size} in {who}")
    return found


def revealed(knowledge: Knowledge) -> list[str]:
    """What the figures shown give away beyond what the attacker knew without them (which
    profiles exist: a group nobody has is 0 everywhere, with or without a page)."""
    before = set(leaks(Knowledge(knowledge.populations, knowledge.columns)))
    return [leak for leak in leaks(knowledge) if leak not in before]
