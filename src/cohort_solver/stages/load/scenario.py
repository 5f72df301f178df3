"""Loading a whole scenario folder: every file read, checked and cross-checked at once."""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from cohort_solver.domain.scenario import (
    Applicant,
    CareerOutcome,
    Coach,
    Conflict,
    Mentor,
    Person,
    Run,
    Scenario,
    Score,
    Session,
    Settings,
    Unavailability,
    Venue,
)
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.load.build import ABSENT
from cohort_solver.stages.load.columns import (
    APPLICANT_COLUMNS,
    COACH_COLUMNS,
    CONFLICT_COLUMNS,
    MENTOR_COLUMNS,
    OUTCOME_COLUMNS,
    PERSON_COLUMNS,
    RUN_COLUMNS,
    SCORE_COLUMNS,
    SESSION_COLUMNS,
    VENUE_COLUMNS,
    Column,
    grade_columns,
    group_columns,
    unavailability_columns,
)
from cohort_solver.stages.load.records import ReportAt, records
from cohort_solver.stages.load.references import (
    check_id_namespaces,
    check_outcomes,
    check_references,
    check_session_attendees,
)
from cohort_solver.stages.load.requirements import (
    check_fixed_times,
    check_runs,
    check_series_and_joint,
    check_session_tracks,
    check_stage_inputs,
)
from cohort_solver.stages.load.settings import load_settings, locate, toml_positions
from cohort_solver.stages.load.tables import TOML, Collector, Table, read_table

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
    "runs",
)


