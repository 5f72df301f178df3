"""Reading a scenario folder (CSV/xlsx/toml) and writing output folders atomically.

Every problem found is collected as ``file:row:column: message`` before anything is raised,
so a coordinator fixes the whole file in one pass. Rows count from 1 = the header row, as a
spreadsheet shows them; columns count from 1.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args, get_origin

import pandas as pd
from pydantic import BaseModel, ValidationError

from .errors import InputError, Problem
from .model import (
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
)

TOML = "scenario.toml"

# --------------------------------------------------------------------------- cell parsers

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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


def parse_int(cell: str) -> int:
    try:
        number = Decimal(cell.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{cell!r} is not a whole number")
    return int(number)


def parse_decimal(cell: str) -> Decimal:
    try:
        number = Decimal(cell.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{cell!r} is not a number")
    return number


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


def parse_moment(cell: str, *, end: bool) -> datetime:
    """An ISO date (a whole day; an end date is inclusive) or an ISO datetime."""
    text = cell.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), datetime.min.time())
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise ValueError(
            f"{cell!r} is not an ISO date (2024-07-01) or date-time (2024-07-01T13:00)"
        ) from None


def parse_date(cell: str) -> date:
    try:
        return date.fromisoformat(cell.strip())
    except ValueError:
        raise ValueError(f"{cell!r} is not an ISO date (e.g. 2025-02-01)") from None


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

    @property
    def target(self) -> str:
        return self.field or self.name


def _columns(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


APPLICANT_COLUMNS = _columns(
    Column("applicant_id", required=True, blank_ok=False),
    Column("name"),
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
    Column("mentor_id", required=True, blank_ok=False),
    Column("name"),
    Column("email", parse_email),
    Column("council"),
    Column("service_area"),
    Column("grade", parse_int, required=True, blank_ok=False),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
)
COACH_COLUMNS = _columns(
    Column("coach_id", required=True, blank_ok=False),
    Column("name"),
    Column("email", parse_email),
    Column("capacity", parse_int),
    Column("expertise", parse_list),
    Column("councils", parse_list),
    Column("working_days", parse_weekdays),
)
SESSION_COLUMNS = _columns(
    Column("session_key", required=True, blank_ok=False),
    Column("title", required=True, blank_ok=False),
    Column("kind", lambda c: c.strip().lower(), required=True, blank_ok=False),
    Column("month", parse_int, required=True, blank_ok=False),
    Column("duration_minutes", parse_int, required=True, blank_ok=False),
    Column("facilitator", _optional),
    Column("with", parse_list, field="with"),
    Column("after", _optional),
)
PERSON_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False),
    Column("name"),
    Column("email", parse_email),
    Column("role", lambda c: c.strip().lower()),
    Column("council"),
    Column("service_area"),
)
VENUE_COLUMNS = _columns(
    Column("venue_id", required=True, blank_ok=False),
    Column("name"),
    Column("capacity", parse_int, required=True, blank_ok=False),
    Column("council", _optional),
)
UNAVAILABILITY_COLUMNS = _columns(
    Column("id", required=True, blank_ok=False),
    Column("start", lambda c: parse_moment(c, end=False), required=True, blank_ok=False),
    Column("end", lambda c: parse_moment(c, end=True), required=True, blank_ok=False),
)
CONFLICT_COLUMNS = _columns(
    Column("person_a", required=True, blank_ok=False),
    Column("person_b", required=True, blank_ok=False),
)
OUTCOME_COLUMNS = _columns(
    Column("participant_id", required=True, blank_ok=False),
    Column("completed", parse_yes_no),  # blank: not known yet
    Column("outcome", parse_outcome),  # blank: none
    Column("outcome_date", parse_date),
)

# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A CSV or xlsx sheet as text cells, with the header's column positions."""

    file: str
    positions: dict[str, int]  # normalised column name -> 1-based column
    rows: list[tuple[int, dict[str, str]]]  # (row number, cells by normalised name)
    raw: bytes = b""

    def column(self, name: str) -> int:
        return self.positions.get(name, 1)


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
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save it as 'CSV UTF-8' from Excel",
        )
        return None


