"""Re-plan benchmark on the regional case: one coach is away for a month.

    uv run python -m benchmarks.replan [--time-limit 120]

Plans the regional scenario, marks the busiest coach unavailable for 30 days from the middle
of their busiest month, and
re-plans with the old calendar as `previous`. Prints the re-plan time and events moved versus
events affected (the coach's events that month). Target: moved = affected, under 20 s.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import datetime, timedelta

from cohort_solver.checks.calendar import violations
from cohort_solver.io import load_scenario
from cohort_solver.model import Unavailability
from cohort_solver.schedule import schedule
from cohort_solver.solvers.allocation import allocate
from cohort_solver.solvers.matching import match

from .__main__ import scenario_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="regional")
    parser.add_argument("--time-limit", type=float, default=120)
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
    affected = {
        e.event_id
        for e in first.events
        if coach in e.attendee_ids
        and e.start.replace(tzinfo=None) < away.end
        and away.start < e.end.replace(tzinfo=None)
    }

    started = time.monotonic()
    second = schedule(changed, selected, matches, time_limit=args.time_limit, previous=first.events)
    replan_seconds = time.monotonic() - started
    before = {e.event_id: (e.start, e.venue_id) for e in first.events}
    moved = {e.event_id for e in second.events if before.get(e.event_id) != (e.start, e.venue_id)}
    found = violations(changed, selected, matches, second.events)

    print(
        f"{'events':>7} {'plan s':>7} {'replan s':>9} {'affected':>9} {'moved':>6} {'moved=affected':>15} "
        f"{'violations':>11} {'status':>9}"
    )
    print(
        f"{len(second.events):>7} {plan_seconds:>7.1f} {replan_seconds:>9.1f} {len(affected):>9} {len(moved):>6} "
        f"{str(moved == affected):>15} {len(found):>11} {second.report.status:>9}"
    )
    print(f"coach {coach} away {away.start:%Y-%m-%d} to {away.end:%Y-%m-%d}")


if __name__ == "__main__":
    main()
