"""Job swaps: reciprocal by construction, cycles no longer than the scheme allows, exact
(brute force over every set of disjoint cycles on small schemes), every unpaired person named
with a reason, and re-checked by the independent checker."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver.checks.markets import check_swaps, swap_move_problem
from cohort_solver.domain.markets import (
    Exclusion,
    Ranking,
    SwapCandidate,
    SwapMarket,
    rank_points,
)
from cohort_solver.stages.match.markets.swaps import solve_swaps


def staff(pid: str, band: str = "6-7", **fields: str) -> SwapCandidate:
    return SwapCandidate.model_validate({"person_id": pid, "grade_band": band, **fields})


def wants(*rows: tuple[str, str, int]) -> tuple[Ranking, ...]:
    return tuple(Ranking(person_id=a, partner_id=b, rank=r) for a, b, r in rows)


def test_a_rotation_is_not_a_swap_unless_three_way_cycles_are_allowed() -> None:
    # The complaint: one-way matching gave rotations. A wants B's role, B wants C's,
    # C wants A's: no pair is reciprocal.
    people = (staff("A", team="t1"), staff("B", team="t2"), staff("C", team="t3"))
    rankings = wants(("A", "B", 1), ("B", "C", 1), ("C", "A", 1))
    pairs_only = SwapMarket("swaps", people, rankings)
    result = solve_swaps(pairs_only, workers=1)
    assert result.swaps == () and check_swaps(pairs_only, result) == []
    assert {u.reason for u in result.unpaired} == {
        "no swap of up to 2 people closes: those whose role they would take do not want theirs"
    }
    three = SwapMarket("swaps", people, rankings, cycle_length=3)
    result = solve_swaps(three, workers=1)
    assert [s.members for s in result.swaps] == [("A", "B", "C")]
    assert result.status == "optimal" and check_swaps(three, result) == []


def test_band_team_line_management_department_and_conflicts_rule_a_swap_out() -> None:
    people = (
        staff("A", team="t1", department="research"),
        staff("B", band="8", team="t2", department="research"),
        staff("C", team="t1", department="research"),
        staff("D", team="t3", department="research", line_manager_id="A"),
        staff("E", team="t4", department="finance"),
        staff("F", team="t5", department="research"),
    )
    everyone_wants_a = [(p.person_id, "A", 1) for p in people[1:]]
    a_wants_everyone = [("A", p.person_id, 1) for p in people[1:]]
    market = SwapMarket(
        "swaps",
        people,
        wants(*everyone_wants_a, *a_wants_everyone),
        (Exclusion(person_id="F", partner_id="A"),),
        same_department=True,
    )
    result = solve_swaps(market, workers=1)
    assert result.swaps == ()
    assert check_swaps(market, result) == []
    assert swap_move_problem(market, "B", "A") == "different grade bands"
    assert swap_move_problem(market, "C", "A") == "same team"
    assert swap_move_problem(market, "D", "A") == "line-management link"
    assert swap_move_problem(market, "E", "A") == "different departments"
    assert swap_move_problem(market, "F", "A") == "declared conflict"


def test_the_most_people_move_first_then_the_best_fit() -> None:
    # The three-way swap B->C->D->B fits best (5 + 3 + 5 = 13) but moves 3; A-B and C-D fit
    # 12 and move 4.
    people = tuple(staff(p, team=p) for p in "ABCD")
    rankings = wants(
        ("A", "B", 3), ("B", "A", 3), ("C", "D", 3), ("D", "C", 3), ("B", "C", 1), ("D", "B", 1)
    )
    market = SwapMarket("swaps", people, rankings, cycle_length=3)
    result = solve_swaps(market, workers=1)
    assert sorted(s.members for s in result.swaps) == [("A", "B"), ("C", "D")]
    assert (result.swapped, result.total_fit, result.status) == (4, 12, "optimal")
    assert check_swaps(market, result) == []


@st.composite
def swap_markets(draw: st.DrawFn) -> SwapMarket:
    ids = [f"s{i}" for i in range(draw(st.integers(2, 7)))]
    people = tuple(
        staff(
            pid,
            band=draw(st.sampled_from(["6", "6", "6", "7"])),
            team=draw(st.sampled_from(["", "", "x", "y", "z", "w"])),
            line_manager_id=draw(st.sampled_from(["", "", "", "", "", *ids[:2]])),
        )
        for pid in ids
    )
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from(ids)),
            min_size=2,
            max_size=24,
            unique=True,
        )
    )
    rankings = tuple(
        Ranking(person_id=a, partner_id=b, rank=draw(st.integers(1, 3))) for a, b in pairs
    )
    return SwapMarket("swaps", people, rankings, cycle_length=draw(st.sampled_from([2, 3])))


def brute_force(market: SwapMarket) -> tuple[int, int]:
    """The most people moved, then the most fit, over every set of disjoint cycles."""
    ids = [p.person_id for p in market.people]
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
    found = set()
    for size in range(2, market.cycle_length + 1):
        for cycle in itertools.permutations(ids, size):
            if cycle[0] != min(cycle):
                continue
            moves = [(cycle[i], cycle[(i + 1) % size]) for i in range(size)]
            if all(swap_move_problem(market, a, b) is None for a, b in moves):
                found.add((cycle, sum(rank_points(rank[m], market.ranks) for m in moves)))
    best = (0, 0)
    options = sorted(found)
    for k in range(len(options) + 1):
        for chosen in itertools.combinations(options, k):
            members = [p for cycle, _ in chosen for p in cycle]
            if len(members) == len(set(members)):
                best = max(best, (len(members), sum(f for _, f in chosen)))
    return best


SMALL = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SMALL
@given(swap_markets())
def test_swaps_are_the_brute_force_optimum_and_pass_the_checker(market: SwapMarket) -> None:
    result = solve_swaps(market, workers=1)
    assert check_swaps(market, result) == []
    assert result.status == "optimal"
    assert (result.swapped, result.total_fit) == brute_force(market)


@pytest.mark.slow
@SMALL
@given(swap_markets(), st.data())
def test_removing_someone_who_keeps_their_role_changes_nothing_in_the_optimum(
    market: SwapMarket, data: st.DataObject
) -> None:
    """What holds for swaps: removing an unpaired person leaves the optimum (people moved,
    fit) as it was, and removing a swapped person lowers the people moved by at most the size
    of their swap. (Who exactly is paired may change: ties between equal optima.)"""
    result = solve_swaps(market, workers=1)
    gone = data.draw(st.sampled_from([p.person_id for p in market.people]))
    rest = SwapMarket(
        market.name,
        tuple(p for p in market.people if p.person_id != gone),
        tuple(r for r in market.rankings if gone not in (r.person_id, r.partner_id)),
        cycle_length=market.cycle_length,
    )
    after = solve_swaps(rest, workers=1)
    own = next((s for s in result.swaps if gone in s.members), None)
    if own is None:
        assert (after.swapped, after.total_fit) == (result.swapped, result.total_fit)
    else:
        assert result.swapped - len(own.members) <= after.swapped <= result.swapped
