"""iCalendar feeds: times across BST/GMT, re-plan SEQUENCE/CANCELLED, folding, file names, privacy.

Every feed is parsed back with the icalendar library and, independently, with ical.js (node),
which resolves TZID times only through the feed's own VTIMEZONE.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import (
    Applicant,
    Coach,
    FeedsSettings,
    Person,
    ProgrammeSettings,
    RingFence,
    Scenario,
    Score,
    SelectionSettings,
    Session,
    Settings,
    Venue,
)
from cohort_solver.errors import InputError
from cohort_solver.stages.export.ics import (
    build_feeds,
    changes_csv,
    event_uid,
    read_feeds,
    safe_names,
    vtimezone,
)
from cohort_solver.stages.load.scenario import load_scenario
from tests.feeds import write_feeds

LONDON = ZoneInfo("Europe/London")
ICALJS = Path(__file__).parent / "icaljs"
STAMP = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
ZOE = "Zoë Ó Súilleabháin"
# The four Europe/London changes of the programme years: all at 01:00 UTC.
CHANGES_UTC = [
    datetime(2024, 3, 31, 1, tzinfo=UTC),
    datetime(2024, 10, 27, 1, tzinfo=UTC),
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 10, 26, 1, tzinfo=UTC),
]


# --------------------------------------------------------------------------- fixtures


def _applicant(applicant_id: str, name: str, **groups: bool) -> Applicant:
    return Applicant(
        applicant_id=applicant_id,
        name=name,
        email=f"{applicant_id.lower()}@example.org",
        council="Riverside",
        service_area="Housing",
        grade=6,
        probation_passed=True,
        line_manager_approved=True,
        performance_eligible=True,
        line_manager_id="LM1",
        groups=groups,
    )


def _naming(scenario: Scenario) -> Scenario:
    """The scenario with ``[feeds] show_cohort_names = true``."""
    settings = scenario.settings.model_copy(update={"feeds": FeedsSettings(show_cohort_names=True)})
    return scenario.model_copy(update={"settings": settings})


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Two participants with protected characteristics and panel scores, one coach, people."""
    settings = Settings(
        programme=ProgrammeSettings(
            name="Leadership Pathway 2024",
            organisation="Riverside Council",
            start=date(2024, 4, 1),
            timezone="Europe/London",
        ),
        selection=SelectionSettings(
            places=2,
            eligible_grades=[6],
            ring_fence=[
                RingFence(name="under-represented", groups=["woman", "disabled"], min_places=1)
            ],
        ),
    )
    return Scenario(
        folder=Path("."),
        settings=settings,
        applicants=(
            _applicant("P1", ZOE, woman=True, disabled=True),
            _applicant("P2", "Tom Baker", woman=False, disabled=False),
        ),
        scores=(
            Score(applicant_id="P1", panelist="panel-edi", score=Decimal("8.37")),
            Score(applicant_id="P2", panelist="panel-edi", score=Decimal("6.91")),
        ),
        coaches=(Coach(coach_id="CO1", name="Siobhán Ní Bhriain"),),
        people=(
            Person(person_id="LM1", name="Karen Whitaker", role="line_manager"),
            Person(person_id="HOS1", name="Ravi Patel", role="head_of_service"),
            Person(person_id="FAC1", name="Lorna Fitzgerald", role="facilitator"),
        ),
        venues=(Venue(venue_id="V1", name="Town Hall Chamber", capacity=30),),
        programme=(
            Session(
                session_key="W01",
                title="Group Workshop - Self Assessment",
                kind="group",
                month=1,
                duration_minutes=180,
                facilitator="FAC1",
            ),
        ),
    )


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def _events() -> list[Event]:
    """Events either side of (and on) each BST/GMT change of 2024 and 2025."""
    group_days = [date(2024, 3, 28), date(2024, 4, 2), date(2024, 10, 24), date(2024, 10, 29)]
    coaching_days = [
        date(2024, 3, 31),
        date(2024, 10, 27),
        date(2025, 3, 27),
        date(2025, 3, 30),
        date(2025, 4, 1),
        date(2025, 10, 23),
        date(2025, 10, 26),
        date(2025, 10, 28),
    ]
    events = [
        Event(
            event_id=f"main-W{i:02d}",
            session_key="W01",
            title="Group Workshop - Self Assessment",
            kind="group",
            cohort_id="main",
            start=_at(day, 9, 30),
            end=_at(day, 12, 30),
            venue_id="V1",
            attendee_ids=("P1", "P2"),
        )
        for i, day in enumerate(group_days, 1)
    ]
    events += [
        Event(
            event_id=f"main-C{i}-P1",
            session_key=f"C{i}",
            title="1:1 coaching",
            kind="coaching",
            cohort_id="main",
            start=_at(day, 14),
            end=_at(day, 15),
            attendee_ids=("P1", "CO1"),
        )
        for i, day in enumerate(coaching_days, 1)
    ]
    events.append(
        Event(
            event_id="main-R1-P2",
            session_key="R1",
            title="Progress review",
            kind="review",
            cohort_id="main",
            start=_at(date(2025, 3, 31), 10),
            end=_at(date(2025, 3, 31), 11),
            attendee_ids=("P2", "LM1", "HOS1"),
        )
    )
    return events


