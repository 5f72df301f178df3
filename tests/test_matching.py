"""Mentor and coach matching (contract section 3, issue 4), checked by the independent checker."""

from __future__ import annotations

import itertools
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver.checks.matching import expected_fits, kept_pairs, objective, violations
from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import (
    Applicant,
    Coach,
    Conflict,
    Mentor,
    ProgrammeSettings,
    Scenario,
    SelectionSettings,
    Settings,
)
from cohort_solver.errors import InfeasibleError, InputError
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.explain import explain_match
from cohort_solver.stages.match.pool import Pool
from cohort_solver.stages.match.rules import (
    Relations,
    coach_barriers,
    mentor_barriers,
)
from cohort_solver.stages.match.solve import match

from .conftest import OXFORD, write_csv, write_small

# --------------------------------------------------------------------------- builders


def scenario(applicants, mentors, coaches, conflicts=(), **matching) -> Scenario:
    return Scenario(
        folder=Path("."),
        settings=Settings(
            programme=ProgrammeSettings(name="t", start=date(2024, 4, 1)),
            selection=SelectionSettings(places=10, eligible_grades=[6, 7]),
            matching=matching,
        ),
        applicants=tuple(applicants),
        mentors=tuple(mentors),
        coaches=tuple(coaches),
        conflicts=tuple(Conflict(person_a=a, person_b=b) for a, b in conflicts),
    )


def person(
    pid, *, council="C", area="A", grade=6, needs=(), manager=None, groups=None
) -> Applicant:
    return Applicant(
        applicant_id=pid,
        council=council,
        service_area=area,
        grade=grade,
        probation_passed=True,
        line_manager_approved=True,
        performance_eligible=True,
        line_manager_id=manager,
        development_needs=tuple(needs),
        groups=groups or {},
    )


def mentor(mid, *, council="C", area="B", grade=9, capacity=1, expertise=()) -> Mentor:
    return Mentor(
        mentor_id=mid,
        council=council,
        service_area=area,
        grade=grade,
        capacity=capacity,
        expertise=tuple(expertise),
    )


def coach(cid, *, capacity=6, expertise=(), councils=()) -> Coach:
    return Coach(
        coach_id=cid, capacity=capacity, expertise=tuple(expertise), councils=tuple(councils)
    )


def chosen(sc: Scenario, ids=None) -> list[Decision]:
    ids = ids if ids is not None else [a.applicant_id for a in sc.applicants]
    return [Decision(applicant_id=i, status="selected", cohort_id="main") for i in ids]


def solve(sc: Scenario, selected=None, **kwargs):
    selected = selected if selected is not None else chosen(sc)
    result = match(sc, selected, time_limit=20, **kwargs)
    assert violations(sc, selected, result.matches) == []
    assert result.report.status == "optimal"
    values = {lv.name: lv.value for lv in result.report.levels}
    recomputed = objective(sc, selected, result.matches)
    assert values["total_fit"] == recomputed["total_fit"]
    if "min_fit" in values:
        assert values["min_fit"] == recomputed["min_fit"]
    return result


def pairs(result) -> dict[str, tuple[str, str]]:
    return {m.participant_id: (m.mentor_id, m.coach_id) for m in result.matches}


# --------------------------------------------------------------------------- hand-made cases


def test_needs_and_exposure_decide_the_mentor():
    # P1 needs strategic. M1 (same council, other area) covers it: 10 + 2 = 12.
    # M2 (other council) covers nothing: 3 + 2 = 5. Coach K1 covers strategic: 10. Optimum 22.
    sc = scenario(
        [person("P1", needs=["strategic"])],
        [mentor("M1", expertise=["strategic"]), mentor("M2", council="D")],
        [coach("K1", expertise=["strategic"])],
    )
    result = solve(sc)
    assert pairs(result) == {"P1": ("M1", "K1")}
    assert (result.matches[0].mentor_fit, result.matches[0].coach_fit) == (12, 10)
    assert "strategic" in result.matches[0].reasons


