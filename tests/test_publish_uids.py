"""Safe UIDs and versions in the feeds (contract section 3, ``ics/``; issue 14, item 4).

The UID namespace is the programme's id, never its display name: two runs of one programme in
two years never share a UID, and a renamed programme keeps every UID. One event has one
SEQUENCE, STATUS and DTSTAMP in every feed that holds it, DTSTAMP moves only when the event
does, and calendar names are escaped TEXT. Every feed is re-read by ical.js as well.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError
from cohort_solver.stages.export.ics import build_feeds, event_uid
from cohort_solver.stages.load.scenario import load_scenario
from tests.conftest import OXFORD
from tests.feeds import write_feeds
from tests.test_ics import _icaljs_parse, icaljs  # noqa: F401 - icaljs is a fixture

LONDON = ZoneInfo("Europe/London")
FIRST = datetime(2024, 3, 1, 9, tzinfo=UTC)
LATER = datetime(2024, 9, 1, 9, tzinfo=UTC)
GROUP = ("A001", "A002", "A003")


def _scenario(tmp_path: Path, folder_name: str, **programme: str) -> Scenario:
    """Oxford with its [programme] keys changed (``start``, ``name``, ``organisation``, ``id``)."""
    folder = tmp_path / folder_name
    shutil.copytree(OXFORD, folder, ignore=shutil.ignore_patterns("out", "outcomes.csv"))
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    for key, value in programme.items():
        line = re.compile(rf"^{key} = .*$", re.M)
        if line.search(toml):
            setting = f"{key} = {value!r}".replace("'", '"')  # a TOML basic string
            toml = line.sub(lambda _, setting=setting: setting, toml, count=1)
        else:
            toml = toml.replace("[programme]\n", f'[programme]\n{key} = "{value}"\n', 1)
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    return load_scenario(folder)


def _event(event_id: str, kind: str, day: int, attendees: Sequence[str], hour: int = 10) -> Event:
    start = datetime(2024, 5, day, hour, tzinfo=LONDON)
    return Event(
        event_id=event_id,
        session_key=event_id.split("-")[1],
        title="Group Workshop" if kind == "group" else "Coaching",
        kind=kind,  # type: ignore[arg-type]  # a SessionKind literal, checked by pydantic
        cohort_id="main",
        start=start,
        end=start.replace(hour=hour + 1),
        venue_id="V-TH" if kind == "group" else None,
        attendee_ids=tuple(attendees),
    )


def _plan() -> list[Event]:
    return [
        _event("main-W01", "group", 14, GROUP),
        _event("main-C1-A001", "coaching", 15, ("A001", "CO1")),
        _event("main-C1-A003", "coaching", 16, ("A003", "CO1")),
    ]


def _uids(feeds: Mapping[str, bytes]) -> set[str]:
    return {
        str(vevent["UID"])
        for data in feeds.values()
        for vevent in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }


def _versions(feeds: Mapping[str, bytes]) -> dict[str, set[tuple[int, str, str]]]:
    """UID -> every (SEQUENCE, STATUS, DTSTAMP) it has in any feed."""
    seen: dict[str, set[tuple[int, str, str]]] = {}
    for data in feeds.values():
        for vevent in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            version = (
                int(vevent["SEQUENCE"]),
                str(vevent["STATUS"]),
                vevent.decoded("DTSTAMP").isoformat(),
            )
            seen.setdefault(str(vevent["UID"]), set()).add(version)
    return seen


# --------------------------------------------------------------------------- namespace


def test_two_years_of_one_programme_never_share_a_uid(tmp_path: Path) -> None:
    # The same organisation and programme name, run again a year later.
    first = _scenario(tmp_path, "y2024")
    second = _scenario(tmp_path, "y2025", start="2025-04-01")
    assert first.settings.programme.name == second.settings.programme.name
    uids_2024 = _uids(build_feeds(first, _plan(), stamp=FIRST))
    uids_2025 = _uids(build_feeds(second, _plan(), stamp=FIRST))
    assert len(uids_2024) == len(uids_2025) == 3
    assert not uids_2024 & uids_2025


def test_a_renamed_programme_keeps_every_uid(tmp_path: Path) -> None:
    before = _scenario(tmp_path, "before")
    feeds = build_feeds(before, _plan(), stamp=FIRST)
    renamed = _scenario(tmp_path, "after", name="Leading Oxford, 2024; cohort 1")
    again = build_feeds(renamed, _plan(), previous=feeds, stamp=LATER)
    assert _uids(again) == _uids(feeds)
    assert b"CANCELLED" not in b"".join(again.values())
    # No feed doubles: each holds the same events, updated (the description names the
    # programme, so SEQUENCE goes up once), not cancelled and re-added.
    for name, data in again.items():
        assert data.count(b"BEGIN:VEVENT") == feeds[name].count(b"BEGIN:VEVENT"), name
    assert {version for seen in _versions(again).values() for version in seen} == {
        (1, "CONFIRMED", LATER.isoformat())
    }


def test_a_set_programme_id_is_the_namespace_whatever_the_names(tmp_path: Path) -> None:
    one = _scenario(tmp_path, "one", id="oxford-amp-2024")
    other = _scenario(
        tmp_path, "other", id="oxford-amp-2024", name="Renamed", organisation="Oxford CC"
    )
    assert _uids(build_feeds(one, _plan(), stamp=FIRST)) == _uids(
        build_feeds(other, _plan(), stamp=FIRST)
    )
    assert event_uid(one, "main-W01") == "main-W01@oxford-amp-2024.cohort-solver"


def test_an_unsafe_programme_id_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _scenario(tmp_path, "bad", id="oxford 2024/x")
    (problem,) = [p for p in caught.value.problems if "UID" in p.message]
    assert problem.file.endswith("scenario.toml") and problem.row > 1


def test_feeds_written_before_the_programme_id_keep_their_uids(tmp_path: Path) -> None:
    # An out/ folder from before: UIDs named after organisation and programme, no recorded id.
    scenario = _scenario(tmp_path, "old")
    feeds = build_feeds(scenario, _plan(), stamp=FIRST)
    namespace = "oxford-city-council-aspiring-managers-programme-2024"
    legacy = {
        name: re.sub(rb"X-COHORT-SOLVER-PROGRAMME-ID:[^\r]*\r\n", b"", data)
        .replace(b"\r\n ", b"")
        .replace(b"@p-1c2e1f1927517a75.", f"@{namespace}.".encode())
        for name, data in feeds.items()
    }
    again = build_feeds(scenario, _plan(), previous=legacy, stamp=LATER)
    assert {uid.split("@")[1] for uid in _uids(again)} == {f"{namespace}.cohort-solver"}
    assert b"CANCELLED" not in b"".join(again.values())


# --------------------------------------------------------------------------- versions


def test_dtstamp_moves_only_with_the_event(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "stamps")
    feeds = build_feeds(scenario, _plan(), stamp=FIRST)
    assert build_feeds(scenario, _plan(), previous=feeds, stamp=LATER) == feeds
    moved = [
        _event("main-C1-A001", "coaching", 22, ("A001", "CO1"))
        if e.event_id == "main-C1-A001"
        else e
        for e in _plan()
    ]
    again = build_feeds(scenario, moved, previous=feeds, stamp=LATER)
    stamps = {
        str(v["UID"]).split("@")[0]: (v.decoded("DTSTAMP"), int(v["SEQUENCE"]))
        for v in icalendar.Calendar.from_ical(again["cohort-main.ics"]).walk("VEVENT")
    }
    assert stamps == {
        "main-W01": (FIRST, 0),
        "main-C1-A001": (LATER, 1),
        "main-C1-A003": (FIRST, 0),
    }


@pytest.mark.slow
def test_after_a_withdrawal_one_event_has_one_version_in_every_feed(
    tmp_path: Path,
    icaljs: Path,  # noqa: F811 - the fixture imported above
) -> None:
    scenario = _scenario(tmp_path, "withdrawal")
    feeds = build_feeds(scenario, _plan(), stamp=FIRST)
    # A003 leaves: out of the group workshop, their coaching session cancelled.
    after = [
        _event("main-W01", "group", 14, ("A001", "A002")),
        _event("main-C1-A001", "coaching", 15, ("A001", "CO1")),
    ]
    again = build_feeds(scenario, after, previous=feeds, stamp=LATER)
    versions = _versions(again)
    assert all(len(seen) == 1 for seen in versions.values()), versions
    w01 = event_uid(scenario, "main-W01")
    gone = event_uid(scenario, "main-C1-A003")
    assert versions[w01] == {(1, "CONFIRMED", LATER.isoformat())}  # attendees changed
    assert versions[gone] == {(1, "CANCELLED", LATER.isoformat())}
    leaver = icalendar.Calendar.from_ical(again["participant-A003.ics"])
    assert {str(v["UID"]) for v in leaver.walk("VEVENT")} == {gone}  # W01 goes on without them
    # ical.js reads the same single version of every event, in every feed.
    folder = tmp_path / "ics"
    write_feeds(folder, again)
    parsed = _icaljs_parse(icaljs, folder)
    seen: dict[str, set[tuple[int, str]]] = {}
    for feed in parsed.values():
        for item in feed["events"]:
            seen.setdefault(item["uid"], set()).add((item["sequence"], item["status"]))
    assert seen == {
        w01: {(1, "CONFIRMED")},
        gone: {(1, "CANCELLED")},
        event_uid(scenario, "main-C1-A001"): {(0, "CONFIRMED")},
    }
    assert _vobject_versions(again) == seen  # and so does vobject, a third parser


def _vobject_versions(feeds: Mapping[str, bytes]) -> dict[str, set[tuple[int, str]]]:
    import vobject

    seen: dict[str, set[tuple[int, str]]] = {}
    for data in feeds.values():
        calendar = vobject.readOne(data.decode("utf-8"))
        for vevent in calendar.contents.get("vevent", []):
            version = (int(vevent.sequence.value), vevent.status.value)
            seen.setdefault(vevent.uid.value, set()).add(version)
    return seen


@pytest.mark.slow
def test_calendar_names_are_escaped_text(tmp_path: Path, icaljs: Path) -> None:  # noqa: F811
    title = "Leading Oxford, 2024; cohort\\1"
    scenario = _scenario(tmp_path, "names", name=title)
    feeds = build_feeds(scenario, _plan(), stamp=FIRST)
    raw = feeds["cohort-main.ics"]
    assert b"X-WR-CALNAME:Leading Oxford\\, 2024\\; cohort\\\\1 - cohort main\r\n" in raw
    assert b"\r\nNAME:Leading Oxford\\, 2024\\; cohort\\\\1 - cohort main\r\n" in raw
    calendar = icalendar.Calendar.from_ical(raw)
    # icalendar hands back these properties as written: unescape them by RFC 5545 3.3.11.
    for key in ("NAME", "X-WR-CALNAME"):
        text = re.sub(r"\\([\\;,])", r"\1", str(calendar[key]))
        assert text == f"{title} - cohort main"
    folder = tmp_path / "ics"
    write_feeds(folder, feeds)
    import vobject

    parsed = vobject.readOne(raw.decode("utf-8"))
    for key in ("name", "x-wr-calname"):  # vobject reads them as TEXT: unescaped, whole
        assert parsed.contents[key][0].value == f"{title} - cohort main"
    # ical.js keeps properties it has no type for (both of these) as written: whole, not cut.
    calname = _icaljs_parse(icaljs, folder)["cohort-main.ics"]["calname"]
    assert calname == "Leading Oxford\\, 2024\\; cohort\\\\1 - cohort main"