def _read_grid(path: Path, out: Collector) -> tuple[list[list[str]], bytes] | None:
    file = path.name
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        try:
            frame = pd.read_excel(io.BytesIO(data), sheet_name=0, header=None, dtype=str)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            out.add(
                file,
                1,
                1,
                f"cannot open the workbook ({type(exc).__name__}): save it again as .xlsx",
            )
            return None
        return frame.fillna("").to_numpy().tolist(), data
    text = _decode(file, data, out)
    if text is None:
        return None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        out.add(file, 1, 1, "the file is empty: it needs a header row")
        return None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = (int(g) for g in match.groups())
            out.add(
                file, line, expected + 1, f"this row has {saw} cells but the header has {expected}"
            )
        else:
            out.add(file, 1, 1, f"cannot read the file as CSV: {exc}")
        return None
    return frame.fillna("").to_numpy().tolist(), data


def read_table(folder: Path, stem: str, out: Collector, *, required: bool = False) -> Table | None:
    """Read ``stem.csv`` or ``stem.xlsx`` from the folder; None when absent (or unreadable)."""
    paths = [p for p in (folder / f"{stem}.csv", folder / f"{stem}.xlsx") if p.exists()]
    if len(paths) > 1:
        out.add(f"{stem}.xlsx", 1, 1, f"both {stem}.csv and {stem}.xlsx exist: keep only one")
        return None
    if not paths:
        if required:
            out.add(f"{stem}.csv", 1, 1, f"{stem}.csv is missing from the scenario folder")
        return None
    path = paths[0]
    grid = _read_grid(path, out)
    if grid is None:
        return None
    cells, raw = grid
    if not cells:
        out.add(path.name, 1, 1, "the file is empty: it needs a header row")
        return None
    positions: dict[str, int] = {}
    for index, heading in enumerate(cells[0], start=1):
        name = str(heading).strip().lower()
        if not name:
            continue
        if name in positions:
            out.add(
                path.name,
                1,
                index,
                f"column {name!r} appears twice (also column {positions[name]})",
            )
            continue
        positions[name] = index
    names = list(positions)
    columns = [positions[name] - 1 for name in names]
    rows = []
    for number, row in enumerate(cells[1:], start=2):
        values = [str(row[i]).strip() for i in columns]  # every row is as wide as the header
        if any(values):
            rows.append((number, dict(zip(names, values, strict=True))))
    return Table(path.name, positions, rows, raw)


def _records(
    table: Table,
    model: type[BaseModel],
    columns: dict[str, Column],
    out: Collector,
    *,
    key: str | None = None,
    extra: Callable[[dict[str, str], dict[str, Any], Callable[[str, str], None]], None]
    | None = None,
    known_extra: Iterable[str] = (),
) -> list[Any]:
    """Parse and validate every row of a table into ``model`` records."""
    for name, column in columns.items():
        if column.required and name not in table.positions:
            out.add(table.file, 1, len(table.positions) + 1, f"required column {name!r} is missing")
    unknown = set(table.positions) - set(columns) - set(known_extra)
    for name in sorted(unknown, key=table.column):
        out.warnings.append(f"{table.file}:1:{table.column(name)}: unknown column {name!r} ignored")
    records = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        values: dict[str, Any] = {}
        ok = True

        def problem(column_name: str, message: str, number: int = number) -> None:
            nonlocal ok
            ok = False
            out.add(table.file, number, table.column(column_name), message)

        for name, column in columns.items():
            if name not in table.positions:
                continue
            cell = cells[name]
            if not cell:
                if not column.blank_ok:
                    problem(name, f"{name} is blank")
                continue
            try:
                values[column.target] = column.parse(cell)
            except ValueError as exc:
                problem(name, f"{name}: {exc}")
        if extra:
            extra(cells, values, problem)
        if key and cells.get(key):
            if cells[key] in seen:
                problem(key, f"duplicate {key} {cells[key]!r} (first on row {seen[cells[key]]})")
            else:
                seen[cells[key]] = number
        if not ok:
            continue
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
        return f"must be {words} {limit} (got {error.get('input')!r})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number (got {error.get('input')!r})"
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return f"must be a number (got {error.get('input')!r})"
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


