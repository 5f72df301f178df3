"""CSV formula injection (OWASP): no cell the tool writes starts with = + - @, tab or CR unless
it is a plain number, and our own files read back exactly what was written."""

from __future__ import annotations

import csv
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cohort_solver.cli import main
from cohort_solver.stages.export import files
from cohort_solver.stages.export.files import (
    csv_text,
    neutralise,
    read_own_csv,
    restore,
    xlsx_bytes,
)
from cohort_solver.stages.export.tables import read_allocation, read_matches

from .conftest import OXFORD, SMALL_TOML, write_small

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_safe(cell: str) -> bool:
    return not cell.startswith(DANGEROUS) or bool(PLAIN_NUMBER.fullmatch(cell))


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","A1")', '\'=HYPERLINK("http://x","A1")'),
        ("+44 1865 000000", "'+44 1865 000000"),
        ("-A1", "'-A1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'already quoted", "''already quoted"),  # so reading back is exact
        ("-0.35", "-0.35"),  # a negative normalised score stays a number
        ("+2", "+2"),
        ("-1e-3", "-1e-3"),
        ("A-1", "A-1"),
        ("", ""),
    ],
)
def test_cells_are_neutralised_by_the_owasp_rule(value: str, written: str) -> None:
    assert neutralise(value) == written
    assert restore(written) == value


@pytest.mark.slow
@given(st.text())
def test_neutralising_is_safe_and_exactly_reversible(value: str) -> None:
    written = neutralise(value)
    assert is_safe(written)
    assert restore(written) == value


@given(st.text(), st.text())
def test_different_values_are_written_differently(a: str, b: str) -> None:
    assert (neutralise(a) == neutralise(b)) == (a == b)


CELL = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=5))
def test_a_csv_reads_back_exactly(rows: list[list[str]]) -> None:
    text = csv_text(["a", "=b", "'c"], rows)
    path_rows = read_own_csv_text(text)
    assert path_rows == [dict(zip(["a", "=b", "'c"], row, strict=True)) for row in rows if row]
    for record in csv.reader(io.StringIO(text, newline="")):
        assert all(is_safe(cell) for cell in record)


def read_own_csv_text(text: str) -> list[dict[str, str]]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_text(text, encoding="utf-8", newline="")
        return list(read_own_csv(path).rows)


def test_the_workbook_writer_never_stores_a_formula() -> None:
    data = xlsx_bytes(
        {"=sheet": (["id", "score"], [["=1+1", Decimal("-0.35")], ["@A1", 3], ["plain", -2.5]])}
    )
    book = load_workbook(io.BytesIO(data))
    (sheet,) = book.worksheets
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["id", "score"],
        ["'=1+1", -0.35],
        ["'@A1", 3],
        ["plain", -2.5],
    ]
    assert sheet.title == "'=sheet"


# --------------------------------------------------------------------------- every file we write

HOSTILE = {
    "A024": '=HYPERLINK("http://evil.example","A024")',  # a selected participant
    "A033": "-A33",
    "M01": "-M01",
    "CO2": "@CO2",
    "V-TH": "+VTH",
    "LM01": "-1+LM01",
    "FAC1": "=FAC1",
}
HOSTILE_TITLE = "=cmd|' /C calc'!A0"


def hostile_oxford(folder: Path) -> Path:
    """oxford-2024 with ids, a session title, the cohort id and the ring fence's name that a
    spreadsheet would run as formulas."""
    shutil.copytree(OXFORD, folder, ignore=shutil.ignore_patterns("out"))
    for path in folder.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        changed = [rows[0]] + [
            [
                HOSTILE_TITLE
                if cell == "Group Workshop - Self Assessment"
                else ";".join(HOSTILE.get(part, part) for part in cell.split(";"))
                for cell in row
            ]
            for row in rows[1:]
        ]
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(changed)
    toml = (folder / "scenario.toml").read_text()
    toml = toml.replace('name = "under-represented"', 'name = "=fence"')
    (folder / "scenario.toml").write_text(toml + '\n[[cohorts]]\nid = "-north"\nplaces = 12\n')
    return folder


