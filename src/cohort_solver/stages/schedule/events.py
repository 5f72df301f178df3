"""The events to place: every session of the programme, once per cohort or per participant.

Group sessions and cohort events are held once per cohort, in a venue; coaching and reviews
once per participant, online. Who attends follows the contract:

- group session, cohort event: the cohort's participants and the facilitator, and per `with`
  entry the participants' line managers, their heads of service, or the named person ids;
- coaching: the participant and their matched coach, plus any `with` people;
- review: the participant and their line manager, plus any `with` people (``with = P1;P2``
  adds those people, who are then never double-booked either);
- mentoring: the participant and their matched mentor, plus any `with` people;
- flexible: none here; one event per run, ``runs/<key>/<run>``, from ``runs.py``;
- action learning: one event per set of the cohort (``<cohort>/<key>/set-<n>``, see
  ``learning_sets.py``) with the set's participants, the facilitator and their `with` people.

A joint session (the cohorts column: ``all`` or cohort ids) is one event, ``joint/<key>``, for
the participants of every cohort it joins, in a venue of any of them that seats everyone; its
cohort_id is ``joint:`` and those cohorts' ids joined by ``;`` (its own rhythm and group gap,
never one cohort's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import (
    ALL_COHORTS,
    Applicant,
    Scenario,
    Session,
    joint_cohort_id,
)
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
        """Group sessions and cohort events: the whole cohort meets, in a venue. (An action
        learning set is part of a cohort: it is placed with the one-to-one events.)"""
        return not self.session.per_participant and self.session.kind != "action_learning"


def heads_of_service(scenario: Scenario) -> dict[tuple[str, str], str]:
    """(council, service area) -> head of service: the lowest person_id with that role."""
    heads: dict[tuple[str, str], str] = {}
    for p in sorted(scenario.people, key=lambda p: p.person_id):
        if p.role == "head_of_service":
            heads.setdefault((p.council, p.service_area), p.person_id)
    return heads


def cohort_members(selected: Sequence[Decision]) -> dict[str, list[str]]:
    """cohort -> its participants, in allocation order."""
    members: dict[str, list[str]] = defaultdict(list)
    for o in selected:
        if o.cohort_id:
            members[o.cohort_id].append(o.applicant_id)
    return members


def build_demands(
    scenario: Scenario,
    grid: Grid,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    sets: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> tuple[list[Demand], list[str]]:
    """Every event the programme needs, in canonical order, and what makes any impossible
    (a participant without a coach or mentor, a head of service that does not exist).
    ``sets``: each cohort's action learning sets, one event per set and session."""
    members = cohort_members(selected)
    sets = sets or {}
    build = _Builder(scenario, grid, matches, members)
    track_of = scenario.cohort_tracks()
    for session in sorted(scenario.programme, key=lambda s: (s.month, s.session_key)):
        if session.kind == "flexible":
            continue  # its runs are placed by runs.py, before everything else
        # With tracks, each cohort holds its track's template: its rows and the common ones.
        holding = {
            c: m for c, m in members.items() if scenario.track_holds(track_of.get(c), session)
        }
        if session.kind == "action_learning":
            for cohort_id, groups in sorted(sets.items()):
                if cohort_id not in holding:
                    continue
                for n, group in enumerate(groups, start=1):
                    event_id = f"{cohort_id}/{session.session_key}/set-{n}"
                    build.whole(session, [cohort_id], event_id, cohort_id, group)
            continue
        if session.joint:
            joined = joint_cohorts(session, holding)
            if joined:
                build.whole(
                    session, joined, f"joint/{session.session_key}", joint_cohort_id(joined)
                )
            continue
        for cohort_id in sorted(holding):
            if not session.per_participant:
                build.whole(session, [cohort_id], f"{cohort_id}/{session.session_key}", cohort_id)
                continue
            for pid in sorted(members[cohort_id]):
                build.one_to_one(session, cohort_id, pid)
    return build.demands, sorted(set(build.causes))


class _Builder:
    """The demands so far, and the causes that make any impossible."""

    def __init__(
        self,
        scenario: Scenario,
        grid: Grid,
        matches: Sequence[Match],
        members: Mapping[str, Sequence[str]],
    ):
        self.grid, self.members = grid, members
        self.applicants = {a.applicant_id: a for a in scenario.applicants}
        self.partners = {
            "coaching": {m.participant_id: m.coach_id for m in matches},
            "mentoring": {m.participant_id: m.mentor_id for m in matches},
        }
        self.heads = heads_of_service(scenario)
        self.venues_of = _venues_of(scenario)
        self.demands: list[Demand] = []
        self.causes: list[str] = []

    def named(self, session: Session, pid: str) -> list[str]:
        return _named(session, self.applicants[pid], self.heads, self.causes)

    def whole(
        self,
        session: Session,
        cohort_ids: Sequence[str],
        event_id: str,
        cohort_id: str,
        only: Sequence[str] | None = None,
    ) -> None:
        """One group session or cohort event for these cohorts' participants together (or an
        action learning set: ``only`` those participants of the cohort)."""
        cohort = sorted(
            only if only is not None else (p for c in cohort_ids for p in self.members[c])
        )
        people = set(cohort) | ({session.facilitator} if session.facilitator else set())
        for pid in cohort:
            people.update(self.named(session, pid))
        attendees = tuple(sorted(people))
        seats = {v: n for c in cohort_ids for v, n in self.venues_of(c)}  # any cohort's venue
        venues = (
            ()  # online: no room to book
            if session.online
            else tuple(v for v in sorted(seats) if seats[v] >= len(attendees))
        )
        self.demands.append(
            Demand(
                len(self.demands),
                event_id,
                session,
                cohort_id,
                None,
                attendees,
                tuple(cohort),
                None,
                venues,
                not session.online,
                len(attendees),
                self.grid.slots(session.duration_minutes),
            )
        )

    def one_to_one(self, session: Session, cohort_id: str, pid: str) -> None:
        people = {pid, *self.named(session, pid)}
        manager = self.applicants[pid].line_manager_id
        if session.kind == "review" and manager:
            people.add(manager)
        # A blank coach_id (mentor_id) is a programme without coaching (mentoring).
        partner = self.partners.get(session.kind, {}).get(pid) or None
        if session.kind in self.partners:
            if partner is None:
                role = "coach" if session.kind == "coaching" else "mentor"
                self.causes.append(f"{pid}: no {role} matched for {session.session_key}")
                return
            people.add(partner)
        attendees = tuple(sorted(people))
        self.demands.append(
            Demand(
                len(self.demands),
                f"{cohort_id}/{session.session_key}/{pid}",
                session,
                cohort_id,
                pid,
                attendees,
                (pid,),
                partner if session.kind == "coaching" else None,
                (),
                False,
                len(attendees),
                self.grid.slots(session.duration_minutes),
            )
        )


def joint_cohorts(session: Session, members: Mapping[str, Sequence[str]]) -> list[str]:
    """The cohorts a joint session joins: every cohort with participants (``all``), or those
    it names that have any."""
    named = set(members) if ALL_COHORTS in session.cohorts else set(session.cohorts)
    return sorted(c for c in named if members.get(c))


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
