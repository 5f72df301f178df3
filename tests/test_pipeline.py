"""The pipeline (docs/architecture.md): the Python API runs every stage, and a command reuses
what an earlier one left in --out only while it was solved from the same inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cohort_solver
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import violations as calendar_violations
from cohort_solver.checks.matching import violations as matching_violations
from cohort_solver.cli import main

OXFORD = Path(__file__).resolve().parent.parent / "scenarios" / "oxford-2024"


@pytest.mark.slow
def test_the_python_api_runs_every_stage_and_each_result_passes_its_checker() -> None:
    options = cohort_solver.Options(time_limit=60, workers=2)
    scenario = cohort_solver.load(OXFORD)
    allocation = cohort_solver.allocate(scenario, options)
    matching = cohort_solver.match(scenario, allocation, options)
    calendar = cohort_solver.schedule(scenario, allocation, matching.matches, options)
    feeds = cohort_solver.export(scenario, calendar.events)

    assert allocation_violations(scenario, list(allocation.outcomes)) == []
    assert matching_violations(scenario, allocation.selected(), matching.matches) == []
    selected = allocation.selected()
    assert calendar_violations(scenario, selected, matching.matches, calendar.events) == []
    assert len(selected) == scenario.settings.selection.places
    assert feeds and all(name.endswith(".ics") for name in feeds)
    for report in (allocation.report, matching.report, calendar.report):
        assert report.inputs == scenario.inputs(report.stage)


def test_import_cohort_solver_does_not_load_the_solver() -> None:
    code = "import sys, cohort_solver; print('ortools' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def _stages(out: Path) -> dict[str, dict[str, object]]:
    stages: dict[str, dict[str, object]] = json.loads((out / "solution.json").read_text())["stages"]
    return stages


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_an_edit_re_solves_exactly_the_stages_that_read_the_edited_file(tmp_path: Path) -> None:
    folder, out = tmp_path / "scenario", tmp_path / "out"
    shutil.copytree(OXFORD, folder)
    _run("run", str(folder), "--out", str(out))
    before = _stages(out)
    allocation_csv = (out / "allocation.csv").read_bytes()

    # unavailability.csv is read by the calendar only: allocation and matching are reused.
    with (folder / "unavailability.csv").open("a") as unavailability:
        unavailability.write("FAC2,2025-04-14,2025-04-17\n")  # the facilitator's Easter week
    _run("schedule", str(folder), "--out", str(out))
    after = _stages(out)
    assert after["allocation"] == before["allocation"]
    assert after["matching"] == before["matching"]
    assert after["calendar"]["inputs_checksum"] != before["calendar"]["inputs_checksum"]
    assert (out / "allocation.csv").read_bytes() == allocation_csv

    # A --set on scenario.toml reaches every stage: the allocation is solved again.
    _run(
        "match", str(folder), "--out", str(out), "--set", "selection.spread.max_per_service_area=3"
    )
    again = _stages(out)
    assert again["allocation"]["inputs_checksum"] != before["allocation"]["inputs_checksum"]


@pytest.mark.slow
def test_the_readme_python_example_runs_and_shows_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (OXFORD.parent.parent / "README.md").read_text()
    block = readme.split("### From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(OXFORD.parent.parent)
    block = block.replace('out="out/"', f"out={str(tmp_path / 'out')!r}")
    namespace: dict[str, object] = {}
    for line in block.splitlines():
        code, _, shown = line.partition("  # ")
        if code.strip() and not code.startswith(" ") and shown.startswith(("[", "(")):
            assert repr(eval(code, namespace)) == shown.strip(), code
        else:
            exec(line, namespace)
    assert (tmp_path / "out" / "calendar.csv").exists()
