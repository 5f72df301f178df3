"""Bad input: exit 2, every problem as file:row:column, and the out folder left untouched."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main

from .conftest import SMALL_TOML, write_csv, write_small
from .sheets import csv_as_xlsx, write_xlsx

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
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return mutate


def both(*mutations: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        for mutation in mutations:
            mutation(folder)

    return mutate


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


class Case(NamedTuple):
    """One kind of bad input: how to break the small scenario, and what the user must read."""

    mutate: Callable[[Path], None]
    expected: str | tuple[str, ...]  # each a file:row:column: message (prefix)
    args: tuple[str, ...] = ()  # extra command-line arguments (--set ...)
    never: tuple[str, ...] = ()  # text that must not be printed (a protected value)


CASES: dict[str, Case | tuple[Any, ...]] = {
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
    "participant whose outcome rows disagree on completion": (
        add_file(
            "outcomes.csv",
            OUTCOMES,
            [("A1", "yes", "none", ""), ("A1", "no", "promotion", "2025-01-01")],
        ),
        "outcomes.csv:3:2: completed: 'A1' has completed = yes on row 2",
    ),
    "eligible applicant without a head of service": (
        both(
            add_file(
                "people.csv",
                PEOPLE,
                [
                    ("HOS-H", "Hana", "", "head_of_service", "Test Council", "Housing"),
                    ("HOS-F", "Fred", "", "head_of_service", "Test Council", "Finance"),
                    ("LM1", "Lee", "", "line_manager", "Test Council", "Housing"),
                ],
            ),
            lambda f: add_column(f, "line_manager_id", {f"A{i}": "LM1" for i in range(1, 7)}),
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
            ),
        ),
        "applicants.csv:7:5: A6 is eligible and session R-HOS1 is held with their head of service, but people.csv "
        "has no head_of_service for council 'Test Council', service area 'Planning'",
    ),
    "unknown cohort preference": (
        lambda f: add_column(f, "cohorts", {"A1": "north"}),
        "applicants.csv:2:13: cohorts: unknown cohort 'north' (the cohorts are main)",
    ),
}


# ------------------------------------------------------------------ issue 13: the loader's corpus
# Rows count as a spreadsheet shows them (header = 1), whatever line breaks quoted cells hold.

A1_ROW = "A1,Name A1,a1@test.gov.uk,Test Council,Housing,6,yes,yes,yes,yes,,"
VENUES = ["venue_id", "name", "capacity", "council"]
UNAVAILABILITY = ["id", "start", "end"]


def with_toml(extra: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / "scenario.toml"
        path.write_text(path.read_text() + extra)

    return mutate


def symlink(name: str, target: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        if (folder / name).exists():
            (folder / name).unlink()
        os.symlink(target, folder / name)

    return mutate


def folder_instead(name: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        if (folder / name).exists():
            (folder / name).unlink()
        (folder / name).mkdir()

    return mutate


def applicants_xlsx(cell: Callable[[str, str, str], Any], **options: Any) -> Callable[[Path], None]:
    """applicants.csv as applicants.xlsx; ``cell(applicant_id, column, text)`` types a cell."""

    def mutate(folder: Path) -> None:
        rows: list[str] = []

        def typed(column: str, text: str) -> Any:
            if column == "applicant_id":
                rows.append(text)
            return cell(rows[-1], column, text)

        csv_as_xlsx(folder, "applicants", typed, **options)

    return mutate


def one_cell(applicant: str, column: str, value: Any) -> Callable[[str, str, str], Any]:
    return lambda a, c, text: value if (a, c) == (applicant, column) else text


def unavailable(*rows: tuple[str, str, str]) -> Callable[[Path], None]:
    return add_file("unavailability.csv", UNAVAILABILITY, list(rows))


PERSON_P1 = add_file("people.csv", PEOPLE, [("P1", "Pat", "", "facilitator", "", "")])
MENTOR = ("M1", "Mo", "", "Test Council", "Other", 10, 1, "")
COACH = ("C1", "Cy", "", 6, "", "", "")
REVIEW = ("R-LM1", "Review with line manager", "review", 4, 60, "", "line_manager", "")

CASES.update(
    {
        # -- dates: one grammar everywhere, the window, real dates and times
        "unavailability date spelled day/month/year": (
            unavailable(("A1", "05/11/2024", "2024-11-06")),
            "unavailability.csv:2:2: start: '05/11/2024' is not an ISO date or date-time",
        ),
        "unavailability date that does not exist": (
            unavailable(("A1", "2024-02-30", "2024-03-01")),
            "unavailability.csv:2:2: start: '2024-02-30' is not a real date",
        ),
        "unavailability at year 1": (
            unavailable(("A1", "0001-01-01", "2024-03-01")),
            "unavailability.csv:2:2: start: the date must be between 1900-01-01 and 2199-12-31",
        ),
        "unavailability to year 9999": (
            unavailable(("A1", "2024-03-01", "9999-12-31")),
            "unavailability.csv:2:3: end: the date must be between 1900-01-01 and 2199-12-31",
        ),
        "unavailability with an impossible UTC offset": (
            unavailable(("A1", "2024-11-05T09:00+25:00", "2024-11-05T12:00")),
            "unavailability.csv:2:2: start: '2024-11-05T09:00+25:00' has an impossible UTC offset",
        ),
        "unavailability that blocks nothing": (
            unavailable(("A1", "2024-11-05T09:00", "2024-11-05T09:00")),
            "unavailability.csv:2:3: end is the same moment as start: nothing is blocked",
        ),
        "outcome date with a time of day": (
            add_file("outcomes.csv", OUTCOMES, [("A1", "yes", "promotion", "2024-10-01T13:00")]),
            "outcomes.csv:2:4: outcome_date: '2024-10-01T13:00' has a time of day",
        ),
        "programme start at year 1": (
            edit("scenario.toml", 'start = "2024-04-01"', 'start = "0001-01-01"'),
            "scenario.toml:4:1: programme.start: the date must be between 1900-01-01 and 2199-12-31",
        ),
        "programme start at year 9999": (
            edit("scenario.toml", 'start = "2024-04-01"', "start = 9999-12-01"),
            "scenario.toml:4:1: programme.start: the date must be between 1900-01-01 and 2199-12-31",
        ),
        "programme start written as a number": (
            edit("scenario.toml", 'start = "2024-04-01"', "start = 20240401"),
            'scenario.toml:4:1: programme.start: write the date as text, e.g. "2024-04-01"',
        ),
        "day start written as a number": (
            with_toml("\n[calendar]\nday_start = 9\n"),
            'scenario.toml:27:1: calendar.day_start: write the time of day as text, e.g. "09:00"',
        ),
        # -- xlsx cells: what Excel shows, or a refusal at the cell
        "xlsx formula with no saved value in a protected column": Case(
            applicants_xlsx(one_cell("A1", "woman", '=IF(TRUE,"yes","no")')),
            "applicants.xlsx:2:10: woman: the cell holds a formula with no saved value: open the "
            "file in Excel and save it",
            never=("IF(",),
        ),
        "xlsx Excel error in a cell": (
            applicants_xlsx(one_cell("A2", "grade", "#N/A")),
            "applicants.xlsx:3:6: grade: the cell holds the Excel error #N/A",
        ),
        "xlsx number too long for Excel in an id": (
            applicants_xlsx(one_cell("A3", "applicant_id", 12345678901234567890)),
            "applicants.xlsx:4:1: applicant_id: the cell holds a number too long for Excel",
        ),
        "xlsx date in a column that is not a date": (
            applicants_xlsx(one_cell("A1", "grade", date(2024, 1, 6))),
            "applicants.xlsx:2:6: grade: the cell is a date in the workbook (2024-01-06), but "
            "grade is not a date",
        ),
        "xlsx date in a protected column is not echoed": Case(
            applicants_xlsx(one_cell("A1", "disabled", datetime(2031, 7, 9, 10, 17))),
            "applicants.xlsx:2:12: disabled: the cell is a datetime in the workbook, but disabled "
            "is not a date",
            never=("2031",),
        ),
        "xlsx time of day without a date": (
            lambda f: write_xlsx(
                f / "unavailability.xlsx", UNAVAILABILITY, [("A1", time(9, 0), date(2024, 11, 5))]
            ),
            "unavailability.xlsx:2:2: start: the cell is a time of day without a date",
        ),
        "xlsx with every sheet hidden": (
            applicants_xlsx(lambda a, c, text: text, every_sheet_hidden=True),
            "applicants.xlsx:1:1: every sheet of the workbook is hidden",
        ),
        # -- CSV rows and quotes, located at the spreadsheet's row and cell
        "short row that stops after performance_eligible": (
            edit(
                "applicants.csv",
                A1_ROW,
                "A1,Name A1,a1@test.gov.uk,Test Council,Housing,6,yes,yes,yes",
            ),
            "applicants.csv:2:10: this row has 9 cells but the header has 12: add the missing cells",
        ),
        "unterminated quote": (
            edit("applicants.csv", "A3,Name A3", 'A3,"Name A3'),
            'applicants.csv:4:2: this cell opens a quote (") that is never closed',
        ),
        "text after a closing quote": (
            edit("applicants.csv", "A3,Name A3", 'A3,"Name" A3'),
            "applicants.csv:4:2: text follows the closing quote of this cell",
        ),
        "quoted line breaks do not shift row numbers": (
            both(
                edit("applicants.csv", "A2,Name A2", 'A2,"Name\nA2"'),
                edit("applicants.csv", "Finance,7,yes,no", "Finance,seven,yes,no"),
            ),
            (
                "applicants.csv:3:2: name: contains a line break (U+000A)",
                "applicants.csv:5:6: grade: 'seven' is not a whole number",
            ),
        ),
        "non-UTF-8 byte after a quoted line break": (
            lambda f: (f / "applicants.csv").write_bytes(
                (f / "applicants.csv")
                .read_bytes()
                .replace(b"A1,Name A1", b'A1,"Name\nA1"')
                .replace(
                    b"A2,Name A2,a2@test.gov.uk,Test Council",
                    b"A2,Name A2,a2@test.gov.uk,Test C\xf6uncil",
                )
            ),
            "applicants.csv:3:4: the file is not UTF-8 text (byte 0xf6 in this cell)",
        ),
        "semicolon-separated file": (
            lambda f: (f / "scores.csv").write_text(
                (f / "scores.csv").read_text().replace(",", ";")
            ),
            "scores.csv:1:1: the columns are separated by semicolons, not commas",
        ),
        "Excel sep= line above the header": (
            lambda f: (f / "scores.csv").write_text("sep=,\n" + (f / "scores.csv").read_text()),
            "scores.csv:1:1: row 1 is Excel's 'sep=' hint, not the header: delete that line",
        ),
        "UTF-16 file": (
            lambda f: (f / "scores.csv").write_bytes(
                (f / "scores.csv").read_text().encode("utf-16")
            ),
            "scores.csv:1:1: the file is UTF-16 text",
        ),
        # -- files: only a file that is not there is absent
        "dangling symbolic link": (
            symlink("conflicts.csv", "conflicts-2023.csv"),
            "conflicts.csv:1:1: conflicts.csv is a symbolic link to conflicts-2023.csv, which does "
            "not exist",
        ),
        "symbolic link that loops": (
            symlink("conflicts.csv", "conflicts.csv"),
            "conflicts.csv:1:1: conflicts.csv is a symbolic link that loops",
        ),
        "folder in place of a file": (
            folder_instead("scores.csv"),
            "scores.csv:1:1: scores.csv is a folder, not a file",
        ),
        "folder in place of scenario.toml": (
            folder_instead("scenario.toml"),
            "scenario.toml:1:1: scenario.toml is a folder, not a file",
        ),
        "pipe in place of a file": (
            lambda f: os.mkfifo(f / "conflicts.csv"),
            "conflicts.csv:1:1: conflicts.csv is not a regular file",
        ),
        # -- --set: located at the override, never at a toml line the user did not write
        "mistyped --set key": Case(
            lambda f: None,
            "--set:1:1: 'selection.plces' is not a setting, so this --set would change nothing; "
            "the nearest settings are selection.places",
            args=("--set", "selection.plces=2"),
            never=("scenario.toml",),
        ),
        "--set key in an unknown table": Case(
            lambda f: None,
            "--set:2:1: 'calender' is not a setting, so this --set would change nothing; the "
            "nearest settings are calendar.group_weekdays",
            args=("--set", "selection.seed=3", "--set", 'calender.group_weekdays=["Mon"]'),
            never=("scenario.toml",),
        ),
        "--set into a list entry that does not exist": Case(
            lambda f: None,
            "--set:1:1: cohorts has no entry 0",
            args=("--set", "cohorts.0.places=2"),
            never=("scenario.toml",),
        ),
        "--set that breaks a rule of the table it changes": Case(
            lambda f: None,
            "--set:1:1: selection.ring_fence.0: ring fence 'under-represented': give exactly one "
            "of min_places or min_share",
            args=("--set", "selection.ring_fence.0.min_share=0.5"),
            never=("scenario.toml",),
        ),
        # -- ids: one namespace for people and venues, no near-duplicates, one line each
        "venue id equal to a person id": (
            both(PERSON_P1, add_file("venues.csv", VENUES, [("P1", "Hall", 20, "")])),
            "venues.csv:2:1: venue_id 'P1' is already the id of a person in people.csv "
            "(people.csv row 2): a venue needs an id of its own",
        ),
        "mentor id equal to a coach id": (
            both(
                add_file("mentors.csv", MENTORS, [MENTOR]),
                add_file("coaches.csv", COACHES, [("M1", *COACH[1:])]),
            ),
            "coaches.csv:2:1: coach_id 'M1' is already the id of a mentor (mentors.csv row 2)",
        ),
        "applicant id equal to a mentor id": (
            add_file("mentors.csv", MENTORS, [("A2", *MENTOR[1:])]),
            "mentors.csv:2:1: mentor_id 'A2' is already the id of an applicant (applicants.csv row 3)",
        ),
        "one id for two different people": (
            add_file("people.csv", PEOPLE, [("A1", "Someone Else", "", "line_manager", "", "")]),
            "people.csv:2:1: person_id 'A1' is also an applicant (applicants.csv row 2), but the "
            "name differs ('Name A1' there)",
        ),
        "ids that differ only by a zero-width space": (
            edit("applicants.csv", "A2,", "A1\u200b,"),
            "applicants.csv:3:1: applicant_id: contains an invisible character (U+200B ZERO WIDTH "
            "SPACE)",
        ),
        "ids that differ only by full-width letters": (
            edit("applicants.csv", "A2,", "\uff211,"),
            "applicants.csv:3:1: applicant_id '\uff211' is the same as 'A1' on row 2 once "
            "full-width letters",
        ),
        "ids that differ by a full-width letter across files": (
            add_file("people.csv", PEOPLE, [("\uff211", "Name A1", "", "line_manager", "", "")]),
            "people.csv:2:1: person_id '\uff211' is the same as 'A1' (applicants.csv row 2)",
        ),
        "NUL in an id": (
            edit("applicants.csv", "A3,", "A\x003,"),
            "applicants.csv:4:1: applicant_id: contains a NUL character (U+0000)",
        ),
        "id containing the list separator": (
            edit("applicants.csv", "A3,", "A;3,"),
            "applicants.csv:4:1: applicant_id: an id cannot contain ';'",
        ),
        "invisible character in a service area": (
            edit("applicants.csv", "Test Council,Housing,7", "Test Council,Housing\u2060,7"),
            "applicants.csv:3:5: service_area: contains an invisible character (U+2060 WORD JOINER)",
        ),
        "tab in a council": (
            edit("applicants.csv", "a1@test.gov.uk,Test Council", "a1@test.gov.uk,Test\tCouncil"),
            "applicants.csv:2:4: council: contains a tab (U+0009)",
        ),
        "panelist with an applicant's id": (
            edit("scores.csv", "A1,P1,7", "A1,A2,7"),
            "scores.csv:2:2: panelist 'A2' has the id of an applicant",
        ),
        # -- a line break in any display name passes nowhere (validate and run agree)
        "line break in an applicant name": (
            edit("applicants.csv", "A2,Name A2", 'A2,"Name\nA2"'),
            "applicants.csv:3:2: name: contains a line break (U+000A)",
        ),
        "line break in a coach name": (
            add_file("coaches.csv", COACHES, [("C1", "Cy\nJones", *COACH[2:])]),
            "coaches.csv:2:2: name: contains a line break (U+000A)",
        ),
        "line break in a person name": (
            add_file("people.csv", PEOPLE, [("P1", "Pat\r\nLee", "", "facilitator", "", "")]),
            "people.csv:2:2: name: contains a line break (U+000D)",
        ),
        "line break in a venue name": (
            add_file("venues.csv", VENUES, [("V1", "Town\nHall", 20, "")]),
            "venues.csv:2:2: name: contains a line break (U+000A)",
        ),
        "line break in a session title": (
            add_file(
                "programme.csv", PROGRAMME, [("W01", "Work\nshop", "group", 1, 60, "", "", "")]
            ),
            "programme.csv:2:2: title: contains a line break (U+000A)",
        ),
        "line break in the programme name": (
            edit("scenario.toml", 'name = "Small Programme"', 'name = "Small\\nProgramme"'),
            "scenario.toml:2:1: programme.name: contains a line break (U+000A)",
        ),
        "zero-width space in a cohort id": (
            with_toml('\n[[cohorts]]\nid = "north\u200b"\n'),
            "scenario.toml:27:1: cohorts.0.id: contains an invisible character (U+200B ZERO "
            "WIDTH SPACE)",
        ),
        "paragraph separator in a cohort id": (
            with_toml('\n[[cohorts]]\nid = "north\u2029"\n'),
            "scenario.toml:27:1: cohorts.0.id: contains a control character (U+2029)",
        ),
        # -- numbers the solver cannot take, NaN and infinity
        "venue capacity around 1e23": (
            add_file("venues.csv", VENUES, [("V1", "Hall", 10**23, "")]),
            "venues.csv:2:3: capacity: must be at most 100000 (got 1e+23)",
        ),
        "mentor capacity around 1e23": (
            add_file("mentors.csv", MENTORS, [("M1", "Mo", "", "X", "Y", 10, "1e23", "")]),
            "mentors.csv:2:7: capacity: must be at most 100000 (got 1e+23)",
        ),
        "session month around 1e23": (
            add_file(
                "programme.csv", PROGRAMME, [("W01", "Workshop", "group", 10**23, 60, "", "", "")]
            ),
            "programme.csv:2:4: month: must be at most 120 (got 1e+23)",
        ),
        "places around 1e23": (
            edit("scenario.toml", "places = 3", f"places = {10**23}"),
            "scenario.toml:9:1: selection.places: must be at most 100000 (got 1e+23)",
        ),
        "matching weight around 1e23": (
            with_toml(f"\n[matching.weights]\nneeds = {10**23}\n"),
            "scenario.toml:27:1: matching.weights.needs: must be at most 1000 (got 1e+23)",
        ),
        "gap between group sessions around 1e23": (
            with_toml(f"\n[calendar]\nmin_days_between_group_sessions = {10**23}\n"),
            "scenario.toml:27:1: calendar.min_days_between_group_sessions: must be at most 366",
        ),
        "score NaN": (
            edit("scores.csv", "A1,P1,7", "A1,P1,NaN"),
            "scores.csv:2:3: score: 'NaN' is not a number",
        ),
        "score 1e309": (
            edit("scores.csv", "A1,P1,7", "A1,P1,1e309"),
            "scores.csv:2:3: score: must be at most 1000000 (got 1e+309)",
        ),
        "score around 1e23": (
            edit("scores.csv", "A1,P1,7", "A1,P1,-1e23"),
            "scores.csv:2:3: score: must be at least -1000000 (got -1e+23)",
        ),
        "min_score nan": (
            edit("scenario.toml", "min_score = 0", "min_score = nan"),
            "scenario.toml:12:1: selection.min_score: must be a finite number (got nan)",
        ),
        "min_score 1e309": (
            edit("scenario.toml", "min_score = 0", "min_score = 1e309"),
            "scenario.toml:12:1: selection.min_score: must be a finite number (got inf)",
        ),
        "non-ASCII digits in a grade": (
            edit("applicants.csv", "Housing,6", "Housing,\u0666"),
            "applicants.csv:2:6: grade: '\u0666' is not a whole number",
        ),
        "empty group_weekdays": (
            with_toml("\n[calendar]\ngroup_weekdays = []\n"),
            "scenario.toml:27:1: calendar.group_weekdays: needs at least one entry",
        ),
        # -- privacy: a protected value is never repeated back
        "protected value that is not yes or no": Case(
            edit("applicants.csv", A1_ROW, A1_ROW.replace(",yes,,", ",pregnant,,")),
            "applicants.csv:2:10: woman: the cell is not yes, no or blank",
            never=("pregnant",),
        ),
        # -- sessions need their people (issue 12)
        "review with the line manager for an applicant without one": (
            both(
                add_file("programme.csv", PROGRAMME, [REVIEW]),
                lambda f: add_column(f, "line_manager_id", {f"A{i}": "LM1" for i in range(2, 7)}),
                add_file("people.csv", PEOPLE, [("LM1", "Lee", "", "line_manager", "", "")]),
            ),
            "applicants.csv:2:13: A1 is eligible and session R-LM1 is held with their line "
            "manager, but line_manager_id is blank",
        ),
        "review with the line manager and no line_manager_id column": (
            add_file("programme.csv", PROGRAMME, [REVIEW]),
            "applicants.csv:1:13: column 'line_manager_id' is missing: session R-LM1 is held with "
            "each participant's line manager",
        ),
    }
)


# Printed by a tool that leaks its internals instead of naming the cell.
INTERNALS = ("Traceback", "pandas", "Error tokenizing", "C error", "internal error")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_naming_the_cell_and_writes_nothing(case: str, tmp_path: Path) -> None:
    mutate, expected, args, never = Case(*CASES[case])
    folder = write_small(tmp_path / "scenario")
    mutate(folder)
    out = tmp_path / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("earlier result\n")
    fresh = tmp_path / "never-created"
    runner = CliRunner()
    # validate and a stage that writes must agree: the same input is refused the same way.
    for command in (
        ["validate"],
        ["allocate", "--out", str(out)],
        ["allocate", "--out", str(fresh)],
    ):
        result = runner.invoke(main, [command[0], str(folder), *command[1:], *args, "--quiet"])
        assert result.exit_code == 2, result.output
        for line in (expected,) if isinstance(expected, str) else expected:
            assert line in result.output, result.output
        for text in INTERNALS + never:
            assert text not in result.output, result.output
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
    Case(*CASES["eligible applicant without a head of service"]).mutate(folder)
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


# ------------------------------------------------------------------ issue 13: read correctly


def test_a_missing_required_column_is_reported_once(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    edit("applicants.csv", ",grade,", ",level,")(folder)
    result = CliRunner().invoke(main, ["validate", str(folder), "--quiet"])
    assert result.exit_code == 2
    problems = [line for line in result.output.splitlines() if not line.startswith("warning")]
    assert problems == ["applicants.csv:1:13: required column 'grade' is missing"]


def test_an_unreadable_file_is_bad_input_not_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_small(tmp_path / "s")
    write_csv(folder / "conflicts.csv", ["person_a", "person_b"], [("A1", "A2")])
    (folder / "conflicts.csv").chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the read fail as it would for a user
        real = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path.name == "conflicts.csv":
                raise PermissionError(13, "Permission denied")
            return real(path)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "conflicts.csv:1:1: conflicts.csv cannot be read (permission denied)" in result.output
    assert not (tmp_path / "o").exists()


def calendar_scenario(folder: Path, away: Callable[[Path], None]) -> Path:
    """One workshop in November 2024 (month 8), on a Tuesday, facilitated by F1.

    F1 is away from 13 November on (written plainly), and ``away`` adds the absence under
    test. The Tuesdays are the 5th, 12th, 19th and 26th: an absence of the 11th-12th leaves
    only the 5th. Losing its last day leaves the 12th open too, and the solver then takes it.
    """
    write_small(
        folder,
        SMALL_TOML + '\n[calendar]\ngroup_weekdays = ["Tue"]\n',
        {
            "programme.csv": (PROGRAMME, [("W08", "Workshop", "group", 8, 120, "F1", "", "")]),
            "people.csv": (PEOPLE, [("F1", "Fay", "", "facilitator", "", "")]),
            "venues.csv": (VENUES, [("V1", "Hall", 20, "")]),
            "mentors.csv": (MENTORS, [("M1", "Mo", "", "Test Council", "Other", 10, 3, "")]),
            "coaches.csv": (COACHES, [COACH]),
        },
    )
    away(folder)
    return folder


def away_csv(start: str, end: str) -> Callable[[Path], None]:
    return unavailable(("F1", start, end), ("F1", "2024-11-13", "2024-11-30"))


def away_xlsx(start: object, end: object) -> Callable[[Path], None]:
    return lambda folder: write_xlsx(
        folder / "unavailability.xlsx",
        UNAVAILABILITY,
        [("F1", start, end), ("F1", "2024-11-13", "2024-11-30")],
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "away",
    [
        pytest.param(away_csv("2024-11-11", "2024-11-12"), id="YYYY-MM-DD"),
        pytest.param(away_csv("20241111", "20241112"), id="YYYYMMDD"),
        pytest.param(away_xlsx(date(2024, 11, 11), date(2024, 11, 12)), id="xlsx date cells"),
        pytest.param(away_xlsx(date(2024, 11, 12), date(2024, 11, 12)), id="xlsx one day"),
        pytest.param(away_xlsx("2024-11-11", "20241112"), id="xlsx text cells"),
        # 14:00-22:00 at UTC+5 is 09:00-17:00 in London: the whole working day. Read without
        # its offset it would leave the morning of the 12th free.
        pytest.param(away_csv("2024-11-12T14:00+05:00", "2024-11-12T22:00+05:00"), id="UTC offset"),
    ],
)
def test_a_facilitator_is_never_booked_on_the_last_day_of_an_absence(
    away: Callable[[Path], None], tmp_path: Path
) -> None:
    folder = calendar_scenario(tmp_path / "s", away)
    result = CliRunner().invoke(
        main, ["schedule", str(folder), "--out", str(tmp_path / "o"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv_rows(tmp_path / "o" / "calendar.csv"))
    assert [(r["event_id"], r["start"][:10]) for r in rows] == [("main/W08", "2024-11-05")]


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_unavailability_is_read_in_the_programme_time_zone(tmp_path: Path) -> None:
    from cohort_solver.stages.load.scenario import load_scenario

    # London is on summer time (UTC+1) in July: 08:00Z is 09:00 there; no offset = London.
    folder = write_small(tmp_path / "s")
    unavailable(
        ("A1", "2024-07-01T08:00Z", "2024-07-01T10:30+02:00"),
        ("A2", "2024-07-01T09:00", "20240701T17:00"),
        ("A3", "20240701", "20240701"),
    )(folder)
    assert [(u.start, u.end) for u in load_scenario(folder).unavailability] == [
        (datetime(2024, 7, 1, 9, 0), datetime(2024, 7, 1, 9, 30)),
        (datetime(2024, 7, 1, 9, 0), datetime(2024, 7, 1, 17, 0)),
        (datetime(2024, 7, 1), datetime(2024, 7, 2)),
    ]


def test_outcome_dates_in_xlsx_date_cells_are_dates(tmp_path: Path) -> None:
    from cohort_solver.stages.load.scenario import load_scenario

    folder = write_small(tmp_path / "s")
    write_xlsx(
        folder / "outcomes.xlsx",
        OUTCOMES,
        [
            ("A1", "yes", "promotion", date(2024, 10, 1)),
            ("A2", True, "acting_up", datetime(2025, 1, 15)),  # a date-time cell at midnight
            ("A3", "no", "none", None),
        ],
    )
    outcomes = load_scenario(folder).outcomes
    assert [(o.participant_id, o.completed, o.outcome_date) for o in outcomes] == [
        ("A1", True, date(2024, 10, 1)),
        ("A2", True, date(2025, 1, 15)),
        ("A3", False, None),
    ]


def allocation_of(folder: Path, out: Path) -> tuple[str, str]:
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "allocation.csv").read_text(), result.output


@pytest.mark.slow
def test_a_saved_formula_result_is_read_as_the_value(tmp_path: Path) -> None:
    as_csv, _ = allocation_of(write_small(tmp_path / "csv"), tmp_path / "o1")
    folder = write_small(tmp_path / "xlsx")
    applicants_xlsx(one_cell("A1", "woman", '=IF(TRUE,"yes","no")'), saved={"J2": "yes"})(folder)
    as_xlsx, _ = allocation_of(folder, tmp_path / "o2")
    assert as_xlsx == as_csv
    assert "A1,selected,main,7.50,under-represented" in as_xlsx


@pytest.mark.slow
def test_a_hidden_first_sheet_is_never_read(tmp_path: Path) -> None:
    as_csv, _ = allocation_of(write_small(tmp_path / "csv"), tmp_path / "o1")
    folder = write_small(tmp_path / "xlsx")
    stale = [["applicant_id", "probation_passed"], ["A1", "no"]]  # a stale copy: A1 ineligible
    applicants_xlsx(lambda a, c, text: text, hidden_first=stale)(folder)
    as_xlsx, output = allocation_of(folder, tmp_path / "o2")
    assert as_xlsx == as_csv
    assert (
        "warning: applicants.xlsx:1:1: hidden sheet 'Old copy' not read; reading 'Current', "
        "the first visible sheet" in output
    )


def test_xlsx_cells_of_every_type_read_as_written(tmp_path: Path) -> None:
    from cohort_solver.stages.load.scenario import load_scenario

    as_text = load_scenario(write_small(tmp_path / "csv"))
    folder = write_small(tmp_path / "xlsx")
    numbers: dict[str, Callable[[str], Any]] = {
        "grade": int,  # a number cell, and TRUE/FALSE cells for yes/no
        "woman": lambda t: {"yes": True, "no": False}.get(t, t),
    }
    applicants_xlsx(lambda a, c, t: numbers[c](t) if c in numbers and t else t)(folder)
    csv_as_xlsx(folder, "scores", lambda c, t: float(t) if c == "score" else t)
    typed = load_scenario(folder)
    assert typed.applicants == as_text.applicants
    assert typed.scores == as_text.scores


def test_run_refuses_a_line_break_in_a_name_as_validate_does(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    Case(*CASES["line break in a venue name"]).mutate(folder)
    for command in (["validate"], ["run", "--out", str(tmp_path / "o")]):
        result = CliRunner().invoke(main, [command[0], str(folder), *command[1:], "--quiet"])
        assert result.exit_code == 2, result.output
        assert "venues.csv:2:2: name: contains a line break" in result.output


def test_a_set_of_a_real_setting_is_accepted(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    for override in (
        "selection.places=3",  # the value it already has: allowed, it is how a baseline is named
        "selection.criteria.leadership=2",  # a criterion name is a key of a table, not a setting
        "selection.ring_fence.0.min_places=1",
        "calendar.group_weekdays=['Mon']",
    ):
        result = CliRunner().invoke(main, ["validate", str(folder), "--set", override])
        assert result.exit_code == 0, (override, result.output)


def test_one_person_in_two_role_files_is_one_person(tmp_path: Path) -> None:
    # A line manager who is also an applicant, and a head of service who also mentors.
    folder = write_small(tmp_path / "s")
    add_file(
        "people.csv",
        PEOPLE,
        [
            ("A2", "name a2", "", "line_manager", "Test Council", "Housing"),
            ("M1", "Mo", "", "head_of_service", "Test Council", "Other"),
        ],
    )(folder)
    add_file("mentors.csv", MENTORS, [MENTOR])(folder)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_cells_under_no_heading_are_ignored_with_a_warning(tmp_path: Path) -> None:
    as_csv, _ = allocation_of(write_small(tmp_path / "csv"), tmp_path / "o1")
    folder = write_small(tmp_path / "xlsx")
    header, *rows = [
        line.split(",") for line in (folder / "applicants.csv").read_text().splitlines()
    ]
    notes = {"A1": "call back", "A2": "=A1"}  # a note, and a formula never calculated
    (folder / "applicants.csv").unlink()
    write_xlsx(folder / "applicants.xlsx", header, [[*r, notes.get(r[0], "")] for r in rows])
    as_xlsx, output = allocation_of(folder, tmp_path / "o2")
    assert as_xlsx == as_csv
    assert "warning: applicants.xlsx:1:13: column 13 has values but no heading" in output
