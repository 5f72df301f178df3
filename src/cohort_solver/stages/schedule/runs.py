"""Flexible attendance: a session offered as several runs, each participant in exactly one.

A ``flexible`` row of programme.csv is a session every participant (of any cohort: see
``domain.scenario.flexible_participants``) attends once, in one of its runs of runs.csv. This
module decides, in one CP-SAT model solved exactly, when each run is held (its fixed date and
time, or any lawful time of its month) and who attends which run:

- ``add_one_time_per_run``: a run is held once, at a time lawful for the run alone (a working
  day, working hours, its facilitator and `with` people available, its venue free);
- ``add_one_run_each``: every participant attends exactly one run of each flexible session,
  and only a run at a time they can attend (their working days, no absence);
- ``add_run_capacity``: a run takes at most its capacity, and its venue seats everyone;
- ``add_no_double_booking``: nobody (participant, facilitator, `with` person) and no venue is
  in two runs at once;
- soft goal ``run_balance`` (``balance_penalties``): for each run, every participant beyond an
  even share of its session (the session's participants over its runs, rounded up). Balanced
  runs keep rooms and facilitators' loads even and leave room in every run for a re-plan.

The runs are solved first, then handed to the rest of the calendar as events with one lawful
time each, so every other event (and every rule of the calendar) is placed around them. An
infeasibility here is a proof for the whole calendar: it holds with every other event left out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from cohort_solver.domain.results import Decision, Event, Level
from cohort_solver.domain.scenario import (
    Applicant,
    Run,
    Scenario,
    Session,
    flexible_participants,
    joint_cohort_id,
    run_event_id,
    run_number,
)
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.schedule.events import Demand, cohort_members
from cohort_solver.stages.schedule.grid import Grid, bits
from cohort_solver.stages.schedule.search import Search
from cohort_solver.stages.schedule.slots import Blocked, lawful_slots

RUN_BALANCE = "run_balance"


class RunsInfeasible(InfeasibleError):
    """No assignment of participants to runs exists: a proof for the whole calendar."""


@dataclass(frozen=True)
class RunSpec:
    """One run as the model sees it: its lawful times alone, and the seats it offers."""

    run: Run
    session: Session  # the flexible session as this run (its month, fixed date and time)
    event_id: str
    extras: tuple[str, ...]  # the facilitator and `with` people: at every run
    venue: str | None
    seats: int  # participants it can take: its capacity, and its venue's seats less extras
    length: int
    times: tuple[tuple[int, int], ...]  # (day, start slot), lawful for the run alone


@dataclass(frozen=True)
class RunsResult:
    demands: tuple[Demand, ...]  # one event per run somebody attends
    level: Level | None  # run_balance (None: no flexible sessions)
    optimal: bool


class RunVars:
    """The model's variables: when each run is held, and who attends it."""

    def __init__(self, model: cp_model.CpModel, grid: Grid, specs: Sequence[RunSpec]):
        self.at: dict[str, list[cp_model.IntVar]] = {}  # run -> one literal per lawful time
        self.start: dict[str, cp_model.IntVar] = {}
        self.attends: dict[tuple[str, str], cp_model.IntVar] = {}  # (participant, run)
        for s in specs:
            self.at[s.event_id] = [model.new_bool_var(f"{s.event_id}@{d}.{t}") for d, t in s.times]
            starts = [grid.absolute(d, t) for d, t in s.times]
            self.start[s.event_id] = model.new_int_var_from_domain(
                cp_model.Domain.from_values(starts), f"start {s.event_id}"
            )
            model.add(
                self.start[s.event_id]
                == sum(a * lit for a, lit in zip(starts, self.at[s.event_id], strict=True))
            )

    def interval(
        self, model: cp_model.CpModel, s: RunSpec, present: cp_model.IntVar | None = None
    ) -> cp_model.IntervalVar:
        start = self.start[s.event_id]
        if present is None:
            return model.new_fixed_size_interval_var(start, s.length, f"iv {s.event_id}")
        return model.new_optional_fixed_size_interval_var(
            start, s.length, present, f"iv {s.event_id} {present.name}"
        )


