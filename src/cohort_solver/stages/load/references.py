"""Checks across files: ids one file uses must exist in another, and id namespaces stay apart."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter, itemgetter

from cohort_solver.domain.scenario import (
    Applicant,
    CareerOutcome,
    Coach,
    Conflict,
    Mentor,
    Person,
    Scenario,
    Score,
    Session,
    Settings,
    Unavailability,
    Venue,
    id_key,
)
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.load.tables import Collector, Table


def check_outcomes(
    settings: Settings | None,
    tables: dict[str, Table | None],
    outcomes: list[tuple[int, CareerOutcome]],
    unread: set[str],
    out: Collector,
) -> None:
    """outcomes.csv names applicants in the scenario's outcome words, no outcome predates the
    programme, and a participant's rows agree on whether they completed it."""
    table, applicants = tables["outcomes"], tables["applicants"]
    if table is None:
        return
    known = _Ids(
        None
        if "applicants" in unread
        else {ident for ident in applicants.values("applicant_id") if ident}
        if applicants
        else set()
    )
    start = settings.programme.start if settings else None
    words = settings.impact.words() if settings else None
    completed: dict[str, tuple[int, bool]] = {}
    for row, outcome in outcomes:
        if outcome.participant_id not in known:
            out.add(
                table.file,
                row,
                table.column("participant_id"),
                f"participant_id: {outcome.participant_id!r} is not an applicant in applicants.csv",
            )
        if words is not None and outcome.outcome not in words:
            out.add(
                table.file,
                row,
                table.column("outcome"),
                f"outcome: {outcome.outcome!r} is not one of {', '.join(words)}"
                " (the outcome words are set in [impact] positive and other)",
            )
        if start and outcome.outcome_date and outcome.outcome_date < start:
            out.add(
                table.file,
                row,
                table.column("outcome_date"),
                f"outcome_date {outcome.outcome_date} is before the programme started ({start})",
            )
        _check_completed_agrees(table, row, outcome, completed, out)


def _check_completed_agrees(
    table: Table,
    row: int,
    outcome: CareerOutcome,
    seen: dict[str, tuple[int, bool]],
    out: Collector,
) -> None:
    """A participant completed the programme or did not: two rows may not say both."""
    if outcome.completed is None:
        return
    first = seen.setdefault(outcome.participant_id, (row, outcome.completed))
    if first[1] != outcome.completed:
        said = "yes" if first[1] else "no"
        out.add(
            table.file,
            row,
            table.column("completed"),
            f"completed: {outcome.participant_id!r} has completed = {said} on row {first[0]}",
        )


def check_session_attendees(
    scenario: Scenario, table: Table | None, applicants: list[tuple[int, Applicant]]
) -> None:
    """Sessions held with someone's line manager or head of service need that person for
    every eligible applicant.

    A review is held with the participant's line manager (the contract), as is any session
    whose ``with`` names ``line_manager``; without one the review would be booked with nobody
    to review. Found here rather than when the calendar is built, so the coordinator fixes the
    files before a long solve. Only eligible applicants are checked: only they can be
    selected, now or as a replacement.
    """
    if table is None:
        return
    with_manager = [
        s.session_key for s in scenario.programme if s.kind == "review" or "line_manager" in s.with_
    ]
    with_head = [s.session_key for s in scenario.programme if "head_of_service" in s.with_]
    heads = {(p.council, p.service_area) for p in scenario.people if p.role == "head_of_service"}
    people = scenario.applicants
    # The usual case, found without a loop in Python per applicant: skip the work below.
    if (not with_head or heads.issuperset(map(attrgetter("council", "service_area"), people))) and (
        not with_manager or all(map(attrgetter("line_manager_id"), people))
    ):
        return
    no_head = [a for a in people if with_head and a.area not in heads]
    no_manager = [a for a in people if with_manager and not a.line_manager_id]
    from cohort_solver.stages.allocate.eligibility import candidates

    eligible = {c.id for c in candidates(scenario) if c.eligible}
    rows = {a.applicant_id: row for row, a in applicants}
    problems = [
        Problem(
            table.file,
            rows[a.applicant_id],
            table.column("service_area"),
            f"{a.applicant_id} is eligible and session {', '.join(with_head)} is held with their "
            f"head of service, but people.csv has no head_of_service for council "
            f"{a.council!r}, service area {a.service_area!r}: add that person to people.csv "
            "(role head_of_service, same council and service_area)",
        )
        for a in no_head
        if a.applicant_id in eligible
    ]
    missing = [a for a in no_manager if a.applicant_id in eligible]
    sessions = ", ".join(with_manager)
    if missing and "line_manager_id" not in table.positions:
        problems.append(
            Problem(
                table.file,
                1,
                len(table.positions) + 1,
                f"column 'line_manager_id' is missing: session {sessions} is held with each "
                "participant's line manager",
            )
        )
    elif missing:
        problems.extend(
            Problem(
                table.file,
                rows[a.applicant_id],
                table.column("line_manager_id"),
                f"{a.applicant_id} is eligible and session {sessions} is held with their line "
                "manager, but line_manager_id is blank: give their line manager's person id",
            )
            for a in missing
        )
    if problems:
        raise InputError(sorted(problems))


