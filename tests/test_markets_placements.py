"""Placements: participants rank host placements, hosts may rank them back. Two readings,
max_fit (most placed, then best fit) and stable (participant-proposing deferred acceptance),
re-checked by the independent checker, by brute force on small schemes, and (stable) by the
`matching` package's deferred acceptance. Then `match` writes NAME.csv, and bad tables are
exit 2 at file:row:column."""

from __future__ import annotations

import csv
import itertools
import random
import re
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from cohort_solver.checks.markets import (
    check_placements,
    placement_blocking_pairs,
    placement_problem,
)
from cohort_solver.cli import main
from cohort_solver.domain.markets import (
    Pair,
    Placement,
    PlacementCandidate,
    PlacementMarket,
    PlacementResult,
    Ranking,
    Reading,
    ReadingName,
)
from cohort_solver.stages.load.markets import load_markets
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.markets.explain import explain_placement
from cohort_solver.stages.match.markets.placements import solve_placements


def candidate(pid: str, band: str = "6", **fields: object) -> PlacementCandidate:
    return PlacementCandidate.model_validate({"person_id": pid, "grade_band": band, **fields})


def placement(pid: str, **fields: object) -> Placement:
    return Placement.model_validate({"placement_id": pid, **fields})


def ranks(*rows: tuple[str, str, int]) -> tuple[Ranking, ...]:
    return tuple(Ranking(person_id=a, partner_id=b, rank=r) for a, b, r in rows)


def placed(result: PlacementResult, reading: ReadingName) -> dict[str, str]:
    return {p.mentee: p.mentor for p in result.reading(reading).pairs}


def reason(result: PlacementResult, reading: ReadingName, person: str) -> str:
    return next(u.reason for u in result.reading(reading).unmatched if u.person_id == person)


# ---- the requirements ----------------------------------------------------------------------


def test_grade_band_skills_location_and_dates_are_each_required() -> None:
    people = (
        candidate("band", "8"),
        candidate("skill", skills=("finance",)),
        candidate("place", skills=("finance", "audit"), locations=("Stafford",)),
        candidate("dates", skills=("finance", "audit"), available_to=date(2025, 3, 1)),
        candidate("fits", skills=("audit", "finance")),
    )
    host = placement(
        "P1",
        capacity=5,
        grade_bands=("6", "7"),
        skills=("finance", "audit"),
        location="Stoke",
        start=date(2025, 1, 6),
        end=date(2025, 6, 30),
    )
    market = PlacementMarket(
        "placements", people, (host,), ranks(*[(p.person_id, "P1", 1) for p in people])
    )
    result = solve_placements(market)
    assert check_placements(market, result) == []
    assert placed(result, "max_fit") == {"fits": "P1"} == placed(result, "stable")
    for who in ("band", "skill", "place", "dates"):
        assert reason(result, "max_fit", who).startswith("no acceptable placement")
    assert placement_problem(market, "band", "P1") == "grade band"
    assert placement_problem(market, "skill", "P1") == "skills"
    assert placement_problem(market, "place", "P1") == "location"
    assert placement_problem(market, "dates", "P1") == "dates"


def test_a_participant_takes_only_a_placement_they_ranked() -> None:
    market = PlacementMarket(
        "placements",
        (candidate("a"), candidate("b")),
        (placement("P1", capacity=2),),
        ranks(("a", "P1", 1), ("P1", "b", 1)),
    )
    result = solve_placements(market)
    assert check_placements(market, result) == []
    assert placed(result, "max_fit") == {"a": "P1"}


def test_hall_names_the_participants_who_compete_for_too_few_places() -> None:
    people = tuple(candidate(f"c{i}") for i in range(5))
    market = PlacementMarket(
        "placements",
        people,
        (placement("P1", capacity=2), placement("P2", capacity=1), placement("P3")),
        ranks(
            *[(f"c{i}", "P1", 1) for i in range(5)],
            *[(f"c{i}", "P2", 2) for i in range(4)],
            ("c4", "P3", 2),
        ),
    )
    result = solve_placements(market)
    assert check_placements(market, result) == []
    assert len(placed(result, "max_fit")) == 4
    unplaced = [u for u in result.reading("max_fit").unmatched if u.side == "mentee"]
    assert len(unplaced) == 1
    assert unplaced[0].reason == (
        "these 4 participants (c0, c1, c2, c3) can only take 2 placements (P1, P2), "
        "which have 3 places between them"
    )


