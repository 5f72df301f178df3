"""Regional calendar benchmark: 50 cohorts of 12, 100 coaches, 20 venues.

Built in Python (no files): part-time participants and 5% unavailability. Runs the schedule
twice, each in its own process with its own hash seed, and prints per run: events, wall time,
peak memory, hard violations from the independent checker (must be 0), soft objective, bound
and gap, and the calendar.csv hash; then whether the two calendars are identical byte for byte.

Run: ``uv run python -m benchmarks.calendar [--time-limit 60] [--workers 2] [--runs 2]``
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `calendar`; keep its folder off the path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

from cohort_solver.checks.calendar import soft_objective, violations  # noqa: E402
from cohort_solver.model import (  # noqa: E402
    Applicant,
    Coach,
    CohortSettings,
    Match,
    Outcome,
    Person,
    Scenario,
    Session,
    Settings,
    Unavailability,
    Venue,
)
from cohort_solver.solvers.calendar import calendar_csv, schedule  # noqa: E402

PROGRAMME = [  # the oxford-2024 session plan
    ("IND", "cohort_event", 1, 180, "", "", ""),
    ("W01", "group", 2, 210, "F", "", ""),
    ("C1", "coaching", 2, 60, "", "", "W01"),
    ("W02", "group", 3, 180, "F", "", ""),
    ("W03", "group", 4, 210, "F", "", ""),
    ("C2", "coaching", 4, 60, "", "", ""),
    ("R-LM1", "review", 4, 60, "", "line_manager", "W03"),
    ("W04", "group", 5, 210, "F", "", ""),
    ("W05", "group", 6, 180, "F", "", ""),
    ("C3", "coaching", 6, 60, "", "", ""),
    ("W06", "group", 7, 180, "F", "", ""),
    ("R-LM2", "review", 7, 60, "", "line_manager", "W06"),
    ("W07", "group", 8, 180, "F", "", ""),
    ("C4", "coaching", 8, 60, "", "", ""),
    ("W08", "group", 9, 180, "F", "", ""),
    ("W09", "group", 10, 210, "F", "", ""),
    ("C5", "coaching", 10, 60, "", "", ""),
    ("R-HOS1", "review", 10, 60, "", "head_of_service", "W09"),
    ("W10", "group", 11, 210, "F", "", ""),
    ("W11", "group", 12, 180, "F", "", ""),
    ("C6", "coaching", 12, 60, "", "", "W11"),
    ("W12", "group", 13, 210, "F", "", ""),
    ("IMPACT", "cohort_event", 14, 120, "F", "CMT", ""),
    ("C7", "coaching", 19, 60, "", "", ""),
]


def regional(seed: int = 7, size: int = 50) -> tuple[Scenario, list[Outcome], list[Match]]:
    """``size`` cohorts (50 = the regional scenario; fewer for a test), 5 per council."""
    rng = random.Random(seed)
    councils = [f"Council {i:02d}" for i in range(10)]
    cohorts = [
        CohortSettings(id=f"c{i:02d}", places=12, councils=[councils[i // 5]]) for i in range(size)
    ]
    settings = Settings.model_validate(
        {
            "programme": {"name": "Regional", "start": "2024-04-01"},
            "selection": {"places": 12, "eligible_grades": [6, 7]},
            "cohorts": [c.model_dump() for c in cohorts],
        }
    )
    patterns = [("Mon", "Tue", "Wed", "Thu", "Fri")] * 4 + [
        ("Mon", "Tue", "Wed"),
        ("Tue", "Wed", "Thu"),
    ]
    applicants, selected, people, matches = [], [], [], []
    areas = [f"Area {k}" for k in range(6)]
    for council in councils:
        for area in areas:
            people.append(
                Person(
                    person_id=f"HOS-{council[-2:]}-{area[-1]}",
                    role="head_of_service",
                    council=council,
                    service_area=area,
                )
            )
    for i, cohort in enumerate(cohorts):
        facilitator = f"FAC{i // 5:02d}"
        for j in range(12):
            pid = f"A{i:02d}{j:02d}"
            manager = f"LM{i:02d}{j // 2:02d}"  # two participants per line manager
            applicants.append(
                Applicant(
                    applicant_id=pid,
                    council=councils[i // 5],
                    service_area=areas[j % 6],
                    grade=6,
                    probation_passed=True,
                    line_manager_approved=True,
                    performance_eligible=True,
                    line_manager_id=manager,
                    working_days=rng.choice(patterns),
                )
            )
            selected.append(Outcome(applicant_id=pid, status="selected", cohort_id=cohort.id))
            coach = f"CO{(i * 12 + j) // 6:03d}"
            matches.append(
                Match(
                    participant_id=pid,
                    cohort_id=cohort.id,
                    mentor_id="M",
                    coach_id=coach,
                    mentor_fit=0,
                    coach_fit=0,
                )
            )
        people.append(Person(person_id=facilitator, role="facilitator"))
    coaches = [
        Coach(
            coach_id=f"CO{k:03d}",
            capacity=6,
            working_days=("Mon", "Tue", "Wed", "Thu")
            if k % 5 == 0
            else ("Mon", "Tue", "Wed", "Thu", "Fri"),
        )
        for k in range(100)
    ]
    venues = [Venue(venue_id=f"V{k:02d}", capacity=20, council=councils[k // 2]) for k in range(20)]
    programme = []
    for key, kind, month, minutes, _facilitator, with_, after in PROGRAMME:
        programme.append(
            Session.model_validate(
                {
                    "session_key": key,
                    "title": key,
                    "kind": kind,
                    "month": month,
                    "duration_minutes": minutes,
                    "with": (with_,) if with_ and with_ != "CMT" else (),
                    "after": after or None,
                }
            )
        )
    # programme.csv names one facilitator per session for every cohort; 50 cohorts cannot share
    # one person, so the regional template leaves facilitators out.
    ids = (
        [a.applicant_id for a in applicants]
        + [c.coach_id for c in coaches]
        + [v.venue_id for v in venues]
    )
    unavailability = []
    first = date(2024, 4, 1)
    for who in ids:  # away on 5% of days: half a day (appointments, training) or a whole day
        for day in range(0, 19 * 31):
            if rng.random() < 0.05:
                start = datetime.combine(first + timedelta(days=day), datetime.min.time())
                part = rng.choice(["morning", "afternoon", "day"])
                if part == "morning":
                    start, end = start + timedelta(hours=9), start + timedelta(hours=13)
                elif part == "afternoon":
                    start, end = start + timedelta(hours=13), start + timedelta(hours=17)
                else:
                    end = start + timedelta(days=1)
                unavailability.append(Unavailability(id=who, start=start, end=end))
    scenario = Scenario(
        folder=Path("."),
        settings=settings,
        applicants=tuple(applicants),
        coaches=tuple(coaches),
        programme=tuple(programme),
        people=tuple(people),
        venues=tuple(venues),
        unavailability=tuple(unavailability),
    )
    return scenario, selected, matches


def once(time_limit: float, workers: int) -> dict:
    """One schedule of the regional scenario, measured; the figures as a dict."""
    scenario, selected, matches = regional()
    began = time.monotonic()
    result = schedule(scenario, selected, matches, time_limit=time_limit, workers=workers)
    seconds = time.monotonic() - began
    broken = violations(scenario, selected, matches, result.events)
    total = next(level for level in result.report.levels if level.name == "soft_total")
    return {
        "events": len(result.events),
        "seconds": round(seconds, 1),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "violations": len(broken),
        "first_violations": broken[:10],
        "objective": soft_objective(scenario, result.events),
        "solver_objective": total.value,
        "bound": total.bound,
        "gap": round(total.gap, 4),
        "status": result.report.status,
        "notes": list(result.report.notes),
        "levels": {lv.name: [lv.value, lv.bound] for lv in result.report.levels},
        "sha256": hashlib.sha256(calendar_csv(result.events).encode()).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--once", action="store_true", help="one run, figures as JSON (internal)")
    args = parser.parse_args()
    if args.once:
        print(json.dumps(once(args.time_limit, args.workers)))
        return
    runs = []
    for run in range(args.runs):
        # Each run in its own process with a different hash seed: nothing may hang on either.
        env = {**os.environ, "PYTHONHASHSEED": str(run + 1)}
        command = [
            sys.executable,
            "-m",
            "benchmarks.calendar",
            "--once",
            "--time-limit",
            str(args.time_limit),
            "--workers",
            str(args.workers),
        ]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        runs.append(figures)
        print(
            f"run {run + 1}: events {figures['events']}, wall {figures['seconds']} s "
            f"(workers={args.workers}, limit={args.time_limit} s), peak {figures['peak_mib']} MiB, "
            f"hard violations {figures['violations']}, soft objective {figures['objective']} "
            f"(solver {figures['solver_objective']}), bound {figures['bound']}, gap {figures['gap']:.1%}, "
            f"status {figures['status']}, sha256 {figures['sha256'][:16]}",
            flush=True,
        )
        for line in figures["first_violations"]:
            print("   ", line)
        for note in figures["notes"]:
            print("    note:", note)
    for name, (value, bound) in runs[0]["levels"].items():
        print(f"  {name}: {value} (bound {bound})")
    print(f"identical: {'yes' if len({r['sha256'] for r in runs}) == 1 else 'no'}")


if __name__ == "__main__":
    main()
