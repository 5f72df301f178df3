"""An independent checker for calendar.csv: plain Python, no solver.

One function per hard rule of the contract, each returning violation strings (empty = OK),
and the soft objective recomputed from the events alone. It imports only the domain (the
scenario model, the soft-goal weights and programme time), never the calendar stage, and the
stage imports nothing from here: a mistake on one side is not repeated on the other.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cohort_solver.domain.programme_time import (
    bank_holidays,
    month_bounds,
    weeks_of_month,
    working_minutes,
)
from cohort_solver.domain.results import Decision, Event, Match
from cohort_solver.domain.scenario import (
    LEARNING_SET_SIZES,
    Run,
    Scenario,
    Session,
    cohorts_in,
    flexible_participants,
    run_event_id,
)
from cohort_solver.domain.weights import CALENDAR_WEIGHTS

# Kept under this name for callers that report the soft goals (benchmarks, tests).
WEIGHTS = CALENDAR_WEIGHTS


def _local(scenario: Scenario, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(scenario.settings.programme.timezone)).replace(tzinfo=None)


def _sessions(scenario: Scenario) -> dict[str, Session]:
    return {s.session_key: s for s in scenario.programme}


def _track_of(scenario: Scenario) -> dict[str, str | None]:
    """cohort id -> its track (None without [[tracks]])."""
    return {c.id: c.track for c in scenario.cohorts}


def _holds(scenario: Scenario, track_id: str | None, session: Session) -> bool:
    """A cohort of this track holds the session: no tracks; or the session's track column is
    blank or names the track, and the session's month is within the track's months."""
    if track_id is None:
        return True
    if session.tracks and track_id not in session.tracks:
        return False
    track = next(t for t in scenario.settings.tracks if t.id == track_id)
    return track.months is None or track.months[0] <= session.month <= track.months[1]


def _holding(
    scenario: Scenario, session: Session, members: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The cohorts (with their participants) that hold this session."""
    track_of = _track_of(scenario)
    return {c: p for c, p in members.items() if _holds(scenario, track_of.get(c), session)}


def _runs(scenario: Scenario) -> dict[str, Run]:
    """event id -> the run of runs.csv it is (runs/<session_key>/<run>)."""
    return {run_event_id(r.session_key, r.run): r for r in scenario.runs}


def _month_of(scenario: Scenario, e: Event) -> int:
    """The programme month an event belongs to: its session's, or its run's."""
    run = _runs(scenario).get(e.event_id) if e.kind == "flexible" else None
    return run.month if run is not None else _sessions(scenario)[e.session_key].month


# --------------------------------------------------------------------------- who attends


