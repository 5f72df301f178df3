"""Tracks and tiers in one scenario (issue 16, item 2): several [[tracks]], each with its own
grade band, places, months and session template, sharing mentors, coaches, facilitators and
venues. The bundled Tower Hamlets scenario runs and every independent checker accepts it; bad
track input is exit 2 at its cell; generated multi-track scenarios are allocated and scheduled
by the stages and re-checked by the checkers (and the calendar against the exact model)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_solver.checks.allocation import check_acceptable_cohort, check_tracks
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import check_no_double_booking, check_track_templates
from cohort_solver.checks.calendar import violations as check_calendar
from cohort_solver.checks.matching import violations as check_matching
from cohort_solver.cli import main
from cohort_solver.domain.scenario import Applicant, Scenario, Score, Session, Settings
from cohort_solver.errors import InputError
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import OXFORD, ROOT, SMALL_TOML, write_small
from .test_calendar_property import programmes, stage_agrees_with_the_exact_model

TOWER_HAMLETS = ROOT / "scenarios" / "tower-hamlets-2024"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--workers", "2"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def tower_hamlets(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("th") / "out"
    code, output = _run("run", str(TOWER_HAMLETS), "--out", str(out), "--quiet")
    assert code == 0, output
    scenario = load_scenario(TOWER_HAMLETS)
    outcomes = read_allocation(out / "allocation.csv")
    selected = [o for o in outcomes if o.status == "selected"]
    matches = read_matches(out / "matches.csv", mentoring=True, coaching=True)
    events = read_calendar_csv(out / "calendar.csv")
    return scenario, out, outcomes, selected, matches, events


@pytest.mark.slow
def test_tower_hamlets_runs_and_every_independent_checker_accepts_it(tower_hamlets) -> None:
    scenario, out, outcomes, selected, matches, events = tower_hamlets
    assert allocation_violations(scenario, outcomes) == []
    assert check_matching(scenario, selected, matches) == []
    assert check_calendar(scenario, selected, matches, events) == []
    assert not scenario.scores  # no dummy scores
    assert [t.id for t in scenario.settings.tracks] == ["AM", "CM", "DM", "AL", "SL"]
    # Five tiers, each its own cohort, all filled, sharing 16 mentors and 4 coaches.
    assert Counter(o.cohort_id for o in selected) == {"AM": 12, "CM": 10, "DM": 8, "AL": 8, "SL": 6}
    per_mentor = Counter(m.mentor_id for m in matches)
    cohorts_of_mentor = {
        mid: {m.cohort_id for m in matches if m.mentor_id == mid} for mid in per_mentor
    }
    assert any(len(c) > 1 for c in cohorts_of_mentor.values())  # mentors shared across tiers
    capacity = {m.mentor_id: m.capacity for m in scenario.mentors}
    assert all(n <= capacity[mid] for mid, n in per_mentor.items())  # capacity across tracks


@pytest.mark.slow
def test_tower_hamlets_allocation_has_a_track_column_and_grade_bands(tower_hamlets) -> None:
    scenario, out, outcomes, *_ = tower_hamlets
    header = (out / "allocation.csv").read_text().splitlines()[0]
    assert header.startswith("applicant_id,status,cohort_id,track,score,")
    rows = {
        line.split(",")[0]: line.split(",")
        for line in (out / "allocation.csv").read_text().splitlines()
    }
    assert rows["TH001"][2:4] == ["AM", "AM"]
    status = {o.applicant_id: o for o in outcomes}
    # TH013 (SO1) applied to Senior Leader only: not in its band.
    assert status["TH013"].status == "ineligible" and "grade" in str(status["TH013"].reason)
    # TH021 (PO2) put Developing Manager first, outside its band: Core Manager instead.
    assert status["TH021"].cohort_id == "CM"
    code, text = _run("explain", str(TOWER_HAMLETS), "TH013", "--out", str(out))
    assert code == 0, text
    assert (
        "not eligible for track SL (Tier 5: Senior Leader): grade SO1 is not in its grades" in text
    )
    code, text = _run("explain", str(TOWER_HAMLETS), "TH021", "--out", str(out))
    assert "Not eligible for track DM (Tier 3: Developing Manager): grade PO2" in text
    assert "CM (track CM)" in text
    feedback = (out / "feedback.csv").read_text()
    assert "your grade SO1 is not in its grades SM2, SM3, SM4" in feedback
    assert "<h2>Tracks</h2>" in (out / "report.html").read_text()


@pytest.mark.slow
def test_each_cohort_takes_its_tracks_template_and_the_common_rows(tower_hamlets) -> None:
    scenario, out, outcomes, selected, matches, events = tower_hamlets
    keys = {c: {e.session_key for e in events if e.cohort_id == c} for c in ("AM", "CM", "SL")}
    assert "AM-W1" in keys["AM"] and "CM-REC" in keys["CM"] and "SL-W1" in keys["SL"]
    assert not any(k.startswith(("CM-", "SL-")) for k in keys["AM"])
    assert "ATTR" in keys["AM"] and "ATTR" in keys["CM"]  # a common row: every track holds it
    (launch,) = [e for e in events if e.session_key == "LAUNCH"]
    assert launch.cohort_id == "joint:AL;AM;CM;DM;SL"
    # The managers' briefing is in month 8: Core Manager runs months 1 to 6, so not its cohort.
    (brief,) = [e for e in events if e.session_key == "BRIEF"]
    assert brief.cohort_id == "joint:AL;AM;DM;SL"
    assert {e.cohort_id for e in events if e.kind == "action_learning"} == {"AM", "AL", "SL"}


@pytest.mark.slow
def test_the_checkers_refuse_a_cohort_off_its_track(tower_hamlets) -> None:
    scenario, out, outcomes, selected, matches, events = tower_hamlets
    # A session of Senior Leader held for Aspiring Manager's cohort.
    moved = [
        e.model_copy(update={"cohort_id": "AM", "event_id": "AM/SL-W1"})
        if e.session_key == "SL-W1"
        else e
        for e in events
    ]
    assert any("not in its track's template" in p for p in check_track_templates(scenario, moved))
    assert check_calendar(scenario, selected, matches, moved)
    # A Tier 1 participant placed in the Senior Leader cohort: outside its grade band.
    wrong = [
        o.model_copy(update={"cohort_id": "SL"}) if o.applicant_id == "TH001" else o
        for o in outcomes
    ]
    assert any("outside track SL's band" in p for p in check_tracks(scenario, wrong))
    assert check_acceptable_cohort(scenario, wrong)  # not a cohort open to them


def test_a_scenario_without_tracks_has_no_track_column(tmp_path: Path) -> None:
    code, output = _run("allocate", str(OXFORD), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 0, output
    header = (tmp_path / "out" / "allocation.csv").read_text().splitlines()[0]
    assert header == (
        "applicant_id,status,cohort_id,score,ring_fences,reserve_rank,reason,replaced_by"
    )
    assert "tracks" not in load_scenario(OXFORD).settings.model_dump(mode="json")


TRACKS_TOML = (
    SMALL_TOML.replace("min_service_areas = 2\n", "")
    + """
