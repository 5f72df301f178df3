"""The output files of the contract (section 3) as text, and reading our own files back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from cohort_solver.domain.reasons import COMPETITION, SELECTED, Reason
from cohort_solver.domain.results import Decision, Event, Feedback, Match
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.export.files import csv_text, read_own_csv

ALLOCATION_COLUMNS = (
    "applicant_id",
    "status",
    "cohort_id",
    "score",
    "ring_fences",
    "reserve_rank",
    "reason",
    "replaced_by",
)


def allocation_csv(
    outcomes: Iterable[Decision], tracks: Mapping[str, str | None] | None = None
) -> str:
    """allocation.csv. ``tracks`` (cohort id -> track id), given only when the scenario has
    [[tracks]], adds a ``track`` column after ``cohort_id``: the track of the row's cohort."""
    rows = (
        (
            o.applicant_id,
            o.status,
            o.cohort_id,
            "" if o.score is None else f"{o.score:.2f}",
            ";".join(o.ring_fences),
            o.reserve_rank,
            str(o.reason),
            o.replaced_by,
        )
        for o in outcomes
    )
    if not tracks:
        return csv_text(ALLOCATION_COLUMNS, rows)
    return csv_text(
        (*ALLOCATION_COLUMNS[:3], "track", *ALLOCATION_COLUMNS[3:]),
        ((*r[:3], tracks.get(r[2] or "") or "", *r[3:]) for r in rows),
    )


STATUSES = ("selected", "reserve", "not_selected", "ineligible")

FEEDBACK_COLUMNS = ("applicant_id", "name", "email", "outcome", "cohort", "feedback")


def feedback_csv(rows: Iterable[Feedback]) -> str:
    """feedback.csv: a paragraph per applicant for the panel to send (a panel file, 0600)."""
    return csv_text(FEEDBACK_COLUMNS, ((getattr(r, c) for c in FEEDBACK_COLUMNS) for r in rows))


def read_allocation(path: Path) -> list[Decision]:
    """allocation.csv as written by ``allocation_csv``; anything else is bad input at its cell."""
    # replaced_by is newer than the other columns: a file written before it still reads.
    table = read_own_csv(path, ALLOCATION_COLUMNS[:-1])
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
        if row.get("replaced_by") and row["status"] != "selected":
            bad("replaced_by", "only a selected participant has a replaced_by")
        if row["status"] in ("selected", "reserve") and not row["cohort_id"]:
            bad("cohort_id", f"a {row['status']} applicant needs a cohort_id")
        try:
            reason = Reason.parse(row["reason"])
        except ValueError as error:
            reason = Reason()
            bad("reason", f"reason is not one cohort-solver writes: {error}")
        if len(problems) == found:
            outcomes.append(
                Decision(
                    applicant_id=row["applicant_id"],
                    status=row["status"],
                    cohort_id=row["cohort_id"] or None,
                    score=score if isinstance(score, Decimal) else None,
                    ring_fences=tuple(p for p in row["ring_fences"].split(";") if p),
                    reserve_rank=rank if isinstance(rank, int) else None,
                    reason=reason,
                    replaced_by=row.get("replaced_by") or None,
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


def reason_codes(outcome: Decision) -> str:
    """The outcome's reason as shareable codes, ``;``-separated (per cohort: ``north=code``).

    Reasons that say nothing about a person's protected characteristics pass through; the rest
    become ``competition`` (see ``KeptOut.shareable``)."""
    if outcome.status == "selected":
        return SELECTED
    reason = outcome.reason
    if outcome.status == "ineligible":
        return str(reason)  # the contract's eligibility rule codes
    codes = [
        (f"{cohort}={code}" if cohort is not None else code)
        for cohort, blocker in reason.kept_out
        for code in [blocker.code if blocker.code.shareable else COMPETITION]
    ]
    return ";".join(dict.fromkeys(codes)) or COMPETITION


def decision_log_csv(outcomes: Iterable[Decision]) -> str:
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


def read_matches(path: Path, *, mentoring: bool = True, coaching: bool = True) -> list[Match]:
    """matches.csv as written by ``matches_csv`` (e.g. ``match --previous OLD/matches.csv``).

    A programme without mentoring (coaching) writes a blank mentor_id (coach_id); one with it
    never does, so there a blank is a damaged file."""
    table = read_own_csv(path, MATCH_COLUMNS)
    problems: list[Problem] = []
    matches = []
    required = ["participant_id", "cohort_id"]
    required += ["mentor_id"] if mentoring else []
    required += ["coach_id"] if coaching else []
    for index, row in enumerate(table.rows):
        found = len(problems)
        for column in required:
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
    from cohort_solver.stages.schedule.explain import why_changed

    return why_changed(scenario, old, new)


def json_position(text: str, keys: Sequence[str | int]) -> tuple[int, int]:
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
    stack: list[list[Any]] = []  # [kind, path, key or index, expecting a key]
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
