"""One withdrawal, everything consistent (issue 15, item 2): after `withdraw`, matches, the
calendar and the feeds pass their independent checkers, and no output names the leaver as
taking part."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from cohort_solver.checks.allocation import check_withdrawal
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import violations as calendar_violations
from cohort_solver.checks.matching import violations as matching_violations
from cohort_solver.cli import main
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario

LEAVER, NEWCOMER = "A005", "A013"


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def active_events(folder: Path) -> dict[str, list[str]]:
    """Feed name -> the text of every event in it that is not cancelled."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.ics")):
        for event in Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
            if str(event.get("STATUS", "")) != "CANCELLED":
                found.setdefault(path.name, []).append(event.to_ical().decode())
    return found


@pytest.mark.slow
def test_after_withdraw_every_output_is_consistent_and_the_leaver_is_gone(
    oxford: Path, tmp_path: Path
) -> None:
    out = oxford / "out"
    cli("run", str(oxford), "--quiet")
    before = read_allocation(out / "allocation.csv")
    old_matches = {m.participant_id: m for m in read_matches(out / "matches.csv")}
    old_events = {e.event_id: e for e in read_calendar_csv(out / "calendar.csv")}
    said = cli("withdraw", str(oxford), LEAVER, "--quiet")
    assert "A013 (reserve 4 for cohort main) takes the place" in said
    assert "report.html: rewritten" in said and "ics/: updated" in said

    scenario = load_scenario(oxford)
    after = read_allocation(out / "allocation.csv")
    assert check_withdrawal(scenario, before, after, LEAVER) == []
    assert allocation_violations(scenario, after) == []
    selected = [o for o in after if o.status == "selected"]
    matches = read_matches(out / "matches.csv")
    events = read_calendar_csv(out / "calendar.csv")
    assert matching_violations(scenario, selected, matches) == []
    assert calendar_violations(scenario, selected, matches, events) == []

    # Every still-lawful pair is kept; the newcomer has a mentor and a coach.
    pairs = {m.participant_id: m for m in matches}
    assert set(pairs) == {o.applicant_id for o in selected}
    for pid, old in old_matches.items():
        if pid != LEAVER:
            assert (pairs[pid].mentor_id, pairs[pid].coach_id) == (old.mentor_id, old.coach_id)
    # Fewest moves: no event that stays in the plan moves; the leaver's go, the newcomer's come.
    for event in events:
        if event.event_id in old_events:
            assert event.start == old_events[event.event_id].start, event.event_id
    assert all(LEAVER not in e.attendee_ids for e in events)
    group = [e for e in events if len(e.attendee_ids) > 3]
    assert group and all(NEWCOMER in e.attendee_ids for e in group)
    assert any(e.event_id.endswith(f"/{NEWCOMER}") for e in events)

    # No output names the leaver as taking part.
    name = next(a.name for a in scenario.applicants if a.applicant_id == LEAVER)
    for feed, texts in active_events(out / "ics").items():
        for text in texts:
            unfolded = text.replace("\r\n ", "")
            assert LEAVER not in unfolded and name not in unfolded, feed
    assert f"participant-{NEWCOMER}.ics" in active_events(out / "ics")
    report = (out / "report.html").read_text()
    assert LEAVER not in report and name not in report
    assert LEAVER not in (out / "matches.csv").read_text()


@pytest.mark.slow
def test_withdraw_says_what_it_did_not_update(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli("allocate", str(oxford), "--out", str(out), "--quiet")
    said = cli("withdraw", str(oxford), LEAVER, "--out", str(out), "--quiet")
    assert "nothing else to update" in said
    assert not (out / "matches.csv").exists() and not (out / "calendar.csv").exists()

    cli("match", str(oxford), "--out", str(out), "--quiet")
    shutil.rmtree(out / "ics", ignore_errors=True)
    said = cli("withdraw", str(oxford), NEWCOMER, "--out", str(out), "--quiet")
    assert "matches.csv: 11 pairs kept" in said
    assert "calendar.csv, ics/, report.html: none in --out, not written" in said
    assert not (out / "calendar.csv").exists() and not (out / "report.html").exists()


@pytest.mark.slow
def test_withdraw_skips_the_stages_the_programme_does_not_have(tmp_path: Path) -> None:
    # Staffordshire has no mentors or coaches: the withdrawal re-plans the calendar and does
    # not try to match (which would be bad input: "the programme has no matching stage").
    scenario = tmp_path / "staffordshire"
    shutil.copytree(
        Path("scenarios/staffordshire-hps-2019"), scenario, ignore=shutil.ignore_patterns("out")
    )
    out = scenario / "out"
    cli("run", str(scenario), "--quiet")
    leaver = next(o for o in read_allocation(out / "allocation.csv") if o.status == "selected")
    old_events = read_calendar_csv(out / "calendar.csv")
    said = cli("withdraw", str(scenario), leaver.applicant_id, "--quiet")
    assert "matches.csv: skipped (no mentors.csv or coaches.csv" in said
    assert "calendar.csv: re-planned" in said
    assert not (out / "matches.csv").exists()
    loaded = load_scenario(scenario)
    events = read_calendar_csv(out / "calendar.csv")
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    assert calendar_violations(loaded, selected, [], events) == []
    assert len(events) == len(old_events)
    assert all(leaver.applicant_id not in e.attendee_ids for e in events)
