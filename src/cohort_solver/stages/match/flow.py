"""The utilitarian optimum as min-cost flows, and Hall's condition when a flow falls short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow


def flow_side(
    ids: Sequence[str],
    options: Mapping[str, Mapping[str, int]],
    capacity: Mapping[str, int],
    keep: Mapping[str, str],
) -> dict[str, str] | None:
    """Max-weight complete assignment on one side (mentors or coaches), or None if none exists.

    Cost is lexicographic: first keep previous pairs, then fit. Arcs are added in sorted
    order, so the (deterministic) flow algorithm breaks ties the same way every run.
    """
    n = len(ids)
    resources = sorted(set().union(*(options[i].keys() for i in ids)))
    node = {r: n + 1 + k for k, r in enumerate(resources)}
    sink = n + 1 + len(resources)
    counts = np.fromiter((len(options[i]) for i in ids), dtype=np.int64, count=n)
    tails = np.repeat(np.arange(1, n + 1, dtype=np.int64), counts)
    heads = np.fromiter(
        map(node.__getitem__, chain.from_iterable(options[i].keys() for i in ids)),
        dtype=np.int64,
        count=len(tails),
    )
    fits = np.fromiter(
        chain.from_iterable(options[i].values() for i in ids), dtype=np.int64, count=len(tails)
    )
    big = 1 + sum(max(options[i].values(), default=0) for i in ids)
    kept = np.repeat(np.array([node.get(keep.get(i, ""), -1) for i in ids], dtype=np.int64), counts)
    costs = -(fits + big * (heads == kept))
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(
            [np.zeros(n, dtype=np.int64), tails, np.array(list(node.values()), dtype=np.int64)]
        ),
        np.concatenate(
            [
                np.arange(1, n + 1, dtype=np.int64),
                heads,
                np.full(len(resources), sink, dtype=np.int64),
            ]
        ),
        np.concatenate(
            [
                np.ones(n + len(tails), dtype=np.int64),
                np.array([capacity[r] for r in resources], dtype=np.int64),
            ]
        ),
        np.concatenate(
            [np.zeros(n, dtype=np.int64), costs, np.zeros(len(resources), dtype=np.int64)]
        ),
    )
    flow.set_node_supply(0, n)
    flow.set_node_supply(sink, -n)
    if flow.solve() != flow.OPTIMAL:
        return None
    # Arcs n .. n+len(tails) are the participant -> resource arcs, in the order added.
    used = np.flatnonzero(flow.flows(arcs[n : n + len(tails)]))
    chosen = {ids[tails[a] - 1]: resources[heads[a] - n - 1] for a in used.tolist()}
    return chosen


def hall_violation(
    ids: Sequence[str], options: Mapping[str, Mapping[str, int]], capacity: Mapping[str, int]
) -> tuple[list[str], list[str], int] | None:
    """Participants who, together, need more places than their lawful options offer.

    The source side of a minimum cut gives the tightest such group (Hall's theorem).
    """
    resources = sorted({r for i in ids for r in options[i]})
    node = {r: len(ids) + 1 + k for k, r in enumerate(resources)}
    sink = len(ids) + 1 + len(resources)
    tails = (
        [0] * len(ids)
        + [k + 1 for k, i in enumerate(ids) for _ in options[i]]
        + [node[r] for r in resources]
    )
    heads = (
        [k + 1 for k in range(len(ids))]
        + [node[r] for i in ids for r in options[i]]
        + [sink] * len(resources)
    )
    caps = (
        [1] * len(ids)
        + [len(ids) + 1] * (len(tails) - len(ids) - len(resources))
        + [capacity[r] for r in resources]
    )
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(caps, dtype=np.int64),
    )
    flow.solve(0, sink)
    if flow.optimal_flow() >= len(ids):
        return None
    side = set(flow.get_source_side_min_cut())
    group = [i for k, i in enumerate(ids) if k + 1 in side]
    offered = [r for r in resources if node[r] in side]
    return group, offered, len(ids) - flow.optimal_flow()
