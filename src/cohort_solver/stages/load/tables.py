"""Reading one CSV or xlsx file into text cells, each problem located as file:row:column.

Every problem found is collected before anything is raised, so a coordinator fixes the whole
file in one pass. Rows count from 1 = the header row, as a spreadsheet shows them; columns
count from 1.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

from cohort_solver.domain.scenario import (
    MOMENT_HELP,
    invisible_character,
    unsafe_character,
)
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.load.columns import Column

TOML = "scenario.toml"


def read_file(path: Path, out: Collector) -> bytes | None:
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
    # A CSV whose rows all have the header's width, read by column (the rows after the
    # header), so 100,000 rows are never made one list at a time; rows then holds the header.
    columns: list[list[str]] | None = None
    trimmed: bool = False  # no cell of columns starts or ends with a space: none needs stripping


@dataclass
class Table:
    """A CSV or xlsx sheet as columns of text cells, with the header's column positions.

    Held by column, not by row, so a file of 100,000 rows is checked a column at a time.
    Row ``i`` of every column is spreadsheet row ``numbers[i]``.
    """

    file: str
    positions: dict[str, int]  # normalised column name -> 1-based column
    numbers: list[int]  # the spreadsheet row number of each kept row
    cells: dict[str, list[str]]  # normalised column name -> its cleaned cells, one per kept row
    raw: bytes = b""
    special: dict[tuple[int, int], Special] = field(default_factory=dict)
    broken: set[int] = field(default_factory=set)  # rows refused whole (wrong number of cells)

    def column(self, name: str) -> int:
        return self.positions.get(name, 1)

    def special_cell(self, row: int, name: str) -> Special | None:
        position = self.positions.get(name)
        return self.special.get((row, position)) if position else None

    def values(self, name: str) -> list[str]:
        """The cells of one column (blank when the file has no such column)."""
        return self.cells.get(name) or [""] * len(self.numbers)

    def cell(self, index: int, name: str) -> str:
        column = self.cells.get(name)
        return column[index] if column else ""


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


def decode(file: str, data: bytes, out: Collector) -> str | None:
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


# Whitespace str.strip removes, besides the space, in ASCII text (a line end aside).
_RARE_SPACES = ("\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def _trimmed(flat: str) -> bool:
    """Whether no cell of an ASCII file without quotes, its line ends made commas, starts or
    ends with whitespace (substring searches: a regex takes 20 times longer)."""
    return (
        flat.isascii()
        and not any(space in flat for space in _RARE_SPACES)
        and ", " not in flat
        and " ," not in flat
        and not flat.startswith(" ")
        and not flat.endswith(" ")
    )


def _csv_grid(file: str, data: bytes, out: Collector) -> Grid | None:
    """Rows as a spreadsheet shows them: a quoted cell may hold a line break, and row numbers
    count rows, not physical lines."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        out.add(
            file, 1, 1, "the file is UTF-16 text (Excel's 'Unicode Text'): save it as 'CSV UTF-8'"
        )
        return None
    text = data.decode("utf-8-sig", errors="surrogateescape")
    undecodable = not text.isascii() and _UNDECODABLE.search(text)
    even = None if undecodable else _even_columns(text)
    if even is not None:
        header, columns, trimmed = even
        return Grid([header], columns=columns, trimmed=trimmed)
    try:
        rows = _quote_free_rows(text) or list(
            csv.reader(io.StringIO(text, newline=""), strict=True)
        )
    except csv.Error:
        out.add(file, *_csv_fault(text, *_rows_before_fault(text)))
        return None
    if undecodable:
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


def _quote_free_rows(text: str) -> list[list[str]] | None:
    """The rows of a file with no quotes, carriage returns or NULs, where CSV is just lines
    split at commas (twice as fast as the csv module); None for any other file.

    A blank line is read as one blank cell rather than none: either way a blank row.
    """
    if '"' in text or "\r" in text or "\0" in text or not text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the line end after the last row
    if max(map(len, lines), default=0) > csv.field_size_limit():
        return None  # a cell may be too long: the csv module says where
    return [line.split(",") for line in lines]


