"""solution.json: status, objective values and bounds per stage, checksum, versions, and the decision log block."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from cohort_solver.domain.results import Level, StageReport
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.export.files import not_utf8
from cohort_solver.stages.export.tables import json_position


def solution_json(
    scenario: Scenario, reports: Sequence[StageReport], feeds: Sequence[str] | None = None
) -> str:
    """Status and objective values with bounds per stage, timings, checksum and versions;
    ``feeds``: the ics/ files exported into this folder so far (see ``recorded_feeds``)."""
    stages = {
        r.stage: {
            "status": r.status,
            "solver": r.solver,
            "seconds": r.seconds,
            "notes": list(r.notes),
            **({"inputs_checksum": r.inputs} if r.inputs else {}),
            "objectives": [
                {
                    "name": lv.name,
                    "sense": lv.sense,
                    "value": lv.value,
                    "bound": lv.bound,
                    "gap": round(lv.gap, 6),
                }
                for lv in r.levels
            ],
        }
        for r in reports
    }
    document = {
        "status": "optimal" if all(r.status == "optimal" for r in reports) else "feasible",
        "stages": stages,
        "scenario": {
            "folder": scenario.folder.name,
            "programme": scenario.settings.programme.name,
            "checksum": scenario.checksum,
            "seed": scenario.settings.selection.seed,
        },
        "versions": {
            "cohort_solver": _version("cohort-solver"),
            "ortools": _version("ortools"),
            "python": platform.python_version(),
        },
        "decision_log": {
            "inputs_checksum": scenario.checksum,
            "seed": scenario.settings.selection.seed,
            "settings": scenario.settings.model_dump(mode="json"),
            "stages": {r.stage: r.status for r in reports},
            "warnings": list(scenario.warnings),
        },
        **({"feeds": {"files": sorted(feeds)}} if feeds is not None else {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return json.dumps(document, indent=2) + "\n"


def read_reports(path: Path) -> list[StageReport]:
    """Stage reports kept in an earlier solution.json, so a later stage can add to them.

    A solution.json that is not ours (broken JSON, a stage without a status, ...) is bad input
    at its line and column: the reports it holds would otherwise be dropped without a word.
    """
    if not os.path.lexists(path):
        return []
    file = str(path)
    text = _read_text(file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(file, exc.lineno, exc.colno, f"not JSON written by cohort-solver ({exc.msg})")]
        ) from None
    except RecursionError:
        raise InputError([Problem(file, 1, 1, "nested too deeply to be ours")]) from None

    def bad(keys: Sequence[str | int], message: str) -> InputError:
        row, column = json_position(text, keys)
        where = ".".join(str(k) for k in keys)
        return InputError([Problem(file, row, column, f"{where}: {message}")])

    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict):
        raise bad(["stages"], "missing, or not a table of stages")
    return [_stage_report(name, body, bad) for name, body in stages.items()]


def recorded_feeds(path: Path) -> list[str] | None:
    """The feed files solution.json says were exported into its folder (None: no export yet,
    or a solution.json from before exports were recorded). It is the evidence that lets a later
    export notice that the earlier feeds have gone, instead of silently starting them again."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # read_reports reports a damaged solution.json at its line
    feeds = document.get("feeds") if isinstance(document, dict) else None
    files = feeds.get("files") if isinstance(feeds, dict) else None
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        return None
    return [name for name in files if Path(name).name == name and name.endswith(".ics")]


def _read_text(file: str) -> str:
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, 1, 1, f"cannot read the file: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([not_utf8(file, data, exc)]) from None


def _stage_report(
    name: str, body: object, bad: Callable[[Sequence[str | int], str], InputError]
) -> StageReport:
    """One stage of solution.json as a StageReport; ``bad`` names the key that is not ours."""
    if not isinstance(body, dict):
        raise bad(["stages", name], "not a table")
    if body.get("status") not in ("optimal", "feasible"):
        raise bad(["stages", name, "status"], "should be 'optimal' or 'feasible'")
    seconds = body.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise bad(["stages", name, "seconds"], "not a number")
    levels = body.get("objectives", [])
    if not isinstance(levels, list):
        raise bad(["stages", name, "objectives"], "not a list")
    kept = []
    for number, level in enumerate(levels):
        try:
            kept.append(Level.model_validate({k: v for k, v in level.items() if k != "gap"}))
        except (AttributeError, ValidationError):
            raise bad(
                ["stages", name, "objectives", number],
                "needs a name, a sense ('max' or 'min'), and whole-number value and bound",
            ) from None
    notes = body.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise bad(["stages", name, "notes"], "not a list of text")
    texts = {}
    for key, default in (("solver", "CP-SAT"), ("inputs_checksum", "")):
        texts[key] = body.get(key, default)
        if not isinstance(texts[key], str):
            raise bad(["stages", name, key], "not text")
    return StageReport(
        stage=name,
        status=body["status"],
        solver=texts["solver"],
        seconds=float(seconds),
        levels=tuple(kept),
        notes=tuple(notes),
        inputs=texts["inputs_checksum"],
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
