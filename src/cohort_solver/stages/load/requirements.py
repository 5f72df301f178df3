"""What each stage the scenario asks for needs, checked before anything is solved.

A stage whose files are all absent is skipped (no mentors.csv: no mentoring); a stage the
scenario does ask for, but without what it needs, is bad input here rather than an empty or
placeholder result later (a competitive selection without scores would select nobody)."""

from __future__ import annotations

from cohort_solver.domain.programme_time import month_first_day, month_last_day
from cohort_solver.domain.scenario import ALL_COHORTS, Run, Session, Settings, Venue
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
    """A competitive selection needs scores; a coaching session needs coaches.csv, a mentoring
    session mentors.csv."""
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
    if programme is None:
        return
    for row, session in sessions:
        needs = {"coaching": "coaches", "mentoring": "mentors"}.get(session.kind)
        if needs and tables[needs] is None:
            out.add(
                programme.file,
                row,
                programme.column("kind"),
                f"session {session.session_key!r} is {session.kind}, but the programme has no "
                f"{needs}.csv: add {needs}.csv, or remove the session if there is no "
                f"{session.kind}",
            )


def check_series_and_joint(
    settings: Settings | None,
    table: Table | None,
    sessions: list[tuple[int, Session]],
    out: Collector,
) -> None:
    """A recurring session's occurrences (`forum-1`, ...) are names no other row uses; a joint
    session names cohorts of the scenario; `after` links sessions of the same cohorts."""
    if settings is None or table is None:
        return
    rows: dict[str, set[int]] = {}
    for row, s in sessions:
        rows.setdefault(s.session_key, set()).add(row)
    recurring = {s.session_key for _, s in sessions if s.series is not None}
    for key, where in sorted(rows.items()):
        # (Two plain rows with one key are the key column's own problem, reported there.)
        if len(where) > 1 and key in recurring:
            out.add(
                table.file,
                max(where),
                table.column("session_key"),
                f"session {key!r} is also an occurrence of a recurring session (rows "
                f"{', '.join(map(str, sorted(where)))}): rename one of them",
            )
    known = {c.id for c in settings.cohort_list()}
    cohorts_of = {s.session_key: s.cohorts for _, s in sessions}
    for row, s in sessions:
        for cohort in sorted(set(s.cohorts) - known - {ALL_COHORTS}):
            out.add(
                table.file,
                row,
                table.column("cohorts"),
                f"cohorts: {cohort!r} is not a cohort of {TOML} (cohorts: "
                f"{', '.join(sorted(known))}, or all)",
            )
        if s.after in cohorts_of and cohorts_of[s.after] != s.cohorts:
            out.add(
                table.file,
                row,
                table.column("after"),
                f"after {s.after!r}: a session can only follow one held for the same cohorts "
                "(both per cohort, or both joint with the same cohorts column)",
            )


def check_fixed_times(
    settings: Settings | None,
    table: Table | None,
    sessions: list[tuple[int, Session]],
    out: Collector,
) -> None:
    """A fixed date lies in the session's programme month; a fixed start time is on the
    slot grid and the session ends within the working day."""
    if settings is None or table is None:
        return
    start = settings.programme.start
    calendar = settings.calendar
    opens = calendar.day_start.hour * 60 + calendar.day_start.minute
    closes = calendar.day_end.hour * 60 + calendar.day_end.minute
    for row, s in sessions:
        first, last = month_first_day(start, s.month), month_last_day(start, s.month)
        if s.fixed_date is not None and not first <= s.fixed_date <= last:
            out.add(
                table.file,
                row,
                table.column("date"),
                f"date {s.fixed_date} is not in programme month {s.month} "
                f"({first} to {last}): change the date or the month",
            )
        if s.fixed_time is None:
            continue
        at = s.fixed_time.hour * 60 + s.fixed_time.minute
        if s.fixed_time.second or (at - opens) % calendar.slot_minutes:
            out.add(
                table.file,
                row,
                table.column("start_time"),
                f"start_time {s.fixed_time:%H:%M} is not on the {calendar.slot_minutes}-minute "
                f"grid from {calendar.day_start:%H:%M}",
            )
        elif at < opens or at + s.duration_minutes > closes:
            out.add(
                table.file,
                row,
                table.column("start_time"),
                f"start_time {s.fixed_time:%H:%M} + {s.duration_minutes} minutes is outside "
                f"the working day ({calendar.day_start:%H:%M} to {calendar.day_end:%H:%M})",
            )


def check_session_tracks(
    settings: Settings | None,
    table: Table | None,
    sessions: list[tuple[int, Session]],
    out: Collector,
) -> None:
    """The track column names tracks of the toml, each holding the session's month; a session
    follows (`after`) one that every track holding it also holds; a joint session names
    cohorts of tracks that hold it."""
    if settings is None or table is None:
        return
    tracks = {t.id: t for t in settings.tracks}
    for row, s in sessions:
        for track_id in s.tracks:
            track = tracks.get(track_id)
            if track is None:
                out.add(table.file, row, table.column("track"), _unknown(track_id, list(tracks)))
            elif not track.holds_month(s.month) and track.months is not None:
                first, last = track.months
                out.add(
                    table.file,
                    row,
                    table.column("month"),
                    f"session {s.session_key!r} is in month {s.month}, outside track "
                    f"{track_id!r}'s months {first} to {last}",
                )
    if tracks:
        _check_track_links(settings, table, sessions, out)


