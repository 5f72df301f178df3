"""The calendar sweep: many generated programmes of 1 to 50 cohorts, every family that once
failed (``after`` chains across kinds, shared facilitators, part-timers, absences of
participants, coaches and facilitators, tight venues, 24-month programmes).

    uv run python -m benchmarks sweep [--time-limit 600] [--max-cohorts 50]

Each programme is generated, allocated, matched and scheduled through the API in its own
process (``measure.in_child``).
Printed per programme: its families, events, whether it was scheduled (with the independent
checker's hard violations, which must be 0), proven infeasible (with the first cause) or
timed out (exit 4), wall seconds of the stage, and the gap to the stage's lower bound.
Target: every feasible programme scheduled. Results: benchmarks/results/sweep.{md,csv}.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cohort_solver
from benchmarks.common import write_results
from benchmarks.measure import FIGURES, Failed, in_child, load_average, row

SIZES = (1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 50)


def families(cohorts: int) -> dict[str, dict[str, Any]]:
    """The generator options of each family for a programme of ``cohorts`` cohorts."""
    return {
        "default": {},
        "chains": {"after_chains": True},
        "part-time+absent": {
            "part_time_share": 0.3,
            "participant_unavailability_share": 0.1,
            "unavailability_share": 0.1,
        },
        "tight-venues": {"venues": max(1, math.ceil(cohorts / 3)), "group_weekdays": ("Wed",)},
        "24-months+chains": {"months": 24, "after_chains": True},
        "shared-facilitators+chains": {"shared_facilitators": 8, "after_chains": True},
    }


def programmes() -> list[tuple[str, dict[str, Any]]]:
    """Every programme of the sweep: each family at most sizes, seeds varying."""
    out = []
    for i, cohorts in enumerate(SIZES):
        for j, (family, extra) in enumerate(families(cohorts).items()):
            if family == "shared-facilitators+chains" and cohorts > 8:
                continue  # every cohort would share the same two facilitators
            if family == "24-months+chains" and cohorts in (4, 15, 40):
                continue
            options = {
                "councils": max(1, cohorts if (i + j) % 2 else math.ceil(cohorts / 2)),
                "applicants": max(60, cohorts * 40),
                "cohorts": cohorts,
                "seed": 100 + 7 * i + j,
                "places": 12 if cohorts > 1 else 8,
                **extra,
            }
            out.append((f"{cohorts:02d}-{family}", options))
    return out


COLUMNS = ["programme", "events", *FIGURES, "hard_violations", "load", "note"]


def one(index: int, options: cohort_solver.Options) -> dict[str, Any]:
    """Generate, allocate and match programme ``index``; schedule it and report."""
    from cohort_solver.checks.calendar import violations
    from cohort_solver.errors import InfeasibleError, OutOfTimeError
    from cohort_solver.synthetic.generate import generate_scenario

    _, generator_options = programmes()[index]
    with tempfile.TemporaryDirectory() as folder:
        generate_scenario(Path(folder) / "s", **generator_options)
        scenario = cohort_solver.load(Path(folder) / "s")
    earlier = replace(options, time_limit=120)
    allocation = cohort_solver.allocate(scenario, earlier)
    matches = cohort_solver.match(scenario, allocation, earlier).matches
    began = time.monotonic()
    figures: dict[str, Any] = {}
    try:
        result = cohort_solver.schedule(scenario, allocation, matches, options)
    except InfeasibleError as exc:
        figures.update(outcome="proven infeasible", note=exc.causes[0][:160])
    except OutOfTimeError as exc:
        figures.update(outcome="timed out (exit 4)", note=exc.reached[:160])
    else:
        report = result.report
        figures.update(
            outcome="scheduled",
            events=len(result.events),
            violations=len(violations(scenario, allocation.selected(), matches, result.events)),
            report=report.model_copy(
                update={"levels": tuple(lv for lv in report.levels if lv.name == "soft_total")}
            ),
        )
    figures["seconds"] = time.monotonic() - began
    return figures


def line(name: str, measured: Any, load: str) -> list[Any]:
    if isinstance(measured.result, Failed):
        return [name, "", *row(measured, []), "", load, measured.result.message]
    f = measured.result
    timed = replace(measured, wall_s=f["seconds"])
    if f["outcome"] != "scheduled":
        figures = row(timed, [])
        figures[2] = f["outcome"]
        return [name, "", *figures, "", load, f["note"].replace("|", "/")]
    return [name, f["events"], *row(timed, [f["report"]]), f["violations"], load, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-cohorts", type=int, default=50, help="skip larger programmes")
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    chosen = [
        (i, name) for i, (name, o) in enumerate(programmes()) if o["cohorts"] <= args.max_cohorts
    ]
    print(f"{len(chosen)} programmes", flush=True)
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for index, name in chosen:
        load = load_average()
        rows.append(line(name, in_child(one, index, options), load))
        print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[4]] = counts.get(r[4], 0) + 1  # the status column
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(summary)
    print(f"wrote {write_results('sweep', COLUMNS, rows, summary)}")
    return 0