def load_settings(
    folder: Path, overrides: Sequence[str], out: Collector
) -> tuple[Settings | None, bytes]:
    path = folder / TOML
    if not path.exists():
        out.add(TOML, 1, 1, f"{TOML} is missing from the scenario folder {folder}")
        return None, b""
    raw = path.read_bytes()
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
    positions = _toml_positions(text)
    overridden: list[tuple[tuple[Any, ...], int]] = []
    for index, override in enumerate(overrides, start=1):
        try:
            path_, value = parse_override(override)
            apply_override(data, path_, value)
            overridden.append((path_, index))
        except ValueError as exc:
            out.add("--set", index, 1, str(exc))
    for key in _unknown_keys(Settings, data):
        row, column = _locate(positions, key)
        out.warnings.append(
            f"{TOML}:{row}:{column}: unknown setting {'.'.join(map(str, key))!r} ignored"
        )
    try:
        return Settings.model_validate(data), raw
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            setting = ".".join(str(p) for p in loc) or "scenario"
            source = next((i for p, i in overridden if loc[: len(p)] == p), None)
            if source is not None:
                out.add("--set", source, 1, f"{setting}: {_friendly(error)}")
            else:
                row, column = _locate(positions, loc)
                out.add(TOML, row, column, f"{setting}: {_friendly(error)}")
        return None, raw


# --------------------------------------------------------------------------- scenario