def _parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def _vevents(data: bytes) -> dict[str, icalendar.Component]:
    return {str(e["UID"]): e for e in _parse(data).walk("VEVENT")}


def _strip_stamp(data: bytes) -> bytes:
    return re.sub(rb"DTSTAMP:[0-9TZ]+\r\n", b"", data)


def _expected_feeds(events: list[Event]) -> dict[str, set[str]]:
    """Which event ids each feed must hold, worked out by hand from the attendee lists."""
    everything = {e.event_id for e in events}
    coaching = {e.event_id for e in events if e.kind == "coaching"}
    groups = {e.event_id for e in events if e.kind == "group"}
    return {
        "cohort-main.ics": everything,
        "participant-P1.ics": groups | coaching,
        "participant-P2.ics": groups | {"main-R1-P2"},
        "coach-CO1.ics": coaching,
        "person-FAC1.ics": groups,
        "person-LM1.ics": {"main-R1-P2"},
        "person-HOS1.ics": {"main-R1-P2"},
        "venue-V1.ics": groups,
    }


# --------------------------------------------------------------------------- ical.js


@pytest.fixture(scope="session")
def icaljs() -> Path:
    """The ical.js checker, installed with npm once per session (with the `ical` package,
    the second parser: see ``ical_npm``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed: cannot run the ical.js cross-check")
    if not all((ICALJS / "node_modules" / name).is_dir() for name in ("ical.js", "ical")):
        command = "ci" if (ICALJS / "package-lock.json").exists() else "install"
        result = subprocess.run(
            [npm, command, "--prefix", str(ICALJS), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode:
            pytest.fail(f"npm {command} for tests/icaljs failed:\n{result.stderr}")
    return ICALJS / "parse.mjs"


@pytest.fixture(scope="session")
def ical_npm(icaljs: Path) -> Path:
    """The `ical` npm package's checker (installed beside ical.js by the ``icaljs`` fixture)."""
    return icaljs.parent / "parse_ical.mjs"


def _ical_parse(script: Path, folder: Path, zone: str = "Europe/London") -> dict[str, dict]:
    """Every feed of ``folder`` read by the `ical` package (TZ: the feeds' time zone)."""
    files = sorted(folder.glob("*.ics"))
    result = subprocess.run(
        ["node", str(script), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"TZ": zone, "PATH": str(Path(shutil.which("node") or "node").parent)},
        check=True,
    )
    return {Path(name).name: feed for name, feed in json.loads(result.stdout).items()}


def _icaljs_parse(script: Path, folder: Path) -> dict[str, dict]:
    files = sorted(folder.glob("*.ics"))
    result = subprocess.run(
        ["node", str(script), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"TZ": "UTC", "PATH": str(Path(shutil.which("node") or "node").parent)},
        check=True,
    )
    return {Path(name).name: feed for name, feed in json.loads(result.stdout).items()}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --------------------------------------------------------------------------- tests: content