def run_specs(
    scenario: Scenario, grid: Grid, blocked: Blocked, works: dict[str, frozenset[int]]
) -> dict[str, list[RunSpec]]:
    """session_key -> its runs, in run order, with their lawful times and seats."""
    sessions = {s.session_key: s for s in scenario.programme if s.kind == "flexible"}
    seats_of = {v.venue_id: v.capacity for v in scenario.venues}
    out: dict[str, list[RunSpec]] = defaultdict(list)
    for run in sorted(scenario.runs, key=lambda r: (r.session_key, r.run)):
        session = sessions[run.session_key].for_run(run)
        extras = tuple(
            sorted({*([session.facilitator] if session.facilitator else []), *session.with_})
        )
        seats = run.capacity
        if run.venue_id:
            seats = min(seats, seats_of.get(run.venue_id, 0) - len(extras))
        alone = Demand(
            0,
            run_event_id(run.session_key, run.run),
            session,
            "",
            None,
            extras,
            (),
            None,
            (run.venue_id,) if run.venue_id else (),
            run.venue_id is not None,
            len(extras),
            grid.slots(session.duration_minutes),
        )
        options = lawful_slots(scenario, grid, blocked, works, alone)
        times = tuple((day, slot) for day in sorted(options) for slot in bits(options[day]))
        out[run.session_key].append(
            RunSpec(
                run,
                session,
                alone.event_id,
                extras,
                run.venue_id,
                max(0, seats),
                alone.length,
                times,
            )
        )
    return out


def with_fixed_events(grid: Grid, blocked: Blocked, demands: Sequence[Demand]) -> Blocked:
    """``blocked``, and the attendees of every event with a fixed date and start time busy
    then: those events are there in every calendar, so a run must avoid them too."""
    out = {who: dict(days) for who, days in blocked.items()}
    for d in demands:
        session = d.session
        if session.fixed_date is None or session.fixed_time is None:
            continue
        day = grid.number(session.fixed_date)
        span = ((1 << d.length) - 1) << grid.slot_at(session.fixed_time)
        for who in d.attendees:
            mine = out.setdefault(who, {})
            mine[day] = mine.get(day, 0) | span
    return out


def attendable(
    grid: Grid, blocked: Blocked, works: Mapping[str, frozenset[int]], pid: str, s: RunSpec
) -> list[bool]:
    """For each lawful time of a run: can this participant attend it (a working day of
    theirs, and no absence during it)?"""
    mine = works.get(pid)
    away = blocked.get(pid, {})
    out = []
    for day, slot in s.times:
        if mine is not None and grid.weekday(day) not in mine:
            out.append(False)
            continue
        out.append(bool(grid.starts_clear_of(away.get(day, 0), s.length) >> slot & 1))
    return out


def place_runs(
    scenario: Scenario,
    grid: Grid,
    blocked: Blocked,
    works: dict[str, frozenset[int]],
    selected: Sequence[Decision],
    search: Search,
    first_index: int,
) -> tuple[RunsResult, list[str]]:
    """The runs' times and attendees, or the causes that no assignment exists (a proof)."""
    flexible = [s for s in scenario.programme if s.kind == "flexible"]
    if not flexible:
        return RunsResult((), None, True), []
    members = cohort_members(selected)
    cohort_of = {pid: c for c, pids in members.items() for pid in pids}
    specs = run_specs(scenario, grid, blocked, works)
    who = {s.session_key: flexible_participants(scenario, s, members) for s in flexible}
    causes = _cheap_causes(scenario, grid, blocked, works, specs, who)
    if causes:
        return RunsResult((), None, False), causes
    model, v, penalties, _ = _build(grid, blocked, works, specs, who)
    model.minimize(sum(penalties))
    effort = search.effort(sum(len(p) for p in who.values()) * 4, 1.0)
    solved = search.until_found(model, effort, retries=None, probing=False)
    if solved.infeasible:
        return RunsResult((), None, False), _core(search, grid, blocked, works, specs, who)
    value = solved.solver.value
    demands: list[Demand] = []
    for key in sorted(specs):
        for s in specs[key]:
            pids = sorted(
                p
                for p in who[key]
                if (p, s.event_id) in v.attends and value(v.attends[p, s.event_id])
            )
            if not pids:
                continue  # nobody attends this run: it is not held
            demands.append(
                _demand(
                    grid, s, pids, cohort_of, first_index + len(demands), value(v.start[s.event_id])
                )
            )
    total = round(solved.solver.objective_value)
    level = Level(name=RUN_BALANCE, sense="min", value=total, bound=min(total, solved.bound()))
    return RunsResult(tuple(demands), level, solved.optimal), []