def expected_attendees(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    sets: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> dict[str, set[str]]:
    """Every event the programme needs (by event_id) and exactly who must attend it.

    - group session, cohort event: the cohort's participants, the facilitator, and per `with`
      entry the participants' line managers, their heads of service, or the named person ids;
    - coaching: the participant and their matched coach, plus any `with` people;
    - review: the participant and their line manager, plus any `with` people;
    - mentoring: the participant and their matched mentor, plus any `with` people;
    - a joint session (cohorts = all, or cohort ids): one event `joint/<key>` with the
      participants of every cohort it names that has any (all: every cohort), the facilitator
      and the `with` people of each of them;
    - action learning: per set of the cohort (``sets``: cohort -> label -> participants, as
      ``learning_sets_of`` reads them from the calendar and ``check_learning_sets`` verifies
      them), one event `<cohort>/<key>/<label>` with the set, the facilitator and their `with`
      people.

    An applicant's head of service is the people.csv row with role head_of_service and the
    same council and service area (the lowest person_id if there are several).
    """
    applicants = {a.applicant_id: a for a in scenario.applicants}
    coach = {m.participant_id: m.coach_id for m in matches}
    mentor = {m.participant_id: m.mentor_id for m in matches}
    heads = _heads_of_service(scenario)
    members = _members(selected)

    def named(session: Session, pid: str) -> set[str]:
        applicant = applicants[pid]
        by_role = {
            "line_manager": applicant.line_manager_id,
            "head_of_service": heads.get((applicant.council, applicant.service_area)),
        }
        return {by_role.get(who, who) or "" for who in session.with_} - {""}

    def one_to_one(session: Session, pid: str) -> set[str]:
        people = {pid} | named(session, pid)
        own = {
            "coaching": coach.get(pid),
            "review": applicants[pid].line_manager_id,
            "mentoring": mentor.get(pid),
        }
        partner = own.get(session.kind)  # the coach at coaching, the line manager at a review
        return people | {partner} if partner else people

    def together(session: Session, pids: list[str]) -> set[str]:
        people = set(pids) | ({session.facilitator} if session.facilitator else set())
        for pid in pids:
            people |= named(session, pid)
        return people

    expected: dict[str, set[str]] = {}
    for session in scenario.programme:
        if session.kind == "flexible":
            continue  # who attends which run is the solver's choice: see check_runs
        holding = _holding(scenario, session, members)  # its track's template, with tracks
        if session.cohorts or session.kind == "action_learning":
            held_sets = {c: g for c, g in (sets or {}).items() if c in holding}
            for event_id, pids in _groups_of(session, holding, held_sets).items():
                expected[event_id] = together(session, pids)
            continue
        for cohort_id, pids in holding.items():
            if session.per_participant:
                for pid in pids:
                    expected[f"{cohort_id}/{session.session_key}/{pid}"] = one_to_one(session, pid)
                continue
            expected[f"{cohort_id}/{session.session_key}"] = together(session, pids)
    return expected


def _groups_of(
    session: Session,
    members: dict[str, list[str]],
    sets: Mapping[str, Mapping[str, Sequence[str]]],
) -> dict[str, list[str]]:
    """event_id -> participants of the events a session holds for groups of people: one joint
    event, or one per action learning set."""
    if session.cohorts:
        joined = _joined(session, members)
        return {f"joint/{session.session_key}": joined} if joined else {}
    return {
        f"{cohort_id}/{session.session_key}/{label}": list(group)
        for cohort_id, labelled in sets.items()
        for label, group in labelled.items()
    }


def _members(selected: Sequence[Decision]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for o in selected:
        if o.cohort_id:
            members[o.cohort_id].append(o.applicant_id)
    return members


def _joined(session: Session, members: dict[str, list[str]]) -> list[str]:
    """The participants of the cohorts a joint session names (all: every cohort)."""
    return [
        p
        for c, pids in members.items()
        if c in session.cohorts or "all" in session.cohorts
        for p in pids
    ]


def _heads_of_service(scenario: Scenario) -> dict[tuple[str, str], str]:
    """(council, service area) -> its head of service, the lowest person_id if several."""
    heads: dict[tuple[str, str], str] = {}
    for p in scenario.people:
        key = (p.council, p.service_area)
        if p.role == "head_of_service" and (key not in heads or p.person_id < heads[key]):
            heads[key] = p.person_id
    return heads


# --------------------------------------------------------------------------- hard rules


def check_every_session_placed(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    events: Sequence[Event],
) -> list[str]:
    """Every session once per cohort (group, cohort_event) or per participant (coaching,
    review), attended by exactly the people it needs (see ``expected_attendees``)."""
    expected = expected_attendees(scenario, selected, matches, learning_sets_of(scenario, events))
    by_id: dict[str, list[Event]] = defaultdict(list)
    flexible = {s.session_key for s in scenario.programme if s.kind == "flexible"}
    for e in events:
        if e.session_key not in flexible:  # runs: check_runs
            by_id[e.event_id].append(e)
    out = []
    for event_id, group in sorted(by_id.items()):
        if event_id not in expected:
            out.append(f"{event_id}: not a session of the programme")
            continue
        if len(group) > 1:
            out.append(f"{event_id}: placed {len(group)} times")
        attending = set(group[0].attendee_ids)
        missing, extra = expected[event_id] - attending, attending - expected[event_id]
        if missing:
            out.append(f"{event_id}: missing attendees {sorted(missing)}")
        if extra:
            out.append(f"{event_id}: attendees who are not part of it {sorted(extra)}")
    for event_id in sorted(expected.keys() - by_id.keys()):
        out.append(f"{event_id}: not on the calendar")
    return out


def check_track_templates(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """With tracks, each cohort's events are its track's template: every event of a cohort
    (or of each cohort a joint event joins) is a session its track holds."""
    if not scenario.settings.tracks:
        return []
    sessions, track_of = _sessions(scenario), _track_of(scenario)
    out = []
    for e in events:
        session = sessions.get(e.session_key)
        if session is None:
            continue  # check_every_session_placed reports it
        for cohort in cohorts_in(e.cohort_id):
            track = track_of.get(cohort)
            if not _holds(scenario, track, session):
                out.append(
                    f"{e.event_id}: cohort {cohort} (track {track}) holds {e.session_key}, "
                    "which is not in its track's template"
                )
    return out


def check_in_programme_month(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Each event lies inside its session's programme month."""
    out = []
    for e in events:
        first, last = month_bounds(scenario, _month_of(scenario, e))
        day = _local(scenario, e.start).date()
        if not first <= day <= last:
            out.append(f"{e.event_id}: on {day}, outside programme month {first:%B %Y}")
    return out


def check_weekdays_and_bank_holidays(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Monday to Friday, and never on a bank holiday of the programme's region."""
    out = []
    days = [_local(scenario, e.start).date() for e in events]
    closed = bank_holidays(scenario, {d.year for d in days} or {2024})
    for e, day in zip(events, days, strict=True):
        if day.weekday() >= 5:
            out.append(f"{e.event_id}: on a {day:%A} ({day})")
        if day in closed:
            out.append(f"{e.event_id}: on the bank holiday {day}")
    return out


def check_working_hours(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Within day_start..day_end on one day, starting on the slot grid, lasting the session."""
    cal = scenario.settings.calendar
    opens_at, closes_at = working_minutes(cal)
    sessions = _sessions(scenario)
    out = []
    for e in events:
        start, end = _local(scenario, e.start), _local(scenario, e.end)
        midnight = datetime.combine(start.date(), datetime.min.time())
        opens = midnight + timedelta(minutes=opens_at)
        closes = midnight + timedelta(minutes=closes_at)
        if start < opens or end > closes:
            out.append(f"{e.event_id}: {start:%H:%M}-{end:%H:%M} outside working hours")
        if (start - opens).total_seconds() % (cal.slot_minutes * 60):
            out.append(
                f"{e.event_id}: starts at {start:%H:%M}, off the {cal.slot_minutes}-minute grid"
            )
        if end - start != timedelta(minutes=sessions[e.session_key].duration_minutes):
            out.append(f"{e.event_id}: lasts {end - start}, not the session's duration")
    return out


def check_working_days(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """On a working day of every participant and coach attending."""
    days_of = {a.applicant_id: a.working_days for a in scenario.applicants}
    days_of.update({c.coach_id: c.working_days for c in scenario.coaches})
    out = []
    for e in events:
        weekday = _local(scenario, e.start).strftime("%a")
        for person in e.attendee_ids:
            if person in days_of and weekday not in days_of[person]:
                out.append(f"{e.event_id}: {person} does not work on {weekday}")
    return out


def check_group_weekdays(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Group sessions only on the calendar's group_weekdays (cohort events: any weekday), unless
    the session has a fixed date."""
    allowed = scenario.settings.calendar.group_weekdays
    fixed = {s.session_key for s in scenario.programme if s.fixed_date is not None}
    out = []
    for e in events:
        weekday = _local(scenario, e.start).strftime("%a")
        if e.kind == "group" and weekday not in allowed and e.session_key not in fixed:
            out.append(f"{e.event_id}: a group session on {weekday}")
    return out


def check_fixed_times(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """A session with a fixed date (start time) is held on that date (at that time)."""
    sessions = {s.session_key: s for s in scenario.programme}
    out = []
    for e in events:
        session = sessions.get(e.session_key)
        if session is None:
            continue
        start = _local(scenario, e.start)
        if session.fixed_date is not None and start.date() != session.fixed_date:
            out.append(f"{e.event_id}: on {start.date()}, not its fixed date {session.fixed_date}")
        if session.fixed_time is not None and start.time() != session.fixed_time:
            out.append(
                f"{e.event_id}: starts {start:%H:%M}, not its fixed time {session.fixed_time:%H:%M}"
            )
    return out


def check_no_double_booking(events: Sequence[Event]) -> list[str]:
    """No person and no venue in two events at once."""
    booked: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        for who in set(e.attendee_ids) | ({e.venue_id} if e.venue_id else set()):
            booked[who].append(e)
    out = []
    for who, mine in sorted(booked.items()):
        mine.sort(key=lambda e: (e.start, e.event_id))
        latest = mine[0] if mine else None
        for b in mine[1:]:
            assert latest is not None
            if b.start < latest.end:
                out.append(f"{who}: in {latest.event_id} and {b.event_id} at once")
            if b.end > latest.end:
                latest = b
    return out


def check_availability(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Nobody and no venue on an unavailable day or time."""
    away = defaultdict(list)
    for u in scenario.unavailability:
        away[u.id].append(u)
    out = []
    for e in events:
        start, end = _local(scenario, e.start), _local(scenario, e.end)
        for who in [*e.attendee_ids, *([e.venue_id] if e.venue_id else [])]:
            for u in away.get(who, []):
                if u.start < end and start < u.end:
                    out.append(f"{e.event_id}: {who} is unavailable {u.start}..{u.end}")
    return out


def check_venues(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """Group sessions, cohort events and action learning sets in person have a venue of the
    cohort seating every attendee; one-to-one sessions and sessions marked online have none."""
    venues = {v.venue_id: v for v in scenario.venues}
    councils = {c.id: c.councils for c in scenario.cohorts}
    online = {s.session_key for s in scenario.programme if s.mode == "online"}
    out = []
    for e in events:
        if e.kind not in ("group", "cohort_event", "action_learning", "flexible"):
            if e.venue_id:
                out.append(f"{e.event_id}: a {e.kind} session with a venue")
            continue
        if e.session_key in online:
            if e.venue_id:
                out.append(f"{e.event_id}: an online session with a venue")
            continue
        venue = venues.get(e.venue_id or "")
        if venue is None:
            out.append(f"{e.event_id}: no venue")
            continue
        if venue.capacity < len(e.attendee_ids):
            out.append(
                f"{e.event_id}: {venue.venue_id} seats {venue.capacity}, {len(e.attendee_ids)} attend"
            )
        # A joint session (cohort_id joint:c01;c02) may use a venue of any of its cohorts.
        mine = [councils.get(c) for c in cohorts_in(e.cohort_id)]
        allowed = None if None in mine else {x for c in mine for x in c or ()}
        if venue.council and allowed is not None and venue.council not in allowed:
            out.append(f"{e.event_id}: {venue.venue_id} belongs to {venue.council}")
    return out


def check_after_order(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """A session with `after` starts once the same cohort's/participant's instance has ended."""
    sessions = _sessions(scenario)
    people = {a.applicant_id for a in scenario.applicants}
    by_key: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in events:
        by_key[e.cohort_id, e.session_key].append(e)
    out = []
    for e in events:
        before = sessions[e.session_key].after
        if not before:
            continue
        mine = set(e.attendee_ids) & people
        for b in by_key.get((e.cohort_id, before), []):
            if set(b.attendee_ids) & mine and b.end > e.start:
                out.append(f"{e.event_id}: starts before {b.event_id} has ended")
    return out


def check_recurring_series(scenario: Scenario) -> list[str]:
    """A recurring row (repeat, until) stands for one session per month of its series: keys
    `<row key>-1`, `-2`, ... in the months month, month + every, ..., up to until, all alike
    but for key and month. (That each is placed once, in its month, with its attendees, is
    checked with every other session.)"""
    series: dict[str, list[Session]] = defaultdict(list)
    for s in scenario.programme:
        if s.series is not None:
            series[s.series].append(s)
    out = []
    for name, mine in sorted(series.items()):
        first = min(s.month for s in mine)
        every, until = mine[0].every_months or 0, mine[0].until or 0
        want = {f"{name}-{n}": m for n, m in enumerate(range(first, until + 1, every or 1), 1)}
        have = {s.session_key: s.month for s in mine}
        if have != want:
            out.append(
                f"series {name}: occurrences {sorted(have.items())}, expected {sorted(want.items())}"
            )
        shapes = {
            (s.title, s.kind, s.duration_minutes, s.facilitator, s.with_, s.cohorts, s.mode)
            for s in mine
        }
        if len(shapes) > 1 or {(s.every_months, s.until) for s in mine} != {(every, until)}:
            out.append(f"series {name}: occurrences differ from their row")
    return out


def learning_sets_of(
    scenario: Scenario, events: Sequence[Event]
) -> dict[str, dict[str, tuple[str, ...]]]:
    """cohort -> set label -> its participants, as the calendar's events of the cohort's first
    action learning session (in programme order) have them."""
    learning = [s for s in scenario.programme if s.kind == "action_learning"]
    track_of = _track_of(scenario)
    first = {  # with tracks, each cohort's first is its own track's
        c: next((s.session_key for s in learning if _holds(scenario, t, s)), None)
        for c, t in track_of.items()
    }
    applicants = {a.applicant_id for a in scenario.applicants}
    sets: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for e in events:
        if e.kind == "action_learning" and e.session_key == first.get(e.cohort_id):
            label = e.event_id.rsplit("/", 1)[-1]
            sets[e.cohort_id][label] = tuple(sorted(set(e.attendee_ids) & applicants))
    return dict(sets)


def check_learning_sets(
    scenario: Scenario, selected: Sequence[Decision], events: Sequence[Event]
) -> list[str]:
    """Each cohort's action learning sets: every participant in exactly one, of
    LEARNING_SET_SIZES, as few sets as those sizes allow, labelled set-1, set-2, ... in the
    order of their first participant id, nobody with a conflict of interest (conflicts.csv)
    together, the same sets at every action learning session, and no move of one participant
    or swap of two between sets that spreads service areas and councils better."""
    if not any(s.kind == "action_learning" for s in scenario.programme):
        return []
    low, high = LEARNING_SET_SIZES
    sets = learning_sets_of(scenario, events)
    out = []
    learning = [s for s in scenario.programme if s.kind == "action_learning"]
    for cohort, pids in sorted(_members(selected).items()):
        if not any(_holding(scenario, s, {cohort: pids}) for s in learning):
            continue  # its track has no action learning
        labelled = sets.get(cohort, {})
        groups = list(labelled.values())
        placed = sorted(p for g in groups for p in g)
        if placed != sorted(pids):
            out.append(f"cohort {cohort}: action learning sets hold {placed}, not its participants")
            continue
        want_k = -(-len(pids) // high)
        if len(groups) != want_k or any(not low <= len(g) <= high for g in groups):
            out.append(
                f"cohort {cohort}: sets of sizes {sorted(map(len, groups))}, not {want_k} of "
                f"{low} to {high}"
            )
        canonical = {f"set-{n}": g for n, g in enumerate(sorted(groups), start=1)}
        if labelled != canonical:
            out.append(f"cohort {cohort}: set labels are not in order of first participant")
        out += _conflicts_in_sets(scenario, cohort, groups)
        out += _same_sets_every_session(scenario, cohort, labelled, events)
        out += _no_better_spread(scenario, cohort, groups)
    return out


def _conflicts_in_sets(scenario: Scenario, cohort: str, groups: list[tuple[str, ...]]) -> list[str]:
    return [
        f"cohort {cohort}: {c.person_a} and {c.person_b} (a conflict of interest) share a set"
        for c in scenario.conflicts
        for g in groups
        if c.person_a in g and c.person_b in g
    ]


def _same_sets_every_session(
    scenario: Scenario,
    cohort: str,
    labelled: Mapping[str, tuple[str, ...]],
    events: Sequence[Event],
) -> list[str]:
    applicants = {a.applicant_id for a in scenario.applicants}
    out = []
    track = _track_of(scenario).get(cohort)
    for s in scenario.programme:
        if s.kind != "action_learning" or not _holds(scenario, track, s):
            continue
        mine = {
            e.event_id.rsplit("/", 1)[-1]: tuple(sorted(set(e.attendee_ids) & applicants))
            for e in events
            if e.session_key == s.session_key and e.cohort_id == cohort
        }
        if mine != labelled:
            out.append(f"cohort {cohort}: {s.session_key} does not meet in the cohort's sets")
    return out


def learning_set_spread(scenario: Scenario, groups: Sequence[Sequence[str]]) -> int:
    """Per set, the participants of a service area (weight 10) or council (weight 1) beyond
    the even share: the area's (council's) size in the cohort over the number of sets,
    rounded up."""
    by_id = {a.applicant_id: a for a in scenario.applicants}
    k = len(groups)
    total = 0
    for weight, of in ((10, {p: by_id[p].area for g in groups for p in g}), (1, None)):
        key = of or {p: (by_id[p].council, "") for g in groups for p in g}
        sizes: dict[tuple[str, str], int] = defaultdict(int)
        for g in groups:
            for p in g:
                sizes[key[p]] += 1
        for g in groups:
            here: dict[tuple[str, str], int] = defaultdict(int)
            for p in g:
                here[key[p]] += 1
            total += weight * sum(max(0, n - math.ceil(sizes[v] / k)) for v, n in here.items())
    return total


def _no_better_spread(scenario: Scenario, cohort: str, groups: list[tuple[str, ...]]) -> list[str]:
    """No single move or swap (within the set sizes, keeping conflicts apart) lowers the spread."""
    low, high = LEARNING_SET_SIZES
    apart = {frozenset((c.person_a, c.person_b)) for c in scenario.conflicts}
    now = learning_set_spread(scenario, groups)
    for i, a in enumerate(groups):
        for j, b in enumerate(groups):
            if i == j:
                continue
            for p in a:
                options = [(p, None)] + [(p, q) for q in b if i < j]
                for p_out, q in options:
                    new_a = [x for x in a if x != p_out] + ([q] if q else [])
                    new_b = [x for x in b if x != q] + [p_out]
                    if not (low <= len(new_a) <= high and low <= len(new_b) <= high):
                        continue
                    if any(
                        frozenset((x, y)) in apart for g in (new_a, new_b) for x in g for y in g
                    ):
                        continue
                    trial = [
                        new_a if k == i else new_b if k == j else g for k, g in enumerate(groups)
                    ]
                    if learning_set_spread(scenario, trial) < now:
                        return [f"cohort {cohort}: moving {p_out} to another set spreads it better"]
    return []


def check_group_gap(scenario: Scenario, events: Sequence[Event]) -> list[str]:
    """One cohort's group sessions at least min_days_between_group_sessions days apart."""
    gap = scenario.settings.calendar.min_days_between_group_sessions
    per_cohort: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.kind == "group":
            per_cohort[e.cohort_id].append(e)
    out = []
    for mine in per_cohort.values():
        mine.sort(key=lambda e: (e.start, e.event_id))
        for a, b in zip(mine, mine[1:], strict=False):
            days = (_local(scenario, b.start).date() - _local(scenario, a.start).date()).days
            if days < gap:
                out.append(f"{a.event_id} and {b.event_id}: {days} days apart, fewer than {gap}")
    return out


def check_runs(
    scenario: Scenario, selected: Sequence[Decision], events: Sequence[Event]
) -> list[str]:
    """Flexible sessions: every participant who must attend (``flexible_participants``) is in
    exactly one run of each, and nobody else is; each run is a run of runs.csv, held once,
    in its month (inside the session's window), on its fixed date and time, in its venue
    (none when online), with its facilitator and `with` people, and at most its capacity of
    participants. Clashes, working days, absences and seats are the calendar's own checks."""
    sessions = {s.session_key: s for s in scenario.programme if s.kind == "flexible"}
    runs = _runs(scenario)
    applicants = {a.applicant_id for a in scenario.applicants}
    seen: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    out = []
    placed: dict[str, int] = defaultdict(int)
    for e in events:
        if e.session_key not in sessions and e.kind != "flexible":
            continue
        placed[e.event_id] += 1
        out += _check_one_run(scenario, sessions, runs, e)
        for pid in sorted(set(e.attendee_ids) & applicants):
            seen[e.session_key][pid].append(e.event_id)
    out += [f"{eid}: placed {n} times" for eid, n in sorted(placed.items()) if n > 1]
    members = _members(selected)
    for key, session in sessions.items():
        must = set(flexible_participants(scenario, session, members))
        for pid in sorted(must):
            mine = seen[key].get(pid, [])
            if len(mine) != 1:
                out.append(f"{pid}: in {len(mine)} runs of {key} ({', '.join(mine)}), not one")
        for pid in sorted(set(seen[key]) - must):
            out.append(f"{pid}: in a run of {key} but not one of its participants")
    return out


def _check_one_run(
    scenario: Scenario, sessions: Mapping[str, Session], runs: Mapping[str, Run], e: Event
) -> list[str]:
    session, run = sessions.get(e.session_key), runs.get(e.event_id)
    if session is None or run is None or e.kind != "flexible" or run.session_key != e.session_key:
        return [f"{e.event_id}: not a run of runs.csv"]
    out = []
    first, last = session.run_window()
    if not first <= run.month <= last:
        out.append(f"{e.event_id}: run in month {run.month}, outside months {first} to {last}")
    start = _local(scenario, e.start)
    if run.fixed_date is not None and start.date() != run.fixed_date:
        out.append(f"{e.event_id}: on {start.date()}, not its run's date {run.fixed_date}")
    if run.fixed_time is not None and start.time() != run.fixed_time:
        out.append(f"{e.event_id}: starts {start:%H:%M}, not its run's time {run.fixed_time:%H:%M}")
    if (e.venue_id or None) != run.venue_id:
        out.append(f"{e.event_id}: in {e.venue_id or 'no venue'}, not its run's {run.venue_id}")
    applicants = {a.applicant_id for a in scenario.applicants}
    taking = len(set(e.attendee_ids) & applicants)
    if taking > run.capacity:
        out.append(f"{e.event_id}: {taking} participants, over the run's capacity {run.capacity}")
    extras = {*([session.facilitator] if session.facilitator else []), *session.with_}
    if extras - set(e.attendee_ids):
        out.append(f"{e.event_id}: without {sorted(extras - set(e.attendee_ids))}")
    if set(e.attendee_ids) - applicants - extras:
        out.append(
            f"{e.event_id}: attendees who are not part of it {sorted(set(e.attendee_ids) - applicants - extras)}"
        )
    return out


def run_balance(scenario: Scenario, selected: Sequence[Decision], events: Sequence[Event]) -> int:
    """The soft goal run_balance recomputed: per run of runs.csv, the participants beyond an
    even share of its session (its participants over its runs, rounded up)."""
    members = _members(selected)
    applicants = {a.applicant_id for a in scenario.applicants}
    load = {
        e.event_id: len(set(e.attendee_ids) & applicants) for e in events if e.kind == "flexible"
    }
    total = 0
    for session in scenario.programme:
        if session.kind != "flexible":
            continue
        mine = [r for r in scenario.runs if r.session_key == session.session_key]
        share = math.ceil(
            len(flexible_participants(scenario, session, members)) / max(1, len(mine))
        )
        for r in mine:
            total += max(0, load.get(run_event_id(r.session_key, r.run), 0) - share)
    return total


def violations(
    scenario: Scenario,
    selected: Sequence[Decision],
    matches: Sequence[Match],
    events: Sequence[Event],
) -> list[str]:
    """Every hard-rule violation of the calendar (empty list = lawful)."""
    return [
        *check_every_session_placed(scenario, selected, matches, events),
        *check_in_programme_month(scenario, events),
        *check_track_templates(scenario, events),
        *check_weekdays_and_bank_holidays(scenario, events),
        *check_working_hours(scenario, events),
        *check_working_days(scenario, events),
        *check_group_weekdays(scenario, events),
        *check_fixed_times(scenario, events),
        *check_no_double_booking(events),
        *check_availability(scenario, events),
        *check_venues(scenario, events),
        *check_after_order(scenario, events),
        *check_group_gap(scenario, events),
        *check_recurring_series(scenario),
        *check_learning_sets(scenario, selected, events),
        *check_runs(scenario, selected, events),
    ]


# --------------------------------------------------------------------------- soft objective


def soft_penalties(scenario: Scenario, events: Sequence[Event]) -> dict[str, int]:
    """Unweighted count of each preference that gave way (see ``model.CALENDAR_SOFT_GOALS``)."""
    order = {s.session_key: (s.month, i) for i, s in enumerate(scenario.programme)}
    local = {e.event_id: _local(scenario, e.start) for e in events}
    local_end = {e.event_id: _local(scenario, e.end) for e in events}
    month = {e.event_id: _month_of(scenario, e) for e in events}
    counts = dict.fromkeys(CALENDAR_WEIGHTS, 0)
    groups: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.kind == "group":
            groups[e.cohort_id].append(e)
    for mine in groups.values():
        # The rhythm is set by the cohort's first group session in programme order.
        mine.sort(key=lambda e: order[e.session_key])
        ref = local[mine[0].event_id]
        for e in mine[1:]:
            counts["rhythm_weekday"] += local[e.event_id].weekday() != ref.weekday()
            counts["rhythm_time"] += local[e.event_id].time() != ref.time()
    group_weeks = {
        (e.cohort_id, local[e.event_id].isocalendar()[:2]) for mine in groups.values() for e in mine
    }
    coach_ids = {c.coach_id for c in scenario.coaches}
    coach_load: dict[tuple[str, int], dict[tuple[int, int], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    venue_load: dict[tuple[str, int, tuple[int, int]], int] = defaultdict(int)
    for e in events:
        when = local[e.event_id]
        week = when.isocalendar()[:2]
        if e.kind == "coaching":
            counts["coaching_in_workshop_week"] += (e.cohort_id, week) in group_weeks
            for person in e.attendee_ids:
                if person in coach_ids:
                    coach_load[person, month[e.event_id]][week] += 1
        if e.kind == "review":
            _, last = month_bounds(scenario, month[e.event_id])
            counts["review_days_before_month_end"] += (last - when.date()).days
            counts["review_before_workshop"] += any(
                month[g.event_id] == month[e.event_id] and local_end[g.event_id] > when
                for g in groups.get(e.cohort_id, [])
            )
        if e.venue_id and e.kind != "action_learning":  # whole-cohort sessions' rooms
            venue_load[e.venue_id, month[e.event_id], week] += 1
    for (_, m), weeks in coach_load.items():
        share = math.ceil(sum(weeks.values()) / len(weeks_of_month(scenario, m)))
        counts["coach_week_overload"] += sum(max(0, n - share) for n in weeks.values())
    counts["venue_week_overload"] = sum(max(0, n - 1) for n in venue_load.values())
    return counts


def soft_objective(scenario: Scenario, events: Sequence[Event]) -> int:
    """The weighted soft objective the calendar stage minimises."""
    counts = soft_penalties(scenario, events)
    return sum(CALENDAR_WEIGHTS[k] * v for k, v in counts.items())
