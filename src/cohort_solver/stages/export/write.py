"""Writing a set of output files into --out in one step, with solution.json beside them."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from cohort_solver.domain.results import StageReport
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.export.files import output_folder
from cohort_solver.stages.export.solution import recorded_feeds, solution_json


def write_outputs(
    out: Path,
    scenario: Scenario,
    files: Mapping[str, str | bytes],
    reports: Sequence[StageReport],
    *,
    fresh_ics: bool = False,
    remove: Sequence[str] = (),
) -> None:
    """Stage a copy of ``out`` with ``files`` and a solution.json of ``reports``, swap it in.

    ``remove``: files of stages this write replaces with nothing (see ``Earlier.stale``).
    ``fresh_ics``: the new feeds replace ics/ as a whole, so a person no longer in the plan
    keeps only the cancellations the new export wrote for them, not a stale feed.
    """
    with output_folder(out) as staging:
        feeds = _feeds_record(staging, files)
        if fresh_ics:
            _remove(staging / "ics")
        for name in remove:
            _remove(staging / name)
        document = solution_json(scenario, reports, feeds)
        for name, content in {**files, "solution.json": document}.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8", newline="")


def _feeds_record(staging: Path, files: Mapping[str, str | bytes]) -> list[str] | None:
    """The feeds this folder has had: the ones written now, else those recorded before (a
    command that writes no feeds keeps the record, so a later export can still miss them)."""
    written = [name.removeprefix("ics/") for name in files if name.startswith("ics/")]
    if written:
        return written
    return recorded_feeds(staging / "solution.json")


def _remove(folder: Path) -> None:
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.is_dir():
        shutil.rmtree(folder)
