"""The synthetic scenario generator: reproducible bytes, contract format, realism, feasibility."""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from cohort_solver.stages.allocate.eligibility import candidates
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.synthetic.generate import ATTRIBUTES, SERVICE_AREAS, generate_scenario

FILES = (
    "scenario.toml",
    "applicants.csv",
    "scores.csv",
    "mentors.csv",
    "coaches.csv",
    "programme.csv",
    "people.csv",
    "venues.csv",
    "unavailability.csv",
    "conflicts.csv",
)


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_scenario(
        tmp_path_factory.mktemp("gen") / "small",
        councils=5,
        applicants=400,
        cohorts=3,
        seed=7,
        mentors=40,
        coaches=9,
        venues=4,
    )


@pytest.mark.slow
def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    a = generate_scenario(tmp_path / "a", councils=7, applicants=300, cohorts=2, seed=11)
    b = generate_scenario(tmp_path / "b", councils=7, applicants=300, cohorts=2, seed=11)
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES)
    for name in FILES:
        data = (a / name).read_bytes()
        assert data == (b / name).read_bytes(), name
        assert b"\r\n" not in data, name


def test_a_different_seed_gives_a_different_scenario(tmp_path: Path) -> None:
    a = generate_scenario(tmp_path / "a", councils=7, applicants=300, cohorts=2, seed=1)
    b = generate_scenario(tmp_path / "b", councils=7, applicants=300, cohorts=2, seed=2)
    for name in ("applicants.csv", "scores.csv", "mentors.csv", "coaches.csv"):
        assert (a / name).read_bytes() != (b / name).read_bytes(), name


def test_the_folder_loads_cleanly_with_the_asked_counts(small: Path) -> None:
    scenario = load_scenario(small)
    assert scenario.warnings == ()
    assert len(scenario.applicants) == 400
    assert len(scenario.mentors) == 40
    assert len(scenario.coaches) == 9
    assert len(scenario.venues) == 4
    assert [c.id for c in scenario.cohorts] == ["c01", "c02", "c03"]
    assert {a.council for a in scenario.applicants} == {
        c for cohort in scenario.cohorts for c in cohort.councils or ()
    }
    assert len({a.council for a in scenario.applicants}) == 5
    # the seed's plan, every session, months 1 to 19
    assert [s.session_key for s in scenario.programme][:3] == ["IND", "W01", "C1"]
    assert len(scenario.programme) == 24
    assert max(s.month for s in scenario.programme) == 19
    # three panelists, 0-10 with one decimal; a few applicants unscored
    assert {s.panelist for s in scenario.scores} == {"panel-1", "panel-2", "panel-3"}
    assert all(0 <= s.score <= 10 and s.score == round(s.score, 1) for s in scenario.scores)
    scored = {s.applicant_id for s in scenario.scores}
    assert len(scenario.scores) == 3 * len(scored)
    assert 1 <= 400 - len(scored) <= 10


def test_applicants_look_like_a_council_workforce(small: Path) -> None:
    scenario = load_scenario(small)
    people = {p.person_id: p for p in scenario.people}
    for applicant in scenario.applicants:
        assert applicant.service_area in SERVICE_AREAS
        assert 5 <= applicant.grade <= 8
        assert 2 <= len(applicant.development_needs) <= 3
        assert set(applicant.development_needs) <= set(ATTRIBUTES)
        assert applicant.working_days in (
            ("Mon", "Tue", "Wed", "Thu", "Fri"),
            ("Mon", "Tue", "Wed", "Thu"),
            ("Tue", "Wed", "Thu", "Fri"),
        )
        manager = people[applicant.line_manager_id]
        assert manager.role == "line_manager"
        assert (manager.council, manager.service_area) == applicant.area
    load = Counter(a.line_manager_id for a in scenario.applicants)
    assert max(load.values()) <= 4
    heads = Counter(
        (p.council, p.service_area) for p in scenario.people if p.role == "head_of_service"
    )
    assert set(heads) == {a.area for a in scenario.applicants}
    assert set(heads.values()) == {1}
    roles = Counter(p.role for p in scenario.people)
    assert roles["facilitator"] == 2 and roles["cmt"] == 3
    grades = Counter(a.grade for a in scenario.applicants)
    assert grades[6] + grades[7] > 0.8 * 400
    # ineligible share ~25% (plus the few unscored), each with a reason from the contract
    failures = [c.failures for c in candidates(scenario)]
    assert 0.2 <= sum(bool(f) for f in failures) / 400 <= 0.33


