"""The output files of the contract (section 3) as text, and reading our own files back."""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from .errors import InputError, Problem
from .files import csv_text, not_utf8, read_own_csv
from .model import Event, Level, Match, Outcome, Scenario, StageReport

ALLOCATION_COLUMNS = (
    "applicant_id",
    "status",
    "cohort_id",
    "score",
    "ring_fences",
    "reserve_rank",
    "reason",
)


def allocation_csv(outcomes: Iterable[Outcome]) -> str:
    return csv_text(
        ALLOCATION_COLUMNS,
        (
            (
                o.applicant_id,
                o.status,
                o.cohort_id,
                "" if o.score is None else f"{o.score:.2f}",
                ";".join(o.ring_fences),
                o.reserve_rank,
                o.reason,
            )
            for o in outcomes
        ),
    )


STATUSES = ("selected", "reserve", "not_selected", "ineligible")


def read_allocation(path: Path) -> list[Outcome]:
    """allocation.csv as written by ``allocation_csv``; anything else is bad input at its cell."""
    table = read_own_csv(path, ALLOCATION_COLUMNS)
    problems: list[Problem] = []
    outcomes = []
    for index, row in enumerate(table.rows):
        found = len(problems)

        def bad(column: str, message: str, index: int = index) -> None:
            problems.append(table.problem(index, column, message))

        if not row["applicant_id"]:
            bad("applicant_id", "applicant_id is blank")
        if row["status"] not in STATUSES:
            bad("status", f"status {row['status']!r} is not one of {', '.join(STATUSES)}")
        score = _decimal(row["score"])
        if score is _BAD:
            bad("score", "score is not a number with 2 decimals")
        rank = _whole(row["reserve_rank"])
        if rank is _BAD or (isinstance(rank, int) and rank < 1):
            bad("reserve_rank", "reserve_rank is not a whole number from 1")
        if row["status"] in ("selected", "reserve") and not row["cohort_id"]:
            bad("cohort_id", f"a {row['status']} applicant needs a cohort_id")
        if len(problems) == found:
            outcomes.append(
                Outcome(
                    applicant_id=row["applicant_id"],
                    status=row["status"],  # type: ignore[arg-type]
                    cohort_id=row["cohort_id"] or None,
                    score=score if isinstance(score, Decimal) else None,
                    ring_fences=tuple(p for p in row["ring_fences"].split(";") if p),
                    reserve_rank=rank if isinstance(rank, int) else None,
                    reason=row["reason"],
                )
            )
    if problems:
        raise InputError(problems)
    return outcomes


_BAD = object()  # a cell that is not what our writer puts there


def _decimal(cell: str) -> Decimal | None | object:
    """The cell as a finite Decimal, None when blank, ``_BAD`` when it is not a number."""
    if not cell:
        return None
    try:
        value = Decimal(cell)
    except ArithmeticError:
        return _BAD
    return value if value.is_finite() else _BAD


def _whole(cell: str) -> int | None | object:
    """The cell as a whole number, None when blank, ``_BAD`` when it is not one."""
    if not cell:
        return None
    return int(cell) if re.fullmatch(r"-?\d{1,9}", cell) else _BAD


DECISION_LOG_COLUMNS = ("applicant_id", "status", "cohort_id", "reason_codes")
# Reasons that say nothing about a person's protected characteristics pass through. "outscored"
# and every ring-fence reason become "competition": a ring-fence reason would tell a reader of
# this widely shared log who does or does not count towards a ring fence.
_SHAREABLE_REASONS = {
    "places",
    "preference",
    "lottery",
    "withdrawn",
    "spread:max_per_service_area",
    "spread:max_per_council",
    "spread:min_service_areas",
}


def reason_codes(outcome: Outcome) -> str:
    """The outcome's reason as shareable codes, ``;``-separated (per cohort: ``north=code``)."""
    if outcome.status == "selected":
        return "selected"
    if outcome.status == "ineligible":
        return outcome.reason  # the contract's eligibility rule codes
    codes = []
    for part in outcome.reason.split(";"):
        cohort, _, reason = part.rpartition("=")
        code = reason if reason in _SHAREABLE_REASONS else "competition"
        codes.append(f"{cohort}={code}" if cohort else code)
    return ";".join(dict.fromkeys(codes))


def decision_log_csv(outcomes: Iterable[Outcome]) -> str:
    """decision_log.csv: one line per applicant, with no score and no ring fence, to share widely."""
    return csv_text(
        DECISION_LOG_COLUMNS,
        ((o.applicant_id, o.status, o.cohort_id, reason_codes(o)) for o in outcomes),
    )


MATCH_COLUMNS = (
    "participant_id",
    "cohort_id",
    "mentor_id",
    "coach_id",
    "mentor_fit",
    "coach_fit",
    "reasons",
)


def matches_csv(matches: Iterable[Match]) -> str:
    return csv_text(MATCH_COLUMNS, ((getattr(m, c) for c in MATCH_COLUMNS) for m in matches))


def read_matches(path: Path) -> list[Match]:
    """matches.csv as written by ``matches_csv`` (e.g. ``match --previous OLD/matches.csv``)."""
    table = read_own_csv(path, MATCH_COLUMNS)
    problems: list[Problem] = []
    matches = []
    for index, row in enumerate(table.rows):
        found = len(problems)
        for column in ("participant_id", "cohort_id", "mentor_id", "coach_id"):
            if not row[column]:
                problems.append(table.problem(index, column, f"{column} is blank"))
        for column in ("mentor_fit", "coach_fit"):
            if not isinstance(_whole(row[column]), int):  # blank or not a number
                problems.append(table.problem(index, column, f"{column} is not a whole number"))
        if len(problems) == found:
            matches.append(Match.model_validate(row))
    if problems:
        raise InputError(problems)
    return matches


