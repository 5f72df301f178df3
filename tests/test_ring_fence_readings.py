"""Two readings of a ring fence (issue 15, item 6): a minimum guarantee, and places held over
and above the open places, which are filled on merit from everyone first.

The solver's over-and-above selection is checked against a brute force over every placement
(the independent checker's ``reading_key``: the open places' pick by enumerating every subset,
the held places by trying every seating), and against the reserve-system result that
processing the held places last never selects fewer members."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver import pipeline
from cohort_solver.checks.allocation import (
    _lawful,
    acceptable,
    allocation_key,
    check_withdrawal,
    expected_failures,
    placement_of,
    violations,
)
from cohort_solver.domain.scenario import Applicant, Scenario, Score, Settings
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.allocate.explain import reasons_in_words
from cohort_solver.stages.allocate.reference import allocate_with_highs
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.sweeps.compare import reading_variants

from .conftest import OXFORD
from .test_allocation import scenarios
from .test_cli import invoke

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_as(scenario: Scenario, *readings: str) -> Scenario:
    """``scenario`` with its ring fences read as given (the last reading repeats)."""
    selection = scenario.settings.selection
    fences = [
        rf.model_copy(update={"reading": readings[min(i, len(readings) - 1)]})
        for i, rf in enumerate(selection.ring_fence)
    ]
    settings_ = scenario.settings.model_copy(
        update={"selection": selection.model_copy(update={"ring_fence": fences})}
    )
    return scenario.model_copy(update={"settings": settings_})


@st.composite
def over_and_above_scenarios(draw) -> Scenario:
    scenario = draw(scenarios())
    readings = [
        draw(st.sampled_from(["over_and_above", "minimum_guarantee"]))
        for _ in scenario.settings.selection.ring_fence
    ]
    readings[0] = "over_and_above"
    return read_as(scenario, *readings)


def brute_force(scenario: Scenario) -> tuple[tuple[int, ...], list[dict[str, str]]] | None:
    """The best key over every lawful placement, and every placement that reaches it."""
    failures = expected_failures(scenario)
    eligible = [a.applicant_id for a in scenario.applicants if not failures[a.applicant_id]]
    best: tuple[int, ...] | None = None
    winners: list[dict[str, str]] = []
    for choice in itertools.product(*[[None, *acceptable(scenario, a)] for a in eligible]):
        placement = {a: k for a, k in zip(eligible, choice, strict=True) if k}
        if not _lawful(scenario, placement):
            continue
        key = allocation_key(scenario, placement)
        if best is None or key > best:
            best, winners = key, [placement]
        elif key == best:
            winners.append(placement)
    return (best, winners) if best is not None else None


@pytest.mark.slow
@FAST
@given(over_and_above_scenarios())
def test_over_and_above_matches_the_brute_force_and_passes_the_checker(
    scenario: Scenario,
) -> None:
    expected = brute_force(scenario)
    if expected is None:
        with pytest.raises(InfeasibleError):
            allocate(scenario, time_limit=10)
        return
    result = allocate(scenario, time_limit=10)
    chosen = placement_of(result.outcomes)
    assert allocation_key(scenario, chosen) == expected[0]
    assert chosen in expected[1]
    if len(expected[1]) == 1:
        assert chosen == expected[1][0]  # the same people, not just as good
    # The checker covers the reserves (each can lawfully take a place) and replaced_by (the
    # brute-force best replacement under this reading) too.
    assert violations(scenario, result.outcomes) == []
    assert result.report.status == "optimal"


@pytest.mark.slow
@FAST
@given(over_and_above_scenarios())
def test_withdraw_under_over_and_above_takes_the_brute_force_best(scenario: Scenario) -> None:
    try:
        before = allocate(scenario, time_limit=10)
    except InfeasibleError:
        return
    for o in before.selected():
        try:
            after = pipeline.withdraw(scenario, before, o.applicant_id)
        except InfeasibleError:
            continue  # keeping everyone else breaks a rule (e.g. min_service_areas)
        assert check_withdrawal(scenario, before.outcomes, after.outcomes, o.applicant_id) == []


def members_selected(scenario: Scenario) -> int:
    result = allocate(scenario, time_limit=10)
    return sum(1 for o in result.outcomes if o.status == "selected" and o.ring_fences)


@st.composite
def one_fence_scenarios(draw) -> Scenario:
    """One cohort, one ring fence, no spread limits: the reserve-system setting."""
    places = draw(st.integers(1, 5))
    n = draw(st.integers(1, 9))
    settings_ = Settings.model_validate(
        {
            "programme": {"name": "Generated", "start": "2024-04-01"},
            "selection": {
                "places": places,
                "eligible_grades": [6],
                "ring_fence": [
                    {
                        "name": "rf",
                        "groups": ["woman"],
                        "min_places": draw(st.integers(0, places)),
                        "unfilled": draw(st.sampled_from(["release", "hold"])),
                    }
                ],
            },
        }
    )
    applicants = tuple(
        Applicant(
            applicant_id=f"A{i}",
            council="C1",
            service_area="Housing",
            grade=6,
            probation_passed=True,
            line_manager_approved=True,
            performance_eligible=True,
            groups={"woman": draw(st.booleans())},
        )
        for i in range(n)
    )
    scores = tuple(
        Score(applicant_id=f"A{i}", panelist="P1", score=Decimal(draw(st.integers(1, 9))))
        for i in range(n)
    )
    return Scenario(
        folder=Path("generated"), settings=settings_, applicants=applicants, scores=scores
    )


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_fence_scenarios())
def test_over_and_above_never_selects_fewer_members(scenario: Scenario) -> None:
    """Pathak, Rees-Jones and Sönmez: filling the open places first (over and above) selects
    at least as many members as the minimum guarantee of the same size. Here, with one cohort,
    one ring fence and no spread limits, it holds for release and hold alike."""
    guaranteed = members_selected(read_as(scenario, "minimum_guarantee"))
    assert members_selected(read_as(scenario, "over_and_above")) >= guaranteed


@pytest.mark.slow
def test_the_two_readings_select_different_people_on_oxford() -> None:
    scenario = load_scenario(OXFORD)
    picks = {}
    for reading in ("minimum_guarantee", "over_and_above"):
        result = allocate(read_as(scenario, reading))
        assert violations(read_as(scenario, reading), result.outcomes) == []
        picks[reading] = {o.applicant_id for o in result.selected()}
    assert picks["minimum_guarantee"] - picks["over_and_above"] == {"A017", "A032"}
    assert picks["over_and_above"] - picks["minimum_guarantee"] == {"A013", "A031"}


@pytest.mark.slow
def test_over_and_above_reserves_put_whoever_a_withdrawal_brings_in_first() -> None:
    # Over and above, most vacancies go to a member moving into a held place, whoever leaves:
    # on merit alone A020 (who would take 10 of the 12 places) was not on the list at all.
    scenario = read_as(load_scenario(OXFORD), "over_and_above")
    result = allocate(scenario)
    assert violations(scenario, result.outcomes) == []  # check_reserves: the same order
    named = {o.replaced_by for o in result.selected() if o.replaced_by}
    reserves = sorted(
        (o for o in result.outcomes if o.status == "reserve"), key=lambda o: o.reserve_rank or 0
    )
    assert named == {"A020", "A037"}
    assert {o.applicant_id for o in reserves[: len(named)]} == named
    assert [o.applicant_id for o in reserves[:2]] == ["A037", "A020"]  # by merit among them


@pytest.mark.slow
@FAST
@given(over_and_above_scenarios())
def test_highs_reference_reaches_the_same_levels_over_and_above(scenario: Scenario) -> None:
    try:
        result = allocate(scenario, time_limit=10)
    except InfeasibleError:
        return
    if all(o.status == "ineligible" for o in result.outcomes):
        return  # HiGHS reports an empty model as an error, not as an empty allocation
    highs = allocate_with_highs(scenario, time_limit=30, workers=1)
    assert [lv.value for lv in result.report.levels] == list(highs.levels)
    assert allocation_key(scenario, highs.placement) == allocation_key(
        scenario, placement_of(result.outcomes)
    )


@pytest.mark.slow
def test_generated_multi_cohort_scenario_over_and_above(tmp_path: Path) -> None:
    """Several cohorts, spread limits and a share-based ring fence: CP-SAT, HiGHS and the
    checker agree, and withdraw keeps it lawful."""
    assert (
        invoke(
            "generate",
            str(tmp_path / "g"),
            "--councils",
            "4",
            "--applicants",
            "120",
            "--cohorts",
            "2",
        )[0]
        == 0
    )
    scenario = load_scenario(tmp_path / "g", ["selection.ring_fence.0.reading=over_and_above"])
    assert scenario.settings.selection.ring_fence[0].reading == "over_and_above"
    result = allocate(scenario, time_limit=60)
    assert violations(scenario, result.outcomes) == []
    highs = allocate_with_highs(scenario, time_limit=60)
    assert [lv.value for lv in result.report.levels] == list(highs.levels)
    leaver = result.selected()[0].applicant_id
    after = pipeline.withdraw(scenario, result, leaver)
    assert check_withdrawal(scenario, result.outcomes, after.outcomes, leaver) == []


@pytest.mark.slow
def test_set_and_compare_show_both_readings_and_who_changes(oxford: Path, tmp_path: Path) -> None:
    flip = "selection.ring_fence.0.reading=over_and_above"
    code, output = invoke(
        "compare", str(oxford), "--out", str(tmp_path / "c"), "--variant", "over-and-above",
        "--set", flip,
    )  # fmt: skip
    assert code == 0, output
    assert "over-and-above: selects A013, A031; no longer selects A017, A032" in output
    page = (tmp_path / "c" / "compare.html").read_text()
    assert "Who changes against the baseline" in page and flip in page
    code, shortcut = invoke("compare", str(oxford), "--readings", "--out", str(tmp_path / "r"))
    assert code == 0, shortcut
    assert "under-represented over-and-above: selects A013, A031" in shortcut


@pytest.mark.slow
def test_explain_and_feedback_words_name_the_kind_of_place(oxford: Path, tmp_path: Path) -> None:
    flip = ["--set", "selection.ring_fence.0.reading=over_and_above"]
    out = ["--out", str(tmp_path / "o")]
    assert invoke("allocate", str(oxford), *out, *flip)[0] == 0
    code, text = invoke("explain", str(oxford), "A002", *out, *flip)
    assert code == 0 and "Selected on merit for an open place" in text, text
    code, text = invoke("explain", str(oxford), "A031", *out, *flip)
    assert "Selected for a place held over and above for ring fence 'under-represented'" in text
    scenario = load_scenario(oxford, [flip[1]])
    outcomes = allocate(scenario).outcomes
    words = reasons_in_words(scenario, outcomes)
    assert words["A002"].startswith("Selected for cohort main: selected on merit for an open place")


def test_bad_reading_is_bad_input(oxford: Path, tmp_path: Path) -> None:
    code, output = invoke(
        "allocate", str(oxford), "--out", str(tmp_path / "o"),
        "--set", "selection.ring_fence.0.reading=over-and-above",
    )  # fmt: skip
    assert code == 2, output
    assert "reading" in output


def test_with_a_spread_limit_over_and_above_can_select_fewer_members() -> None:
    """What does not hold: with max_per_service_area = 1, the open place goes on merit to N
    (Housing), and the one member, M, is also from Housing, so the held place is released
    to O. The minimum guarantee takes M, and O for the other place."""
    people = [("N", "Housing", False, 9), ("M", "Housing", True, 8), ("O", "Finance", False, 7)]
    chosen = {}
    for reading in ("minimum_guarantee", "over_and_above"):
        settings_ = Settings.model_validate(
            {
                "programme": {"name": "Counterexample", "start": "2024-04-01"},
                "selection": {
                    "places": 2,
                    "eligible_grades": [6],
                    "ring_fence": [
                        {"name": "rf", "groups": ["woman"], "min_places": 1, "reading": reading}
                    ],
                    "spread": {"max_per_service_area": 1},
                },
            }
        )
        scenario = Scenario(
            folder=Path("generated"),
            settings=settings_,
            applicants=tuple(
                Applicant(
                    applicant_id=i,
                    council="C1",
                    service_area=area,
                    grade=6,
                    probation_passed=True,
                    line_manager_approved=True,
                    performance_eligible=True,
                    groups={"woman": member},
                )
                for i, area, member, _ in people
            ),
            scores=tuple(
                Score(applicant_id=i, panelist="P1", score=Decimal(s)) for i, _, _, s in people
            ),
        )
        result = allocate(scenario)
        assert violations(scenario, result.outcomes) == []
        chosen[reading] = sorted(o.applicant_id for o in result.selected())
    assert chosen == {"minimum_guarantee": ["M", "O"], "over_and_above": ["N", "O"]}


def test_default_reading_is_left_out_of_the_settings_echo() -> None:
    """solution.json echoes the settings: the default reading is not written, so an unchanged
    scenario gives the same bytes as before readings existed; the other reading is."""
    scenario = load_scenario(OXFORD)
    fence = scenario.settings.model_dump(mode="json")["selection"]["ring_fence"][0]
    assert "reading" not in fence
    flipped = read_as(scenario, "over_and_above").settings.model_dump(mode="json")
    assert flipped["selection"]["ring_fence"][0]["reading"] == "over_and_above"


@pytest.mark.slow
def test_readings_shortcut_with_two_ring_fences(oxford: Path, tmp_path: Path) -> None:
    """One variant per ring fence read the other way, and one with both."""
    toml = oxford / "scenario.toml"
    text = toml.read_text()
    extra = (
        '\n[[selection.ring_fence]]\nname = "disabled"\ngroups = ["disabled"]\n'
        'min_places = 2\nunfilled = "release"\nreading = "over_and_above"\n'
    )
    toml.write_text(text.replace("\n[selection.spread]", extra + "\n[selection.spread]", 1))
    variants = reading_variants(oxford, [("baseline", [])])
    assert variants == [
        ("baseline", []),
        ("under-represented over-and-above", ["selection.ring_fence.0.reading=over_and_above"]),
        ("disabled minimum-guarantee", ["selection.ring_fence.1.reading=minimum_guarantee"]),
        (
            "every ring fence read the other way",
            [
                "selection.ring_fence.0.reading=over_and_above",
                "selection.ring_fence.1.reading=minimum_guarantee",
            ],
        ),
    ]
    code, output = invoke("compare", str(oxford), "--readings", "--out", str(tmp_path / "c"))
    assert code == 0, output
    assert output.count("(against the baseline)") == 3