def test_settings_follow_the_brief(small: Path) -> None:
    settings = tomllib.loads((small / "scenario.toml").read_text(encoding="utf-8"))
    selection = settings["selection"]
    assert selection["places"] == 12 and selection["reserves"] == 4
    assert selection["seed"] == 7
    (fence,) = selection["ring_fence"]
    assert fence["groups"] == ["woman", "minority_ethnic", "disabled"]
    assert fence["min_share"] == 0.75 and fence["unfilled"] == "release"
    assert selection["spread"] == {
        "max_per_service_area": 2,
        "min_service_areas": 4,
    }  # < 3 councils a cohort
    assert settings["positive_action"]["profile"]["woman"] == {"workforce": 0.6, "senior": 0.5}
    assert [c["councils"] for c in settings["cohorts"]] == [
        ["Stafford Borough Council"],
        ["Cannock Chase District Council", "Lichfield District Council"],
        ["Tamworth Borough Council", "East Staffordshire Borough Council"],
    ]


def test_one_cohort_and_a_council_cap(tmp_path: Path) -> None:
    folder = generate_scenario(tmp_path / "one", councils=6, applicants=120, seed=3)
    settings = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    assert "cohorts" not in settings
    assert settings["selection"]["spread"]["max_per_council"] == 4
    scenario = load_scenario(folder)
    assert [c.id for c in scenario.cohorts] == ["main"]
    # programme and people reference each other
    assert {s.facilitator for s in scenario.programme} - {None} <= {
        p.person_id for p in scenario.people
    }


@pytest.mark.slow
def test_numbered_councils_beyond_the_real_names(tmp_path: Path) -> None:
    folder = generate_scenario(tmp_path / "many", councils=80, applicants=1000, cohorts=20, seed=5)
    councils = {r["council"] for r in rows(folder, "applicants.csv")}
    assert len(councils) == 80
    assert "Council 80" in councils and "Stafford Borough Council" in councils
    scenario = load_scenario(folder)
    assert len(scenario.cohorts) == 20
    # with many cohorts the shared plan names no facilitator (one person cannot run 20 workshops)
    assert all(s.facilitator is None for s in scenario.programme)


@pytest.mark.slow
def test_protected_characteristics_follow_the_profile(tmp_path: Path) -> None:
    folder = generate_scenario(tmp_path / "big", councils=20, applicants=5000, cohorts=4, seed=9)
    table = rows(folder, "applicants.csv")
    for group, share in {"woman": 0.60, "minority_ethnic": 0.14, "disabled": 0.12}.items():
        values = Counter(r[group] for r in table)
        assert abs(values["yes"] / len(table) - share) <= 0.03, (group, values)
        assert 0 < values[""] < 0.1 * len(table)  # a few not declared


@pytest.mark.slow
def test_a_custom_profile(tmp_path: Path) -> None:
    profile = {"woman": 0.5, "disabled": 0.3}
    folder = generate_scenario(tmp_path / "p", councils=3, applicants=2000, seed=4, profile=profile)
    table = rows(folder, "applicants.csv")
    assert "minority_ethnic" not in table[0]
    assert abs(sum(r["disabled"] == "yes" for r in table) / 2000 - 0.3) <= 0.03
    load_scenario(folder)


def test_score_ties_and_part_time(tmp_path: Path) -> None:
    folder = generate_scenario(
        tmp_path / "t", councils=4, applicants=1000, seed=8, score_ties=0.2, part_time_share=0.5
    )
    by_applicant: dict[str, list[str]] = {}
    for row in rows(folder, "scores.csv"):
        by_applicant.setdefault(row["applicant_id"], []).append(row["score"])
    patterns = Counter(tuple(v) for v in by_applicant.values())
    assert sum(n for n in patterns.values() if n > 1) >= 2 * 0.2 * 1000 * 0.9
    part_time = sum(bool(r["working_days"]) for r in rows(folder, "applicants.csv"))
    assert 400 <= part_time <= 600


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="applicants"):
        generate_scenario(tmp_path / "x", councils=3, applicants=20, cohorts=2)
    with pytest.raises(ValueError, match="ineligible_share"):
        generate_scenario(tmp_path / "x", councils=3, applicants=200, ineligible_share=1.5)


