"""Fuzzing the loader in-process: whatever is done to a scenario folder, loading it either
succeeds or raises InputError with every problem as file:row:column: message. Never another
exception (which the CLI would turn into exit 3), and never a protected value repeated back.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cohort_solver.errors import InputError
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import SMALL_TOML, write_small
from .sheets import xlsx_bytes

PROTECTED = ("woman", "minority_ethnic", "disabled")
SECRET = "Qz7secret"  # written into protected cells; must never come back in a message

EXTRA = {
    "mentors.csv": (
        ["mentor_id", "name", "email", "council", "service_area", "grade", "capacity", "expertise"],
        [("M1", "Mo", "mo@x.gov.uk", "Test Council", "Other", 10, 3, "strategic")],
    ),
    "coaches.csv": (
        ["coach_id", "name", "email", "capacity", "expertise", "councils", "working_days"],
        [("C1", "Cy", "", 6, "strategic", "", "Mon;Tue")],
    ),
    "programme.csv": (
        [
            "session_key",
            "title",
            "kind",
            "month",
            "duration_minutes",
            "facilitator",
            "with",
            "after",
        ],
        [
            ("W01", "Workshop", "group", 1, 120, "F1", "", ""),
            ("R1", "Review", "review", 2, 60, "", "line_manager", "W01"),
        ],
    ),
    "people.csv": (
        ["person_id", "name", "email", "role", "council", "service_area"],
        [("F1", "Fay", "", "facilitator", "", ""), ("LM1", "Lee", "", "line_manager", "", "")],
    ),
    "venues.csv": (["venue_id", "name", "capacity", "council"], [("V1", "Hall", 20, "")]),
    "unavailability.csv": (
        ["id", "start", "end"],
        [("F1", "2024-05-01", "20240502"), ("V1", "2024-06-03T09:00+01:00", "2024-06-03T12:00")],
    ),
    "conflicts.csv": (["person_a", "person_b"], [("M1", "A5")]),
    "outcomes.csv": (
        ["participant_id", "completed", "outcome", "outcome_date"],
        [("A1", "yes", "promotion", "2025-01-15")],
    ),
}


def template() -> dict[str, bytes]:
    """The files of a small scenario that loads cleanly, every optional file present."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_small(Path(scratch) / "s", SMALL_TOML, EXTRA)
        path = folder / "applicants.csv"
        header, *rows = list(csv.reader(path.read_text().splitlines()))
        lines = [header + ["line_manager_id"], *(row + ["LM1"] for row in rows)]
        path.write_text("".join(",".join(row) + "\n" for row in lines))
        load_scenario(folder)  # the template itself is good input
        return {p.name: p.read_bytes() for p in folder.iterdir()}


TEMPLATE = template()
CSV_FILES = sorted(name for name in TEMPLATE if name.endswith(".csv"))

ODD_CELLS = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e309",
    "-1e23",
    "1e999999999",
    "100000000000000000000000",
    "\u0663",
    "1_000",
    "0x10",
    "6.5",
    "yes",
    "No",
    "20241105",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "2024-11-05T25:00",
    "2024-11-05T09:00+25:00",
    "2024-11-05 09:00:00Z",
    "31/01/2025",
    '"',
    '""',
    "a\nb",
    "a\rb",
    "\x00",
    "A1\u200b",
    "\uff21\uff11",
    "A1",
    "A2",
    "P1",
    "M1",
    "C1",
    "V1",
    "F1",
    "LM1",
    "W01",
    "main",
    ";",
    "a;b",
    "=1+1",
    "#N/A",
    "\ufeffA1",
    "\u202eevil",
    "Mon;Funday",
    "line_manager",
    "head_of_service",
    "review",
]
cells = st.one_of(st.sampled_from(ODD_CELLS), st.text(max_size=8))


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8", errors="surrogatepass")


# A mutation changes the folder's files (name -> bytes, or a special marker for links and
# folders) and the --set overrides. It returns whether applicants.csv's header and row
# structure are intact, so the protected-cell check knows which cells are still protected.
Files = dict[str, Any]
Mutation = Callable[[Files, list[str]], bool]


@st.composite
def set_cell(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from(CSV_FILES))
    rows = rows_of(TEMPLATE[name])
    r = draw(st.integers(1, len(rows) - 1))
    c = draw(st.integers(0, len(rows[0]) - 1))
    value = draw(cells)

    def mutate(files: Files, sets: list[str]) -> bool:
        if not isinstance(files.get(name), bytes):
            return True
        try:
            table = rows_of(files[name])
        except (UnicodeDecodeError, csv.Error):
            return False
        if r < len(table) and c < len(table[r]):
            table[r][c] = value
            files[name] = csv_bytes(table)
        return True

    return mutate