def test_utilitarian_and_egalitarian_differ():
    # One mentor place each. P1 needs a, b; P2 needs a.
    # M1 covers a, b: P1 22, P2 12.  M2 covers nothing: 2 for either.
    # utilitarian: P1-M1 (22) + P2-M2 (2) = 24 beats P1-M2 (2) + P2-M1 (12) = 14.
    # Coach covers nothing, so coach fit is 0. Worst fit: 2 either way... make P2 need a only and
    # M2 cover b: P1-M2 = 12, P2-M2 = 2. Then utilitarian 22 + 2 = 24 (worst 2), egalitarian
    # P1-M2 12 + P2-M1 12 = 24 ... equal totals, so give M1 a third need c that only P1 has:
    # P1-M1 = 32: utilitarian 32 + 2 = 34 (worst 2); egalitarian 12 + 12 = 24 (worst 12).
    people = [person("P1", needs=["a", "b", "c"]), person("P2", needs=["a"])]
    mentors = [mentor("M1", expertise=["a", "b", "c"]), mentor("M2", expertise=["b"])]
    coaches = [coach("K1")]
    util = solve(scenario(people, mentors, coaches, fairness="utilitarian"))
    egal = solve(scenario(people, mentors, coaches, fairness="egalitarian"))
    assert pairs(util) == {"P1": ("M1", "K1"), "P2": ("M2", "K1")}
    assert pairs(egal) == {"P1": ("M2", "K1"), "P2": ("M1", "K1")}
    assert {lv.name: lv.value for lv in egal.report.levels} == {"min_fit": 12, "total_fit": 24}
    assert {lv.name: lv.value for lv in util.report.levels} == {"total_fit": 34}


def test_a_stable_matching_is_not_the_best_total():
    # Fits (coach adds 0): P1-M1 32, P1-M2 22, P2-M1 22, P2-M2 2 (P2 needs a, b; M2 covers only c).
    # P1 and M1 both rank each other first, so the only stable matching is P1-M1, P2-M2 = 34.
    # The best total is P1-M2 + P2-M1 = 22 + 22 = 44.
    people = [person("P1", needs=["a", "b", "c"]), person("P2", needs=["a", "b"])]
    mentors = [mentor("M1", expertise=["a", "b", "c"]), mentor("M2", expertise=["a", "c"])]
    sc = scenario(people, mentors, [coach("K1")])
    result = solve(sc)
    assert pairs(result) == {"P1": ("M2", "K1"), "P2": ("M1", "K1")}
    assert result.report.levels[-1].value == 44


def test_lawful_options_agree_with_the_barriers_explain_gives():
    # Pool.build runs the rules as masks over every mentor at once; explain words them through
    # mentor_barriers and coach_barriers, the same masks on one person. Every applicant of oxford, with conflicts and a management chain added,
    # must get exactly the pairs those say are lawful, at the fit the checker expects.
    sc = load_scenario(OXFORD)
    first, second = sc.applicants[0], sc.applicants[1]
    sc = sc.model_copy(
        update={
            "conflicts": (
                *sc.conflicts,
                Conflict(person_a=sc.mentors[0].mentor_id, person_b=first.applicant_id),
                Conflict(person_a=second.applicant_id, person_b=sc.coaches[0].coach_id),
            ),
            "applicants": (
                first.model_copy(update={"line_manager_id": sc.mentors[1].mentor_id}),
                *sc.applicants[1:],
            ),
        }
    )
    everyone = [
        Decision(applicant_id=a.applicant_id, status="selected", cohort_id="main")
        for a in sc.applicants
    ]
    pool = Pool.build(sc, everyone)
    relations = Relations(sc)
    any_mentor, any_coach = sc.mentors[0].mentor_id, sc.coaches[0].coach_id
    for p in pool.participants:
        facts = relations.facts(p)
        assert pool.mentor_options[p.applicant_id] == {
            m.mentor_id: expected_fits(sc, p, m.mentor_id, any_coach)[0]
            for m in sorted(sc.mentors, key=lambda m: m.mentor_id)
            if m.capacity > 0 and not mentor_barriers(sc, facts, m)
        }
        assert pool.coach_options[p.applicant_id] == {
            c.coach_id: expected_fits(sc, p, any_mentor, c.coach_id)[1]
            for c in sorted(sc.coaches, key=lambda c: c.coach_id)
            if c.capacity > 0 and not coach_barriers(sc, facts, c)
        }
    assert sc.mentors[0].mentor_id not in pool.mentor_options[first.applicant_id]
    assert sc.mentors[1].mentor_id not in pool.mentor_options[first.applicant_id]
    assert sc.coaches[0].coach_id not in pool.coach_options[second.applicant_id]


