"""Re-plan benchmark on the regional case: one coach is away for a month.

    uv run python -m benchmarks.replan [--runs 2] [--time-limit 1800]

Plans the generated regional scenario (50 cohorts of 12), marks the busiest coach
unavailable for 30 days from the middle of their busiest month, and re-plans with the old
calendar as `previous`. Affected are the coach's events inside the absence, and the
workshops such an event must follow (`after`) when they end too late for it: the absence
runs to the month's end, so the event must now be before the absence, and its workshop
before that. Prints per run the re-plan time, affected and moved (target: moved =
affected, under 5 s), the independent checker's hard violations, and the moved_events level
with its bound. Results: benchmarks/results/schedule-replan.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from cohort_solver.checks.calendar import violations
from cohort_solver.domain.scenario import Unavailability
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.solve import match
from cohort_solver.stages.schedule import schedule

from .__main__ import RESULTS, scenario_for


def chained_workshops(scenario, events, direct, away) -> set[str]:
    """The workshops the directly affected events must follow (`after`) whose old end is
    later than the latest those events can now start (before the absence, when it runs to
    the month's end)."""
    from cohort_solver.domain.programme_time import month_bounds

    sessions = {s.session_key: s for s in scenario.programme}
    by_id = {e.event_id: e for e in events}
    out = set()
    for e in direct:
        session = sessions[e.session_key]
        _, last = month_bounds(scenario, session.month)
        if not session.after or away.end.date() <= last:
            continue
        latest = away.start - (e.end - e.start)
        g = by_id.get(f"{e.cohort_id}/{session.after}")
        if g is not None and g.end.replace(tzinfo=None) > latest:
            out.add(g.event_id)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="regional")
    parser.add_argument("--time-limit", type=float, default=1800)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    scenario = load_scenario(scenario_for(args.size))
    selected = allocate(scenario, time_limit=args.time_limit).selected()
    matches = match(scenario, selected, time_limit=args.time_limit).matches
    started = time.monotonic()
    first = schedule(scenario, selected, matches, time_limit=args.time_limit)
    plan_seconds = time.monotonic() - started

    coaches = {c.coach_id for c in scenario.coaches}
    load = Counter(
        (who, e.start.strftime("%Y-%m"))
        for e in first.events
        for who in e.attendee_ids
        if who in coaches
    )
    (coach, month), _ = load.most_common(1)[0]
    # 30 days from mid-month: a whole calendar month away would leave no lawful day at all for
    # that month's coaching with this coach, which is a rematch, not a re-plan.
    away_from = datetime.fromisoformat(f"{month}-15")
    away = Unavailability(id=coach, start=away_from, end=away_from + timedelta(days=30))
    changed = scenario.model_copy(update={"unavailability": (*scenario.unavailability, away)})
    direct = [
        e
        for e in first.events
        if coach in e.attendee_ids
        and e.start.replace(tzinfo=None) < away.end
        and away.start < e.end.replace(tzinfo=None)
    ]
    affected = {e.event_id for e in direct} | chained_workshops(
        scenario, first.events, direct, away
    )
    rows = []
    header = (
        f"{'events':>7} {'plan s':>7} {'replan s':>9} {'affected':>9} {'moved':>6} "
        f"{'moved=affected':>15} {'violations':>11} {'moved level':>12} {'load':>5}"
    )
    print(header)
    for _ in range(args.runs):
        load_now = round(os.getloadavg()[0], 2)
        started = time.monotonic()
        second = schedule(
            changed, selected, matches, time_limit=args.time_limit, previous=first.events
        )
        replan_seconds = time.monotonic() - started
        before = {e.event_id: (e.start, e.venue_id) for e in first.events}
        moved = {
            e.event_id for e in second.events if before.get(e.event_id) != (e.start, e.venue_id)
        }
        found = violations(changed, selected, matches, second.events)
        level = second.report.levels[0]
        row = (
            len(second.events),
            round(plan_seconds, 1),
            round(replan_seconds, 2),
            len(affected),
            len(moved),
            moved == affected,
            len(found),
            f"{level.value} (bound {level.bound})",
            load_now,
        )
        rows.append(row)
        print(
            f"{row[0]:>7} {row[1]:>7} {row[2]:>9} {row[3]:>9} {row[4]:>6} {str(row[5]):>15} "
            f"{row[6]:>11} {row[7]:>12} {row[8]:>5}"
        )
    print(f"coach {coach} away {away.start:%Y-%m-%d} to {away.end:%Y-%m-%d}")
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "# schedule benchmark: re-plan after one coach's absence",
        "",
        f"Measured {datetime.now(UTC).isoformat(timespec='seconds')} on {machine}; "
        f"generated {args.size} scenario, coach {coach} away {away.start:%Y-%m-%d} to "
        f"{away.end:%Y-%m-%d}.",
        "",
        "| events | first plan s | re-plan s | affected | moved | moved = affected | hard violations | moved_events level | load |",
        "|---:|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    (RESULTS / "schedule-replan.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
