"""scenario.toml and --set overrides, with every problem located at its line."""

from __future__ import annotations

import copy
import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from cohort_solver.domain.scenario import (
    Settings,
    TrackSettings,
)
from cohort_solver.stages.load.tables import TOML, Collector, decode, friendly, read_file


def toml_positions(text: str) -> dict[tuple[Any, ...], tuple[int, int]]:
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


def locate(
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
    raw = read_file(path, out)
    if raw is None:
        return None, b""
    text = decode(TOML, raw, out)
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
    positions = toml_positions(text)
    data, overridden = _overridden(data, overrides, out)
    _check_unknown_keys(data, positions, overridden, out)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        problems = track_problems(settings)
        for loc, message in problems:
            row, column = locate(positions, loc)
            out.add(TOML, row, column, f"{'.'.join(map(str, loc))}: {message}")
        return (None if problems else settings), raw
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
            out.add("--set", source, 1, f"{setting}: {friendly(error)}")
        else:
            row, column = locate(positions, loc)
            out.add(TOML, row, column, f"{setting}: {friendly(error)}")
    return None, raw


def _overridden(
    data: dict[str, Any], overrides: Sequence[str], out: Collector
) -> tuple[dict[str, Any], list[tuple[tuple[Any, ...], int]]]:
    """The settings with every --set applied, and which --set (1-based) set which key."""
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
    return data, overridden


def _check_unknown_keys(
    data: dict[str, Any],
    positions: dict[tuple[Any, ...], tuple[int, int]],
    overridden: list[tuple[tuple[Any, ...], int]],
    out: Collector,
) -> None:
    """An unknown key in scenario.toml is a warning; in a --set, a problem."""
    for key in _unknown_keys(Settings, data):
        name = ".".join(map(str, key))
        source = _override_of(key, overridden)
        if source is None:
            row, column = locate(positions, key)
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


def track_problems(settings: Settings) -> list[tuple[tuple[Any, ...], str]]:
    """What [[tracks]] and the cohorts' ``track`` keys must agree on, each at its key: unique
    track ids, every cohort in a known track (only with tracks), every track with a cohort,
    and grade bands in the [grades] order."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    ids = [t.id for t in settings.tracks]
    for index, track in enumerate(settings.tracks):
        if ids.index(track.id) != index:
            problems.append((("tracks", index, "id"), f"track {track.id!r} is declared twice"))
        problems += [
            (("tracks", index, "eligible_grades"), m) for m in _band_problems(settings, track)
        ]
    for index, cohort in enumerate(settings.cohorts):
        where = ("cohorts", index, "track")
        if not settings.tracks and cohort.track is not None:
            problems.append(
                (
                    where,
                    f"cohort {cohort.id!r} names track {cohort.track!r}, but "
                    "the scenario has no [[tracks]]: declare the track, or remove the key",
                )
            )
        elif settings.tracks and cohort.track is None:
            problems.append(
                (
                    ("cohorts", index),
                    f"cohort {cohort.id!r} needs a track (track = one of {', '.join(ids)})",
                )
            )
        elif settings.tracks and cohort.track not in ids:
            problems.append(
                (
                    where,
                    f"cohort {cohort.id!r}: unknown track {cohort.track!r} "
                    f"(the tracks are {', '.join(ids)})",
                )
            )
    problems += _ring_fence_track_problems(settings, ids)
    if settings.cohorts:
        used = {c.track for c in settings.cohorts}
        for index, track in enumerate(settings.tracks):
            if track.id not in used:
                problems.append(
                    (
                        ("tracks", index, "id"),
                        f"track {track.id!r} has no cohort: "
                        f"give a [[cohorts]] table track = {track.id!r}",
                    )
                )
    return problems


def _band_problems(settings: Settings, track: TrackSettings) -> list[str]:
    grades = settings.grades
    out = []
    for grade in track.eligible_grades or []:
        if grades is None and isinstance(grade, str) and not grade.strip().isdigit():
            out.append(
                f"track {track.id!r}: eligible grade {grade!r} is a label: declare the "
                'order of the grades, lowest first, e.g. [grades] order = ["SO1", "PO1"]'
            )
        elif grades is not None and grades.position(str(grade)) is None:
            out.append(
                f"track {track.id!r}: eligible grade {grade!r} is not in [grades] order "
                f"({', '.join(grades.order)})"
            )
    return out


def _ring_fence_track_problems(
    settings: Settings, ids: list[str]
) -> list[tuple[tuple[Any, ...], str]]:
    """A ring fence's ``tracks`` names tracks of the toml."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    known = f"the tracks are {', '.join(ids)}" if ids else "there are no [[tracks]]"
    for index, rf in enumerate(settings.selection.ring_fence):
        for name in rf.tracks or []:
            if name not in ids:
                problems.append(
                    (
                        ("selection", "ring_fence", index, "tracks"),
                        f"ring fence {rf.name!r}: unknown track {name!r} ({known})",
                    )
                )
    return problems
