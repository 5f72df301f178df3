"""Flexible attendance (issue 16, item 4): a session offered as runs, each participant in
exactly one run of it. The stage (``stages/schedule/runs.py``) is compared with a brute force
over every assignment on generated small programmes, its calendar is re-checked by the
independent checker (``check_runs`` and the calendar's own rules), and the bundled East Herts
scenario runs with every checker."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver.checks.calendar import (
    check_availability,
    check_no_double_booking,
    check_runs,
    check_working_days,
    run_balance,
)
from cohort_solver.checks.calendar import violations as check_calendar
from cohort_solver.cli import main
from cohort_solver.domain.results import Decision, Event
from cohort_solver.errors import InputError
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Grid
from cohort_solver.stages.schedule.runs import place_runs
from cohort_solver.stages.schedule.search import Search
from cohort_solver.stages.schedule.slots import unavailable_slots, working_days

ROOT = Path(__file__).resolve().parents[1]
EAST_HERTS = ROOT / "scenarios" / "east-herts-mdp-2017"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
# Weekdays of programme month 1 (April 2017) that are not bank holidays (Easter is 14-17 April).
DAYS = (date(2017, 4, 18), date(2017, 4, 19), date(2017, 4, 20), date(2017, 4, 24))
TOML = """[programme]
name = "Runs"
organisation = "Test Council"
start = "2017-04-03"
timezone = "Europe/London"
holidays = "GB-ENG"

[selection]
mode = "mandatory"
places = 10
eligible_grades = [12]
seed = 1