def _build(
    grid: Grid,
    blocked: Blocked,
    works: Mapping[str, frozenset[int]],
    specs: Mapping[str, Sequence[RunSpec]],
    who: Mapping[str, Sequence[str]],
    *,
    assume: bool = False,
) -> tuple[cp_model.CpModel, RunVars, list[cp_model.IntVar], dict[str, cp_model.IntVar]]:
    """The model; ``assume``: each session's one-run-each rule is an assumption literal."""
    model = cp_model.CpModel()
    every = [s for key in sorted(specs) for s in specs[key] if s.times]
    v = RunVars(model, grid, every)
    add_one_time_per_run(model, v, every)
    each = {key: model.new_bool_var(f"each {key}") for key in sorted(specs)}
    for key in sorted(specs):
        add_one_run_each(model, v, grid, blocked, works, specs[key], who[key], each[key])
    add_run_capacity(model, v, every, who)
    add_no_double_booking(model, v, every)
    if assume:
        model.add_assumptions(list(each.values()))
    else:
        for lit in each.values():
            model.add(lit == 1)
    penalties = balance_penalties(model, v, specs, who)
    return model, v, penalties, each


def add_one_time_per_run(model: cp_model.CpModel, v: RunVars, specs: Sequence[RunSpec]) -> None:
    """A run is held once, at one of its lawful times."""
    for s in specs:
        model.add_exactly_one(v.at[s.event_id])


def add_one_run_each(
    model: cp_model.CpModel,
    v: RunVars,
    grid: Grid,
    blocked: Blocked,
    works: Mapping[str, frozenset[int]],
    runs: Sequence[RunSpec],
    participants: Sequence[str],
    enforce: cp_model.IntVar,
) -> None:
    """Every participant attends exactly one run of the session, held at a time they can
    attend (``enforce``: the literal that names this session in a proof)."""
    for pid in participants:
        mine = []
        for s in runs:
            if not s.times:
                continue
            can = attendable(grid, blocked, works, pid, s)
            if not any(can):
                continue
            x = model.new_bool_var(f"{pid} in {s.event_id}")
            v.attends[pid, s.event_id] = x
            mine.append(x)
            for ok, lit in zip(can, v.at[s.event_id], strict=True):
                if not ok:
                    model.add_implication(x, lit.Not())
        model.add(sum(mine) == 1).only_enforce_if(enforce)


def add_run_capacity(
    model: cp_model.CpModel,
    v: RunVars,
    specs: Sequence[RunSpec],
    who: Mapping[str, Sequence[str]],
) -> None:
    """A run takes at most its capacity, and no more than its venue seats (with the
    facilitator and `with` people)."""
    for s in specs:
        xs = [
            v.attends[p, s.event_id] for p in who[s.run.session_key] if (p, s.event_id) in v.attends
        ]
        model.add(sum(xs) <= s.seats)


def add_no_double_booking(model: cp_model.CpModel, v: RunVars, specs: Sequence[RunSpec]) -> None:
    """Nobody and no venue in two runs at once: a participant's runs (those they attend),
    and the runs held (somebody attends them) of a facilitator, a `with` person or a venue.
    A run nobody attends is not held, and books nobody."""
    booked: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
    by_id = {s.event_id: s for s in specs}
    attending: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for (pid, event_id), x in sorted(v.attends.items()):
        booked[pid].append(v.interval(model, by_id[event_id], x))
        attending[event_id].append(x)
    for s in specs:
        held = model.new_bool_var(f"held {s.event_id}")
        model.add_bool_or(attending[s.event_id]).only_enforce_if(held)
        for x in attending[s.event_id]:
            model.add_implication(x, held)
        for who in (*s.extras, *([s.venue] if s.venue else [])):
            booked[who].append(v.interval(model, s, held))
    for who in sorted(booked):
        if len(booked[who]) > 1:
            model.add_no_overlap(booked[who])


