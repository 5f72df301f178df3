"""Loading fast is loading the same: the column-at-a-time paths (a CSV read by column,
records built without pydantic once their columns pass its rules) give exactly what the
straightforward reading gives (rows one by one, every row through ``model_validate``):
the same records, the same problems at the same file:row:column, the same warnings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import holidays
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cohort_solver.domain.scenario import (
    DEFAULT_POSITIVE_OUTCOMES,
    MAX_COUNT,
    MAX_GRADE,
    UK_HOLIDAY_REGIONS,
    Applicant,
    CareerOutcome,
    Coach,
    Conflict,
    Mentor,
    Person,
    Scenario,
    Score,
    Unavailability,
    Venue,
)
from cohort_solver.errors import InputError
from cohort_solver.stages.load import build, records, tables
from cohort_solver.stages.load.build import ABSENT, constructed
from cohort_solver.stages.load.scenario import load_scenario

from .test_loader_fuzz import (
    CSV_FILES,
    TEMPLATE,
    Files,
    Mutation,
    csv_bytes,
    mutations,
    rows_of,
    write_folder,
)

TABLES = (
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


@contextmanager
def row_by_row() -> Iterator[None]:
    """The straightforward reading: every CSV row by row, every record by model_validate."""
    with (
        mock.patch.object(tables, "_even_columns", lambda text: None),
        mock.patch.object(records, "constructed", lambda *args: None),
    ):
        yield


def outcome(folder: Path, sets: list[str]) -> tuple[str, Any]:
    try:
        scenario = load_scenario(folder, sets)
    except InputError as exc:
        return "refused", [str(p) for p in exc.problems]
    return "loaded", scenario


def same_scenario(fast: Scenario, slow: Scenario) -> None:
    assert fast.warnings == slow.warnings
    assert fast.checksum == slow.checksum and fast.stage_checksums == slow.stage_checksums
    for name in TABLES:
        mine, theirs = getattr(fast, name), getattr(slow, name)
        assert mine == theirs, name
        for a, b in zip(mine, theirs, strict=True):
            same_record(a, b)


def same_record(a: BaseModel, b: BaseModel) -> None:
    """Equal, and alike to the last detail == does not see: the fields given, each value's
    type and spelling (True is not 1, Decimal("1.0") is not Decimal("1"))."""
    assert type(a) is type(b)
    assert a == b
    assert a.model_fields_set == b.model_fields_set
    for name in type(a).model_fields:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y) and repr(x) == repr(y), name


@st.composite
def row_shape(draw: st.DrawFn) -> Mutation:
    """What sends a CSV from the read by column to the read by row: a blank row, a row a cell
    short or long, spaces around a cell, a line of commas, a blank heading."""
    name = draw(st.sampled_from(CSV_FILES))
    kind = draw(st.sampled_from(["blank", "short", "long", "spaces", "commas", "heading"]))
    where = draw(st.integers(0, 50))

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get(name)
        if not isinstance(data, bytes):
            return True
        try:
            table = rows_of(data)
        except (UnicodeDecodeError, Exception):
            return False
        if not table:
            return True
        r = where % len(table)
        width = len(table[0])
        if kind == "blank":
            table.insert(max(r, 1), [])
        elif kind == "short" and len(table[r]) > 1:
            table[r] = table[r][:-1]
        elif kind == "long":
            table[r] = [*table[r], "extra"]
        elif kind == "spaces" and table[r]:
            table[r][where % len(table[r])] = f" {table[r][where % len(table[r])]} "
        elif kind == "commas":
            table.insert(max(r, 1), [""] * width)
        elif kind == "heading" and width > 1:
            table[0][where % width] = ""
        files[name] = csv_bytes(table)
        return kind not in ("short", "long", "heading") or name != "applicants.csv"

    return mutate


@pytest.mark.slow
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations, st.lists(row_shape(), max_size=3))
def test_a_folder_loads_the_same_column_by_column_as_row_by_row(
    changes: list[Mutation], shapes: list[Mutation]
) -> None:
    files: Files = dict(TEMPLATE)
    sets: list[str] = []
    for change in [*changes, *shapes]:
        change(files, sets)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "s"
        write_folder(folder, files)
        fast = outcome(folder, sets)
        with row_by_row():
            slow = outcome(folder, sets)
    assert fast[0] == slow[0]
    event(fast[0])
    if fast[0] == "refused":
        assert fast[1] == slow[1]
    else:
        same_scenario(fast[1], slow[1])


@st.composite
def gentle_cell(draw: st.DrawFn) -> Mutation:
    """A cell given a value that usually still loads: another row's value in its column,
    padded with spaces, or a name spelled with a combining accent (NFC folds it)."""
    name = draw(st.sampled_from(CSV_FILES))
    where = draw(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)))
    how = draw(st.sampled_from(["copy", "pad", "accent"]))

    def mutate(files: Files, sets: list[str]) -> bool:
        data = files.get(name)
        if not isinstance(data, bytes):
            return True
        table = rows_of(data)
        if len(table) < 2:
            return True
        r, other = 1 + where[0] % (len(table) - 1), 1 + where[1] % (len(table) - 1)
        c = where[2] % len(table[r])
        if c >= len(table[other]):
            return True
        value = table[other][c]
        table[r][c] = {"copy": value, "pad": f"  {value}\t", "accent": f"{value}e\u0301"}[how]
        files[name] = csv_bytes(table)
        return True

    return mutate


@pytest.mark.slow
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.one_of(gentle_cell(), row_shape()), min_size=1, max_size=4))
def test_a_folder_that_mostly_loads_loads_the_same_column_by_column(
    changes: list[Mutation],
) -> None:
    files: Files = dict(TEMPLATE)
    for change in changes:
        change(files, [])
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "s"
        write_folder(folder, files)
        fast = outcome(folder, [])
        with row_by_row():
            slow = outcome(folder, [])
    assert fast[0] == slow[0]
    event(fast[0])
    if fast[0] == "refused":
        assert fast[1] == slow[1]
    else:
        same_scenario(fast[1], slow[1])


def test_the_template_takes_the_fast_paths() -> None:
    """So the property above compares the two readings, not one reading with itself."""
    built: list[str] = []
    even: list[bool] = []

    def spy_built(model: type[BaseModel], *args: Any) -> Any:
        made = constructed(model, *args)
        built.append(f"{model.__name__} {'built' if made is not None else 'validated'}")
        return made

    def spy_even(text: str) -> Any:
        columns = tables_even(text)
        even.append(columns is not None)
        return columns

    tables_even = tables._even_columns
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "s"
        write_folder(folder, dict(TEMPLATE))
        with (
            mock.patch.object(records, "constructed", spy_built),
            mock.patch.object(tables, "_even_columns", spy_even),
        ):
            load_scenario(folder)
    assert even and all(even)
    # The programme's sessions have a validator of their own: validated row by row.
    assert [b for b in built if not b.endswith("built")] == ["Session validated"]


# Values of every kind a column could hold after its cells are parsed, and some no parser
# gives, so the check is tried on what pydantic would refuse or change too.
ANY_VALUE = st.one_of(
    st.just(ABSENT),
    st.text(max_size=4),
    st.sampled_from(["", "A1", "Mon", "Funday", "in_person", "promotion", "bogus"]),
    st.integers(-3, 3),
    st.sampled_from([MAX_GRADE, MAX_GRADE + 1, MAX_COUNT, MAX_COUNT + 1, 10**20]),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, places=2, min_value=-10, max_value=10),
    st.sampled_from([Decimal("1.0"), Decimal("1"), Decimal("2E+6"), Decimal("-1E+7")]),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
    st.floats(allow_nan=False, width=16),
    st.tuples(st.sampled_from(["Mon", "Tue", "Funday", "a"])),
    st.just(()),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.dictionaries(st.sampled_from(["woman", "disabled"]), st.booleans() | st.integers(0, 2)),
    st.sampled_from((*DEFAULT_POSITIVE_OUTCOMES, "none")),
)

MODELS = [Applicant, Score, Mentor, Coach, Person, Venue, Unavailability, Conflict, CareerOutcome]


@st.composite
def columns_of(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, list[Any]], int]:
    """A model, and for some of its fields a column of values: mostly one kind of value per
    column (as a parser gives), sometimes a mixture."""
    model = draw(st.sampled_from(MODELS))
    count = draw(st.integers(0, 6))
    values: dict[str, list[Any]] = {}
    for name in model.model_fields:
        if draw(st.integers(0, 9)) == 0:
            continue  # the file has no such column
        if draw(st.booleans()):
            pool = draw(st.lists(ANY_VALUE, min_size=1, max_size=2))
            values[name] = draw(st.lists(st.sampled_from(pool), min_size=count, max_size=count))
        else:
            values[name] = draw(st.lists(ANY_VALUE, min_size=count, max_size=count))
    return model, values, count


def validated_one_by_one(model: type[BaseModel], values: dict[str, list[Any]]) -> list[Any]:
    rows = records._row_values(values) if values else []
    made: list[Any] = []
    for row in rows:
        try:
            made.append(model.model_validate(row))
        except ValidationError as exc:
            made.append(exc)
    return made


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True)
@given(columns_of())
def test_records_built_from_columns_are_the_records_pydantic_validates(
    case: tuple[type[BaseModel], dict[str, list[Any]], int],
) -> None:
    model, values, count = case
    if not values:
        return
    expected = validated_one_by_one(model, values)
    # The columns the loader would vouch for as text as written: non-blank text or ABSENT.
    texts = frozenset(
        name
        for name, column in values.items()
        if all(v is ABSENT or (type(v) is str and v) for v in column)
    )
    for made in (constructed(model, values, count), constructed(model, values, count, texts)):
        if made is None:
            event("validated row by row")
            continue  # no promise: the rows are then validated one by one
        event("built")
        assert not any(isinstance(e, ValidationError) for e in expected), "built a refused row"
        assert len(made) == len(expected)
        for a, b in zip(made, expected, strict=True):
            same_record(a, b)


def test_a_column_pydantic_would_change_is_not_trusted() -> None:
    """A value pydantic accepts but turns into another one (1 for True, a str for a date)
    must go through pydantic, or the record would hold the unconverted value."""
    assert constructed(Conflict, {"person_a": ["A"], "person_b": ["B"]}, 1) is not None
    assert build._accepted(Applicant, "probation_passed", [True, 1], blank=False) is False
    assert build._accepted(Venue, "capacity", [True], blank=False) is False
    assert build._accepted(CareerOutcome, "outcome_date", ["2024-01-01"], blank=False) is False
    assert build._accepted(Score, "score", [Decimal("NaN")], blank=False) is False
    assert build._accepted(Applicant, "applicant_id", ["", "A1"], blank=False) is False


def test_the_uk_regions_known_without_the_holidays_package_are_known_to_it() -> None:
    for region in UK_HOLIDAY_REGIONS:
        country, _, subdivision = region.partition("-")
        assert holidays.country_holidays(country, subdiv=subdivision or None, years=2024)