def test_every_feed_holds_its_events_at_the_right_times(scenario: Scenario) -> None:
    events = _events()
    feeds = build_feeds(scenario, events, stamp=STAMP)
    expected = _expected_feeds(events)
    assert set(feeds) == set(expected)
    by_uid = {event_uid(scenario, e.event_id): e for e in events}
    for name, data in feeds.items():
        vevents = _vevents(data)
        assert {by_uid[uid].event_id for uid in vevents} == expected[name], name
        for uid, vevent in vevents.items():
            event = by_uid[uid]
            start, end = vevent.decoded("DTSTART"), vevent.decoded("DTEND")
            # Same instant and same wall clock in the programme zone, TZID-local.
            assert start == event.start and end == event.end
            assert (start.hour, start.minute) == (event.start.hour, event.start.minute)
            assert vevent["DTSTART"].params["TZID"] == "Europe/London"
            assert vevent["SEQUENCE"] == 0 and vevent["STATUS"] == "CONFIRMED"
            assert vevent["SUMMARY"] == event.title
    # Wall clock 14:00 is 13:00Z in BST and 14:00Z in GMT: both sides of every change.
    cohort = _vevents(feeds["cohort-main.ics"])
    utc_hours = {
        by_uid[uid].start.date(): v.decoded("DTSTART").astimezone(UTC).hour
        for uid, v in cohort.items()
        if by_uid[uid].kind == "coaching"
    }
    assert utc_hours == {
        date(2024, 3, 31): 13,
        date(2024, 10, 27): 14,
        date(2025, 3, 27): 14,
        date(2025, 3, 30): 13,
        date(2025, 4, 1): 13,
        date(2025, 10, 23): 13,
        date(2025, 10, 26): 14,
        date(2025, 10, 28): 14,
    }


def test_feed_headers_and_no_invitation_properties(scenario: Scenario) -> None:
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    for name, data in feeds.items():
        calendar = _parse(data)
        assert calendar["METHOD"] == "PUBLISH"
        assert calendar["VERSION"] == "2.0"
        assert "cohort-solver" in str(calendar["PRODID"])
        assert calendar["X-WR-TIMEZONE"] == "Europe/London"
        assert str(calendar["X-WR-CALNAME"]).startswith("Leadership Pathway 2024 - ")
        assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in data
        assert b"\r\nX-PUBLISHED-TTL:PT12H\r\n" in data
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
        assert b"ORGANIZER" not in data and b"ATTENDEE" not in data, name
        for vevent in calendar.walk("VEVENT"):
            assert vevent.decoded("DTSTAMP") == STAMP
    assert (
        _parse(feeds["participant-P1.ics"])["X-WR-CALNAME"]
        == f"Leadership Pathway 2024 - {ZOE} (participant)"
    )
    titles = {name: str(_parse(data)["X-WR-CALNAME"]) for name, data in feeds.items()}
    assert titles["venue-V1.ics"] == "Leadership Pathway 2024 - Town Hall Chamber (venue)"
    assert titles["cohort-main.ics"] == "Leadership Pathway 2024 - cohort main"
    assert titles["person-HOS1.ics"] == "Leadership Pathway 2024 - Ravi Patel (head of service)"


def test_description_and_location_name_who_attends(scenario: Scenario) -> None:
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    cohort = _vevents(feeds["cohort-main.ics"])
    review = cohort[event_uid(scenario, "main-R1-P2")]
    assert str(review["DESCRIPTION"]).splitlines()[2:] == [
        "Attending:",
        "- Participant: Tom Baker",
        "- Line manager: Karen Whitaker",
        "- Head of service: Ravi Patel",
    ]
    assert "LOCATION" not in review
    group = cohort[event_uid(scenario, "main-W01")]
    assert str(group["LOCATION"]) == "Town Hall Chamber"
    # A shared event counts the participants (contract: privacy in feeds) ...
    assert str(group["DESCRIPTION"]).splitlines()[2:] == [
        "Attending:",
        "- Facilitator: Lorna Fitzgerald",
        "- Participants: 2 (names are not shown in feeds)",
    ]
    # ... and names them only when the scenario allows it.
    named = build_feeds(_naming(scenario), _events(), stamp=STAMP)
    group = _vevents(named["cohort-main.ics"])[event_uid(scenario, "main-W01")]
    assert (
        f"- Facilitator: Lorna Fitzgerald\n- Participant: {ZOE}\n- Participant: Tom Baker"
        in str(group["DESCRIPTION"])
    )
    coaching = cohort[event_uid(scenario, "main-C1-P1")]
    assert str(coaching["LOCATION"]) == "Online"
    assert "- Coach: Siobhán Ní Bhriain" in str(coaching["DESCRIPTION"])