def test_hosts_preferences_decide_the_stable_reading_and_stability_has_a_price() -> None:
    # a and b both want P1 first; P1's host prefers b. b's only other choice is nothing, a's
    # is P2: max_fit and stable agree here, but flip the host and stable keeps b out.
    people = (candidate("a"), candidate("b"))
    offered = (placement("P1"), placement("P2"))
    market = PlacementMarket(
        "placements",
        people,
        offered,
        ranks(("a", "P1", 1), ("a", "P2", 2), ("b", "P1", 1), ("P1", "a", 1), ("P1", "b", 2)),
    )
    result = solve_placements(market)
    assert check_placements(market, result) == []
    assert placed(result, "stable") == {"a": "P1"}
    assert placed(result, "max_fit") == {"a": "P2", "b": "P1"}
    assert result.blocking_pairs == (("a", "P1"),)
    assert (
        result.stability_cost
        == result.reading("max_fit").total_fit - result.reading("stable").total_fit
    )
    assert result.stability_cost > 0
    assert reason(result, "stable", "b") == (
        "every acceptable placement is full with participants its host ranks higher"
    )


def test_the_checker_catches_an_overfull_placement_and_a_blocking_pair() -> None:
    market = PlacementMarket(
        "placements",
        (candidate("a"), candidate("b")),
        (placement("P1"), placement("P2")),
        ranks(("a", "P1", 1), ("b", "P1", 1), ("b", "P2", 2)),
    )
    result = solve_placements(market)
    assert check_placements(market, result) == []
    best = result.reading("max_fit")
    both = tuple(Pair(a, "P1", 10, 1, None) for a in ("a", "b"))
    crowded = replace(result, readings=(replace(best, pairs=both), result.readings[1]))
    assert any("takes 2 for 1 places" in p for p in check_placements(market, crowded))
    nobody = replace(result, readings=(best, replace(result.readings[1], pairs=())))
    assert any("block it" in p for p in check_placements(market, nobody))


# ---- brute force and properties -------------------------------------------------------------


@st.composite
def markets(draw: st.DrawFn) -> PlacementMarket:
    people = tuple(
        candidate(
            f"c{i}",
            draw(st.sampled_from(["6", "7"])),
            skills=tuple(sorted(draw(st.sets(st.sampled_from(["fin", "hr"]))))),
            locations=tuple(draw(st.sets(st.sampled_from(["N", "S"]), max_size=1))),
            available_to=draw(st.sampled_from([None, date(2025, 6, 1)])),
        )
        for i in range(draw(st.integers(1, 5)))
    )
    offered = tuple(
        placement(
            f"P{j}",
            capacity=draw(st.integers(0, 2)),
            grade_bands=tuple(draw(st.sets(st.sampled_from(["6", "7"]), max_size=1))),
            skills=tuple(draw(st.sets(st.sampled_from(["fin", "hr"]), max_size=1))),
            location=draw(st.sampled_from(["", "N", "S"])),
            end=draw(st.sampled_from([None, date(2025, 3, 1), date(2025, 9, 1)])),
        )
        for j in range(draw(st.integers(1, 4)))
    )
    pairs = [(a.person_id, b.placement_id) for a in people for b in offered]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=10))
    host = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=6))
    rows = [(a, b, draw(st.integers(1, 4))) for a, b in chosen]
    rows += [(b, a, draw(st.integers(1, 4))) for a, b in host]
    return PlacementMarket("m", people, offered, ranks(*rows))


def acceptable(market: PlacementMarket) -> dict[str, list[str]]:
    return {
        a.person_id: [
            b.placement_id
            for b in market.placements
            if placement_problem(market, a.person_id, b.placement_id) is None
        ]
        for a in market.people
    }