@pytest.mark.slow
def test_allocation_fills_every_cohort(small: Path) -> None:
    scenario = load_scenario(small)
    allocation = allocate(scenario, time_limit=20)
    assert allocation.report.status == "optimal"
    filled = Counter(o.cohort_id for o in allocation.selected())
    assert filled == {"c01": 12, "c02": 12, "c03": 12}
    reserves = Counter(o.cohort_id for o in allocation.outcomes if o.status == "reserve")
    assert reserves == {"c01": 4, "c02": 4, "c03": 4}


def test_mentor_and_coach_capacity_leave_room(small: Path) -> None:
    scenario = load_scenario(small)
    places = sum(c.places for c in scenario.cohorts)
    assert sum(m.capacity for m in scenario.mentors) >= 1.3 * places
    assert all(m.grade >= 9 for m in scenario.mentors)
    assert sum(c.capacity for c in scenario.coaches) >= places
    for cohort in scenario.cohorts:
        for council in cohort.councils or ():
            serving = sum(c.capacity for c in scenario.coaches if c.serves(council))
            assert serving >= 1.5 * min(12, 4 if len(cohort.councils or ()) >= 3 else 12)
    assert all(v.capacity >= 16 for v in scenario.venues)


def test_fewer_councils_than_cohorts_gives_each_applicant_one_intake(tmp_path: Path) -> None:
    folder = generate_scenario(tmp_path / "shared", councils=2, applicants=200, cohorts=5, seed=3)
    scenario = load_scenario(folder)
    assert [c.councils for c in scenario.cohorts] == [
        ("Stafford Borough Council",),
        ("Stafford Borough Council",),
        ("Stafford Borough Council",),
        ("Cannock Chase District Council",),
        ("Cannock Chase District Council",),
    ]
    assert all(len(a.cohorts) == 1 for a in scenario.applicants)
    allocation = allocate(scenario, time_limit=20)
    assert Counter(o.cohort_id for o in allocation.selected()) == {
        f"c0{i}": 12 for i in range(1, 6)
    }


def _max_flow(pairs: list[tuple[str, str]], capacity: dict[str, int], people: list[str]) -> int:
    """Most participants that can each get one supporter, within the supporters' capacities."""
    from ortools.graph.python import max_flow

    flow = max_flow.SimpleMaxFlow()
    index = {name: i for i, name in enumerate(["source", "sink", *people, *capacity])}
    for person in people:
        flow.add_arc_with_capacity(index["source"], index[person], 1)
    for supporter, cap in capacity.items():
        flow.add_arc_with_capacity(index[supporter], index["sink"], cap)
    for person, supporter in pairs:
        flow.add_arc_with_capacity(index[person], index[supporter], 1)
    assert flow.solve(index["source"], index["sink"]) == flow.OPTIMAL
    return flow.optimal_flow()


@pytest.mark.slow
def test_the_selected_participants_can_all_be_matched(small: Path) -> None:
    """The contract's hard matching rules leave a mentor and a coach for everyone selected."""
    scenario = load_scenario(small)
    chosen = {o.applicant_id for o in allocate(scenario, time_limit=20).selected()}
    participants = [a for a in scenario.applicants if a.applicant_id in chosen]
    conflicts = {frozenset((c.person_a, c.person_b)) for c in scenario.conflicts}
    gap = scenario.settings.matching.mentor_min_grade_gap
    mentor_pairs = [
        (p.applicant_id, m.mentor_id)
        for p in participants
        for m in scenario.mentors
        if m.grade >= p.grade + gap
        and (m.council, m.service_area) != p.area
        and m.mentor_id != p.line_manager_id
        and frozenset((m.mentor_id, p.applicant_id)) not in conflicts
    ]
    coach_pairs = [
        (p.applicant_id, c.coach_id)
        for p in participants
        for c in scenario.coaches
        if c.serves(p.council) and frozenset((c.coach_id, p.applicant_id)) not in conflicts
    ]
    ids = [p.applicant_id for p in participants]
    mentors = {m.mentor_id: m.capacity for m in scenario.mentors}
    coaches = {c.coach_id: c.capacity for c in scenario.coaches}
    assert _max_flow(mentor_pairs, mentors, ids) == len(ids) == 36
    assert _max_flow(coach_pairs, coaches, ids) == len(ids)


