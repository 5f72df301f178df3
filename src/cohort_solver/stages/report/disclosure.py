"""Which counts of protected groups an output may show, so that none of 1 or 2 can be worked out.

A panel page shows counts such as "disabled: selected 4". Suppressing each count of 1 or 2 is not
enough: the count can come back by subtraction (applicants minus eligible, the total minus the
other groups, one variant minus another) or by listing. This module decides, for a table of
counts, which cells are safe to show together.

The model. People fall into *atoms*: the sets of people that every population shown treats
alike (for a report: ineligible, eligible but not selected, selected). The unknowns are, per
atom, how many people have each combination of protected characteristics (their *profile*).
Every shown count is a sum of unknowns, every atom's size is public, and whatever follows from
those sums by linear algebra is assumed known, as is what follows from a count of 0 or of
everyone. A set of cells is safe when no count of a protected group or ring fence, over any
union of atoms, that can be worked out that way is 1 or 2, and neither is the number of people
in that union outside the group. Cells are accepted greedily in the order given, so the most
useful figures are kept and the ones that would undo a suppression are hidden.

With many atoms (more than ``EXACT_ATOMS``, e.g. a sweep of many variants) the check falls back
to a simpler sufficient rule: a cell is shown only if every atom inside its population holds 0
or at least 3 members, and 0 or at least 3 non-members, of every group and ring fence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import numpy as np

SUPPRESS_BELOW = 3
EXACT_ATOMS = 8


@dataclass(frozen=True, order=True)
class Cell:
    """One count an output wants to show: members of ``column`` among ``population``."""

    population: str
    column: str


def small(n: int) -> bool:
    return 0 < n < SUPPRESS_BELOW


def disclosable(
    columns: Mapping[str, frozenset[str]],
    populations: Mapping[str, frozenset[str]],
    wanted: Sequence[Cell],
    known: Sequence[Cell] = (),
) -> set[Cell]:
    """The cells of ``wanted`` that can be shown beside ``known`` (cells shown elsewhere).

    ``columns`` are the protected groups and ring fences (member ids): every one is protected,
    shown or not. ``populations`` are the sets of people the cells count in, and every person
    counted belongs to ``populations``' union.
    """
    audit = _Audit(columns, populations)
    shown = list(known)
    accepted: set[Cell] = set()
    for cell in wanted:
        if cell in accepted:
            continue
        if audit.safe([*shown, cell]):
            shown.append(cell)
            accepted.add(cell)
    return accepted


class _Audit:
    def __init__(
        self, columns: Mapping[str, frozenset[str]], populations: Mapping[str, frozenset[str]]
    ):
        self.columns = list(columns)
        self.population_names = list(populations)
        people = sorted(set().union(*populations.values())) if populations else []
        atom_of: dict[tuple[bool, ...], list[str]] = {}
        for person in people:
            key = tuple(person in populations[p] for p in self.population_names)
            atom_of.setdefault(key, []).append(person)
        self.atom_keys = sorted(atom_of, reverse=True)
        self.atoms = [atom_of[k] for k in self.atom_keys]
        profile_of = {
            person: tuple(person in columns[c] for c in self.columns) for person in people
        }
        self.profiles = sorted(set(profile_of.values()))
        self.coordinates = list(product(range(len(self.atoms)), range(len(self.profiles))))
        self.index = {c: i for i, c in enumerate(self.coordinates)}
        self.truth = [0] * len(self.coordinates)
        for a, members in enumerate(self.atoms):
            for person in members:
                self.truth[self.index[(a, self.profiles.index(profile_of[person]))]] += 1
        self.sizes = [len(members) for members in self.atoms]

    # ------------------------------------------------------------------ vectors

    def _cell_vector(self, cell: Cell) -> list[int]:
        p = self.population_names.index(cell.population)
        c = self.columns.index(cell.column)
        return [int(self.atom_keys[a][p] and self.profiles[q][c]) for a, q in self.coordinates]

    def _size_vectors(self) -> list[list[int]]:
        return [[int(a == atom) for a, _ in self.coordinates] for atom in range(len(self.atoms))]

    def _members(self, c: int, atoms: Sequence[int], inside: bool = True) -> int:
        return sum(
            self.truth[self.index[(a, q)]]
            for a in atoms
            for q in range(len(self.profiles))
            if self.profiles[q][c] == inside
        )

    # ------------------------------------------------------------------ the check

    def safe(self, cells: Sequence[Cell]) -> bool:
        if len(self.atoms) > EXACT_ATOMS:
            return all(self._atoms_safe(cell.population) for cell in cells)
        rows = self._size_vectors() + [self._cell_vector(cell) for cell in cells]
        while True:
            null = _null_space(rows, len(self.coordinates))
            fixed: list[list[int]] = []
            for c in range(len(self.columns)):
                for plus, minus in self._determinable(null, c):
                    value = self._members(c, plus) - self._members(c, minus)
                    if not minus:  # a count over a union of atoms
                        outside = sum(self.sizes[a] for a in plus) - value
                        if small(value) or small(outside):
                            return False
                    # A value at the end of its range pins every count in it: all members
                    # or none (e.g. one variant has one woman more, and one person differs).
                    if value == sum(self.sizes[a] for a in plus):
                        fixed += self._units(plus, c, inside=False) + self._units(minus, c)
                    if value == -sum(self.sizes[a] for a in minus):
                        fixed += self._units(plus, c) + self._units(minus, c, inside=False)
            new = [row for row in _unique(fixed) if row not in rows]
            if not new:
                return True
            rows += new

    def _units(self, atoms: Sequence[int], c: int, inside: bool = True) -> list[list[int]]:
        """Rows saying that no one in ``atoms`` is (``inside``) or is not a member of ``c``."""
        units = []
        for a in atoms:
            for q, profile in enumerate(self.profiles):
                if profile[c] == inside:
                    unit = [0] * len(self.coordinates)
                    unit[self.index[(a, q)]] = 1
                    units.append(unit)
        return units

    def _determinable(self, null: list[list[int]], c: int) -> list[tuple[list[int], list[int]]]:
        """Every (plus, minus) pair of disjoint atom sets, plus non-empty, for which members of
        ``c`` in plus minus members in minus follows from the rows."""
        # A vector follows from the rows exactly when it is orthogonal to their null space.
        k = len(self.atoms)
        inside = [q for q in range(len(self.profiles)) if self.profiles[q][c]]
        per_atom = [[sum(n[self.index[(a, q)]] for q in inside) for n in null] for a in range(k)]
        largest = max((abs(v) for row in per_atom for v in row), default=0)
        kind = np.int64 if largest * k < 2**62 else object
        signs = np.array(list(product((0, 1, -1), repeat=k))[1:], dtype=kind)
        keep = (signs == 1).any(axis=1)
        signs = signs[keep]
        sums = signs @ np.array(per_atom, dtype=kind).reshape(k, len(null))
        found = []
        for row, total in zip(signs, sums, strict=True):
            if not total.any():
                found.append(
                    ([a for a in range(k) if row[a] == 1], [a for a in range(k) if row[a] == -1])
                )
        return found

    def _atoms_safe(self, population: str) -> bool:
        p = self.population_names.index(population)
        for a, key in enumerate(self.atom_keys):
            if not key[p]:
                continue
            for c in range(len(self.columns)):
                members = self._members(c, [a])
                if small(members) or small(self.sizes[a] - members):
                    return False
        return True


def _unique(rows: list[list[int]]) -> list[list[int]]:
    return [list(r) for r in dict.fromkeys(tuple(r) for r in rows)]


def _null_space(rows: list[list[int]], width: int) -> list[list[int]]:
    """A basis of {x : row . x = 0 for every row}, exactly, each vector scaled to whole numbers."""
    matrix = [[Fraction(v) for v in row] for row in rows]
    pivots: list[int] = []
    r = 0
    for column in range(width):
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][column] != 0), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r][column]
        matrix[r] = [v / lead for v in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][column] != 0:
                factor = matrix[i][column]
                matrix[i] = [v - factor * w for v, w in zip(matrix[i], matrix[r], strict=True)]
        pivots.append(column)
        r += 1
        if r == len(matrix):
            break
    basis = []
    for f in (c for c in range(width) if c not in pivots):
        vector = [Fraction(0)] * width
        vector[f] = Fraction(1)
        for i, column in enumerate(pivots):
            vector[column] = -matrix[i][f]
        scale = math.lcm(*(v.denominator for v in vector))
        basis.append([int(v * scale) for v in vector])
    return basis
