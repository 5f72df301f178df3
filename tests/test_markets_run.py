"""`run` with [[markets]]: every scheme solved before the calendar and written with the rest
in one step; solution.json records each scheme; report.html has a section per scheme; the
adopted placements keep full-time placement days free of sessions and show in the
participant's own feed. Both bundled scenarios with schemes run and pass every checker."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver import pipeline
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import violations as calendar_violations
from cohort_solver.checks.markets import (
    check_market,
    check_placements,
    check_sessions_outside_placements,
    check_swaps,
)
from cohort_solver.checks.matching import violations as matching_violations
from cohort_solver.cli import main
from cohort_solver.domain.markets import (
    Pair,
    PlacementMarket,
    PlacementResult,
    Reading,
    SignUpMarket,
    SwapMarket,
    SwapResult,
)
from cohort_solver.domain.results import Event
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.report.markets import HIDDEN, suppressed_counts
from tests.test_ics import ical_npm, icaljs  # noqa: F401 - fixtures

from .conftest import ROOT

OXFORD_UNIVERSITY = ROOT / "scenarios" / "oxford-university-2024"
STAFFORDSHIRE = ROOT / "scenarios" / "staffordshire-hps-2019"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--workers", "2", "--quiet"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def adopted_pairs(out: Path, name: str, reading: str) -> Reading:
    """The adopted reading's placements as placements.csv lists them (not the solver's objects)."""
    rows = [r for r in csv.DictReader((out / f"{name}.csv").open()) if r["reading"] == reading]
    pairs = tuple(
        Pair(r["person_id"], r["placement_id"], int(r["fit"]), None, None)
        for r in rows
        if r["person_id"] and r["placement_id"]
    )
    return Reading("stable", pairs, (), 0, None, True)


def checked_run(folder: Path, out: Path, *sets: str) -> tuple[str, list[Event]]:
    """``run``, then every output re-checked: allocation, matching, calendar, each scheme,
    and no session inside a blocking placement."""
    extra = [arg for s in sets for arg in ("--set", s)]
    code, output = invoke("run", str(folder), "--out", str(out), *extra)
    assert code == 0, output
    scenario = load_scenario(folder, sets)
    outcomes = read_allocation(out / "allocation.csv")
    assert allocation_violations(scenario, outcomes) == []
    selected = [o for o in outcomes if o.status == "selected"]
    matches = (
        read_matches(out / "matches.csv", mentoring=bool(scenario.mentors), coaching=False)
        if scenario.mentors
        else []
    )
    if matches:
        assert matching_violations(scenario, selected, matches) == []
    events = read_calendar_csv(out / "calendar.csv")
    assert calendar_violations(scenario, selected, matches, events) == []
    solved = pipeline.solved_markets(scenario)
    assert pipeline.market_files([s.result for s in solved]) == {
        f"{s.market.name}.csv": (out / f"{s.market.name}.csv").read_text() for s in solved
    }
    zone = scenario.settings.programme.timezone
    for s in solved:
        market, result = s.market, s.result
        if isinstance(market, SignUpMarket) and not isinstance(result, SwapResult):
            assert check_market(market, result) == []
        elif isinstance(market, SwapMarket) and isinstance(result, SwapResult):
            assert check_swaps(market, result) == []
        elif isinstance(market, PlacementMarket) and isinstance(result, PlacementResult):
            assert check_placements(market, result) == []
            reading = adopted_pairs(out, market.name, market.adopt)
            assert check_sessions_outside_placements(market, reading, events, zone) == []
    return output, events


@pytest.mark.slow
def test_oxford_university_runs_its_mentoring_coaching_and_swap_schemes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output, _ = checked_run(OXFORD_UNIVERSITY, out)
    for name in ("mentoring", "coaching", "swaps"):
        assert (out / f"{name}.csv").is_file()
    assert "mentoring: max_fit 28 pairs" in output and "stability costs" in output
    assert "swaps: optimal" in output
    stages = json.loads((out / "solution.json").read_text())["stages"]
    assert {"market:mentoring", "market:coaching", "market:swaps"} <= set(stages)
    swaps = stages["market:swaps"]
    assert swaps["status"] == "optimal" and swaps["solver"] == "CP-SAT"
    moved = next(o for o in swaps["objectives"] if o["name"] == "people_moved")
    assert moved["value"] == moved["bound"] == 14
    assert stages["market:mentoring"]["notes"] == ["adopted reading: stable"]
    # The mentor-and-coach matching of the selected participants is the one `match` makes.
    code, output = invoke("match", str(OXFORD_UNIVERSITY), "--out", str(tmp_path / "m"))
    assert code == 0, output
    assert (out / "matches.csv").read_bytes() == (tmp_path / "m" / "matches.csv").read_bytes()
    html = (out / "report.html").read_text()
    assert "<h3>mentoring (sign-up scheme)</h3>" in html
    assert "<h3>swaps (job swaps)</h3>" in html and "three-way" in html
    assert "mentoring: the stable reading" in html and "Stability costs 11 points" in html
    # Two mentees are left unmatched by the stable reading: a count under 3, so hidden.
    assert HIDDEN in html


@pytest.mark.slow
def test_staffordshire_placements_keep_full_time_days_free(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output, events = checked_run(STAFFORDSHIRE, out)
    assert "placements: max_fit 10 pairs" in output
    # HP01 (north) and HP03 (south) are in community nursing teams 1-12 July, full time: not
    # released, so neither cohort's inclusive leadership workshop falls on those days.
    incl = [e for e in events if e.session_key == "INCL"]
    assert len(incl) == 2 and all(e.start.date() > date(2019, 7, 12) for e in incl)
    alumni = next(e for e in events if e.session_key == "ALUMNI")
    assert alumni.start.isoformat() == "2019-06-13T09:30:00+01:00"  # "Thursday 13 June"
    # Allowed during placements, the same session lands inside them: the rule is what moved it.
    allowed = tmp_path / "allowed"
    _, loose = checked_run(STAFFORDSHIRE, allowed, "markets.0.sessions_during_placements=allowed")
    scenario = load_scenario(STAFFORDSHIRE)
    (market,) = [m.market for m in pipeline.solved_markets(scenario)]
    assert isinstance(market, PlacementMarket)
    reading = adopted_pairs(allowed, "placements", "stable")
    found = check_sessions_outside_placements(market, reading, loose, "Europe/London")
    assert any("north/INCL: HP01 is on full-time placement P-MPFT-COMM" in p for p in found)


@pytest.mark.slow
def test_a_placement_is_an_all_day_range_in_its_participants_own_feed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    checked_run(STAFFORDSHIRE, out)

    def placements(feed: str) -> list[icalendar.Event]:
        calendar = icalendar.Calendar.from_ical((out / "ics" / feed).read_bytes())
        return [c for c in calendar.walk("VEVENT") if str(c["UID"]).startswith("placement-")]

    (finance,) = placements("participant-HP04.ics")
    assert finance.decoded("DTSTART") == date(2020, 1, 6)
    assert finance.decoded("DTEND") == date(2020, 2, 1)  # the day after the last (RFC 5545)
    assert str(finance["TRANSP"]) == "OPAQUE" and int(finance["SEQUENCE"]) == 0
    assert str(finance["SUMMARY"]).startswith("Secondment: financial recovery programme")
    (pcn,) = placements("participant-HP08.ics")  # a part-time stretch assignment: not busy
    assert str(pcn["TRANSP"]) == "TRANSPARENT"
    assert placements("participant-HP06.ics") == []  # unplaced
    assert placements("cohort-north.ics") == [] and placements("person-PD1.ics") == []
    uid = str(finance["UID"])
    first = (out / "ics" / "participant-HP04.ics").read_bytes()
    code, output = invoke("run", str(STAFFORDSHIRE), "--out", str(out))  # over the earlier run
    assert code == 0, output
    (again,) = placements("participant-HP04.ics")
    assert str(again["UID"]) == uid and int(again["SEQUENCE"]) == 0
    assert (out / "ics" / "participant-HP04.ics").read_bytes() == first


@pytest.mark.slow
def test_schedule_alone_plans_around_the_placements_too(tmp_path: Path) -> None:
    checked_run(STAFFORDSHIRE, tmp_path / "run")
    code, output = invoke("schedule", str(STAFFORDSHIRE), "--out", str(tmp_path / "s"))
    assert code == 0, output
    assert (tmp_path / "s" / "calendar.csv").read_bytes() == (
        tmp_path / "run" / "calendar.csv"
    ).read_bytes()


def test_a_bad_scheme_table_stops_run_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(STAFFORDSHIRE, folder)
    hosts = folder / "placement_hosts.csv"
    hosts.write_text(hosts.read_text().replace("2020-01-06,2020-01-31,yes", ",,yes"))
    code, output = invoke("run", str(folder), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "placement_hosts.csv:8:10: full_time: a full-time placement needs its start" in output
    assert not (tmp_path / "out").exists()


def test_the_checker_finds_a_session_on_a_placement_day_unless_released() -> None:
    from cohort_solver.domain.markets import Placement, PlacementCandidate

    market = PlacementMarket(
        name="placements",
        people=(PlacementCandidate(person_id="N1", grade_band="8a"),),
        placements=(
            Placement(
                placement_id="H1", start=date(2025, 3, 3), end=date(2025, 3, 7), full_time=True
            ),
        ),
    )
    reading = Reading("max_fit", (Pair("N1", "H1", 5, 1, None),), (), 5, 5, True)
    london = "Europe/London"

    def event(day: int) -> Event:
        start = datetime.fromisoformat(f"2025-03-{day:02d}T09:00:00+00:00")
        return Event(
            event_id=f"main/W{day}",
            session_key="W",
            title="Workshop",
            kind="group",
            cohort_id="main",
            start=start,
            end=start.replace(hour=12),
            venue_id=None,
            attendee_ids=("FAC", "N1"),
        )

    assert check_sessions_outside_placements(market, reading, [event(10)], london) == []
    assert check_sessions_outside_placements(market, reading, [event(7)], london) == [
        "main/W7: N1 is on full-time placement H1 (2025-03-03..2025-03-07)"
    ]
    released = Placement(
        placement_id="H1",
        start=date(2025, 3, 3),
        end=date(2025, 3, 7),
        full_time=True,
        released_for_programme=True,
    )
    free = PlacementMarket(name="p", people=market.people, placements=(released,))
    assert check_sessions_outside_placements(free, reading, [event(7)], london) == []


def test_small_unmatched_counts_are_hidden_and_not_recoverable() -> None:
    shown, total = suppressed_counts(Counter({"a": 1, "b": 5, "c": 7}))
    assert shown == {"a": HIDDEN, "b": "not shown", "c": "7"} and total == "not shown"
    shown, total = suppressed_counts(Counter({"a": 4, "b": 5}))
    assert shown == {"a": "4", "b": "5"} and total == "9"
    shown, total = suppressed_counts(Counter({"a": 2, "b": 1, "c": 6}))
    assert shown == {"a": HIDDEN, "b": HIDDEN, "c": "6"} and total == "not shown"


@st.composite
def diaries(draw: st.DrawFn) -> tuple[PlacementMarket, Reading, list[Event]]:
    """A few placements (full time or not, released or not) held by two participants, and
    sessions scattered over March 2025, some running late into the evening."""
    from cohort_solver.domain.markets import Placement, PlacementCandidate

    people = ("N1", "N2")
    places, pairs = [], []
    for number in range(draw(st.integers(0, 3))):
        first = draw(st.integers(1, 28))
        place = Placement(
            placement_id=f"H{number}",
            start=date(2025, 3, first),
            end=date(2025, 3, draw(st.integers(first, 31))),
            full_time=draw(st.booleans()),
            released_for_programme=draw(st.booleans()),
        )
        places.append(place)
        pairs.append(Pair(draw(st.sampled_from(people)), place.placement_id, 1, 1, None))
    market = PlacementMarket(
        name="p",
        people=tuple(PlacementCandidate(person_id=p, grade_band="8a") for p in people),
        placements=tuple(places),
        sessions_during_placements=draw(st.sampled_from(["blocked", "allowed"])),
    )
    events = []
    for number in range(draw(st.integers(1, 6))):
        start = datetime(2025, 3, draw(st.integers(1, 31)), draw(st.integers(0, 22)), tzinfo=UTC)
        events.append(
            Event(
                event_id=f"main/E{number}",
                session_key="E",
                title="Session",
                kind="group",
                cohort_id="main",
                start=start,
                end=start + timedelta(minutes=draw(st.sampled_from([30, 90, 180]))),
                venue_id=None,
                attendee_ids=tuple(draw(st.sets(st.sampled_from(people), min_size=1))),
            )
        )
    reading = Reading("max_fit", tuple(pairs), (), len(pairs), None, True)
    return market, reading, events


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(diaries())
def test_the_calendar_sees_exactly_the_days_the_checker_refuses(
    case: tuple[PlacementMarket, Reading, list[Event]],
) -> None:
    """What the pipeline feeds the calendar (placements as unavailability) and what the
    independent checker refuses are the same sessions, whatever the placements and times."""
    from cohort_solver.checks.calendar import check_availability
    from cohort_solver.domain.markets import PlacementResult, placement_days

    market, reading, events = case
    scenario = load_scenario(ROOT / "scenarios" / "oxford-2024")
    scenario = scenario.model_copy(update={"unavailability": ()})
    result = PlacementResult("p", (reading, replace(reading, name="stable")), (), 0)
    busy = pipeline.with_placements(scenario, placement_days(market, result))
    zone = scenario.settings.programme.timezone
    seen = {p.split(":")[0] for p in check_availability(busy, events)}
    refused = {
        p.split(":")[0] for p in check_sessions_outside_placements(market, reading, events, zone)
    }
    assert seen == refused


def test_a_placement_that_leaves_a_session_no_time_is_exit_1_naming_who(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(STAFFORDSHIRE, folder)
    hosts = folder / "placement_hosts.csv"
    hosts.write_text(hosts.read_text().replace("2019-07-01,2019-07-12", "2019-07-01,2019-07-31"))
    code, output = invoke("run", str(folder), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "INCL 'Inclusive leadership': no possible time" in output
    assert "unavailable: HP01)" in output and "unavailable: HP03)" in output  # north, south
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_run_says_when_a_placement_holder_is_not_an_applicant(oxford: Path, tmp_path: Path) -> None:
    from .test_markets_placements import with_placements

    with_placements(oxford)  # N1..N3 are not in oxford-2024's applicants.csv
    said: list[str] = []
    result = pipeline.run(oxford, tmp_path / "out", pipeline.Options(workers=2, say=said.append))
    assert "placements.csv" in result.files
    assert (
        "placements: N1, N3 not in applicants.csv: their placements stay out of the calendar "
        "and the feeds"
    ) in said
    feeds = [data for name, data in result.files.items() if name.startswith("ics/")]
    assert feeds and not any(b"UID:placement-" in data for data in feeds if isinstance(data, bytes))


@pytest.mark.slow
def test_the_placement_section_counts_people_and_lists_empty_placements(tmp_path: Path) -> None:
    out = tmp_path / "out"
    checked_run(STAFFORDSHIRE, out)
    html = (out / "report.html").read_text()
    assert "<h3>placements (placement scheme)</h3>" in html
    assert "stable (adopted)" in html and "Stability costs 1 point of total fit" in html
    # HP06, HP11 and HP12 are unplaced by the stable reading: 3 people, so shown.
    assert (
        "<tr><td>participant: every acceptable partner is full with people ranked higher</td>"
        "<td>3</td></tr>"
    ) in html
    assert "Placements nobody takes: P-NHSE-WRES." in html
    assert "<td>01 Jul 2019 to 12 Jul 2019: no sessions booked</td>" in html  # HP01, HP03
    assert "<td>02 Sep 2019 to 29 Nov 2019: sessions may be booked</td>" in html  # released


@pytest.mark.slow
def test_both_javascript_parsers_read_a_placement_as_whole_days(
    icaljs: Path,  # noqa: F811
    ical_npm: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.test_ics import _ical_parse, _icaljs_parse

    out = tmp_path / "out"
    checked_run(STAFFORDSHIRE, out)
    for parsed in (_icaljs_parse(icaljs, out / "ics"), _ical_parse(ical_npm, out / "ics")):
        (finance,) = [
            e for e in parsed["participant-HP04.ics"]["events"] if e["uid"].startswith("placement-")
        ]
        assert finance["dtstart"].startswith("2020-01-06T00:00:00")
        assert finance["dtend"].startswith("2020-02-01T00:00:00")
        assert finance["tzid"] in ("floating", None)  # a date, in no time zone
        assert finance["sequence"] == 0 and finance["status"] == "CONFIRMED"


@pytest.mark.slow
def test_a_placement_that_goes_is_cancelled_in_the_feed(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(STAFFORDSHIRE, folder)
    out = tmp_path / "out"
    code, output = invoke("run", str(folder), "--out", str(out))
    assert code == 0, output
    rankings = folder / "placement_rankings.csv"
    rankings.write_text(rankings.read_text().replace("HP04,P-UHNM-FIN,1\n", ""))
    code, output = invoke("run", str(folder), "--out", str(out))
    assert code == 0, output
    feed = icalendar.Calendar.from_ical((out / "ics" / "participant-HP04.ics").read_bytes())
    (gone,) = [c for c in feed.walk("VEVENT") if str(c["UID"]).startswith("placement-")]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1
    assert gone.decoded("DTSTART") == date(2020, 1, 6)
    html = (out / "report.html").read_text()
    assert "The stable reading has 1 point more total fit (38) than max_fit (37)" in html


@pytest.mark.slow
def test_a_participant_who_leaves_gets_their_placement_cancelled(tmp_path: Path) -> None:
    """Their feed is re-issued with everything cancelled, the placement too (it is still in
    the scheme, but no longer in anyone's feed)."""
    from cohort_solver.stages.export.ics import read_feeds

    out = tmp_path / "out"
    checked_run(STAFFORDSHIRE, out)
    scenario = load_scenario(STAFFORDSHIRE)
    events = [
        e.model_copy(update={"attendee_ids": tuple(a for a in e.attendee_ids if a != "HP04")})
        for e in read_calendar_csv(out / "calendar.csv")
    ]
    feeds = pipeline.export(scenario, events, read_feeds(out / "ics", 2019))
    feed = icalendar.Calendar.from_ical(feeds["participant-HP04.ics"])
    (gone,) = [c for c in feed.walk("VEVENT") if str(c["UID"]).startswith("placement-")]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1
    assert all(str(c["STATUS"]) == "CANCELLED" for c in feed.walk("VEVENT"))