def _unknown(track_id: str, ids: list[str]) -> str:
    if not ids:
        return (
            f"track {track_id!r}, but {TOML} has no [[tracks]]: declare the tracks, or leave "
            "the cell blank (every cohort holds the session)"
        )
    return f"track: unknown track {track_id!r} (the tracks are {', '.join(ids)})"


def _holds(settings: Settings, track_id: str, s: Session) -> bool:
    track = settings.track(track_id)
    return track.holds(s) if track is not None else not s.tracks or track_id in s.tracks


def _check_track_links(
    settings: Settings, table: Table, sessions: list[tuple[int, Session]], out: Collector
) -> None:
    by_key = {s.session_key: s for _, s in sessions}
    cohort_track = {c.id: c.track for c in settings.cohort_list()}
    tracks_by_id = {t.id: t for t in settings.tracks}
    for row, s in sessions:
        before = by_key.get(s.after or "")
        holding = [t.id for t in settings.tracks if _holds(settings, t.id, s)]
        missing = [t for t in holding if before is not None and not _holds(settings, t, before)]
        if before is not None and missing:
            out.add(
                table.file,
                row,
                table.column("after"),
                f"after {s.after!r}: track(s) {', '.join(missing)} hold {s.session_key!r} but "
                f"not {s.after!r}",
            )
        unmatched = [t for t in holding if not tracks_by_id[t].matching]
        if s.kind in ("coaching", "mentoring") and unmatched:
            out.add(
                table.file,
                row,
                table.column("track" if "track" in table.positions else "kind"),
                f"{s.kind} session {s.session_key!r} is held by track(s) "
                f"{', '.join(unmatched)}, which have matching = false (no mentor or coach): "
                "name the tracks that hold it in the track column",
            )
        for cohort in s.cohorts:
            track = cohort_track.get(cohort)
            if track is not None and track not in holding:
                out.add(
                    table.file,
                    row,
                    table.column("cohorts"),
                    f"cohorts: cohort {cohort!r} is in track {track!r}, which does not hold "
                    f"session {s.session_key!r}",
                )


def check_runs(
    settings: Settings | None,
    tables: dict[str, Table | None],
    sessions: list[tuple[int, Session]],
    runs: list[tuple[int, Run]],
    venues: list[tuple[int, Venue]],
    out: Collector,
) -> None:
    """runs.csv: each run belongs to a flexible session, once; it lies in that session's window,
    on the slot grid; an in-person session's run has a venue of venues.csv, an online one
    none; and every flexible session has at least one run."""
    programme, table = tables["programme"], tables["runs"]
    flexible = {s.session_key: s for _, s in sessions if s.kind == "flexible"}
    if table is not None:
        _check_run_rows(table, flexible, runs, {v.venue_id for _, v in venues}, out)
        as_sessions = [
            (row, flexible[r.session_key].model_copy(update=_run_fields(r)))
            for row, r in runs
            if r.session_key in flexible
        ]
        check_fixed_times(settings, table, as_sessions, out)
    with_runs = {r.session_key for _, r in runs}
    for row, s in sessions:
        if s.kind == "flexible" and s.session_key not in with_runs and programme is not None:
            out.add(
                programme.file,
                row,
                programme.column("kind"),
                f"flexible session {s.session_key!r} has no runs: add its runs to runs.csv "
                "(session_key, run, month, capacity)",
            )


def _run_fields(run: Run) -> dict[str, object]:
    return {"month": run.month, "fixed_date": run.fixed_date, "fixed_time": run.fixed_time}


def _check_run_rows(
    table: Table,
    flexible: dict[str, Session],
    runs: list[tuple[int, Run]],
    venue_ids: set[str],
    out: Collector,
) -> None:
    seen: dict[tuple[str, int], int] = {}
    for row, r in runs:
        session = flexible.get(r.session_key)
        if session is None:
            out.add(
                table.file,
                row,
                table.column("session_key"),
                f"session {r.session_key!r} is not a flexible session of programme.csv "
                "(kind = flexible)",
            )
            continue
        key = (r.session_key, r.run)
        if key in seen:
            out.add(
                table.file,
                row,
                table.column("run"),
                f"run {r.run} of {r.session_key} is also row {seen[key]}: number each run once",
            )
        seen.setdefault(key, row)
        first, last = session.run_window()
        if not first <= r.month <= last:
            out.add(
                table.file,
                row,
                table.column("month"),
                f"month {r.month} is outside {r.session_key}'s window, months {first} to {last} "
                "(programme.csv month and until)",
            )
        _check_run_venue(table, row, r, session, venue_ids, out)


def _check_run_venue(
    table: Table, row: int, r: Run, session: Session, venue_ids: set[str], out: Collector
) -> None:
    where = table.column("venue")
    if session.online and r.venue_id:
        out.add(
            table.file,
            row,
            where,
            f"{r.session_key} is online: its runs book no venue (leave venue blank)",
        )
    elif not session.online and not r.venue_id:
        out.add(
            table.file,
            row,
            where,
            f"{r.session_key} is in person: give run {r.run} a venue of venues.csv",
        )
    elif r.venue_id and r.venue_id not in venue_ids:
        out.add(table.file, row, where, f"venue {r.venue_id!r} is not in venues.csv")
