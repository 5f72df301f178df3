"""Grades as ordered labels (contract: [grades] order): NHS Agenda for Change bands, with
eligibility and the mentor grade gap on the declared order, re-checked independently."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.matching import violations as matching_violations
from cohort_solver.errors import InputError
from cohort_solver.stages.allocate.explain import explain_applicant
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.pool import Pool
from cohort_solver.stages.match.rules import Relations, mentor_barriers
from cohort_solver.stages.match.solve import match

from .conftest import write_csv

BANDS = '["2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9"]'

TOML = f"""\
[programme]
name = "Aspiring Leaders"
organisation = "Staffordshire NHS"
start = "2019-04-01"

[selection]
mode = "open"
places = 4
eligible_grades = ["7", "8a", "8b"]
seed = 3

[grades]
order = {BANDS}

[matching]
mentor_min_grade_gap = 2
exclude_same_service_area = false
"""

APPLICANTS = [  # id, grade cell
    ("N1", "7"),
    ("N2", "8A"),  # case is forgiven
    ("N3", " 8b "),
    ("N4", "8c"),  # not eligible
    ("N5", "6"),  # not eligible
]
MENTORS = [  # id, grade cell: 8a+2 = 8c, 8b+2 = 8d, 7+2 = 8b
    ("M1", "8b"),
    ("M2", "8c"),
    ("M3", "8d"),
    ("M4", "9"),
]


def write(folder: Path, toml: str = TOML, applicants=APPLICANTS, mentors=MENTORS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(toml)
    write_csv(
        folder / "applicants.csv",
        [
            "applicant_id",
            "council",
            "service_area",
            "grade",
            "probation_passed",
            "line_manager_approved",
            "performance_eligible",
        ],
        [(a, "Trust", "Nursing", g, "yes", "yes", "yes") for a, g in applicants],
    )
    write_csv(
        folder / "mentors.csv",
        ["mentor_id", "council", "service_area", "grade", "capacity"],
        [(m, "Trust", "Executive", g, 2) for m, g in mentors],
    )
    return folder


def test_bands_decide_eligibility_on_the_declared_order(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path / "s"))
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    status = {o.applicant_id: (o.status, str(o.reason)) for o in result.outcomes}
    assert [a for a, (s, _) in status.items() if s == "selected"] == ["N1", "N2", "N3"]
    assert status["N4"] == ("ineligible", "grade") and status["N5"] == ("ineligible", "grade")
    text = explain_applicant(scenario, result.outcomes, "N4", time_limit=10, workers=1)
    assert "grade 8c is not one of the eligible grades 7, 8a, 8b" in text


def test_the_mentor_grade_gap_counts_bands_in_the_order(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path / "s"))
    allocation = allocate(scenario, time_limit=20)
    selected = allocation.selected()
    pool = Pool.build(scenario, selected)
    # Two bands up: 7 -> 8b or higher; 8a -> 8c or higher; 8b -> 8d or higher.
    assert sorted(pool.mentor_options["N1"]) == ["M1", "M2", "M3", "M4"]
    assert sorted(pool.mentor_options["N2"]) == ["M2", "M3", "M4"]
    assert sorted(pool.mentor_options["N3"]) == ["M3", "M4"]
    result = match(scenario, selected, time_limit=20)
    assert matching_violations(scenario, selected, result.matches) == []
    n3 = next(a for a in scenario.applicants if a.applicant_id == "N3")
    m1 = next(m for m in scenario.mentors if m.mentor_id == "M1")
    assert mentor_barriers(scenario, Relations(scenario).facts(n3), m1) == [
        "grade 8b is not 2 grades above 8b in the [grades] order"
    ]


def test_a_band_outside_the_order_is_bad_input_at_its_cell(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", applicants=[*APPLICANTS, ("N6", "8e")])
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("applicants.csv", 7, 4)
    assert "'8e' is not in [grades] order (2, 3, 4, 5, 6, 7, 8a, 8b, 8c, 8d, 9)" in problem.message


def test_an_eligible_band_outside_the_order_is_bad_input(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", TOML.replace('"8b"]\nseed', '"8e"]\nseed'))
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    assert any(
        "eligible grade '8e' is not in [grades] order" in str(p) for p in caught.value.problems
    )


def test_labels_without_an_order_say_how_to_declare_one(tmp_path: Path) -> None:
    toml = TOML.split("[grades]")[0] + "[matching]\nexclude_same_service_area = false\n"
    folder = write(tmp_path / "s", toml)
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    assert any("declare the order of the grades" in str(p) for p in caught.value.problems)


def test_repeated_labels_are_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", TOML.replace('"8d", "9"]', '"8D", "8d"]'))
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    assert any("grade labels must be distinct" in str(p) for p in caught.value.problems)


def test_council_grades_so_po_in_an_order(tmp_path: Path) -> None:
    toml = (
        TOML.replace(BANDS, '["Scale 6", "SO1", "SO2", "PO1", "PO2", "PO3"]')
        .replace('["7", "8a", "8b"]', '["SO2", "PO1"]')
        .replace("mentor_min_grade_gap = 2", "mentor_min_grade_gap = 1")
    )
    folder = write(
        tmp_path / "s",
        toml,
        applicants=[("C1", "so2"), ("C2", "PO1"), ("C3", "SO1")],
        mentors=[("M1", "PO2"), ("M2", "PO3")],
    )
    scenario = load_scenario(folder)
    result = allocate(scenario, time_limit=20)
    assert allocation_violations(scenario, result.outcomes) == []
    assert [o.applicant_id for o in result.selected()] == ["C1", "C2"]
    matched = match(scenario, result.selected(), time_limit=20)
    assert matching_violations(scenario, result.selected(), matched.matches) == []