def test_management_chain_is_followed_through_applicants():
    # P1's manager is P9 (also an applicant), whose manager is M1: M1 is above P1, so M2.
    sc = scenario(
        [person("P1", manager="P9", needs=["a"]), person("P9", grade=7, manager="M1")],
        [mentor("M1", expertise=["a"]), mentor("M2")],
        [coach("K1")],
    )
    result = solve(sc, chosen(sc, ["P1"]))
    assert pairs(result)["P1"][0] == "M2"


@pytest.mark.parametrize("conflict", [("M1", "P1"), ("P1", "M1")])
def test_declared_conflict_either_direction(conflict):
    sc = scenario(
        [person("P1", needs=["a"])],
        [mentor("M1", expertise=["a"]), mentor("M2")],
        [coach("K1")],
        conflicts=[conflict],
    )
    assert pairs(solve(sc))["P1"][0] == "M2"


def test_grade_gap_service_area_and_council_rules():
    # M1 grade 7 < 6 + 2; M2 in P1's own (council, area); only M3 is lawful.
    # K1 serves another council; K2 serves P1's.
    sc = scenario(
        [person("P1", needs=["a"])],
        [
            mentor("M1", grade=7, expertise=["a"]),
            mentor("M2", area="A", expertise=["a"]),
            mentor("M3"),
        ],
        [coach("K1", councils=["D"], expertise=["a"]), coach("K2", councils=["C"])],
    )
    assert pairs(solve(sc)) == {"P1": ("M3", "K2")}


def test_same_person_is_never_mentor_and_coach_of_one_participant():
    # X is both. Alone each side would pick X (fit 12 + 10), but never both: best is
    # X as mentor (12) + K2 coach (0) = 12, versus M2 mentor (2) + X coach (10) = 12: a tie, so
    # the total is 12 either way.
    sc = scenario(
        [person("P1", needs=["a"])],
        [mentor("X", expertise=["a"]), mentor("M2")],
        [coach("X", expertise=["a"]), coach("K2")],
    )
    result = solve(sc)
    assert result.report.levels[-1].value == 12
    mentor_id, coach_id = pairs(result)["P1"]
    assert mentor_id != coach_id


def test_same_result_whatever_the_row_order():
    people = [person(f"P{k}", needs=["a", "b"][: 1 + k % 2], area=f"A{k % 2}") for k in range(5)]
    mentors = [mentor(f"M{k}", expertise=["a"] if k % 2 else ["b"], capacity=2) for k in range(4)]
    coaches = [coach("K1", expertise=["a"]), coach("K2", expertise=["b"])]
    for fairness in ("utilitarian", "egalitarian"):
        one = solve(scenario(people, mentors, coaches, fairness=fairness))
        two = solve(scenario(people[::-1], mentors[::-1], coaches[::-1], fairness=fairness))
        assert one.matches == two.matches


def test_protected_characteristics_never_reach_reasons():
    sc = scenario(
        [person("P1", needs=["a"], groups={"woman": True, "disabled": True})],
        [mentor("M1", expertise=["a"])],
        [coach("K1")],
    )
    row = solve(sc).matches[0]
    assert "woman" not in row.reasons and "disabled" not in row.reasons


