"""Programmes of other shapes (contract: selection modes, optional stages): the bundled
scenarios run natively, with every independent checker, and a stage the scenario does not
have is skipped, said so, and never filled with placeholders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import violations as check_calendar
from cohort_solver.checks.matching import violations as check_matching
from cohort_solver.cli import main
from cohort_solver.errors import InputError
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import OXFORD, ROOT, SMALL_TOML, write_small

EAST_HERTS = ROOT / "scenarios" / "east-herts-mdp-2017"
OXFORD_UNIVERSITY = ROOT / "scenarios" / "oxford-university-2024"


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--workers", "2"])
    return result.exit_code, result.output


def checked_run(folder: Path, out: Path) -> tuple[list, list, list]:
    """``run`` the folder, then re-check every output with the independent checkers."""
    code, output = run_cli("run", str(folder), "--out", str(out), "--quiet")
    assert code == 0, output
    scenario = load_scenario(folder)
    outcomes = read_allocation(out / "allocation.csv")
    assert allocation_violations(scenario, outcomes) == []
    selected = [o for o in outcomes if o.status == "selected"]
    matches = read_matches(
        out / "matches.csv", mentoring=bool(scenario.mentors), coaching=bool(scenario.coaches)
    )
    assert check_matching(scenario, selected, matches) == []
    events = read_calendar_csv(out / "calendar.csv")
    assert check_calendar(scenario, selected, matches, events) == []
    return outcomes, matches, events


@pytest.mark.slow
def test_east_herts_is_mandatory_for_every_senior_manager_over_24_months(tmp_path: Path) -> None:
    outcomes, matches, events = checked_run(EAST_HERTS, tmp_path / "out")
    status = {o.applicant_id: o.status for o in outcomes}
    scenario = load_scenario(EAST_HERTS)
    second_tier = [a.applicant_id for a in scenario.applicants if a.grade == 12]
    assert len(second_tier) == 14
    assert all(status[a] == "selected" for a in second_tier)
    assert not scenario.scores  # no panel: no dummy scores
    assert {m.participant_id for m in matches} == set(second_tier)
    assert all(m.mentor_id and m.coach_id for m in matches)
    start = scenario.settings.programme.start
    last = max(e.start for e in events).date()
    assert (last.year - start.year) * 12 + last.month - start.month + 1 == 24  # month 24


@pytest.mark.slow
def test_oxford_university_open_mentoring_scheme_has_no_scores_and_no_coaching(
    tmp_path: Path,
) -> None:
    outcomes, matches, events = checked_run(OXFORD_UNIVERSITY, tmp_path / "out")
    scenario = load_scenario(OXFORD_UNIVERSITY)
    assert not scenario.scores and not scenario.coaches
    selected = [o for o in outcomes if o.status == "selected" and o.cohort_id == "main"]
    assert len(selected) == 24  # 26 eligible sign-ups for 24 places: the lottery decides
    assert sum(o.status == "reserve" for o in outcomes) == 2
    assert {m.participant_id for m in matches} == {o.applicant_id for o in selected}
    assert all(o.score is None for o in outcomes)
    assert all(m.mentor_id and m.coach_id == "" for m in matches)
    assert not any(e.kind == "coaching" for e in events)
    (club,) = [e for e in events if e.session_key == "CLUB1"]  # "launches on 20 March"
    assert club.start.isoformat() == "2024-03-20T12:30:00+00:00" and club.venue_id is None
    assert not list((tmp_path / "out" / "ics").glob("coach-*"))


@pytest.mark.slow
def test_the_confident_managers_two_tracks_share_pod_and_get_no_mentor(tmp_path: Path) -> None:
    # Seed 001: "The Confident Manager ... with two tracks to support both new and more
    # experienced managers", beside the mentoring scheme. Each track has its own workshops,
    # the same two facilitators and one room serve all three, and matching = false keeps the
    # managers out of the mentors' capacity.
    outcomes, matches, events = checked_run(OXFORD_UNIVERSITY, tmp_path / "out")
    cohort = {o.applicant_id: o.cohort_id for o in outcomes if o.status == "selected"}
    assert sum(c == "cm-new" for c in cohort.values()) == 10
    assert sum(c == "cm-exp" for c in cohort.values()) == 8
    assert not {m.participant_id for m in matches} & {
        p for p, c in cohort.items() if c.startswith("cm-")
    }
    keys = {e.cohort_id: set() for e in events}
    for e in events:
        keys[e.cohort_id].add(e.session_key)
    assert keys["cm-new"] == {"CMN1", "CMN2", "CMN3", "CMN4"}
    assert keys["cm-exp"] == {"CMX1", "CMX2", "CMX3", "CMX4"}
    for person in ("POD1", "POD2", "V-LGH"):  # shared across tracks: never two at once
        mine = sorted((e.start, e.end) for e in events if person in (*e.attendee_ids, e.venue_id))
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False)), person
    assert {e.cohort_id for e in events if "POD1" in e.attendee_ids} >= {"main", "cm-new", "cm-exp"}


def test_a_coaching_row_held_by_a_track_without_matching_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(OXFORD_UNIVERSITY, folder)
    with (folder / "programme.csv").open("a") as f:
        f.write("CM-COACH,Coaching for new managers,coaching,3,60,,,,,,,CM-new\n")
    code, output = run_cli("validate", str(folder))
    assert code == 2
    rows = (folder / "programme.csv").read_text().count("\n")
    assert f"programme.csv:{rows}:12: coaching session 'CM-COACH' is held by track(s) CM-new" in (
        output
    )


def _without(tmp_path: Path, *stems: str, mode: str = "open") -> Path:
    folder = tmp_path / "scenario"
    shutil.copytree(OXFORD, folder)
    for stem in ("conflicts", "unavailability", *stems):
        (folder / f"{stem}.csv").unlink()
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text().replace("[selection]\n", f'[selection]\nmode = "{mode}"\n'))
    return folder


@pytest.mark.slow
def test_a_scenario_with_only_applicants_allocates_and_says_what_it_skipped(
    tmp_path: Path,
) -> None:
    folder = _without(tmp_path, "mentors", "coaches", "programme", "scores")
    code, output = run_cli("validate", str(folder))
    assert code == 0, output
    assert "stage matching: skipped (no mentors.csv or coaches.csv" in output
    assert "stage calendar: skipped (no programme.csv" in output
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "matching: skipped (no mentors.csv or coaches.csv" in result.output
    assert "calendar skipped: no programme.csv" in result.output
    assert {p.name for p in out.iterdir()} == {
        "allocation.csv",
        "decision_log.csv",
        "feedback.csv",  # a paragraph per applicant, too
        "panel.xlsx",  # the panel's workbook comes with every allocation
        "report.html",
        "solution.json",
    }
    scenario = load_scenario(folder)
    assert allocation_violations(scenario, read_allocation(out / "allocation.csv")) == []


@pytest.mark.slow
def test_a_run_over_an_earlier_one_removes_the_files_of_stages_it_no_longer_has(
    tmp_path: Path,
) -> None:
    # The earlier run matched and scheduled; the programme then dropped mentoring, coaching and
    # its calendar. A matches.csv or calendar.csv left beside the new allocation would read as
    # this run's (the contract: --out holds only what the last commands wrote).
    folder = tmp_path / "scenario"
    shutil.copytree(OXFORD, folder)
    out = tmp_path / "out"
    code, output = run_cli("run", str(folder), "--out", str(out), "--quiet")
    assert code == 0, output
    assert {"matches.csv", "calendar.csv", "ics"} <= {p.name for p in out.iterdir()}
    for stem in ("mentors", "coaches", "programme", "conflicts", "unavailability"):
        (folder / f"{stem}.csv").unlink()
    code, output = run_cli("run", str(folder), "--out", str(out))
    assert code == 0, output
    assert "matches.csv: removed" in output and "calendar.csv: removed" in output
    names = {p.name for p in out.iterdir()}
    assert not names & {"matches.csv", "calendar.csv", "ics", "changes.csv", "notices.csv"}


@pytest.mark.slow
def test_a_run_removes_the_file_of_a_scheme_taken_out_of_the_toml(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(OXFORD_UNIVERSITY, folder)
    out = tmp_path / "out"
    code, output = run_cli("run", str(folder), "--out", str(out), "--quiet")
    assert code == 0, output
    assert (out / "swaps.csv").is_file() and (out / "coaching.csv").is_file()
    toml = folder / "scenario.toml"
    text = toml.read_text()
    start = text.index('[[markets]]\nname = "swaps"')
    end = text.find("\n[", start + 1)
    toml.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))
    code, output = run_cli("run", str(folder), "--out", str(out))
    assert code == 0, output
    assert "swaps.csv: removed" in output
    assert not (out / "swaps.csv").exists() and (out / "coaching.csv").is_file()


def test_asking_for_a_stage_the_programme_lacks_is_exit_2(tmp_path: Path) -> None:
    folder = _without(tmp_path, "mentors", "coaches", "programme", "scores")
    code, output = run_cli("match", str(folder), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 2
    assert "the programme has no matching stage" in output


def test_coaching_without_mentors_matches_coaches_only(tmp_path: Path) -> None:
    folder = _without(tmp_path, "mentors", "programme", "scores")
    out = tmp_path / "out"
    code, output = run_cli("match", str(folder), "--out", str(out), "--quiet")
    assert code == 0, output
    scenario = load_scenario(folder)
    outcomes = read_allocation(out / "allocation.csv")
    selected = [o for o in outcomes if o.status == "selected"]
    matches = read_matches(out / "matches.csv", mentoring=False)
    assert len(matches) == len(selected) == 12
    assert all(m.mentor_id == "" and m.mentor_fit == 0 and m.coach_id for m in matches)
    assert check_matching(scenario, selected, matches) == []
    # A blank mentor is unlawful once the programme has mentors.
    with_mentors = scenario.model_copy(update={"mentors": load_scenario(OXFORD).mentors})
    assert any("unknown mentor" in v for v in check_matching(with_mentors, selected, matches))


def test_a_competitive_selection_without_scores_is_bad_input(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s", SMALL_TOML)
    (folder / "scores.csv").unlink()
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("scores.csv", 1, 1)
    assert "a competitive selection needs the panel's scores" in problem.message
    assert 'mode = "open"' in problem.message


def test_a_coaching_session_without_coaches_is_bad_input_at_its_kind_cell(tmp_path: Path) -> None:
    folder = _without(tmp_path, "coaches", "scores")
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    problems = [p for p in caught.value.problems if "no coaches.csv" in p.message]
    rows = [i for i, line in enumerate((folder / "programme.csv").read_text().splitlines(), 1)]
    coaching = [
        n
        for n, line in zip(rows, (folder / "programme.csv").read_text().splitlines(), strict=True)
        if ",coaching," in line
    ]
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("programme.csv", n, 3) for n in coaching
    ]


@pytest.mark.slow
def test_online_sessions_book_no_venue_and_in_person_ones_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _, matches, events = checked_run(EAST_HERTS, out)
    scenario = load_scenario(EAST_HERTS)
    online = {s.session_key for s in scenario.programme if s.mode == "online"}
    assert {"POL", "DIG", "MIND", "VAL"} <= online
    for e in events:
        if e.session_key in online or e.kind == "coaching":
            assert e.venue_id is None, e.event_id
        else:
            assert e.venue_id in {"V-CHAMBER", "V-MR1"}, e.event_id
    feed = (out / "ics" / "cohort-main.ics").read_text()
    blocks = feed.split("BEGIN:VEVENT")
    digital = next(b for b in blocks if "SUMMARY:Digital skills" in b)
    partners = next(b for b in blocks if "SUMMARY:Working with Partners" in b)
    assert "LOCATION:Online" in digital
    assert "LOCATION:Wallfields Council Chamber" in partners
    # The checker refuses an online session given a room.
    dig = next(e for e in events if e.session_key == "DIG")
    moved = [e.model_copy(update={"venue_id": "V-MR1"}) if e is dig else e for e in events]
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    assert f"{dig.event_id}: an online session with a venue" in check_calendar(
        scenario, selected, matches, moved
    )


@pytest.mark.parametrize(
    ("kind", "mode", "message"),
    [
        ("coaching", "in_person", "a coaching session is held online"),
        ("group", "hybrid", "mode"),
    ],
)
def test_a_session_mode_that_cannot_be_is_bad_input(
    tmp_path: Path, kind: str, mode: str, message: str
) -> None:
    folder = tmp_path / "s"
    shutil.copytree(OXFORD, folder)
    programme = folder / "programme.csv"
    lines = programme.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if f",{kind}," in line)
    lines = [
        line + (",mode" if i == 0 else f",{mode}" if i == row else ",")
        for i, line in enumerate(lines)
    ]
    programme.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    # (A refused row is also an unknown session wherever `after` names it.)
    (problem,) = [p for p in caught.value.problems if p.row == row + 1]
    assert (problem.file, problem.column) == ("programme.csv", 9)
    assert message in problem.message


def _fixed(tmp_path: Path, key: str, day: str, clock: str = "") -> Path:
    """oxford-2024 with one session's date (and start time) fixed, group sessions on Tuesdays."""
    folder = tmp_path / "fixed"
    shutil.copytree(OXFORD, folder)
    toml = folder / "scenario.toml"
    toml.write_text(
        toml.read_text().replace(
            'group_weekdays = ["Tue", "Wed", "Thu"]', 'group_weekdays = ["Tue"]'
        )
    )
    programme = folder / "programme.csv"
    lines = programme.read_text().splitlines()
    programme.write_text(
        "\n".join(
            line
            + (
                ",date,start_time"
                if i == 0
                else f",{day},{clock}"
                if line.startswith(f"{key},")
                else ",,"
            )
            for i, line in enumerate(lines)
        )
        + "\n"
    )
    return folder