def test_vtimezone_has_rfc_onsets_and_only_the_programme_years(scenario: Scenario) -> None:
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    (tz,) = _parse(feeds["cohort-main.ics"]).walk("VTIMEZONE")
    onsets = []
    for observance in tz.subcomponents:
        start = observance.decoded("DTSTART")
        assert start.year in (2024, 2025)
        # RFC 5545 3.6.5: DTSTART is the local time before the change (in TZOFFSETFROM).
        onsets.append((start - observance.decoded("TZOFFSETFROM")).replace(tzinfo=UTC))
    assert onsets == [datetime(2024, 1, 1, tzinfo=UTC), *CHANGES_UTC]
    names = [(o.name, str(o["TZNAME"])) for o in tz.subcomponents]
    assert names[1:] == [("DAYLIGHT", "BST"), ("STANDARD", "GMT")] * 2
    # A zone without changes is a single observance.
    assert len(vtimezone("Asia/Tokyo", 2024, 2025).subcomponents) == 1


# --------------------------------------------------------------------------- tests: ical.js


@pytest.mark.slow
def test_icaljs_reads_the_same_times_and_fields(
    scenario: Scenario, icaljs: Path, tmp_path: Path
) -> None:
    events = _events()
    feeds = build_feeds(scenario, events, stamp=STAMP)
    write_feeds(tmp_path, feeds)
    parsed = _icaljs_parse(icaljs, tmp_path)
    assert set(parsed) == set(feeds)
    by_uid = {event_uid(scenario, e.event_id): e for e in events}
    for name, feed in parsed.items():
        assert feed["method"] == "PUBLISH" and feed["timezones"] == ["Europe/London"]
        assert feed["calname"] == str(_parse(feeds[name])["X-WR-CALNAME"])
        assert len(feed["events"]) == len(_expected_feeds(events)[name])
        for item in feed["events"]:
            event = by_uid[item["uid"]]
            assert item["tzid"] == "Europe/London"
            assert (item["dtstart"], item["dtend"]) == (_iso(event.start), _iso(event.end)), item
            assert (item["summary"], item["sequence"], item["status"]) == (
                event.title,
                0,
                "CONFIRMED",
            )
    # ical.js unfolds multi-byte names exactly as written.
    p1 = parsed["participant-P1.ics"]["events"]
    assert any(f"- Participant: {ZOE}" in item["description"] for item in p1)


@pytest.mark.slow
def test_icaljs_sees_replan_sequence_and_cancellation(
    scenario: Scenario, icaljs: Path, tmp_path: Path
) -> None:
    events = _events()
    old = build_feeds(scenario, events, stamp=STAMP)
    moved = events[0].model_copy(
        update={"start": _at(date(2024, 4, 3), 9, 30), "end": _at(date(2024, 4, 3), 12, 30)}
    )
    new = build_feeds(scenario, [moved, *events[2:]], previous=old, stamp=STAMP + timedelta(days=1))
    write_feeds(tmp_path, new)
    items = {i["uid"]: i for i in _icaljs_parse(icaljs, tmp_path)["participant-P1.ics"]["events"]}
    assert items[event_uid(scenario, "main-W01")]["dtstart"] == "2024-04-03T08:30:00.000Z"
    assert items[event_uid(scenario, "main-W01")]["sequence"] == 1
    gone = items[event_uid(scenario, "main-W02")]
    assert (gone["status"], gone["sequence"], gone["dtstart"]) == (
        "CANCELLED",
        1,
        "2024-04-02T08:30:00.000Z",
    )
    assert items[event_uid(scenario, "main-W03")]["sequence"] == 0


# --------------------------------------------------------------------------- tests: re-plan


