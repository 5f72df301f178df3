"""The decision log: decision_log.csv (one shareable line per applicant) and solution.json's block."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.domain.reasons import Reason
from cohort_solver.domain.results import Decision
from cohort_solver.stages.export.files import read_csv_rows
from cohort_solver.stages.export.tables import read_allocation, reason_codes
from cohort_solver.stages.load.scenario import load_scenario


def _outcome(status: str, reason: str) -> Decision:
    return Decision(applicant_id="A1", status=status, reason=Reason.parse(reason))  # type: ignore[arg-type]  # status: any text, to test the log


def test_reason_codes_keep_rule_names_but_hide_ring_fence_membership() -> None:
    assert reason_codes(_outcome("selected", "selected: score rank 4 of 25 eligible")) == "selected"
    assert reason_codes(_outcome("ineligible", "grade;not_scored")) == "grade;not_scored"
    assert (
        reason_codes(_outcome("not_selected", "spread:max_per_service_area"))
        == "spread:max_per_service_area"
    )
    assert reason_codes(_outcome("reserve", "lottery")) == "lottery"
    assert reason_codes(_outcome("not_selected", "withdrawn")) == "withdrawn"
    # Outscored and a ring-fence reason read the same, so the log does not reveal who is a member.
    assert reason_codes(_outcome("not_selected", "outscored")) == "competition"
    assert reason_codes(_outcome("reserve", "ring_fence:under-represented")) == "competition"
    assert reason_codes(_outcome("not_selected", "north=ring_fence:women;south=preference")) == (
        "north=competition;south=preference"
    )


def test_allocate_writes_the_decision_log(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["allocate", str(oxford), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(oxford)
    outcomes = read_allocation(out / "allocation.csv")
    text = (out / "decision_log.csv").read_text()
    assert text.splitlines()[0] == "applicant_id,status,cohort_id,reason_codes"
    log = read_csv_rows(out / "decision_log.csv")
    assert [(r["applicant_id"], r["status"], r["cohort_id"]) for r in log] == [
        (o.applicant_id, o.status, o.cohort_id or "") for o in outcomes
    ]
    assert [r["reason_codes"] for r in log] == [reason_codes(o) for o in outcomes]
    for word in ("under-represented", "ring_fence", "woman", "minority_ethnic", "disabled"):
        assert word not in text, word
    scores = {f"{o.score:.2f}" for o in outcomes if o.score is not None}
    assert not any(score in text for score in scores)

    block = json.loads((out / "solution.json").read_text())["decision_log"]
    assert block["inputs_checksum"] == scenario.checksum
    assert block["seed"] == 2024
    assert block["settings"] == scenario.settings.model_dump(mode="json")
    assert block["settings"]["selection"]["ring_fence"][0]["min_places"] == 9
    assert block["stages"] == {"allocation": "optimal"}


def test_withdraw_rewrites_the_decision_log(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args in (["allocate", str(oxford)], ["withdraw", str(oxford), "A024"]):
        assert CliRunner().invoke(main, [*args, "--out", str(out), "--quiet"]).exit_code == 0
    log = {r["applicant_id"]: r for r in read_csv_rows(out / "decision_log.csv")}
    assert (log["A024"]["status"], log["A024"]["reason_codes"]) == ("not_selected", "withdrawn")
    assert log["A037"]["status"] == "selected"