@pytest.mark.slow
def test_a_fixed_date_and_time_is_kept_even_off_the_group_weekdays(tmp_path: Path) -> None:
    # W01 is in month 2 (May 2024); 15 May is a Wednesday, not a group weekday (Tue).
    folder = _fixed(tmp_path, "W01", "2024-05-15", "13:00")
    out = tmp_path / "out"
    _, _, events = checked_run(folder, out)
    (w01,) = [e for e in events if e.session_key == "W01"]
    assert w01.start.isoformat() == "2024-05-15T13:00:00+01:00"


@pytest.mark.slow
def test_the_checker_refuses_a_fixed_session_moved(tmp_path: Path) -> None:
    folder = _fixed(tmp_path, "W01", "2024-05-15", "13:00")
    out = tmp_path / "out"
    _, matches, events = checked_run(folder, out)
    scenario = load_scenario(folder)
    from datetime import timedelta

    moved = [
        e.model_copy(
            update={"start": e.start + timedelta(days=1), "end": e.end + timedelta(days=1)}
        )
        if e.session_key == "W01"
        else e
        for e in events
    ]
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    problems = check_calendar(scenario, selected, matches, moved)
    assert "main/W01: on 2024-05-16, not its fixed date 2024-05-15" in problems


@pytest.mark.parametrize(
    ("day", "clock", "column", "message"),
    [
        (
            "2024-06-13",
            "",
            9,
            "date 2024-06-13 is not in programme month 2 (2024-05-01 to 2024-05-31)",
        ),
        ("2024-05-13", "13:10", 10, "start_time 13:10 is not on the 30-minute grid from 09:00"),
        ("2024-05-13", "14:00", 10, "start_time 14:00 + 210 minutes is outside the working day"),
        ("13/05/2024", "", 9, "is not an ISO date"),
    ],
)
def test_a_fixed_date_or_time_that_cannot_be_is_bad_input_at_its_cell(
    tmp_path: Path, day: str, clock: str, column: int, message: str
) -> None:
    folder = _fixed(tmp_path, "W01", day, clock)
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    row = 3  # W01 is the second session
    found = [p for p in caught.value.problems if p.row == row]
    assert [(p.file, p.column) for p in found] == [("programme.csv", column)]
    assert message in found[0].message


def test_a_fixed_date_on_a_bank_holiday_is_infeasible_and_explained(tmp_path: Path) -> None:
    folder = _fixed(tmp_path, "W01", "2024-05-27")  # the spring bank holiday
    code, output = run_cli("run", str(folder), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 1, output
    assert (
        "W01" in output and "its fixed date Mon 27 May 2024 is a weekend or bank holiday" in output
    )
