"""Sign-up schemes: three readings, each proven, re-checked by the independent checker, by
brute force on small schemes, and (stable) by the `matching` package's deferred acceptance."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from cohort_solver.checks.markets import _Rules, blocking_pairs, check_market
from cohort_solver.domain.markets import (
    Exclusion,
    MarketResult,
    Pair,
    Ranking,
    Reading,
    ReadingName,
    SignUp,
    SignUpMarket,
)
from cohort_solver.stages.match.markets.signup import solve_signup


def person(pid: str, role: str, **fields: object) -> SignUp:
    return SignUp.model_validate({"person_id": pid, "role": role, **fields})


def ranks(*rows: tuple[str, str, int]) -> tuple[Ranking, ...]:
    return tuple(Ranking(person_id=a, partner_id=b, rank=r) for a, b, r in rows)


def pairs_of(result: MarketResult, reading: ReadingName) -> dict[str, str]:
    return {p.mentee: p.mentor for p in result.reading(reading).pairs}


# ---- the hard rules ----------------------------------------------------------------------


def test_someone_on_both_sides_is_never_their_own_mentor() -> None:
    market = SignUpMarket(
        "mentoring",
        (person("ana", "both"), person("ben", "mentee"), person("cy", "mentor")),
        ranks(("ana", "ana", 1), ("ben", "ana", 1), ("ana", "cy", 2)),
        open=True,
    )
    result = solve_signup(market)
    assert check_market(market, result) == []
    for reading in result.readings:
        assert all(p.mentee != p.mentor for p in reading.pairs)
    assert pairs_of(result, "max_fit") == {"ana": "cy", "ben": "ana"}


def test_team_line_chain_and_declared_conflicts_are_never_paired() -> None:
    market = SignUpMarket(
        "mentoring",
        (
            person("boss", "mentor", capacity=3),
            person("mid", "both", line_manager_id="boss"),
            person("junior", "mentee", line_manager_id="mid", team="grants"),
            person("peer", "mentor", team="grants"),
            person("far", "mentor"),
        ),
        exclusions=(Exclusion(person_id="far", partner_id="junior"),),
        open=True,
    )
    result = solve_signup(market)
    assert check_market(market, result) == []
    # junior: boss is up the chain, mid manages them, peer shares the team, far is a conflict
    assert "junior" not in pairs_of(result, "max_fit")
    reason = next(u for u in result.reading("max_fit").unmatched if u.person_id == "junior")
    assert reason.reason.startswith("no acceptable mentor")


def test_a_closed_scheme_pairs_only_people_one_of_whom_ranked_the_other() -> None:
    market = SignUpMarket(
        "mentoring",
        (person("m1", "mentee"), person("m2", "mentee"), person("t1", "mentor", capacity=2)),
        ranks(("m1", "t1", 1)),
    )
    result = solve_signup(market)
    assert pairs_of(result, "max_fit") == {"m1": "t1"}
    assert check_market(market, result) == []


# ---- partial matching and Hall's condition -----------------------------------------------


def test_seven_mentees_needing_finance_and_four_places_are_named_with_the_reason() -> None:
    mentees = [person(f"e{i}", "mentee", needs=("finance",)) for i in range(1, 8)]
    mentors = [
        person("f1", "mentor", capacity=3, expertise=("finance", "hr")),
        person("f2", "mentor", capacity=1, expertise=("finance",)),
        person("h1", "mentor", capacity=5, expertise=("hr",)),
    ]
    market = SignUpMarket("mentoring", (*mentees, *mentors), open=True)
    result = solve_signup(market)
    assert check_market(market, result) == []
    best = result.reading("max_fit")
    assert len(best.pairs) == 4
    lonely = [u for u in best.unmatched if u.side == "mentee"]
    assert len(lonely) == 3
    assert lonely[0].reason == (
        "these 7 mentees (e1, e2, e3, e4, e5, e6, e7) all need finance expertise and can only "
        "be paired with 2 mentors (f1, f2), who have 4 places between them"
    )
    h1 = next(u for u in best.unmatched if u.person_id == "h1")
    assert h1.reason.startswith("no acceptable mentee")


def test_one_mentor_short_still_pairs_everyone_else() -> None:
    market = SignUpMarket(
        "mentoring",
        (
            person("a", "mentee"),
            person("b", "mentee"),
            person("c", "mentee"),
            person("x", "mentor", capacity=2),
        ),
        open=True,
    )
    result = solve_signup(market)
    assert len(result.reading("max_fit").pairs) == 2
    assert check_market(market, result) == []


# ---- three readings side by side ---------------------------------------------------------


def test_stability_has_a_price_and_the_best_fit_has_blocking_pairs() -> None:
    # a and b both want x first; x prefers b. Max fit gives x to a (a ranks nobody else
    # acceptably well), stability gives x to b.
    market = SignUpMarket(
        "mentoring",
        (
            person("a", "mentee"),
            person("b", "mentee"),
            person("x", "mentor"),
            person("y", "mentor"),
        ),
        ranks(
            ("a", "x", 1), ("b", "x", 1), ("b", "y", 2), ("x", "b", 1), ("x", "a", 2), ("a", "y", 3)
        ),
    )
    result = solve_signup(market)
    assert check_market(market, result) == []
    stable = pairs_of(result, "stable")
    assert stable == {"b": "x", "a": "y"}
    assert (
        result.stability_cost
        == result.reading("max_fit").total_fit - result.reading("stable").total_fit
    )
    assert result.stability_cost >= 0


# ---- brute force and a second implementation ---------------------------------------------


@st.composite
def markets(draw: st.DrawFn) -> SignUpMarket:
    ids = [f"p{i}" for i in range(draw(st.integers(2, 6)))]
    people = []
    for pid in ids:
        people.append(
            person(
                pid,
                draw(st.sampled_from(["mentee", "mentor", "both"])),
                capacity=draw(st.integers(0, 2)),
                team=draw(st.sampled_from(["", "", "A", "B"])),
                line_manager_id=draw(st.sampled_from(["", "", *ids])),
                needs=tuple(draw(st.sets(st.sampled_from(["fin", "hr"]), max_size=1))),
                expertise=tuple(sorted(draw(st.sets(st.sampled_from(["fin", "hr"]))))),
            )
        )
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=12, unique=True)
    )
    rankings = tuple(
        Ranking(person_id=a, partner_id=b, rank=draw(st.integers(1, 4))) for a, b in pairs
    )
    conflicts = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=2))
    exclusions = tuple(Exclusion(person_id=a, partner_id=b) for a, b in conflicts)
    return SignUpMarket("m", tuple(people), rankings, exclusions, open=draw(st.booleans()))


def every_matching(market: SignUpMarket) -> list[dict[str, str]]:
    """Every matching that keeps the hard rules and capacities, by enumeration."""
    rules = _Rules(market)
    mentees = [p.person_id for p in market.people if p.mentee]
    mentors = [p.person_id for p in market.people if p.mentor]
    choices = [[None, *[b for b in mentors if rules.acceptable(a, b)]] for a in mentees]
    found = []
    for picked in itertools.product(*choices):
        load = Counter(b for b in picked if b)
        if all(n <= rules.people[b].capacity for b, n in load.items()):
            found.append({a: b for a, b in zip(mentees, picked, strict=True) if b})
    return found


SMALL = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SMALL
@given(markets())
def test_every_reading_is_the_brute_force_optimum_and_passes_the_checker(
    market: SignUpMarket,
) -> None:
    result = solve_signup(market)
    assert check_market(market, result) == []
    rules = _Rules(market)
    options = every_matching(market)

    def fits(m: dict[str, str]) -> list[int]:
        return [rules.fit(a, b) for a, b in m.items()]

    best = max((len(m), sum(fits(m))) for m in options)
    fair = max((len(m), min(fits(m), default=0), sum(fits(m))) for m in options)
    got = result.reading("max_fit")
    assert (len(got.pairs), got.total_fit) == best
    eg = result.reading("egalitarian")
    assert (len(eg.pairs), eg.worst_fit or 0, eg.total_fit) == fair


@pytest.mark.slow
@SMALL
@given(markets())
def test_stable_is_mentee_optimal_among_every_stable_matching(market: SignUpMarket) -> None:
    result = solve_signup(market)
    rules = _Rules(market)
    mine = pairs_of(result, "stable")
    stable_ones = []
    for m in every_matching(market):
        reading = _as_reading(m, rules)
        if not blocking_pairs(market, reading):
            stable_ones.append(m)
    assert mine in stable_ones
    for other in stable_ones:
        for a, b in other.items():
            assert a in mine
            assert mine[a] == b or rules.prefers(a, mine[a], b)


def _as_reading(m: dict[str, str], rules: _Rules) -> Reading:
    made = tuple(Pair(a, b, rules.fit(a, b), None, None) for a, b in m.items())
    return Reading("stable", made, (), 0, None, True)


def _preference_lists(market: SignUpMarket) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    rules = _Rules(market)
    mentees = [p.person_id for p in market.people if p.mentee]
    mentors = [p.person_id for p in market.people if p.mentor]

    def ordered(person: str, partners: list[str]) -> list[str]:
        def key(x: str) -> tuple[int, int, str]:
            given = rules.rank.get((person, x))
            return (0, given, x) if given is not None else (1, 0, x)

        return sorted(partners, key=key)

    mentee_lists = {a: ordered(a, [b for b in mentors if rules.acceptable(a, b)]) for a in mentees}
    mentor_lists = {b: ordered(b, [a for a in mentees if rules.acceptable(a, b)]) for b in mentors}
    return mentee_lists, mentor_lists


@pytest.mark.slow
@SMALL
@given(markets())
def test_stable_agrees_with_the_matching_package(market: SignUpMarket) -> None:
    mentee_lists, mentor_lists = _preference_lists(market)
    # The package needs every player to rank someone; people who rank nobody stay alone.
    residents = {f"R{a}": [f"H{b}" for b in bs] for a, bs in mentee_lists.items() if bs}
    hospitals = {
        f"H{b}": [f"R{a}" for a in as_ if f"R{a}" in residents] for b, as_ in mentor_lists.items()
    }
    hospitals = {h: rs for h, rs in hospitals.items() if rs}
    residents = {r: [h for h in hs if h in hospitals] for r, hs in residents.items()}
    residents = {r: hs for r, hs in residents.items() if hs}
    theirs: dict[str, str] = {}
    if residents:
        people = {p.person_id: p for p in market.people}
        capacities = {h: max(people[h[1:]].capacity, 1) for h in hospitals}
        game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
        for hospital, taken in game.solve(optimal="resident").items():
            for resident in taken:
                theirs[str(resident)[1:]] = str(hospital)[1:]
    assert pairs_of(solve_signup(market), "stable") == theirs


@pytest.mark.slow
@SMALL
@given(markets(), st.data())
def test_adding_an_acceptable_partner_never_lowers_the_best_fit(
    market: SignUpMarket, data: st.DataObject
) -> None:
    rules = _Rules(market)
    mentees = [p.person_id for p in market.people if p.mentee]
    mentors = [p.person_id for p in market.people if p.mentor]
    closed = SignUpMarket(
        market.name, market.people, market.rankings, market.exclusions, open=False
    )
    closed_rules = _Rules(closed)
    new = [
        (a, b)
        for a in mentees
        for b in mentors
        if closed_rules.broken(rules.people[a], rules.people[b])
        == "neither ranked the other in a closed scheme"
    ]
    if not new:
        return
    a, b = data.draw(st.sampled_from(new))
    wider = SignUpMarket(
        market.name,
        market.people,
        (
            *market.rankings,
            Ranking(person_id=a, partner_id=b, rank=data.draw(st.integers(1, 4))),
        ),
        market.exclusions,
        open=False,
    )
    before = solve_signup(closed).reading("max_fit")
    after = solve_signup(wider).reading("max_fit")
    assert (len(after.pairs), after.total_fit) >= (len(before.pairs), before.total_fit)


def test_the_checker_catches_a_self_pair_and_a_blocking_pair() -> None:
    from dataclasses import replace

    market = SignUpMarket(
        "m", (person("a", "both"), person("x", "mentor")), ranks(("a", "x", 1)), open=True
    )
    result = solve_signup(market)
    stable = result.reading("stable")
    bad = replace(stable, pairs=(Pair("a", "a", 0, None, None),), unmatched=())
    broken = replace(result, readings=(result.readings[0], result.readings[1], bad))
    problems = check_market(market, broken)
    assert any("themself" in p for p in problems)
    assert any("block" in p for p in problems)


@pytest.mark.parametrize("reading", ["max_fit", "egalitarian", "stable"])
def test_same_scheme_same_answer(reading: ReadingName) -> None:
    market = SignUpMarket(
        "m",
        tuple(person(f"p{i}", "both", capacity=1 + i % 2) for i in range(12)),
        open=True,
    )
    assert solve_signup(market).reading(reading) == solve_signup(market).reading(reading)


@pytest.mark.slow
@SMALL
@given(markets(), st.data())
def test_the_price_explain_gives_for_a_pair_is_the_brute_force_best_with_that_pair(
    market: SignUpMarket, data: st.DataObject
) -> None:
    from cohort_solver.stages.match.markets.book import book
    from cohort_solver.stages.match.markets.explain import _forced

    pairs = book(market)
    if not pairs.fit:
        return
    a, b = data.draw(st.sampled_from(sorted(pairs.fit)))
    rules = _Rules(market)
    best = max(
        (len(m), sum(rules.fit(x, y) for x, y in m.items()))
        for m in every_matching(market)
        if m.get(a) == b
    )
    assert _forced(pairs, a, b) == best