@st.composite
def secret_in_protected_cell(draw: st.DrawFn) -> Mutation:
    rows = rows_of(TEMPLATE["applicants.csv"])
    r = draw(st.integers(1, len(rows) - 1))
    column = rows[0].index(draw(st.sampled_from(PROTECTED)))
    value = draw(st.sampled_from([SECRET, f"{SECRET}\n", f"\u200b{SECRET}", f"={SECRET}"]))

    def mutate(files: Files, sets: list[str]) -> bool:
        if not isinstance(files.get("applicants.csv"), bytes):
            return True
        try:
            table = rows_of(files["applicants.csv"])
        except (UnicodeDecodeError, csv.Error):
            return False
        if r < len(table) and column < len(table[r]):
            table[r][column] = value
            files["applicants.csv"] = csv_bytes(table)
        return True

    return mutate


@st.composite
def header(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from(CSV_FILES))
    heading = rows_of(TEMPLATE[name])[0]
    c = draw(st.integers(0, len(heading) - 1))
    how = draw(st.sampled_from(["rename", "drop", "duplicate", "upper", "blank"]))
    new = draw(st.one_of(st.sampled_from(heading), st.text(max_size=6)))

    def mutate(files: Files, sets: list[str]) -> bool:
        if not isinstance(files.get(name), bytes):
            return name != "applicants.csv"
        try:
            table = rows_of(files[name])
        except (UnicodeDecodeError, csv.Error):
            return False
        if not table or c >= len(table[0]):
            return False
        row = table[0]
        if how == "rename":
            row[c] = new
        elif how == "drop":
            del row[c]
        elif how == "duplicate":
            row.append(row[c])
        elif how == "upper":
            row[c] = f"  {row[c].upper()} "
        else:
            row[c] = ""
        files[name] = csv_bytes(table)
        return name != "applicants.csv" or how == "upper"

    return mutate


@st.composite
def raw_bytes(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from([*CSV_FILES, "scenario.toml"]))
    at = draw(st.floats(0, 1))
    how = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
    byte = draw(st.sampled_from([b'"', b",", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b";", b" "]))

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get(name)
        if not isinstance(data, bytes) or not data:
            return True
        i = min(int(at * len(data)), len(data) - 1)
        if how == "insert":
            files[name] = data[:i] + byte + data[i:]
        elif how == "delete":
            files[name] = data[:i] + data[i + 1 :]
        elif how == "replace":
            files[name] = data[:i] + byte + data[i + 1 :]
        else:
            files[name] = data[:i]
        return name != "applicants.csv"

    return mutate


@st.composite
def encoding(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from([*CSV_FILES, "scenario.toml"]))
    how = draw(
        st.sampled_from(
            ["utf-16", "latin-1 name", "bom", "crlf", "cr", "no final newline", "blank lines"]
        )
    )

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get(name)
        if not isinstance(data, bytes):
            return True
        if how == "utf-16":
            files[name] = data.decode("utf-8", errors="replace").encode("utf-16")
        elif how == "latin-1 name":
            files[name] = data.replace(b"Name", "Zo\u00eb".encode("latin-1"), 1)
        elif how == "bom":
            files[name] = b"\xef\xbb\xbf" + data
        elif how == "crlf":
            files[name] = data.replace(b"\n", b"\r\n")
        elif how == "cr":
            files[name] = data.replace(b"\n", b"\r")
        elif how == "no final newline":
            files[name] = data.rstrip(b"\n")
        else:
            files[name] = data.replace(b"\n", b"\n\n", 2)
        return True

    return mutate


@st.composite
def file_kind(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from([*CSV_FILES, "scenario.toml"]))
    how = draw(st.sampled_from(["delete", "folder", "dangling link", "loop", "empty", "both"]))

    def mutate(files: Files, sets: list[str]) -> bool:
        if how == "delete":
            files.pop(name, None)
        elif how == "both":
            files[name.replace(".csv", ".xlsx")] = b"PK\x03\x04 not a workbook"
        else:
            files[name] = {"folder": FOLDER, "dangling link": DANGLING, "loop": LOOP}.get(how, b"")
        return name != "applicants.csv"

    return mutate


FOLDER, DANGLING, LOOP = object(), object(), object()


def typed(text: str, how: str) -> Any:
    """A CSV cell as an Excel user might have typed it."""
    if how == "number":
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return text
    if how == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return datetime(2024, 11, 5, 13, 30)
    return {"formula": "=1+1", "error": "#DIV/0!", "bool": True, "time": time(9, 30)}.get(how, text)


