"""Records built straight from columns whose every value pydantic would accept unchanged.

Validating 100,000 rows with pydantic costs a dictionary per row to feed it and a second or
so in the validator; most of that work repeats checks that hold for the whole column (a grade
column holds a dozen values). So each column is checked once, by the field's own pydantic
rules on its distinct values, and when every column passes the records are made as
``model_construct`` makes them, a column at a time. Any doubt (a value pydantic would refuse
or change, a required field left blank, a model with its own validators) returns None, and
the caller validates the rows one by one as before, with the same messages.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from itertools import chain, repeat
from operator import itemgetter
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

# A blank cell in a column where blank is allowed: the field keeps its default.
ABSENT: Any = object()


def constructed(
    model: type[BaseModel],
    values: dict[str, list[Any]],
    count: int,
    texts: frozenset[str] = frozenset(),
) -> list[Any] | None:
    """``count`` records of ``model`` from the values by field (ABSENT where blank), equal
    to what ``model_validate`` makes of each row; None when that cannot be vouched for.

    ``texts`` names the fields whose values are known to be non-blank text (cells as
    written), so their columns need no second look."""
    fields = model.model_fields
    columns = {name: column for name, column in values.items() if name in fields}
    blank = [name for name, column in columns.items() if _has_blank(column)]
    if any(info.is_required() and (n not in columns or n in blank) for n, info in fields.items()):
        return None  # pydantic reports it: "is required"
    if not _plain(model) or not all(
        _known_text(model, n) if n in texts else _accepted(model, n, c, n in blank)
        for n, c in columns.items()
    ):
        return None
    given = _fields_set(columns, blank, count)
    filled = [
        _filled(info, columns.get(name), name in blank, count) for name, info in fields.items()
    ]
    names = list(fields)
    # map and zip, not a loop: the 100,000 rows stay in C.
    dicts = map(dict, map(zip, repeat(names), zip(*filled, strict=True)))
    made = list(map(object.__new__, repeat(model, count)))
    # The four slots model_construct sets, a slot at a time over every record (through the
    # slot's own descriptor, as object.__setattr__ would find it).
    for slot, contents in (
        ("__dict__", dicts),
        ("__pydantic_fields_set__", given),
        ("__pydantic_extra__", repeat(None)),
        ("__pydantic_private__", repeat(None)),
    ):
        deque(map(vars(BaseModel)[slot].__set__, made, contents), maxlen=0)
    return made


def _has_blank(column: list[Any]) -> bool:
    # By identity: `ABSENT in column` would ask every Decimal whether it equals ABSENT.
    return any(map(operator.is_, column, repeat(ABSENT)))


def _plain(model: type[BaseModel]) -> bool:
    """A model whose rows pydantic checks field by field, and nothing more."""
    decorators = model.__pydantic_decorators__
    return (
        not decorators.validators
        and not decorators.field_validators
        and not decorators.root_validators
        and not decorators.model_validators
        and not model.__private_attributes__
        and model.__pydantic_post_init__ is None
        and model.model_config.get("extra") != "allow"
        and all(info.alias is None for info in model.model_fields.values())
    )


def _accepted(model: type[BaseModel], name: str, column: list[Any], blank: bool) -> bool:
    """Whether pydantic takes every value of this column as it stands (blanks aside)."""
    present = [value for value in column if value is not ABSENT] if blank else column
    kinds = set(map(type, present))
    text = kinds == {str}
    shortest = _plain_text(model, name) if text else None
    if shortest is not None:
        return _long_enough(present, shortest)
    # Any other column of text is checked as it stands (quicker than finding 100,000 distinct
    # ids); other columns hold few distinct values, each checked once.
    rules = model.model_fields[name].metadata
    distinct = present if text else _distinct(present, kinds, rules)
    try:
        checked = _adapter(model, name).validate_python(distinct)
    except ValidationError:
        return False
    return all(map(operator.is_, checked, distinct)) or all(map(_same, checked, distinct))


def _known_text(model: type[BaseModel], name: str) -> bool:
    """Whether a field takes any non-blank text as it stands."""
    shortest = _plain_text(model, name)
    return shortest is not None and shortest <= 1


def _plain_text(model: type[BaseModel], name: str) -> int | None:
    """The shortest text a field takes as it stands, if it is a field of plain text: str (or
    str | None), at most a minimum length (pydantic's MinLen), no str_* setting (strip,
    lower...) in the model's config."""
    info = model.model_fields[name]
    rules = info.metadata
    if (
        info.annotation not in (str, str | None)
        or any(type(rule).__name__ != "MinLen" for rule in rules)
        or any(key.startswith("str_") for key in model.model_config)
    ):
        return None
    return max((int(rule.min_length) for rule in rules), default=0)


