"""Turning a table's columns into domain records, a column at a time.

Each distinct cell text of a column is checked, parsed and validated once (a grade column of
100,000 rows holds a dozen texts), with the model's own pydantic rules for that field, so
the messages are the ones a row-by-row ``model_validate`` gives. Records are then built
without validating again. A problem is still reported at its cell, and every one at once.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from cohort_solver.domain.scenario import CONTROL_CHARACTERS, id_key
from cohort_solver.stages.load.columns import Column
from cohort_solver.stages.load.tables import Collector, Special, Table, cell_problem, friendly

# A blank cell in a column where blank is allowed: the field keeps its default.
ABSENT: Any = object()

# What the extra check of a file gets: the parsed values by field (one per row read, ABSENT
# where blank), and how to report a problem at (position in those lists, column name).
ReportAt = Callable[[int, str, str], None]
Extra = Callable[[dict[str, list[Any]], ReportAt], None]


@dataclass(frozen=True)
class _Verdict:
    """What one cell text comes to in one column."""

    value: Any = ABSENT
    cell: str | None = None  # a problem with the cell itself: the row is refused
    invalid: tuple[str, ...] = ()  # the model's rule for the field refuses the value


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
    live = [i for i, n in enumerate(table.numbers) if n not in table.broken]
    refused: set[int] = set()  # row indexes with a problem: no record, no model messages

    def problem(index: int, column_name: str, message: str) -> None:
        refused.add(index)
        out.add(table.file, table.numbers[index], table.column(column_name), message)

    values: dict[str, list[Any]] = {}
    invalid: list[tuple[int, str, str]] = []
    for name, column in columns.items():
        if name in table.positions:
            values[column.target] = _column_values(
                table, model, column, live, problem, invalid.append
            )
    if extra:
        extra(values, lambda position, name, message: problem(live[position], name, message))
    key = next((n for n, c in columns.items() if c.key), None)
    if key and key in table.positions:
        _check_duplicates(table, key, live, problem)
    if missing:
        return []  # a missing column is reported once, above, not on every row
    refused_for_cells = set(refused)
    for index, column_name, message in invalid:
        if index not in refused_for_cells:
            out.add(table.file, table.numbers[index], table.column(column_name), message)
            refused.add(index)
    build = _builder(model)
    keep = [position for position, index in enumerate(live) if index not in refused]
    found = []
    for position, record in zip(keep, build(values, keep), strict=True):
        row = table.numbers[live[position]]
        if isinstance(record, ValidationError):
            _report(table, columns, row, record, out)
        else:
            found.append((row, record))
    return found


def _column_values(
    table: Table,
    model: type[BaseModel],
    column: Column,
    live: list[int],
    problem: ReportAt,
    invalid: Callable[[tuple[int, str, str]], None],
) -> list[Any]:
    """The values of one column for the live rows; problems go to ``problem`` (the cell is
    refused) or ``invalid`` (the model refuses the value, reported if nothing else is wrong)."""
    cells = table.cells[column.name]
    if len(live) < len(cells):
        cells = [cells[i] for i in live]
    adapter = _field_adapter(model, column.target)
    verdicts = {text: _verdict(column, text, None, adapter) for text in dict.fromkeys(cells)}
    specials = _special_rows(table, column, live)
    bad = {text for text, verdict in verdicts.items() if verdict.cell or verdict.invalid}
    special = {p: _verdict(column, cells[p], s, adapter) for p, s in specials.items()}
    values = [verdicts[text].value for text in cells]
    if bad or special:
        for position, text in enumerate(cells):
            if position in special:
                verdict = special[position]
                values[position] = verdict.value
            elif text in bad:
                verdict = verdicts[text]
            else:
                continue
            if verdict.cell:
                problem(live[position], column.name, verdict.cell)
            for message in verdict.invalid:
                invalid((live[position], column.name, message))
    return values


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


def _verdict(
    column: Column, cell: str, special: Special | None, adapter: TypeAdapter[Any] | None
) -> _Verdict:
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
    if adapter is None:
        return _Verdict(value)
    try:
        return _Verdict(adapter.validate_python(value))
    except ValidationError as exc:
        return _Verdict(invalid=tuple(f"{name}: {friendly(error)}" for error in exc.errors()))


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


def _field(model: type[BaseModel], target: str) -> tuple[str, FieldInfo] | None:
    """The model field a column fills (by name or by alias)."""
    for name, info in model.model_fields.items():
        if target in (name, info.alias):
            return name, info
    return None


@cache
def _field_adapter(model: type[BaseModel], target: str) -> TypeAdapter[Any] | None:
    """The model's own rules for one field, to validate a column's values on their own."""
    found = _field(model, target)
    if found is None:
        return None  # filled in by the file's extra check (groups.*)
    _, info = found
    config = ConfigDict(allow_inf_nan=model.model_config.get("allow_inf_nan", True))
    annotated: Any = info.rebuild_annotation()
    return TypeAdapter(annotated, config=config)


def _checked_field_by_field(model: type[BaseModel]) -> bool:
    """Whether validating each field alone is all that ``model_validate`` does: no model
    or field validators (a rule across fields would be skipped)."""
    decorators = model.__pydantic_decorators__
    return not (
        decorators.model_validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.validators
    )


@cache
def _builder(
    model: type[BaseModel],
) -> Callable[[dict[str, list[Any]], list[int]], list[Any]]:
    """Make records from column values their fields have already validated.

    A model with validators across fields, or a row without a value for a required field,
    goes through ``model_validate`` (giving its ValidationError), so no rule is ever
    skipped; otherwise each record is built as ``model_construct`` does, with the defaults.
    """
    fields = model.model_fields
    names = {info.alias: name for name, info in fields.items() if info.alias}
    names |= {name: name for name in fields}
    required = {name for name, info in fields.items() if info.is_required()}
    by_field = _checked_field_by_field(model)

    def validate(values: dict[str, list[Any]], position: int) -> Any:
        try:
            return model.model_validate(
                {k: v[position] for k, v in values.items() if v[position] is not ABSENT}
            )
        except ValidationError as exc:
            return exc

    def build(values: dict[str, list[Any]], keep: list[int]) -> list[Any]:
        given = {names[k]: v for k, v in values.items() if k in names}
        if not by_field or not required <= given.keys():
            return [validate(values, position) for position in keep]
        order = list(fields)
        columns: list[Iterable[Any]] = []
        for name in order:
            if name in given:
                column = given[name]
                columns.append(column if len(keep) == len(column) else [column[p] for p in keep])
            else:
                columns.append(_defaults(fields[name], len(keep)))
        new, setattr_ = model.__new__, object.__setattr__
        made: list[Any] = []
        for position, row in zip(keep, zip(*columns, strict=True), strict=True):
            fields_set = set(given)
            if ABSENT in row:
                row = tuple(
                    _default(fields[name]) if value is ABSENT else value
                    for name, value in zip(order, row, strict=True)
                )
                fields_set = {n for n in given if given[n][position] is not ABSENT}
                if required - fields_set:
                    made.append(validate(values, position))
                    continue
            record = new(model)
            setattr_(record, "__dict__", dict(zip(order, row, strict=True)))
            setattr_(record, "__pydantic_fields_set__", fields_set)
            setattr_(record, "__pydantic_extra__", None)
            setattr_(record, "__pydantic_private__", None)
            made.append(record)
        return made

    return build


def _default(info: FieldInfo) -> Any:
    """A field's default, a fresh copy when it could be changed (as pydantic gives it)."""
    value = info.get_default(call_default_factory=True)
    return copy.deepcopy(value) if isinstance(value, dict | list | set) else value


def _defaults(info: FieldInfo, count: int) -> Iterable[Any]:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, dict | list | set):
        return [copy.deepcopy(value) for _ in range(count)]
    return itertools.repeat(value, count)
