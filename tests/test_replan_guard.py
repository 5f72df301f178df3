"""Re-plans that cannot silently reset (contract: `run` and `export`, issue 14 item 5).

- solution.json records the feeds exported into its folder; a later export (or run) that
  finds them gone refuses (exit 2) with how to continue, instead of restarting every SEQUENCE.
- `run` over an earlier output folder re-plans the calendar with the fewest moves and writes
  changes.csv and notices.csv; `--fresh` plans from scratch.

Moves are counted here from the two calendar.csv files with the csv module, and every plan is
re-checked by the independent checker (cohort_solver.checks).
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from cohort_solver.checks.calendar import violations
from cohort_solver.cli import main
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError
from cohort_solver.pipeline import Earlier, feed_files, write
from cohort_solver.stages.export.calendar_csv import calendar_csv, read_calendar_csv
from cohort_solver.stages.export.ics import build_feeds
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario
from tests.test_ics import STAMP, _events, scenario  # noqa: F401 - scenario is a fixture


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _exported(scenario: Scenario, out: Path) -> dict[str, bytes]:  # noqa: F811
    events = _events()
    feeds = build_feeds(scenario, events, stamp=STAMP)
    write(out, scenario, {"calendar.csv": calendar_csv(events), **feed_files(feeds)}, [])
    return feeds


# --------------------------------------------------------------------------- the record


def test_solution_json_records_the_exported_feeds(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    feeds = _exported(scenario, out)
    document = json.loads((out / "solution.json").read_text())
    assert document["feeds"] == {"files": sorted(feeds)}
    # A later command that writes no feeds keeps the record.
    write(out, scenario, {"calendar.csv": calendar_csv(_events())}, [])
    assert json.loads((out / "solution.json").read_text())["feeds"] == {"files": sorted(feeds)}


def test_no_record_before_any_export(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    write(out, scenario, {"calendar.csv": calendar_csv(_events())}, [])
    assert "feeds" not in json.loads((out / "solution.json").read_text())
    assert Earlier(out).feeds(scenario, fresh=False) == {}  # a first export goes ahead


@pytest.mark.slow
def test_lost_feeds_are_refused_unless_fresh(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    feeds = _exported(scenario, out)
    assert Earlier(out).feeds(scenario, fresh=False) == feeds  # all there: continue from them
    (out / "ics" / "participant-P2.ics").unlink()
    with pytest.raises(InputError) as caught:
        Earlier(out).feeds(scenario, fresh=False)
    (problem,) = caught.value.problems
    assert problem.file == str(out / "ics")
    assert "1 feed(s)" in problem.message and "participant-P2.ics" in problem.message
    assert "--previous" in problem.message and "--fresh" in problem.message
    shutil.rmtree(out / "ics")
    with pytest.raises(InputError, match=f"{len(feeds)} feed"):
        Earlier(out).feeds(scenario, fresh=False)
    assert Earlier(out).feeds(scenario, fresh=True) == {}


def test_a_damaged_record_is_no_record(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    _exported(scenario, out)
    shutil.rmtree(out / "ics")
    document = json.loads((out / "solution.json").read_text())
    document["feeds"] = {"files": ["../../etc/passwd", 3]}
    (out / "solution.json").write_text(json.dumps(document))
    assert Earlier(out).feeds(scenario, fresh=False) == {}


# --------------------------------------------------------------------------- the commands


@pytest.mark.slow
def test_export_into_a_folder_without_its_feeds_refuses(oxford: Path, tmp_path: Path) -> None:
    out = oxford / "out"
    assert _invoke("run", str(oxford))[0] == 0
    saved = tmp_path / "saved-ics"
    shutil.copytree(out / "ics", saved)
    shutil.rmtree(out / "ics")
    code, output = _invoke("export", str(oxford))
    assert code == 2, output
    assert "solution.json records 43 feed(s)" in output and "--fresh" in output
    assert "Traceback" not in output and not (out / "ics").exists()
    code, output = _invoke("run", str(oxford))  # run refuses the same way
    assert code == 2 and "--previous FOLDER" in output, output
    # --previous a copy: the export continues from it (same bytes: nothing changed).
    assert _invoke("export", str(oxford), "--previous", str(saved))[0] == 0
    assert {p.name: p.read_bytes() for p in (out / "ics").iterdir()} == {
        p.name: p.read_bytes() for p in saved.iterdir()
    }
    shutil.rmtree(out / "ics")
    assert _invoke("export", str(oxford), "--fresh")[0] == 0
    assert len(list((out / "ics").glob("*.ics"))) == 43


def _coach_week_off(oxford: Path, events: list[dict[str, str]]) -> set[str]:
    """Make CO2 unavailable in the week of their first session; the events that hit."""
    mine = sorted((e for e in events if "CO2" in e["attendee_ids"]), key=lambda e: e["start"])
    first = date.fromisoformat(mine[0]["start"][:10])
    last = first + timedelta(days=4)
    with (oxford / "unavailability.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["CO2", first.isoformat(), last.isoformat()])
    return {e["event_id"] for e in mine if first <= date.fromisoformat(e["start"][:10]) <= last}


def _moved(old: list[dict[str, str]], new: list[dict[str, str]]) -> set[str]:
    before = {e["event_id"]: (e["start"], e["end"], e["venue_id"]) for e in old}
    after = {e["event_id"]: (e["start"], e["end"], e["venue_id"]) for e in new}
    return {i for i in before.keys() | after.keys() if before.get(i) != after.get(i)}


@pytest.mark.slow
def test_run_over_its_folder_replans_with_fewest_moves(oxford: Path) -> None:
    out = oxford / "out"
    assert _invoke("run", str(oxford))[0] == 0
    first = _rows(out / "calendar.csv")
    feeds = {p.name: p.read_bytes() for p in (out / "ics").iterdir()}
    # Nothing changed: the same plan, feeds byte for byte, and nothing to tell anyone.
    assert _invoke("run", str(oxford))[0] == 0
    assert _rows(out / "calendar.csv") == first
    assert {p.name: p.read_bytes() for p in (out / "ics").iterdir()} == feeds
    assert _rows(out / "changes.csv") == [] and _rows(out / "notices.csv") == []

    affected = _coach_week_off(oxford, first)
    assert affected
    code, output = _invoke("run", str(oxford))
    assert code == 0, output
    second = _rows(out / "calendar.csv")
    assert _moved(first, second) == affected  # only the coach's events that week
    assert {row["event_id"] for row in _rows(out / "changes.csv")} == affected
    notices = _rows(out / "notices.csv")
    assert notices and any(row["person_id"] == "CO2" for row in notices)
    cohort = Calendar.from_ical((out / "ics" / "cohort-main.ics").read_bytes())
    bumped = [c for c in cohort.walk("VEVENT") if int(c["SEQUENCE"]) == 1]
    assert len(bumped) == len(affected)
    loaded = load_scenario(oxford)
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    plan = read_calendar_csv(out / "calendar.csv")
    assert violations(loaded, selected, read_matches(out / "matches.csv"), plan) == []


@pytest.mark.slow
def test_run_fresh_plans_from_scratch_and_still_reports_changes(oxford: Path) -> None:
    out = oxford / "out"
    assert _invoke("run", str(oxford))[0] == 0
    first = _rows(out / "calendar.csv")
    affected = _coach_week_off(oxford, first)
    assert _invoke("run", str(oxford), "--fresh")[0] == 0
    fresh = _rows(out / "calendar.csv")
    moved = _moved(first, fresh)
    # From scratch the plan moves at least what the re-plan must, and changes.csv says so.
    assert moved >= affected
    assert {row["event_id"] for row in _rows(out / "changes.csv")} == moved
