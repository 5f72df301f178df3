"""iCalendar subscription feeds (contract section 3, ``ics/``) and ``changes.csv``.

One feed per cohort, participant, coach, person with events (line manager, head of service,
facilitator, named attendee) and venue. Feeds are built for subscription (``METHOD:PUBLISH``,
no ORGANIZER/ATTENDEE, so Outlook does not treat them as invitations), carry a VTIMEZONE for the
programme time zone limited to the programme's years, and are deterministic: an unchanged plan
re-exports byte for byte apart from DTSTAMP.

Privacy: a feed names who attends by role and name only. It never carries protected
characteristics, scores, ring-fence membership or panel data; nothing here reads them. An event
shared by several participants gives their number, not their names, unless the scenario sets
``[feeds] show_cohort_names = true``.

Re-planning: given the previous ``ics/`` files, an event whose content changed gets
``SEQUENCE`` + 1, and an event that disappeared is kept with ``STATUS:CANCELLED`` so subscribed
calendars drop it cleanly (a feed that disappeared entirely, e.g. a withdrawn participant's, is
re-issued with all its events cancelled).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from cohort_solver.domain.markets import PlacementDays
from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import Scenario, cohorts_in
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.export.files import csv_text, not_utf8

PRODID = "-//cohort-solver//cohort-solver iCalendar feeds//EN"
REFRESH = timedelta(hours=12)
CANCELLED_PREFIX = "Cancelled: "
CHANGES_COLUMNS = ("event_id", "change", "old_start", "new_start", "reason")

# Properties whose change is a change to the event as a calendar user sees it (bumps SEQUENCE).
_CONTENT = ("DTSTART", "DTEND", "LOCATION", "SUMMARY", "DESCRIPTION")

_KIND_PHRASE = {
    "group": "group workshop for the whole cohort",
    "coaching": "one-to-one coaching session (online)",
    "review": "progress review",
    "cohort_event": "cohort event",
    "mentoring": "one-to-one mentoring meeting (online)",
    "action_learning": "action learning set (a small group of the cohort)",
    "flexible": "one run of a core session (each participant attends one of its runs)",
}
_ROLE_LABEL = {
    "facilitator": "Facilitator",
    "participant": "Participant",
    "coach": "Coach",
    "mentor": "Mentor",
    "line_manager": "Line manager",
    "head_of_service": "Head of service",
}
_ROLE_ORDER = ("facilitator", "participant", "coach", "mentor", "line_manager", "head_of_service")


# --------------------------------------------------------------------------- safe names


def _slug(raw: str, *, keep_case: bool = True, limit: int = 60) -> str:
    text = raw if keep_case else raw.lower()
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]


def safe_names(ids: Iterable[str]) -> dict[str, str]:
    """A file-name-safe, collision-free stem for each id.

    An id made only of ASCII letters, digits and ``-`` is kept as it is. Anything else is
    slugified and gets a short hash of the raw id, so ``../x``, ``A/B`` and ``A_B`` cannot escape
    the folder or clobber ``a-b``. Ids that would still clash on a case-insensitive file system
    (``A001`` and ``a001``) are hashed too.
    """
    unique = sorted(set(ids))
    names: dict[str, str] = {}
    for raw in unique:
        slug = _slug(raw) or "id"
        names[raw] = slug if slug == raw else f"{slug}-{_digest(raw)}"
    for _ in range(3):
        folded: dict[str, list[str]] = {}
        for raw, name in names.items():
            folded.setdefault(name.lower(), []).append(raw)
        clashes = [group for group in folded.values() if len(group) > 1]
        if not clashes:
            return names
        for group in clashes:
            for raw in group:
                names[raw] = f"{names[raw]}-{_digest(raw)}"
    raise ValueError(f"cannot make distinct file names for ids {clashes}")  # pragma: no cover


PROGRAMME_ID_PROPERTY = "X-COHORT-SOLVER-PROGRAMME-ID"
_RECORDED_ID = re.compile(rb"^X-COHORT-SOLVER-PROGRAMME-ID:([A-Za-z0-9-]{1,63})\r?$", re.M)
# Feeds written before the programme id existed carry their namespace in the UIDs only.
_UID_NAMESPACE = re.compile(rb"^UID:[^@\r\n]*@([A-Za-z0-9-]{1,63})\.cohort-solver\r?$", re.M)


def programme_id(scenario: Scenario, previous: Mapping[str, bytes] | None = None) -> str:
    """The UID namespace: ``[programme] id``, else the id the previous feeds recorded, else a
    new one made from the organisation, name and start date.

    A made id is recorded in every feed (``X-COHORT-SOLVER-PROGRAMME-ID``) and reused by every
    later export over those feeds, so renaming the programme keeps its UIDs; the start date
    keeps next year's run of the same programme apart.
    """
    programme = scenario.settings.programme
    if programme.id:
        return programme.id
    # Long UIDs are folded (RFC 5545 3.1): unfold before looking.
    unfolded = [re.sub(rb"\r?\n[ \t]", b"", data) for data in (previous or {}).values()]
    for pattern in (_RECORDED_ID, _UID_NAMESPACE):
        found = sorted({m.group(1) for data in unfolded for m in pattern.finditer(data)})
        if found:
            return found[0].decode("ascii")
    made = f"{programme.organisation}\n{programme.name}\n{programme.start.isoformat()}"
    return f"p-{hashlib.sha256(made.encode('utf-8')).hexdigest()[:16]}"


def event_uid(
    scenario: Scenario, event_id: str, previous: Mapping[str, bytes] | None = None
) -> str:
    """``<event_id>@<programme id>.cohort-solver``: stable across re-plans and renames."""
    return _uid(programme_id(scenario, previous), event_id)


def _uid(namespace: str, event_id: str) -> str:
    return f"{safe_names([event_id])[event_id]}@{namespace}.cohort-solver"


# --------------------------------------------------------------------------- time zone


Offset = tuple[timedelta, timedelta, str]  # UTC offset, daylight saving part, abbreviation


def _offset_at(zone: ZoneInfo, instant: datetime) -> Offset:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or ""


def vtimezone(tzid: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """A VTIMEZONE for ``tzid`` covering 1 Jan ``first_year`` to 31 Dec ``last_year``.

    One observance per transition, found from the zone database. Each DTSTART is the wall
    clock just before the change (in TZOFFSETFROM), as RFC 5545 section 3.6.5 requires.
    """
    zone = ZoneInfo(tzid)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    component = icalendar.Timezone()
    component.add("tzid", tzid)

    def observance(at: datetime, before: Offset, after: Offset) -> None:
        kind = icalendar.TimezoneDaylight if after[1] else icalendar.TimezoneStandard
        sub = kind()
        sub.add("dtstart", (at + before[0]).replace(tzinfo=None))
        sub.add("tzname", after[2])
        sub.add("tzoffsetfrom", before[0])
        sub.add("tzoffsetto", after[0])
        component.add_component(sub)

    current = _offset_at(zone, start)
    observance(start, current, current)
    day = start
    while day < stop:
        following = min(day + timedelta(days=1), stop)
        changed = _offset_at(zone, following)
        if changed != current:
            low, high = day, following  # offset(low) == current, offset(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_at(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            after = _offset_at(zone, high)
            observance(high.replace(microsecond=0), current, after)
            current = after
        day = following
    return component


# --------------------------------------------------------------------------- who is who


@dataclass(frozen=True)
class _Who:
    role: str
    name: str


@dataclass
class _Feed:
    title: str
    events: list[Event] = field(default_factory=list)
    placements: list[PlacementDays] = field(default_factory=list)  # all-day date ranges


def _directory(scenario: Scenario) -> dict[str, _Who]:
    """Every id that can attend, with role and display name (never anything else)."""
    who: dict[str, _Who] = {}
    for venue in scenario.venues:
        who[venue.venue_id] = _Who("venue", venue.name or venue.venue_id)
    for mentor in scenario.mentors:
        who[mentor.mentor_id] = _Who("mentor", mentor.name or mentor.mentor_id)
    for person in scenario.people:
        who[person.person_id] = _Who(person.role or "attendee", person.name or person.person_id)
    for coach in scenario.coaches:
        who[coach.coach_id] = _Who("coach", coach.name or coach.coach_id)
    for applicant in scenario.applicants:
        who[applicant.applicant_id] = _Who("participant", applicant.name or applicant.applicant_id)
    return who


def _attendees(scenario: Scenario, event: Event) -> list[str]:
    """The event's attendees plus the session's facilitator, without repeats, in order."""
    ids = [attendee for attendee in event.attendee_ids if attendee]
    for session in scenario.programme:
        if session.session_key == event.session_key and session.facilitator:
            ids.insert(0, session.facilitator)
    return list(dict.fromkeys(ids))


def _role_label(role: str) -> str:
    return _ROLE_LABEL.get(role) or role.replace("_", " ").capitalize() or "Attendee"


def _description(scenario: Scenario, event: Event, who: Mapping[str, _Who]) -> str:
    programme = scenario.settings.programme
    phrase = _KIND_PHRASE.get(event.kind, event.kind)
    lines = [
        f"{event.title}",
        f"{programme.name}, {_cohort_words(event)}: {phrase} (session {event.session_key}).",
    ]
    invite = next((s.invite for s in scenario.programme if s.session_key == event.session_key), "")
    if invite:
        lines.append(f"Also invited: {invite.rstrip('.')}.")
    attendees = _attendees(scenario, event)
    rank = {role: i for i, role in enumerate(_ROLE_ORDER)}
    ordered = sorted(
        enumerate(attendees),
        key=lambda item: (
            rank.get(who[item[1]].role if item[1] in who else "", len(rank)),
            item[0],
        ),
    )
    if ordered:
        lines.append("Attending:")
        lines.extend(_attending(scenario, [person_id for _, person_id in ordered], who))
    return "\n".join(lines)


def _attending(scenario: Scenario, ordered: Sequence[str], who: Mapping[str, _Who]) -> list[str]:
    """One line per attendee; in an event shared by several participants, the participants
    are a count unless ``[feeds] show_cohort_names`` (contract: privacy in feeds). Staff in
    their role (facilitator, coach, line manager, ...) are always named: a participant needs to
    know who runs the session."""
    entries = [who.get(person_id, _Who("attendee", person_id)) for person_id in ordered]
    participants = sum(entry.role == "participant" for entry in entries)
    hide = participants > 1 and not scenario.settings.feeds.show_cohort_names
    lines: list[str] = []
    for entry in entries:
        if entry.role != "participant" or not hide:
            lines.append(f"- {_role_label(entry.role)}: {entry.name}")
        elif not any(line.startswith("- Participants: ") for line in lines):
            lines.append(f"- Participants: {participants} (names are not shown in feeds)")
    return lines


def _cohort_words(event: Event) -> str:
    """'cohort c1', or for a joint session 'cohorts c1, c2 together'."""
    cohorts = cohorts_in(event.cohort_id)
    if cohorts == [event.cohort_id]:
        return f"cohort {event.cohort_id}"
    return f"cohorts {', '.join(cohorts)} together"


def _location(scenario: Scenario, event: Event) -> str | None:
    if event.venue_id:
        for venue in scenario.venues:
            if venue.venue_id == event.venue_id:
                return venue.name or venue.venue_id
        return event.venue_id
    if event.kind in ("coaching", "mentoring") or any(
        s.session_key == event.session_key and s.mode == "online" for s in scenario.programme
    ):
        return "Online"
    return None


def _feeds(
    scenario: Scenario,
    events: Sequence[Event],
    who: Mapping[str, _Who],
    placements: Sequence[PlacementDays] = (),
) -> dict[str, _Feed]:
    """File name -> feed title, its events and (a participant's) placements."""
    programme = scenario.settings.programme.name
    by_kind: dict[str, dict[str, list[Event]]] = {
        "cohort": {},
        "participant": {},
        "coach": {},
        "person": {},
        "venue": {},
    }
    for cohort in scenario.cohorts:
        by_kind["cohort"].setdefault(cohort.id, [])
    for event in events:
        for cohort_id in cohorts_in(event.cohort_id):  # a joint session: each cohort's feed
            by_kind["cohort"].setdefault(cohort_id, []).append(event)
        if event.venue_id:
            by_kind["venue"].setdefault(event.venue_id, []).append(event)
        for attendee in _attendees(scenario, event):
            role = who[attendee].role if attendee in who else "attendee"
            kind = role if role in ("participant", "coach", "venue") else "person"
            if kind == "venue":
                continue
            by_kind[kind].setdefault(attendee, []).append(event)

    feeds: dict[str, _Feed] = {}
    away = _placements_by_feed(by_kind["participant"], placements)
    for kind, owners in by_kind.items():
        names = safe_names(owners)
        for owner, owned in owners.items():
            if kind == "cohort":
                whose = f"cohort {owner}"
            elif kind == "venue":
                venue = next((v for v in scenario.venues if v.venue_id == owner), None)
                whose = f"{venue.name if venue and venue.name else owner} (venue)"
            elif owner in who:
                whose = f"{who[owner].name} ({_role_label(who[owner].role).lower()})"
            else:
                whose = owner
            name = f"{kind}-{names[owner]}.ics"
            feeds[name] = _Feed(f"{programme} - {whose}", owned, away.get(name, []))
    return dict(sorted(feeds.items()))


def _placements_by_feed(
    participants: Iterable[str], placements: Sequence[PlacementDays]
) -> dict[str, list[PlacementDays]]:
    """Participant feed name -> their placements; only a participant with sessions has a
    feed, so a placement of someone not on the programme shows nowhere."""
    names = safe_names(participants)
    away: dict[str, list[PlacementDays]] = {}
    for days in placements:
        if days.person_id in names:
            away.setdefault(f"participant-{names[days.person_id]}.ics", []).append(days)
    return away


# --------------------------------------------------------------------------- previous feeds


@dataclass(frozen=True)
class _Old:
    sequence: int
    cancelled: bool
    component: icalendar.Component
    fingerprint: tuple[str, ...]  # _fingerprint(component), worked out once per event read
    start_line: int = 1  # where DTSTART is, for a problem found later


class Feeds(dict[str, bytes]):
    """The feeds ``read_feeds`` checked (file name -> bytes), with what each was read as, so
    ``build_feeds`` does not parse every feed a second time."""

    def __init__(self) -> None:
        super().__init__()
        self.read: dict[str, tuple[bytes, tuple[dict[str, _Old], str | None]]] = {}

    def parsed(self, name: str) -> tuple[dict[str, _Old], str | None] | None:
        """What feed ``name`` was read as, while it still holds the bytes that were read."""
        data, read = self.read.get(name, (None, None))
        return read if data is not None and self.get(name) is data else None


def _fingerprint(component: icalendar.Component) -> tuple[str, ...]:
    return tuple(
        component.content_line(name, component[name]) if name in component else ""
        for name in _CONTENT
    )


@dataclass
class _Block:
    """One BEGIN:VEVENT ... END:VEVENT of a feed: where it and each property start."""

    line: int
    properties: dict[str, int] = field(default_factory=dict)


_CONTENT_LINE = re.compile(r"[A-Za-z0-9-]+(?:;[^:]*)?:")


def _scan(file: str, text: str) -> list[_Block]:
    """Check the feed's line structure (RFC 5545 3.1) and find each event's lines."""
    problems: list[Problem] = []
    logical = _unfolded(file, text, problems)
    blocks = _nesting(file, logical, problems)
    if not problems and not logical:
        problems.append(Problem(file, 1, 1, "the feed is empty"))
    if problems:
        raise InputError(problems)
    return blocks


def _unfolded(file: str, text: str, problems: list[Problem]) -> list[tuple[int, str]]:
    """(first line number, logical line): folded continuation lines joined back on."""
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            if not logical:
                problems.append(Problem(file, number, 1, "a folded line with nothing before it"))
                break
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line:
            logical.append((number, line))
    return logical


def _nesting(file: str, logical: list[tuple[int, str]], problems: list[Problem]) -> list[_Block]:
    """BEGIN/END pairs nest, inside one VCALENDAR; each VEVENT's property lines."""
    blocks: list[_Block] = []
    stack: list[tuple[str, int]] = []
    for number, line in logical:
        if not _CONTENT_LINE.match(line):
            problems.append(Problem(file, number, 1, "not an iCalendar line (NAME:value)"))
            continue
        name, _, value = line.partition(":")
        name, value = name.split(";", 1)[0].upper(), value.upper()
        if not stack and not (name == "BEGIN" and value == "VCALENDAR"):
            problems.append(Problem(file, number, 1, "a feed starts with BEGIN:VCALENDAR"))
            return blocks
        if name == "BEGIN":
            stack.append((value, number))
            if value == "VEVENT":
                blocks.append(_Block(number))
        elif name == "END":
            if not stack or stack[-1][0] != value:
                opened = f"BEGIN:{stack[-1][0]} of line {stack[-1][1]}" if stack else "nothing"
                problems.append(
                    Problem(file, number, 1, f"END:{line.partition(':')[2]} closes {opened}")
                )
                return blocks
            stack.pop()
        elif stack[-1][0] == "VEVENT":
            blocks[-1].properties.setdefault(name, number)
    if not problems and stack:
        kind, number = stack[-1]
        problems.append(Problem(file, number, 1, f"BEGIN:{kind} is never closed (END:{kind})"))
    return blocks


def _read_old(file: str, data: bytes | None) -> tuple[dict[str, _Old], str | None]:
    """UID -> previous state, and the old feed title. A feed we cannot have written is bad
    input at the line where it goes wrong."""
    if data is None:  # no previous feed of that name
        return {}, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([not_utf8(file, data, exc)]) from None
    blocks = _scan(file, text)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        message = f"not an iCalendar feed written by cohort-solver ({exc})"
        raise InputError([Problem(file, 1, 1, message)]) from None
    events = list(calendar.walk("VEVENT"))
    old: dict[str, _Old] = {}
    problems: list[Problem] = []
    for component, block in zip(events, blocks, strict=False):
        event = _old_event(file, component, block, problems)
        if event is not None:
            old[str(component["UID"])] = event
    if problems:
        raise InputError(problems)
    title = calendar.get("X-WR-CALNAME")
    return old, None if title is None else str(title)


def _old_event(
    file: str, component: icalendar.Component, block: _Block, problems: list[Problem]
) -> _Old | None:
    """One previous event, or None with the problem at its line."""

    def at(name: str, message: str) -> None:
        problems.append(Problem(file, block.properties.get(name, block.line), 1, message))

    uid = component.get("UID")
    if not isinstance(uid, str) or not uid:
        at("UID", "an event needs exactly one UID")
        return None
    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        at("SEQUENCE", "SEQUENCE is not a whole number")
        return None
    if sequence < 0:
        at("SEQUENCE", "SEQUENCE is negative")
        return None
    try:
        for name in ("DTSTART", "DTEND"):
            if name in component and not isinstance(component.decoded(name), date):
                raise ValueError(f"{name} is not a date or time")
        fingerprint = _fingerprint(component)
        status = str(component.get("STATUS", "")).upper()
        for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
            if name in component and not isinstance(component[name], str):
                raise ValueError(f"{name} appears more than once")
    except Exception as exc:  # icalendar raises many types for a damaged property
        at("DTSTART", f"cannot read this event ({type(exc).__name__}: {exc})")
        return None
    return _Old(
        sequence=sequence,
        cancelled=status == "CANCELLED",
        component=component,
        fingerprint=fingerprint,
        start_line=block.properties.get("DTSTART", block.line),
    )


def read_feeds(folder: Path, programme_start: int | None = None) -> Feeds:
    """The ``*.ics`` files of a previous ``ics/`` folder (empty if the folder does not exist).

    Every feed is checked now, so a damaged one is bad input (``file:row:column``) before any
    solving, and all of them are reported at once. Given the programme's start year, events
    far from it are refused too (they are not this programme's).
    """
    folder = Path(folder)
    if not os.path.lexists(folder):
        return Feeds()
    if not folder.is_dir():
        raise InputError([Problem(str(folder), 1, 1, "should be the folder of feeds (ics/)")])
    feeds = Feeds()
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.ics")):
        if path.is_dir():
            continue
        try:
            feeds[path.name] = path.read_bytes()
            read = _read_old(str(path), feeds[path.name])
            feeds.read[path.name] = (feeds[path.name], read)
            old, _ = read
            if programme_start is not None:
                problems.extend(_far_years(str(path), old, programme_start))
        except OSError as exc:
            reason = "a link to nothing" if path.is_symlink() else exc.strerror
            problems.append(Problem(str(path), 1, 1, f"cannot read the feed: {reason}"))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return feeds


# --------------------------------------------------------------------------- building


def _years(scenario: Scenario, moments: Iterable[datetime], zone: ZoneInfo) -> tuple[int, int]:
    years = {scenario.settings.programme.start.year}
    years.update(moment.astimezone(zone).year for moment in moments)
    return min(years), max(years)


def _vevent(scenario: Scenario, event: Event, uid: str, at: _Context) -> icalendar.Event:
    """The event without SEQUENCE and STATUS (they depend on the previous feeds)."""
    zone, who = at.zone, at.who
    component = icalendar.Event()
    component.add("uid", uid)
    component.add("dtstamp", at.stamp)
    component.add("dtstart", event.start.astimezone(zone))
    component.add("dtend", event.end.astimezone(zone))
    component.add("summary", event.title)
    component.add("description", _description(scenario, event, who))
    location = _location(scenario, event)
    if location:
        component.add("location", location)
    component.add("transp", "OPAQUE")
    return component


def _cancelled(old: _Old, stamp: datetime) -> icalendar.Event:
    """The previous VEVENT re-issued as cancelled (its old times kept; an event already
    cancelled keeps its DTSTAMP too, so it is byte for byte what it was)."""
    source = old.component
    component = icalendar.Event()
    component.add("uid", str(source["UID"]))
    component.add("dtstamp", _old_stamp(old) if old.cancelled else stamp)
    for name in ("DTSTART", "DTEND"):
        if name in source:
            component.add(name, source.decoded(name))
    summary = str(source.get("SUMMARY", ""))
    if not summary.startswith(CANCELLED_PREFIX):
        summary = CANCELLED_PREFIX + summary
    component.add("summary", summary)
    for name in ("DESCRIPTION", "LOCATION"):
        if name in source:
            component.add(name, str(source[name]))
    component.add("transp", "TRANSPARENT")
    component.add("status", "CANCELLED")
    component.add("sequence", old.sequence if old.cancelled else old.sequence + 1)
    return component


def _old_stamp(old: _Old) -> datetime:
    stamp = old.component.decoded("DTSTAMP") if "DTSTAMP" in old.component else None
    return stamp if isinstance(stamp, datetime) else datetime(1970, 1, 1, tzinfo=UTC)


def _calendar(
    scenario: Scenario, title: str, tz: icalendar.Timezone, namespace: str
) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # TEXT values (RFC 5545 3.3.11, RFC 7986 5.1): a comma in a council's name must not cut
    # the calendar's name short. icalendar escapes only the properties it knows as TEXT.
    calendar.add("x-wr-calname", icalendar.vText(title))
    calendar.add("name", icalendar.vText(title))
    calendar.add(PROGRAMME_ID_PROPERTY.lower(), namespace)
    calendar.add("x-wr-timezone", scenario.settings.programme.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT12H")
    calendar.add_component(tz)
    return calendar


# Previous feeds far from the programme's years are not ours: a VTIMEZONE over them would be huge.
YEARS_AROUND_START = 10


def _far_years(file: str, old: Mapping[str, _Old], first: int) -> list[Problem]:
    problems = []
    for state in old.values():
        for key in ("DTSTART", "DTEND"):
            moment = state.component.decoded(key) if key in state.component else None
            if moment is not None and abs(moment.year - first) > YEARS_AROUND_START:
                problems.append(
                    Problem(
                        file,
                        state.start_line,
                        1,
                        f"{key} in {moment.year} is more than {YEARS_AROUND_START} years "
                        f"from the programme start ({first}): not a feed of this programme",
                    )
                )
    return problems


def _check_years(
    scenario: Scenario, olds: Mapping[str, tuple[dict[str, _Old], str | None]]
) -> None:
    first = scenario.settings.programme.start.year
    problems = [p for name, (old, _) in olds.items() for p in _far_years(f"ics/{name}", old, first)]
    if problems:
        raise InputError(sorted(set(problems)))


def build_feeds(
    scenario: Scenario,
    events: Sequence[Event],
    *,
    previous: Mapping[str, bytes] | None = None,
    stamp: datetime | None = None,
    placements: Sequence[PlacementDays] = (),
) -> dict[str, bytes]:
    """Every feed of the plan: file name (relative to ``ics/``) -> feed bytes.

    Parameters
    ----------
    scenario
        The loaded scenario (programme name and time zone; names of people and venues).
    events
        The plan (calendar.csv rows).
    previous
        The previous ``ics/`` files (``read_feeds``): changed events get SEQUENCE + 1, removed
        ones STATUS:CANCELLED, and a previous feed that has no events now is re-issued with
        all its events cancelled.
    stamp
        DTSTAMP for every new or changed event (default: now; naive means UTC). An unchanged
        event keeps the DTSTAMP of the previous feeds, so an unchanged plan re-exports byte
        for byte.
    """
    previous = previous or {}
    stamp = stamp or datetime.now(UTC)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    zone = ZoneInfo(scenario.settings.programme.timezone)
    who = _directory(scenario)
    feeds = _feeds(scenario, events, who, placements)
    for name in previous:
        if name not in feeds and Path(name).name == name and name.endswith(".ics"):
            feeds[name] = _Feed("")

    checked = previous.parsed if isinstance(previous, Feeds) else lambda name: None
    olds = {name: checked(name) or _read_old(f"ics/{name}", previous.get(name)) for name in feeds}
    _check_years(scenario, olds)
    prior = _latest_states(olds)
    namespace = programme_id(scenario, previous)
    uids = {event.event_id: _uid(namespace, event.event_id) for event in events}
    # Only placements shown in a feed are live: a withdrawn participant's is cancelled.
    shown = [d for feed in feeds.values() for d in feed.placements]
    uids.update({placement_key(d): _uid(namespace, placement_key(d)) for d in shown})
    live = set(uids.values())
    first_year, last_year = _years(scenario, _moments(events, olds), zone)
    tz = vtimezone(scenario.settings.programme.timezone, first_year, last_year)
    out: dict[str, bytes] = {}
    for name in sorted(feeds):
        feed, (old, old_title) = feeds[name], olds[name]
        title = feed.title or old_title or f"{scenario.settings.programme.name} - {name[:-4]}"
        calendar = _calendar(scenario, title, tz, namespace)
        components = _sequenced(scenario, feed, old, prior, _Context(uids, live, zone, who, stamp))
        for _, _, component in sorted(components, key=lambda item: (item[0], item[1])):
            calendar.add_component(component)
        out[name] = calendar.to_ical()
    return out


Olds = Mapping[str, tuple[dict[str, "_Old"], str | None]]


def _latest_states(olds: Olds) -> dict[str, _Old]:
    """UID -> its state in the feed that knows it best (live over cancelled, then highest
    SEQUENCE). An event new to one feed but known from another (a new coach's feed after a
    rematch) continues that event's SEQUENCE, so every feed agrees on it."""
    prior: dict[str, _Old] = {}
    for old, _ in olds.values():
        for uid, state in old.items():
            known = prior.get(uid)
            if known is None or (known.cancelled, -known.sequence) > (
                state.cancelled,
                -state.sequence,
            ):
                prior[uid] = state
    return prior


def _moments(events: Sequence[Event], olds: Olds) -> list[datetime]:
    """Every moment the feeds will carry: the VTIMEZONE must cover all their years."""
    moments = [moment for event in events for moment in (event.start, event.end)]
    for old, _ in olds.values():
        for state in old.values():
            if "DTSTART" in state.component:
                start = state.component.decoded("DTSTART")
                if isinstance(start, datetime) and start.tzinfo is not None:
                    moments.append(start)
    return moments


@dataclass(frozen=True)
class _Context:
    uids: Mapping[str, str]  # event_id -> UID
    live: set[str]  # the UIDs of the plan
    zone: ZoneInfo
    who: Mapping[str, _Who]
    stamp: datetime


def _sequenced(
    scenario: Scenario, feed: _Feed, old: dict[str, _Old], prior: dict[str, _Old], at: _Context
) -> list[tuple[datetime, str, icalendar.Event]]:
    """(start, sort key, VEVENT) of one feed: its events with SEQUENCE carried on from the
    previous feeds, and a cancellation for each previous event that has left the plan.

    Every feed judges an event against the same best-known state (``prior``), so one event has
    one SEQUENCE, DTSTAMP and STATUS in every feed. An event still in the plan that this feed's
    owner no longer attends (a withdrawn participant's group sessions) is left out of the feed,
    not cancelled in it: it goes on for everyone else.
    """
    keyed: list[tuple[datetime, str, icalendar.Event]] = []
    current: set[str] = set()
    for event in feed.events:
        uid = at.uids[event.event_id]
        component = _vevent(scenario, event, uid, at)
        current.add(uid)
        _sequence(component, prior.get(uid))
        keyed.append((event.start.astimezone(UTC), event.event_id, component))
    for days in feed.placements:
        key = placement_key(days)
        component = _placement_vevent(days, at.uids[key], at.stamp)
        current.add(at.uids[key])
        _sequence(component, prior.get(at.uids[key]))
        keyed.append((_as_utc(days.start, at.zone), key, component))
    for uid, state in old.items():
        if uid in current or uid in at.live:
            continue
        best = prior.get(uid, state)
        start = best.component.decoded("DTSTART") if "DTSTART" in best.component else None
        keyed.append((_as_utc(start, at.zone), uid, _cancelled(best, at.stamp)))
    return keyed


def placement_key(days: PlacementDays) -> str:
    """The id behind a placement's UID: one per participant and placement, so it is stable
    across runs and in the programme's namespace like every event. Written like an event id
    (``cohort/session``): the slashes make the UID carry a hash of the whole key, so ids
    with hyphens in them (P-1 for X, P for 1-X) never share a UID."""
    return f"placement/{days.placement_id}/{days.person_id}"


def _placement_vevent(days: PlacementDays, uid: str, stamp: datetime) -> icalendar.Event:
    """An all-day event over the placement's days (DTEND is the day after the last, RFC 5545
    3.6.1). A blocking one is OPAQUE (busy); a released or part-time one TRANSPARENT."""
    component = icalendar.Event()
    component.add("uid", uid)
    component.add("dtstamp", stamp)
    component.add("dtstart", days.start)
    component.add("dtend", days.end + timedelta(days=1))
    component.add("summary", days.title)
    component.add(
        "description",
        "Full-time placement: no programme sessions are booked for you on these days."
        if days.blocks
        else "Placement: programme sessions may still be booked on these days.",
    )
    component.add("transp", "OPAQUE" if days.blocks else "TRANSPARENT")
    return component


def _sequence(component: icalendar.Event, before: _Old | None) -> None:
    """SEQUENCE and STATUS against the best-known previous state: unchanged keeps both (and
    DTSTAMP), changed or revived goes up by one."""
    if before is None:
        sequence = 0
    elif before.cancelled or _fingerprint(component) != before.fingerprint:
        sequence = before.sequence + 1
    else:
        sequence = before.sequence
        # Assigning keeps DTSTAMP where it was among the properties.
        component["DTSTAMP"] = icalendar.vDDDTypes(_old_stamp(before))
    component.add("sequence", sequence)
    component.add("status", "CONFIRMED")


def _as_utc(moment: object, zone: ZoneInfo) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    if isinstance(moment, date):
        return datetime(moment.year, moment.month, moment.day, tzinfo=zone).astimezone(UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- changes.csv


def changed_events(
    old_events: Sequence[Event], new_events: Sequence[Event]
) -> list[tuple[str, str, Event | None, Event | None]]:
    """``(event_id, change, old, new)`` for events moved (time or venue), cancelled or added."""
    old = {event.event_id: event for event in old_events}
    new = {event.event_id: event for event in new_events}
    changes: list[tuple[str, str, Event | None, Event | None]] = []
    for event_id in old.keys() | new.keys():
        before, after = old.get(event_id), new.get(event_id)
        if before is None:
            changes.append((event_id, "added", None, after))
        elif after is None:
            changes.append((event_id, "cancelled", before, None))
        elif (before.start, before.end, before.venue_id) != (
            after.start,
            after.end,
            after.venue_id,
        ):
            changes.append((event_id, "moved", before, after))

    def key(change: tuple[str, str, Event | None, Event | None]) -> tuple[datetime, str]:
        event = change[2] or change[3]
        assert event is not None
        return (event.start.astimezone(UTC), change[0])

    return sorted(changes, key=key)


def changes_csv(
    old_events: Sequence[Event],
    new_events: Sequence[Event],
    reasons: Mapping[str, str] | None = None,
) -> str:
    """``changes.csv``: ``event_id, change, old_start, new_start, reason``.

    ``change`` is ``moved`` (time or venue), ``cancelled`` or ``added``; times are ISO 8601 with
    UTC offset, as in calendar.csv. Rows run in order of the old (else new) start.
    """
    reasons = reasons or {}
    return csv_text(
        CHANGES_COLUMNS,
        (
            (
                event_id,
                change,
                None if before is None else before.start.isoformat(),
                None if after is None else after.start.isoformat(),
                reasons.get(event_id, ""),
            )
            for event_id, change, before, after in changed_events(old_events, new_events)
        ),
    )