# Files whose ids name people (and venues). One id may stand for one person in people.csv and
# in one role file (a line manager who applies, a head of service who mentors, a coach who
# facilitates): then it is the same person, so the names and emails must agree. Any other
# shared id is a collision, refused: a venue and a person would share unavailability and
# calendar entries, and a mentor who is also the coach or a participant is not what the
# programme means.
ROLE_FILES = (
    ("applicants", "applicant_id", "an applicant"),
    ("mentors", "mentor_id", "a mentor"),
    ("coaches", "coach_id", "a coach"),
    ("people", "person_id", "a person in people.csv"),
    ("venues", "venue_id", "a venue"),
)


SAME_PERSON = {frozenset({"people", other}) for other in ("applicants", "mentors", "coaches")}


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_id_namespaces(tables: dict[str, Table | None], out: Collector) -> None:
    """Ids that collide across files (see ROLE_FILES), or nearly collide (Unicode forms)."""
    first: dict[str, tuple[str, int]] = {}  # folded id -> (file stem, row index) defining it
    for stem, column, _ in ROLE_FILES:
        table = tables[stem]
        if table is None:
            continue
        for index, earlier in _defined(first, stem, table.values(column)):
            message = _collision(tables, stem, column, index, *earlier)
            if message:
                out.add(table.file, table.numbers[index], table.column(column), message)


def _defined(
    first: dict[str, tuple[str, int]], stem: str, ids: list[str]
) -> list[tuple[int, tuple[str, int]]]:
    """Adds the ids of one file to ``first`` (folded id -> where it is first defined), and
    gives each id some other file defined first, as (row index here, (that file, row index)).
    Only the first row of an id counts: a duplicate inside the file is reported with it."""
    if "".join(ids).isascii():  # then id_key changes nothing: sets, not a loop per id
        here = dict(zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True))
        here.pop("", None)
        clashes = sorted((here.pop(key), first[key]) for key in here.keys() & first.keys())
        where = zip(repeat(stem, len(here)), here.values(), strict=True)
        first.update(zip(here, where, strict=True))
        return clashes
    found = []
    mine: set[str] = set()
    for index, ident in enumerate(ids):
        key = id_key(ident)
        if not ident or key in mine:
            continue  # blank, or a duplicate inside the file
        mine.add(key)
        earlier = first.setdefault(key, (stem, index))
        if earlier[0] != stem:
            found.append((index, earlier))
    return found