@st.composite
def as_xlsx(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from(CSV_FILES))
    rows = rows_of(TEMPLATE[name])
    how = {
        (r, c): draw(
            st.sampled_from(["text", "text", "number", "date", "formula", "error", "bool", "time"])
        )
        for r in range(1, len(rows))
        for c in range(len(rows[0]))
        if draw(st.booleans())
    }
    sheets = draw(st.sampled_from(["one", "hidden first", "all hidden"]))

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get(name)
        if not isinstance(data, bytes):
            return True
        try:
            table = rows_of(data)
        except (UnicodeDecodeError, csv.Error):
            return False
        if not table:
            return False
        body = [
            [typed(cell, how.get((r, c), "text")) for c, cell in enumerate(row)]
            for r, row in enumerate(table[1:], start=1)
        ]
        try:
            workbook = xlsx_bytes(
                table[0],
                body,
                hidden_first=[["stale"]] if sheets == "hidden first" else None,
                every_sheet_hidden=sheets == "all hidden",
            )
        except Exception:  # a cell openpyxl itself will not write (a control character)
            return True
        del files[name]
        files[name.replace(".csv", ".xlsx")] = workbook
        # Typed protected cells stay protected: the header is unchanged.
        return True

    return mutate


SETTING_PATHS = [
    "selection.places",
    "selection.plces",
    "selection.min_score",
    "selection.ring_fence.0.min_places",
    "selection.ring_fence.0.min_share",
    "selection.ring_fence.5.min_places",
    "selection.spread.max_per_council",
    "selection.criteria.x",
    "calendar.group_weekdays",
    "calendar.day_start",
    "calender.slot_minutes",
    "programme.start",
    "programme.name",
    "matching.weights.needs",
    "cohorts.0.places",
    "impact.programme_months",
    "impact.as_of",
    "impact.positive",
    "positive_action.profile.woman.workforce",
    "",
]
SET_VALUES = [
    "1",
    "-1",
    "nan",
    "inf",
    "1e309",
    "100000000000000000000000",
    "[]",
    '"x"',
    "[1,",
    "2024-04-01",
    '"a\\nb"',
    "true",
    "{a=1}",
]


@st.composite
def override(draw: st.DrawFn) -> Mutation:
    text = f"{draw(st.sampled_from(SETTING_PATHS))}={draw(st.one_of(st.sampled_from(SET_VALUES), st.text(max_size=5)))}"

    def mutate(files: Files, sets: list[str]) -> bool:
        sets.append(text)
        return True

    return mutate


@st.composite
def toml_value(draw: st.DrawFn) -> Mutation:
    lines = TEMPLATE["scenario.toml"].decode().splitlines()
    index = draw(st.sampled_from([i for i, line in enumerate(lines) if " = " in line]))
    value = draw(st.one_of(st.sampled_from(SET_VALUES), st.text(max_size=5)))

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get("scenario.toml")
        if not isinstance(data, bytes):
            return True
        try:
            current = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            return True
        if index < len(current) and " = " in current[index]:
            current[index] = current[index].split(" = ")[0] + " = " + value
            files["scenario.toml"] = ("\n".join(current) + "\n").encode("utf-8", "surrogatepass")
        return True

    return mutate


mutations = st.lists(
    st.one_of(
        set_cell(),
        set_cell(),
        secret_in_protected_cell(),
        header(),
        raw_bytes(),
        encoding(),
        file_kind(),
        as_xlsx(),
        override(),
        toml_value(),
    ),
    min_size=1,
    max_size=4,
)


def write_folder(folder: Path, files: Files) -> None:
    folder.mkdir()
    for name, content in files.items():
        path = folder / name
        if content is FOLDER:
            path.mkdir()
        elif content is DANGLING:
            os.symlink("gone.csv", path)
        elif content is LOOP:
            os.symlink(name, path)
        else:
            path.write_bytes(content)


def check_load(changes: list[Mutation]) -> None:
    files: Files = dict(TEMPLATE)
    sets: list[str] = []
    intact = all([change(files, sets) for change in changes])
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "s"
        write_folder(folder, files)
        try:
            scenario = load_scenario(folder, sets)
        except InputError as exc:
            assert exc.problems
            lines = [str(p) for p in exc.problems]
            for problem in exc.problems:
                assert problem.file and problem.row >= 1 and problem.column >= 1, problem
                assert problem.message.strip(), problem
            said = lines
            event(f"refused ({len({p.file for p in exc.problems})} files)")
        else:
            said = list(scenario.warnings)
            event("loaded")
    for line in said:
        assert "\n" not in line and "\r" not in line, line  # one problem, one line
        if intact:
            assert SECRET not in line, line


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations)
def test_any_mutated_folder_loads_or_is_refused_cell_by_cell(changes: list[Mutation]) -> None:
    check_load(changes)


@pytest.mark.slow
@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations)
def test_any_mutated_folder_loads_or_is_refused_cell_by_cell_long_run(
    changes: list[Mutation],
) -> None:
    check_load(changes)
