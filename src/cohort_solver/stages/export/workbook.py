"""panel.xlsx: the panel's decisions in one workbook, one sheet per question they ask.

Written with openpyxl. Every text cell is neutralised as in our CSVs (a leading ``'`` before
``= + - @``, tab or carriage return) and stored as a string cell, so no cell is ever a formula;
dates and times are real Excel date-times (naive, in the programme's time zone, as Excel has
no zones). The header row is frozen and filtered, and columns are sized to their contents.
Protected characteristics appear only as the Representation sheet's suppressed counts; the
workbook is a panel file (0600), like allocation.csv.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from cohort_solver.domain.results import Allocation, Event, Feedback, Match
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.export.files import neutralise
from cohort_solver.stages.export.tables import FEEDBACK_COLUMNS
from cohort_solver.stages.report.panel_report import (
    STAGES,
    SUPPRESSED,
    representation,
    shown_cells,
)

Sheet = tuple[Sequence[str], list[list[Any]]]
DATE_FORMAT = "yyyy-mm-dd hh:mm"


def _name(people: Mapping[str, str], person_id: str) -> str:
    return people.get(person_id) or person_id


def decision_sheets(
    scenario: Scenario, allocation: Allocation, words: Mapping[str, str]
) -> dict[str, Sheet]:
    """Selected, Reserves (with whose place each would take), Not selected, Ineligible."""
    people = {a.applicant_id: a for a in scenario.applicants}
    replaces: dict[str, list[str]] = {}
    for o in allocation.selected():
        if o.replaced_by:
            replaces.setdefault(o.replaced_by, []).append(o.applicant_id)
    rows: dict[str, list[list[Any]]] = {k: [] for k in ("selected", "reserve", "not", "inel")}
    for o in allocation.outcomes:
        a = people[o.applicant_id]
        who = [o.applicant_id, a.name, a.email]
        if o.status == "selected":
            rows["selected"].append(
                [o.cohort_id, *who, a.council, a.service_area, o.score, o.replaced_by or ""]
            )
        elif o.status == "reserve":
            taking = ", ".join(replaces.get(o.applicant_id, []))
            rows["reserve"].append(
                [o.cohort_id, o.reserve_rank, *who, o.score, taking, words[o.applicant_id]]
            )
        elif o.status == "not_selected":
            rows["not"].append([*who, o.score, words[o.applicant_id]])
        else:
            rows["inel"].append([*who, words[o.applicant_id]])
    rows["selected"].sort(key=lambda r: (r[0] or "", -(r[6] or 0)))
    rows["reserve"].sort(key=lambda r: (r[0] or "", r[1]))
    who_columns = ["applicant_id", "name", "email"]
    return {
        "Selected": (
            ["cohort", *who_columns, "council", "service area", "score", "replaced by"],
            rows["selected"],
        ),
        "Reserves": (
            ["cohort", "rank", *who_columns, "score", "replaces", "why not selected"],
            rows["reserve"],
        ),
        "Not selected": ([*who_columns, "score", "why not selected"], rows["not"]),
        "Ineligible": ([*who_columns, "why not eligible"], rows["inel"]),
    }


def representation_sheet(scenario: Scenario, allocation: Allocation) -> Sheet:
    """The report's representation counts, with the same small-number suppression."""
    shown = shown_cells(scenario, allocation)
    rows = [
        [group, *((s[stage][0] if (group, stage) in shown else SUPPRESSED) for stage in STAGES)]
        for group, s in representation(scenario, allocation)
    ]
    return (["group", *STAGES], rows)


def matches_sheet(scenario: Scenario, matches: Sequence[Match]) -> Sheet:
    applicants = {a.applicant_id: a.name for a in scenario.applicants}
    mentors = {m.mentor_id: m.name for m in scenario.mentors}
    coaches = {c.coach_id: c.name for c in scenario.coaches}
    rows = [
        [
            m.cohort_id,
            _name(applicants, m.participant_id),
            _name(mentors, m.mentor_id),
            _name(coaches, m.coach_id),
            m.mentor_fit,
            m.coach_fit,
            m.participant_id,
            m.mentor_id,
            m.coach_id,
        ]
        for m in matches
    ]
    return (
        [
            "cohort",
            "participant",
            "mentor",
            "coach",
            "mentor fit",
            "coach fit",
            "participant_id",
            "mentor_id",
            "coach_id",
        ],
        rows,
    )


def calendar_sheet(scenario: Scenario, events: Sequence[Event]) -> Sheet:
    names = {a.applicant_id: a.name for a in scenario.applicants}
    names |= {m.mentor_id: m.name for m in scenario.mentors}
    names |= {c.coach_id: c.name for c in scenario.coaches}
    venues = {v.venue_id: v.name for v in scenario.venues}
    rows = [
        [
            e.start.replace(tzinfo=None),
            e.end.replace(tzinfo=None),
            e.cohort_id,
            e.title,
            str(e.kind),
            _name(venues, e.venue_id) if e.venue_id else "",
            ", ".join(_name(names, p) for p in e.attendee_ids),
            e.event_id,
        ]
        for e in sorted(events, key=lambda e: (e.start, e.event_id))
    ]
    return (["start", "end", "cohort", "title", "kind", "venue", "attending", "event_id"], rows)


def feedback_sheet(rows: Sequence[Feedback]) -> Sheet:
    """feedback.csv's rows: the paragraph each applicant can be sent."""
    return (FEEDBACK_COLUMNS, [[getattr(r, c) for c in FEEDBACK_COLUMNS] for r in rows])


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return neutralise(value)
    return float(value) if isinstance(value, Decimal) else value


def workbook_bytes(sheets: Mapping[str, Sheet]) -> bytes:
    """The workbook, the same bytes for the same sheets (openpyxl's timestamps pinned)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    fixed = datetime(2000, 1, 1)
    book.properties.created = book.properties.modified = fixed
    for title, (columns, rows) in sheets.items():
        sheet = book.create_sheet(title=title)
        for number, values in enumerate(_lines(columns, rows), start=1):
            line = [_cell(v) for v in values]
            sheet.append(line)
            # The row just written, by number: sheet.max_row scans every cell, once per row.
            for cell in next(sheet.iter_rows(min_row=number, max_row=number, max_col=len(line))):
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never "f", whatever the text looks like
                elif isinstance(cell.value, datetime):
                    cell.number_format = DATE_FORMAT
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(columns, start=1):
            longest = max(
                [len(column), *(len(_shown(r[index - 1])) for r in rows)], default=len(column)
            )
            sheet.column_dimensions[get_column_letter(index)].width = max(8, min(60, longest + 2))
    buffer = io.BytesIO()
    book.save(buffer)
    return _pinned(buffer.getvalue())


def _pinned(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01 and the workbook's "modified" pinned:
    openpyxl stamps the time of writing, and the same scenario must give the same bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":  # openpyxl sets "modified" on save
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", content
                )
            target.writestr(info, content)
    return out.getvalue()


def _lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    return [columns, *rows]


def _shown(value: Any) -> str:
    return DATE_FORMAT if isinstance(value, datetime) else str("" if value is None else value)
