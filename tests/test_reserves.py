"""Reserves that mean something (issue 15): every reserve can lawfully take a selected
participant's place, `replaced_by` names who would, and `withdraw` takes exactly that person.

The brute force lives in the independent checker (checks/allocation.py: best_replacement
enumerates every waiting applicant and cohort, with the six levels over the whole allocation);
these tests also re-derive "can take a place" here, from the checker's rule checks alone."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from cohort_solver import pipeline
from cohort_solver.checks.allocation import (
    acceptable,
    best_replacement,
    check_hold,
    check_places,
    check_spread,
    check_withdrawal,
    placement_of,
)
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Applicant, Scenario, Score, Settings
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import OXFORD
from .test_allocation import scenarios

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lawful(scenario: Scenario, placement: dict[str, str]) -> bool:
    rows = [Decision(applicant_id=a, status="selected", cohort_id=k) for a, k in placement.items()]
    return not (
        check_places(scenario, rows) or check_spread(scenario, rows) or check_hold(scenario, rows)
    )


def places_they_could_take(scenario: Scenario, outcomes, applicant_id: str) -> list[str]:
    """Every selected participant whose place ``applicant_id`` could lawfully take."""
    placement = placement_of(outcomes)
    return [
        leaver
        for leaver, cohort_id in placement.items()
        if cohort_id in acceptable(scenario, applicant_id)
        and lawful(
            scenario,
            {**{a: k for a, k in placement.items() if a != leaver}, applicant_id: cohort_id},
        )
    ]


@pytest.mark.slow
@FAST
@given(scenarios())
def test_every_reserve_can_lawfully_take_some_selected_place(scenario: Scenario) -> None:
    try:
        result = allocate(scenario, time_limit=10)
    except InfeasibleError:
        return
    for o in result.outcomes:
        if o.status == "reserve":
            assert places_they_could_take(scenario, result.outcomes, o.applicant_id), o


@pytest.mark.slow
@FAST
@given(scenarios())
def test_replaced_by_is_the_brute_force_best_and_withdraw_takes_them(scenario: Scenario) -> None:
    try:
        before = allocate(scenario, time_limit=10)
    except InfeasibleError:
        return
    for o in before.selected():
        best = best_replacement(scenario, before.outcomes, o.applicant_id)
        assert o.replaced_by == (best[0] if best else None)
        try:
            after = pipeline.withdraw(scenario, before, o.applicant_id, pipeline.Options(10, 1))
        except InfeasibleError:
            # Only when the cohort cannot stay lawful without the leaver and no one fits.
            assert best is None
            continue
        assert check_withdrawal(scenario, before.outcomes, after.outcomes, o.applicant_id) == []
        assert allocation_violations(scenario, after.outcomes) == []


def stepping_up(n: int = 10, places: int = 4) -> Scenario:
    """Every place held for one group (min_share = 1.0, hold): half the applicants, the best
    scorers among them, are not members and can never be selected."""
    applicants, scores = [], []
    for i in range(n):
        member = i % 2 == 1
        applicants.append(
            Applicant(
                applicant_id=f"SU{i:02}",
                council="C1",
                service_area=f"Area{i % 5}",
                grade=6,
                probation_passed=True,
                line_manager_approved=True,
                performance_eligible=True,
                groups={"bame": member},
            )
        )
        for panelist in ("P1", "P2"):
            value = 9 - i // 2 if not member else 7 - i // 4
            scores.append(Score(applicant_id=f"SU{i:02}", panelist=panelist, score=Decimal(value)))
    settings_ = Settings.model_validate(
        {
            "programme": {"name": "Stepping Up", "start": "2024-04-01"},
            "selection": {
                "places": places,
                "eligible_grades": [6],
                "seed": 1,
                "reserves": 3,
                "ring_fence": [
                    {"name": "bame", "groups": ["bame"], "min_share": 1.0, "unfilled": "hold"}
                ],
            },
        }
    )
    return Scenario(
        folder=Path("generated"),
        settings=settings_,
        applicants=tuple(applicants),
        scores=tuple(scores),
    )


def test_a_fully_held_cohort_lists_only_members_as_reserves() -> None:
    scenario = stepping_up()
    result = allocate(scenario, time_limit=10)
    assert allocation_violations(scenario, result.outcomes) == []
    reserves = sorted(
        (o for o in result.outcomes if o.status == "reserve"), key=lambda o: o.reserve_rank or 0
    )
    assert len(reserves) == 1  # 5 members, 4 selected: one member is left to wait
    assert all("bame" in o.ring_fences for o in reserves)
    outsiders = [o for o in result.outcomes if not o.ring_fences]
    assert outsiders and all(o.status == "not_selected" for o in outsiders)
    # Each withdrawal is filled by reserve 1, the one person the held places allow.
    for o in result.selected():
        assert o.replaced_by == reserves[0].applicant_id
        after = pipeline.withdraw(scenario, result, o.applicant_id, pipeline.Options(10, 1))
        assert check_withdrawal(scenario, result.outcomes, after.outcomes, o.applicant_id) == []


def test_oxford_replacements_say_who_is_passed_over_and_why() -> None:
    scenario = load_scenario(OXFORD)
    result = allocate(scenario, time_limit=30)
    by_id = {o.applicant_id: o for o in result.outcomes}
    assert by_id["A005"].replaced_by == "A013"
    assert by_id["A024"].replaced_by == "A037"
    words = pipeline.replacement(scenario, result, "A005")
    assert words == (
        "if A005 withdraws, A013 (reserve 4 for cohort main) takes the place; "
        "A037 would go over max_per_service_area = 2; "
        "A015 and A011 would leave ring fence 'under-represented' short of its 9 places"
    )
    assert pipeline.replacement(scenario, result, "A024") == (
        "if A024 withdraws, A037 (reserve 1 for cohort main) takes the place"
    )


@pytest.mark.parametrize("leaver", ["A005", "A024", "A002"])
def test_oxford_withdraw_takes_the_named_replacement(leaver: str) -> None:
    scenario = load_scenario(OXFORD)
    before = allocate(scenario, time_limit=30)
    after = pipeline.withdraw(scenario, before, leaver, pipeline.Options(30))
    assert check_withdrawal(scenario, before.outcomes, after.outcomes, leaver) == []
    assert allocation_violations(scenario, after.outcomes) == []