[[tracks]]
id = "junior"
name = "New managers"
eligible_grades = [6]
places = 2
months = [1, 2]

[[tracks]]
id = "senior"
name = "Experienced managers"
eligible_grades = [7]
"""
)


def _bad(tmp_path: Path, toml: str = TRACKS_TOML, extra=None) -> list[str]:
    folder = write_small(tmp_path / "s", toml, extra)
    with pytest.raises(InputError) as err:
        load_scenario(folder)
    return [str(p) for p in err.value.problems]


def test_tracks_without_cohorts_give_one_cohort_per_track(tmp_path: Path) -> None:
    scenario = load_scenario(write_small(tmp_path / "s", TRACKS_TOML))
    assert [(c.id, c.places, c.track) for c in scenario.cohorts] == [
        ("junior", 2, "junior"),
        ("senior", 3, "senior"),
    ]
    outcomes = allocate(scenario, workers=1).outcomes
    assert allocation_violations(scenario, outcomes) == []
    grade = {a.applicant_id: a.grade for a in scenario.applicants}
    for o in outcomes:
        if o.status == "selected":
            assert o.cohort_id == ("junior" if grade[o.applicant_id] == 6 else "senior")


def test_a_ring_fence_may_hold_places_in_some_tracks_only(tmp_path: Path) -> None:
    def junior(toml: str) -> set[str]:
        scenario = load_scenario(write_small(tmp_path / str(len(toml)), toml))
        outcomes = allocate(scenario, workers=1).outcomes
        assert allocation_violations(scenario, outcomes) == []
        return {
            o.applicant_id for o in outcomes if o.cohort_id == "junior" and o.status == "selected"
        }

    # Everywhere: both junior places go to members (A1, A3), though A6 outscores A3.
    assert junior(TRACKS_TOML) == {"A1", "A3"}
    # Held in the senior track only: the junior places go on merit (A1 and A6, 7.5 each).
    only_senior = TRACKS_TOML.replace(
        'unfilled = "release"\n', 'unfilled = "release"\ntracks = ["senior"]\n'
    )
    assert junior(only_senior) == {"A1", "A6"}
    unknown = only_senior.replace('tracks = ["senior"]', 'tracks = ["middle"]')
    assert any(
        "selection.ring_fence.0.tracks: ring fence 'under-represented': unknown track 'middle'" in p
        for p in _bad(tmp_path / "u", unknown)
    )


def test_track_settings_that_cannot_be_are_bad_input_at_their_line(tmp_path: Path) -> None:
    cohorts = (
        TRACKS_TOML
        + '\n[[cohorts]]\nid = "a"\ntrack = "junior"\n\n[[cohorts]]\nid = "b"\ntrack = "nope"\n'
    )
    problems = _bad(tmp_path / "1", cohorts)
    assert any("cohorts.1.track: cohort 'b': unknown track 'nope'" in p for p in problems)
    assert any("track 'senior' has no cohort" in p for p in problems)
    lone = SMALL_TOML + '\n[[cohorts]]\nid = "a"\ntrack = "junior"\n'
    assert any("has no [[tracks]]" in p for p in _bad(tmp_path / "2", lone))
    labels = TRACKS_TOML.replace("eligible_grades = [7]", 'eligible_grades = ["SM1"]')
    assert any(
        "tracks.1.eligible_grades" in p and "is a label" in p for p in _bad(tmp_path / "3", labels)
    )
    twice = TRACKS_TOML.replace('id = "senior"', 'id = "junior"')
    assert any("declared twice" in p for p in _bad(tmp_path / "4", twice))
    backwards = TRACKS_TOML.replace("months = [1, 2]", "months = [3, 1]")
    assert any("first month is after the last" in p for p in _bad(tmp_path / "5", backwards))


def test_track_cells_that_cannot_be_are_bad_input_at_their_cell(tmp_path: Path) -> None:
    header = ["session_key", "title", "kind", "month", "duration_minutes", "after", "track"]
    programme = (
        header,
        [
            ("W1", "Workshop", "group", 1, 60, "", ""),
            ("J1", "New managers only", "group", 1, 60, "", "junior"),
            ("X1", "Unknown track", "group", 1, 60, "", "middle"),
            ("J3", "Outside junior's months", "group", 3, 60, "", "junior"),
            ("F1", "Follows a junior session", "group", 2, 60, "J1", ""),
        ],
    )
    problems = _bad(tmp_path, extra={"programme.csv": programme})
    assert any(p.startswith("programme.csv:4:7: track: unknown track 'middle'") for p in problems)
    assert any(
        p.startswith("programme.csv:5:4:") and "outside track 'junior'" in p for p in problems
    )
    assert any(
        p.startswith("programme.csv:6:6:") and "senior hold 'F1' but not 'J1'" in p
        for p in problems
    )
    no_tracks = _bad(tmp_path / "n", SMALL_TOML, extra={"programme.csv": programme})
    assert any(p.startswith("programme.csv:3:7:") and "no [[tracks]]" in p for p in no_tracks)


def test_an_unknown_track_in_applicants_csv_is_bad_input_at_its_cell(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s", TRACKS_TOML)
    path = folder / "applicants.csv"
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",tracks"] + [f"{line}," for line in lines[1:]]
    lines[2] = lines[2] + "senior;middle"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_scenario(folder)
    (problem,) = [str(p) for p in err.value.problems]
    assert problem.startswith("applicants.csv:3:13: tracks: unknown track 'middle'")


# --------------------------------------------------------------------------- properties

_SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


@st.composite
def multi_track_selections(draw) -> Scenario:
    """2-3 tracks over grades 1-5 (bands may overlap), 1-2 cohorts each (some open to one
    council only), maybe a ring fence (in every track, or in one), and 3-9 applicants with a
    random grade, council, membership and tracks list."""
    n_tracks = draw(st.integers(2, 3))
    tracks = []
    for t in range(n_tracks):
        band = sorted(draw(st.sets(st.integers(1, 5), min_size=1, max_size=3)))
        track = {"id": f"T{t}", "name": f"Track {t}", "eligible_grades": band}
        if draw(st.booleans()):
            track["places"] = draw(st.integers(1, 2))
        tracks.append(track)
    cohorts = []
    for t in range(n_tracks):
        for k in range(draw(st.integers(1, 2))):
            cohort = {"id": f"c{t}{k}", "track": f"T{t}"}
            if draw(st.booleans()):
                cohort["councils"] = [draw(st.sampled_from(["X", "Y"]))]
            cohorts.append(cohort)
    mode = draw(st.sampled_from(["competitive", "open"]))
    ring_fences = []
    if draw(st.booleans()):
        ring_fence = {
            "name": "rf",
            "groups": ["woman"],
            "min_places": draw(st.integers(1, 2)),
            "unfilled": draw(st.sampled_from(["release", "hold"])),
        }
        if draw(st.booleans()):
            ring_fence["tracks"] = [draw(st.sampled_from([t["id"] for t in tracks]))]
        ring_fences.append(ring_fence)
    spread = {"max_per_service_area": draw(st.integers(1, 2))} if draw(st.booleans()) else {}
    settings_ = Settings.model_validate(
        {
            "programme": {"name": "Tracks", "start": "2024-04-01"},
            "selection": {
                "mode": mode,
                "places": 2,
                "eligible_grades": [1, 2, 3, 4, 5],
                "seed": draw(st.integers(0, 99)),
                "reserves": 1,
                "spread": spread,
                "ring_fence": ring_fences,
            },
            "tracks": tracks,
            "cohorts": cohorts,
        }
    )
    applicants, scores = [], []
    for i in range(draw(st.integers(3, 9))):
        wanted = draw(st.lists(st.sampled_from([t["id"] for t in tracks]), max_size=2, unique=True))
        applicants.append(
            Applicant(
                applicant_id=f"A{i}",
                council=draw(st.sampled_from(["X", "Y"])),
                service_area=draw(st.sampled_from(["S1", "S2"])),
                grade=draw(st.integers(1, 5)),
                probation_passed=True,
                line_manager_approved=True,
                performance_eligible=True,
                tracks=tuple(wanted),
                groups={"woman": draw(st.booleans())},
            )
        )
        scores.append(Score(applicant_id=f"A{i}", panelist="P", score=draw(st.integers(0, 9))))
    return Scenario(
        folder=Path("."),
        settings=settings_,
        applicants=tuple(applicants),
        scores=tuple(scores) if mode == "competitive" else (),
    )


@pytest.mark.slow
@settings(max_examples=60, **_SETTINGS)
@given(multi_track_selections())
def test_generated_multi_track_allocations_pass_the_independent_checker(scenario) -> None:
    outcomes = allocate(scenario, workers=1).outcomes
    assert allocation_violations(scenario, outcomes) == []
    assert check_tracks(scenario, outcomes) == []
    bands = {t.id: set(t.eligible_grades or ()) for t in scenario.settings.tracks}
    track_of = scenario.cohort_tracks()
    for o, a in zip(outcomes, scenario.applicants, strict=True):
        if o.status == "selected":
            track = track_of[o.cohort_id or ""] or ""
            assert a.grade in bands[track]
            assert not a.tracks or track in a.tracks


@st.composite
def multi_track_calendars(draw):
    """A generated small programme (``programmes``) whose cohorts are in two tracks, with each
    session common, or of one track: the stage against the exact model and the checker."""
    scenario, selected, matches = draw(programmes())
    cohorts = [c.id for c in scenario.cohorts]
    track_of = {c: draw(st.sampled_from(["T0", "T1"])) for c in cohorts}
    months = max(s.month for s in scenario.programme)
    last = draw(st.integers(1, months))
    rows: list[Session] = []
    by_key: dict[str, Session] = {}

    def holds(track: str, s: Session) -> bool:
        return (not s.tracks or track in s.tracks) and (track == "T0" or s.month <= last)

    for s in scenario.programme:
        tracks = draw(st.sampled_from([(), ("T0",), ("T1",)]))
        if tracks == ("T1",) and s.month > last:
            tracks = ()  # a T1 row lies inside T1's months
        row = s.model_copy(update={"tracks": tracks})
        before = by_key.get(s.after or "")
        if before is not None and any(holds(t, row) and not holds(t, before) for t in ("T0", "T1")):
            row = row.model_copy(update={"after": None})  # as the loader requires
        by_key[s.session_key] = row
        rows.append(row)
    data = scenario.settings.model_dump(mode="json")
    data["tracks"] = [
        {"id": "T0", "name": "Track 0"},
        {"id": "T1", "name": "Track 1", "months": [1, last]},
    ]
    data["cohorts"] = [{"id": c, "track": track_of[c]} for c in cohorts]
    settings_ = Settings.model_validate(data)
    tracked = scenario.model_copy(update={"settings": settings_, "programme": tuple(rows)})
    return tracked, selected, matches


@pytest.mark.slow
@settings(max_examples=40, **_SETTINGS)
@given(multi_track_calendars())
def test_generated_multi_track_calendars_agree_with_the_exact_model(case) -> None:
    scenario, selected, matches = case
    stage_agrees_with_the_exact_model(scenario, selected, matches, note=lambda _: None)


def test_tracks_share_facilitators_and_rooms_and_nobody_is_double_booked(tower_hamlets) -> None:
    scenario, out, outcomes, selected, matches, events = tower_hamlets
    track_of = scenario.cohort_tracks()

    def tracks(predicate) -> set[str]:
        return {
            track_of[c] or ""
            for e in events
            if predicate(e) and not e.cohort_id.startswith("joint:")
            for c in [e.cohort_id]
        }

    assert len(tracks(lambda e: "OD2" in e.attendee_ids)) >= 2  # one facilitator, several tiers
    assert tracks(lambda e: "FIN1" in e.attendee_ids) == {"AM", "CM"}  # finance, two tiers
    assert len(tracks(lambda e: e.venue_id == "V-TR1")) >= 2  # one room, several tiers
    coach_tiers = {m.coach_id: {track_of[m.cohort_id]} for m in matches}
    for m in matches:
        coach_tiers[m.coach_id].add(track_of[m.cohort_id])
    assert any(len(t) > 1 for t in coach_tiers.values())  # coaches shared across tiers
    assert check_no_double_booking(events) == []