def _long_enough(texts: list[str], shortest: int) -> bool:
    if shortest == 0:
        return True
    if shortest == 1:
        return "" not in texts  # quicker than measuring every text
    return min(map(len, texts), default=shortest) >= shortest


def _distinct(present: list[Any], kinds: set[type], rules: list[Any]) -> list[Any]:
    """The values to check: each distinct value once where equal values are alike to the
    last detail, so pydantic's verdict on one is its verdict on all; else every value.

    A set would take 1 for True, or Decimal("1.0") for Decimal("1"), so only a column of
    one type is folded, a Decimal only under comparisons (ge, le: not max_digits), and a
    tuple or dict only of text (and, in a dict, of one type of value).
    """
    if len(kinds) != 1:
        return present
    try:
        return _folded(present, next(iter(kinds)), rules)
    except TypeError:  # a value that cannot be hashed (a signalling NaN, a list in a dict)
        return present


def _folded(present: list[Any], kind: type, rules: list[Any]) -> list[Any]:
    if kind in _ALIKE_WHEN_EQUAL:
        return list(set(present))
    if kind is Decimal and all(type(rule).__name__ in _COMPARISONS for rule in rules):
        return list(set(present))
    if kind is tuple and set(map(type, chain.from_iterable(present))) <= {str}:
        return list(set(present))
    if kind is dict:
        items = set(map(tuple, map(dict.items, present)))
        pairs = list(chain.from_iterable(items))
        keys, values = map(itemgetter(0), pairs), map(itemgetter(1), pairs)
        if set(map(type, keys)) <= {str} and len(set(map(type, values))) <= 1:
            return list(map(dict, items))
    return present


# Types whose equal values are the same value (no 1.0 beside 1, no True beside 1).
_ALIKE_WHEN_EQUAL = (bool, int, str, date, datetime, time)


# Constraints (annotated_types, as pydantic gives them) that only compare a number.
_COMPARISONS = ("Ge", "Gt", "Le", "Lt")


def _same(made: Any, given: Any) -> bool:
    # repr tells True from 1 and Decimal("1.0") from Decimal("1"), as == does not.
    return type(made) is type(given) and made == given and repr(made) == repr(given)


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[list[Any]]:
    """A list of one field's values, checked by that field's type and constraints under the
    model's config (allow_inf_nan, strict)."""
    info = model.model_fields[name]
    kind: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    config = ConfigDict(
        allow_inf_nan=model.model_config.get("allow_inf_nan", True),
        strict=model.model_config.get("strict", False),
    )
    return TypeAdapter(list[kind], config=config)


def _fields_set(columns: dict[str, list[Any]], blank: list[str], count: int) -> Iterable[set[str]]:
    """Each record's fields given a value: every column read, less the ones blank in its row.

    Records with the same blank cells share one set, as model_construct(_fields_set=...)
    allows: the records are frozen, and pydantic copies the set before it changes one
    (model_copy). A set per record took 155 MiB of the 100,000-applicant benchmark.
    """
    read = set(columns)
    if not blank:
        return repeat(read, count)
    flags = zip(*(map(operator.is_, columns[name], repeat(ABSENT)) for name in blank), strict=True)
    return map(_Patterns(read, blank).__getitem__, flags)


class _Patterns(dict[tuple[bool, ...], set[str]]):
    """The fields given a value for each pattern of blank columns, worked out once."""

    def __init__(self, read: set[str], blank: list[str]):
        super().__init__()
        self.read = read
        self.blank = blank

    def __missing__(self, flags: tuple[bool, ...]) -> set[str]:
        given = self.read - {n for n, b in zip(self.blank, flags, strict=True) if b}
        self[flags] = given
        return given


def _filled(info: Any, column: list[Any] | None, blank: bool, count: int) -> Iterable[Any]:
    """A field's values, its default where the cell was blank or the column absent."""
    if column is not None and not blank:
        return column
    default = info.get_default(call_default_factory=True)
    try:
        hash(default)
    except TypeError:  # a mutable default: a copy of its own for each record, as pydantic gives
        if column is None:
            return (info.get_default(call_default_factory=True) for _ in range(count))
        return [
            info.get_default(call_default_factory=True) if value is ABSENT else value
            for value in column
        ]
    if column is None:
        return repeat(default, count)
    return [default if value is ABSENT else value for value in column]
