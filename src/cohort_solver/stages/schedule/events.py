"""The events to place: every session of the programme, once per cohort or per participant.

Group sessions and cohort events are held once per cohort, in a venue; coaching and reviews
once per participant, online. Who attends follows the contract:

- group session, cohort event: the cohort's participants and the facilitator, and per `with`
  entry the participants' line managers, their heads of service, or the named person ids;
- coaching: the participant and their matched coach, plus any `with` people;
- review: the participant and their line manager, plus any `with` people (``with = P1;P2``
  adds those people, who are then never double-booked either).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import Applicant, Scenario, Session
from cohort_solver.stages.schedule.grid import Grid


@dataclass(frozen=True, slots=True)
class Demand:
    """One event to place: a session for a cohort, or for one participant of it."""

    index: int  # canonical order: (month, session_key, cohort, participant)
    event_id: str
    session: Session
    cohort_id: str
    participant_id: str | None
    attendees: tuple[str, ...]  # sorted person ids
    members: tuple[str, ...]  # the participants attending, sorted
    coach_id: str | None
    venues: tuple[str, ...]  # candidate venues, sorted (empty = online)
    needs_venue: bool
    seats: int
    length: int  # in slots

    @property
    def kind(self) -> str:
        return self.session.kind

    @property
    def month(self) -> int:
        return self.session.month

    @property
    def key(self) -> str:
        return self.session.session_key

    @property
    def whole_cohort(self) -> bool:
        """Group sessions and cohort events: the whole cohort meets, in a venue."""
        return not self.session.per_participant


def heads_of_service(scenario: Scenario) -> dict[tuple[str, str], str]:
    """(council, service area) -> head of service: the lowest person_id with that role."""
    heads: dict[tuple[str, str], str] = {}
    for p in sorted(scenario.people, key=lambda p: p.person_id):
        if p.role == "head_of_service":
            heads.setdefault((p.council, p.service_area), p.person_id)
    return heads


def build_demands(
    scenario: Scenario, grid: Grid, selected: Sequence[Decision], matches: Sequence[Match]
) -> tuple[list[Demand], list[str]]:
    """Every event the programme needs, in canonical order, and what makes any impossible
    (a participant without a coach, a head of service that does not exist)."""
    applicants = {a.applicant_id: a for a in scenario.applicants}
    coach = {m.participant_id: m.coach_id for m in matches}
    heads = heads_of_service(scenario)
    members: dict[str, list[str]] = defaultdict(list)
    for o in selected:
        if o.cohort_id:
            members[o.cohort_id].append(o.applicant_id)
    causes: list[str] = []

    def named(session: Session, pid: str) -> list[str]:
        return _named(session, applicants[pid], heads, causes)

    venues_of = _venues_of(scenario)
    demands: list[Demand] = []
    for session in sorted(scenario.programme, key=lambda s: (s.month, s.session_key)):
        length = grid.slots(session.duration_minutes)
        for cohort_id in sorted(members):
            cohort = sorted(members[cohort_id])
            if not session.per_participant:
                people = set(cohort) | ({session.facilitator} if session.facilitator else set())
                for pid in cohort:
                    people.update(named(session, pid))
                attendees = tuple(sorted(people))
                venues = (
                    ()  # online: no room to book
                    if session.online
                    else tuple(v for v, seats in venues_of(cohort_id) if seats >= len(attendees))
                )
                demands.append(
                    Demand(
                        len(demands),
                        f"{cohort_id}/{session.session_key}",
                        session,
                        cohort_id,
                        None,
                        attendees,
                        tuple(cohort),
                        None,
                        venues,
                        not session.online,
                        len(attendees),
                        length,
                    )
                )
                continue
            for pid in cohort:
                people = {pid, *named(session, pid)}
                manager = applicants[pid].line_manager_id
                if session.kind == "review" and manager:
                    people.add(manager)
                # A blank coach_id is a programme without coaching: no coach to invite.
                coach_id = (coach.get(pid) or None) if session.kind == "coaching" else None
                if session.kind == "coaching":
                    if coach_id is None:
                        causes.append(f"{pid}: no coach matched for {session.session_key}")
                        continue
                    people.add(coach_id)
                attendees = tuple(sorted(people))
                demands.append(
                    Demand(
                        len(demands),
                        f"{cohort_id}/{session.session_key}/{pid}",
                        session,
                        cohort_id,
                        pid,
                        attendees,
                        (pid,),
                        coach_id,
                        (),
                        False,
                        len(attendees),
                        length,
                    )
                )
    return demands, sorted(set(causes))


def _named(
    session: Session, applicant: Applicant, heads: Mapping[tuple[str, str], str], causes: list[str]
) -> list[str]:
    """The people a session names (``with``) for one participant: their line manager, their
    head of service (a cause when people.csv has none), or named people as they are."""
    out = []
    for who in session.with_:
        if who == "line_manager":
            out += [applicant.line_manager_id] if applicant.line_manager_id else []
        elif who == "head_of_service":
            head = heads.get(applicant.area)
            if head is None:
                causes.append(
                    f"{applicant.applicant_id}: {session.session_key} needs their head of "
                    f"service, but people.csv has no head_of_service for {applicant.council}, "
                    f"{applicant.service_area}"
                )
            else:
                out.append(head)
        else:
            out.append(who)
    return out


def _venues_of(scenario: Scenario) -> Callable[[str], list[tuple[str, int]]]:
    """cohort id -> the venues it may use, with their seats (venue_id order)."""
    councils = {c.id: c.councils for c in scenario.cohorts}
    venues = sorted(scenario.venues, key=lambda v: v.venue_id)

    def of(cohort_id: str) -> list[tuple[str, int]]:
        allowed = councils.get(cohort_id)
        return [
            (v.venue_id, v.capacity)
            for v in venues
            if not v.council or allowed is None or v.council in allowed
        ]

    return of
