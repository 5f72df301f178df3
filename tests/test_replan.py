"""Re-planning on oxford-2024: a coach's week off moves only that coach's events in that week."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from cohort_solver.checks.calendar import violations
from cohort_solver.cli import main
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario


def cli(*args: str) -> None:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_coach_week_off_moves_only_that_coach_in_that_week(oxford: Path, tmp_path: Path) -> None:
    out = oxford / "out"
    cli("run", str(oxford))
    old_calendar = tmp_path / "calendar.csv"
    old_calendar.write_bytes((out / "calendar.csv").read_bytes())
    old = {e.event_id: e for e in read_calendar_csv(old_calendar)}
    old_uids = {
        str(c["UID"]): c
        for c in Calendar.from_ical((out / "ics" / "cohort-main.ics").read_bytes()).walk("VEVENT")
    }
    coach_events = sorted(
        (e for e in old.values() if "CO2" in e.attendee_ids), key=lambda e: e.start
    )
    week_start = coach_events[0].start.date()
    week_end = date.fromordinal(week_start.toordinal() + 4)
    with (oxford / "unavailability.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["CO2", week_start.isoformat(), week_end.isoformat()])

    cli("schedule", str(oxford), "--previous", str(old_calendar))
    cli("export", str(oxford))
    new = {e.event_id: e for e in read_calendar_csv(out / "calendar.csv")}
    affected = {
        i
        for i, e in old.items()
        if "CO2" in e.attendee_ids and week_start <= e.start.date() <= week_end
    }
    moved = {i for i in old if (old[i].start, old[i].venue_id) != (new[i].start, new[i].venue_id)}
    assert affected and moved == affected
    with (out / "changes.csv").open() as handle:
        changes = list(csv.DictReader(handle))
    assert {row["event_id"] for row in changes} == affected
    assert all(row["reason"] == "CO2 now unavailable at the old time" for row in changes)

    scenario = load_scenario(oxford)
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    assert (
        violations(scenario, selected, read_matches(out / "matches.csv"), list(new.values())) == []
    )
    feed = {
        str(c["UID"]): c
        for c in Calendar.from_ical((out / "ics" / "cohort-main.ics").read_bytes()).walk("VEVENT")
    }
    assert feed.keys() == old_uids.keys()  # every event keeps its UID
    bumped = {
        uid for uid, c in feed.items() if int(c["SEQUENCE"]) == int(old_uids[uid]["SEQUENCE"]) + 1
    }
    assert len(bumped) == len(affected)
