"""Reading a scenario folder (CSV/xlsx/toml) and writing output folders atomically.

Every problem found is collected as ``file:row:column: message`` before anything is raised,
so a coordinator fixes the whole file in one pass. Rows count from 1 = the header row, as a
spreadsheet shows them; columns count from 1.
"""

from __future__ import annotations

import copy
import csv
import difflib
import errno
import hashlib
import io
import os
import re
import stat
import tomllib
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_origin
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.styles.numbers import is_datetime
from pydantic import BaseModel, ValidationError

from .errors import InputError, Problem
from .model import (
    CONTROL_CHARACTERS,
    DATE_HELP,
    MOMENT_HELP,
    OUTCOME_KINDS,
    WEEKDAYS,
    Applicant,
    Coach,
    Conflict,
    Mentor,
    Person,
    ProgrammeOutcome,
    Scenario,
    Score,
    Session,
    Settings,
    Unavailability,
    Venue,
    id_key,
    invisible_character,
    parse_moment_parts,
    unsafe_character,
)

TOML = "scenario.toml"

# --------------------------------------------------------------------------- cell parsers

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Plain ASCII numbers only: Decimal would also take "1_000", "٣" and "Infinity".
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Beyond this many digits a number is a slip, and turning it into an int would be slow.
_MAX_DIGITS = 1000
_DAY_NAMES = {d.lower(): d for d in WEEKDAYS} | {
    full: short
    for short, full in zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
}


def parse_yes_no(cell: str) -> bool:
    word = cell.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValueError(f"{cell!r} is not yes or no (use yes/no, y/n, true/false or 1/0)")


def _number(cell: str, what: str) -> Decimal:
    text = cell.strip()
    if not NUMBER.fullmatch(text):
        raise ValueError(f"{cell!r} is not {what}")
    number = Decimal(text)
    if number and number.adjusted() >= _MAX_DIGITS:
        raise ValueError(f"{cell!r} is far too large a number")
    return number


def parse_int(cell: str) -> int:
    number = _number(cell, "a whole number")
    if number != number.to_integral_value():
        raise ValueError(f"{cell!r} is not a whole number")
    return int(number)


def parse_decimal(cell: str) -> Decimal:
    return _number(cell, "a number")