@pytest.mark.slow
def test_replan_keeps_uids_bumps_sequence_and_cancels(scenario: Scenario) -> None:
    events = _events()
    first = build_feeds(scenario, events, stamp=STAMP)
    # Re-plan: W01 moves across the March change (GMT -> BST), W02 is dropped, P2 withdraws
    # (loses every event, so the review goes too); coaching stays.
    moved = events[0].model_copy(
        update={
            "start": _at(date(2024, 4, 3), 9, 30),
            "end": _at(date(2024, 4, 3), 12, 30),
            "attendee_ids": ("P1",),
        }
    )
    kept = [
        e.model_copy(update={"attendee_ids": tuple(a for a in e.attendee_ids if a != "P2")})
        for e in events[2:]
        if e.event_id != "main-R1-P2"
    ]
    second_plan = [moved, *kept]
    second = build_feeds(scenario, second_plan, previous=first, stamp=STAMP + timedelta(days=1))

    # The withdrawn participant's feed is still published, everything in it cancelled.
    assert set(second) == set(first)
    p2 = _vevents(second["participant-P2.ics"])
    assert {str(v["STATUS"]) for v in p2.values()} == {"CANCELLED"}
    assert {v["SEQUENCE"] for v in p2.values()} == {1}
    for uid, vevent in p2.items():
        assert vevent.decoded("DTSTART") == _vevents(first["participant-P2.ics"])[uid].decoded(
            "DTSTART"
        )
        assert str(vevent["SUMMARY"]).startswith("Cancelled: ")

    cohort = _vevents(second["cohort-main.ics"])
    w01 = cohort[event_uid(scenario, "main-W01")]
    assert w01["SEQUENCE"] == 1 and w01.decoded("DTSTART") == moved.start
    w02 = cohort[event_uid(scenario, "main-W02")]
    assert (str(w02["STATUS"]), w02["SEQUENCE"]) == ("CANCELLED", 1)
    assert w02.decoded("DTSTART") == events[1].start  # old times kept
    # W03 lost P2 from its attendee list: its description changed, so SEQUENCE goes up.
    assert cohort[event_uid(scenario, "main-W03")]["SEQUENCE"] == 1
    # Coaching is untouched: same SEQUENCE 0.
    assert cohort[event_uid(scenario, "main-C1-P1")]["SEQUENCE"] == 0
    assert cohort[event_uid(scenario, "main-C1-P1")]["STATUS"] == "CONFIRMED"

    # Exporting the same plan again: cancelled stay cancelled (no new bump), nothing else moves,
    # and the bytes equal the second export apart from DTSTAMP.
    third = build_feeds(scenario, second_plan, previous=second, stamp=STAMP + timedelta(days=2))
    assert {n: _strip_stamp(d) for n, d in third.items()} == {
        n: _strip_stamp(d) for n, d in second.items()
    }
    # A cancelled event that comes back is confirmed with a higher SEQUENCE.
    fourth = build_feeds(scenario, [*second_plan, events[1]], previous=third, stamp=STAMP)
    back = _vevents(fourth["cohort-main.ics"])[event_uid(scenario, "main-W02")]
    assert (str(back["STATUS"]), back["SEQUENCE"]) == ("CONFIRMED", 2)


@pytest.mark.slow
def test_reexport_is_deterministic_apart_from_dtstamp(scenario: Scenario, tmp_path: Path) -> None:
    events = _events()
    first = build_feeds(scenario, events, stamp=STAMP)
    shuffled = build_feeds(scenario, list(reversed(events)), stamp=STAMP + timedelta(hours=5))
    assert {n: _strip_stamp(d) for n, d in first.items()} == {
        n: _strip_stamp(d) for n, d in shuffled.items()
    }
    assert first != shuffled  # only DTSTAMP differs
    # Through the folder and back: with previous = itself, same stamp, identical bytes.
    write_feeds(tmp_path / "ics", first)
    assert read_feeds(tmp_path / "ics") == first
    assert (
        build_feeds(scenario, events, previous=read_feeds(tmp_path / "ics"), stamp=STAMP) == first
    )
    assert read_feeds(tmp_path / "missing") == {}
    # Events are in (start, event_id) order.
    starts = [v.decoded("DTSTART") for v in _parse(first["cohort-main.ics"]).walk("VEVENT")]
    assert starts == sorted(starts)


# --------------------------------------------------------------------------- tests: format