# --------------------------------------------------------------------------- calendar families


def test_calendar_families_are_off_by_default(tmp_path: Path) -> None:
    # The families change nothing unless asked for: the same bytes as without them.
    plain = generate_scenario(tmp_path / "a", councils=4, applicants=300, cohorts=2, seed=5)
    named = generate_scenario(
        tmp_path / "b",
        councils=4,
        applicants=300,
        cohorts=2,
        seed=5,
        months=19,
        after_chains=False,
        shared_facilitators=5,
        participant_unavailability_share=0.0,
        group_weekdays=("Tue", "Wed", "Thu"),
    )
    for name in FILES:
        assert (plain / name).read_bytes() == (named / name).read_bytes(), name


def test_after_chains_run_across_kinds_and_people(tmp_path: Path) -> None:
    folder = generate_scenario(
        tmp_path / "s", councils=3, applicants=200, cohorts=1, seed=2, after_chains=True
    )
    plan = {r["session_key"]: r for r in rows(folder, "programme.csv")}
    # workshop -> coaching -> line-manager review, all in month 4
    assert plan["C2"]["after"] == "W03" and plan["R-LM1"]["after"] == "C2"
    assert plan["W03"]["month"] == plan["C2"]["month"] == plan["R-LM1"]["month"] == "4"
    assert plan["R-HOS1"]["after"] == "C5" and plan["C5"]["after"] == "W09"
    for key in ("C3", "C4"):
        before = plan[key]["after"]
        assert plan[before]["kind"] == "group" and plan[before]["month"] == plan[key]["month"]


def test_a_24_month_programme_keeps_each_month_together(tmp_path: Path) -> None:
    folder = generate_scenario(
        tmp_path / "s", councils=3, applicants=200, cohorts=1, seed=2, months=24
    )
    plan = {r["session_key"]: int(r["month"]) for r in rows(folder, "programme.csv")}
    assert plan["IND"] == 1 and plan["C7"] == 24
    assert plan["W01"] == plan["C1"] and plan["W11"] == plan["C6"]  # `after` stays in its month
    assert list(plan.values()) == sorted(plan.values())
    load_scenario(folder)  # and it is a valid scenario
    short = generate_scenario(tmp_path / "t", councils=3, applicants=200, cohorts=1, months=3)
    assert [r["session_key"] for r in rows(short, "programme.csv")] == ["IND", "W01", "C1", "W02"]


def test_shared_facilitators_absent_participants_and_tight_venues(tmp_path: Path) -> None:
    folder = generate_scenario(
        tmp_path / "s",
        councils=8,
        applicants=800,
        cohorts=8,
        seed=4,
        venues=2,
        shared_facilitators=8,
        participant_unavailability_share=0.2,
        part_time_share=0.3,
        group_weekdays=("Wed",),
    )
    plan = rows(folder, "programme.csv")
    assert {r["facilitator"] for r in plan if r["kind"] == "group"} == {"FAC1", "FAC2"}
    applicant_ids = {r["applicant_id"] for r in rows(folder, "applicants.csv")}
    away = [r["id"] for r in rows(folder, "unavailability.csv") if r["id"] in applicant_ids]
    assert len(away) == round(0.2 * 800)
    part_time = [r for r in rows(folder, "applicants.csv") if r["working_days"]]
    assert 0.2 < len(part_time) / 800 < 0.4
    assert len(rows(folder, "venues.csv")) == 2
    settings = tomllib.loads((folder / "scenario.toml").read_text())
    assert settings["calendar"]["group_weekdays"] == ["Wed"]
    load_scenario(folder)


def test_bad_calendar_family_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="months"):
        generate_scenario(tmp_path / "a", councils=2, applicants=100, months=0)
    with pytest.raises(ValueError, match="group_weekdays"):
        generate_scenario(tmp_path / "b", councils=2, applicants=100, group_weekdays=("Sun",))
