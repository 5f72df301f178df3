"""``publish`` against a real Radicale server (contract section 4, "publish").

The server is started by the fixture on 127.0.0.1 with htpasswd authentication. After every
publish the server is read back with a separate client (the ``caldav`` package used directly,
no code of ours) and compared with calendar.csv: every event of the plan is in its cohort's and
each attendee's calendar, with its times, and an event that left the plan is cancelled.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import caldav
import icalendar
import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.domain.results import Event
from cohort_solver.errors import PublishError
from cohort_solver.stages.export.calendar_csv import calendar_csv, read_calendar_csv
from cohort_solver.stages.export.ics import build_feeds, read_feeds
from cohort_solver.stages.export.publish import publish_feeds
from cohort_solver.stages.load.scenario import load_scenario
from tests.feeds import write_feeds
from tests.test_publish_uids import _event, _scenario

USER, PASSWORD = "coordinator", "correct horse battery"
STAMP = datetime(2024, 3, 1, 9, tzinfo=UTC)


@dataclass
class Radicale:
    url: str
    store: Path
    command: list[str]
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stderr=subprocess.DEVNULL)
        host, port = self.url.split("//")[1].split("/")[0].split(":")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((host, int(port))) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("Radicale did not start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    users = tmp_path / "users"
    users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "radicale",
        f"--server-hosts=127.0.0.1:{port}",
        f"--storage-filesystem-folder={tmp_path / 'store'}",
        "--auth-type=htpasswd",
        f"--auth-htpasswd-filename={users}",
        "--auth-htpasswd-encryption=plain",
        "--rights-type=owner_only",
        "--logging-level=warning",
    ]
    server = Radicale(f"http://127.0.0.1:{port}/{USER}/", tmp_path / "store", command)
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- the plans


def _v1() -> list[Event]:
    return [
        _event("main-W01", "group", 14, ("A001", "A002", "A003")),
        _event("main-C1-A001", "coaching", 15, ("A001", "CO1")),
        _event("main-C1-A003", "coaching", 16, ("A003", "CO1")),
    ]


def _v2() -> list[Event]:  # a re-plan: A001's coaching moves a week
    return [
        _event("main-C1-A001", "coaching", 22, ("A001", "CO1"))
        if e.event_id == "main-C1-A001"
        else e
        for e in _v1()
    ]


def _v3() -> list[Event]:  # A003 withdraws
    return [
        _event("main-W01", "group", 14, ("A001", "A002")),
        _event("main-C1-A001", "coaching", 22, ("A001", "CO1")),
    ]


def _export(tmp_path: Path, events: Sequence[Event]) -> Path:
    """Write calendar.csv and ics/ into out/ as export would, continuing from its feeds."""
    out = tmp_path / "out"
    folder = tmp_path / "scenario"
    scenario = load_scenario(folder) if folder.exists() else _scenario(tmp_path, "scenario")
    previous = read_feeds(out / "ics")
    feeds = build_feeds(scenario, events, previous=previous, stamp=STAMP)
    if (out / "ics").exists():
        shutil.rmtree(out / "ics")
    write_feeds(out / "ics", feeds)
    (out / "calendar.csv").write_text(calendar_csv(list(events)), encoding="utf-8")
    return out


def _publish(tmp_path: Path, server: Radicale, out: Path) -> str:
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "publish",
            str(tmp_path / "scenario"),
            "--out",
            str(out),
            "--caldav",
            server.url,
            "--username",
            USER,
            "--password-file",
            str(password),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


# --------------------------------------------------------------------------- reading back


def _server(server: Radicale) -> dict[str, dict[str, icalendar.Component]]:
    """Collection -> UID -> VEVENT, read by a client of its own."""
    client = caldav.DAVClient(url=server.url, username=USER, password=PASSWORD, require_tls=False)
    found: dict[str, dict[str, icalendar.Component]] = {}
    for calendar in client.principal().calendars():
        name = str(calendar.url).rstrip("/").rsplit("/", 1)[-1]
        events: dict[str, icalendar.Component] = {}
        for resource in calendar.events():
            if resource.data is None:  # not sent with the listing: fetch it
                resource.load()
            (vevent,) = icalendar.Calendar.from_ical(resource.data).walk("VEVENT")
            events[str(vevent["UID"])] = vevent
        found[name] = events
    return found


def _expected(calendar_csv_path: Path) -> dict[str, set[str]]:
    """Collection -> event ids it must hold live, worked out from calendar.csv alone."""
    expected: dict[str, set[str]] = {}
    for event in read_calendar_csv(calendar_csv_path):
        owners = [f"cohort-{event.cohort_id}"]
        if event.venue_id:
            owners.append(f"venue-{event.venue_id}")
        for attendee in event.attendee_ids:
            kind = {"A": "participant", "C": "coach"}.get(attendee[0], "person")
            owners.append(f"{kind}-{attendee}")
        if event.kind == "group":
            owners.append("person-FAC1")  # W01's facilitator (programme.csv)
        for owner in owners:
            expected.setdefault(owner, set()).add(event.event_id)
    return expected


def _check_against_calendar_csv(
    server: Radicale, out: Path
) -> dict[str, dict[str, icalendar.Component]]:
    on_server = _server(server)
    events = {e.event_id: e for e in read_calendar_csv(out / "calendar.csv")}
    for collection, event_ids in _expected(out / "calendar.csv").items():
        live = {
            uid.split("@")[0]: vevent
            for uid, vevent in on_server[collection].items()
            if str(vevent["STATUS"]) == "CONFIRMED"
        }
        assert set(live) == event_ids, collection
        for event_id, vevent in live.items():
            assert vevent.decoded("DTSTART") == events[event_id].start
            assert vevent.decoded("DTEND") == events[event_id].end
    # Whatever else a collection holds is a cancellation of an event no longer in the plan.
    for collection, held in on_server.items():
        for uid, vevent in held.items():
            if str(vevent["STATUS"]) != "CONFIRMED":
                assert str(vevent["STATUS"]) == "CANCELLED"
                assert uid.split("@")[0] not in events, (collection, uid)
    return on_server


def _tree(store: Path) -> dict[str, tuple[int, int]]:
    """Every file of Radicale's storage with its size and mtime: unchanged means no writes."""
    return {
        str(path.relative_to(store)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(store.rglob("*"))
        if path.is_file() and ".Radicale.cache" not in path.parts and path.name != ".Radicale.lock"
    }


# --------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_publish_replan_withdrawal_and_nothing_changed(tmp_path: Path, radicale: Radicale) -> None:
    out = _export(tmp_path, _v1())
    said = _publish(tmp_path, radicale, out)
    assert "calendars made" in said
    first = _check_against_calendar_csv(radicale, out)
    assert set(first) == {name.removesuffix(".ics") for name in os.listdir(out / "ics")}
    assert {int(v["SEQUENCE"]) for held in first.values() for v in held.values()} == {0}

    # A re-plan moves one event: only the objects holding it are written, with SEQUENCE 1.
    out = _export(tmp_path, _v2())
    said = _publish(tmp_path, radicale, out)
    assert re.search(r"0 events created, 3 updated, 0 removed", said), said  # cohort, A001, CO1
    second = _check_against_calendar_csv(radicale, out)
    moved = [
        v for held in second.values() for u, v in held.items() if u.startswith("main-C1-A001@")
    ]
    assert len(moved) == 3 and {int(v["SEQUENCE"]) for v in moved} == {1}

    # A003 withdraws: their coaching is cancelled everywhere; W01 leaves their calendar only.
    out = _export(tmp_path, _v3())
    _publish(tmp_path, radicale, out)
    third = _check_against_calendar_csv(radicale, out)
    leaver = third["participant-A003"]
    assert [str(v["STATUS"]) for v in leaver.values()] == ["CANCELLED"]
    versions: dict[str, set[tuple[int, str]]] = {}
    for held in third.values():
        for uid, vevent in held.items():
            versions.setdefault(uid, set()).add((int(vevent["SEQUENCE"]), str(vevent["STATUS"])))
    assert all(len(seen) == 1 for seen in versions.values()), versions

    # Nothing changed: no writes at all (Radicale's storage is untouched).
    before = _tree(radicale.store)
    said = _publish(tmp_path, radicale, out)
    assert (
        "0 events created, 0 updated, 0 removed" in said and "0 calendars made, 0 renamed" in said
    )
    assert _tree(radicale.store) == before


@pytest.mark.slow
def test_a_publish_stopped_part_way_is_repaired_by_the_next(
    tmp_path: Path, radicale: Radicale
) -> None:
    out = _export(tmp_path, _v1())
    feeds = read_feeds(out / "ics")
    published: list[str] = []

    def server_goes_down(message: str) -> None:
        published.append(message)
        if len(published) == 2:
            radicale.stop()

    with pytest.raises(PublishError) as stopped:
        publish_feeds(feeds, radicale.url, USER, PASSWORD, server_goes_down)
    message = str(stopped.value)
    assert "stopped part-way" in message and "run publish again" in message
    assert len(published) == 2 < len(feeds)
    radicale.start()
    again = publish_feeds(feeds, radicale.url, USER, PASSWORD)
    assert again.unchanged > 0 and again.created  # the first two calendars were kept
    _check_against_calendar_csv(radicale, out)
    assert publish_feeds(feeds, radicale.url, USER, PASSWORD).writes == 0


@pytest.mark.slow
def test_a_wrong_password_is_exit_5_in_one_message(tmp_path: Path, radicale: Radicale) -> None:
    out = _export(tmp_path, _v1())
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["publish", str(tmp_path / "scenario"), "--out", str(out), "--caldav", radicale.url]
        + ["--username", USER, "--password-file", str(wrong), "--quiet"],
    )
    assert result.exit_code == 5, result.output
    assert "refused the user name or password (401)" in result.stderr
    assert "Traceback" not in result.output


def test_publish_without_feeds_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["publish", str(tmp_path), "--caldav", "http://127.0.0.1:9/x/", "--quiet"]
    )
    assert result.exit_code == 2
    assert f"{tmp_path / 'out' / 'ics'}:1:1: no feeds here" in result.stderr
