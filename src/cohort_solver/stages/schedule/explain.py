"""Explanations in a coordinator's words: why an event has no possible time, why a part of
the programme cannot be placed, and why an event of calendar.csv is where it is."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta

from cohort_solver.domain.programme_time import minutes_of_day, month_bounds
from cohort_solver.domain.results import Event
from cohort_solver.domain.scenario import Scenario, cohorts_in, run_event_id
from cohort_solver.stages.schedule.context import Context, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Grid
from cohort_solver.stages.schedule.order import after_broken, gap_broken
from cohort_solver.stages.schedule.slots import (
    WEEKDAY_NAMES,
    lawful_slots,
    unavailable_slots,
    working_days,
)


def _month_name(scenario: Scenario, month: int) -> str:
    first, _ = month_bounds(scenario, month)
    return f"month {month} ({first:%B %Y})"


def why_no_time(ctx: Context, d: Demand) -> str:
    """Plain words for an event with no candidate day or start at all, step by step."""
    scenario, grid = ctx.scenario, ctx.grid
    who = f"cohort {d.cohort_id}" + (f", {d.participant_id}" if d.participant_id else "")
    head = f"{who}, {_month_name(scenario, d.month)}: {d.key} '{d.session.title}'"
    days = grid.month_days(d.month)
    steps = [f"{len(days)} weekdays are not bank holidays"]
    fixed = d.session.fixed_date
    if fixed is not None:  # the coordinator chose the day: the group weekdays do not apply
        days = [x for x in days if grid.date(x) == fixed]
        steps.append(
            f"its fixed date {fixed:%a %d %b %Y} is "
            + ("one of them" if days else "a weekend or bank holiday")
        )
    elif d.kind == "group":
        allowed = scenario.settings.calendar.group_weekdays
        days = [x for x in days if WEEKDAY_NAMES[grid.weekday(x)] in allowed]
        steps.append(f"{len(days)} of them are {'/'.join(allowed)}")
    part_time = sorted(p for p in d.attendees if p in ctx.works and len(ctx.works[p]) < 5)
    days = [
        x for x in days if all(grid.weekday(x) in ctx.works.get(p, range(5)) for p in d.attendees)
    ]
    people = len(d.members)
    steps.append(
        f"{len(days)} are working days of all {people} participant{'s' * (people != 1)}"
        + (f" and the coach {d.coach_id}" if d.coach_id else "")
        + (f" (part-time: {', '.join(part_time)})" if part_time else "")
    )
    if d.needs_venue and not d.venues:
        venues = sorted(scenario.venues, key=lambda v: (-v.capacity, v.venue_id))
        best = ", ".join(f"{v.venue_id} seats {v.capacity}" for v in venues[:3]) or "no venues"
        steps.append(f"but no venue of the cohort has ≥ {d.seats} seats ({best})")
    else:
        free = lawful_slots(scenario, grid, ctx.blocked, ctx.works, d, days)
        away = sorted({p for p in d.attendees for x in days if ctx.blocked.get(p, {}).get(x)})
        steps.append(
            f"{len(free)} are free for everyone attending"
            + (f" (unavailable: {', '.join(away)})" if away else "")
            + (f" and a venue with ≥ {d.seats} seats" if d.venues else "")
        )
        if free and not ctx.options[d.event_id]:
            steps.append(_why_order(ctx, d))
    return f"{head}: no possible time — " + "; ".join(steps)


def _why_order(ctx: Context, d: Demand) -> str:
    """The order rules that took an event's last times (after chains, the group gap)."""
    before = ", ".join(sorted({b.key for b in ctx.before[d.event_id]}))
    later = ", ".join(sorted({f.key for f in ctx.later[d.event_id]}))
    parts = []
    if before:
        parts.append(f"it must come after {before}")
    if later:
        parts.append(f"{later} must come after it")
    if d.kind == "group" and ctx.gap:
        parts.append(
            f"the cohort's group sessions must be at least {ctx.gap} days apart across months"
        )
    return "but no time is left once " + " and ".join(parts) + " (all in the same month)"