[calendar]
day_start = "09:00"
day_end = "17:00"
slot_minutes = 60
"""


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    with (folder / name).open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@st.composite
def programmes(draw: st.DrawFn) -> dict:
    """1-4 participants (some part-time, some away for a while), 1-2 flexible sessions of
    1-3 runs each, on fixed dates and times (so a brute force sees every choice), with
    facilitators and venues that runs may share."""
    people = draw(st.integers(1, 4))
    participants = []
    for i in range(people):
        days = (
            draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1)) if draw(st.booleans()) else set()
        )
        away = None
        if draw(st.integers(0, 3)) == 0:
            day = draw(st.sampled_from(DAYS))
            hour = draw(st.integers(9, 15))
            away = (datetime.combine(day, time(hour)), datetime.combine(day, time(hour + 2)))
        participants.append((f"P{i + 1}", [d for d in WEEKDAYS if d in days], away))
    sessions = []
    for k in range(draw(st.integers(1, 2))):
        minutes = draw(st.sampled_from([60, 120]))
        runs = []
        for r in range(draw(st.integers(1, 3))):
            runs.append(
                {
                    "run": r + 1,
                    "date": draw(st.sampled_from(DAYS)),
                    "hour": draw(st.integers(9, 14)),
                    "venue": draw(st.sampled_from(["V1", "V2"])),
                    "capacity": draw(st.integers(1, 3)),
                }
            )
        sessions.append(
            {
                "key": f"S{k + 1}",
                "minutes": minutes,
                "fac": draw(st.sampled_from(["F1", "F2"])),
                "runs": runs,
            }
        )
    seats = {"V1": draw(st.integers(2, 4)), "V2": draw(st.integers(2, 4))}
    return {"participants": participants, "sessions": sessions, "seats": seats}


def _folder(tmp: Path, p: dict) -> Path:
    folder = tmp / "scenario"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(TOML)
    _write(
        folder,
        "applicants.csv",
        [
            "applicant_id",
            "grade",
            "probation_passed",
            "line_manager_approved",
            "performance_eligible",
            "working_days",
        ],
        [[pid, 12, "yes", "yes", "yes", ";".join(days)] for pid, days, _ in p["participants"]],
    )
    _write(
        folder,
        "programme.csv",
        ["session_key", "title", "kind", "month", "duration_minutes", "facilitator"],
        [
            [s["key"], f"Core element {s['key']}", "flexible", 1, s["minutes"], s["fac"]]
            for s in p["sessions"]
        ],
    )
    _write(
        folder,
        "runs.csv",
        ["session_key", "run", "month", "date", "start_time", "venue", "capacity"],
        [
            [
                s["key"],
                r["run"],
                1,
                r["date"].isoformat(),
                f"{r['hour']:02d}:00",
                r["venue"],
                r["capacity"],
            ]
            for s in p["sessions"]
            for r in s["runs"]
        ],
    )
    _write(folder, "people.csv", ["person_id", "name"], [["F1", "Fac One"], ["F2", "Fac Two"]])
    _write(
        folder,
        "venues.csv",
        ["venue_id", "capacity"],
        [[v, n] for v, n in sorted(p["seats"].items())],
    )
    _write(
        folder,
        "unavailability.csv",
        ["id", "start", "end"],
        [
            [pid, a.isoformat(), b.isoformat()]
            for pid, _, away in p["participants"]
            if away
            for a, b in [away]
        ],
    )
    return folder


def _brute_force(p: dict) -> int | None:
    """The least run_balance over every assignment of each participant to one run of each
    session, or None when none keeps every rule. Plain datetimes, no solver."""

    def when(s: dict, r: dict) -> tuple[datetime, datetime]:
        start = datetime.combine(r["date"], time(r["hour"]))
        return start, start + timedelta(minutes=s["minutes"])

    def can(pid_days: list[str], away: tuple[datetime, datetime] | None, s: dict, r: dict) -> bool:
        a, b = when(s, r)
        if b.time() > time(17):
            return False
        if pid_days and r["date"].strftime("%a") not in pid_days:
            return False
        return not (away and away[0] < b and a < away[1])

    choices = []
    for pid, days, away in p["participants"]:
        for s in p["sessions"]:
            choices.append([(pid, s["key"], r["run"]) for r in s["runs"] if can(days, away, s, r)])
    best = None
    for pick in itertools.product(*choices):
        load: dict[tuple[str, int], list[str]] = {}
        for pid, key, run in pick:
            load.setdefault((key, run), []).append(pid)
        if not _lawful(p, load, when):
            continue
        cost = 0
        for s in p["sessions"]:
            share = -(-len(p["participants"]) // len(s["runs"]))
            cost += sum(max(0, len(load.get((s["key"], r["run"]), [])) - share) for r in s["runs"])
        best = cost if best is None else min(best, cost)
    return best


def _lawful(p: dict, load: dict, when: Callable[[dict, dict], tuple[datetime, datetime]]) -> bool:
    by_key = {s["key"]: s for s in p["sessions"]}
    booked: dict[str, list[tuple[datetime, datetime]]] = {}
    for (key, run), pids in load.items():
        s = by_key[key]
        r = next(r for r in s["runs"] if r["run"] == run)
        if len(pids) > min(r["capacity"], p["seats"][r["venue"]] - 1):
            return False
        for who in [*pids, s["fac"], r["venue"]]:
            booked.setdefault(who, []).append(when(s, r))
    for spans in booked.values():
        spans.sort()
        if any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
            return False
    return True


def _events(demands: Sequence[Demand]) -> list[Event]:
    """The runs' demands as calendar.csv rows (each is held at its fixed date and time)."""
    zone = ZoneInfo("Europe/London")
    out = []
    for d in demands:
        start = datetime.combine(d.session.fixed_date, d.session.fixed_time).replace(tzinfo=zone)
        out.append(
            Event(
                event_id=d.event_id,
                session_key=d.key,
                title=d.session.title,
                kind=d.session.kind,
                cohort_id=d.cohort_id,
                start=start,
                end=start + timedelta(minutes=d.session.duration_minutes),
                venue_id=d.venues[0] if d.venues else None,
                attendee_ids=d.attendees,
            )
        )
    return out


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=programmes())
def test_the_stage_agrees_with_a_brute_force_and_the_checker(tmp_path: Path, p: dict) -> None:
    scenario = load_scenario(_folder(tmp_path, p))
    selected = [
        Decision.model_construct(applicant_id=pid, cohort_id="main", status="selected")
        for pid, _, _ in p["participants"]
    ]
    grid = Grid(scenario)
    blocked, works = unavailable_slots(scenario, grid), working_days(scenario)
    result, causes = place_runs(scenario, grid, blocked, works, selected, Search(60, 1), 0)
    best = _brute_force(p)
    if best is None:
        assert causes, "the brute force finds no assignment, the stage found one"
        assert result.demands == ()
        return
    assert not causes, f"the brute force found an assignment of cost {best}: {causes}"
    events = _events(result.demands)
    assert check_runs(scenario, selected, events) == []
    assert check_no_double_booking(events) == []
    assert check_availability(scenario, events) == []
    assert check_working_days(scenario, events) == []
    assert result.level is not None and result.optimal
    assert result.level.value == best == run_balance(scenario, selected, events)