def invoke(*args: str) -> None:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    scenario = hostile_oxford(root / "scenario")
    out = root / "out"
    invoke("allocate", str(scenario), "--out", str(out))
    invoke("match", str(scenario), "--out", str(out))
    invoke("schedule", str(scenario), "--out", str(out))
    shutil.copy(out / "calendar.csv", root / "previous.csv")
    invoke("schedule", str(scenario), "--out", str(out), "--previous", str(root / "previous.csv"))
    invoke("export", str(scenario), "--out", str(out))
    invoke("robustness", str(scenario), "--out", str(out), "--trials", "2")
    invoke("serve", str(scenario), "--out", str(out), "--links-only")
    return scenario, out


@pytest.mark.slow
def test_every_csv_written_neutralises_every_cell(hostile: tuple[Path, Path]) -> None:
    _, out = hostile
    written = sorted(out.glob("*.csv"))
    assert {p.name for p in written} == {
        "allocation.csv",
        "decision_log.csv",
        "feedback.csv",
        "matches.csv",
        "calendar.csv",
        "changes.csv",
        "notices.csv",
        "robustness.csv",
        "links.csv",
        "tokens.csv",
    }
    hostile_cells = 0
    for path in written:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, record in enumerate(csv.reader(handle), start=1):
                for cell in record:
                    assert is_safe(cell), (path.name, number, cell)
                    hostile_cells += cell.startswith("'")
    assert hostile_cells > 50  # the ids and titles above really were written, escaped


@pytest.mark.slow
def test_hostile_ids_round_trip_through_allocate_match_and_schedule(
    hostile: tuple[Path, Path],
) -> None:
    _, out = hostile
    participant = HOSTILE["A024"]
    outcomes = {o.applicant_id: o for o in read_allocation(out / "allocation.csv")}
    assert outcomes[participant].status == "selected"
    assert outcomes[participant].cohort_id == "-north"
    assert outcomes[participant].ring_fences == ("=fence",)
    matches = {m.participant_id: m for m in read_matches(out / "matches.csv")}
    assert set(matches) == {i for i, o in outcomes.items() if o.status == "selected"}
    assert {m.cohort_id for m in matches.values()} == {"-north"}
    coaches = {m.coach_id for m in matches.values()}
    assert "@CO2" in coaches  # read back as written, so the calendar used the real coach
    events = files.read_csv_rows(out / "calendar.csv")
    coaching = [e for e in events if e["event_id"].startswith(f"-north/C1/{participant}")]
    assert coaching and coaching[0]["attendee_ids"].split(";") == sorted(
        [participant, matches[participant].coach_id]
    )
    assert any(e["title"] == HOSTILE_TITLE for e in events)
    assert any(e["venue_id"] == "+VTH" for e in events)


@pytest.mark.slow
def test_hostile_ids_round_trip_through_export(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    # export reads calendar.csv back; its feeds must be those `run` builds from the plan itself.
    scenario, out = hostile
    invoke("run", str(scenario), "--out", str(tmp_path / "run"))
    assert sorted(p.name for p in (out / "ics").iterdir()) == sorted(
        p.name for p in (tmp_path / "run" / "ics").iterdir()
    )


def test_a_negative_normalised_score_stays_a_number(tmp_path: Path) -> None:
    scenario = write_small(
        tmp_path / "s",
        SMALL_TOML.replace('aggregate = "mean"', 'aggregate = "normalised_mean"').replace(
            "min_score = 0", "min_score = -10"
        ),
    )
    invoke("allocate", str(scenario), "--out", str(tmp_path / "out"))
    with (tmp_path / "out" / "allocation.csv").open(newline="") as handle:
        scores = [row["score"] for row in csv.DictReader(handle)]
    negative = [s for s in scores if s.startswith("-")]
    assert negative and all(PLAIN_NUMBER.fullmatch(s) for s in negative)
    read = [o.score for o in read_allocation(tmp_path / "out" / "allocation.csv")]
    assert [str(s) for s in read if s is not None and s < 0] == negative