def why_no_skeleton(ctx: Context, free: Sequence[Demand]) -> list[str]:
    """Coordinator words for whole-cohort sessions that cannot all be placed: the cohort
    whose own sessions cannot, else the month whose sessions cannot (its days and venues),
    else the people and venues the cohorts share across months."""
    from cohort_solver.stages.schedule.stage import solve_free

    causes = []
    for cohort in sorted({d.cohort_id for d in free}):
        mine = [d for d in free if d.cohort_id == cohort]
        if solve_free(ctx, mine, {}, retries=None).status == "infeasible":
            keys = ", ".join(d.key for d in mine)
            causes.append(
                f"cohort {cohort}: its group sessions and cohort events ({keys}) cannot all be "
                f"placed on days everyone attends with group sessions at least {ctx.gap} days "
                f"apart ({'/'.join(ctx.scenario.settings.calendar.group_weekdays)} only)"
            )
    if causes:
        return causes
    for month in sorted({d.month for d in free}):
        mine = [d for d in free if d.month == month]
        if solve_free(ctx, mine, {}, retries=None).status == "infeasible":
            causes.append(_why_month_skeleton(ctx, month, mine))
    if causes:
        return causes
    shared: dict[str, set[str]] = defaultdict(set)
    for d in free:
        for who in d.attendees:
            shared[who].add(d.cohort_id)
    people = sorted(p for p, cohorts in shared.items() if len(cohorts) > 1)
    months = sorted({d.month for d in free})
    return [
        f"{', '.join(_month_name(ctx.scenario, m) for m in months[-2:])}: each month's group "
        "sessions and cohort events fit on their own, but not with every cohort's group "
        f"sessions at least {ctx.gap} days apart across months"
        + (f" ({', '.join(people[:6])} attend several cohorts' sessions)" if people else "")
    ]


def _why_month_skeleton(ctx: Context, month: int, mine: Sequence[Demand]) -> str:
    grid = ctx.grid
    council = {v.venue_id: v.council for v in ctx.scenario.venues}
    venues = sorted({v for d in mine for v in d.venues})
    rooms = ", ".join(f"{v} ({council.get(v) or 'any cohort'})" for v in venues) or "none"
    days = sorted({day for d in mine for day in ctx.options[d.event_id]})
    names = sorted({WEEKDAY_NAMES[grid.weekday(day)] for day in days}, key=WEEKDAY_NAMES.index)
    keys = ", ".join(sorted({d.key for d in mine}))
    shared: dict[str, set[str]] = defaultdict(set)
    for d in mine:
        for who in d.attendees:
            shared[who].add(d.cohort_id)
    people = sorted(p for p, cohorts in shared.items() if len(cohorts) > 1)
    return (
        f"{_month_name(ctx.scenario, month)}: the {len(mine)} cohorts' {keys} each fit on their "
        f"own, but not all together in the {len(days)} possible days ({'/'.join(names)}) and "
        f"the venues that seat them: {rooms}"
        + (f"; shared by every cohort: {', '.join(people[:6])}" if people else "")
    )


