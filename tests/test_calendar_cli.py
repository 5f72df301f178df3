"""The calendar at the command line: calendar.csv at the edge (bad input is exit 2 with
`calendar.csv:row:column`), out of time is exit 4, explain EVENT_ID, re-plan reasons."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.stages.export.calendar_csv import read_calendar_csv


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """oxford-2024 allocated, matched and scheduled once (a private copy)."""
    from .conftest import OXFORD

    folder = tmp_path_factory.mktemp("cal") / "oxford-2024"
    shutil.copytree(OXFORD, folder, ignore=shutil.ignore_patterns("out"))
    code, output = cli("schedule", str(folder))
    assert code == 0, output
    return folder


def copy_out(planned: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "oxford-2024"
    shutil.copytree(planned, folder)
    return folder


def rewrite(path: Path, change) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.mark.slow
def test_a_broken_previous_calendar_is_bad_input_with_row_and_column(planned, tmp_path):
    folder = copy_out(planned, tmp_path)
    previous = tmp_path / "calendar.csv"
    shutil.copy(folder / "out" / "calendar.csv", previous)

    def spoil(rows):
        rows[3][5] = "next Tuesday"  # start
        rows[7][3] = "party"  # kind

    rewrite(previous, spoil)
    before = (folder / "out" / "calendar.csv").read_bytes()
    code, output = cli("schedule", str(folder), "--previous", str(previous))
    assert code == 2
    assert "calendar.csv:4:6: start 'next Tuesday' is not an ISO 8601 date and time" in output
    assert (
        "calendar.csv:8:4: kind 'party' is not one of group, coaching, review, cohort_event"
        in output
    )
    assert "Traceback" not in output
    assert (folder / "out" / "calendar.csv").read_bytes() == before  # nothing written


def test_a_broken_calendar_in_out_is_bad_input_for_export_and_explain(planned, tmp_path):
    folder = copy_out(planned, tmp_path)
    calendar = folder / "out" / "calendar.csv"
    rewrite(calendar, lambda rows: rows[2].__setitem__(6, rows[2][5]))  # ends as it starts
    code, output = cli("export", str(folder))
    assert code == 2
    assert "calendar.csv:3:7: the event ends before it starts" in output
    code, output = cli("explain", str(folder), "main/W01", "--out", str(folder / "out"))
    assert code == 2 and "calendar.csv:3:7:" in output


def test_a_calendar_without_its_columns_or_empty_is_bad_input(planned, tmp_path):
    folder = copy_out(planned, tmp_path)
    calendar = folder / "out" / "calendar.csv"
    calendar.write_text("event_id,start\nx,y\n", encoding="utf-8")
    code, output = cli("export", str(folder))
    assert code == 2 and "calendar.csv:1:1: missing column 'session_key'" in output
    calendar.write_text("", encoding="utf-8")
    code, output = cli("export", str(folder))
    assert code == 2 and "calendar.csv:1:1: the file is empty" in output
    calendar.write_text('event_id,session_key\n"unclosed,x\n', encoding="utf-8")
    code, output = cli("export", str(folder))
    assert code == 2 and "calendar.csv:" in output and "Traceback" not in output


@pytest.mark.slow
def test_the_calendar_running_out_of_time_is_exit_4_and_writes_nothing(planned, tmp_path):
    folder = copy_out(planned, tmp_path)
    before = (folder / "out" / "calendar.csv").read_bytes()
    code, output = cli("schedule", str(folder), "--time-limit", "0.001")
    assert code == 4
    assert "calendar: the time limit ran out before a plan was found" in output
    assert "a larger --time-limit" in output
    assert (folder / "out" / "calendar.csv").read_bytes() == before
    code, _ = cli("schedule", str(folder))
    assert code == 0  # with the default limit it gets there
    assert (folder / "out" / "calendar.csv").read_bytes() == before  # and the same calendar


def test_explain_event_says_what_rules_out_other_days(planned):
    code, output = cli("explain", str(planned), "main/R-LM1/A001", "--out", str(planned / "out"))
    assert code == 0, output
    assert output.startswith("main/R-LM1/A001 (Progress review and presentation to Line Manager)")
    assert "Reviews go late in the month" in output
    assert "scores worse on the soft goals" not in output
    assert "must come after main/W03 (`after`)" in output  # the days before the workshop


@pytest.mark.slow
def test_a_session_moved_to_another_month_names_that_as_the_reason(planned, tmp_path):
    folder = copy_out(planned, tmp_path)
    previous = tmp_path / "calendar.csv"
    shutil.copy(folder / "out" / "calendar.csv", previous)

    def later(rows):
        for row in rows[1:]:
            if row[0] == "C7":
                row[3] = "18"  # C7 moves from programme month 19 to month 18

    rewrite(folder / "programme.csv", later)
    code, output = cli("schedule", str(folder), "--previous", str(previous))
    assert code == 0, output
    with (folder / "out" / "changes.csv").open() as handle:
        changes = list(csv.DictReader(handle))
    moved = {row["event_id"]: row["reason"] for row in changes}
    assert moved and all(event_id.startswith("main/C7/") for event_id in moved)
    assert all(
        reason == "session C7 is now in month 18 (September 2025); the old time was in month 19 "
        "(October 2025)"
        for reason in moved.values()
    )
    new = read_calendar_csv(folder / "out" / "calendar.csv")
    assert all(e.start.month == 9 for e in new if e.session_key == "C7")