def change_reasons(
    scenario: Scenario, old: Sequence[Event], new: Sequence[Event]
) -> dict[str, str]:
    """Why each event of a re-plan changed, in coordinator words (for changes.csv): the rule
    its old time now breaks and who it concerns (an absence, a session moved to another
    month, a working day), else the changed event it made room for or moved with."""
    from .schedule.explain import why_changed

    return why_changed(scenario, old, new)


def solution_json(
    scenario: Scenario, reports: Sequence[StageReport], extra: dict | None = None
) -> str:
    """Status and objective values with bounds per stage, timings, checksum and versions."""
    stages = {
        r.stage: {
            "status": r.status,
            "solver": r.solver,
            "seconds": r.seconds,
            "notes": list(r.notes),
            "objectives": [
                {
                    "name": lv.name,
                    "sense": lv.sense,
                    "value": lv.value,
                    "bound": lv.bound,
                    "gap": round(lv.gap, 6),
                }
                for lv in r.levels
            ],
        }
        for r in reports
    }
    document = {
        "status": "optimal" if all(r.status == "optimal" for r in reports) else "feasible",
        "stages": stages,
        "scenario": {
            "folder": scenario.folder.name,
            "programme": scenario.settings.programme.name,
            "checksum": scenario.checksum,
            "seed": scenario.settings.selection.seed,
        },
        "versions": {
            "cohort_solver": _version("cohort-solver"),
            "ortools": _version("ortools"),
            "python": platform.python_version(),
        },
        "decision_log": {
            "inputs_checksum": scenario.checksum,
            "seed": scenario.settings.selection.seed,
            "settings": scenario.settings.model_dump(mode="json"),
            "stages": {r.stage: r.status for r in reports},
            "warnings": list(scenario.warnings),
        },
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    return json.dumps(document, indent=2) + "\n"


def read_reports(path: Path) -> list[StageReport]:
    """Stage reports kept in an earlier solution.json, so a later stage can add to them.

    A solution.json that is not ours (broken JSON, a stage without a status, ...) is bad input
    at its line and column: the reports it holds would otherwise be dropped without a word.
    """
    if not os.path.lexists(path):
        return []
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, 1, 1, f"cannot read the file: {exc.strerror}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([not_utf8(file, data, exc)]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(file, exc.lineno, exc.colno, f"not JSON written by cohort-solver ({exc.msg})")]
        ) from None
    except RecursionError:
        raise InputError([Problem(file, 1, 1, "nested too deeply to be ours")]) from None

    def bad(keys: Sequence[str | int], message: str) -> InputError:
        row, column = _json_position(text, keys)
        where = ".".join(str(k) for k in keys)
        return InputError([Problem(file, row, column, f"{where}: {message}")])

    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict):
        raise bad(["stages"], "missing, or not a table of stages")
    reports = []
    for name, body in stages.items():
        if not isinstance(body, dict):
            raise bad(["stages", name], "not a table")
        if body.get("status") not in ("optimal", "feasible"):
            raise bad(["stages", name, "status"], "should be 'optimal' or 'feasible'")
        seconds = body.get("seconds", 0.0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise bad(["stages", name, "seconds"], "not a number")
        levels = body.get("objectives", [])
        if not isinstance(levels, list):
            raise bad(["stages", name, "objectives"], "not a list")
        kept = []
        for number, level in enumerate(levels):
            try:
                kept.append(Level.model_validate({k: v for k, v in level.items() if k != "gap"}))
            except (AttributeError, ValidationError):
                raise bad(
                    ["stages", name, "objectives", number],
                    "needs a name, a sense ('max' or 'min'), and whole-number value and bound",
                ) from None
        notes = body.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise bad(["stages", name, "notes"], "not a list of text")
        solver = body.get("solver", "CP-SAT")
        if not isinstance(solver, str):
            raise bad(["stages", name, "solver"], "not text")
        reports.append(
            StageReport(
                stage=name,
                status=body["status"],
                solver=solver,
                seconds=float(seconds),
                levels=tuple(kept),
                notes=tuple(notes),
            )
        )
    return reports


def _json_position(text: str, keys: Sequence[str | int]) -> tuple[int, int]:
    """Line and column of the value at ``keys`` (or of its deepest parent there) in valid JSON."""
    positions = _json_paths(text)
    path = tuple(keys)
    while path and path not in positions:
        path = path[:-1]
    at = positions.get(path, 0)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def _json_paths(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each object key and array element of valid JSON starts, by its path."""
    positions: dict[tuple[str | int, ...], int] = {}
    stack: list[list] = []  # [kind, path, key or index, expecting a key]
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\r\n:":
            i += 1
            continue
        top = stack[-1] if stack else None
        if top is not None and top[0] == "[" and c not in ",]" and top[3]:
            positions[(*top[1], top[2])] = i
            top[3] = False
        if c == '"':
            value, end = decoder.raw_decode(text, i)
            if top is not None and top[0] == "{" and top[3]:
                top[2], top[3] = value, False
                positions[(*top[1], value)] = i
            i = end
        elif c in "{[":
            path = () if top is None else (*top[1], top[2])
            stack.append([c, path, 0, True])
            i += 1
        elif c in "}]":
            stack.pop()
            i += 1
        elif c == ",":
            if top is not None:
                top[3] = True
                if top[0] == "[":
                    top[2] += 1
            i += 1
        else:  # a number, true, false or null
            _, i = decoder.raw_decode(text, i)
    return positions


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