def why_month_full(ctx: Context, month: int, mine: Sequence[Demand]) -> str:
    load: dict[str, int] = defaultdict(int)
    for d in mine:
        for p in d.attendees:
            load[p] += d.session.duration_minutes
    busiest = sorted(load.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    names = ", ".join(f"{p} ({minutes // 60}h{minutes % 60:02d})" for p, minutes in busiest)
    return (
        f"{_month_name(ctx.scenario, month)}: each of its sessions has a possible time on its "
        "own, but they cannot all fit together without double-booking someone or a venue, "
        f"or breaking an `after` order; busiest: {names}"
    )


def why_not_together(ctx: Context, month: int) -> list[str]:
    return [
        f"{_month_name(ctx.scenario, month)}: its sessions fit on their own, but not with every "
        f"cohort's group sessions at least {ctx.gap} days apart across months"
    ]


# --------------------------------------------------------------------------- explain EVENT_ID


def explain_event(scenario: Scenario, events: Sequence[Event], event_id: str) -> str:
    """Why an event of calendar.csv is at its time: what rules out each other day of its
    month at the same time (a rule, with the people or venue concerned), and for the days
    that are allowed, what the soft goals would say."""
    from cohort_solver.stages.schedule.goals import evaluate

    by_id = {e.event_id: e for e in events}
    if event_id not in by_id:
        return f"{event_id} is not on the calendar"
    ctx = context_of_calendar(scenario, events)
    grid = ctx.grid
    event, d = by_id[event_id], ctx.by_id[event_id]
    plan = placements(ctx, events)
    here = plan[event_id]
    local = event.start.astimezone(grid.zone)
    lines = [
        f"{event_id} ({d.session.title}) is on {local:%A %d %B %Y} at {local:%H:%M}"
        + (f" in {event.venue_id}" if event.venue_id else " (online)")
        + f", programme month {d.month}, with {len(event.attendee_ids)} attending."
    ]
    lines += _goals_here(ctx, plan, d)
    before = evaluate(ctx, plan)
    lines.append(f"Other days of the month at {local:%H:%M}:")
    first, last = month_bounds(scenario, d.month)
    for k in range((last - first).days + 1):
        day = grid.number(first + timedelta(days=k))
        if day == here.day or grid.weekday(day) >= 5:
            continue
        label = f"  {grid.date(day):%a %d %b}: "
        reasons = ruled_out(ctx, plan, d, day, here.slot)
        if reasons:
            lines.append(label + "; ".join(reasons[:3]))
            continue
        moved = dict(plan)
        moved[event_id] = type(here)(day, here.slot, _free_venue(ctx, plan, d, day, here.slot))
        after = evaluate(ctx, moved)
        lines.append(label + _soft_change(ctx, before, after))
    return "\n".join(lines)


def ruled_out(
    ctx: Context, plan: Mapping[str, Placement], d: Demand, day: int, slot: int
) -> list[str]:
    """The hard rules that forbid ``d`` at (day, slot), with whom they concern."""
    return [
        *_day_rules_broken(ctx, d, day, slot),
        *_bookings_broken(ctx, plan, d, day, slot),
        *_order_broken(ctx, plan, d, day, slot),
    ]


def _day_rules_broken(ctx: Context, d: Demand, day: int, slot: int) -> list[str]:
    """The rules about the event alone: bank holidays, weekdays, working days, absences."""
    scenario, grid = ctx.scenario, ctx.grid
    out = []
    if grid.date(day) in grid.closed:
        out.append(f"bank holiday ({grid.date(day):%d %B})")
    weekday = grid.weekday(day)
    group_weekdays = scenario.settings.calendar.group_weekdays
    if d.kind == "group" and WEEKDAY_NAMES[weekday] not in group_weekdays:
        out.append(f"not a group weekday (group sessions are on {'/'.join(group_weekdays)})")
    off = sorted(p for p in d.attendees if weekday not in ctx.works.get(p, range(5)))
    if off:
        out.append(f"not a working day of {', '.join(off)}")
    span = ((1 << d.length) - 1) << slot
    away = sorted(p for p in d.attendees if ctx.blocked.get(p, {}).get(day, 0) & span)
    if away:
        out.append(f"{', '.join(away)} unavailable")
    return out


def _bookings_broken(
    ctx: Context, plan: Mapping[str, Placement], d: Demand, day: int, slot: int
) -> list[str]:
    """No double booking of an attendee, and a free venue."""
    out = []
    span = ((1 << d.length) - 1) << slot
    for who in d.attendees:
        for e in ctx.events_of[who]:
            p = plan.get(e.event_id)
            if e is d or p is None or p.day != day:
                continue
            if (((1 << e.length) - 1) << p.slot) & span:
                out.append(f"{who} is at {e.event_id} then")
                break
    if d.venues and _free_venue(ctx, plan, d, day, slot) is None:
        out.append("no venue of the cohort free and big enough")
    return out


def _order_broken(
    ctx: Context, plan: Mapping[str, Placement], d: Demand, day: int, slot: int
) -> list[str]:
    """The order rules against the events placed: `after` both ways, and the group gap."""
    grid = ctx.grid
    out = []
    at = grid.absolute(day, slot)
    for b in ctx.before[d.event_id]:
        p = plan.get(b.event_id)
        if p is not None and after_broken(at, grid.absolute(p.day, p.slot), b.length):
            out.append(f"must come after {b.event_id} (`after`)")
    for f in ctx.later[d.event_id]:
        p = plan.get(f.event_id)
        if p is not None and after_broken(grid.absolute(p.day, p.slot), at, d.length):
            out.append(f"{f.event_id} must come after it (`after`)")
    for g in ctx.gap_partners.get(d.event_id, ()):
        p = plan.get(g.event_id)
        if p is not None and gap_broken(ctx.gap, g.month, p.day, d.month, day):
            out.append(f"within {ctx.gap} days of {g.event_id} (group gap)")
    return out


def _free_venue(
    ctx: Context, plan: Mapping[str, Placement], d: Demand, day: int, slot: int
) -> str | None:
    if not d.venues:
        return None
    span = ((1 << d.length) - 1) << slot
    taken: dict[str, int] = defaultdict(int)
    for e in ctx.whole_of_month[d.month]:
        p = plan.get(e.event_id)
        if e is not d and p is not None and p.day == day and p.venue:
            taken[p.venue] |= ((1 << e.length) - 1) << p.slot
    current = plan.get(d.event_id)
    order = sorted(d.venues, key=lambda v: (current is None or v != current.venue, v))
    for v in order:
        if not (taken[v] | ctx.blocked.get(v, {}).get(day, 0)) & span:
            return v
    return None


def _soft_change(ctx: Context, before: dict[str, int], after: dict[str, int]) -> str:
    w = ctx.weights
    delta = {k: w[k] * (after[k] - before[k]) for k in before if after[k] != before[k]}
    if not delta:
        return (
            "allowed, and no soft goal would change: this is a tie, settled the same way on "
            "every run by the fixed search order"
        )
    total = sum(delta.values())
    parts = ", ".join(f"{k} {v:+d}" for k, v in sorted(delta.items()))
    if total > 0:
        return f"allowed, but the soft objective would be {total:+d} worse ({parts})"
    if total == 0:
        return f"allowed, and as good overall ({parts}): a tie, settled by the fixed search order"
    return f"allowed, and {-total} better on its own ({parts}), but other events would have to move"


def _goals_here(ctx: Context, plan: Mapping[str, Placement], d: Demand) -> list[str]:
    """The soft goals this placement serves or gives up."""
    grid = ctx.grid
    here = plan[d.event_id]
    out = []
    if d.kind == "group":
        ref = ctx.reference.get(d.cohort_id)
        if ref and ref != d.event_id and ref in plan:
            r = plan[ref]
            same = grid.weekday(r.day) == grid.weekday(here.day) and r.slot == here.slot
            out.append(
                f"Rhythm: the cohort's first workshop {ref} is on a {grid.date(r.day):%A} at "
                f"{grid.moment(r.day, r.slot):%H:%M}; this one {'keeps' if same else 'breaks'} that rhythm."
            )
    if d.kind == "review":
        out.append(
            f"Reviews go late in the month: {grid.month_end(d.month) - here.day} days before its end."
        )
    if d.kind == "coaching":
        week = grid.week(here.day)
        clash = [
            g.event_id
            for g in ctx.groups[d.cohort_id]
            if g.event_id in plan and grid.week(plan[g.event_id].day) == week
        ]
        out.append(
            "Coaching avoids workshop weeks: "
            + (f"this week also has {', '.join(clash)}." if clash else "no workshop that week.")
        )
    return out + _series_and_partners(ctx, d)


def _councils_of(
    councils: Mapping[str, tuple[str, ...] | None], cohort_id: str
) -> tuple[str, ...] | None:
    """The councils whose venues a cohort may use; a joint session (joint:c01;c02) may use
    the venues of any of its cohorts (None: every venue)."""
    allowed: set[str] = set()
    for cohort in cohorts_in(cohort_id):
        mine = councils.get(cohort)
        if mine is None:
            return None
        allowed.update(mine)
    return tuple(sorted(allowed))


def _series_and_partners(ctx: Context, d: Demand) -> list[str]:
    """What a recurring, joint or mentoring session adds to the explanation."""
    s, out = d.session, []
    if s.series and s.every_months and s.until:
        out.append(
            f"Recurring: {d.key} is one of the series {s.series}, every "
            f"{'month' if s.every_months == 1 else f'{s.every_months} months'} until month "
            f"{s.until}; each occurrence is placed in its own month under every rule."
        )
    if s.joint:
        out.append(
            f"Joint session of cohorts {', '.join(cohorts_in(d.cohort_id))}: {len(d.members)} "
            "participants in one event, in a venue that seats all of them."
        )
    if s.invite:
        out.append(f"Also invited (a note in the feeds, not booked here): {s.invite.rstrip('.')}.")
    if d.kind == "action_learning":
        areas = {a.applicant_id: a.service_area for a in ctx.scenario.applicants}
        spread = len({areas[p] for p in d.members})
        out.append(
            f"Action learning {d.event_id.rsplit('/', 1)[-1]} of cohort {d.cohort_id}: "
            f"{', '.join(d.members)}, from {spread} service area(s). The cohort's sets are "
            "formed once, spread across service areas and councils, and meet in the same "
            "sets at every action learning session."
        )
    if d.kind == "mentoring":
        mentors = {m.mentor_id for m in ctx.scenario.mentors}
        mentor = [a for a in d.attendees if a in mentors and a not in d.members]
        busy = sum(len(ctx.events_of[m]) - 1 for m in mentor)
        out.append(
            f"Mentor meeting with {', '.join(mentor) or 'no mentor'}, who attends "
            f"{busy} other event(s) of the programme, none at the same time."
        )
    return out


def context_of_calendar(scenario: Scenario, events: Sequence[Event]) -> Context:
    """A context whose events are those of calendar.csv (attendees as written there)."""
    from cohort_solver.stages.schedule.events import Demand as D
    from cohort_solver.stages.schedule.search import Search

    grid = Grid(scenario)
    sessions = {s.session_key: s for s in scenario.programme}
    venues = {c.id: c.councils for c in scenario.cohorts}
    applicants = {a.applicant_id for a in scenario.applicants}
    coaches = {c.coach_id for c in scenario.coaches}
    runs = {run_event_id(r.session_key, r.run): r for r in scenario.runs}
    demands = []
    for i, e in enumerate(sorted(events, key=lambda e: e.event_id)):
        session = sessions[e.session_key]
        if e.event_id in runs and session.kind == "flexible":
            session = session.for_run(runs[e.event_id])  # its run's month, date and time
        allowed = _councils_of(venues, e.cohort_id)
        rooms = tuple(
            sorted(
                v.venue_id
                for v in scenario.venues
                if v.capacity >= len(e.attendee_ids)
                and (not v.council or allowed is None or v.council in allowed)
            )
        )
        whole = not session.per_participant
        demands.append(
            D(
                i,
                e.event_id,
                session,
                e.cohort_id,
                None if whole else e.event_id.split("/")[-1],
                tuple(sorted(e.attendee_ids)),
                tuple(sorted(set(e.attendee_ids) & applicants)),
                next((a for a in sorted(e.attendee_ids) if a in coaches), None)
                if session.kind == "coaching"
                else None,
                rooms if whole else (),
                whole,
                len(e.attendee_ids),
                grid.slots(session.duration_minutes),
            )
        )
    blocked = unavailable_slots(scenario, grid)
    works = working_days(scenario)
    options = {d.event_id: lawful_slots(scenario, grid, blocked, works, d) for d in demands}
    return Context(scenario, grid, blocked, works, demands, options, Search(60, 1))


def placements(ctx: Context, events: Sequence[Event]) -> Plan:
    from cohort_solver.stages.schedule.context import Placement

    grid = ctx.grid
    out = {}
    for e in events:
        local = e.start.astimezone(grid.zone).replace(tzinfo=None)
        minutes = minutes_of_day(local) - grid.opens
        out[e.event_id] = Placement(
            grid.number(local.date()), minutes // grid.slot_minutes, e.venue_id
        )
    return out


# --------------------------------------------------------------------------- re-plan reasons


def why_changed(scenario: Scenario, old: Sequence[Event], new: Sequence[Event]) -> dict[str, str]:
    """Why each event of a re-plan changed, in coordinator words (for changes.csv): the rule
    its old time now breaks and who it concerns; else the changed event it made room for or
    moved with."""
    before = {e.event_id: e for e in old}
    after = {e.event_id: e for e in new}
    ctx = context_of_calendar(scenario, new)
    plan = placements(ctx, new)
    reasons: dict[str, str] = {}
    moved = set()
    for event_id in sorted(before.keys() | after.keys()):
        was, now = before.get(event_id), after.get(event_id)
        if now is None:
            reasons[event_id] = "no longer in the plan (participant withdrawn or session removed)"
        elif was is None:
            reasons[event_id] = "new in the plan (new participant or session)"
        elif (was.start, was.end, was.venue_id) != (now.start, now.end, now.venue_id):
            moved.add(event_id)
            cause = _old_time_breaks(ctx, plan, was)
            if cause:
                reasons[event_id] = cause
            elif set(was.attendee_ids) != set(now.attendee_ids):
                reasons[event_id] = "attendees changed (rematch or withdrawal)"
    for event_id in sorted(moved - reasons.keys()):
        reasons[event_id] = _made_room(ctx, plan, before, reasons, event_id)
    return reasons


def _old_time_breaks(ctx: Context, plan: Mapping[str, Placement], was: Event) -> str:
    """The rule about the event alone that its old time breaks now, with whom."""
    d = ctx.by_id[was.event_id]
    grid, scenario = ctx.grid, ctx.scenario
    local = was.start.astimezone(grid.zone).replace(tzinfo=None)
    day = grid.number(local.date())
    if grid.month_of(day) != d.month:
        return (
            f"session {d.key} is now in {_month_name(scenario, d.month)}; the old time was in "
            f"{_month_name(scenario, grid.month_of(day))}"
        )
    if (was.end - was.start).total_seconds() != d.session.duration_minutes * 60:
        return f"session {d.key} now lasts {d.session.duration_minutes} minutes"
    minutes = minutes_of_day(local) - grid.opens
    if (
        minutes < 0
        or minutes % grid.slot_minutes
        or minutes // grid.slot_minutes + d.length > grid.per_day
    ):
        return "the old time is outside the working day or off the slot grid now"
    slot = minutes // grid.slot_minutes
    span = ((1 << d.length) - 1) << slot
    away = sorted(
        who
        for who in (*d.attendees, *([was.venue_id] if was.venue_id else []))
        if ctx.blocked.get(who, {}).get(day, 0) & span
    )
    if away:
        return f"{', '.join(away)} now unavailable at the old time"
    rules = ruled_out(ctx, {k: p for k, p in plan.items() if k != d.event_id}, d, day, slot)
    unary = [r for r in rules if not r.startswith(("must come after", "within "))]
    unary = [
        r for r in unary if " is at " not in r and r != "no venue of the cohort free and big enough"
    ]
    if unary:
        return f"the old time is no longer allowed: {unary[0]}"
    if was.venue_id and was.venue_id not in d.venues:
        return f"{was.venue_id} can no longer host it (seats or council)"
    return ""


def _made_room(
    ctx: Context,
    plan: Mapping[str, Placement],
    before: dict[str, Event],
    reasons: dict[str, str],
    event_id: str,
) -> str:
    """The changed event that took this one's old time or that this one must keep its order
    with (`after`, the group gap)."""
    d = ctx.by_id[event_id]
    grid = ctx.grid
    was = before[event_id]
    local = was.start.astimezone(grid.zone).replace(tzinfo=None)
    day = grid.number(local.date())
    slot = (minutes_of_day(local) - grid.opens) // grid.slot_minutes
    span = ((1 << d.length) - 1) << slot
    for who in d.attendees:
        for e in ctx.events_of[who]:
            p = plan.get(e.event_id)
            if (
                e is not d
                and p is not None
                and p.day == day
                and ((1 << e.length) - 1) << p.slot & span
            ):
                cause = reasons.get(e.event_id)
                if cause:
                    return f"moved to make room for {e.event_id} ({cause})"
                return f"moved to make room for {e.event_id}, which {who} also attends"
    for other in (*ctx.before[event_id], *ctx.later[event_id], *ctx.gap_partners.get(event_id, ())):
        if other.event_id in reasons:
            rule = (
                "`after`"
                if other in ctx.before[event_id] or other in ctx.later[event_id]
                else "the group gap"
            )
            return f"moved with {other.event_id} ({rule}: {reasons[other.event_id]})"
    if d.venues and was.venue_id:
        for e in ctx.whole_of_month[d.month]:
            p = plan.get(e.event_id)
            if e is not d and p is not None and p.venue == was.venue_id and p.day == day:
                return f"moved to make room in {was.venue_id} for {e.event_id}"
    return "moved so that the events that had to move fit (the fewest moves possible)"