def broad_needs() -> tuple[list, list, list]:
    """24 participants with broad needs and 30 one-theme-or-two mentors: the flows' worst fit
    is below the ceiling, so egalitarian matching goes to CP-SAT."""
    rng = random.Random(36)
    themes = list("abcdefgh")
    people = [
        person(f"P{k:02d}", area=f"A{k % 3}", needs=rng.sample(themes, rng.randint(2, 4)))
        for k in range(24)
    ]
    mentors = [
        mentor(f"M{k:02d}", area=f"A{k % 4}", expertise=rng.sample(themes, rng.randint(1, 2)))
        for k in range(30)
    ]
    coaches = [coach(f"K{k}", expertise=rng.sample(themes, 3)) for k in range(5)]
    return people, mentors, coaches


@pytest.mark.slow
def test_egalitarian_cp_sat_path_is_deterministic_and_row_order_free():
    # 24 participants with broad needs and one-place mentors: the flows' worst fit is below the
    # ceiling, so CP-SAT decides, and its ties must still come out the same every time.
    people, mentors, coaches = broad_needs()
    sc = scenario(people, mentors, coaches, fairness="egalitarian")
    one = solve(sc)
    assert one.report.solver == "CP-SAT"
    assert solve(sc).matches == one.matches
    assert (
        solve(scenario(people[::-1], mentors[::-1], coaches[::-1], fairness="egalitarian")).matches
        == one.matches
    )


def test_out_of_time_still_gives_a_lawful_matching_marked_feasible():
    people, mentors, coaches = broad_needs()
    sc = scenario(people, mentors, coaches, fairness="egalitarian")
    result = match(sc, chosen(sc), time_limit=0.0001)
    assert violations(sc, chosen(sc), result.matches) == []
    assert result.report.status == "feasible"
    values = {lv.name: lv.value for lv in result.report.levels}
    assert values == objective(sc, chosen(sc), result.matches)
    assert all(lv.bound >= lv.value for lv in result.report.levels)


def test_the_checker_catches_each_broken_rule():
    sc = scenario(
        [person("P1", needs=["a"], manager="M3"), person("P2", council="D")],
        [mentor("M1", grade=7), mentor("M2", area="A"), mentor("M3")],
        [coach("K1", councils=["C"], capacity=1)],
        conflicts=[("K1", "P1")],
    )
    bad = [
        Match(
            participant_id="P1",
            cohort_id="main",
            mentor_id="M3",
            coach_id="K1",
            mentor_fit=0,
            coach_fit=0,
        ),
        Match(
            participant_id="P2",
            cohort_id="main",
            mentor_id="M1",
            coach_id="K1",
            mentor_fit=5,
            coach_fit=0,
        ),
    ]
    found = " | ".join(violations(sc, chosen(sc), bad))
    for expected in (
        "management chain",
        "grade 7 < 6 + 2",
        "declared conflict",
        "does not serve D",
        "coach K1: 2 participants, capacity 1",
        "fit (0, 0) should be (2, 0)",
    ):
        assert expected in found
    assert violations(sc, chosen(sc), bad[:1] + [bad[0]]) != []


# --------------------------------------------------------------------------- infeasible


def test_no_lawful_mentor_names_the_participant_and_why():
    sc = scenario(
        [person("P17", grade=7, manager="M2")],
        [mentor("M1", grade=8), mentor("M2", grade=10), mentor("M3", grade=9, area="A")],
        [coach("K1")],
    )
    with pytest.raises(InfeasibleError) as error:
        match(sc, chosen(sc))
    text = " ".join(error.value.causes)
    assert "P17: no lawful mentor" in text
    assert (
        "grade 8 is below 9" in text and "management chain" in text and "own service area" in text
    )


def test_mentor_capacity_short():
    sc = scenario([person("P1"), person("P2"), person("P3")], [mentor("M1")], [coach("K1")])
    with pytest.raises(InfeasibleError) as error:
        match(sc, chosen(sc))
    assert "mentor capacity short by 2" in error.value.causes[0]


