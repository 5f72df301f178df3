"""Bad input: exit 2, every problem as file:row:column, and the out folder left untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main

from .conftest import SMALL_TOML, write_csv, write_small

# Columns of the small applicants.csv: 1 applicant_id, 2 name, 3 email, 4 council, 5 service_area,
# 6 grade, 7 probation_passed, 8 line_manager_approved, 9 performance_eligible, 10 woman, ...
# Rows count as a spreadsheet shows them: 1 = header, 2 = A1, 3 = A2, ...


def edit(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    return mutate


def add_file(name: str, header: list[str], rows: list[tuple]) -> Callable[[Path], None]:
    return lambda folder: write_csv(folder / name, header, rows)


def write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def latin1_name(folder: Path) -> None:
    path = folder / "applicants.csv"
    path.write_bytes(path.read_bytes().replace(b"Name A2", "Zoë A2".encode("latin-1")))


def add_column(folder: Path, name: str, cells: dict[str, str]) -> None:
    import csv

    path = folder / "applicants.csv"
    rows = list(csv.reader(path.read_text().splitlines()))
    write_csv(path, rows[0] + [name], [row + [cells.get(row[0], "")] for row in rows[1:]])


def corrupt_xlsx(folder: Path) -> None:
    (folder / "applicants.csv").unlink()
    (folder / "applicants.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")


MENTORS = [
    "mentor_id",
    "name",
    "email",
    "council",
    "service_area",
    "grade",
    "capacity",
    "expertise",
]
COACHES = ["coach_id", "name", "email", "capacity", "expertise", "councils", "working_days"]
OUTCOMES = ["participant_id", "completed", "outcome", "outcome_date"]
PEOPLE = ["person_id", "name", "email", "role", "council", "service_area"]
PROGRAMME = [
    "session_key",
    "title",
    "kind",
    "month",
    "duration_minutes",
    "facilitator",
    "with",
    "after",
]

CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "non-UTF-8 file": (latin1_name, "applicants.csv:3:2: the file is not UTF-8"),
    "corrupt xlsx": (corrupt_xlsx, "applicants.xlsx:1:1: cannot open the workbook"),
    "duplicate applicant id": (
        edit("applicants.csv", "A2,", "A1,"),
        "applicants.csv:3:1: duplicate applicant_id 'A1'",
    ),
    "unknown yes/no word": (
        edit(
            "applicants.csv",
            "A1,Name A1,a1@test.gov.uk,Test Council,Housing,6,yes",
            "A1,Name A1,a1@test.gov.uk,Test Council,Housing,6,maybe",
        ),
        "applicants.csv:2:7: probation_passed: 'maybe' is not yes or no",
    ),
    "score for unknown applicant": (
        edit("scores.csv", "A6,P2", "A99,P2"),
        "scores.csv:13:1: score for unknown applicant 'A99'",
    ),
    "malformed toml": (edit("scenario.toml", "places = 3", "places = = 3"), "scenario.toml:9:"),
    "ring fence larger than cohort": (
        edit("scenario.toml", "min_places = 2", "min_places = 5"),
        "scenario.toml:8:1: selection: ring fence 'under-represented' holds 5",
    ),
    "both min_places and min_share": (
        edit("scenario.toml", "min_places = 2", "min_places = 2\nmin_share = 0.5"),
        "scenario.toml:16:1: selection.ring_fence.0: ",
    ),
    "grade not a number": (
        edit("applicants.csv", "Housing,6", "Housing,six"),
        "applicants.csv:2:6: grade: 'six' is not a whole number",
    ),
    "required column missing": (
        edit("applicants.csv", ",grade,", ",level,"),
        "applicants.csv:1:13: required column 'grade' is missing",
    ),
    "applicants.csv missing": (
        lambda f: (f / "applicants.csv").unlink(),
        "applicants.csv:1:1: applicants.csv is missing",
    ),
    "score not a number": (
        edit("scores.csv", "A1,P1,7", "A1,P1,seven"),
        "scores.csv:2:3: score: 'seven' is not a number",
    ),
    "panelist scored twice": (
        edit("scores.csv", "A1,P2,8", "A1,P1,8"),
        "scores.csv:3:3: panelist 'P1' scored 'A1' twice (also row 2)",
    ),
    "email without @": (
        edit("applicants.csv", "a1@test.gov.uk", "a1.test.gov.uk"),
        "applicants.csv:2:3: email: 'a1.test.gov.uk' does not look like an email address",
    ),
    "unknown aggregate": (
        edit("scenario.toml", 'aggregate = "mean"', 'aggregate = "average"'),
        "scenario.toml:11:1: selection.aggregate: ",
    ),
    "unknown time zone": (
        edit("scenario.toml", 'timezone = "Europe/London"', 'timezone = "Mars/Olympus"'),
        "scenario.toml:5:1: programme.timezone: unknown time zone",
    ),
    "row with too many cells": (
        edit("applicants.csv", "A3,Name A3", "A3,extra,Name A3"),
        "applicants.csv:4:13: this row has 13 cells but the header has 12",
    ),
    "duplicate column": (
        edit("applicants.csv", ",woman,", ",grade,"),
        "applicants.csv:1:10: column 'grade' appears twice",
    ),
    "empty applicants file": (
        write_bytes("applicants.csv", b""),
        "applicants.csv:1:1: the file is empty",
    ),
    "mentor with blank grade": (
        add_file("mentors.csv", MENTORS, [("M1", "Mo", "", "X", "Y", "", 1, "")]),
        "mentors.csv:2:6: grade is blank",
    ),
    "negative coach capacity": (
        add_file("coaches.csv", COACHES, [("C1", "Cy", "", -2, "", "", "")]),
        "coaches.csv:2:4: capacity: must be at least 0",
    ),
    "unknown weekday": (
        add_file("coaches.csv", COACHES, [("C1", "Cy", "", 2, "", "", "Mon;Funday")]),
        "coaches.csv:2:7: working_days: 'Funday' is not a weekday",
    ),
    "conflict with unknown person": (
        add_file("conflicts.csv", ["person_a", "person_b"], [("A1", "M404")]),
        "conflicts.csv:2:2: person_b: unknown person 'M404'",
    ),
    "venue of no seats": (
        add_file(
            "venues.csv", ["venue_id", "name", "capacity", "council"], [("V1", "Hall", 0, "")]
        ),
        "venues.csv:2:3: capacity: must be more than 0",
    ),
    "session not on the slot grid": (
        add_file("programme.csv", PROGRAMME, [("W01", "Workshop", "group", 1, 45, "", "", "")]),
        "programme.csv:2:5: duration 45 is not a multiple of slot_minutes=30",
    ),
    "session after an unknown session": (
        add_file(
            "programme.csv", PROGRAMME, [("C1", "Coaching", "coaching", 2, 60, "", "", "W99")]
        ),
        "programme.csv:2:8: after: unknown session 'W99'",
    ),
    "unavailability ends before it starts": (
        add_file(
            "unavailability.csv", ["id", "start", "end"], [("A1", "2024-05-10", "2024-05-01")]
        ),
        "unavailability.csv:2:3: end is before start",
    ),
    "outcome for an unknown participant": (
        add_file("outcomes.csv", OUTCOMES, [("A99", "yes", "promotion", "2024-10-01")]),
        "outcomes.csv:2:1: participant_id: 'A99' is not an applicant in applicants.csv",
    ),
    "outcome completed not yes or no": (
        add_file("outcomes.csv", OUTCOMES, [("A1", "maybe", "none", "")]),
        "outcomes.csv:2:2: completed: 'maybe' is not yes or no",
    ),
    "outcome of an unknown kind": (
        add_file("outcomes.csv", OUTCOMES, [("A1", "yes", "promoted", "")]),
        "outcomes.csv:2:3: outcome: 'promoted' is not one of promotion, grade_increase",
    ),
    "outcome date not a date": (
        add_file("outcomes.csv", OUTCOMES, [("A1", "yes", "promotion", "31/01/2025")]),
        "outcomes.csv:2:4: outcome_date: '31/01/2025' is not an ISO date",
    ),
    "outcome before the programme": (
        add_file("outcomes.csv", OUTCOMES, [("A1", "yes", "promotion", "2023-05-01")]),
        "outcomes.csv:2:4: outcome_date 2023-05-01 is before the programme started (2024-04-01)",
    ),
    "participant with two outcome rows": (
        add_file(
            "outcomes.csv",
            OUTCOMES,
            [("A1", "yes", "none", ""), ("A1", "yes", "promotion", "2025-01-01")],
        ),
        "outcomes.csv:3:1: duplicate participant_id 'A1' (first on row 2)",
    ),
    "eligible applicant without a head of service": (
        lambda f: (
            add_file(
                "people.csv",
                PEOPLE,
                [
                    ("HOS-H", "Hana", "", "head_of_service", "Test Council", "Housing"),
                    ("HOS-F", "Fred", "", "head_of_service", "Test Council", "Finance"),
                    ("LM1", "Lee", "", "line_manager", "Test Council", "Housing"),
                ],
            )(f),
            add_column(f, "line_manager_id", {f"A{i}": "LM1" for i in range(1, 7)}),
            add_file(
                "programme.csv",
                PROGRAMME,
                [
                    (
                        "R-HOS1",
                        "Review with Head of Service",
                        "review",
                        10,
                        60,
                        "",
                        "head_of_service",
                        "",
                    )
                ],
            )(f),
        ),
        "applicants.csv:7:5: A6 is eligible and session R-HOS1 is held with their head of service, but people.csv "
        "has no head_of_service for council 'Test Council', service area 'Planning'",
    ),
    "unknown cohort preference": (
        lambda f: add_column(f, "cohorts", {"A1": "north"}),
        "applicants.csv:2:13: cohorts: unknown cohort 'north' (the cohorts are main)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_naming_the_cell_and_writes_nothing(case: str, tmp_path: Path) -> None:
    mutate, expected = CASES[case]
    folder = write_small(tmp_path / "scenario")
    mutate(folder)
    out = tmp_path / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("earlier result\n")
    fresh = tmp_path / "never-created"
    runner = CliRunner()
    for target in (out, fresh):
        result = runner.invoke(main, ["allocate", str(folder), "--out", str(target), "--quiet"])
        assert result.exit_code == 2, result.output
        assert expected in result.output, result.output
        assert "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["allocation.csv"]
    assert (out / "allocation.csv").read_text() == "earlier result\n"
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    for mutate in (
        edit("applicants.csv", "Housing,6", "Housing,six"),
        edit("scores.csv", "A6,P2", "A99,P2"),
        edit("scenario.toml", 'aggregate = "mean"', 'aggregate = "average"'),
    ):
        mutate(folder)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if ": " in line]
    assert [line.split(":")[0] for line in lines] == [
        "scenario.toml",
        "applicants.csv",
        "scores.csv",
    ]


def test_bad_set_override_points_at_the_override(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s", SMALL_TOML)
    result = CliRunner().invoke(
        main,
        ["validate", str(folder), "--set", "selection.seed=1", "--set", "selection.places=lots"],
    )
    assert result.exit_code == 2
    assert "--set:2:1: selection.places: must be a whole number (got 'lots')" in result.output


def test_a_missing_head_of_service_matters_only_for_eligible_applicants(tmp_path: Path) -> None:
    # A5 (Planning) is grade 8, so never selectable: only A6 (Planning, eligible) is reported.
    folder = write_small(tmp_path / "s")
    CASES["eligible applicant without a head of service"][0](folder)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2
    assert [line.split(":")[:2] for line in result.output.splitlines()] == [["applicants.csv", "7"]]
    write_csv(
        folder / "people.csv",
        PEOPLE,
        [
            (f"HOS-{area[0]}", area, "", "head_of_service", "Test Council", area)
            for area in ("Housing", "Finance", "Planning")
        ]
        + [("LM1", "Lee", "", "line_manager", "Test Council", "Housing")],
    )
    assert CliRunner().invoke(main, ["validate", str(folder)]).exit_code == 0