def balance_penalties(
    model: cp_model.CpModel,
    v: RunVars,
    specs: Mapping[str, Sequence[RunSpec]],
    who: Mapping[str, Sequence[str]],
) -> list[cp_model.IntVar]:
    """Soft goal run_balance: per run, each participant beyond its session's even share."""
    out = []
    for key in sorted(specs):
        share = even_share(len(who[key]), len(specs[key]))
        for s in specs[key]:
            xs = [v.attends[p, s.event_id] for p in who[key] if (p, s.event_id) in v.attends]
            over = model.new_int_var(0, max(0, len(xs)), f"{RUN_BALANCE} {s.event_id}")
            model.add(over >= sum(xs) - share)
            out.append(over)
    return out


def even_share(participants: int, runs: int) -> int:
    """A run's even share of its session's participants: their number over the runs,
    rounded up."""
    return math.ceil(participants / max(1, runs))


def _demand(
    grid: Grid,
    s: RunSpec,
    pids: Sequence[str],
    cohort_of: Mapping[str, str],
    index: int,
    start: int,
) -> Demand:
    """A run as one event of the calendar, held at the time chosen here (and only then)."""
    day, slot = grid.split(start)
    held = s.session.model_copy(
        update={"fixed_date": grid.date(day), "fixed_time": grid.moment(day, slot).time()}
    )
    attendees = tuple(sorted({*pids, *s.extras}))
    cohorts = sorted({cohort_of[p] for p in pids})
    return Demand(
        index,
        s.event_id,
        held,
        joint_cohort_id(cohorts),
        None,
        attendees,
        tuple(sorted(pids)),
        None,
        (s.venue,) if s.venue else (),
        s.venue is not None,
        len(attendees),
        s.length,
    )


# --------------------------------------------------------------------------- proofs


def _cheap_causes(
    scenario: Scenario,
    grid: Grid,
    blocked: Blocked,
    works: Mapping[str, frozenset[int]],
    specs: Mapping[str, Sequence[RunSpec]],
    who: Mapping[str, Sequence[str]],
) -> list[str]:
    """A participant who can attend no run of a session, or a session whose runs seat fewer
    than must attend it: each a proof on its own."""
    titles = {s.session_key: s.title for s in scenario.programme}
    causes = []
    for key in sorted(specs):
        runs = specs[key]
        held = [s for s in runs if s.times]
        seats = sum(s.seats for s in held)
        if seats < len(who[key]):
            each = ", ".join(
                f"run {s.run.run}: {s.seats if s.times else 0}"
                + ("" if s.times else " (no lawful time: its facilitator, venue or date)")
                for s in runs
            )
            causes.append(
                f"{key} '{titles[key]}': its runs seat {seats} participants but "
                f"{len(who[key])} must attend ({each}): add a run or raise a capacity"
            )
        for pid in who[key]:
            if not any(any(attendable(grid, blocked, works, pid, s)) for s in held):
                causes.append(
                    f"{pid} can attend no run of {key} '{titles[key]}': "
                    + "; ".join(f"run {s.run.run}: {_why_not(s, pid, works)}" for s in runs)
                )
    return causes


def _why_not(s: RunSpec, pid: str, works: Mapping[str, frozenset[int]]) -> str:
    if not s.times:
        return "no lawful time (its facilitator, venue or fixed date)"
    when = (
        f"its date {s.session.fixed_date:%a %d %b %Y}"
        if s.session.fixed_date is not None
        else f"every lawful time in month {s.run.month}"
    )
    return (
        f"{when} is on their day off, during an absence, or during a session of theirs "
        "with a fixed date and time"
    )


def _core(
    search: Search,
    grid: Grid,
    blocked: Blocked,
    works: Mapping[str, frozenset[int]],
    specs: Mapping[str, Sequence[RunSpec]],
    who: Mapping[str, Sequence[str]],
) -> list[str]:
    """The sessions whose one-run-each rules clash: the same model with each session's rule
    as an assumption, and CP-SAT's sufficient assumptions (a proof)."""
    model, _, _, each = _build(grid, blocked, works, specs, who, assume=True)
    solved = search.solve(model, search.effort(len(model.proto.variables), 1.0), probing=False)
    names = {lit.index: key for key, lit in each.items()}
    core = (
        sorted(names[i] for i in solved.solver.sufficient_assumptions_for_infeasibility())
        if solved.infeasible
        else sorted(each)
    )
    people = sorted({p for key in core for p in who[key]})
    runs = "; ".join(f"{key} runs {', '.join(str(s.run.run) for s in specs[key])}" for key in core)
    shown = ", ".join(people[:8]) + (", ..." if len(people) > 8 else "")
    return [
        f"no way to give each of the {len(people)} participants ({shown}) one run of "
        f"{', '.join(core)} ({runs}) within the runs' capacities, their working days and "
        "absences, without anyone (participant, facilitator or venue) in two runs at once"
    ]