def test_a_participant_who_can_attend_no_run_is_named_with_every_run(tmp_path: Path) -> None:
    # P1 works Mondays only; both runs of S1 are on a Tuesday and a Wednesday: no assignment.
    p = {
        "participants": [("P1", ["Mon"], None), ("P2", [], None)],
        "sessions": [
            {
                "key": "S1",
                "minutes": 60,
                "fac": "F1",
                "runs": [
                    {"run": 1, "date": DAYS[0], "hour": 10, "venue": "V1", "capacity": 2},
                    {"run": 2, "date": DAYS[1], "hour": 10, "venue": "V1", "capacity": 2},
                ],
            }
        ],
        "seats": {"V1": 4, "V2": 4},
    }
    assert _brute_force(p) is None
    folder = _folder(tmp_path, p)
    result = CliRunner().invoke(
        main, ["run", str(folder), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert "P1 can attend no run of S1" in result.output
    assert "run 1:" in result.output and "run 2:" in result.output


def test_runs_that_clash_for_everyone_are_named_with_their_people(tmp_path: Path) -> None:
    # Two sessions, one run each, at the same time: nobody can attend both (a proof by CP-SAT).
    one = {"run": 1, "date": DAYS[0], "hour": 10, "venue": "V1", "capacity": 3}
    p = {
        "participants": [("P1", [], None), ("P2", [], None)],
        "sessions": [
            {"key": "S1", "minutes": 60, "fac": "F1", "runs": [one]},
            {"key": "S2", "minutes": 60, "fac": "F2", "runs": [{**one, "venue": "V2"}]},
        ],
        "seats": {"V1": 4, "V2": 4},
    }
    assert _brute_force(p) is None
    folder = _folder(tmp_path, p)
    result = CliRunner().invoke(
        main, ["run", str(folder), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert "S1, S2" in result.output and "P1, P2" in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda rows: rows.__setitem__(1, ["NOPE", 1, 1, "", "", "V1", 2]),
            "is not a flexible session",
        ),
        (lambda rows: rows.__setitem__(1, ["S1", 1, 3, "", "", "V1", 2]), "outside S1's window"),
        (lambda rows: rows.__setitem__(1, ["S1", 1, 1, "", "", "", 2]), "give run 1 a venue"),
        (
            lambda rows: rows.__setitem__(1, ["S1", 1, 1, "", "", "V9", 2]),
            "'V9' is not in venues.csv",
        ),
        (lambda rows: rows.append(["S1", 1, 1, "", "", "V1", 2]), "run 1 of S1 is also row 2"),
        (
            lambda rows: rows.__setitem__(1, ["S1", 1, 1, "2017-05-02", "", "V1", 2]),
            "is not in programme month 1",
        ),
        (
            lambda rows: rows.__setitem__(1, ["S1", 1, 1, "", "16:30", "V1", 2]),
            "start_time 16:30 is not on",
        ),
    ],
)
def test_runs_csv_problems_are_bad_input_at_their_cell(
    tmp_path: Path, edit: Callable[[list[list[object]]], None], message: str
) -> None:
    p = {
        "participants": [("P1", [], None)],
        "sessions": [
            {
                "key": "S1",
                "minutes": 60,
                "fac": "F1",
                "runs": [{"run": 1, "date": DAYS[0], "hour": 10, "venue": "V1", "capacity": 2}],
            }
        ],
        "seats": {"V1": 4, "V2": 4},
    }
    folder = _folder(tmp_path, p)
    with (folder / "runs.csv").open() as f:
        rows: list[list[object]] = list(csv.reader(f))
    edit(rows)
    _write(folder, "runs.csv", [str(c) for c in rows[0]], rows[1:])
    with pytest.raises(InputError) as raised:
        load_scenario(folder)
    assert any(
        message in str(problem) and "runs.csv:" in str(problem) for problem in raised.value.problems
    ), raised.value


def test_a_flexible_session_without_runs_is_bad_input(tmp_path: Path) -> None:
    p = {
        "participants": [("P1", [], None)],
        "sessions": [{"key": "S1", "minutes": 60, "fac": "F1", "runs": []}],
        "seats": {"V1": 4, "V2": 4},
    }
    folder = _folder(tmp_path, p)
    (folder / "runs.csv").unlink()
    with pytest.raises(InputError, match="flexible session 'S1' has no runs"):
        load_scenario(folder)


@pytest.fixture(scope="module")
def east_herts(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("east-herts") / "out"
    result = CliRunner().invoke(
        main, ["run", str(EAST_HERTS), "--out", str(out), "--workers", "2", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    scenario = load_scenario(EAST_HERTS)
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    matches = read_matches(out / "matches.csv", mentoring=True, coaching=True)
    return out, scenario, selected, matches, read_calendar_csv(out / "calendar.csv")


@pytest.mark.slow
def test_east_herts_core_elements_are_runs_each_manager_attends_once(east_herts) -> None:
    out, scenario, selected, matches, events = east_herts
    assert check_calendar(scenario, selected, matches, events) == []
    flexible = [s for s in scenario.programme if s.kind == "flexible"]
    assert len(flexible) == 17  # the seed's core elements
    runs = [e for e in events if e.kind == "flexible"]
    for s in flexible:
        mine = [e for e in runs if e.session_key == s.session_key]
        attending = sorted(p for e in mine for p in e.attendee_ids if p.startswith("SM"))
        assert attending == sorted(o.applicant_id for o in selected)  # each exactly once
    fin2 = next(e for e in runs if e.event_id == "runs/FIN/2")  # runs.csv fixes its date
    assert fin2.start.isoformat() == "2017-12-12T10:00:00+00:00"
    levels = json.loads((out / "solution.json").read_text())["stages"]["calendar"]["objectives"]
    balance = next(lv for lv in levels if lv["name"] == "run_balance")
    assert balance["value"] == run_balance(scenario, selected, events) == balance["bound"]


@pytest.mark.slow
def test_the_checker_refuses_a_manager_in_two_runs_or_none(east_herts) -> None:
    _, scenario, selected, _, events = east_herts
    r1 = next(e for e in events if e.event_id == "runs/FIN/1")
    r2 = next(e for e in events if e.event_id == "runs/FIN/2")
    moved = next(p for p in r1.attendee_ids if p.startswith("SM"))
    tampered = [
        e.model_copy(update={"attendee_ids": tuple(sorted({*e.attendee_ids, moved}))})
        if e is r2
        else e
        for e in events
    ]
    assert any(f"{moved}: in 2 runs of FIN" in v for v in check_runs(scenario, selected, tampered))
    dropped = [
        e.model_copy(update={"attendee_ids": tuple(p for p in e.attendee_ids if p != moved)})
        if e is r1
        else e
        for e in events
    ]
    assert any(f"{moved}: in 0 runs of FIN" in v for v in check_runs(scenario, selected, dropped))


@pytest.mark.slow
def test_explain_says_which_run_a_manager_attends_and_why_not_the_others(east_herts) -> None:
    out, _, _, _, events = east_herts
    result = CliRunner().invoke(main, ["explain", str(EAST_HERTS), "SM05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SM05 attends run" in result.output and "of Strategic Finance" in result.output


def test_a_run_at_the_time_of_a_fixed_session_is_not_open_to_its_attendees(tmp_path: Path) -> None:
    # S1's only run is at 10:00 on 18 April; the launch is fixed then for the whole cohort, so
    # nobody can attend the run: a proof that holds in every calendar (exit 1, not a guess).
    only = {"run": 1, "date": DAYS[0], "hour": 10, "venue": "V1", "capacity": 3}
    p = {
        "participants": [("P1", [], None), ("P2", [], None)],
        "sessions": [{"key": "S1", "minutes": 60, "fac": "F1", "runs": [only]}],
        "seats": {"V1": 4, "V2": 4},
    }
    folder = _folder(tmp_path, p)
    _write(
        folder,
        "programme.csv",
        ["session_key", "title", "kind", "month", "duration_minutes", "facilitator"]
        + ["date", "start_time"],
        [
            ["S1", "Core element S1", "flexible", 1, 60, "F1", "", ""],
            ["LAUNCH", "Launch", "cohort_event", 1, 120, "F2", DAYS[0].isoformat(), "09:00"],
        ],
    )
    result = CliRunner().invoke(
        main, ["run", str(folder), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert "P1 can attend no run of S1" in result.output
    assert "fixed date and time" in result.output


@pytest.mark.slow
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=programmes(), free=st.lists(st.booleans(), min_size=6, max_size=6))
def test_runs_the_solver_times_are_lawful_in_the_whole_calendar(
    tmp_path: Path, p: dict, free: list[bool]
) -> None:
    """Runs with blank dates and times (the solver picks them in the month), beside a launch
    with a fixed time: whenever the stage returns a calendar, the independent checker accepts
    all of it; when it says infeasible (exit 1) the proof names a run, or the launch when its
    part-timers share no working day."""
    folder = _folder(tmp_path, p)
    with (folder / "runs.csv").open() as f:
        rows = list(csv.reader(f))
    for row, blank in zip(rows[1:], free, strict=False):
        if blank:
            row[3] = row[4] = ""
    _write(folder, "runs.csv", rows[0], rows[1:])
    with (folder / "programme.csv").open() as f:
        table = list(csv.reader(f))
    table.append(["LAUNCH", "Launch", "cohort_event", "1", "60", "F2"])
    _write(folder, "programme.csv", table[0], table[1:])
    with (folder / "venues.csv").open("a") as f:
        f.write("HALL,20\n")  # the launch's room (the runs' rooms may be small)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(out), "--quiet"])
    if result.exit_code == 1:  # a proof: the runs', or the launch's (part-timers with no day)
        assert " run" in result.output or "LAUNCH 'Launch': no possible time" in result.output, (
            result.output
        )
        return
    assert result.exit_code == 0, result.output
    scenario = load_scenario(folder)
    selected = [o for o in read_allocation(out / "allocation.csv") if o.status == "selected"]
    events = read_calendar_csv(out / "calendar.csv")
    assert check_calendar(scenario, selected, [], events) == []
    assert sum(e.kind == "flexible" for e in events) >= len(p["sessions"])


def test_a_calendar_that_does_not_fit_around_the_runs_is_no_proof_exit_4(tmp_path: Path) -> None:
    # S1's only run is fixed to 18 April (any time) and lasts the whole day; so does the launch,
    # fixed to the same day. The runs are placed first (18 April), then the launch has no time:
    # without the runs the calendar fits, so the stage proves nothing and says so (exit 4).
    only = {"run": 1, "date": DAYS[0], "hour": 9, "venue": "V1", "capacity": 3}
    p = {
        "participants": [("P1", [], None), ("P2", [], None)],
        "sessions": [{"key": "S1", "minutes": 480, "fac": "F1", "runs": [only]}],
        "seats": {"V1": 4, "V2": 4},
    }
    folder = _folder(tmp_path, p)
    _write(
        folder,
        "runs.csv",
        ["session_key", "run", "month", "date", "start_time", "venue", "capacity"],
        [["S1", 1, 1, DAYS[0].isoformat(), "", "V1", 3]],
    )
    _write(
        folder,
        "programme.csv",
        ["session_key", "title", "kind", "month", "duration_minutes", "facilitator", "date"],
        [
            ["S1", "Core element S1", "flexible", 1, 480, "F1", ""],
            ["LAUNCH", "Launch", "cohort_event", 1, 480, "F2", DAYS[0].isoformat()],
        ],
    )
    result = CliRunner().invoke(
        main, ["run", str(folder), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 4, result.output
    assert "so this is no proof" in result.output
    assert "Traceback" not in result.output