def test_hall_violation_names_the_crowded_group():
    # Plenty of places overall, but P1 and P2 can only have M1 (one place): M2 is in their area.
    sc = scenario(
        [person("P1"), person("P2"), person("P3", area="Z")],
        [mentor("M1"), mentor("M2", area="A", capacity=5)],
        [coach("K1")],
    )
    with pytest.raises(InfeasibleError) as error:
        match(sc, chosen(sc))
    cause = error.value.causes[0]
    assert "P1, P2" in cause and "M1" in cause and "short by 1" in cause


def test_coach_must_serve_the_council():
    sc = scenario(
        [person("P1", council="North")], [mentor("M1")], [coach("K1", councils=["South"])]
    )
    with pytest.raises(InfeasibleError, match="P1: no lawful coach.*does not serve North"):
        match(sc, chosen(sc))


# --------------------------------------------------------------------------- re-matching


def test_rematch_after_a_mentor_leaves_keeps_every_other_pair():
    people = [person(f"P{k}", needs=["a"]) for k in range(4)]
    mentors = [mentor(f"M{k}", expertise=["a"] if k < 2 else []) for k in range(5)]
    coaches = [coach("K1", expertise=["a"], capacity=2), coach("K2", capacity=2)]
    sc = scenario(people, mentors, coaches)
    first = solve(sc)
    leaving = first.matches[0].mentor_id
    after = scenario(people, [m for m in mentors if m.mentor_id != leaving], coaches)
    second = solve(after, previous=first.matches)
    # Only the participant who lost their mentor changes, and only that one pair.
    assert kept_pairs(first.matches, second.matches) == 2 * len(people) - 1
    assert second.report.levels[0].name == "kept_pairs"


def test_rematch_prefers_keeping_a_pair_over_better_fit():
    # Previously P1 had M2 (fit 2). M1 (fit 12) is free now, but the old pair is still lawful.
    sc = scenario(
        [person("P1", needs=["a"])], [mentor("M1", expertise=["a"]), mentor("M2")], [coach("K1")]
    )
    old = [
        Match(
            participant_id="P1",
            cohort_id="main",
            mentor_id="M2",
            coach_id="K1",
            mentor_fit=2,
            coach_fit=0,
        )
    ]
    for fairness in ("utilitarian", "egalitarian"):
        sc2 = scenario(sc.applicants, sc.mentors, sc.coaches, fairness=fairness)
        assert pairs(solve(sc2, previous=old)) == {"P1": ("M2", "K1")}


# --------------------------------------------------------------------------- explain


def test_explain_gives_the_pair_and_the_best_alternative():
    sc = scenario(
        [person("P1", needs=["a"]), person("P2", needs=["a"], area="Z")],
        [mentor("M1", expertise=["a"]), mentor("M2", council="D")],
        [coach("K1")],
    )
    result = solve(sc)
    text = explain_match(sc, chosen(sc), result.matches, "P2")
    who = pairs(result)["P2"][0]
    other = "M2" if who == "M1" else "M1"
    assert f"mentored by {who}" in text and f"alternative mentor: {other}" in text


# --------------------------------------------------------------------------- brute force