def load_scenario(folder: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load and cross-check a scenario folder. Raises InputError listing every problem."""
    # Loading makes a few objects per cell and frees none of them until it ends, so the cyclic
    # garbage collector would only walk them again and again (a third of the time at 100,000
    # applicants). Reference counting still frees everything as usual.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(Path(folder), overrides)
    finally:
        if collecting:
            gc.enable()


def _load(folder: Path, overrides: Sequence[str]) -> Scenario:
    out = Collector()
    if not folder.is_dir():
        raise InputError([Problem(str(folder), 1, 1, "scenario folder not found")])
    settings, toml_bytes = load_settings(folder, overrides, out)
    tables = {stem: read_table(folder, stem, out, required=stem == "applicants") for stem in STEMS}
    # Without valid settings the tables are still checked, so every problem is reported at once;
    # only the checks that depend on settings (group columns, cohort ids, slots) are skipped.
    groups = _group_columns(settings)
    cohort_ids = [c.id for c in settings.cohort_list()] if settings else None
    track_ids = [t.id for t in settings.tracks] if settings else None
    zone: tzinfo = ZoneInfo(settings.programme.timezone) if settings else UTC

    def applicant_extra(values: dict[str, list[Any]], problem: ReportAt) -> None:
        columns = [values.pop(f"groups.{g}", None) for g in groups]
        rows = len(next(iter(values.values()), ()))
        declared = [
            [False if v is ABSENT else v for v in column] if column else [False] * rows
            for column in columns
        ]
        # map, not a comprehension: the 100,000 rows stay in C.
        values["groups"] = list(
            map(dict, map(zip, repeat(groups), zip(*declared, strict=True)))
        ) or [{} for _ in range(rows)]
        _check_ids(values, "tracks", track_ids, problem, _unknown_track)
        _check_ids(values, "cohorts", cohort_ids, problem, _unknown_cohort)

    def rows(
        stem: str, model: type[BaseModel], columns: dict[str, Column], **kw: Any
    ) -> list[tuple[int, Any]]:
        table = tables[stem]
        return records(table, model, columns, out, **kw) if table else []

    grades = grade_columns(settings.grades if settings else None)
    applicants = rows(
        "applicants",
        Applicant,
        APPLICANT_COLUMNS | group_columns(groups) | grades,
        extra=applicant_extra,
    )
    _check_ring_fence_columns(settings, tables["applicants"], groups, out)
    scores = rows("scores", Score, SCORE_COLUMNS)
    mentors = rows("mentors", Mentor, MENTOR_COLUMNS | grades)
    coaches = rows("coaches", Coach, COACH_COLUMNS)
    # A recurring row stands for one session per month of its series (its own row number).
    sessions = [
        (row, s)
        for row, row_session in rows("programme", Session, SESSION_COLUMNS)
        for s in row_session.occurrences()
    ]
    people = rows("people", Person, PERSON_COLUMNS)
    venues = rows("venues", Venue, VENUE_COLUMNS)
    unavailability = rows("unavailability", Unavailability, unavailability_columns(zone))
    conflicts = rows("conflicts", Conflict, CONFLICT_COLUMNS)
    outcomes = rows("outcomes", CareerOutcome, OUTCOME_COLUMNS)
    runs = rows("runs", Run, RUN_COLUMNS)
    if settings is not None:
        out.warnings.extend(
            positive_action_warnings(settings, toml_positions(toml_bytes.decode("utf-8-sig")))
        )

    unread = {
        stem
        for stem in STEMS
        if tables[stem] is None
        and any(os.path.lexists(folder / f"{stem}{ext}") for ext in (".csv", ".xlsx"))
    }
    if tables["applicants"] is None:
        unread.add("applicants")  # required: its absence is reported once, not per reference
    check_id_namespaces(tables, out)
    check_references(
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
    check_outcomes(settings, tables, outcomes, unread, out)
    check_stage_inputs(settings, tables, sessions, out)
    check_fixed_times(settings, tables["programme"], sessions, out)
    check_series_and_joint(settings, tables["programme"], sessions, out)
    check_runs(settings, tables, sessions, runs, venues, out)
    check_session_tracks(settings, tables["programme"], sessions, out)
    out.raise_if_any()
    assert settings is not None  # a settings problem would have been raised just above

    digest = _digest(toml_bytes, tables, overrides, None)
    stage_digests = {
        stage: digest if stems is None else _digest(toml_bytes, tables, overrides, stems)
        for stage, stems in STAGE_INPUTS.items()
    }

    def just(records: list[tuple[int, Any]]) -> tuple[Any, ...]:
        return tuple(map(itemgetter(1), records))

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
        runs=just(runs),
        checksum=digest,
        stage_checksums=stage_digests,
        warnings=tuple(out.warnings),
    )
    # Last, as its own InputError: eligibility needs scores and settings that have passed checks.
    check_session_attendees(scenario, tables["applicants"], applicants)
    return scenario


def _check_ids(
    values: dict[str, list[Any]],
    column: str,
    known: Sequence[str] | None,
    problem: ReportAt,
    message: Callable[[str, Sequence[str]], str],
) -> None:
    """Every id listed in an applicant's cohorts (tracks) cell is a cohort (track) of the toml."""
    if known is None:
        return
    for position, listed in enumerate(values.get(column, ())):
        for name in () if listed is ABSENT else listed:
            if name not in known:
                problem(position, column, message(name, known))


def _unknown_cohort(cohort: str, cohort_ids: Sequence[str]) -> str:
    return f"cohorts: unknown cohort {cohort!r} (the cohorts are {', '.join(cohort_ids)})"


def _unknown_track(track: str, track_ids: Sequence[str]) -> str:
    if not track_ids:
        return (
            f"tracks: {track!r}, but {TOML} has no [[tracks]]: declare the tracks, or leave "
            "the cell blank"
        )
    return f"tracks: unknown track {track!r} (the tracks are {', '.join(track_ids)})"


def _check_ring_fence_columns(
    settings: Settings | None, table: Table | None, groups: list[str], out: Collector
) -> None:
    """A group a ring fence counts needs its column in applicants.csv."""
    if settings is None or table is None:
        return
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


def _group_columns(settings: Settings | None) -> list[str]:
    """The protected-characteristic columns a ring fence or the evidence profile names."""
    if settings is None:
        return []
    named = [g for rf in settings.selection.ring_fence for g in rf.groups]
    if settings.positive_action:
        named += list(settings.positive_action.profile)
    return [g for g in dict.fromkeys(named) if g not in APPLICANT_COLUMNS]


# The files each stage reads, so a stage's earlier output stays valid while they are unchanged
# (scenario.toml and every --set count for every stage). The calendar reads them all.
STAGE_INPUTS: dict[str, tuple[str, ...] | None] = {
    "allocation": ("applicants", "scores"),
    "matching": ("applicants", "scores", "mentors", "coaches", "people", "conflicts"),
    "calendar": None,
}


def _digest(
    toml_bytes: bytes, tables: dict[str, Any], overrides: Sequence[str], stems: Sequence[str] | None
) -> str:
    """sha256 over scenario.toml, the named tables (None: every table) and the overrides."""
    digest = hashlib.sha256(toml_bytes)
    for stem, read in sorted(tables.items()):
        if read is not None and (stems is None or stem in stems):
            digest.update(f"\0{read.file}\0".encode())
            digest.update(read.raw)
    for override in overrides:
        digest.update(f"\0--set\0{override}".encode())
    return digest.hexdigest()


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
        row, column = locate(positions, ("selection", "ring_fence", index, "groups"))
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