def parse_list(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def parse_weekdays(cell: str) -> tuple[str, ...]:
    days = []
    for part in parse_list(cell):
        day = _DAY_NAMES.get(part.lower())
        if day is None:
            raise ValueError(f"{part!r} is not a weekday (use Mon, Tue, Wed, Thu, Fri)")
        days.append(day)
    return tuple(sorted(set(days), key=WEEKDAYS.index))


def parse_email(cell: str) -> str:
    if cell and not EMAIL.match(cell):
        raise ValueError(f"{cell!r} does not look like an email address")
    return cell


def parse_moment(cell: str, *, end: bool, zone: tzinfo = UTC) -> datetime:
    """A whole day (an end date is inclusive: it blocks that whole day) or a moment.

    The result is wall-clock time in the programme's time zone ``zone``, as the calendar
    works: a moment written with a UTC offset is converted to it, one without is taken as
    already in it.
    """
    day, clock, offset = parse_moment_parts(cell)
    if clock is None:
        return datetime.combine(day + timedelta(days=1 if end else 0), time())
    moment = datetime.combine(day, clock, tzinfo=offset)
    if offset is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def parse_date(cell: str) -> date:
    """A date; a date-time at exactly midnight (an xlsx date-time cell) is that date."""
    try:
        day, clock, offset = parse_moment_parts(cell)
    except ValueError as exc:
        if "is not an ISO date" in str(exc):
            raise ValueError(f"{cell!r} is not an ISO date ({DATE_HELP})") from None
        raise
    if clock not in (None, time()) or offset is not None:
        raise ValueError(f"{cell!r} has a time of day: give the date only ({DATE_HELP})")
    return day


def parse_outcome(cell: str) -> str:
    word = re.sub(r"[\s\-]+", "_", cell.strip().lower())
    if word not in OUTCOME_KINDS:
        raise ValueError(f"{cell!r} is not one of {', '.join(OUTCOME_KINDS)}")
    return word


def _text(cell: str) -> str:
    return cell


def _optional(cell: str) -> str | None:
    return cell or None


@dataclass(frozen=True)
class Column:
    """How one CSV column maps onto a model field."""

    name: str
    parse: Callable[[str], Any] = _text
    required: bool = False  # the column must be present
    blank_ok: bool = True  # an empty cell is allowed (then the field keeps its default)
    field: str | None = None
    key: bool = False  # the id this file defines: unique, one id (no ';'), compared as id_key
    dates: bool = False  # holds dates or date-times (an xlsx date cell is welcome here)
    free_text: bool = False  # a display name or title: invisible characters (ZWJ in a name) allowed
    protected: bool = False  # a protected characteristic: its values are never echoed

    @property
    def target(self) -> str:
        return self.field or self.name


def _columns(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


APPLICANT_COLUMNS = _columns(
    Column("applicant_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("council"),
    Column("service_area"),
    Column("grade", parse_int, required=True, blank_ok=False),
    Column("probation_passed", parse_yes_no, required=True, blank_ok=False),
    Column("line_manager_approved", parse_yes_no, required=True, blank_ok=False),
    Column("performance_eligible", parse_yes_no, required=True, blank_ok=False),
    Column("line_manager_id", _optional),
    Column("development_needs", parse_list),
    Column("working_days", parse_weekdays),
    Column("cohorts", parse_list),
)
SCORE_COLUMNS = _columns(
    Column("applicant_id", required=True, blank_ok=False),
    Column("panelist", required=True, blank_ok=False),
    Column("score", parse_decimal, required=True, blank_ok=False),
    Column("criterion", _optional),
)
MENTOR_COLUMNS = _columns(
    Column("mentor_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("council"),
    Column("service_area"),
    Column("grade", parse_int, required=True, blank_ok=False),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
)
COACH_COLUMNS = _columns(
    Column("coach_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
    Column("councils", parse_list),
    Column("working_days", parse_weekdays),
)
SESSION_COLUMNS = _columns(
    Column("session_key", required=True, blank_ok=False, key=True),
    Column("title", required=True, blank_ok=False, free_text=True),
    Column("kind", lambda c: c.strip().lower(), required=True, blank_ok=False),
    Column("month", parse_int, required=True, blank_ok=False),
    Column("duration_minutes", parse_int, required=True, blank_ok=False),
    Column("facilitator", _optional),
    Column("with", parse_list, field="with"),
    Column("after", _optional),
)
PERSON_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("email", parse_email),
    Column("role", lambda c: c.strip().lower()),
    Column("council"),
    Column("service_area"),
)
VENUE_COLUMNS = _columns(
    Column("venue_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("capacity", parse_int, required=True, blank_ok=False),
    Column("council", _optional),
)


def unavailability_columns(zone: tzinfo) -> dict[str, Column]:
    """unavailability.csv, read in the programme's time zone (offsets are converted to it)."""
    return _columns(
        Column("id", required=True, blank_ok=False),
        Column(
            "start",
            lambda c: parse_moment(c, end=False, zone=zone),
            required=True,
            blank_ok=False,
            dates=True,
        ),
        Column(
            "end",
            lambda c: parse_moment(c, end=True, zone=zone),
            required=True,
            blank_ok=False,
            dates=True,
        ),
    )


CONFLICT_COLUMNS = _columns(
    Column("person_a", required=True, blank_ok=False),
    Column("person_b", required=True, blank_ok=False),
)
OUTCOME_COLUMNS = _columns(
    Column("participant_id", required=True, blank_ok=False, key=True),
    Column("completed", parse_yes_no),  # blank: not known yet
    Column("outcome", parse_outcome),  # blank: none
    Column("outcome_date", parse_date, dates=True),
)


def group_columns(groups: Iterable[str]) -> dict[str, Column]:
    """The protected-characteristic columns a ring fence or the evidence profile names."""
    return _columns(*(Column(g, parse_yes_no, field=f"groups.{g}", protected=True) for g in groups))


# --------------------------------------------------------------------------- files


def _read_file(path: Path, out: Collector) -> bytes | None:
    """The bytes of an input file, or a located problem saying why it cannot be read.

    Only a file that is not there at all is absent; anything else in its place (a dangling or
    looping link, a folder, a pipe, a file without read permission) is bad input, or a
    declared conflict of interest could vanish without a word.
    """
    file = path.name
    try:
        info = path.stat()
    except OSError as exc:
        if path.is_symlink():
            if exc.errno == errno.ELOOP:
                out.add(file, 1, 1, f"{file} is a symbolic link that loops: point it at a file")
            else:
                target = os.readlink(path)
                out.add(
                    file,
                    1,
                    1,
                    f"{file} is a symbolic link to {target}, which does not exist: "
                    "restore the file or remove the link",
                )
        else:
            out.add(file, 1, 1, f"{file} cannot be read ({exc.strerror or exc})")
        return None
    if stat.S_ISDIR(info.st_mode):
        out.add(file, 1, 1, f"{file} is a folder, not a file")
        return None
    if not stat.S_ISREG(info.st_mode):
        out.add(file, 1, 1, f"{file} is not a regular file (a pipe or device): copy the file in")
        return None
    try:
        return path.read_bytes()
    except PermissionError:
        out.add(file, 1, 1, f"{file} cannot be read (permission denied): allow reading it")
    except OSError as exc:
        out.add(file, 1, 1, f"{file} cannot be read ({exc.strerror or exc})")
    return None


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Special:
    """An xlsx cell that is not plain text: how it was written, for the cell checks."""

    kind: str  # date | datetime | time | duration | formula | error | long_number
    text: str = ""


@dataclass
class Grid:
    """A file as rows of text cells (row 1 = the header), with its special cells."""

    rows: list[list[str]]
    special: dict[tuple[int, int], Special] = field(default_factory=dict)  # (row, column)
    aligned: bool = False  # cells sit in fixed columns (xlsx), so rows cannot be short or long


@dataclass
class Table:
    """A CSV or xlsx sheet as text cells, with the header's column positions."""

    file: str
    positions: dict[str, int]  # normalised column name -> 1-based column
    rows: list[tuple[int, dict[str, str]]]  # (row number, cells by normalised name)
    raw: bytes = b""
    special: dict[tuple[int, int], Special] = field(default_factory=dict)
    broken: set[int] = field(default_factory=set)  # rows refused whole (wrong number of cells)

    def column(self, name: str) -> int:
        return self.positions.get(name, 1)

    def special_cell(self, row: int, name: str) -> Special | None:
        position = self.positions.get(name)
        return self.special.get((row, position)) if position else None


@dataclass
class Collector:
    """Gathers problems and warnings across the whole folder."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, file: str, row: int, column: int, message: str) -> None:
        self.problems.append(Problem(file, row, column, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(sorted(set(self.problems), key=_problem_order))


def _problem_order(problem: Problem) -> tuple[int, str, int, int, str]:
    first = 0 if problem.file == TOML else 1 if problem.file == "--set" else 2
    return (first, problem.file, problem.row, problem.column, problem.message)


def _decode(file: str, data: bytes, out: Collector) -> str | None:
    """scenario.toml as text; a bad byte is located by line and character."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        row = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        out.add(
            file,
            row,
            column,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8",
        )
        return None


_UNDECODABLE = re.compile(
    "[\udc80-\udcff]"
)  # bytes that are not UTF-8, as surrogateescape keeps them
_LINE_END = re.compile(r"\r\n|\r|\n")


def _csv_grid(file: str, data: bytes, out: Collector) -> Grid | None:
    """Rows as a spreadsheet shows them: a quoted cell may hold a line break, and row numbers
    count rows, not physical lines."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        out.add(
            file, 1, 1, "the file is UTF-16 text (Excel's 'Unicode Text'): save it as 'CSV UTF-8'"
        )
        return None
    text = data.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines_read = 0
    try:
        for row in reader:
            rows.append(row)
            lines_read = reader.line_num
    except csv.Error:
        out.add(file, *_csv_fault(text, lines_read, len(rows) + 1))
        return None
    if _UNDECODABLE.search(text):
        bad = [
            (r, c, found.group())
            for r, row in enumerate(rows, start=1)
            for c, cell in enumerate(row, start=1)
            if (found := _UNDECODABLE.search(cell))
        ]
        at_row, at_column, char = bad[0]
        more = f"; {len(bad) - 1} more cells have such bytes" if len(bad) > 1 else ""
        out.add(
            file,
            at_row,
            at_column,
            f"the file is not UTF-8 text (byte 0x{ord(char) - 0xDC00:02x} in this cell{more}): "
            "save it as 'CSV UTF-8' from Excel",
        )
        return None
    return Grid(rows)


def _csv_fault(text: str, lines_read: int, row: int) -> tuple[int, int, str]:
    """Where the row the csv reader stopped on goes wrong, as (row, column, message).

    Only run on a fault, so it may walk the characters of that one row in Python.
    """
    start = 0
    for number, end in enumerate(_LINE_END.finditer(text), start=1):
        if number > lines_read:
            break
        start = end.end()
    limit = csv.field_size_limit()
    column, i, n = 1, start, len(text)
    while i < n:
        first = i
        if text[i] == '"':
            i += 1
            while True:
                close = text.find('"', i)
                if close < 0:
                    return (
                        row,
                        column,
                        'this cell opens a quote (") that is never closed: '
                        "close it, or remove the stray quote",
                    )
                if text.startswith('"', close + 1):  # "" is a quote inside the cell
                    i = close + 2
                    continue
                i = close + 1
                break
            if i < n and text[i] not in ",\r\n":
                return (
                    row,
                    column,
                    "text follows the closing quote of this cell: quote the whole cell, "
                    'and double each quote inside it ("")',
                )
        else:
            while i < n and text[i] not in ",\r\n":
                i += 1
        if i - first > limit:
            return row, column, f"this cell is longer than {limit} characters"
        if i >= n or text[i] != ",":
            break
        i += 1
        column += 1
    return row, column, "this row cannot be read as CSV"


def _formula_cells(data: bytes, title: str) -> set[tuple[int, int]]:
    """(row, column) of every formula on the sheet; empty when the workbook has none."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if not any(
            re.search(rb"<(?:\w+:)?f[\s/>]", archive.read(name))
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        ):
            return set()
    # Only the formula text survives in this reading, so it is a second pass.
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = book[title]
        sheet.reset_dimensions()  # type: ignore[union-attr]
        return {
            (r, c)
            for r, row in enumerate(sheet.iter_rows(), start=1)
            for c, cell in enumerate(row, start=1)
            if cell.data_type == "f"
        }
    finally:
        book.close()


def _xlsx_cell(cell: Any) -> tuple[str, Special | None]:
    """The text of one cell, and how it was written when that is not plain text."""
    value = cell.value
    if value is None:
        return "", None
    if cell.data_type == "e":
        return "", Special("error", str(value))
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, datetime):
        moment = value.replace(microsecond=0)
        if value.microsecond >= 500_000:
            moment += timedelta(seconds=1)
        if moment.time() == time() and is_datetime(cell.number_format) == "date":
            return moment.date().isoformat(), Special("date")
        return moment.isoformat(), Special("datetime")
    if isinstance(value, date):
        return value.isoformat(), Special("date")
    if isinstance(value, time):
        return value.isoformat(), Special("time")
    if isinstance(value, timedelta):
        return str(value), Special("duration")
    if isinstance(value, int | float):
        if abs(value) >= 10**15:  # Excel keeps 15 significant digits: the rest is already lost
            return repr(value), Special("long_number")
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None
        return repr(value), None
    return str(value), None


def _xlsx_grid(file: str, data: bytes, out: Collector) -> Grid | None:
    """The first visible sheet; hidden sheets are never read (a stale hidden copy must not
    decide who gets a place)."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        out.add(
            file, 1, 1, f"cannot open the workbook ({type(exc).__name__}): save it again as .xlsx"
        )
        return None
    try:
        sheets = book.worksheets
        visible = [s for s in sheets if s.sheet_state == "visible"]
        if not visible:
            out.add(file, 1, 1, "every sheet of the workbook is hidden: unhide the one to read")
            return None
        sheet = visible[0]
        hidden = [s.title for s in sheets[: sheets.index(sheet)]]
        if hidden:
            out.warnings.append(
                f"{file}:1:1: hidden sheet{'s' if len(hidden) > 1 else ''} "
                f"{', '.join(map(repr, hidden))} not read; reading {sheet.title!r}, "
                "the first visible sheet"
            )
        formulas = _formula_cells(data, sheet.title)
        sheet.reset_dimensions()  # type: ignore[union-attr]
        grid = Grid([], aligned=True)
        for r, row in enumerate(sheet.iter_rows(), start=1):
            texts = []
            for c, cell in enumerate(row, start=1):
                text, special = _xlsx_cell(cell)
                if special is None and (r, c) in formulas and text == "":
                    # No saved result. A saved empty text result is typed 'str' and is blank.
                    special = Special("formula") if cell.data_type != "str" else None
                if special is not None:
                    grid.special[r, c] = special
                texts.append(text)
            grid.rows.append(texts)
        return grid
    except Exception as exc:
        out.add(
            file, 1, 1, f"cannot read the workbook ({type(exc).__name__}): save it again as .xlsx"
        )
        return None
    finally:
        book.close()


def _clean(cell: str) -> str:
    text = cell.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def read_table(folder: Path, stem: str, out: Collector, *, required: bool = False) -> Table | None:
    """Read ``stem.csv`` or ``stem.xlsx`` from the folder; None when absent (or unreadable)."""
    paths = [p for p in (folder / f"{stem}.csv", folder / f"{stem}.xlsx") if os.path.lexists(p)]
    if len(paths) > 1:
        out.add(f"{stem}.xlsx", 1, 1, f"both {stem}.csv and {stem}.xlsx exist: keep only one")
        return None
    if not paths:
        if required:
            out.add(f"{stem}.csv", 1, 1, f"{stem}.csv is missing from the scenario folder")
        return None
    path = paths[0]
    data = _read_file(path, out)
    if data is None:
        return None
    reader = _xlsx_grid if path.suffix == ".xlsx" else _csv_grid
    grid = reader(path.name, data, out)
    if grid is None:
        return None
    return _table(path.name, grid, data, out)


def _table(file: str, grid: Grid, raw: bytes, out: Collector) -> Table | None:
    special_rows = {r for r, _ in grid.special}
    if not any(any(c.strip() for c in row) for row in grid.rows) and not special_rows:
        out.add(file, 1, 1, "the file is empty: it needs a header row")
        return None
    header = grid.rows[0] if grid.rows else []
    if not any(c.strip() for c in header):
        out.add(file, 1, 1, "row 1 is blank: the first row must name the columns")
        return None
    if len(header) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in header[0]:
                out.add(
                    file,
                    1,
                    1,
                    f"the columns are separated by {name}, not commas: save the file as "
                    "'CSV UTF-8 (comma delimited)'",
                )
                return None
    if re.fullmatch(r"sep=.?", "".join(header).strip()):
        out.add(file, 1, 1, "row 1 is Excel's 'sep=' hint, not the header: delete that line")
        return None
    positions: dict[str, int] = {}
    for index, heading in enumerate(header, start=1):
        name = _clean(heading).lower()
        if not name:
            continue
        if name in positions:
            out.add(
                file, 1, index, f"column {name!r} appears twice (also column {positions[name]})"
            )
            continue
        positions[name] = index
    width = len(header)
    named = set(positions.values())
    unheaded = len(named) < width  # some column has no heading (or a repeated one)
    special_rows = {r for r, c in grid.special if c in named}
    nameless: set[int] = set()
    table = Table(file, positions, [], raw, grid.special)
    for number, row in enumerate(grid.rows[1:], start=2):
        if not "".join(row).strip() and number not in special_rows:
            continue  # a blank row, as a spreadsheet shows between blocks
        if not grid.aligned and len(row) != width:
            # A short row would leave its last columns blank (a protected characteristic read
            # as "not declared"); a long one has shifted its cells. Either changes the outcome.
            out.add(
                file,
                number,
                min(len(row), width) + 1,
                f"this row has {len(row)} cells but the header has {width}"
                + (": add the missing cells" if len(row) < width else ""),
            )
            table.broken.add(number)
        if len(row) > width or unheaded:
            nameless.update(
                c
                for c, cell in enumerate(row, start=1)
                if cell.strip() and (c > width or not header[c - 1].strip())
            )
        row = row + [""] * (width - len(row))
        values = [cell.strip() for cell in row]
        if not "".join(values).isascii():
            values = [unicodedata.normalize("NFC", cell) for cell in values]
        cells = {name: values[i - 1] for name, i in positions.items()}
        if any(cells.values()) or number in special_rows or number in table.broken:
            table.rows.append((number, cells))
    for column in sorted(nameless):
        out.warnings.append(
            f"{file}:1:{column}: column {column} has values but no heading: they were ignored"
        )
    return table


def _cell_problem(column: Column, cell: str, special: Special | None) -> str | None:
    """What is wrong with one cell before its value is read, if anything."""
    name = column.name
    if special is not None:
        if special.kind == "formula":
            return (
                f"{name}: the cell holds a formula with no saved value: open the file in Excel "
                "and save it, so the value is stored"
            )
        if special.kind == "error":
            shown = "an Excel error" if column.protected else f"the Excel error {special.text}"
            return f"{name}: the cell holds {shown}: correct the formula or type the value"
        if special.kind == "long_number":
            return (
                f"{name}: the cell holds a number too long for Excel to keep exactly (over 15 "
                "digits): format the column as Text and type the value again"
            )
        if not column.dates:
            shown = "" if column.protected else f" ({cell})"
            return (
                f"{name}: the cell is a {special.kind} in the workbook{shown}, but {name} is "
                "not a date: format the column as Text and type the value again"
            )
        if special.kind in ("time", "duration"):
            return f"{name}: the cell is a time of day without a date: {MOMENT_HELP}"
    reason = unsafe_character(cell) or (None if column.free_text else invisible_character(cell))
    if reason:
        return f"{name}: {reason}"
    if column.key and ";" in cell:
        return f"{name}: an id cannot contain ';' (lists of ids are separated by ';')"
    return None


def _records(
    table: Table,
    model: type[BaseModel],
    columns: dict[str, Column],
    out: Collector,
    *,
    extra: Callable[[dict[str, str], dict[str, Any], Callable[[str, str], None]], None]
    | None = None,
) -> list[Any]:
    """Parse and validate every row of a table into ``model`` records."""
    missing = [n for n, c in columns.items() if c.required and n not in table.positions]
    for name in missing:
        out.add(table.file, 1, len(table.positions) + 1, f"required column {name!r} is missing")
    unknown = set(table.positions) - set(columns)
    for name in sorted(unknown, key=table.column):
        out.warnings.append(f"{table.file}:1:{table.column(name)}: unknown column {name!r} ignored")
    key = next((n for n, c in columns.items() if c.key), None)
    present = [(n, c) for n, c in columns.items() if n in table.positions]
    records = []
    seen: dict[str, tuple[str, int]] = {}
    for number, cells in table.rows:
        if number in table.broken:
            continue
        values: dict[str, Any] = {}
        ok = True

        def problem(column_name: str, message: str, number: int = number) -> None:
            nonlocal ok
            ok = False
            out.add(table.file, number, table.column(column_name), message)

        for name, column in present:
            cell = cells[name]
            special = table.special_cell(number, name) if table.special else None
            plain = special is None and (
                not cell
                or (
                    cell.isascii()
                    and not CONTROL_CHARACTERS.search(cell)
                    and not (column.key and ";" in cell)
                )
            )
            reason = None if plain else _cell_problem(column, cell, special)
            if reason:
                problem(name, reason)
                continue
            if not cell:
                if not column.blank_ok:
                    problem(name, f"{name} is blank")
                continue
            try:
                values[column.target] = column.parse(cell)
            except ValueError as exc:
                if column.protected:  # name the cell and the rule, never the value
                    problem(
                        name,
                        f"{name}: the cell is not yes, no or blank (use yes/no, y/n, true/false "
                        "or 1/0; the value is not repeated here, as it is a protected "
                        "characteristic)",
                    )
                else:
                    problem(name, f"{name}: {exc}")
        if extra:
            extra(cells, values, problem)
        if key and cells.get(key):
            ident = cells[key]
            first = seen.get(id_key(ident))
            if first is None:
                seen[id_key(ident)] = (ident, number)
            elif first[0] == ident:
                problem(key, f"duplicate {key} {ident!r} (first on row {first[1]})")
            else:
                problem(
                    key,
                    f"{key} {ident!r} is the same as {first[0]!r} on row {first[1]} once "
                    "full-width letters, ligatures and special spaces are folded: use one spelling",
                )
        if not ok or missing:
            continue  # a missing column is reported once, above, not on every row
        try:
            records.append((number, model.model_validate(values)))
        except ValidationError as exc:
            for error in exc.errors():
                field_name = str(error["loc"][0]) if error["loc"] else ""
                column_name = next(
                    (c.name for c in columns.values() if c.target == field_name), field_name
                )
                label = column_name or "row"
                out.add(
                    table.file, number, table.column(column_name), f"{label}: {_friendly(error)}"
                )
    return records


def _shown(value: Any) -> str:
    """A number as a person would write it: 1e+23, not 100000000000000000000000."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        value = Decimal(value)  # a float could not hold 1e400
    if isinstance(value, Decimal):
        return (
            str(value)
            if not value.is_finite() or value.adjusted() < 12
            else f"{value.normalize():.3g}"
        )
    if isinstance(value, float) and abs(value) >= 10**12:
        return f"{value:.3g}"
    return repr(value)


def _friendly(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        limit = next(iter(ctx.values()), "")
        return f"must be {words} {limit} (got {_shown(error.get('input'))})"
    if kind == "finite_number":
        return f"must be a finite number (got {_shown(error.get('input'))})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number (got {_shown(error.get('input'))})"
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return f"must be a number (got {_shown(error.get('input'))})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {error.get('input')!r})"
    if kind == "string_too_short":
        return "must not be blank"
    if kind == "too_short":
        return "needs at least one entry"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


# --------------------------------------------------------------------------- toml


def _toml_positions(text: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Where each table and key of a toml file is written: path -> (line, column)."""
    positions: dict[tuple[Any, ...], tuple[int, int]] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: tuple[Any, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", stripped) or re.match(
            r"^\[\s*([^\]]+?)\s*\]", stripped
        )
        if header:
            names = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            resolved: list[Any] = []
            for i, name in enumerate(names):
                resolved.append(name)
                prefix = names[: i + 1]
                if prefix in array_counts and (i < len(names) - 1 or not stripped.startswith("[[")):
                    resolved.append(array_counts[prefix])
            if stripped.startswith("[["):
                array_counts[names] = array_counts.get(names, -1) + 1
                resolved.append(array_counts[names])
            current = tuple(resolved)
            positions.setdefault(current, (number, 1))
            continue
        assignment = re.match(r"^(\s*)([A-Za-z0-9_\-\.\"]+)\s*=\s*(.*)$", line)
        if assignment:
            key = tuple(part.strip().strip('"') for part in assignment.group(2).split("."))
            path = current + key
            positions.setdefault(path, (number, len(assignment.group(1)) + 1))
            for inner in re.finditer(r"([A-Za-z0-9_]+)\s*=", assignment.group(3)):
                positions.setdefault(
                    path + (inner.group(1),), (number, assignment.start(3) + inner.start(1) + 1)
                )
    return positions


def _locate(
    positions: dict[tuple[Any, ...], tuple[int, int]], loc: tuple[Any, ...]
) -> tuple[int, int]:
    for end in range(len(loc), 0, -1):
        if loc[:end] in positions:
            return positions[loc[:end]]
    return (1, 1)


def parse_override(text: str) -> tuple[tuple[str | int, ...], Any]:
    """``selection.ring_fence.0.min_places=6`` -> (path, value); the value is read as toml."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not key.path=value")
    path = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return path, parsed


def apply_override(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ValueError(f"{'.'.join(map(str, path[:i]))} has no entry {part}")
            if last:
                node[part] = value
            else:
                node = node[part]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"{'.'.join(map(str, path[:i]))} is not a table")
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})


def _unknown_keys(
    model: type[BaseModel], data: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            yield path + (key,)
            continue
        inner = _model_of(info.annotation)
        if inner is None:
            continue
        if get_origin(info.annotation) is dict and isinstance(value, dict):
            for name, item in value.items():
                yield from _unknown_keys(inner, item, path + (key, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from _unknown_keys(inner, item, path + (key, i))
        else:
            yield from _unknown_keys(inner, value, path + (key,))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings table a dotted path points into (list indexes and dict keys skipped)."""
    model: type[BaseModel] = Settings
    i = 0
    while i < len(path):
        part = path[i]
        info = model.model_fields.get(str(part)) if not isinstance(part, int) else None
        if info is None:
            return None
        inner = _model_of(info.annotation)
        if inner is None:
            return None
        i += 1
        if get_origin(info.annotation) is dict or (i < len(path) and isinstance(path[i], int)):
            i += 1  # the dict key or list index that follows
        model = inner
    return model


def _setting_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        inner = _model_of(info.annotation)
        if inner is not None:
            origin = get_origin(info.annotation)
            middle = ".<name>" if origin is dict else ".0" if origin is list else ""
            yield from _setting_paths(inner, f"{path}{middle}.")


def _nearest_settings(key: tuple[Any, ...], tail: tuple[Any, ...]) -> list[str]:
    """The valid settings nearest a mistyped key: its siblings first, then any setting."""
    parent = _model_at(key[:-1])
    word = str(key[-1])
    dotted = ".".join(map(str, key[:-1]))
    if parent is not None:
        close = difflib.get_close_matches(word, list(parent.model_fields), n=3, cutoff=0.6)
        if close:
            return [".".join(map(str, (*key[:-1], c, *tail))) for c in close]
    every = list(_setting_paths(Settings))
    by_name = [
        p for p in every if difflib.get_close_matches(word, [p.rsplit(".", 1)[-1]], cutoff=0.75)
    ]
    if by_name:
        return by_name[:3]
    if parent is not None:
        return [f"{dotted}.{name}" if dotted else name for name in list(parent.model_fields)[:6]]
    return difflib.get_close_matches(".".join(map(str, (*key, *tail))), every, n=3, cutoff=0.4)


def _override_of(
    loc: tuple[Any, ...], overridden: Sequence[tuple[tuple[Any, ...], int]]
) -> int | None:
    """The (last) --set whose key lies on the same path as ``loc``, if any."""
    found = None
    for path, index in overridden:
        if path[: len(loc)] == loc or loc[: len(path)] == path:
            found = index
    return found


def _validation_errors(data: dict[str, Any]) -> set[tuple[tuple[Any, ...], str]]:
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        return {(tuple(e["loc"]), e["msg"]) for e in exc.errors()}
    return set()


def load_settings(
    folder: Path, overrides: Sequence[str], out: Collector
) -> tuple[Settings | None, bytes]:
    path = folder / TOML
    if not os.path.lexists(path):
        out.add(TOML, 1, 1, f"{TOML} is missing from the scenario folder {folder}")
        return None, b""
    raw = _read_file(path, out)
    if raw is None:
        return None, b""
    text = _decode(TOML, raw, out)
    if text is None:
        return None, raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        row, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        out.add(TOML, row, column, f"not valid TOML: {str(exc).split(' (at')[0]}")
        return None, raw
    as_written = copy.deepcopy(data)
    positions = _toml_positions(text)
    overridden: list[tuple[tuple[Any, ...], int]] = []
    for index, override in enumerate(overrides, start=1):
        try:
            path_, value = parse_override(override)
            changed = copy.deepcopy(data)  # a failed override leaves no half-made table behind
            apply_override(changed, path_, value)
        except ValueError as exc:
            out.add("--set", index, 1, str(exc))
            continue
        data = changed
        overridden.append((path_, index))
    for key in _unknown_keys(Settings, data):
        name = ".".join(map(str, key))
        source = _override_of(key, overridden)
        if source is None:
            row, column = _locate(positions, key)
            out.warnings.append(f"{TOML}:{row}:{column}: unknown setting {name!r} ignored")
            continue
        # A mistyped --set would change nothing: that is never what was meant.
        tail = next(p for p, i in overridden if i == source)[len(key) :]
        nearest = _nearest_settings(key, tail)
        out.add(
            "--set",
            source,
            1,
            f"{name!r} is not a setting, so this --set would change nothing"
            + (f"; the nearest settings are {', '.join(nearest)}" if nearest else ""),
        )
    try:
        return Settings.model_validate(data), raw
    except ValidationError as exc:
        errors = exc.errors()
    # An error the file has without the overrides is the file's; any other is an override's,
    # and is reported at it, never at a scenario.toml line the user did not write.
    own = _validation_errors(as_written) if overridden else set()
    for error in errors:
        loc = tuple(error["loc"])
        setting = ".".join(str(p) for p in loc) or "scenario"
        source = None
        if overridden and (loc, error["msg"]) not in own:
            source = _override_of(loc, overridden) or overridden[-1][1]
        if source is not None:
            out.add("--set", source, 1, f"{setting}: {_friendly(error)}")
        else:
            row, column = _locate(positions, loc)
            out.add(TOML, row, column, f"{setting}: {_friendly(error)}")
    return None, raw


# --------------------------------------------------------------------------- scenario

STEMS = (
    "applicants",
    "scores",
    "mentors",
    "coaches",
    "programme",
    "people",
    "venues",
    "unavailability",
    "conflicts",
    "outcomes",
)


def load_scenario(folder: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load and cross-check a scenario folder. Raises InputError listing every problem."""
    folder = Path(folder)
    out = Collector()
    if not folder.is_dir():
        raise InputError([Problem(str(folder), 1, 1, "scenario folder not found")])
    settings, toml_bytes = load_settings(folder, overrides, out)
    tables = {stem: read_table(folder, stem, out, required=stem == "applicants") for stem in STEMS}
    # Without valid settings the tables are still checked, so every problem is reported at once;
    # only the checks that depend on settings (group columns, cohort ids, slots) are skipped.
    groups = (
        list(
            dict.fromkeys(
                [g for rf in settings.selection.ring_fence for g in rf.groups]
                + list(settings.positive_action.profile if settings.positive_action else [])
            )
        )
        if settings
        else []
    )
    groups = [g for g in groups if g not in APPLICANT_COLUMNS]
    cohort_ids = [c.id for c in settings.cohort_list()] if settings else None
    zone: tzinfo = ZoneInfo(settings.programme.timezone) if settings else UTC

    def applicant_extra(
        cells: dict[str, str], values: dict[str, Any], problem: Callable[[str, str], None]
    ) -> None:
        values["groups"] = {g: values.pop(f"groups.{g}", False) for g in groups}
        for cohort in values.get("cohorts", ()):
            if cohort_ids is not None and cohort not in cohort_ids:
                problem(
                    "cohorts",
                    f"cohorts: unknown cohort {cohort!r} (the cohorts are {', '.join(cohort_ids)})",
                )

    def rows(
        stem: str, model: type[BaseModel], columns: dict[str, Column], **kw: Any
    ) -> list[tuple[int, Any]]:
        table = tables[stem]
        return _records(table, model, columns, out, **kw) if table else []

    applicants = rows(
        "applicants",
        Applicant,
        APPLICANT_COLUMNS | group_columns(groups),
        extra=applicant_extra,
    )
    if tables["applicants"]:
        table = tables["applicants"]
        for group in groups:
            if group not in table.positions and any(
                group in rf.groups
                for rf in settings.selection.ring_fence  # type: ignore[union-attr]
            ):
                out.add(
                    table.file,
                    1,
                    len(table.positions) + 1,
                    f"column {group!r} is missing: a ring fence counts members by it",
                )
    scores = rows("scores", Score, SCORE_COLUMNS)
    mentors = rows("mentors", Mentor, MENTOR_COLUMNS)
    coaches = rows("coaches", Coach, COACH_COLUMNS)
    sessions = rows("programme", Session, SESSION_COLUMNS)
    people = rows("people", Person, PERSON_COLUMNS)
    venues = rows("venues", Venue, VENUE_COLUMNS)
    unavailability = rows("unavailability", Unavailability, unavailability_columns(zone))
    conflicts = rows("conflicts", Conflict, CONFLICT_COLUMNS)
    outcomes = rows("outcomes", ProgrammeOutcome, OUTCOME_COLUMNS)
    if settings is not None:
        out.warnings.extend(
            positive_action_warnings(settings, _toml_positions(toml_bytes.decode("utf-8-sig")))
        )

    unread = {
        stem
        for stem in STEMS
        if tables[stem] is None
        and any(os.path.lexists(folder / f"{stem}{ext}") for ext in (".csv", ".xlsx"))
    }
    if tables["applicants"] is None:
        unread.add("applicants")  # required: its absence is reported once, not per reference
    _check_id_namespaces(tables, out)
    _check_references(
        settings,
        tables,
        applicants,
        scores,
        mentors,
        coaches,
        sessions,
        people,
        venues,
        unavailability,
        conflicts,
        unread,
        out,
    )
    _check_outcomes(settings, tables, outcomes, unread, out)
    out.raise_if_any()
    assert settings is not None  # a settings problem would have been raised just above

    digest = hashlib.sha256(toml_bytes)
    for _, read in sorted(tables.items()):
        if read is not None:
            digest.update(f"\0{read.file}\0".encode())
            digest.update(read.raw)
    for override in overrides:
        digest.update(f"\0--set\0{override}".encode())

    def just(records: list[tuple[int, Any]]) -> tuple[Any, ...]:
        return tuple(record for _, record in records)

    scenario = Scenario(
        folder=folder,
        settings=settings,
        applicants=just(applicants),
        scores=just(scores),
        mentors=just(mentors),
        coaches=just(coaches),
        programme=just(sessions),
        people=just(people),
        venues=just(venues),
        unavailability=just(unavailability),
        conflicts=just(conflicts),
        outcomes=just(outcomes),
        checksum=digest.hexdigest(),
        warnings=tuple(out.warnings),
    )
    # Last, as its own InputError: eligibility needs scores and settings that have passed checks.
    _check_session_attendees(scenario, tables["applicants"], applicants)
    return scenario


def positive_action_warnings(
    settings: Settings, positions: dict[tuple[Any, ...], tuple[int, int]]
) -> list[str]:
    """Ring fences that rest on no recorded evidence of under-representation (s158)."""
    warnings = []
    evidence = settings.positive_action
    advice = (
        "record the evidence of under-representation (Equality Act 2010 s158) "
        "before relying on this ring fence"
    )
    for index, ring_fence in enumerate(settings.selection.ring_fence):
        row, column = _locate(positions, ("selection", "ring_fence", index, "groups"))
        where = f"{TOML}:{row}:{column}: ring fence {ring_fence.name!r}"
        if evidence is None:
            warnings.append(f"{where}: scenario.toml has no [positive_action] table: {advice}")
            continue
        if not evidence.evidence.strip():
            warnings.append(f"{where}: [positive_action] has no evidence text: {advice}")
        for group in ring_fence.groups:
            figures = evidence.profile.get(group)
            if figures is None:
                warnings.append(
                    f"{where} names group {group!r} but [positive_action.profile] has no "
                    f"figures for it: {advice}"
                )
            elif figures.senior >= figures.workforce:
                warnings.append(
                    f"{where} names group {group!r} but [positive_action.profile] shows it is "
                    f"not under-represented in senior roles ({figures.senior:.0%} of senior "
                    f"roles, {figures.workforce:.0%} of the workforce): {advice}"
                )
    return warnings


def _check_outcomes(
    settings: Settings | None,
    tables: dict[str, Table | None],
    outcomes: list[tuple[int, ProgrammeOutcome]],
    unread: set[str],
    out: Collector,
) -> None:
    """outcomes.csv names applicants, and no outcome predates the programme."""
    table, applicants = tables["outcomes"], tables["applicants"]
    if table is None:
        return
    known = _Ids(
        None
        if "applicants" in unread
        else {cells["applicant_id"] for _, cells in applicants.rows if cells.get("applicant_id")}
        if applicants
        else set()
    )
    start = settings.programme.start if settings else None
    for row, outcome in outcomes:
        if outcome.participant_id not in known:
            out.add(
                table.file,
                row,
                table.column("participant_id"),
                f"participant_id: {outcome.participant_id!r} is not an applicant in applicants.csv",
            )
        if start and outcome.outcome_date and outcome.outcome_date < start:
            out.add(
                table.file,
                row,
                table.column("outcome_date"),
                f"outcome_date {outcome.outcome_date} is before the programme started ({start})",
            )


def _check_session_attendees(
    scenario: Scenario, table: Table | None, applicants: list[tuple[int, Applicant]]
) -> None:
    """Sessions held with someone's line manager or head of service need that person for
    every eligible applicant.

    A review is held with the participant's line manager (the contract), as is any session
    whose ``with`` names ``line_manager``; without one the review would be booked with nobody
    to review. Found here rather than when the calendar is built, so the coordinator fixes the
    files before a long solve. Only eligible applicants are checked: only they can be
    selected, now or as a replacement.
    """
    if table is None:
        return
    with_manager = [
        s.session_key for s in scenario.programme if s.kind == "review" or "line_manager" in s.with_
    ]
    with_head = [s.session_key for s in scenario.programme if "head_of_service" in s.with_]
    heads = {(p.council, p.service_area) for p in scenario.people if p.role == "head_of_service"}
    no_head = [a for a in scenario.applicants if with_head and a.area not in heads]
    no_manager = [a for a in scenario.applicants if with_manager and not a.line_manager_id]
    if not no_head and not no_manager:
        return  # skip the eligibility work below in the usual case
    from .selection import candidates

    eligible = {c.id for c in candidates(scenario) if c.eligible}
    rows = {a.applicant_id: row for row, a in applicants}
    problems = [
        Problem(
            table.file,
            rows[a.applicant_id],
            table.column("service_area"),
            f"{a.applicant_id} is eligible and session {', '.join(with_head)} is held with their "
            f"head of service, but people.csv has no head_of_service for council "
            f"{a.council!r}, service area {a.service_area!r}: add that person to people.csv "
            "(role head_of_service, same council and service_area)",
        )
        for a in no_head
        if a.applicant_id in eligible
    ]
    missing = [a for a in no_manager if a.applicant_id in eligible]
    sessions = ", ".join(with_manager)
    if missing and "line_manager_id" not in table.positions:
        problems.append(
            Problem(
                table.file,
                1,
                len(table.positions) + 1,
                f"column 'line_manager_id' is missing: session {sessions} is held with each "
                "participant's line manager",
            )
        )
    elif missing:
        problems.extend(
            Problem(
                table.file,
                rows[a.applicant_id],
                table.column("line_manager_id"),
                f"{a.applicant_id} is eligible and session {sessions} is held with their line "
                "manager, but line_manager_id is blank: give their line manager's person id",
            )
            for a in missing
        )
    if problems:
        raise InputError(sorted(problems))


# Files whose ids name people (and venues). One id may stand for one person in people.csv and
# in one role file (a line manager who applies, a head of service who mentors, a coach who
# facilitates): then it is the same person, so the names and emails must agree. Any other
# shared id is a collision, refused: a venue and a person would share unavailability and
# calendar entries, and a mentor who is also the coach or a participant is not what the
# programme means.
ROLE_FILES = (
    ("applicants", "applicant_id", "an applicant"),
    ("mentors", "mentor_id", "a mentor"),
    ("coaches", "coach_id", "a coach"),
    ("people", "person_id", "a person in people.csv"),
    ("venues", "venue_id", "a venue"),
)
SAME_PERSON = {frozenset({"people", other}) for other in ("applicants", "mentors", "coaches")}


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _check_id_namespaces(tables: dict[str, Table | None], out: Collector) -> None:
    """Ids that collide across files (see ROLE_FILES), or nearly collide (Unicode forms)."""
    roles = {stem: role for stem, _, role in ROLE_FILES}
    first: dict[str, tuple[str, int, str, dict[str, str]]] = {}
    for stem, column, role in ROLE_FILES:
        table = tables[stem]
        if table is None:
            continue
        mine: set[str] = set()
        for row, cells in table.rows:
            ident = cells.get(column, "")
            key = id_key(ident)
            if not ident or key in mine:
                continue  # blank, or a duplicate inside the file (reported with the file)
            mine.add(key)
            earlier = first.setdefault(key, (stem, row, ident, cells))
            if earlier[0] == stem:
                continue
            other, other_row, other_id, other_cells = earlier
            where = f"{tables[other].file} row {other_row}"  # type: ignore[union-attr]
            if other_id != ident:
                message = (
                    f"{column} {ident!r} is the same as {other_id!r} ({where}) once full-width "
                    "letters, ligatures and special spaces are folded: use one spelling"
                )
            elif frozenset({stem, other}) not in SAME_PERSON:
                message = (
                    f"{column} {ident!r} is already the id of {roles[other]} ({where}): "
                    f"{role} needs an id of its own"
                )
            else:
                message = next(
                    (
                        f"{column} {ident!r} is also {roles[other]} ({where}), but the {part} "
                        f"differs ({other_cells[part]!r} there): one id is one person, so make "
                        "them match or give them different ids"
                        for part in ("name", "email")
                        if cells.get(part)
                        and other_cells.get(part)
                        and _folded(cells[part]) != _folded(other_cells[part])
                    ),
                    "",
                )
            if message:
                out.add(table.file, row, table.column(column), message)


class _Ids:
    """The ids a file defines. A file that exists but could not be read counts as holding
    every id, so its one problem is not repeated as an 'unknown id' at every reference."""

    def __init__(self, ids: set[str] | None):
        self.ids = ids

    def __contains__(self, ident: object) -> bool:
        return self.ids is None or ident in self.ids

    def __or__(self, other: _Ids) -> _Ids:
        return _Ids(None if self.ids is None or other.ids is None else self.ids | other.ids)


def _check_references(
    settings: Settings | None,
    tables: dict[str, Table | None],
    applicants: list[tuple[int, Applicant]],
    scores: list[tuple[int, Score]],
    mentors: list[tuple[int, Mentor]],
    coaches: list[tuple[int, Coach]],
    sessions: list[tuple[int, Session]],
    people: list[tuple[int, Person]],
    venues: list[tuple[int, Venue]],
    unavailability: list[tuple[int, Unavailability]],
    conflicts: list[tuple[int, Conflict]],
    unread: set[str],
    out: Collector,
) -> None:
    """Ids that one file uses must exist in another."""

    def at(stem: str, row: int, column: str, message: str) -> None:
        table = tables[stem]
        assert table is not None
        out.add(table.file, row, table.column(column), message)

    def ids(stem: str, column: str) -> _Ids:
        # From the raw cells, so a row rejected for another reason still counts as existing.
        table = tables[stem]
        if stem in unread:
            return _Ids(None)
        return _Ids(
            {cells[column] for _, cells in table.rows if cells.get(column)} if table else set()
        )

    applicant_ids = ids("applicants", "applicant_id")
    person_ids = ids("people", "person_id")
    everyone = applicant_ids | person_ids | ids("mentors", "mentor_id") | ids("coaches", "coach_id")
    venue_ids = ids("venues", "venue_id")

    seen_scores: dict[tuple[str, str, str | None], int] = {}
    panel_applicants: set[str] = set()
    for row, score in scores:
        if score.applicant_id not in applicant_ids:
            at("scores", row, "applicant_id", f"score for unknown applicant {score.applicant_id!r}")
        if score.panelist in (applicant_ids.ids or ()) and score.panelist not in panel_applicants:
            panel_applicants.add(score.panelist)
            at(
                "scores",
                row,
                "panelist",
                f"panelist {score.panelist!r} has the id of an applicant: an applicant cannot "
                "sit on the panel, and a panelist needs an id of their own",
            )
        key = (score.applicant_id, score.panelist, score.criterion)
        if key in seen_scores:
            at(
                "scores",
                row,
                "score",
                f"panelist {score.panelist!r} scored {score.applicant_id!r}"
                + (f" on {score.criterion!r}" if score.criterion else "")
                + f" twice (also row {seen_scores[key]})",
            )
        else:
            seen_scores[key] = row

    for row, applicant in applicants:
        if applicant.line_manager_id and applicant.line_manager_id not in everyone:
            out.warnings.append(
                f"{tables['applicants'].file}:{row}:{tables['applicants'].column('line_manager_id')}: "  # type: ignore[union-attr]
                f"line manager {applicant.line_manager_id!r} is not in people.csv"
            )

    keys = {s.session_key: s for _, s in sessions}
    slot = settings.calendar.slot_minutes if settings else 0
    duration_limit = _day_minutes(settings) if settings else 24 * 60
    for row, session in sessions:
        if slot and session.duration_minutes % slot:
            at(
                "programme",
                row,
                "duration_minutes",
                f"duration {session.duration_minutes} is not a multiple of slot_minutes={slot}",
            )
        if session.facilitator and session.facilitator not in person_ids:
            at(
                "programme",
                row,
                "facilitator",
                f"facilitator {session.facilitator!r} is not in people.csv",
            )
        for who in session.with_:
            if who not in ("line_manager", "head_of_service") and who not in person_ids:
                at(
                    "programme",
                    row,
                    "with",
                    f"with: {who!r} is not line_manager, head_of_service or a person in people.csv",
                )
        if session.after is not None:
            if session.after not in keys:
                at("programme", row, "after", f"after: unknown session {session.after!r}")
            elif session.after == session.session_key:
                at("programme", row, "after", "a session cannot come after itself")
            elif keys[session.after].month > session.month:
                at(
                    "programme",
                    row,
                    "after",
                    f"after {session.after!r} (month {keys[session.after].month}) but this session is in month {session.month}",
                )
        if session.duration_minutes > duration_limit:
            at(
                "programme",
                row,
                "duration_minutes",
                f"{session.duration_minutes} minutes does not fit in a {duration_limit}-minute working day",
            )

    for row, item in unavailability:
        if item.id not in everyone and item.id not in venue_ids:
            at("unavailability", row, "id", f"unknown person or venue {item.id!r}")
        if item.end < item.start:
            at("unavailability", row, "end", "end is before start")
        elif item.end == item.start:
            at("unavailability", row, "end", "end is the same moment as start: nothing is blocked")

    for row, conflict in conflicts:
        for column in ("person_a", "person_b"):
            who = getattr(conflict, column)
            if who not in everyone:
                at("conflicts", row, column, f"{column}: unknown person {who!r}")


def _day_minutes(settings: Settings) -> int:
    c = settings.calendar
    return (c.day_end.hour * 60 + c.day_end.minute) - (c.day_start.hour * 60 + c.day_start.minute)


# --------------------------------------------------------------------------- writing
# Our own files (writing them, and reading them back) live in files.py. The names stay
# importable from here for the modules that import them from io.
from .files import csv_text, output_folder, read_csv_rows  # noqa: E402, F401