@st.composite
def small_scenarios(draw):
    n = draw(st.integers(1, 3))
    mentor_ids = [f"M{k}" for k in range(draw(st.integers(1, 4)))]
    coach_ids = draw(
        st.lists(st.sampled_from(["K1", "K2", "M0"]), min_size=1, max_size=2, unique=True)
    )
    needs = st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True)
    councils, areas = st.sampled_from(["C", "D"]), st.sampled_from(["A", "B"])
    people = [
        person(
            f"P{k}",
            council=draw(councils),
            area=draw(areas),
            grade=draw(st.sampled_from([6, 7])),
            needs=draw(needs),
            manager=draw(st.sampled_from([None, None, None, None, *mentor_ids, *coach_ids])),
        )
        for k in range(n)
    ]
    mentors = [
        mentor(
            m,
            council=draw(councils),
            area=draw(areas),
            grade=draw(st.sampled_from([10, 9, 11, 8])),
            capacity=draw(st.sampled_from([1, 2, 0])),
            expertise=draw(needs),
        )
        for m in mentor_ids
    ]
    coaches = [
        coach(
            c,
            capacity=draw(st.sampled_from([2, 1, 3])),
            expertise=draw(needs),
            councils=draw(st.sampled_from([(), (), (), ("C",), ("D",)])),
        )
        for c in coach_ids
    ]
    everyone = [(m, p.applicant_id) for m in mentor_ids + coach_ids for p in people]
    conflicts = draw(st.lists(st.sampled_from(everyone), max_size=1))
    fairness = draw(st.sampled_from(["egalitarian", "utilitarian"]))
    return scenario(
        people,
        mentors,
        coaches,
        conflicts,
        fairness=fairness,
        exclude_same_service_area=draw(st.booleans()),
    )


def _lawful_by_contract(sc: Scenario, p: Applicant, who: Mentor | Coach) -> bool:
    """The contract's pair rules in plain Python, one pair at a time."""
    rules = sc.settings.matching
    managers = {a.applicant_id: a.line_manager_id for a in sc.applicants}
    chain, manager = set(), p.line_manager_id
    while manager and manager not in chain and manager != p.applicant_id:
        chain.add(manager)
        manager = managers.get(manager)
    who_id = who.mentor_id if isinstance(who, Mentor) else who.coach_id
    conflicts = {frozenset((c.person_a, c.person_b)) for c in sc.conflicts}
    if (
        who_id == p.applicant_id
        or who_id in chain
        or frozenset((who_id, p.applicant_id)) in conflicts
    ):
        return False
    if isinstance(who, Coach):
        return not who.councils or p.council in who.councils
    same_area = (who.council, who.service_area) == (p.council, p.service_area)
    return who.grade >= p.grade + rules.mentor_min_grade_gap and not (
        rules.exclude_same_service_area and same_area
    )


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.integers(-1, 3))
def test_rule_masks_agree_with_the_rule_words_on_generated_pools(sc, gap):
    # The masks Pool.build ands, the barrier words explain gives and the contract's rules read
    # pair by pair must name the same lawful pairs. Participants may also be mentors here.
    sc = sc.model_copy(
        update={
            "settings": sc.settings.model_copy(
                update={
                    "matching": sc.settings.matching.model_copy(
                        update={"mentor_min_grade_gap": gap}
                    )
                }
            ),
            "mentors": (*sc.mentors, mentor("P0", grade=12)),
        }
    )
    pool = Pool.build(sc, chosen(sc))
    relations = Relations(sc)
    for p in pool.participants:
        facts = relations.facts(p)
        for m in sc.mentors:
            lawful = _lawful_by_contract(sc, p, m)
            assert (not mentor_barriers(sc, facts, m)) == lawful, (p, m)
            if m.capacity > 0:
                assert (m.mentor_id in pool.mentor_options[p.applicant_id]) == lawful, (p, m)
        for c in sc.coaches:
            lawful = _lawful_by_contract(sc, p, c)
            assert (not coach_barriers(sc, facts, c)) == lawful, (p, c)
            if c.capacity > 0:
                assert (c.coach_id in pool.coach_options[p.applicant_id]) == lawful, (p, c)