def every_allocation(market: PlacementMarket) -> list[dict[str, str]]:
    """Every allocation that keeps the requirements and the capacities, by enumeration."""
    capacity = {b.placement_id: b.capacity for b in market.placements}
    options = acceptable(market)
    ids = list(options)
    found = []
    for picked in itertools.product(*[[None, *options[a]] for a in ids]):
        load = Counter(b for b in picked if b)
        if all(n <= capacity[b] for b, n in load.items()):
            found.append({a: b for a, b in zip(ids, picked, strict=True) if b})
    return found


def fit_of(market: PlacementMarket, allocation: dict[str, str]) -> int:
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
    points = [rank.get(k) for a, b in allocation.items() for k in ((a, b), (b, a))]
    return sum(0 if r is None else max(market.ranks + 1 - r, 1) for r in points)


def _as_reading(allocation: dict[str, str]) -> Reading:
    made = tuple(Pair(a, b, 0, None, None) for a, b in allocation.items())
    return Reading("stable", made, (), 0, None, True)


def _prefers(market: PlacementMarket, who: str, x: str, y: str) -> bool:
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}

    def key(other: str) -> tuple[int, int, str]:
        given = rank.get((who, other))
        return (0, given, other) if given is not None else (1, 0, other)

    return key(x) < key(y)


SMALL = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SMALL
@given(markets())
def test_max_fit_is_the_brute_force_optimum_and_both_readings_pass_the_checker(
    market: PlacementMarket,
) -> None:
    result = solve_placements(market)
    assert check_placements(market, result) == []
    best = max((len(m), fit_of(market, m)) for m in every_allocation(market))
    got = result.reading("max_fit")
    assert (len(got.pairs), got.total_fit) == best


@pytest.mark.slow
@SMALL
@given(markets())
def test_stable_is_participant_optimal_among_every_stable_allocation(
    market: PlacementMarket,
) -> None:
    mine = placed(solve_placements(market), "stable")
    stable_ones = [
        m for m in every_allocation(market) if not placement_blocking_pairs(market, _as_reading(m))
    ]
    assert mine in stable_ones
    for other in stable_ones:
        for a, b in other.items():
            assert a in mine  # the rural hospitals theorem: the same people are placed
            assert mine[a] == b or _prefers(market, a, mine[a], b)


@pytest.mark.slow
@SMALL
@given(markets())
def test_stable_agrees_with_the_matching_package(market: PlacementMarket) -> None:
    options = acceptable(market)
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}

    def key(who: str, other: str) -> tuple[int, int, str]:
        given = rank.get((who, other))
        return (0, given, other) if given is not None else (1, 0, other)

    ordered = {a: sorted(bs, key=lambda b, a=a: key(a, b)) for a, bs in options.items()}
    residents = {f"R{a}": [f"H{b}" for b in bs] for a, bs in ordered.items() if bs}
    hospitals = {
        f"H{b.placement_id}": [
            f"R{a}"
            for a in sorted(options, key=lambda a, b=b: key(b.placement_id, a))
            if b.placement_id in options[a]
        ]
        for b in market.placements
    }
    hospitals = {h: rs for h, rs in hospitals.items() if rs}
    theirs: dict[str, str] = {}
    if residents:
        capacity = {f"H{b.placement_id}": b.capacity for b in market.placements}
        game = HospitalResident.create_from_dictionaries(
            residents, hospitals, {h: capacity[h] for h in hospitals}
        )
        for hospital, taken in game.solve(optimal="resident").items():
            for resident in taken:
                theirs[str(resident)[1:]] = str(hospital)[1:]
    assert placed(solve_placements(market), "stable") == theirs


@pytest.mark.slow
@SMALL
@given(markets(), st.data())
def test_adding_an_acceptable_placement_never_lowers_the_optimum(
    market: PlacementMarket, data: st.DataObject
) -> None:
    ranked = {(r.person_id, r.partner_id) for r in market.rankings}
    unranked = [
        (a.person_id, b.placement_id)
        for a in market.people
        for b in market.placements
        if (a.person_id, b.placement_id) not in ranked
    ]
    if not unranked:
        return
    a, b = data.draw(st.sampled_from(unranked))
    wider = replace(
        market,
        rankings=(
            *market.rankings,
            Ranking(person_id=a, partner_id=b, rank=data.draw(st.integers(1, 4))),
        ),
    )
    before = solve_placements(market).reading("max_fit")
    after = solve_placements(wider).reading("max_fit")
    assert (len(after.pairs), after.total_fit) >= (len(before.pairs), before.total_fit)