def _even_columns(text: str) -> tuple[list[str], list[list[str]], bool] | None:
    """The header and the columns of a file with no quotes, NULs or lone carriage returns
    whose every line has the header's number of commas (the usual file); None for any other.

    Every line has the same width, so the cells of the whole file, split at commas and line
    ends alike, fall into columns by position: a slice each, in C. Also whether every cell
    is ASCII with no whitespace around it, so none needs cleaning.
    """
    if '"' in text or "\0" in text or not text:
        return None
    if "\r" in text:  # Excel ends its lines with \r\n; a lone \r is read by the csv module
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    body = text.removesuffix("\n")  # the line end after the last row
    lines = body.split("\n")
    commas = lines[0].count(",")
    if set(map(str.count, lines, repeat(","))) != {commas}:
        return None  # a blank, short or long row: read row by row, to report or skip it
    if max(map(len, lines)) > csv.field_size_limit():
        return None  # a cell may be too long: the csv module says where
    flat = body.replace("\n", ",")
    cells = flat.split(",")
    width = commas + 1
    columns = [cells[width + position :: width] for position in range(width)]
    return cells[:width], columns, _trimmed(flat)


def _rows_before_fault(text: str) -> tuple[int, int]:
    """(physical lines, row number) where the csv reader stops: only run on a fault."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = lines_read = 0
    try:
        for _ in reader:
            rows += 1
            lines_read = reader.line_num
    except csv.Error:
        pass
    return lines_read, rows + 1


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
    import openpyxl  # only for a workbook: it takes longer to import than a CSV takes to read

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = book[title]
        sheet.reset_dimensions()
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
        return _xlsx_moment(value, cell.number_format)
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


def _xlsx_moment(value: datetime, number_format: str) -> tuple[str, Special]:
    """A date-time cell to the second; a date format at midnight is a date."""
    moment = value.replace(microsecond=0)
    if value.microsecond >= 500_000:
        moment += timedelta(seconds=1)
    from openpyxl.styles.numbers import is_datetime

    if moment.time() == time() and is_datetime(number_format) == "date":
        return moment.date().isoformat(), Special("date")
    return moment.isoformat(), Special("datetime")


def _xlsx_grid(file: str, data: bytes, out: Collector) -> Grid | None:
    """The first visible sheet; hidden sheets are never read (a stale hidden copy must not
    decide who gets a place)."""
    try:
        import openpyxl  # only for a workbook: it takes longer to import than a CSV takes to read

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
        sheet.reset_dimensions()
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
    data = read_file(path, out)
    if data is None:
        return None
    reader = _xlsx_grid if path.suffix == ".xlsx" else _csv_grid
    grid = reader(path.name, data, out)
    if grid is None:
        return None
    return _table(path.name, grid, data, out)


def _table(file: str, grid: Grid, raw: bytes, out: Collector) -> Table | None:
    if grid.columns is not None:
        table = _even_table(file, grid, raw, out)
        if table is not None:
            return table
        grid.rows = [grid.rows[0], *map(list, zip(*grid.columns, strict=True))]
    special_rows = {r for r, _ in grid.special}
    if not any(any(c.strip() for c in row) for row in grid.rows) and not special_rows:
        out.add(file, 1, 1, "the file is empty: it needs a header row")
        return None
    header = grid.rows[0] if grid.rows else []
    if _bad_header(file, header, out):
        return None
    positions = _positions(file, header, out)
    width = len(header)
    named = set(positions.values())
    special_rows = {r for r, c in grid.special if c in named}
    table = Table(file, positions, [], {}, raw, grid.special)
    numbers, rows = _kept_rows(file, grid, width, special_rows, table, out)
    _nameless_warnings(file, header, rows, len(named) < width, out)
    if not rows:
        table.cells = {name: [] for name in positions}
        return table
    if min(map(len, rows)) < width:
        rows = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    by_position = list(zip(*rows, strict=False))
    table.cells = {name: _cleaned(by_position[i - 1]) for name, i in positions.items()}
    keep = special_rows | table.broken
    # A row with text only under no heading holds nothing this file reads.
    if not all(map(any, zip(*table.cells.values(), strict=True))):
        filled = [any(cells) for cells in zip(*table.cells.values(), strict=True)]
        chosen = [i for i, n in enumerate(numbers) if filled[i] or n in keep]
        numbers = [numbers[i] for i in chosen]
        table.cells = {name: [cells[i] for i in chosen] for name, cells in table.cells.items()}
    table.numbers = numbers
    return table


def _even_table(file: str, grid: Grid, raw: bytes, out: Collector) -> Table | None:
    """A file of even rows as a table, read column by column, when nothing in it needs the
    row-by-row reading: a good header, and a named column filled on every row (so no row is
    blank, and none holds text only under no heading). None sends the file to that reading,
    which reports what is wrong; nothing is reported here then."""
    columns = grid.columns or []
    header = grid.rows[0]
    trial = Collector()
    if _bad_header(file, header, trial):
        return None
    positions = _positions(file, header, trial)
    if trial.problems:
        return None
    plain = raw.isascii()  # then no cell needs Unicode normalising
    cells = {
        name: columns[i - 1] if grid.trimmed else _cleaned(columns[i - 1], plain)
        for name, i in positions.items()
    }
    if not any("" not in column for column in cells.values()):
        return None
    for index, heading in enumerate(header, start=1):
        if not heading.strip() and any(map(str.strip, columns[index - 1])):
            out.warnings.append(
                f"{file}:1:{index}: column {index} has values but no heading: they were ignored"
            )
    rows = len(columns[0])
    return Table(file, positions, list(range(2, rows + 2)), cells, raw)


def _bad_header(file: str, header: list[str], out: Collector) -> bool:
    """Row 1 that cannot be a header: blank, another separator, or Excel's 'sep=' hint."""
    if not any(c.strip() for c in header):
        out.add(file, 1, 1, "row 1 is blank: the first row must name the columns")
        return True
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
                return True
    if re.fullmatch(r"sep=.?", "".join(header).strip()):
        out.add(file, 1, 1, "row 1 is Excel's 'sep=' hint, not the header: delete that line")
        return True
    return False