def load_scenario(folder: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load and cross-check a scenario folder. Raises InputError listing every problem."""
    folder = Path(folder)
    out = Collector()
    if not folder.is_dir():
        raise InputError([Problem(str(folder), 1, 1, "scenario folder not found")])
    settings, toml_bytes = load_settings(folder, overrides, out)
    tables = {
        stem: read_table(folder, stem, out, required=stem == "applicants")
        for stem in (
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
    }
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
    cohort_ids = [c.id for c in settings.cohort_list()] if settings else None

    def applicant_extra(
        cells: dict[str, str], values: dict[str, Any], problem: Callable[[str, str], None]
    ) -> None:
        flags = {}
        for group in groups:
            cell = cells.get(group, "")
            try:
                flags[group] = parse_yes_no(cell) if cell else False
            except ValueError as exc:
                problem(group, f"{group}: {exc}")
        values["groups"] = flags
        for cohort in values.get("cohorts", ()):
            if cohort_ids is not None and cohort not in cohort_ids:
                problem(
                    "cohorts",
                    f"cohorts: unknown cohort {cohort!r} (the cohorts are {', '.join(cohort_ids)})",
                )

    def rows(
        stem: str, model: type[BaseModel], columns: dict[str, Column], key: str | None, **kw: Any
    ) -> list[tuple[int, Any]]:
        table = tables[stem]
        return _records(table, model, columns, out, key=key, **kw) if table else []

    applicants = rows(
        "applicants",
        Applicant,
        APPLICANT_COLUMNS,
        "applicant_id",
        extra=applicant_extra,
        known_extra=groups,
    )
    if tables["applicants"]:
        table = tables["applicants"]
        for group in groups:
            if group not in table.positions and any(
                group in rf.groups for rf in settings.selection.ring_fence
            ):
                out.add(
                    table.file,
                    1,
                    len(table.positions) + 1,
                    f"column {group!r} is missing: a ring fence counts members by it",
                )
    scores = rows("scores", Score, SCORE_COLUMNS, None)
    mentors = rows("mentors", Mentor, MENTOR_COLUMNS, "mentor_id")
    coaches = rows("coaches", Coach, COACH_COLUMNS, "coach_id")
    sessions = rows("programme", Session, SESSION_COLUMNS, "session_key")
    people = rows("people", Person, PERSON_COLUMNS, "person_id")
    venues = rows("venues", Venue, VENUE_COLUMNS, "venue_id")
    unavailability = rows("unavailability", Unavailability, UNAVAILABILITY_COLUMNS, None)
    conflicts = rows("conflicts", Conflict, CONFLICT_COLUMNS, None)
    outcomes = rows("outcomes", ProgrammeOutcome, OUTCOME_COLUMNS, "participant_id")
    if settings is not None:
        out.warnings.extend(
            positive_action_warnings(settings, _toml_positions(toml_bytes.decode("utf-8-sig")))
        )

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
        out,
    )
    _check_outcomes(settings, tables, outcomes, out)
    out.raise_if_any()
    assert settings is not None  # a settings problem would have been raised just above

    digest = hashlib.sha256(toml_bytes)
    for _, table in sorted(tables.items()):
        if table is not None:
            digest.update(f"\0{table.file}\0".encode())
            digest.update(table.raw)
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
    _check_heads_of_service(scenario, tables["applicants"], applicants)
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
    out: Collector,
) -> None:
    """outcomes.csv names applicants, and no outcome predates the programme."""
    table, applicants = tables["outcomes"], tables["applicants"]
    if table is None:
        return
    known = (
        {cells["applicant_id"] for _, cells in applicants.rows if cells.get("applicant_id")}
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


def _check_heads_of_service(
    scenario: Scenario, table: Table | None, applicants: list[tuple[int, Applicant]]
) -> None:
    """A session held with the head of service needs one for every eligible applicant's area.

    Found here rather than when the calendar is built, so the coordinator fixes people.csv
    before a long solve. Only eligible applicants are checked: only they can be selected,
    now or as a replacement.
    """
    sessions = [s.session_key for s in scenario.programme if "head_of_service" in s.with_]
    if not sessions or table is None:
        return
    heads = {(p.council, p.service_area) for p in scenario.people if p.role == "head_of_service"}
    rows = {a.applicant_id: row for row, a in applicants}
    missing = [a for a in scenario.applicants if a.area not in heads]
    if not missing:
        return  # skip the eligibility work below in the usual case
    from .selection import candidates

    eligible = {c.id for c in candidates(scenario) if c.eligible}
    problems = [
        Problem(
            table.file,
            rows[a.applicant_id],
            table.column("service_area"),
            f"{a.applicant_id} is eligible and session {', '.join(sessions)} is held with their "
            f"head of service, but people.csv has no head_of_service for council "
            f"{a.council!r}, service area {a.service_area!r}: add that person to people.csv "
            "(role head_of_service, same council and service_area)",
        )
        for a in missing
        if a.applicant_id in eligible
    ]
    if problems:
        raise InputError(problems)


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
    out: Collector,
) -> None:
    """Ids that one file uses must exist in another."""

    def at(stem: str, row: int, column: str, message: str) -> None:
        table = tables[stem]
        assert table is not None
        out.add(table.file, row, table.column(column), message)

    def ids(stem: str, column: str) -> set[str]:
        # From the raw cells, so a row rejected for another reason still counts as existing.
        table = tables[stem]
        return {cells[column] for _, cells in table.rows if cells.get(column)} if table else set()

    applicant_ids = ids("applicants", "applicant_id")
    person_ids = ids("people", "person_id")
    everyone = applicant_ids | person_ids | ids("mentors", "mentor_id") | ids("coaches", "coach_id")
    venue_ids = ids("venues", "venue_id")

    seen_scores: dict[tuple[str, str, str | None], int] = {}
    for row, score in scores:
        if score.applicant_id not in applicant_ids:
            at("scores", row, "applicant_id", f"score for unknown applicant {score.applicant_id!r}")
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
        if item.end <= item.start:
            at("unavailability", row, "end", "end is before start")

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
