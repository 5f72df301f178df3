"""Action learning sets: each cohort split into small groups, formed by CP-SAT.

A cohort with an `action_learning` session is split once into sets of ``SET_MIN`` to
``SET_MAX`` participants (as few sets as the sizes allow), and every action learning session
of the cohort meets in those same sets. The sets spread the cohort's service areas (and, less
strongly, its councils) as evenly as they can: per set and service area, each participant
beyond an even share (the area's size over the number of sets, rounded up) costs
``AREA_WEIGHT``, and per set and council ``COUNCIL_WEIGHT``. Two people with a conflict of
interest (conflicts.csv) are never in one set. Sets are labelled ``set-1``, ``set-2``, ... in
the order of their first participant id, so the labels do not depend on the solver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from cohort_solver.domain.scenario import LEARNING_SET_SIZES, Applicant, Scenario
from cohort_solver.stages.schedule.search import Search

SET_MIN, SET_MAX = LEARNING_SET_SIZES
AREA_WEIGHT = 10
COUNCIL_WEIGHT = 1

Sets = dict[str, tuple[tuple[str, ...], ...]]  # cohort -> its sets, each sorted, in label order


@dataclass(frozen=True)
class Formed:
    sets: Sets
    causes: list[str]  # cohorts that cannot be split into sets of SET_MIN..SET_MAX


def set_count(n: int) -> int | None:
    """As few sets as the sizes allow, or None if no number of sets can hold n people."""
    k = -(-n // SET_MAX)
    return k if n and k * SET_MIN <= n else None


def form_learning_sets(
    scenario: Scenario, members: Mapping[str, Sequence[str]], search: Search
) -> Formed:
    """The sets of every cohort whose programme has an action learning session."""
    if not any(s.kind == "action_learning" for s in scenario.programme):
        return Formed({}, [])
    applicants = {a.applicant_id: a for a in scenario.applicants}
    conflicts = {frozenset((c.person_a, c.person_b)) for c in scenario.conflicts}
    sets: Sets = {}
    causes = []
    track_of = scenario.cohort_tracks()
    learning = [s for s in scenario.programme if s.kind == "action_learning"]
    for cohort in sorted(members):
        if not any(scenario.track_holds(track_of.get(cohort), s) for s in learning):
            continue  # its track has no action learning
        people = sorted(members[cohort])
        k = set_count(len(people))
        if k is None:
            causes.append(
                f"cohort {cohort}: {len(people)} participants cannot be split into action "
                f"learning sets of {SET_MIN} to {SET_MAX}"
            )
            continue
        found = _solve(search, [applicants[p] for p in people], k, conflicts)
        if found is None:
            causes.append(
                f"cohort {cohort}: no split into {k} action learning set(s) of {SET_MIN} to "
                f"{SET_MAX} keeps apart every pair in conflicts.csv"
            )
            continue
        sets[cohort] = found
    return Formed(sets, causes)


def _area(a: Applicant) -> str:
    return f"{a.council}\x00{a.service_area}"


def _council(a: Applicant) -> str:
    return a.council


def _solve(
    search: Search, people: Sequence[Applicant], k: int, conflicts: set[frozenset[str]]
) -> tuple[tuple[str, ...], ...] | None:
    model = cp_model.CpModel()
    n = len(people)
    # Symmetry: participant i may only open set i at the latest (sets are interchangeable).
    x = [[model.new_bool_var(f"x{i}_{s}") for s in range(min(k, i + 1))] for i in range(n)]
    for row in x:
        model.add_exactly_one(row)
    for s in range(k):
        size = sum(x[i][s] for i in range(n) if s < len(x[i]))
        model.add_linear_constraint(size, SET_MIN, SET_MAX)
    for i in range(n):
        for j in range(i + 1, n):
            if frozenset((people[i].applicant_id, people[j].applicant_id)) in conflicts:
                for s in range(len(x[i])):
                    model.add_bool_or([x[i][s].Not(), x[j][s].Not()])
    model.minimize(_spread_terms(model, people, x, k))
    solved = search.until_found(model, search.effort(n * k, 4.0), retries=None)
    if not solved.found:
        return None
    groups = [
        [
            p.applicant_id
            for i, p in enumerate(people)
            if s < len(x[i]) and solved.solver.value(x[i][s])
        ]
        for s in range(k)
    ]
    if not solved.optimal:  # stopped at its effort: no single move or swap is left to gain
        _polish(people, groups, conflicts)
    return tuple(sorted(tuple(sorted(g)) for g in groups))


def spread_penalty(people: Sequence[Applicant], groups: Sequence[Sequence[str]]) -> int:
    """The model's objective, evaluated on a split."""
    by_id = {a.applicant_id: a for a in people}
    total = 0
    for weight, key in ((AREA_WEIGHT, _area), (COUNCIL_WEIGHT, _council)):
        share = {v: -(-n // len(groups)) for v, n in Counter(key(a) for a in people).items()}
        for group in groups:
            for v, n in Counter(key(by_id[p]) for p in group).items():
                total += weight * max(0, n - share[v])
    return total


def _polish(
    people: Sequence[Applicant], groups: list[list[str]], conflicts: set[frozenset[str]]
) -> None:
    """Apply improving moves of one participant, or swaps of two, between sets (in a fixed
    order, within the sizes, conflicts kept apart) until none is left."""
    now = spread_penalty(people, groups)
    improved = True
    while improved:
        improved = False
        for a, b, p, q in _changes(groups):
            trial = [list(g) for g in groups]
            trial[a].remove(p)
            trial[b].append(p)
            if q is not None:
                trial[b].remove(q)
                trial[a].append(q)
            if not all(SET_MIN <= len(g) <= SET_MAX and _apart(g, conflicts) for g in trial):
                continue
            value = spread_penalty(people, trial)
            if value < now:
                groups[:], now, improved = trial, value, True
                break


def _changes(groups: list[list[str]]) -> list[tuple[int, int, str, str | None]]:
    """Every move (p from set a to set b) and swap (p and q) between two sets."""
    out: list[tuple[int, int, str, str | None]] = []
    for a, mine in enumerate(groups):
        for b, theirs in enumerate(groups):
            if a != b:
                out += [(a, b, p, None) for p in mine]
                out += [(a, b, p, q) for p in mine for q in theirs if a < b]
    return out


def _apart(group: Sequence[str], conflicts: set[frozenset[str]]) -> bool:
    return not any(frozenset((p, q)) in conflicts for p in group for q in group if p < q)


def _spread_terms(
    model: cp_model.CpModel, people: Sequence[Applicant], x: list[list[cp_model.IntVar]], k: int
) -> cp_model.LinearExprT:
    terms: list[cp_model.LinearExprT] = []
    for weight, key in ((AREA_WEIGHT, _area), (COUNCIL_WEIGHT, _council)):
        values = Counter(key(a) for a in people)
        for value, count in sorted(values.items()):
            share = -(-count // k)
            mine = [i for i, a in enumerate(people) if key(a) == value]
            if count <= share:
                continue  # never above its share in any set
            for s in range(k):
                excess = model.new_int_var(0, count, f"excess_{weight}_{value}_{s}")
                model.add(excess >= sum(x[i][s] for i in mine if s < len(x[i])) - share)
                terms.append(weight * excess)
    return sum(terms)
