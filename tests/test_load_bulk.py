"""The loader reads a table a column at a time and validates its rows together: large files
keep every problem at its cell, and every record is what the model itself would make."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from cohort_solver.errors import InputError
from cohort_solver.stages.load.cells import EMAIL, EMAILS
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.load.tables import _quote_free_rows
from cohort_solver.synthetic.generate import generate_scenario

OXFORD = Path(__file__).resolve().parents[1] / "scenarios" / "oxford-2024"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bulk") / "scenario"
    generate_scenario(folder, seed=3, councils=6, applicants=800, cohorts=3)
    return folder


def _edit(path: Path, edits: dict[tuple[int, str], str]) -> dict[str, int]:
    """Set cells by (spreadsheet row, column name); return the column positions (1-based)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    positions = {name: index for index, name in enumerate(rows[0], start=1)}
    for (row, name), text in edits.items():
        rows[row - 1][positions[name] - 1] = text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return positions


def _records(folder: Path) -> list[BaseModel]:
    scenario = load_scenario(folder)
    tables: list[tuple[BaseModel, ...]] = [
        scenario.applicants,
        scenario.scores,
        scenario.mentors,
        scenario.coaches,
        scenario.programme,
        scenario.people,
        scenario.venues,
        scenario.unavailability,
        scenario.conflicts,
        scenario.outcomes,
    ]
    return [record for table in tables for record in table]


@pytest.mark.parametrize("which", ["oxford", "generated"])
def test_every_record_is_what_model_validate_makes_of_it(which: str, generated: Path) -> None:
    records = _records(OXFORD if which == "oxford" else generated)
    assert records
    for record in records:
        again = type(record).model_validate(record.model_dump(by_alias=True))
        assert again == record
        assert {k: type(v) for k, v in vars(again).items()} == {
            k: type(v) for k, v in vars(record).items()
        }


def test_problems_deep_in_a_large_file_are_each_at_their_cell(
    generated: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    for path in generated.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    applicants = folder / "applicants.csv"
    ids = [row[0] for row in csv.reader(io.StringIO(applicants.read_text(encoding="utf-8")))]
    at = _edit(
        applicants,
        {
            (100, "grade"): "abc",  # a cell that is not a number
            (200, "grade"): "500",  # a number the model refuses
            (300, "probation_passed"): "",  # blank where an answer is required
            (400, "applicant_id"): ids[500 - 1],  # the id of row 500, defined again
            (600, "grade"): "500",  # refused by the model, but the row has a cell problem:
            (600, "line_manager_approved"): "maybe",  # only the cell problem is reported
            (700, "name"): "Ann\tLee",  # a control character
            (800, "email"): "ann.lee",  # among 799 good addresses
        },
    )
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    found = {(p.file, p.row, p.column, p.message) for p in caught.value.problems}
    file = "applicants.csv"
    expected = {
        (file, 100, at["grade"], "grade: 'abc' is not a whole number"),
        (file, 200, at["grade"], "grade: must be at most 100 (got 500)"),
        (file, 300, at["probation_passed"], "probation_passed is blank"),
        (
            file,
            500,
            at["applicant_id"],
            f"duplicate applicant_id {ids[499]!r} (first on row 400)",
        ),
        (
            file,
            600,
            at["line_manager_approved"],
            "line_manager_approved: 'maybe' is not yes or no (use yes/no, y/n, true/false or 1/0)",
        ),
        (
            file,
            700,
            at["name"],
            "name: contains a tab (U+0009): it must be one line of plain text",
        ),
        (file, 800, at["email"], "email: 'ann.lee' does not look like an email address"),
    }
    assert expected <= found
    rows = {row for _, row, _, _ in expected}
    assert {p for p in found if p[0] == file and p[1] in rows} == expected


# Cells as the quote-free reading sees them: no quote, comma, line break, carriage return or NUL.
_CELL = st.text(
    st.characters(blacklist_characters='",\n\r\0', blacklist_categories=("Cs",)), max_size=6
)


@pytest.mark.slow
@given(st.lists(st.lists(_CELL, min_size=1, max_size=4), max_size=6), st.booleans())
def test_a_quote_free_file_splits_as_the_csv_module_reads_it(
    rows: list[list[str]], final_line_end: bool
) -> None:
    text = "\n".join(",".join(row) for row in rows) + ("\n" if final_line_end and rows else "")
    if not text:
        assert _quote_free_rows(text) is None
        return
    split = _quote_free_rows(text)
    assert split is not None
    by_csv = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    # The csv module reads a blank line as no cells, the split as one blank cell.
    assert [row if row != [""] else [] for row in split] == by_csv


# Plain one-line cells, as an email column holds them once checked for control characters.
_ADDRESS = st.text(st.sampled_from("ab.@ -"), max_size=8).map(str.strip)


@pytest.mark.slow
@given(st.lists(_ADDRESS, max_size=12))
def test_a_column_of_addresses_passes_at_once_exactly_when_each_passes(
    cells: list[str],
) -> None:
    each = all(EMAIL.match(cell) for cell in cells if cell)
    addresses = "\n".join(filter(None, cells))
    at_once = not addresses or EMAILS.fullmatch(addresses + "\n") is not None
    assert at_once == each
