"""A second independent parser: the `ical` npm package reads every feed the way ical.js does.

Each test writes feeds (a first export, a re-plan with a move and a cancellation, a
withdrawal), reads every file with both node parsers, and requires the same events with the
same UID, times (UTC), SUMMARY, SEQUENCE, STATUS, LOCATION and DESCRIPTION, and the plan's times.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.ics import build_feeds, event_uid, read_feeds
from tests.feeds import write_feeds
from tests.test_ics import (  # noqa: F401 - icaljs, ical_npm and scenario are fixtures
    STAMP,
    _events,
    _ical_parse,
    _icaljs_parse,
    _iso,
    ical_npm,
    icaljs,
    scenario,
)

FIELDS = ("uid", "dtstart", "dtend", "summary", "sequence", "status", "location", "description")


def _both(icaljs: Path, ical_npm: Path, folder: Path) -> dict[str, dict[str, dict]]:  # noqa: F811
    """feed -> UID -> fields, after checking the two parsers agree on every feed."""
    one, two = _icaljs_parse(icaljs, folder), _ical_parse(ical_npm, folder)
    assert set(one) == set(two) == {p.name for p in folder.glob("*.ics")}
    agreed: dict[str, dict[str, dict]] = {}
    for name in one:
        first = {e["uid"]: {k: e[k] for k in FIELDS} for e in one[name]["events"]}
        second = {e["uid"]: {k: e[k] for k in FIELDS} for e in two[name]["events"]}
        assert first == second, name
        assert all(e["tzid"] == "Europe/London" for e in two[name]["events"]), name
        agreed[name] = second
    return agreed


@pytest.mark.slow
def test_ical_reads_the_plan_as_ical_js_does(
    scenario: Scenario,  # noqa: F811
    icaljs: Path,  # noqa: F811
    ical_npm: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    events = _events()
    write_feeds(tmp_path, build_feeds(scenario, events, stamp=STAMP))
    feeds = _both(icaljs, ical_npm, tmp_path)
    by_uid = {event_uid(scenario, e.event_id): e for e in events}
    seen = {uid for items in feeds.values() for uid in items}
    assert seen == set(by_uid)
    for items in feeds.values():
        for uid, item in items.items():
            event = by_uid[uid]
            assert (item["dtstart"], item["dtend"]) == (_iso(event.start), _iso(event.end))
            assert (item["summary"], item["sequence"], item["status"]) == (
                event.title,
                0,
                "CONFIRMED",
            )


@pytest.mark.slow
def test_ical_sees_a_replan_and_a_cancellation(
    scenario: Scenario,  # noqa: F811
    icaljs: Path,  # noqa: F811
    ical_npm: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    events = _events()
    first = tmp_path / "first"
    write_feeds(first, build_feeds(scenario, events, stamp=STAMP))
    week = timedelta(days=7)
    moved = events[0].model_copy(
        update={"start": events[0].start + week, "end": events[0].end + week}
    )
    kept = [moved, *events[1:-1]]  # the last event leaves the plan
    second = tmp_path / "second"
    write_feeds(second, build_feeds(scenario, kept, previous=read_feeds(first), stamp=STAMP))
    feeds = _both(icaljs, ical_npm, second)
    moved_uid = event_uid(scenario, moved.event_id)
    gone_uid = event_uid(scenario, events[-1].event_id)
    everywhere = [items for items in feeds.values() if moved_uid in items]
    assert everywhere and all(
        (i[moved_uid]["sequence"], i[moved_uid]["dtstart"]) == (1, _iso(moved.start))
        for i in everywhere
    )
    cancelled = [items[gone_uid] for items in feeds.values() if gone_uid in items]
    assert cancelled and all(
        (c["status"], c["sequence"]) == ("CANCELLED", 1) and c["summary"].startswith("Cancelled: ")
        for c in cancelled
    )


@pytest.mark.slow
def test_ical_reads_every_oxford_feed_after_a_withdrawal(
    oxford: Path,
    icaljs: Path,  # noqa: F811
    ical_npm: Path,  # noqa: F811
) -> None:
    out = oxford / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(oxford), "--quiet"]).exit_code == 0
    before = _both(icaljs, ical_npm, out / "ics")
    result = runner.invoke(main, ["withdraw", str(oxford), "A024", "--quiet"])
    assert result.exit_code == 0, result.output
    after = _both(icaljs, ical_npm, out / "ics")
    assert set(after) >= set(before)  # the leaver's feed is kept, with its cancellations
    leaver = after["participant-A024.ics"]
    assert leaver and all(item["status"] == "CANCELLED" for item in leaver.values())
    plan = {e.event_id: e for e in read_calendar_csv(out / "calendar.csv")}
    live = {
        uid: item
        for items in after.values()
        for uid, item in items.items()
        if item["status"] == "CONFIRMED"
    }
    assert len(live) == len(plan)