# --------------------------------------------------------------------------- explain


def explain_attendance(scenario: Scenario, events: Sequence[Event], person: str) -> list[str]:
    """For each flexible session: which run ``person`` attends, and for each other run why
    not (their day off, an absence, another of their events at that time, the run full, or
    the even spread of run_balance). Read from calendar.csv alone."""
    applicant = next((a for a in scenario.applicants if a.applicant_id == person), None)
    runs = [e for e in events if e.kind == "flexible"]
    if applicant is None or not runs:
        return []
    zone = ZoneInfo(scenario.settings.programme.timezone)
    capacity = {run_event_id(r.session_key, r.run): r.capacity for r in scenario.runs}
    participants = {a.applicant_id for a in scenario.applicants}
    mine = [e for e in events if person in e.attendee_ids]
    lines = []
    for session in (s for s in scenario.programme if s.kind == "flexible"):
        held = sorted(
            (e for e in runs if e.session_key == session.session_key),
            key=lambda e: run_number(e.event_id) or 0,
        )
        attended = next((e for e in held if person in e.attendee_ids), None)
        if attended is None:
            continue
        offered = sum(r.session_key == session.session_key for r in scenario.runs)
        share = even_share(sum(len(set(e.attendee_ids) & participants) for e in held), offered)
        line = (
            f"{person} attends run {run_number(attended.event_id)} of {session.title} "
            f"({session.session_key}) on {_when(attended, zone)}"
        )
        others = [
            f"run {run_number(e.event_id)} ({_when(e, zone)}) "
            + _why_not_this_run(
                scenario, applicant, mine, e, attended, capacity, participants, share
            )
            for e in held
            if e is not attended
        ]
        not_held = [
            r.run
            for r in scenario.runs
            if r.session_key == session.session_key
            and all(run_number(e.event_id) != r.run for e in held)
        ]
        if not_held:
            others.append(
                f"run{'s' * (len(not_held) > 1)} {', '.join(map(str, not_held))} not held "
                "(nobody was needed there)"
            )
        lines.append(line + ("; " + "; ".join(others) if others else "") + ".")
    return lines


def _when(e: Event, zone: ZoneInfo) -> str:
    local = e.start.astimezone(zone)
    return f"{local:%a %d %b %Y} at {local:%H:%M}"


def _why_not_this_run(
    scenario: Scenario,
    applicant: Applicant,
    mine: Sequence[Event],
    run: Event,
    attended: Event,
    capacity: Mapping[str, int],
    participants: set[str],
    share: int,
) -> str:
    zone = ZoneInfo(scenario.settings.programme.timezone)
    local = run.start.astimezone(zone)
    if local.strftime("%a") not in applicant.working_days:
        return f"is on their day off (they work {', '.join(applicant.working_days)})"
    start, end = run.start.astimezone(zone).replace(tzinfo=None), run.end.astimezone(zone)
    for u in scenario.unavailability:
        if u.id == applicant.applicant_id and u.start < end.replace(tzinfo=None) and start < u.end:
            return f"falls in their absence {u.start:%d %b %Y} to {u.end:%d %b %Y}"
    for e in mine:
        if e is not attended and e.start < run.end and run.start < e.end:
            return f"clashes with their {e.title} ({e.event_id})"
    taking = len(set(run.attendee_ids) & participants)
    if taking >= capacity.get(run.event_id, taking + 1):
        return f"is full ({taking} of {capacity[run.event_id]})"
    here = len(set(attended.attendee_ids) & participants)
    worse = max(0, taking + 1 - share) + max(0, here - 1 - share)
    now = max(0, taking - share) + max(0, here - share)
    if worse > now:
        return (
            f"had room ({taking} of {capacity[run.event_id]}), but moving them there makes "
            f"the runs less even ({RUN_BALANCE})"
        )
    return (
        f"had room ({taking} of {capacity[run.event_id]}) and was open to them: the runs are "
        f"as even either way, and the solver chose run {run_number(attended.event_id)}"
    )
