"""`explain` on generated multi-cohort scenarios with min_service_areas (issue 15, item 3): it
succeeds for a selected, a reserve, a not-selected and an ineligible applicant in each."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.stages.allocate.explain import explain_applicant
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.synthetic.generate import generate_scenario

STATUSES = ("selected", "reserve", "not_selected", "ineligible")
WORDS = {
    "selected": "): selected.",
    "reserve": "Reserve number",
    "not_selected": "Kept out because",
    "ineligible": "Not eligible:",
}


@pytest.mark.slow
@pytest.mark.parametrize(("cohorts", "seed"), [(2, 0), (2, 3), (3, 7)])
def test_explain_succeeds_for_every_status_in_a_generated_multi_cohort_scenario(
    tmp_path: Path, cohorts: int, seed: int
) -> None:
    scenario = load_scenario(
        generate_scenario(tmp_path / "g", councils=4, applicants=160, cohorts=cohorts, seed=seed)
    )
    assert len(scenario.cohorts) == cohorts
    assert scenario.settings.selection.spread.min_service_areas
    result = allocate(scenario, time_limit=30)
    assert allocation_violations(scenario, result.outcomes) == []
    for status in STATUSES:
        applicant = next(o for o in result.outcomes if o.status == status)
        text = explain_applicant(scenario, result.outcomes, applicant.applicant_id, time_limit=20)
        assert WORDS[status] in text, (status, text)