def test_same_scheme_same_answer() -> None:
    market = PlacementMarket(
        "placements",
        tuple(candidate(f"c{i}") for i in range(6)),
        (placement("P1", capacity=2), placement("P2", capacity=2)),
        ranks(*[(f"c{i}", p, 1) for i in range(6) for p in ("P1", "P2")]),
    )
    assert solve_placements(market) == solve_placements(market)


# ---- match writes NAME.csv; bad tables are exit 2 -------------------------------------------

PLACEMENT_TOML = """
[[markets]]
name = "placements"
kind = "placement"
signups = "placement_candidates"
placements = "placement_hosts"
rankings = "placement_rankings"
"""

CANDIDATES = """person_id,name,grade_band,skills,locations,available_from,available_to
N1,Asha,8a,leadership;finance,Stafford;Stoke,2025-01-01,2025-12-31
N2,Bill,8a,leadership,Stoke,,
N3,Cara,7,leadership,,,
"""

HOSTS = """placement_id,name,host,capacity,grade_bands,skills,location,start,end
H1,Finance secondment,Trust board,1,8a;8b,finance,Stafford,2025-02-01,2025-07-31
H2,Community care,Leek hospital,1,,leadership,Stoke,2025-03-01,2025-08-31
"""

RANKINGS = """person_id,partner_id,rank
N1,H1,1
N1,H2,2
N2,H2,1
N3,H2,1
H2,N3,1
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def with_placements(folder: Path, rankings: str = RANKINGS, hosts: str = HOSTS) -> Path:
    (folder / "scenario.toml").write_text((folder / "scenario.toml").read_text() + PLACEMENT_TOML)
    (folder / "placement_candidates.csv").write_text(CANDIDATES)
    (folder / "placement_hosts.csv").write_text(hosts)
    (folder / "placement_rankings.csv").write_text(rankings)
    return folder


def test_match_writes_placements_csv_and_leaves_matches_csv_unchanged(
    oxford: Path, tmp_path: Path
) -> None:
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "plain"))
    assert code == 0, output
    with_placements(oxford)
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "placements: max_fit 2 pairs" in output
    out = tmp_path / "out"
    assert (out / "matches.csv").read_bytes() == (tmp_path / "plain" / "matches.csv").read_bytes()
    rows = list(csv.DictReader((out / "placements.csv").open()))
    assert list(rows[0]) == [
        "reading",
        "person_id",
        "placement_id",
        "fit",
        "person_rank",
        "host_rank",
        "reason",
    ]
    stable = {r["person_id"]: r["placement_id"] for r in rows if r["reading"] == "stable"}
    # H2's host ranks N3 first, so N3 holds H2 against N2; N1 takes their first choice H1.
    assert stable == {"N1": "H1", "N3": "H2", "N2": ""}
    n2 = next(r for r in rows if r["reading"] == "stable" and r["person_id"] == "N2")
    assert n2["reason"].startswith("unplaced: every acceptable placement is full")
    market = load_markets(load_scenario(oxford))[0]
    assert isinstance(market, PlacementMarket)
    assert check_placements(market, solve_placements(market)) == []


def test_bad_placement_tables_are_exit_2_at_their_cells(oxford: Path, tmp_path: Path) -> None:
    hosts = HOSTS + "N2,Clash,Trust,1,,,,2025-05-01,2025-04-01\n"
    with_placements(oxford, RANKINGS + "N1,N2,3\nN1,H9,4\n", hosts)
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert "placement_hosts.csv:4:1: placement_id: 'N2' is also a participant's id" in output
    assert "placement_hosts.csv:4:9: end: 2025-04-01 is before 2025-05-01" in output
    assert "placement_rankings.csv:7:2: partner_id: N1 and N2 are not a participant" in output
    assert "placement_rankings.csv:8:2: partner_id: 'H9' has not signed up" in output
    assert not (tmp_path / "out").exists()


def test_a_placement_market_needs_its_hosts_table(oxford: Path) -> None:
    with_placements(oxford)
    toml = oxford / "scenario.toml"
    toml.write_text(toml.read_text().replace('placements = "placement_hosts"\n', ""))
    code, output = invoke("validate", str(oxford))
    assert code == 2, output
    assert "placements = TABLE is required for, and only for, kind = placement" in output


def _random_scheme(people: int, places: int, seed: int) -> PlacementMarket:
    rng = random.Random(seed)
    bands, towns, skills = ("6", "7", "8a"), ("Stafford", "Stoke", "Leek"), ("fin", "hr", "it")
    candidates = tuple(
        candidate(
            f"N{i:04d}",
            rng.choice(bands),
            skills=tuple(sorted(rng.sample(skills, 2))),
            locations=tuple(sorted(rng.sample(towns, 2))),
            available_to=date(2025, 6, 30) if rng.random() < 0.2 else None,
        )
        for i in range(people)
    )
    hosts = tuple(
        placement(
            f"H{j:04d}",
            capacity=rng.randint(0, 3),
            grade_bands=tuple(sorted(rng.sample(bands, 2))),
            skills=(rng.choice(skills),) if rng.random() < 0.5 else (),
            location=rng.choice(towns),
            end=date(2025, 9, 30) if rng.random() < 0.3 else date(2025, 5, 30),
        )
        for j in range(places)
    )
    ids = [h.placement_id for h in hosts]
    rows = [(c.person_id, h, r) for c in candidates for r, h in enumerate(rng.sample(ids, 5), 1)]
    rows += [(h, c.person_id, r) for h in ids for r, c in enumerate(rng.sample(candidates, 3), 1)]
    return PlacementMarket("placements", candidates, hosts, ranks(*rows))


@pytest.mark.slow
def test_a_scheme_of_hundreds_passes_the_checker() -> None:
    market = _random_scheme(600, 240, seed=3)
    result = solve_placements(market)
    assert check_placements(market, result) == []
    assert result.reading("max_fit").pairs and result.stability_cost >= 0


def test_explain_says_why_not_that_placement_with_the_requirement_or_the_exact_price(
    oxford: Path,
) -> None:
    with_placements(oxford)
    scenario = str(oxford)
    code, output = invoke("explain", scenario, "N2", "--market", "placements")
    assert code == 0, output
    assert (
        "max_fit: unplaced: these 2 participants (N2, N3) can only take 1 placement (H2), "
        "which has 1 place" in output
    )
    assert "stable: unplaced: every acceptable placement is full" in output
    code, output = invoke("explain", scenario, "N3", "--market", "placements", "--partner", "H1")
    assert "N3 in H1: never, N3 did not rank H1" in output
    # N2 gets no H1 whatever they rank: H1 asks for finance skills N2 lacks.
    (oxford / "placement_rankings.csv").write_text(RANKINGS + "N2,H1,2\n")
    code, output = invoke("explain", scenario, "N2", "--market", "placements", "--partner", "H1")
    assert "N2 in H1: never, N2 lacks the finance skills it asks for" in output
    code, output = invoke("explain", scenario, "H2", "--market", "placements", "--partner", "N2")
    assert code == 0, output
    assert (
        "N2 in H2: the best allocation that places them there places 2 with fit 10, against "
        "2 placed with fit 15 for max_fit" in output
    )
    assert "in the stable reading H2 is full with N3, whom its host ranks higher" in output


@pytest.mark.slow
@SMALL
@given(markets(), st.data())
def test_the_price_explain_gives_is_the_brute_force_best_with_that_placement(
    market: PlacementMarket, data: st.DataObject
) -> None:
    options = acceptable(market)
    lawful = [(a, b) for a, bs in options.items() for b in bs]
    if not lawful:
        return
    a, b = data.draw(st.sampled_from(lawful))
    text = explain_placement(market, solve_placements(market), a, b)[-1]
    found = re.search(r"places them there places (\d+) with fit (\d+)", text)
    assert found, text
    best = max((len(m), fit_of(market, m)) for m in every_allocation(market) if m.get(a) == b)
    assert (int(found[1]), int(found[2])) == best
