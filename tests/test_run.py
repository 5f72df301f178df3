"""The end-to-end run on oxford-2024: every output, determinism, and privacy by design."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.checks.calendar import violations as check_calendar
from cohort_solver.checks.matching import violations as check_matching
from cohort_solver.cli import main
from cohort_solver.stages.export.calendar_csv import read_calendar_csv
from cohort_solver.stages.export.tables import read_allocation, read_matches
from cohort_solver.stages.load.scenario import load_scenario


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from .conftest import OXFORD

    outs = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp(name) / "out"
        result = CliRunner().invoke(
            main, ["run", str(OXFORD), "--out", str(out), "--quiet", "--workers", "2"]
        )
        assert result.exit_code == 0, result.output
        outs.append(out)
    return outs[0], outs[1]


@pytest.mark.slow
def test_run_writes_every_output_and_each_passes_its_checker(runs: tuple[Path, Path]) -> None:
    from .conftest import OXFORD

    out = runs[0]
    scenario = load_scenario(OXFORD)
    assert {p.name for p in out.iterdir()} == {
        "allocation.csv",
        "decision_log.csv",
        "feedback.csv",
        "matches.csv",
        "calendar.csv",
        "ics",
        "report.html",
        "panel.xlsx",
        "solution.json",
    }
    outcomes = read_allocation(out / "allocation.csv")
    matches = read_matches(out / "matches.csv")
    events = read_calendar_csv(out / "calendar.csv")
    assert allocation_violations(scenario, outcomes) == []
    selected = [o for o in outcomes if o.status == "selected"]
    assert check_matching(scenario, selected, matches) == []
    assert check_calendar(scenario, selected, matches, events) == []
    assert (out / "ics" / "cohort-main.ics").exists()


def _stable(path: Path) -> bytes:
    data = path.read_bytes()
    data = re.sub(rb"DTSTAMP:[0-9TZ]+", b"DTSTAMP:x", data)
    data = re.sub(rb'"seconds": [0-9.]+', b'"seconds": 0', data)
    return re.sub(rb'"created": "[^"]+"', b'"created": "x"', data)


@pytest.mark.slow
def test_run_is_byte_identical_apart_from_timestamps(runs: tuple[Path, Path]) -> None:
    first, second = runs
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert _stable(first / name) == _stable(second / name), name


@pytest.mark.slow
def test_no_protected_characteristic_or_score_leaves_the_panel_files(
    runs: tuple[Path, Path],
) -> None:
    from .conftest import OXFORD

    out = runs[0]
    scenario = load_scenario(OXFORD)
    scores = {f"{o.score}" for o in read_allocation(out / "allocation.csv") if o.score is not None}
    forbidden = [
        "woman",
        "minority_ethnic",
        "disabled",
        "under-represented",
        "ring_fence",
        "panel-",
    ]
    shared = [
        out / "decision_log.csv",
        out / "matches.csv",
        out / "calendar.csv",
        *sorted((out / "ics").iterdir()),
    ]
    for path in shared:
        text = path.read_text(encoding="utf-8")
        for word in forbidden:
            assert word not in text, (path.name, word)
        for score in scores:
            assert not re.search(rf"(?<![\d.]){re.escape(score)}(?![\d])", text), (path.name, score)
    assert scenario.applicants  # the scenario does carry the data that must not leak
