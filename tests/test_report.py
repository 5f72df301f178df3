"""report.html figures agree with the allocation, and small groups are suppressed."""

from __future__ import annotations

import re
from pathlib import Path

from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.report.panel_report import report_html, representation

from .conftest import OXFORD


def test_report_counts_match_the_allocation_and_suppress_small_groups() -> None:
    scenario = load_scenario(OXFORD)
    allocation = allocate(scenario, time_limit=20)
    html = report_html(scenario, allocation, [], [], [allocation.report])
    people = {a.applicant_id: a for a in scenario.applicants}
    stages = {
        "applicants": [o.applicant_id for o in allocation.outcomes],
        "eligible": [o.applicant_id for o in allocation.outcomes if o.status != "ineligible"],
        "selected": [o.applicant_id for o in allocation.selected()],
    }
    table = html.split("<h2>Representation</h2>", 1)[1].split("</table>", 1)[0]
    rows = {
        cells[0]: dict(zip(stages, cells[1:4], strict=True))
        for cells in (re.findall(r"<td>(.*?)</td>", r) for r in table.split("<tr>")[2:])
    }
    suppressed = set()
    for group, stats in representation(scenario, allocation):
        for stage, ids in stages.items():
            members = sum(people[i].groups.get(group, False) for i in ids)
            assert stats[stage] == (members, len(ids))
            if rows[group][stage] == "suppressed":
                suppressed.add((group, stage))
            else:  # a figure shown is the true one, and never 1 or 2
                assert rows[group][stage] == f"{members} ({100 * members / len(ids):.0f}%)"
                assert not 0 < members < 3
    # Disabled: 5 applicants, 4 eligible, 2 selected. The 2 is hidden, and so is 5 (5 - 4 = 1
    # ineligible). Minority ethnic: 10, 8, 5, so 10 is hidden (10 - 8 = 2 ineligible).
    assert suppressed == {
        ("disabled", "selected"),
        ("disabled", "applicants"),
        ("minority_ethnic", "applicants"),
    }
    assert (
        "<td>12</td><td>4</td><td>9</td><td>15</td>" in html
    )  # selected, reserve, not selected, ineligible
    assert 'aria-label="Representation by group and stage"' in html
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", html)
    assert len(svgs) == html.count("<svg") == 2  # representation, panel scores
    for svg in svgs:  # each chart is announced to screen readers and titled
        assert (
            'role="img"' in svg
            and 'aria-label="' in svg
            and svg.split(">", 1)[1].startswith("<title>")
        )
    assert "src=" not in html and "href=" not in html and "@import" not in html  # nothing fetched


def test_examples_screenshot_is_committed() -> None:
    assert (
        Path(__file__).parents[1] / "examples" / "oxford-2024-report.png"
    ).stat().st_size > 10_000


def test_calendar_overview_is_a_month_grid_per_cohort() -> None:
    # Two cohorts over two months: each cohort is a row, each month a column; group sessions
    # show their date and the rest of the month's events are counted.
    from datetime import datetime, timedelta, timezone

    from cohort_solver.domain.results import Event

    def event(eid: str, cohort: str, kind: str, day: str) -> Event:
        start = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=timezone(timedelta(0)))
        return Event(
            event_id=eid,
            session_key="S",
            title="t",
            kind=kind,
            cohort_id=cohort,
            start=start,
            end=start + timedelta(hours=1),
        )

    scenario = load_scenario(OXFORD)
    allocation = allocate(scenario, time_limit=20)
    events = [
        event("1", "north", "group", "2024-05-08"),
        event("2", "north", "coaching", "2024-05-14"),
        event("3", "north", "review", "2024-05-20"),
        event("4", "south", "group", "2024-06-05"),
        # A joint session shows in each of its cohorts' columns, in date order, marked joint;
        # mentor and learning set meetings are counted by what they are.
        event("5", "joint:north;south", "cohort_event", "2024-07-02"),
        event("6", "north", "group", "2024-07-30"),
        event("7", "north", "mentoring", "2024-07-10"),
        event("8", "south", "action_learning", "2024-07-11"),
    ]
    html = report_html(scenario, allocation, [], events, [allocation.report])
    grid = html.split("<h2>Calendar overview</h2>", 1)[1].split("<h2>", 1)[0]
    # Months down the page (narrow at 1280 px), cohorts across; every month of the template
    # is a row, an empty one saying so.
    assert "<th>month</th><th>north</th><th>south</th>" in grid
    assert "<tr><td>May 2024</td><td>Wed 08<br>+2 1:1/review</td><td>no sessions</td></tr>" in grid
    assert "<tr><td>Jun 2024</td><td>no sessions</td><td>Wed 05</td></tr>" in grid
    assert (
        "<tr><td>Jul 2024</td><td>Tue 02 (joint)<br>Tue 30<br>+1 mentor meetings</td>"
        "<td>Tue 02 (joint)<br>+1 learning set meetings</td></tr>"
    ) in grid
    last = max(s.month for s in scenario.programme)
    assert grid.count("<tr><td>") == last


def test_the_solver_section_says_in_words_how_good_each_stage_is() -> None:
    from cohort_solver.domain.results import Level, StageReport
    from cohort_solver.stages.report.panel_report import _in_words

    proven = StageReport(stage="allocation", status="optimal")
    assert _in_words(proven) == "These places are proven the best possible under the rules."
    close = StageReport(
        stage="calendar",
        status="feasible",
        levels=(Level(name="soft_total", sense="min", value=546, bound=497),),
    )
    assert _in_words(close) == (
        "This calendar follows every rule; that this is the best possible is not proven, "
        "and the best possible is at most 9.0% better."
    )