@pytest.mark.slow
def test_crlf_and_folding_at_75_octets(scenario: Scenario) -> None:
    long_title = "Cohort event - " + " ".join([ZOE] * 12)
    crowd = Event(
        event_id="main-IND",
        session_key="IND",
        title=long_title,
        kind="cohort_event",
        cohort_id="main",
        start=_at(date(2024, 10, 28), 9),
        end=_at(date(2024, 10, 28), 12),
        venue_id="V1",
        attendee_ids=("P1", "P2", "CO1", "LM1", "HOS1"),
    )
    feeds = build_feeds(_naming(scenario), [*_events(), crowd], stamp=STAMP)
    for name, data in feeds.items():
        assert data.endswith(b"\r\n")
        lines = data.split(b"\r\n")[:-1]
        assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines), name
        for line in lines:
            assert len(line) <= 75, (name, line)
            line.decode("utf-8")  # never split inside a multi-byte character
    data = feeds["cohort-main.ics"]
    assert any(len(line) > 70 and line.startswith(b" ") for line in data.split(b"\r\n"))
    vevent = _vevents(data)[event_uid(scenario, "main-IND")]
    assert str(vevent["SUMMARY"]) == long_title
    description = str(vevent["DESCRIPTION"])
    assert description.startswith(long_title + "\n")
    assert (
        f"- Participant: {ZOE}\n- Participant: Tom Baker\n- Coach: Siobhán Ní Bhriain\n"
        in description
    )


# --------------------------------------------------------------------------- tests: names


def test_safe_names_never_escape_or_clobber() -> None:
    ids = ["../x", "A/B", "a-b", "A_B", "A001", "a001", "..", "", "x" * 300, "Zoë", "A-B"]
    names = safe_names(ids)
    # "a-b" and "A-B" clash case-insensitively: both get a hash; "A_B" is hashed anyway.
    assert names["a-b"].startswith("a-b-") and names["A-B"].startswith("A-B-")
    assert safe_names(["a-b", "A_B"])["a-b"] == "a-b"
    assert len({n.lower() for n in names.values()}) == len(ids)
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,80}", name), name
    assert names["../x"].startswith("x-") and names["A/B"].startswith("A-B-")
    assert names["A001"] != "A001" and names["a001"] != "a001"  # case-only clash: both hashed
    assert safe_names(["a-b"])["a-b"] == "a-b" and safe_names(["P1"])["P1"] == "P1"
    assert safe_names(["A_B"]) == {"A_B": names["A_B"]}  # a hashed name does not depend on others


def test_feed_files_with_awkward_ids_stay_in_the_folder(scenario: Scenario, tmp_path: Path) -> None:
    awkward = ["../x", "A/B", "a-b", "A_B"]
    odd = scenario.model_copy(
        update={"applicants": tuple(_applicant(i, f"Person {i}") for i in awkward)}
    )
    event = Event(
        event_id="../evil/W01",
        session_key="W01",
        title="Workshop",
        kind="group",
        cohort_id="../main",
        start=_at(date(2024, 5, 1), 10),
        end=_at(date(2024, 5, 1), 12),
        venue_id="V1",
        attendee_ids=tuple(awkward),
    )
    feeds = build_feeds(odd, [event], stamp=STAMP)
    folder = tmp_path / "ics"
    write_feeds(folder, feeds)
    written = sorted(p.name for p in folder.iterdir())
    assert (
        written == sorted(feeds) and len(written) == 2 + 4 + 1 + 1
    )  # main + "../main", 4 participants, FAC1, venue
    assert len({n.lower() for n in written}) == len(written)
    assert list(tmp_path.iterdir()) == [folder]
    assert "participant-a-b.ics" in feeds
    uids = {uid for data in feeds.values() for uid in _vevents(data)}
    assert len(uids) == 1
    (uid,) = uids
    assert (
        "/" not in uid
        and ".." not in uid
        and re.fullmatch(r"evil-W01-[0-9a-f]{8}@p-[0-9a-f]{16}\.cohort-solver", uid)
    )


# --------------------------------------------------------------------------- tests: privacy


def test_feeds_carry_no_protected_characteristics_scores_or_ring_fences(scenario: Scenario) -> None:
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    text = b"".join(feeds.values()).decode("utf-8")
    unfolded = text.replace("\r\n ", "")
    for forbidden in [
        "woman",
        "disabled",
        "under-represented",
        "panel",
        "8.37",
        "6.91",
        "True",
        "False",
    ]:
        assert forbidden.lower() not in unfolded.lower(), forbidden
    assert not re.search(r"\bring", unfolded, re.IGNORECASE)
    assert "@example.org" not in unfolded  # no e-mail addresses either