def _positions(file: str, header: list[str], out: Collector) -> dict[str, int]:
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
    return positions


def _kept_rows(
    file: str, grid: Grid, width: int, special_rows: set[int], table: Table, out: Collector
) -> tuple[list[int], list[list[str]]]:
    """The rows that are not blank, and their numbers; a row of the wrong width is reported
    and marked broken."""
    rows = grid.rows[1:]
    if all(map(str.strip, map("".join, rows))) and (
        grid.aligned or all(len(row) == width for row in rows)
    ):
        return list(range(2, len(rows) + 2)), rows  # the usual file
    numbers, kept = [], []
    for number, row in enumerate(rows, start=2):
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
        numbers.append(number)
        kept.append(row)
    return numbers, kept


def _nameless_warnings(
    file: str, header: list[str], rows: list[list[str]], unheaded: bool, out: Collector
) -> None:
    width = len(header)
    nameless: set[int] = set()
    if not unheaded and max(map(len, rows), default=0) <= width:
        return
    for row in rows:
        if len(row) > width or unheaded:
            nameless.update(
                c
                for c, cell in enumerate(row, start=1)
                if cell.strip() and (c > width or not header[c - 1].strip())
            )
    for column in sorted(nameless):
        out.warnings.append(
            f"{file}:1:{column}: column {column} has values but no heading: they were ignored"
        )


def _cleaned(cells: Sequence[str], plain: bool = False) -> list[str]:
    """Cells without surrounding spaces, in Unicode NFC (as an ASCII cell already is);
    ``plain`` when the whole file is known to be ASCII."""
    stripped = list(map(str.strip, cells))
    if plain or "".join(stripped).isascii():
        return stripped
    return [c if c.isascii() else unicodedata.normalize("NFC", c) for c in stripped]


def cell_problem(column: Column, cell: str, special: Special | None) -> str | None:
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


def friendly(error: Any) -> str:
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