def _collision(
    tables: dict[str, Table | None], stem: str, column: str, index: int, other: str, at: int
) -> str:
    """Why an id of ``stem`` (row index ``index``) may not also be the id in ``other``."""
    roles = {stem: role for stem, _, role in ROLE_FILES}
    ids = {stem: column for stem, column, _ in ROLE_FILES}
    table, earlier = tables[stem], tables[other]
    assert table is not None and earlier is not None
    ident, other_id = table.cell(index, column), earlier.cell(at, ids[other])
    where = f"{earlier.file} row {earlier.numbers[at]}"
    if other_id != ident:
        return (
            f"{column} {ident!r} is the same as {other_id!r} ({where}) once full-width "
            "letters, ligatures and special spaces are folded: use one spelling"
        )
    if frozenset({stem, other}) not in SAME_PERSON:
        return (
            f"{column} {ident!r} is already the id of {roles[other]} ({where}): "
            f"{roles[stem]} needs an id of its own"
        )
    for part in ("name", "email"):
        mine, theirs = table.cell(index, part), earlier.cell(at, part)
        if mine and theirs and _folded(mine) != _folded(theirs):
            return (
                f"{column} {ident!r} is also {roles[other]} ({where}), but the {part} "
                f"differs ({theirs!r} there): one id is one person, so make "
                "them match or give them different ids"
            )
    return ""


class _Ids:
    """The ids a file defines. A file that exists but could not be read counts as holding
    every id, so its one problem is not repeated as an 'unknown id' at every reference."""

    def __init__(self, ids: set[str] | None):
        self.ids = ids

    def __contains__(self, ident: object) -> bool:
        return self.ids is None or ident in self.ids

    def __or__(self, other: _Ids) -> _Ids:
        return _Ids(None if self.ids is None or other.ids is None else self.ids | other.ids)


def check_references(
    settings: Settings | None,
    tables: dict[str, Table | None],
    applicants: list[tuple[int, Applicant]],
    scores: list[tuple[int, Score]],
    mentors: list[tuple[int, Mentor]],
    coaches: list[tuple[int, Coach]],
    sessions: list[tuple[int, Session]],
    people: list[tuple[int, Person]],
    venues: list[tuple[int, Venue]],
    unavailability: list[tuple[int, Unavailability]],
    conflicts: list[tuple[int, Conflict]],
    unread: set[str],
    out: Collector,
) -> None:
    """Ids that one file uses must exist in another."""

    def at(stem: str, row: int, column: str, message: str) -> None:
        table = tables[stem]
        assert table is not None
        out.add(table.file, row, table.column(column), message)

    def ids(stem: str, column: str) -> _Ids:
        # From the raw cells, so a row rejected for another reason still counts as existing.
        table = tables[stem]
        if stem in unread:
            return _Ids(None)
        return _Ids(set(table.values(column)) - {""} if table else set())

    applicant_ids = ids("applicants", "applicant_id")
    person_ids = ids("people", "person_id")
    everyone = applicant_ids | person_ids | ids("mentors", "mentor_id") | ids("coaches", "coach_id")
    venue_ids = ids("venues", "venue_id")
    _check_scores(scores, applicant_ids, at)
    _check_line_managers(tables["applicants"], applicants, everyone, out)
    _check_sessions(settings, sessions, person_ids, at)
    _check_unavailability(unavailability, everyone | venue_ids, at)
    for row, conflict in conflicts:
        for column in ("person_a", "person_b"):
            who = getattr(conflict, column)
            if who not in everyone:
                at("conflicts", row, column, f"{column}: unknown person {who!r}")


At = Callable[[str, int, str, str], None]


def _check_line_managers(
    table: Table | None, applicants: list[tuple[int, Applicant]], everyone: _Ids, out: Collector
) -> None:
    """A warning for each line manager whose id no file of people defines."""
    managers = map(attrgetter("line_manager_id"), map(itemgetter(1), applicants))
    if everyone.ids is None or everyone.ids.issuperset(filter(None, managers)):
        return  # the usual file: found without a loop in Python per row
    for row, applicant in applicants:
        if applicant.line_manager_id and applicant.line_manager_id not in everyone:
            assert table is not None
            out.warnings.append(
                f"{table.file}:{row}:{table.column('line_manager_id')}: "
                f"line manager {applicant.line_manager_id!r} is not in people.csv"
            )