def test_oxford_scenario_feeds_parse(tmp_path: Path) -> None:
    oxford = load_scenario(Path(__file__).parents[1] / "scenarios" / "oxford-2024")
    applicant = oxford.applicants[0]
    event = Event(
        event_id="main-R-LM1-A001",
        session_key="R-LM1",
        title="Line manager review",
        kind="review",
        cohort_id="main",
        start=_at(date(2024, 10, 28), 10),
        end=_at(date(2024, 10, 28), 11),
        attendee_ids=(applicant.applicant_id, applicant.line_manager_id or ""),
    )
    feeds = build_feeds(oxford, [event], stamp=STAMP)
    assert f"participant-{applicant.applicant_id}.ics" in feeds
    assert f"person-{applicant.line_manager_id}.ics" in feeds
    (vevent,) = _parse(feeds[f"person-{applicant.line_manager_id}.ics"]).walk("VEVENT")
    assert f"- Participant: {applicant.name}" in str(vevent["DESCRIPTION"])
    assert vevent.decoded("DTSTART").astimezone(UTC) == datetime(2024, 10, 28, 10, tzinfo=UTC)
    assert (
        str(vevent["UID"])
        == "main-R-LM1-A001@p-1c2e1f1927517a75.cohort-solver"  # sha256(org, name, start)
    )


# --------------------------------------------------------------------------- tests: changes.csv


def test_changes_csv_lists_moved_cancelled_and_added() -> None:
    events = _events()
    moved = events[0].model_copy(
        update={"start": _at(date(2024, 4, 3), 9, 30), "end": _at(date(2024, 4, 3), 12, 30)}
    )
    rehoused = events[2].model_copy(update={"venue_id": "V2"})
    added = events[1].model_copy(update={"event_id": "main-W99"})
    new = [moved, rehoused, added, *events[3:-1]]
    text = changes_csv(events, new, {"main-W01": "facilitator unavailable"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "event_id,change,old_start,new_start,reason"
    assert [(r["event_id"], r["change"]) for r in rows] == [
        ("main-W01", "moved"),
        ("main-W02", "cancelled"),
        ("main-W99", "added"),
        ("main-W03", "moved"),
        ("main-R1-P2", "cancelled"),
    ]
    assert rows[0]["old_start"] == "2024-03-28T09:30:00+00:00"
    assert rows[0]["new_start"] == "2024-04-03T09:30:00+01:00"
    assert rows[0]["reason"] == "facilitator unavailable"
    assert rows[1]["new_start"] == "" and rows[2]["old_start"] == ""
    assert changes_csv(events, events) == "event_id,change,old_start,new_start,reason\n"


def test_a_broken_previous_feed_is_bad_input(scenario: Scenario) -> None:
    with pytest.raises(InputError, match="ics/cohort-main.ics"):
        build_feeds(
            scenario, _events(), previous={"cohort-main.ics": b"BEGIN:VCALENDAR\r\nnonsense"}
        )


@pytest.mark.slow
def test_rematch_keeps_sequence_in_step_across_feeds(scenario: Scenario) -> None:
    # CO1 is replaced by CO2 for the first coaching session; its time stays.
    with_co2 = scenario.model_copy(
        update={"coaches": (*scenario.coaches, Coach(coach_id="CO2", name="Kofi Asante"))}
    )
    events = _events()
    first = build_feeds(with_co2, events, stamp=STAMP)
    rematched = [
        e.model_copy(update={"attendee_ids": ("P1", "CO2")}) if e.event_id == "main-C1-P1" else e
        for e in events
    ]
    second = build_feeds(with_co2, rematched, previous=first, stamp=STAMP)
    uid = event_uid(scenario, "main-C1-P1")
    new_coach = _vevents(second["coach-CO2.ics"])[uid]
    cohort = _vevents(second["cohort-main.ics"])[uid]
    assert (new_coach["SEQUENCE"], str(new_coach["STATUS"])) == (1, "CONFIRMED")
    assert (cohort["SEQUENCE"], str(cohort["STATUS"])) == (1, "CONFIRMED")
    # The event goes on, so it is left out of the old coach's feed rather than cancelled
    # there: one event has one status in every feed (contract, ics/).
    assert uid not in _vevents(second["coach-CO1.ics"])
    assert "- Coach: Kofi Asante" in str(new_coach["DESCRIPTION"])
    assert new_coach.decoded("DTSTART") == events[4].start
    # Blank attendee ids make no feed.
    blank = [e.model_copy(update={"attendee_ids": (*e.attendee_ids, "")}) for e in events]
    assert set(build_feeds(scenario, blank, stamp=STAMP)) == set(_expected_feeds(events))
