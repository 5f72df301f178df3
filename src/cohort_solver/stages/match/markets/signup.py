"""A sign-up scheme read three ways, each exact.

- max_fit: the largest matching, then the largest total fit (a min-cost max-flow).
- egalitarian: the largest matching, then the largest worst fit, then total fit (flows over
  the pairs at or above each threshold, searched by bisection).
- stable: mentee-proposing deferred acceptance with mentor capacities, the stable matching
  every mentee likes best.

Every unmatched person gets a reason in words. For the first two readings that reason is
Hall's condition: a set of mentees whose acceptable mentors have fewer places than they are.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Iterable

import numpy as np
from ortools.graph.python import min_cost_flow

from cohort_solver.domain.markets import (
    MarketResult,
    Pair,
    Reading,
    ReadingName,
    SignUpMarket,
    Unmatched,
)
from cohort_solver.errors import InternalError
from cohort_solver.stages.match.markets.book import Book, book

Assignment = dict[str, str]  # mentee -> mentor

SHOWN = 8  # ids named in a reason before "and N more"


def solve_signup(market: SignUpMarket) -> MarketResult:
    """The three readings of one scheme, the blocking pairs of the best-fit one, and the fit
    that stability costs."""
    pairs = book(market)
    best = max_fit(pairs)
    fair = egalitarian(pairs)
    stable = deferred_acceptance(pairs)
    readings = (
        reading("max_fit", pairs, best, hall_reasons(pairs, best)),
        reading("egalitarian", pairs, fair, hall_reasons(pairs, fair)),
        reading("stable", pairs, stable, stable_reasons(pairs, stable)),
    )
    return MarketResult(
        market=market.name,
        readings=readings,
        blocking_pairs=tuple(blocking_pairs(pairs, best)),
        stability_cost=readings[0].total_fit - readings[2].total_fit,
    )


def reading(
    name: ReadingName, pairs: Book, assignment: Assignment, unmatched: list[Unmatched]
) -> Reading:
    made = tuple(
        Pair(a, b, pairs.fit[a, b], pairs.rank.get((a, b)), pairs.rank.get((b, a)))
        for a, b in sorted(assignment.items())
    )
    fits = [p.fit for p in made]
    return Reading(name, made, tuple(unmatched), sum(fits), min(fits, default=None), True)


def _flow(pairs: Book, arcs: list[tuple[str, str]]) -> Assignment:
    """The largest matching over ``arcs``, and among those the largest total fit.

    Arcs go in sorted order, so the deterministic flow breaks ties the same way every run.
    """
    mentees = {a: 1 + i for i, a in enumerate(pairs.mentees)}
    mentors = {b: 1 + len(mentees) + j for j, b in enumerate(pairs.mentors)}
    sink = 1 + len(mentees) + len(mentors)
    tails = [0] * len(mentees) + [mentees[a] for a, _ in arcs] + list(mentors.values())
    heads = list(mentees.values()) + [mentors[b] for _, b in arcs] + [sink] * len(mentors)
    capacities = [1] * (len(mentees) + len(arcs)) + [pairs.capacity[b] for b in pairs.mentors]
    costs = [0] * len(mentees) + [-pairs.fit[arc] for arc in arcs] + [0] * len(mentors)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(capacities, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    # Max-flow-with-min-cost sends as much as it can from the supply to the demand node.
    flow.set_node_supply(0, len(mentees))
    flow.set_node_supply(sink, -len(mentees))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise InternalError(f"the min-cost flow of a sign-up scheme ended with status {status}")
    used = flow.flows(np.arange(len(mentees), len(mentees) + len(arcs), dtype=np.int64))
    return {arcs[k][0]: arcs[k][1] for k in np.flatnonzero(used).tolist()}


def max_fit(pairs: Book) -> Assignment:
    """The largest matching with the largest total fit."""
    return _flow(pairs, sorted(pairs.fit))


def egalitarian(pairs: Book) -> Assignment:
    """The largest matching whose worst fit is as high as it can be, then the largest total."""
    arcs = sorted(pairs.fit)
    size = len(_flow(pairs, arcs))
    levels = sorted(set(pairs.fit.values()))
    low, high = 0, len(levels) - 1  # levels[low] always keeps the largest matching
    while low < high:
        middle = (low + high + 1) // 2
        if len(_flow(pairs, [a for a in arcs if pairs.fit[a] >= levels[middle]])) == size:
            low = middle
        else:
            high = middle - 1
    floor = levels[low] if levels else 0
    return _flow(pairs, [a for a in arcs if pairs.fit[a] >= floor])


def deferred_acceptance(pairs: Book) -> Assignment:
    """Mentee-proposing deferred acceptance: each mentor holds its best proposals up to its
    capacity; the result is the stable matching every mentee weakly prefers to any other."""
    options = pairs.options()
    standing = {b: {a: k for k, a in enumerate(s)} for b, s in pairs.suitors().items()}
    held: dict[str, list[tuple[int, str]]] = defaultdict(list)  # max-heap by mentor's order
    proposals = dict.fromkeys(pairs.mentees, 0)
    free = deque(pairs.mentees)
    while free:
        a = free.popleft()
        if proposals[a] == len(options[a]):
            continue
        b = options[a][proposals[a]]
        proposals[a] += 1
        heapq.heappush(held[b], (-standing[b][a], a))
        if len(held[b]) > pairs.capacity[b]:
            free.append(heapq.heappop(held[b])[1])
    return {a: b for b, heap in held.items() for _, a in heap}


def blocking_pairs(pairs: Book, assignment: Assignment) -> list[tuple[str, str]]:
    """Acceptable (mentee, mentor) pairs who would both rather be together than as assigned."""
    taken: dict[str, list[str]] = defaultdict(list)
    for a, b in assignment.items():
        taken[b].append(a)
    worst = {b: max(pairs.order(b, a) for a in held) for b, held in taken.items()}
    found = []
    for a, b in sorted(pairs.fit):
        current = assignment.get(a)
        if current == b:
            continue
        if current is not None and pairs.order(a, current) < pairs.order(a, b):
            continue
        if len(taken[b]) < pairs.capacity[b] or pairs.order(b, a) < worst[b]:
            found.append((a, b))
    return found


def named(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def _alone(pairs: Book, person: str, side: str) -> str:
    needs = pairs.needs.get(person, ()) if side == "mentee" else ()
    need = f" (needs {', '.join(needs)})" if needs else ""
    other = "mentor" if side == "mentee" else "mentee"
    return (
        f"no acceptable {other}{need}: nobody they ranked, or who ranked them, passes the hard "
        "rules (not themself, not the same team, no line-management link, no declared "
        "conflict, the mentee's needs covered)"
    )


def hall_reasons(pairs: Book, assignment: Assignment) -> list[Unmatched]:
    """Why each person is unmatched in a largest matching.

    From the unmatched mentees, follow alternating paths (any acceptable mentor, then that
    mentor's mentees). Every mentor reached is full, or the matching would not be largest, so
    each connected part of what is reached is a set of mentees whose acceptable mentors have
    fewer places than they are: Hall's condition fails there.
    """
    options = pairs.options()
    taken: dict[str, list[str]] = defaultdict(list)
    for a, b in assignment.items():
        taken[b].append(a)
    lonely = [a for a in pairs.mentees if a not in assignment]
    part = connected_parts(options, taken, [a for a in lonely if options[a]])
    groups: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for node, root in part.items():
        side, person = node
        groups[root][0 if side == "mentee" else 1].add(person)
    words = {root: _hall_words(pairs, *group) for root, group in groups.items()}
    found = [
        Unmatched(
            a, "mentee", words[part["mentee", a]] if options[a] else _alone(pairs, a, "mentee")
        )
        for a in lonely
    ]
    suitors = pairs.suitors()
    for b in pairs.mentors:
        if b in taken or pairs.capacity[b] == 0:
            continue
        reason = (
            _alone(pairs, b, "mentor")
            if not suitors[b]
            else f"every mentee who could pair with them ({named(suitors[b])}) is paired "
            "already: no larger matching exists"
        )
        found.append(Unmatched(b, "mentor", reason))
    return found


def connected_parts(
    options: dict[str, list[str]], taken: dict[str, list[str]], starts: list[str]
) -> dict[tuple[str, str], tuple[str, str]]:
    """The connected parts of what alternating paths from ``starts`` reach: node -> root."""
    root: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        while root[node] != node:
            root[node] = root[root[node]]
            node = root[node]
        return node

    def join(x: tuple[str, str], y: tuple[str, str]) -> None:
        root.setdefault(y, y)
        rx, ry = find(x), find(y)
        if rx != ry:
            root[max(rx, ry)] = min(rx, ry)

    queue = deque(starts)
    for a in starts:
        root[("mentee", a)] = ("mentee", a)
    while queue:
        a = queue.popleft()
        for b in options[a]:
            fresh = ("mentor", b) not in root
            join(("mentee", a), ("mentor", b))
            if fresh:
                for other in taken[b]:
                    if ("mentee", other) not in root:
                        queue.append(other)
                    join(("mentor", b), ("mentee", other))
    return {node: find(node) for node in root}


def _hall_words(pairs: Book, mentees: set[str], mentors: set[str]) -> str:
    places = sum(pairs.capacity[b] for b in mentors)
    shared = set.intersection(*(set(pairs.needs.get(a, ())) for a in mentees))
    need = f" all need {', '.join(sorted(shared))} expertise and" if shared else ""
    return (
        f"these {len(mentees)} mentees ({named(mentees)}){need} can only be paired with "
        f"{len(mentors)} mentors ({named(mentors)}), who have {places} places between them"
    )


def stable_reasons(pairs: Book, assignment: Assignment) -> list[Unmatched]:
    """Why each person is unmatched in a stable matching: nobody acceptable would have them."""
    options = pairs.options()
    suitors = pairs.suitors()
    taken = set(assignment.values())
    found = [
        Unmatched(
            a,
            "mentee",
            "every acceptable mentor is full with mentees they rank higher"
            if options[a]
            else _alone(pairs, a, "mentee"),
        )
        for a in pairs.mentees
        if a not in assignment
    ]
    found += [
        Unmatched(
            b,
            "mentor",
            "every acceptable mentee is paired with a mentor they prefer"
            if suitors[b]
            else _alone(pairs, b, "mentor"),
        )
        for b in pairs.mentors
        if b not in taken and pairs.capacity[b] > 0
    ]
    return found
