"""Turning a table's columns into domain records, a column at a time.

Each distinct cell text of a column is checked and parsed once (a grade column of 100,000
rows holds a dozen texts). When every column passes the model's own pydantic rules as it
stands, build.py makes the records straight from the columns; otherwise the rows are
validated by pydantic (together in one call, then row by row where one fails), so the
messages are the ones a row-by-row ``model_validate`` gives. A problem is still reported at
its cell, and every one at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from cohort_solver.domain.scenario import CONTROL_CHARACTERS, id_key
from cohort_solver.stages.load.build import ABSENT, constructed
from cohort_solver.stages.load.cells import EMAILS, _optional, _text, parse_email
from cohort_solver.stages.load.columns import Column
from cohort_solver.stages.load.tables import Collector, Special, Table, cell_problem, friendly

# What the extra check of a file gets: the parsed values by field (one per row read, ABSENT
# where blank), and how to report a problem at (position in those lists, column name). It
# may add fields, not change the text columns.
ReportAt = Callable[[int, str, str], None]
Extra = Callable[[dict[str, list[Any]], ReportAt], None]


@dataclass(frozen=True)
class _Verdict:
    """What one cell text comes to in one column: a value, or a problem with the cell."""

    value: Any = ABSENT
    cell: str | None = None


def records(
    table: Table,
    model: type[BaseModel],
    columns: dict[str, Column],
    out: Collector,
    *,
    extra: Extra | None = None,
) -> list[tuple[int, Any]]:
    """Parse and validate every row of a table into ``model`` records, with their rows."""
    missing = [n for n, c in columns.items() if c.required and n not in table.positions]
    for name in missing:
        out.add(table.file, 1, len(table.positions) + 1, f"required column {name!r} is missing")
    unknown = set(table.positions) - set(columns)
    for name in sorted(unknown, key=table.column):
        out.warnings.append(f"{table.file}:1:{table.column(name)}: unknown column {name!r} ignored")
    live = (
        [i for i, n in enumerate(table.numbers) if n not in table.broken]
        if table.broken
        else list(range(len(table.numbers)))
    )
    refused: set[int] = set()  # row indexes with a problem in a cell: no record is made

    def problem(index: int, column_name: str, message: str) -> None:
        refused.add(index)
        out.add(table.file, table.numbers[index], table.column(column_name), message)

    values = {
        column.target: _column_values(table, column, live, problem)
        for name, column in columns.items()
        if name in table.positions
    }
    if extra:
        extra(values, lambda position, name, message: problem(live[position], name, message))
    key = next((n for n, c in columns.items() if c.key), None)
    if key and key in table.positions:
        _check_duplicates(table, key, live, problem)
    if missing:
        return []  # a missing column is reported once, above, not on every row
    if refused:
        keep = [position for position, index in enumerate(live) if index not in refused]
        rows = [table.numbers[live[position]] for position in keep]
        values = {name: [column[p] for p in keep] for name, column in values.items()}
    else:
        rows = (
            table.numbers if len(live) == len(table.numbers) else [table.numbers[i] for i in live]
        )
    texts = frozenset(
        column.target
        for name, column in columns.items()
        if name in table.positions and column.parse in _AS_WRITTEN
    )
    made = constructed(model, values, len(rows), texts)
    if made is not None:
        return list(zip(rows, made, strict=True))
    found = []
    for row, record in zip(rows, _validated(model, _row_values(values)), strict=True):
        if isinstance(record, ValidationError):
            _report(table, columns, row, record, out)
        else:
            found.append((row, record))
    return found


def _row_values(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The values of each row by field, without the blank ones (they keep defaults)."""
    names = list(values)
    columns = list(values.values())
    # map, not a comprehension: the loop over 100,000 rows stays in C.
    rows = list(map(dict, map(zip, itertools.repeat(names), zip(*columns, strict=True))))
    blank = {
        p
        for column in columns
        if ABSENT in column  # identity first: quick where no cell is blank
        for p, value in enumerate(column)
        if value is ABSENT
    }
    for position in blank:
        rows[position] = {k: v for k, v in rows[position].items() if v is not ABSENT}
    return rows


def _validated(model: type[BaseModel], rows: list[dict[str, Any]]) -> list[Any]:
    """Each row as a ``model`` record, or the ValidationError ``model_validate`` gives it.

    One call validates the whole table; only when some row fails are the rows validated
    one at a time, to pin each error to its row.
    """
    try:
        return list(_many(model).validate_python(rows))
    except ValidationError:
        pass
    made: list[Any] = []
    for row in rows:
        try:
            made.append(model.model_validate(row))
        except ValidationError as exc:
            made.append(exc)
    return made


@cache
def _many(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]  # a model class chosen at run time


