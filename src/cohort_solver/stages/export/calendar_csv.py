"""calendar.csv at the edge: writing it, and reading it back (a re-plan's ``--previous``,
``export``, ``explain EVENT_ID``) with every problem reported as ``calendar.csv:row:column``.

Both directions go through ``files.csv_text`` and ``files.read_csv_rows``, so whatever the project
does to every CSV it writes or reads (e.g. neutralising spreadsheet formulas) covers this one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from cohort_solver.domain.results import Event
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.export.files import csv_text, read_csv_rows

CALENDAR_COLUMNS = (
    "event_id",
    "session_key",
    "title",
    "kind",
    "cohort_id",
    "start",
    "end",
    "venue_id",
    "attendee_ids",
)
KINDS = (
    "group",
    "coaching",
    "review",
    "cohort_event",
    "mentoring",
    "action_learning",
    "flexible",
)


def calendar_csv(events: Sequence[Event]) -> str:
    """calendar.csv: one row per event, sorted by start then event_id."""
    rows = [
        (
            e.event_id,
            e.session_key,
            e.title,
            e.kind,
            e.cohort_id,
            e.start.isoformat(),
            e.end.isoformat(),
            e.venue_id or "",
            ";".join(sorted(e.attendee_ids)),
        )
        for e in sorted(events, key=lambda e: (e.start, e.event_id))
    ]
    return csv_text(CALENDAR_COLUMNS, rows)


def read_calendar_csv(path: str | Path) -> list[Event]:
    """Read a calendar.csv back; bad input (exit 2) lists every problem found."""
    path = Path(path)
    name = path.name
    rows = _rows(path, name)
    if not rows:
        return []
    header = {_column(k): k for k in rows[0]}
    where = {c: i + 1 for i, c in enumerate(_column(k) for k in rows[0])}
    missing = [c for c in CALENDAR_COLUMNS if c not in header]
    if missing:
        raise InputError(
            [Problem(name, 1, 1, f"missing column {c!r} (not a calendar.csv?)") for c in missing]
        )
    problems: list[Problem] = []
    events: list[Event] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows, start=2):
        row = {c: (raw[header[c]] or "").strip() for c in CALENDAR_COLUMNS}

        def bad(column: str, message: str, number: int = number) -> None:
            problems.append(Problem(name, number, where[column], message))

        event = _event(row, bad)
        if event is None:
            continue
        if event.event_id in seen:
            bad("event_id", f"event {event.event_id!r} is also on row {seen[event.event_id]}")
            continue
        seen[event.event_id] = number
        events.append(event)
    if problems:
        raise InputError(problems)
    return events


def _rows(path: Path, name: str) -> list[dict[str, str]]:
    import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the dev dependencies

    try:
        if path.stat().st_size == 0:
            raise InputError([Problem(name, 1, 1, "the file is empty: no header row")])
        return read_csv_rows(path)
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError([Problem(name, 1, 1, "not UTF-8 text")]) from None
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        row = int(found.group(1)) if found else 1
        raise InputError(
            [Problem(name, row, 1, f"not a well-formed CSV row ({str(exc).strip()})")]
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError([Problem(name, 1, 1, "the file is empty: no header row")]) from None
    except OSError as exc:
        raise InputError([Problem(name, 1, 1, f"cannot be read ({exc.strerror})")]) from None


def _column(text: str) -> str:
    return str(text).strip().lstrip("\ufeff").lower()


def _event(row: dict[str, str], bad: Callable[[str, str], None]) -> Event | None:
    ok = True
    for column in ("event_id", "session_key", "title", "cohort_id"):
        if not row[column]:
            bad(column, f"{column} is empty")
            ok = False
    if row["kind"] not in KINDS:
        bad("kind", f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
        ok = False
    times = {}
    for column in ("start", "end"):
        try:
            moment = datetime.fromisoformat(row[column])
        except ValueError:
            bad(column, f"{column} {row[column]!r} is not an ISO 8601 date and time")
            ok = False
            continue
        if moment.tzinfo is None:
            bad(column, f"{column} {row[column]!r} has no UTC offset (e.g. +01:00)")
            ok = False
            continue
        times[column] = moment
    if len(times) == 2 and times["end"] <= times["start"]:
        bad("end", "the event ends before it starts")
        ok = False
    attendees = tuple(a.strip() for a in row["attendee_ids"].split(";") if a.strip())
    if ok and not attendees:
        bad("attendee_ids", "nobody attends")
        ok = False
    if not ok:
        return None
    return Event(
        event_id=row["event_id"],
        session_key=row["session_key"],
        title=row["title"],
        kind=row["kind"],
        cohort_id=row["cohort_id"],
        start=times["start"],
        end=times["end"],
        venue_id=row["venue_id"] or None,
        attendee_ids=attendees,
    )
