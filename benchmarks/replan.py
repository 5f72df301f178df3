"""Re-plan benchmark on the regional case: one coach is away for a month.

    uv run python -m benchmarks replan [--runs 2] [--time-limit 1800] [--size small]

Plans the generated regional scenario (50 cohorts of 12), marks the busiest coach
unavailable for 30 days from the middle of their busiest month, and re-plans with the old
calendar as `previous`. Affected are the coach's events inside the absence, and the
workshops such an event must follow (`after`) when they end too late for it: the absence
runs to the month's end, so the event must now be before the absence, and its workshop
before that. Prints per run the re-plan time, affected and moved (target: moved =
affected, under 5 s), the independent checker's hard violations, and the moved_events level
with its bound, through the API. Peak memory is the
benchmark process's, which holds the first plan beside the re-plan. Results: benchmarks/results/replan.{md,csv}.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import cohort_solver
from benchmarks.common import peak_mib, write_results
from benchmarks.measure import load_average, report_figures
from benchmarks.suite import scenario_for
from cohort_solver.checks.calendar import violations
from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import Scenario, Unavailability

COLUMNS = ["size", "events", "plan_s", "wall_s", "peak_mib", "status", "objective", "bound"]
COLUMNS += ["gap", "affected", "moved", "moved_is_affected", "hard_violations", "load"]


def chained_workshops(
    scenario: Scenario, events: Sequence[Event], direct: Sequence[Event], away: Unavailability
) -> set[str]:
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


def busiest_coach_away(scenario: Scenario, events: Sequence[Event]) -> Unavailability:
    """The coach with most events in one month, away 30 days from the middle of it: a whole
    calendar month away would leave no lawful day at all for that month's coaching with this
    coach, which is a rematch, not a re-plan."""
    coaches = {c.coach_id for c in scenario.coaches}
    load = Counter(
        (who, e.start.strftime("%Y-%m")) for e in events for who in e.attendee_ids if who in coaches
    )
    (coach, month), _ = load.most_common(1)[0]
    away_from = datetime.fromisoformat(f"{month}-15")
    return Unavailability(id=coach, start=away_from, end=away_from + timedelta(days=30))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks replan", description=__doc__)
    parser.add_argument("--size", default="regional", choices=["small", "regional"])
    parser.add_argument("--time-limit", type=float, default=1800)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = cohort_solver.Options(time_limit=args.time_limit, workers=args.workers)
    scenario = cohort_solver.load(scenario_for(args.size))
    allocation = cohort_solver.allocate(scenario, options)
    matches = cohort_solver.match(scenario, allocation, options).matches
    started = time.monotonic()
    first = cohort_solver.schedule(scenario, allocation, matches, options)
    plan_seconds = time.monotonic() - started
    away = busiest_coach_away(scenario, first.events)
    changed = scenario.model_copy(update={"unavailability": (*scenario.unavailability, away)})
    direct = [
        e
        for e in first.events
        if away.id in e.attendee_ids
        and e.start.replace(tzinfo=None) < away.end
        and away.start < e.end.replace(tzinfo=None)
    ]
    affected = {e.event_id for e in direct} | chained_workshops(
        scenario, first.events, direct, away
    )
    before = {e.event_id: (e.start, e.venue_id) for e in first.events}
    rows = []
    print(" ".join(f"{c:>10}" for c in COLUMNS), flush=True)
    for _ in range(args.runs):
        load = load_average()
        started = time.monotonic()
        second = cohort_solver.schedule(
            changed, allocation, matches, options, previous=first.events
        )
        replan_seconds = time.monotonic() - started
        moved = {
            e.event_id for e in second.events if before.get(e.event_id) != (e.start, e.venue_id)
        }
        found = violations(changed, allocation.selected(), matches, second.events)
        # the first level, moved_events, is what a re-plan is judged by
        judged = second.report.model_copy(update={"levels": second.report.levels[:1]})
        rows.append(
            [
                args.size,
                len(second.events),
                f"{plan_seconds:.1f}",
                f"{replan_seconds:.2f}",
                f"{peak_mib():.0f}",
                *report_figures([judged]),
                len(affected),
                len(moved),
                moved == affected,
                len(found),
                load,
            ]
        )
        print(" ".join(f"{c!s:>10}" for c in rows[-1]), flush=True)
    note = f"Coach {away.id} away {away.start:%Y-%m-%d} to {away.end:%Y-%m-%d}; objective = moved_events."
    print(note)
    print(f"wrote {write_results('replan', COLUMNS, rows, note)}")
    return 0