def _column_values(table: Table, column: Column, live: list[int], problem: ReportAt) -> list[Any]:
    """The values of one column for the live rows (ABSENT where blank or refused); a cell
    refused goes to ``problem``."""
    cells = table.cells[column.name]
    if len(live) < len(cells):
        cells = [cells[i] for i in live]
    specials = _special_rows(table, column, live)
    if not specials and _as_read(column, cells):
        # Plain text read as it stands: a column of 100,000 names needs no cell-by-cell call.
        return [cell or ABSENT for cell in cells] if "" in cells else cells
    value_of = _Verdicts(column)
    values = list(map(value_of.__getitem__, cells))  # each distinct text judged once
    bad = value_of.bad
    special = {p: _verdict(column, cells[p], s) for p, s in specials.items()}
    if bad or special:
        for position, text in enumerate(cells):
            if position in special:
                verdict = special[position]
                values[position] = verdict.value
            elif text in bad:
                verdict = bad[text]
            else:
                continue
            if verdict.cell:
                problem(live[position], column.name, verdict.cell)
    return values


# Parsers whose value is the cell itself: a column of them holds non-blank text (or ABSENT).
_AS_WRITTEN = (_text, _optional, parse_email)


def _as_read(column: Column, texts: list[str]) -> bool:
    """Whether every cell is its own value: plain one-line ASCII text in a text column, or
    in an email column where every address looks like one."""
    if column.parse not in _AS_WRITTEN:
        return False
    if not column.blank_ok and "" in texts:
        return False
    joined = "".join(texts)
    plain = (
        joined.isascii()
        and not CONTROL_CHARACTERS.search(joined)
        and not (column.key and ";" in joined)
    )
    if plain and column.parse is parse_email:  # no line break in a plain cell: one per line
        addresses = "\n".join(filter(None, texts))
        return not addresses or EMAILS.fullmatch(addresses + "\n") is not None
    return plain


class _Verdicts(dict[str, Any]):
    """The value of each distinct text of a column (ABSENT when blank or refused), judged
    the first time the text is looked up; ``bad`` holds the verdicts of the texts refused."""

    def __init__(self, column: Column):
        super().__init__()
        self.column = column
        self.bad: dict[str, _Verdict] = {}

    def __missing__(self, text: str) -> Any:
        verdict = _verdict(self.column, text, None)
        self[text] = verdict.value
        if verdict.cell:
            self.bad[text] = verdict
        return verdict.value


def _special_rows(table: Table, column: Column, live: list[int]) -> dict[int, Special]:
    """The live rows (by position) whose cell in this column is an xlsx date, formula..."""
    if not table.special:
        return {}
    found = {}
    for position, index in enumerate(live):
        special = table.special_cell(table.numbers[index], column.name)
        if special is not None:
            found[position] = special
    return found


def _verdict(column: Column, cell: str, special: Special | None) -> _Verdict:
    name = column.name
    plain = special is None and (
        not cell
        or (
            cell.isascii()
            and not CONTROL_CHARACTERS.search(cell)
            and not (column.key and ";" in cell)
        )
    )
    reason = None if plain else cell_problem(column, cell, special)
    if reason:
        return _Verdict(cell=reason)
    if not cell:
        return _Verdict() if column.blank_ok else _Verdict(cell=f"{name} is blank")
    try:
        value = column.parse(cell)
    except ValueError as exc:
        if column.protected:  # name the cell and the rule, never the value
            return _Verdict(
                cell=f"{name}: the cell is not yes, no or blank (use yes/no, y/n, true/false "
                "or 1/0; the value is not repeated here, as it is a protected characteristic)"
            )
        return _Verdict(cell=f"{name}: {exc}")
    return _Verdict(value)


def _check_duplicates(table: Table, key: str, live: list[int], problem: ReportAt) -> None:
    """An id defined twice in one file, or twice once Unicode forms are folded."""
    cells = table.cells[key]
    ids = [cells[i] for i in live if cells[i]]
    plain = "".join(ids).isascii()  # then id_key changes nothing
    if plain and len(set(ids)) == len(ids):
        return
    seen: dict[str, tuple[str, int]] = {}
    for index in live:
        ident = cells[index]
        if not ident:
            continue
        folded = ident if plain else id_key(ident)
        first = seen.get(folded)
        if first is None:
            seen[folded] = (ident, table.numbers[index])
        elif first[0] == ident:
            problem(index, key, f"duplicate {key} {ident!r} (first on row {first[1]})")
        else:
            problem(
                index,
                key,
                f"{key} {ident!r} is the same as {first[0]!r} on row {first[1]} once "
                "full-width letters, ligatures and special spaces are folded: use one spelling",
            )


def _report(
    table: Table, columns: dict[str, Column], row: int, error: ValidationError, out: Collector
) -> None:
    for detail in error.errors():
        field_name = str(detail["loc"][0]) if detail["loc"] else ""
        column_name = next((c.name for c in columns.values() if c.target == field_name), field_name)
        label = column_name or "row"
        out.add(table.file, row, table.column(column_name), f"{label}: {friendly(detail)}")
