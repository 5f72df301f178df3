"""report.html figures agree with the allocation, and small groups are suppressed."""

from __future__ import annotations

import re
from pathlib import Path

from cohort_solver.io import load_scenario
from cohort_solver.report import report_html, representation
from cohort_solver.solvers.allocation import allocate

from .conftest import OXFORD


def test_report_counts_match_the_allocation_and_suppress_small_groups() -> None:
    scenario = load_scenario(OXFORD)
    allocation = allocate(scenario, time_limit=20)
    html = report_html(scenario, allocation, [], [], [allocation.report])
    people = {a.applicant_id: a for a in scenario.applicants}
    selected = allocation.selected()
    for group, stats in representation(scenario, allocation):
        members = sum(people[o.applicant_id].groups.get(group, False) for o in selected)
        assert stats["selected"] == (members, len(selected))
        shown = "&lt;3 (–)" if 0 < members < 3 else f"{members} ({100 * members / len(selected):.0f}%)"
        assert f"<td>{shown}</td>" in html, group
    assert "<td>12</td><td>4</td><td>9</td><td>15</td>" in html  # selected, reserve, not selected, ineligible
    assert 'aria-label="Representation by group and stage"' in html
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", html)
    assert len(svgs) == html.count("<svg") == 2  # representation, panel scores
    for svg in svgs:  # each chart is announced to screen readers and titled
        assert 'role="img"' in svg and 'aria-label="' in svg and svg.split(">", 1)[1].startswith("<title>")
    assert "src=" not in html and "href=" not in html and "@import" not in html  # nothing fetched


def test_examples_screenshot_is_committed() -> None:
    assert (Path(__file__).parents[1] / "examples" / "oxford-2024-report.png").stat().st_size > 10_000