def _check_unavailability(
    unavailability: list[tuple[int, Unavailability]], known: _Ids, at: At
) -> None:
    for row, item in unavailability:
        if item.id not in known:
            at("unavailability", row, "id", f"unknown person or venue {item.id!r}")
        if item.end < item.start:
            at("unavailability", row, "end", "end is before start")
        elif item.end == item.start:
            at("unavailability", row, "end", "end is the same moment as start: nothing is blocked")


def _check_scores(scores: list[tuple[int, Score]], applicant_ids: _Ids, at: At) -> None:
    """A score is for a known applicant, by a panelist who is not one, given once."""
    known = applicant_ids.ids  # None: every id counts as known (see _Ids)
    keys = list(
        map(attrgetter("applicant_id", "panelist", "criterion"), map(itemgetter(1), scores))
    )
    if len(set(keys)) == len(keys) and (
        known is None
        or (
            known.issuperset(map(itemgetter(0), keys))
            and known.isdisjoint(map(itemgetter(1), keys))
        )
    ):
        return  # the usual file: nothing to report, found without a loop in Python per row
    seen_scores: dict[tuple[str, str, str | None], int] = {}
    panel_applicants: set[str] = set()
    for row, score in scores:
        if known is not None and score.applicant_id not in known:
            at("scores", row, "applicant_id", f"score for unknown applicant {score.applicant_id!r}")
        if score.panelist in (known or ()) and score.panelist not in panel_applicants:
            panel_applicants.add(score.panelist)
            at(
                "scores",
                row,
                "panelist",
                f"panelist {score.panelist!r} has the id of an applicant: an applicant cannot "
                "sit on the panel, and a panelist needs an id of their own",
            )
        key = (score.applicant_id, score.panelist, score.criterion)
        if key in seen_scores:
            at(
                "scores",
                row,
                "score",
                f"panelist {score.panelist!r} scored {score.applicant_id!r}"
                + (f" on {score.criterion!r}" if score.criterion else "")
                + f" twice (also row {seen_scores[key]})",
            )
        else:
            seen_scores[key] = row


def _check_sessions(
    settings: Settings | None, sessions: list[tuple[int, Session]], person_ids: _Ids, at: At
) -> None:
    """Durations fit the slots and the day; facilitators, attendees and ``after`` exist."""
    keys = {s.session_key: s for _, s in sessions}
    slot = settings.calendar.slot_minutes if settings else 0
    duration_limit = _day_minutes(settings) if settings else 24 * 60
    for row, session in sessions:
        if slot and session.duration_minutes % slot:
            at(
                "programme",
                row,
                "duration_minutes",
                f"duration {session.duration_minutes} is not a multiple of slot_minutes={slot}",
            )
        if session.facilitator and session.facilitator not in person_ids:
            at(
                "programme",
                row,
                "facilitator",
                f"facilitator {session.facilitator!r} is not in people.csv",
            )
        for who in session.with_:
            if who not in ("line_manager", "head_of_service") and who not in person_ids:
                at(
                    "programme",
                    row,
                    "with",
                    f"with: {who!r} is not line_manager, head_of_service or a person in people.csv",
                )
        if session.after is not None:
            problem = _after_problem(session, keys)
            if problem:
                at("programme", row, "after", problem)
        if session.duration_minutes > duration_limit:
            at(
                "programme",
                row,
                "duration_minutes",
                f"{session.duration_minutes} minutes does not fit in a {duration_limit}-minute working day",
            )


def _after_problem(session: Session, keys: dict[str, Session]) -> str | None:
    after = session.after
    if after not in keys:
        return f"after: unknown session {after!r}"
    if after == session.session_key:
        return "a session cannot come after itself"
    if keys[after].month > session.month:
        return (
            f"after {after!r} (month {keys[after].month}) but this session is in month "
            f"{session.month}"
        )
    return None


def _day_minutes(settings: Settings) -> int:
    c = settings.calendar
    return (c.day_end.hour * 60 + c.day_end.minute) - (c.day_start.hour * 60 + c.day_start.minute)
