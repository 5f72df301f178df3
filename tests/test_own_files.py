"""Our own files read back (allocation.csv, matches.csv, solution.json, ics/) are checked like
input: a damaged one is exit 2 with the exact ``file:row:column``, never exit 3, and --out is
left untouched. One case per way such a file can be broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main

from .conftest import OXFORD


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """oxford-2024 and a complete --out of it (run)."""
    root = tmp_path_factory.mktemp("own")
    scenario = root / "oxford-2024"
    shutil.copytree(OXFORD, scenario, ignore=shutil.ignore_patterns("out"))
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(root / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    return scenario, root / "out"


def tree(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): None if p.is_dir() or p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


# --------------------------------------------------------------------------- mutations


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def set_cell(name: str, row: int, column: int, value: str) -> Callable[[Path], None]:
    """Cell (row, column) of a CSV in --out (1-based, header = row 1), in a file whose cells
    hold no commas before that column."""

    def change(out: Path) -> None:
        text = lines(out / name)
        cells = text[row - 1].split(",")
        cells[column - 1] = value
        text[row - 1] = ",".join(cells)
        (out / name).write_text("\n".join(text), encoding="utf-8")

    return change


def drop_column(name: str, column: int) -> Callable[[Path], None]:
    def change(out: Path) -> None:
        text = lines(out / name)
        kept = [
            ",".join(c for i, c in enumerate(t.split(","), start=1) if i != column) for t in text
        ]
        (out / name).write_text("\n".join(kept[:4]) + "\n", encoding="utf-8")

    return change


def drop_last_cell(name: str, row: int) -> Callable[[Path], None]:
    def change(out: Path) -> None:
        text = lines(out / name)
        text[row - 1] = text[row - 1].rsplit(",", 1)[0]
        (out / name).write_text("\n".join(text), encoding="utf-8")

    return change


def replace(name: str, old: bytes, new: bytes, count: int = 1) -> Callable[[Path], None]:
    def change(out: Path) -> None:
        data = (out / name).read_bytes()
        assert old in data, (name, old)
        (out / name).write_bytes(data.replace(old, new, count))

    return change


def write(name: str, data: bytes) -> Callable[[Path], None]:
    def change(out: Path) -> None:
        (out / name).write_bytes(data)

    return change


def make_folder(name: str) -> Callable[[Path], None]:
    def change(out: Path) -> None:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        path.mkdir()

    return change


def line_of(name: str, needle: str, after: str = "") -> Callable[[Path], tuple[int, int]]:
    """Where ``needle`` first occurs (after ``after``) in the file, as (line, column)."""

    def find(out: Path) -> tuple[int, int]:
        text = (out / name).read_text(encoding="utf-8", errors="replace")
        position = text.index(needle, text.index(after) if after else 0)
        return text.count("\n", 0, position) + 1, position - (text.rfind("\n", 0, position) + 1) + 1

    return find


def line_start(name: str, needle: str) -> Callable[[Path], tuple[int, int]]:
    """The start of the line holding ``needle`` (feed problems name the property's line)."""
    return lambda out: (line_of(name, needle)(out)[0], 1)


FEED = "ics/cohort-main.ics"


@dataclass(frozen=True)
class Case:
    kind: str
    command: str  # match | schedule | explain | export | withdraw
    file: str  # the file named in the problem, relative to --out
    change: Callable[[Path], None]
    at: tuple[int, int] | Callable[[Path], tuple[int, int]]
    message: str


CASES = [
    # allocation.csv (read by match, schedule, explain, withdraw)
    Case(
        "allocation empty",
        "match",
        "allocation.csv",
        write("allocation.csv", b""),
        (1, 1),
        "the file is empty",
    ),
    Case(
        "allocation missing column",
        "match",
        "allocation.csv",
        drop_column("allocation.csv", 2),
        (1, 8),  # after the 7 columns left of 8 (replaced_by is the 8th)
        "missing column 'status'",
    ),
    Case(
        "allocation short row",
        "match",
        "allocation.csv",
        drop_last_cell("allocation.csv", 3),
        (3, 8),
        "this row has 7 cells but the header has 8",
    ),
    Case(
        "allocation long row",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 3, 2, "selected,extra"),
        (3, 9),
        "this row has 9 cells but the header has 8",
    ),
    Case(
        "allocation unterminated quote",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 5, 7, '"open'),
        (5, 1),
        "unexpected end of data",
    ),
    Case(
        "allocation not UTF-8",
        "match",
        "allocation.csv",
        replace("allocation.csv", b"A002", b"A\xff02"),
        line_of("allocation.csv", "\ufffd02"),
        "not UTF-8 text (byte 0xff)",
    ),
    Case(
        "allocation NUL byte",
        "match",
        "allocation.csv",
        replace("allocation.csv", b"A003", b"A\x0003"),
        line_of("allocation.csv", "\x0003"),
        "NUL byte",
    ),
    Case(
        "allocation unknown status",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 2, "chosen"),
        (2, 2),
        "status 'chosen' is not one of selected, reserve, not_selected, ineligible",
    ),
    Case(
        "allocation score not a number",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 4, "high"),
        (2, 4),
        "score is not a number",
    ),
    Case(
        "allocation score NaN",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 4, "NaN"),
        (2, 4),
        "score is not a number",
    ),
    Case(
        "allocation score infinite",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 4, "-Infinity"),
        (2, 4),
        "score is not a number",
    ),
    Case(
        "allocation reserve rank not whole",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 6, "first"),
        (2, 6),
        "reserve_rank is not a whole number from 1",
    ),
    Case(
        "allocation reserve rank zero",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 6, "0"),
        (2, 6),
        "reserve_rank is not a whole number from 1",
    ),
    Case(
        "allocation reserve rank huge",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 6, "1" * 40),
        (2, 6),
        "reserve_rank is not a whole number from 1",
    ),
    Case(
        "allocation blank id",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 1, ""),
        (2, 1),
        "applicant_id is blank",
    ),
    Case(
        "allocation selected without cohort",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 2, 3, ""),
        (2, 3),
        "a selected applicant needs a cohort_id",
    ),
    Case(
        "allocation duplicate column",
        "match",
        "allocation.csv",
        set_cell("allocation.csv", 1, 7, "status"),
        (1, 7),
        "column 'status' appears twice",
    ),
    Case(
        "allocation is a folder",
        "match",
        "allocation.csv",
        make_folder("allocation.csv"),
        (1, 1),
        "cannot read the file: it is a folder",
    ),
    Case(
        "allocation broken for schedule",
        "schedule",
        "allocation.csv",
        set_cell("allocation.csv", 2, 2, "chosen"),
        (2, 2),
        "status 'chosen'",
    ),
    Case(
        "allocation broken for explain",
        "explain",
        "allocation.csv",
        set_cell("allocation.csv", 2, 2, "chosen"),
        (2, 2),
        "status 'chosen'",
    ),
    Case(
        "allocation broken for withdraw",
        "withdraw",
        "allocation.csv",
        set_cell("allocation.csv", 2, 2, "chosen"),
        (2, 2),
        "status 'chosen'",
    ),
    # matches.csv in --out (read by schedule and explain)
    Case(
        "matches fit not whole",
        "schedule",
        "matches.csv",
        set_cell("matches.csv", 2, 6, "good"),
        (2, 6),
        "coach_fit is not a whole number",
    ),
    Case(
        "matches blank coach",
        "schedule",
        "matches.csv",
        set_cell("matches.csv", 3, 4, ""),
        (3, 4),
        "coach_id is blank",
    ),
    Case(
        "matches missing column",
        "schedule",
        "matches.csv",
        drop_column("matches.csv", 4),
        (1, 7),
        "missing column 'coach_id'",
    ),
    Case(
        "matches stray quote",
        "explain",
        "matches.csv",
        set_cell("matches.csv", 4, 1, '"A0'),
        (4, 1),
        "not a CSV written by cohort-solver",
    ),
    Case(
        "matches unterminated quote",
        "explain",
        "matches.csv",
        lambda out: (out / "matches.csv").open("a").write('A099,main,M01,CO1,1,1,"never closed\n'),
        (14, 1),
        "unexpected end of data",
    ),
    # solution.json (read by every command that adds to it)
    Case(
        "solution not JSON",
        "match",
        "solution.json",
        replace("solution.json", b'"stages": {', b'"stages": {,'),
        line_of("solution.json", ",", '"stages": {'),
        "not JSON written by cohort-solver (Expecting property name",
    ),
    Case(
        "solution truncated",
        "match",
        "solution.json",
        write("solution.json", b'{\n  "stages": {\n'),
        (3, 1),
        "not JSON written by cohort-solver",
    ),
    Case(
        "solution without stages",
        "match",
        "solution.json",
        replace("solution.json", b'"stages"', b'"stagez"'),
        (1, 1),
        "stages: missing, or not a table of stages",
    ),
    Case(
        "solution unknown status",
        "match",
        "solution.json",
        replace("solution.json", b'"status": "optimal"', b'"status": "done"', 2),
        line_of("solution.json", '"status"', '"allocation"'),
        "stages.allocation.status: should be 'optimal' or 'feasible'",
    ),
    Case(
        "solution objective not whole",
        "match",
        "solution.json",
        replace("solution.json", b'"value": 9,', b'"value": "nine",'),
        line_of("solution.json", "{", '"objectives"'),
        "stages.allocation.objectives.0: needs a name",
    ),
    Case(
        "solution seconds not a number",
        "match",
        "solution.json",
        replace("solution.json", b'"seconds": ', b'"seconds": "a while", "x": '),
        line_of("solution.json", '"seconds"', '"allocation"'),
        "stages.allocation.seconds: not a number",
    ),
    Case(
        "solution not UTF-8",
        "match",
        "solution.json",
        replace("solution.json", b"Aspiring", b"\xffspiring"),
        line_of("solution.json", "\ufffdspiring"),
        "not UTF-8 text",
    ),
    Case(
        "solution is a folder",
        "match",
        "solution.json",
        make_folder("solution.json"),
        (1, 1),
        "cannot read the file",
    ),
    Case(
        "solution is a list",
        "match",
        "solution.json",
        write("solution.json", b"[1, 2]\n"),
        (1, 1),
        "stages: missing",
    ),
    # ics/ in --out (read by export and run)
    Case(
        "feed not UTF-8",
        "export",
        FEED,
        replace(FEED, b"Group Inductions", b"Group \xffnductions"),
        line_of(FEED, "\ufffdnductions"),
        "not UTF-8 text",
    ),
    Case(
        "feed without BEGIN:VCALENDAR",
        "export",
        FEED,
        replace(FEED, b"BEGIN:VCALENDAR", b"BEGIN:VTODO"),
        (1, 1),
        "a feed starts with BEGIN:VCALENDAR",
    ),
    Case(
        "feed END mismatch",
        "export",
        FEED,
        replace(FEED, b"END:VEVENT", b"END:VTODO"),
        line_of(FEED, "END:VTODO"),
        "END:VTODO closes BEGIN:VEVENT of line 45",  # after the calendar properties
    ),
    Case(
        "feed never closed",
        "export",
        FEED,
        replace(FEED, b"END:VCALENDAR", b""),
        (1, 1),
        "BEGIN:VCALENDAR is never closed",
    ),
    Case(
        "feed line without colon",
        "export",
        FEED,
        replace(FEED, b"CALSCALE:GREGORIAN", b"CALSCALE GREGORIAN"),
        (4, 1),
        "not an iCalendar line",
    ),
    Case(
        "feed fold at start",
        "export",
        FEED,
        write(FEED, b" BEGIN:VCALENDAR\r\n"),
        (1, 1),
        "a folded line with nothing before it",
    ),
    Case("feed empty", "export", FEED, write(FEED, b""), (1, 1), "the feed is empty"),
    Case(
        "feed sequence not whole",
        "export",
        FEED,
        replace(FEED, b"SEQUENCE:0", b"SEQUENCE:x"),
        line_of(FEED, "SEQUENCE:x"),
        "SEQUENCE is not a whole number",
    ),
    Case(
        "feed sequence negative",
        "export",
        FEED,
        replace(FEED, b"SEQUENCE:0", b"SEQUENCE:-4"),
        line_of(FEED, "SEQUENCE:-4"),
        "SEQUENCE is negative",
    ),
    Case(
        "feed start not a time",
        "export",
        FEED,
        replace(
            FEED, b"DTSTART;TZID=Europe/London:20240402T090000", b"DTSTART;TZID=Europe/London:soon"
        ),
        line_start(FEED, ":soon"),
        "cannot read this event",
    ),
    Case(
        "feed start far away",
        "export",
        FEED,
        replace(
            FEED,
            b"DTSTART;TZID=Europe/London:20240402T090000",
            b"DTSTART;TZID=Europe/London:99990402T090000",
        ),
        line_start(FEED, ":99990402"),
        "DTSTART in 9999 is more than 10 years from the programme start (2024)",
    ),
    Case(
        "feed two UIDs",
        "export",
        FEED,
        replace(FEED, b"SEQUENCE:0", b"UID:second\r\nSEQUENCE:0"),
        line_of(FEED, "UID:main-IND"),
        "an event needs exactly one UID",
    ),
    Case(
        "feed event without UID",
        "export",
        FEED,
        replace(FEED, b"UID:main-IND", b"X-OLD-UID:main-IND"),
        line_of(FEED, "BEGIN:VEVENT"),
        "an event needs exactly one UID",
    ),
    Case(
        "ics is a file",
        "export",
        "ics",
        lambda out: (shutil.rmtree(out / "ics"), (out / "ics").write_text("x")),
        (1, 1),
        "should be the folder of feeds (ics/)",
    ),  # type: ignore[arg-type,return-value]  # the lambda returns a tuple of side effects
    Case(
        "feed is a dangling link",
        "export",
        "ics/person-gone.ics",
        lambda out: (out / "ics" / "person-gone.ics").symlink_to(out / "nowhere.ics"),
        (1, 1),
        "cannot read the feed: a link to nothing",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_a_damaged_output_file_is_exit_2_at_its_cell(
    case: Case, base: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario, built = base
    out = tmp_path / "out"
    shutil.copytree(built, out, symlinks=True)
    case.change(out)
    row, column = case.at(out) if callable(case.at) else case.at
    before = tree(tmp_path)
    extra = {"explain": ["A024"], "withdraw": ["A024"]}.get(case.command, [])
    result = CliRunner().invoke(
        main, [case.command, str(scenario), *extra, "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    expected = f"{out / case.file}:{row}:{column}: "
    problems = result.stderr.splitlines()
    assert any(p.startswith(expected) and case.message in p for p in problems), (
        expected,
        case.message,
        problems,
    )
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_match_previous_that_is_not_a_matches_csv_is_exit_2(
    base: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario, built = base
    previous = tmp_path / "old.csv"
    text = (built / "matches.csv").read_text().split("\n")
    cells = text[2].split(",")
    cells[4] = "excellent"
    text[2] = ",".join(cells)
    previous.write_text("\n".join(text))
    result = CliRunner().invoke(
        main, ["match", str(scenario), "--out", str(tmp_path / "out"), "--previous", str(previous)]
    )
    assert result.exit_code == 2
    assert f"{previous}:3:5: mentor_fit is not a whole number" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_export_previous_folder_with_a_damaged_feed_is_exit_2(
    base: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario, built = base
    out = tmp_path / "out"
    shutil.copytree(built, out)
    previous = tmp_path / "old-ics"
    shutil.copytree(built / "ics", previous)
    feed = previous / "cohort-main.ics"
    feed.write_bytes(feed.read_bytes().replace(b"SEQUENCE:0", b"SEQUENCE:zero", 1))
    line = feed.read_text().split("SEQUENCE:zero")[0].count("\n") + 1
    result = CliRunner().invoke(
        main, ["export", str(scenario), "--out", str(out), "--previous", str(previous), "--quiet"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{feed}:{line}:1: SEQUENCE is not a whole number"


@pytest.mark.slow
def test_every_damaged_feed_is_reported_at_once(base: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, built = base
    out = tmp_path / "out"
    shutil.copytree(built, out)
    feeds = sorted((out / "ics").glob("*.ics"))[:3]
    for feed in feeds:
        feed.write_bytes(b"nonsense\r\n")
    result = CliRunner().invoke(main, ["export", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{feed}:1:1: not an iCalendar line (NAME:value)" for feed in feeds
    ]


def test_json_problems_point_at_the_key(tmp_path: Path) -> None:
    from cohort_solver.errors import InputError
    from cohort_solver.stages.export.solution import read_reports

    path = tmp_path / "solution.json"
    path.write_text(
        json.dumps(
            {"stages": {"allocation": {"status": "optimal", "objectives": [{"name": "x"}]}}},
            indent=2,
        )
    )
    with pytest.raises(InputError) as raised:
        read_reports(path)
    (problem,) = raised.value.problems
    assert (problem.row, problem.column) == (6, 9)  # the objective at fault
