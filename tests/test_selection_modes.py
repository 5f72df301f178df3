"""Selection modes (contract: [selection] mode): competitive, open and mandatory, each result
re-verified by the independent checker and, on generated cases, against brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort_solver.checks.allocation import (
    acceptable,
    check_hold,
    check_places,
    check_spread,
    expected_failures,
    lexicographic_key,
    objective,
    placement_of,
)
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.allocate.eligibility import lottery_ranks
from cohort_solver.stages.allocate.explain import explain_applicant
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import SMALL_TOML, write_small
from .test_allocation import FAST, scenarios


def with_mode(scenario: Scenario, mode: str) -> Scenario:
    selection = scenario.settings.selection.model_copy(update={"mode": mode})
    return scenario.model_copy(
        update={"settings": scenario.settings.model_copy(update={"selection": selection})}
    )


def small_without_scores(tmp_path: Path, mode: str, places: int = 3) -> Scenario:
    toml = SMALL_TOML.replace("places = 3", f'mode = "{mode}"\nplaces = {places}')
    folder = write_small(tmp_path / mode, toml)
    (folder / "scores.csv").unlink()
    return load_scenario(folder)


def brute_force(scenario: Scenario) -> tuple[int, ...] | None:
    """The lexicographic optimum over every placement (a mandatory one seats every eligible
    applicant), or None when nothing is feasible."""
    failures = expected_failures(scenario)
    eligible = [a.applicant_id for a in scenario.applicants if not failures[a.applicant_id]]
    mandatory = scenario.settings.selection.mode == "mandatory"
    best = None
    for choice in itertools.product(*[[None, *acceptable(scenario, a)] for a in eligible]):
        if mandatory and None in choice:
            continue
        placement = {a: k for a, k in zip(eligible, choice, strict=True) if k}
        fake = [
            Decision(applicant_id=a, status="selected", cohort_id=k) for a, k in placement.items()
        ]
        if (
            check_places(scenario, fake)
            or check_spread(scenario, fake)
            or check_hold(scenario, fake)
        ):
            continue
        key = lexicographic_key(objective(scenario, placement))
        best = key if best is None or key > best else best
    return best


def test_open_selection_needs_no_scores_and_draws_lots_when_oversubscribed(tmp_path: Path) -> None:
    # Four eligible (A1, A2, A3, A6) for three places: nobody is "not scored"; the ring fence
    # seats both members (A1, A3), and the lottery gives the last place to A2 or A6.
    scenario = small_without_scores(tmp_path, "open")
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    status = {o.applicant_id: o.status for o in result.outcomes}
    assert status["A4"] == "ineligible" and status["A5"] == "ineligible"
    assert {a for a, s in status.items() if s == "selected"} >= {"A1", "A3"}
    assert sum(s == "selected" for s in status.values()) == 3
    left_out = next(
        o for o in result.outcomes if o.applicant_id in ("A2", "A6") and o.status != "selected"
    )
    winner = next(o for o in result.selected() if o.applicant_id in ("A2", "A6"))
    ranks = lottery_ranks([a.applicant_id for a in scenario.applicants], 7)
    assert ranks[winner.applicant_id] < ranks[left_out.applicant_id]


def test_open_selection_enrols_everyone_when_places_suffice(tmp_path: Path) -> None:
    scenario = small_without_scores(tmp_path, "open", places=10)
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    assert sorted(o.applicant_id for o in result.selected()) == ["A1", "A2", "A3", "A6"]


def test_open_selection_ignores_scores_it_is_given(tmp_path: Path) -> None:
    toml = SMALL_TOML.replace("places = 3", 'mode = "open"\nplaces = 3').replace(
        "min_score = 0", "min_score = 100"
    )
    scenario = load_scenario(write_small(tmp_path / "s", toml))
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    assert all(o.score is None for o in result.outcomes)
    assert len(result.selected()) == 3


def test_mandatory_places_every_eligible_person(tmp_path: Path) -> None:
    scenario = small_without_scores(tmp_path, "mandatory", places=4)
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    assert sorted(o.applicant_id for o in result.selected()) == ["A1", "A2", "A3", "A6"]


def test_mandatory_with_too_few_places_is_infeasible_naming_both_rules(tmp_path: Path) -> None:
    scenario = small_without_scores(tmp_path, "mandatory", places=3)
    with pytest.raises(InfeasibleError) as caught:
        allocate(scenario, time_limit=20)
    text = str(caught.value)
    assert "only 3 places" in text
    assert "mandatory selection: all 4 eligible people" in text


def test_checker_catches_an_eligible_person_left_out_of_a_mandatory_programme(
    tmp_path: Path,
) -> None:
    scenario = small_without_scores(tmp_path, "mandatory", places=4)
    result = allocate(scenario, time_limit=20)
    broken = [
        o.model_copy(update={"status": "not_selected", "cohort_id": None})
        if o.applicant_id == "A2"
        else o
        for o in result.outcomes
    ]
    assert any(
        "A2: eligible for a mandatory programme" in v
        for v in allocation_violations(scenario, broken)
    )


def test_checker_catches_an_open_lottery_loser_placed_over_a_winner(tmp_path: Path) -> None:
    # One place, no ring fence or spread: A2 and A6 differ only in their lottery rank.
    toml = SMALL_TOML.split("[[selection.ring_fence]]")[0].replace(
        "places = 3", 'mode = "open"\nplaces = 1'
    )
    folder = write_small(tmp_path / "open", toml)
    (folder / "scores.csv").unlink()
    scenario = load_scenario(folder)
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    ranks = lottery_ranks([a.applicant_id for a in scenario.applicants], 7)
    (winner,) = result.selected()
    assert ranks[winner.applicant_id] == min(ranks[i] for i in ("A1", "A2", "A3", "A6"))
    loser = next(o for o in result.outcomes if o.status in ("reserve", "not_selected"))
    swapped = [
        o.model_copy(update={"status": "not_selected", "cohort_id": None})
        if o is winner
        else o.model_copy(update={"status": "selected", "cohort_id": "main", "reserve_rank": None})
        if o is loser
        else o
        for o in result.outcomes
    ]
    assert any(
        f"{winner.applicant_id} outscores {loser.applicant_id}" in v
        for v in allocation_violations(scenario, swapped)
    )


@pytest.mark.slow
@FAST
@given(scenarios(), st.sampled_from(["open", "mandatory"]))
def test_modes_match_brute_force_and_pass_the_checker(scenario: Scenario, mode: str) -> None:
    scenario = with_mode(scenario, mode)
    expected = brute_force(scenario)
    if expected is None:
        with pytest.raises(InfeasibleError):
            allocate(scenario, time_limit=10)
        return
    result = allocate(scenario, time_limit=10)
    assert allocation_violations(scenario, result.outcomes) == []
    assert lexicographic_key(objective(scenario, placement_of(result.outcomes))) == expected
    assert result.report.status == "optimal"


def test_explain_without_a_panel_speaks_of_the_lottery_not_of_scores(tmp_path: Path) -> None:
    scenario = small_without_scores(tmp_path, "open")
    result = allocate(scenario, time_limit=20)
    left_out = next(o for o in result.outcomes if o.status in ("reserve", "not_selected"))
    text = explain_applicant(scenario, result.outcomes, left_out.applicant_id, time_limit=10)
    assert "No panel scores: an open selection. Lottery rank" in text
    assert "score None" not in text and "tied on score" not in text
    chosen = result.selected()[0].applicant_id
    text = explain_applicant(scenario, result.outcomes, chosen, time_limit=10)
    assert "every eligible applicant is enrolled up to the places" in text
