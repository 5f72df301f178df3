"""What each stage the scenario asks for needs, checked before anything is solved.

A stage whose files are all absent is skipped (no mentors.csv: no mentoring); a stage the
scenario does ask for, but without what it needs, is bad input here rather than an empty or
placeholder result later (a competitive selection without scores would select nobody)."""

from __future__ import annotations

from cohort_solver.domain.scenario import Session, Settings
from cohort_solver.stages.load.tables import TOML, Collector, Table

OPEN_INSTEAD = (
    'or set [selection] mode = "open" (every eligible applicant up to the places, by lottery) '
    'or "mandatory" (every eligible person takes a place)'
)


def check_stage_inputs(
    settings: Settings | None,
    tables: dict[str, Table | None],
    sessions: list[tuple[int, Session]],
    out: Collector,
) -> None:
    """A competitive selection needs scores; a coaching session needs coaches.csv."""
    where = tables["scores"]
    no_rows = where is None or (not where.numbers and not where.broken)
    if settings is not None and settings.selection.mode == "competitive" and no_rows:
        out.add(
            where.file if where else "scores.csv",
            1,
            1,
            "a competitive selection needs the panel's scores: add scores.csv "
            f"(applicant_id, panelist, score) {OPEN_INSTEAD} in {TOML}",
        )
    programme = tables["programme"]
    if programme is None or tables["coaches"] is not None:
        return
    for row, session in sessions:
        if session.kind == "coaching":
            out.add(
                programme.file,
                row,
                programme.column("kind"),
                f"session {session.session_key!r} is coaching, but the programme has no "
                "coaches.csv: add coaches.csv, or remove the session if there is no coaching",
            )
