"""``notices.csv`` after a re-plan: one row per person affected, what changed for them in words.

changes.csv lists events; a coordinator writes to people. Each row gathers, for one person,
every event of theirs that moved, was cancelled or added, and every event they were taken off
or put on (a withdrawal changes who attends, not when), each as one plain sentence with the
new time and the reason the re-plan gives. Only names, roles, titles and times: no protected
data, no scores (the reasons name people by id, as changes.csv does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.export.files import csv_text
from cohort_solver.stages.export.ics import changed_events

NOTICE_COLUMNS = ("person_id", "name", "email", "role", "changes", "notice")


def _who(scenario: Scenario) -> dict[str, tuple[str, str, str]]:
    """Person id -> (name, e-mail, role), for everyone who can attend."""
    who: dict[str, tuple[str, str, str]] = {}
    for mentor in scenario.mentors:
        who[mentor.mentor_id] = (mentor.name, mentor.email, "mentor")
    for person in scenario.people:
        who[person.person_id] = (person.name, person.email, person.role or "attendee")
    for coach in scenario.coaches:
        who[coach.coach_id] = (coach.name, coach.email, "coach")
    for applicant in scenario.applicants:
        who[applicant.applicant_id] = (applicant.name, applicant.email, "participant")
    return who


def _attending(scenario: Scenario, event: Event | None) -> set[str]:
    if event is None:
        return set()
    ids = {a for a in event.attendee_ids if a}
    ids.update(
        s.facilitator
        for s in scenario.programme
        if s.session_key == event.session_key and s.facilitator
    )
    return ids


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}, {moment:%H:%M}"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _because(reason: str) -> str:
    return f" Reason: {reason}." if reason else ""


def _sentence(change: str, before: Event | None, after: Event | None, reason: str) -> str:
    if change == "moved" and before is not None and after is not None:
        return (
            f"Your {after.title} on {_day(before.start)} has moved to {_when(after.start)}."
            + _because(reason)
        )
    if change == "cancelled" and before is not None:
        return f"Your {before.title} on {_when(before.start)} is cancelled." + _because(reason)
    assert after is not None
    return f"New: {after.title} on {_when(after.start)}." + _because(reason)


def notices_csv(
    scenario: Scenario,
    old_events: Sequence[Event],
    new_events: Sequence[Event],
    reasons: Mapping[str, str] | None = None,
) -> str:
    """``notices.csv``: ``person_id, name, email, role, changes, notice``, one row per person
    whose calendar changed, in person-id order; ``notice`` is their sentences in time order."""
    reasons = reasons or {}
    said: dict[str, list[tuple[datetime, str]]] = {}

    def tell(person: str, at: datetime, sentence: str) -> None:
        said.setdefault(person, []).append((at, sentence))

    for event_id, change, before, after in changed_events(old_events, new_events):
        event = after or before
        assert event is not None
        sentence = _sentence(change, before, after, reasons.get(event_id, ""))
        for person in _attending(scenario, before) | _attending(scenario, after):
            tell(person, event.start, sentence)
    new = {e.event_id: e for e in new_events}
    for before in old_events:
        after = new.get(before.event_id)
        if after is None or (before.start, before.end, before.venue_id) != (
            after.start,
            after.end,
            after.venue_id,
        ):
            continue  # told above, with the move or the cancellation
        old_people, new_people = _attending(scenario, before), _attending(scenario, after)
        for person in old_people - new_people:
            tell(
                person,
                after.start,
                f"You are no longer down for {after.title} on {_when(after.start)}.",
            )
        for person in new_people - old_people:
            tell(
                person, after.start, f"You are now down for {after.title} on {_when(after.start)}."
            )
    who = _who(scenario)
    rows = []
    for person in sorted(said):
        name, email, role = who.get(person, (person, "", "attendee"))
        sentences = [text for _, text in sorted(said[person], key=lambda item: item[0])]
        rows.append((person, name or person, email, role, len(sentences), " ".join(sentences)))
    return csv_text(NOTICE_COLUMNS, rows)
