"""Shared fixtures: scenario folders written from Python, and the bundled oxford-2024 scenario."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
OXFORD = ROOT / "scenarios" / "oxford-2024"

SMALL_TOML = """\
[programme]
name = "Small Programme"
organisation = "Test Council"
start = "2024-04-01"
timezone = "Europe/London"
holidays = "GB-ENG"

[selection]
places = 3
eligible_grades = [6, 7]
aggregate = "mean"
min_score = 0
seed = 7
reserves = 2

[[selection.ring_fence]]
name = "under-represented"
groups = ["woman", "minority_ethnic", "disabled"]
min_places = 2
unfilled = "release"

[selection.spread]
max_per_service_area = 2
min_service_areas = 2
"""

# id, service_area, grade, probation, approved, performance, woman, minority_ethnic, disabled
SMALL_APPLICANTS = [
    ("A1", "Housing", 6, "yes", "yes", "yes", "yes", "", ""),
    ("A2", "Housing", 7, "yes", "yes", "yes", "no", "no", "no"),
    ("A3", "Finance", 6, "yes", "yes", "yes", "no", "yes", ""),
    ("A4", "Finance", 7, "yes", "no", "yes", "yes", "", ""),
    ("A5", "Planning", 8, "yes", "yes", "yes", "no", "no", "yes"),
    ("A6", "Planning", 6, "yes", "yes", "yes", "no", "no", "no"),
]
SMALL_SCORES = {"A1": (7, 8), "A2": (9, 9), "A3": (6, 6), "A4": (9, 8), "A5": (8, 8), "A6": (8, 7)}


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_small(
    folder: Path, toml: str = SMALL_TOML, extra: Mapping[str, tuple] | None = None
) -> Path:
    """A six-applicant, one-cohort scenario; ``extra`` adds files as name -> (header, rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(toml)
    write_csv(
        folder / "applicants.csv",
        [
            "applicant_id",
            "name",
            "email",
            "council",
            "service_area",
            "grade",
            "probation_passed",
            "line_manager_approved",
            "performance_eligible",
            "woman",
            "minority_ethnic",
            "disabled",
        ],
        [
            (a[0], f"Name {a[0]}", f"{a[0].lower()}@test.gov.uk", "Test Council", *a[1:])
            for a in SMALL_APPLICANTS
        ],
    )
    write_csv(
        folder / "scores.csv",
        ["applicant_id", "panelist", "score"],
        [(a, f"P{i}", s) for a, pair in SMALL_SCORES.items() for i, s in enumerate(pair, start=1)],
    )
    for name, (header, rows) in (extra or {}).items():
        write_csv(folder / name, header, rows)
    return folder


def generated_inputs(folder: Path, **settings: object) -> tuple[Any, Any, Any]:
    """A ``cohort-solver generate`` programme written to ``folder`` (``settings``: its
    arguments), loaded, allocated and matched by the real stages: what the calendar reads
    (the scenario, the selected decisions and the matches)."""
    from cohort_solver.stages.allocate.solve import allocate
    from cohort_solver.stages.load.scenario import load_scenario
    from cohort_solver.stages.match.solve import match
    from cohort_solver.synthetic.generate import generate_scenario

    scenario = load_scenario(generate_scenario(folder, **settings))
    selected = allocate(scenario, time_limit=60).selected()
    return scenario, selected, match(scenario, selected, time_limit=60).matches


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_small(tmp_path / "small")


@pytest.fixture
def oxford(tmp_path: Path) -> Path:
    """A private copy of oxford-2024, so tests may write into it."""
    target = tmp_path / "oxford-2024"
    shutil.copytree(OXFORD, target, ignore=shutil.ignore_patterns("out"))
    return target


@pytest.fixture
def always_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the local process pool even for runs too small to pay for starting it."""
    monkeypatch.setattr("cohort_solver.sweeps.runner.POOL_START_SECONDS", -1.0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a real process pool takes seconds: it is `slow`, so the fast loop
    (`-m "not slow"`) skips it and the full suite (CI) runs it."""
    for item in items:
        if "always_pool" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
