"""Impact tracking: outcomes.csv against the programme's targets (seed: 10, 3, 4 and 8 of 12)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cohort_solver.domain.programme_time import month_last_day
from cohort_solver.domain.results import Allocation, Decision, StageReport
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.report.impact import impact, target_aims
from cohort_solver.stages.report.panel_report import report_html

from .conftest import OXFORD, write_small

OUTCOMES = ["participant_id", "completed", "outcome", "outcome_date"]


def _selected(*ids: str) -> Allocation:
    return Allocation(
        outcomes=tuple(Decision(applicant_id=i, status="selected", cohort_id="main") for i in ids),
        report=StageReport(stage="allocation", status="optimal"),
    )


def test_programme_months_end_on_the_last_day_of_the_month() -> None:
    start = date(2024, 4, 1)
    assert month_last_day(start, 12) == date(2025, 3, 31)  # the programme's 12 months
    assert month_last_day(start, 24) == date(2026, 3, 31)  # 12 months after it
    assert month_last_day(start, 30) == date(2026, 9, 30)  # 18 months after it


def test_targets_are_the_seeds_for_12_places_and_scale_otherwise(tmp_path: Path) -> None:
    assert target_aims(load_scenario(OXFORD)) == {
        "completed": 10,
        "by_programme_end": 3,
        "within_12_months_after": 4,
        "within_18_months_after": 8,
    }
    # 3 places: 10*3/12 = 2.5 -> 3, 3*3/12 = 0.75 -> 1, 4*3/12 = 1, 8*3/12 = 2 (half rounds up).
    small = load_scenario(write_small(tmp_path / "s"))
    assert target_aims(small) == {
        "completed": 3,
        "by_programme_end": 1,
        "within_12_months_after": 1,
        "within_18_months_after": 2,
    }
    set_one = load_scenario(write_small(tmp_path / "t"), ["impact.completed=2"])
    assert target_aims(set_one)["completed"] == 2


def test_outcomes_count_cumulatively_by_each_deadline(tmp_path: Path) -> None:
    # Programme months 1-12 = 2024-04-01 .. 2025-03-31.
    folder = write_small(
        tmp_path / "s",
        extra={
            "outcomes.csv": (
                OUTCOMES,
                [
                    (
                        "A1",
                        "yes",
                        "promotion",
                        "2025-03-31",
                    ),  # last day of the programme: every window
                    ("A2", "yes", "Acting up", "2025-04-01"),  # first day after: 12 and 18 months
                    ("A3", "no", "secondment", "2026-09-30"),  # last day of the 18-month window
                    ("A6", "", "", ""),  # not known yet, no outcome
                    ("A5", "yes", "new_role", "2024-10-01"),  # not selected: left out
                ],
            )
        },
    )
    result = impact(load_scenario(folder), _selected("A1", "A2", "A3", "A6"))
    assert [(t.aim, t.achieved) for t in result.targets] == [(3, 2), (1, 1), (1, 2), (2, 3)]
    assert [t.met for t in result.targets] == [False, True, True, True]
    assert {k: len(v) for k, v in result.kinds.items()} == {
        "acting_up": 1,
        "promotion": 1,
        "secondment": 1,
    }
    assert (len(result.recorded), result.elsewhere, len(result.undated)) == (4, 1, 0)


def test_a_positive_outcome_without_a_date_counts_in_no_window(tmp_path: Path) -> None:
    folder = write_small(
        tmp_path / "s", extra={"outcomes.csv": (OUTCOMES, [("A1", "yes", "promotion", "")])}
    )
    result = impact(load_scenario(folder), _selected("A1"))
    assert [t.achieved for t in result.targets] == [1, 0, 0, 0] and result.undated == {"A1"}


def test_oxford_report_tracks_impact_against_the_seed_targets() -> None:
    scenario = load_scenario(OXFORD)
    allocation = allocate(scenario, time_limit=20)
    assert {o.participant_id for o in scenario.outcomes} == {
        o.applicant_id for o in allocation.selected()
    }
    html = report_html(scenario, allocation, [], [], [allocation.report])
    section = html[
        html.index("<h2>Impact against the programme's targets") : html.index("<h2>Solver")
    ]
    # outcomes.csv: 11 completed; positive outcomes dated 2024-12, 2025-01, 2025-02 (during),
    # 2025-04, 2025-06, 2025-09 (first year after) and 2026-05 (18 months after). As of the
    # latest outcome, 2026-05-18, the 18-month window is still open. 11 of 12 completed would
    # show that 1 did not, and 7 by month 30 beside 6 by month 24 that 1 moved on in between:
    # both are suppressed (issue 15: counts under 3 not recoverable by subtraction).
    assert "As of 2026-05-18 (the latest outcome_date)" in section
    assert (
        "<td>completed the programme</td><td>10 (83%)</td><td>83%</td><td>suppressed</td>"
        "<td>by 2025-03-31</td><td>met</td>"
    ) in section
    assert (
        "<td>3 (25%)</td><td>25%</td><td>3 (25%)</td><td>2024-04-01 to 2025-03-31</td>" in section
    )
    assert (
        "<td>4 (33%)</td><td>33%</td><td>6 (50%)</td><td>2024-04-01 to 2026-03-31</td>" in section
    )
    assert (
        "<td>8 (67%)</td><td>67%</td><td>suppressed</td><td>2024-04-01 to 2026-09-30</td>"
        "<td>open</td>"
    ) in section
    assert "<td>promotion</td><td>fewer than 3</td>" in section
    for word in ("woman", "minority_ethnic", "disabled"):
        assert word not in section


def test_report_says_when_no_outcomes_are_recorded(tmp_path: Path) -> None:
    scenario = load_scenario(write_small(tmp_path / "s"))
    html = report_html(scenario, _selected("A1"), [], [], [])
    assert "No outcomes recorded yet" in html
