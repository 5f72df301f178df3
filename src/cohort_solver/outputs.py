"""The output files of the contract (section 3) as text, and reading our own files back."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from .errors import InputError, Problem
from .io import csv_text, read_csv_rows
from .model import Event, Match, Outcome, Scenario, StageReport

ALLOCATION_COLUMNS = (
    "applicant_id",
    "status",
    "cohort_id",
    "score",
    "ring_fences",
    "reserve_rank",
    "reason",
)


def allocation_csv(outcomes: Iterable[Outcome]) -> str:
    return csv_text(
        ALLOCATION_COLUMNS,
        (
            (
                o.applicant_id,
                o.status,
                o.cohort_id,
                "" if o.score is None else f"{o.score:.2f}",
                ";".join(o.ring_fences),
                o.reserve_rank,
                o.reason,
            )
            for o in outcomes
        ),
    )


def read_allocation(path: Path) -> list[Outcome]:
    """allocation.csv as written by ``allocation_csv``."""
    try:
        rows = read_csv_rows(path)
        return [
            Outcome(
                applicant_id=row["applicant_id"],
                status=row["status"],  # type: ignore[arg-type]
                cohort_id=row["cohort_id"] or None,
                score=Decimal(row["score"]) if row["score"] else None,
                ring_fences=tuple(p for p in row["ring_fences"].split(";") if p),
                reserve_rank=int(row["reserve_rank"]) if row["reserve_rank"] else None,
                reason=row["reason"],
            )
            for row in rows
        ]
    except (KeyError, ValueError) as exc:
        raise InputError(
            [Problem(path.name, 1, 1, f"not an allocation.csv written by cohort-solver ({exc})")]
        ) from None


DECISION_LOG_COLUMNS = ("applicant_id", "status", "cohort_id", "reason_codes")
# Reasons that say nothing about a person's protected characteristics pass through. "outscored"
# and every ring-fence reason become "competition": a ring-fence reason would tell a reader of
# this widely shared log who does or does not count towards a ring fence.
_SHAREABLE_REASONS = {
    "places",
    "preference",
    "lottery",
    "withdrawn",
    "spread:max_per_service_area",
    "spread:max_per_council",
    "spread:min_service_areas",
}


def reason_codes(outcome: Outcome) -> str:
    """The outcome's reason as shareable codes, ``;``-separated (per cohort: ``north=code``)."""
    if outcome.status == "selected":
        return "selected"
    if outcome.status == "ineligible":
        return outcome.reason  # the contract's eligibility rule codes
    codes = []
    for part in outcome.reason.split(";"):
        cohort, _, reason = part.rpartition("=")
        code = reason if reason in _SHAREABLE_REASONS else "competition"
        codes.append(f"{cohort}={code}" if cohort else code)
    return ";".join(dict.fromkeys(codes))


def decision_log_csv(outcomes: Iterable[Outcome]) -> str:
    """decision_log.csv: one line per applicant, with no score and no ring fence, to share widely."""
    return csv_text(
        DECISION_LOG_COLUMNS,
        ((o.applicant_id, o.status, o.cohort_id, reason_codes(o)) for o in outcomes),
    )


MATCH_COLUMNS = (
    "participant_id",
    "cohort_id",
    "mentor_id",
    "coach_id",
    "mentor_fit",
    "coach_fit",
    "reasons",
)


def matches_csv(matches: Iterable[Match]) -> str:
    return csv_text(MATCH_COLUMNS, ((getattr(m, c) for c in MATCH_COLUMNS) for m in matches))


def read_matches(path: Path) -> list[Match]:
    """matches.csv as written by ``matches_csv`` (e.g. ``match --previous OLD/matches.csv``)."""
    try:
        return [Match.model_validate(row) for row in read_csv_rows(path)]
    except (KeyError, ValueError) as exc:
        raise InputError(
            [Problem(path.name, 1, 1, f"not a matches.csv written by cohort-solver ({exc})")]
        ) from None


def change_reasons(
    scenario: Scenario, old: Sequence[Event], new: Sequence[Event]
) -> dict[str, str]:
    """Why each event of a re-plan changed, in coordinator words (for changes.csv): the rule
    its old time now breaks and who it concerns (an absence, a session moved to another
    month, a working day), else the changed event it made room for or moved with."""
    from .schedule.explain import why_changed

    return why_changed(scenario, old, new)


def solution_json(
    scenario: Scenario, reports: Sequence[StageReport], extra: dict | None = None
) -> str:
    """Status and objective values with bounds per stage, timings, checksum and versions."""
    stages = {
        r.stage: {
            "status": r.status,
            "solver": r.solver,
            "seconds": r.seconds,
            "notes": list(r.notes),
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
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    return json.dumps(document, indent=2) + "\n"


def read_reports(path: Path) -> list[StageReport]:
    """Stage reports kept in an earlier solution.json, so a later stage can add to them."""
    if not path.exists():
        return []
    try:
        stages = json.loads(path.read_text())["stages"]
        return [
            StageReport(
                stage=name,
                status=body["status"],
                solver=body.get("solver", "CP-SAT"),
                seconds=body.get("seconds", 0.0),
                levels=tuple(
                    {k: v for k, v in level.items() if k != "gap"}
                    for level in body.get("objectives", [])
                ),
            )
            for name, body in stages.items()
        ]
    except (ValueError, KeyError, TypeError):
        return []


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