def brute_force(sc: Scenario):
    """The best lawful matching by enumeration, judged only by the checker."""
    selected = chosen(sc)
    ids = [a.applicant_id for a in sc.applicants]
    best = None
    for ms in itertools.product([m.mentor_id for m in sc.mentors], repeat=len(ids)):
        for cs in itertools.product([c.coach_id for c in sc.coaches], repeat=len(ids)):
            rows = [
                Match(
                    participant_id=i,
                    cohort_id="main",
                    mentor_id=m,
                    coach_id=c,
                    mentor_fit=0,
                    coach_fit=0,
                )
                for i, m, c in zip(ids, ms, cs, strict=True)
            ]
            lawful = [v for v in violations(sc, selected, rows) if "fit" not in v]
            if lawful:
                continue
            value = objective(sc, selected, rows)
            key = (
                (value["min_fit"], value["total_fit"])
                if sc.settings.matching.fairness == "egalitarian"
                else (value["total_fit"],)
            )
            best = key if best is None or key > best else best
    return best


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_optimum_equals_brute_force(sc):
    best = brute_force(sc)
    if best is None:
        with pytest.raises(InfeasibleError):
            match(sc, chosen(sc), time_limit=10)
        return
    result = solve(sc)
    value = objective(sc, chosen(sc), result.matches)
    if sc.settings.matching.fairness == "egalitarian":
        assert (value["min_fit"], value["total_fit"]) == best
    else:
        assert (value["total_fit"],) == best


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.data())
def test_a_new_conflict_never_improves_the_optimum(sc, data):
    try:
        before = solve(sc)
    except InfeasibleError:
        return
    row = data.draw(st.sampled_from(before.matches))
    stricter = scenario(
        sc.applicants,
        sc.mentors,
        sc.coaches,
        [(c.person_a, c.person_b) for c in sc.conflicts] + [(row.mentor_id, row.participant_id)],
        **sc.settings.matching.model_dump(),
    )
    try:
        after = solve(stricter)
    except InfeasibleError:
        return
    key = (
        ("min_fit", "total_fit")
        if sc.settings.matching.fairness == "egalitarian"
        else ("total_fit",)
    )
    a, b = objective(sc, chosen(sc), before.matches), objective(sc, chosen(sc), after.matches)
    assert tuple(b[k] for k in key) <= tuple(a[k] for k in key)


# --------------------------------------------------------------------------- oxford-2024


@pytest.mark.parametrize("fairness", ["utilitarian", "egalitarian"])
def test_oxford_matching_passes_the_checker(fairness):
    from cohort_solver.stages.allocate.solve import allocate

    sc = load_scenario(OXFORD, [f"matching.fairness={fairness}"])
    selected = allocate(sc, time_limit=30, workers=2).selected()
    result = solve(sc, selected)
    assert [m.participant_id for m in result.matches] == sorted(o.applicant_id for o in selected)
    again = match(sc, selected, time_limit=20)
    assert again.matches == result.matches


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "header", "rows", "where"),
    [
        ("conflicts.csv", ["person_a", "person_b"], [["A1", "NOBODY"]], "conflicts.csv:2:2"),
        ("mentors.csv", ["mentor_id", "grade", "capacity"], [["M1", "9", "-1"]], "mentors.csv:2:3"),
        ("mentors.csv", ["mentor_id", "grade", "capacity"], [["M1", "", "1"]], "mentors.csv:2:2"),
        ("coaches.csv", ["coach_id", "capacity"], [["K1", "two"]], "coaches.csv:2:2"),
    ],
)
def test_bad_matching_input_points_at_the_cell(tmp_path, name, header, rows, where):
    folder = write_small(tmp_path / "s")
    write_csv(folder / name, header, rows)
    with pytest.raises(InputError) as error:
        load_scenario(folder)
    assert any(str(p).startswith(where) for p in error.value.problems), error.value.problems


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.randoms(use_true_random=False))
def test_row_order_never_changes_the_matching(sc, rnd):
    shuffled = [list(sc.applicants), list(sc.mentors), list(sc.coaches)]
    for rows in shuffled:
        rnd.shuffle(rows)
    other = scenario(
        *shuffled,
        [(c.person_a, c.person_b) for c in sc.conflicts][::-1],
        **sc.settings.matching.model_dump(),
    )
    try:
        first = match(sc, chosen(sc), time_limit=10)
    except InfeasibleError as error:
        with pytest.raises(InfeasibleError) as again:
            match(other, chosen(other)[::-1], time_limit=10)
        assert again.value.causes == error.causes
        return
    assert match(other, chosen(other)[::-1], time_limit=10).matches == first.matches
