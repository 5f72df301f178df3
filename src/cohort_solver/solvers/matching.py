"""Mentor and coach matching: lawful pairs only, maximum fit, proven optimal, explained.

Mentor and coach assignments are two transportation problems tied together only by the
same-person rule and, in egalitarian mode, by each participant's combined fit. So the
utilitarian optimum is two min-cost flows (exact and deterministic); CP-SAT takes over when
the flows put one person on both sides of a participant, and for the egalitarian levels.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow
from ortools.sat.python import cp_model

from ..errors import InfeasibleError
from ..model import Applicant, Coach, Level, Match, Mentor, Outcome, Scenario, StageReport
from . import cp_sat, no_solution

STAGE = "matching"


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...]  # one per selected participant, sorted by participant_id
    report: StageReport


# --------------------------------------------------------------------------- lawful pairs


def management_chain(applicant: Applicant, by_id: Mapping[str, Applicant]) -> list[str]:
    """The participant's line manager and everyone above them, as far as applicants.csv tells."""
    chain: list[str] = []
    manager = applicant.line_manager_id
    while manager and manager not in chain and manager != applicant.applicant_id:
        chain.append(manager)
        above = by_id.get(manager)
        manager = above.line_manager_id if above else None
    return chain


def _conflicts(scenario: Scenario) -> set[frozenset[str]]:
    return {frozenset((c.person_a, c.person_b)) for c in scenario.conflicts}


def mentor_barriers(
    scenario: Scenario, applicant: Applicant, mentor: Mentor, chain: Sequence[str], conflicts: set
) -> list[str]:
    """Why this mentor may not mentor this participant (empty = lawful)."""
    rules = scenario.settings.matching
    barriers = []
    if mentor.mentor_id == applicant.applicant_id:
        barriers.append("is the participant")
    needed = applicant.grade + rules.mentor_min_grade_gap
    if mentor.grade < needed:
        barriers.append(f"grade {mentor.grade} is below {needed}")
    if mentor.mentor_id in chain:
        barriers.append("is in their management chain")
    if rules.exclude_same_service_area and (mentor.council, mentor.service_area) == applicant.area:
        barriers.append(f"works in their own service area ({mentor.service_area})")
    if frozenset((mentor.mentor_id, applicant.applicant_id)) in conflicts:
        barriers.append("has a declared conflict with them")
    return barriers


def coach_barriers(
    applicant: Applicant, coach: Coach, chain: Sequence[str], conflicts: set
) -> list[str]:
    """Why this coach may not coach this participant (empty = lawful)."""
    barriers = []
    if coach.coach_id == applicant.applicant_id:
        barriers.append("is the participant")
    if not coach.serves(applicant.council):
        barriers.append(f"does not serve {applicant.council}")
    if coach.coach_id in chain:
        barriers.append("is in their management chain")
    if frozenset((coach.coach_id, applicant.applicant_id)) in conflicts:
        barriers.append("has a declared conflict with them")
    return barriers


def covered_needs(applicant: Applicant, expertise: Sequence[str]) -> list[str]:
    offered = set(expertise)
    return [need for need in dict.fromkeys(applicant.development_needs) if need in offered]


class _Side:
    """Mentors (or coaches) as arrays: ids, (council, service area) codes and expertise."""

    def __init__(self, people: list, id_field: str, area: Callable, expertise: Callable):
        self.people = people
        self.ids = np.array([getattr(x, id_field) for x in people], dtype=object)
        self.position = {i: k for k, i in enumerate(self.ids)}
        self._areas = {a: k for k, a in enumerate(dict.fromkeys(area(x) for x in people))}
        self.areas = np.array([self._areas[area(x)] for x in people], dtype=np.int64)
        themes = {
            t: k for k, t in enumerate(dict.fromkeys(t for x in people for t in expertise(x)))
        }
        self._themes = themes
        self.offers = np.zeros((len(people), len(themes)), dtype=np.int64)
        for row, x in enumerate(people):
            self.offers[row, [themes[t] for t in set(expertise(x))]] = 1

    def area_code(self, area: tuple[str, str]) -> int:
        return self._areas.get(area, -1)

    def covered(self, needs: Sequence[str]) -> np.ndarray:
        """How many of the participant's needs each person's expertise covers."""
        columns = [self._themes[n] for n in set(needs) if n in self._themes]
        return self.offers[:, columns].sum(axis=1)

    def options(self, lawful: np.ndarray, fit: np.ndarray, barred: set[str]) -> dict[str, int]:
        for who in barred:
            if who in self.position:
                lawful[self.position[who]] = False
        chosen = np.flatnonzero(lawful)
        return dict(zip(self.ids[chosen].tolist(), fit[chosen].tolist(), strict=True))


@dataclass
class Pool:
    """The participants (sorted by id) and their lawful mentors and coaches, with fit."""

    participants: list[Applicant]
    cohort: dict[str, str]
    mentors: dict[str, Mentor]
    coaches: dict[str, Coach]
    mentor_options: dict[str, dict[str, int]]  # participant -> mentor -> fit, mentors sorted
    coach_options: dict[str, dict[str, int]]

    @classmethod
    def build(cls, scenario: Scenario, selected: Sequence[Outcome]) -> Pool:
        applicants = {a.applicant_id: a for a in scenario.applicants}
        cohort = {o.applicant_id: o.cohort_id or "" for o in selected}
        participants = [applicants[i] for i in sorted(cohort)]
        mentors = {m.mentor_id: m for m in sorted(scenario.mentors, key=lambda m: m.mentor_id)}
        coaches = {c.coach_id: c for c in sorted(scenario.coaches, key=lambda c: c.coach_id)}
        rules, weights = scenario.settings.matching, scenario.settings.matching.weights
        conflicted: dict[str, set[str]] = defaultdict(set)
        for c in scenario.conflicts:
            conflicted[c.person_a].add(c.person_b)
            conflicted[c.person_b].add(c.person_a)
        # The rules of mentor_barriers/coach_barriers, and the contract's fit, as array
        # operations: at national scale every participant meets every mentor (3,600 x 4,000
        # pairs), and one Python call per pair cost most of the stage. A test keeps them in step
        # with the barriers and with the checker's fit.
        mentor_side = _Side(
            [m for m in mentors.values() if m.capacity > 0],
            "mentor_id",
            lambda m: (m.council, m.service_area),
            lambda m: m.expertise,
        )
        coach_side = _Side(
            [c for c in coaches.values() if c.capacity > 0],
            "coach_id",
            lambda c: None,
            lambda c: c.expertise,
        )
        grades = np.array([m.grade for m in mentor_side.people], dtype=np.int64)
        councils = np.array([m.council for m in mentor_side.people], dtype=object)
        serves: dict[str, np.ndarray] = {}
        mentor_options: dict[str, dict[str, int]] = {}
        coach_options: dict[str, dict[str, int]] = {}
        for p in participants:
            barred = {
                p.applicant_id,
                *management_chain(p, applicants),
                *conflicted.get(p.applicant_id, ()),
            }
            other_area = mentor_side.areas != mentor_side.area_code(p.area)
            lawful = grades >= p.grade + rules.mentor_min_grade_gap
            if rules.exclude_same_service_area:
                lawful &= other_area
            fit = (
                weights.needs * mentor_side.covered(p.development_needs)
                + weights.other_council * (councils != p.council)
                + weights.other_service_area * other_area
            )
            mentor_options[p.applicant_id] = mentor_side.options(lawful, fit, barred)
            if p.council not in serves:
                serves[p.council] = np.array(
                    [c.serves(p.council) for c in coach_side.people], dtype=bool
                )
            coach_options[p.applicant_id] = coach_side.options(
                serves[p.council].copy(),
                weights.needs * coach_side.covered(p.development_needs),
                barred,
            )
        return cls(participants, cohort, mentors, coaches, mentor_options, coach_options)

    @property
    def ids(self) -> list[str]:
        return [p.applicant_id for p in self.participants]


# --------------------------------------------------------------------------- flows


def _flow_side(
    ids: Sequence[str],
    options: Mapping[str, Mapping[str, int]],
    capacity: Mapping[str, int],
    keep: Mapping[str, str],
) -> dict[str, str] | None:
    """Max-weight complete assignment on one side (mentors or coaches), or None if none exists.

    Cost is lexicographic: first keep previous pairs, then fit. Arcs are added in sorted
    order, so the (deterministic) flow algorithm breaks ties the same way every run.
    """
    n = len(ids)
    resources = sorted(set().union(*(options[i].keys() for i in ids)))
    node = {r: n + 1 + k for k, r in enumerate(resources)}
    sink = n + 1 + len(resources)
    counts = np.fromiter((len(options[i]) for i in ids), dtype=np.int64, count=n)
    tails = np.repeat(np.arange(1, n + 1, dtype=np.int64), counts)
    heads = np.fromiter(
        map(node.__getitem__, chain.from_iterable(options[i].keys() for i in ids)),
        dtype=np.int64,
        count=len(tails),
    )
    fits = np.fromiter(
        chain.from_iterable(options[i].values() for i in ids), dtype=np.int64, count=len(tails)
    )
    big = 1 + sum(max(options[i].values(), default=0) for i in ids)
    kept = np.repeat(np.array([node.get(keep.get(i, ""), -1) for i in ids], dtype=np.int64), counts)
    costs = -(fits + big * (heads == kept))
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(
            [np.zeros(n, dtype=np.int64), tails, np.array(list(node.values()), dtype=np.int64)]
        ),
        np.concatenate(
            [
                np.arange(1, n + 1, dtype=np.int64),
                heads,
                np.full(len(resources), sink, dtype=np.int64),
            ]
        ),
        np.concatenate(
            [
                np.ones(n + len(tails), dtype=np.int64),
                np.array([capacity[r] for r in resources], dtype=np.int64),
            ]
        ),
        np.concatenate(
            [np.zeros(n, dtype=np.int64), costs, np.zeros(len(resources), dtype=np.int64)]
        ),
    )
    flow.set_node_supply(0, n)
    flow.set_node_supply(sink, -n)
    if flow.solve() != flow.OPTIMAL:
        return None
    # Arcs n .. n+len(tails) are the participant -> resource arcs, in the order added.
    used = np.flatnonzero(flow.flows(arcs[n : n + len(tails)]))
    chosen = {ids[tails[a] - 1]: resources[heads[a] - n - 1] for a in used.tolist()}
    return chosen


def _hall_violation(
    ids: Sequence[str], options: Mapping[str, Mapping[str, int]], capacity: Mapping[str, int]
) -> tuple[list[str], list[str], int] | None:
    """Participants who, together, need more places than their lawful options offer.

    The source side of a minimum cut gives the tightest such group (Hall's theorem).
    """
    resources = sorted({r for i in ids for r in options[i]})
    node = {r: len(ids) + 1 + k for k, r in enumerate(resources)}
    sink = len(ids) + 1 + len(resources)
    tails = (
        [0] * len(ids)
        + [k + 1 for k, i in enumerate(ids) for _ in options[i]]
        + [node[r] for r in resources]
    )
    heads = (
        [k + 1 for k in range(len(ids))]
        + [node[r] for i in ids for r in options[i]]
        + [sink] * len(resources)
    )
    caps = (
        [1] * len(ids)
        + [len(ids) + 1] * (len(tails) - len(ids) - len(resources))
        + [capacity[r] for r in resources]
    )
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(caps, dtype=np.int64),
    )
    flow.solve(0, sink)
    if flow.optimal_flow() >= len(ids):
        return None
    side = set(flow.get_source_side_min_cut())
    group = [i for k, i in enumerate(ids) if k + 1 in side]
    offered = [r for r in resources if node[r] in side]
    return group, offered, len(ids) - flow.optimal_flow()


# --------------------------------------------------------------------------- CP-SAT


class MatchingModel:
    """The joint CP-SAT model: one mentor and one coach per participant, lawful pairs only."""

    def __init__(self, pool: Pool, previous: Mapping[str, tuple[str, str]]):
        self.pool = pool
        self.previous = previous
        self.model = cp_model.CpModel()
        self.mentor: dict[tuple[str, str], cp_model.IntVar] = {}
        self.coach: dict[tuple[str, str], cp_model.IntVar] = {}
        for i in pool.ids:
            for m in pool.mentor_options[i]:
                self.mentor[i, m] = self.model.new_bool_var(f"mentor[{i},{m}]")
            for c in pool.coach_options[i]:
                self.coach[i, c] = self.model.new_bool_var(f"coach[{i},{c}]")
        self.add_one_mentor_and_one_coach_each()
        self.add_mentor_capacity()
        self.add_coach_capacity()
        self.add_not_both_roles()

    def add_one_mentor_and_one_coach_each(self) -> None:
        """Every participant gets exactly one lawful mentor and one lawful coach."""
        for i in self.pool.ids:
            self.model.add_exactly_one(self.mentor[i, m] for m in self.pool.mentor_options[i])
            self.model.add_exactly_one(self.coach[i, c] for c in self.pool.coach_options[i])

    def add_mentor_capacity(self) -> None:
        """A mentor takes at most `capacity` participants."""
        for m, mentor in self.pool.mentors.items():
            taken = [v for (_, mm), v in self.mentor.items() if mm == m]
            if len(taken) > mentor.capacity:
                self.model.add(sum(taken) <= mentor.capacity)

    def add_coach_capacity(self) -> None:
        """A coach takes at most `capacity` participants."""
        for c, coach in self.pool.coaches.items():
            taken = [v for (_, cc), v in self.coach.items() if cc == c]
            if len(taken) > coach.capacity:
                self.model.add(sum(taken) <= coach.capacity)

    def add_not_both_roles(self) -> None:
        """A person who is both a mentor and a coach is never both for the same participant."""
        for (i, m), var in self.mentor.items():
            other = self.coach.get((i, m))
            if other is not None:
                self.model.add_at_most_one(var, other)

    def fit(self, i: str) -> cp_model.LinearExprT:
        return sum(f * self.mentor[i, m] for m, f in self.pool.mentor_options[i].items()) + sum(
            f * self.coach[i, c] for c, f in self.pool.coach_options[i].items()
        )

    def kept(self) -> cp_model.LinearExprT:
        terms = []
        for i, (m, c) in self.previous.items():
            if (i, m) in self.mentor:
                terms.append(self.mentor[i, m])
            if (i, c) in self.coach:
                terms.append(self.coach[i, c])
        return sum(terms)

    def add_worst_fit_at_least(self, floor: int) -> None:
        """Egalitarian: nobody's fit falls below ``floor``, so pairs that cannot reach it go."""
        for i in self.pool.ids:
            best_mentor = max(self.pool.mentor_options[i].values())
            best_coach = max(self.pool.coach_options[i].values())
            for m, f in self.pool.mentor_options[i].items():
                if f + best_coach < floor:
                    self.model.add(self.mentor[i, m] == 0)
            for c, f in self.pool.coach_options[i].items():
                if f + best_mentor < floor:
                    self.model.add(self.coach[i, c] == 0)

    def hint(self, mentors: Mapping[str, str], coaches: Mapping[str, str]) -> None:
        for (i, m), var in self.mentor.items():
            self.model.add_hint(var, mentors.get(i) == m)
        for (i, c), var in self.coach.items():
            self.model.add_hint(var, coaches.get(i) == c)


def _solve_levels(
    model: MatchingModel,
    levels: Sequence[tuple[str, cp_model.LinearExprT]],
    *,
    workers: int,
    deadline: float,
    start: tuple[dict[str, str], dict[str, str]] | None,
    ceilings: Mapping[str, int],
    evaluate: Callable[[str, dict[str, str], dict[str, str]], int],
) -> tuple[dict[str, str], dict[str, str], list[Level], bool]:
    """Maximise each level in turn, then hold it at what was reached.

    When time runs out with a lawful matching in hand (``start`` or an earlier level's), the
    remaining levels report that matching's value against a plain upper bound, as "feasible".
    """
    reached: list[Level] = []
    optimal = True
    mentors, coaches = start if start is not None else ({}, {})
    for k, (name, objective) in enumerate(levels):
        model.model.maximize(objective)
        solver = cp_sat(workers, deadline - time.monotonic())
        status = solver.solve(model.model)
        if status == cp_model.INFEASIBLE:
            raise InfeasibleError(
                STAGE,
                [
                    "every participant has lawful mentors and coaches, but not without giving "
                    "someone the same person as both mentor and coach"
                ],
            )
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if not mentors:
                no_solution(STAGE, status, "no matching was found within the limit")
            for rest, _ in levels[k:]:
                value = evaluate(rest, mentors, coaches)
                reached.append(
                    Level(name=rest, sense="max", value=value, bound=max(value, ceilings[rest]))
                )
            return mentors, coaches, reached, False
        value, bound = round(solver.objective_value), round(solver.best_objective_bound)
        optimal = optimal and status == cp_model.OPTIMAL
        reached.append(Level(name=name, sense="max", value=value, bound=bound))
        model.model.add(objective >= value)
        if name == "min_fit":
            model.add_worst_fit_at_least(value)
        mentors = {i: m for (i, m), v in model.mentor.items() if solver.boolean_value(v)}
        coaches = {i: c for (i, c), v in model.coach.items() if solver.boolean_value(v)}
        model.model.clear_hints()
        model.hint(mentors, coaches)
    return mentors, coaches, reached, optimal


# --------------------------------------------------------------------------- front door


def _min_fit(pool: Pool, mentors: Mapping[str, str], coaches: Mapping[str, str]) -> int:
    return min(
        (pool.mentor_options[i][mentors[i]] + pool.coach_options[i][coaches[i]] for i in pool.ids),
        default=0,
    )


def _total_fit(pool: Pool, mentors: Mapping[str, str], coaches: Mapping[str, str]) -> int:
    return sum(
        pool.mentor_options[i][mentors[i]] + pool.coach_options[i][coaches[i]] for i in pool.ids
    )


def _kept(previous: Mapping[str, tuple[str, str]], mentors: Mapping, coaches: Mapping) -> int:
    return sum((mentors.get(i) == m) + (coaches.get(i) == c) for i, (m, c) in previous.items())


def match(
    scenario: Scenario,
    selected: Sequence[Outcome],
    *,
    time_limit: float = 60,
    workers: int = 2,
    previous: Sequence[Match] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MatchResult:
    """Give every selected participant a mentor and a coach, optimally for the fairness mode.

    ``progress(done, total)`` hears of each step: lawful pairs, mentor flow, coach flow, and
    the CP-SAT levels when the flows alone cannot settle it.

    With ``previous``, keeping earlier pairs comes first (every still-lawful pair is kept
    unless capacities no longer allow it), then the fairness levels.
    """
    started = time.monotonic()
    deadline = started + time_limit
    step = progress or (lambda done, total: None)
    pool = Pool.build(scenario, [o for o in selected if o.status == "selected"])
    step(1, 4)
    kept_before = {
        p.participant_id: (p.mentor_id, p.coach_id)
        for p in previous or ()
        if p.participant_id in pool.cohort
    }
    ids = pool.ids
    mentor_caps = {m: x.capacity for m, x in pool.mentors.items()}
    coach_caps = {c: x.capacity for c, x in pool.coaches.items()}
    mentors = _flow_side(
        ids, pool.mentor_options, mentor_caps, {i: m for i, (m, _) in kept_before.items()}
    )
    step(2, 4)
    coaches = _flow_side(
        ids, pool.coach_options, coach_caps, {i: c for i, (_, c) in kept_before.items()}
    )
    step(3, 4)
    if mentors is None or coaches is None:
        # No complete assignment on one side: Hall's theorem says which group is short, and why.
        raise InfeasibleError(STAGE, feasibility_causes(scenario, pool))
    fairness = scenario.settings.matching.fairness
    clash = any(mentors[i] == coaches[i] for i in ids)
    flow_levels = []
    if previous is not None:
        kept = _kept(kept_before, mentors, coaches)
        flow_levels.append(Level(name="kept_pairs", sense="max", value=kept, bound=kept))
    flow_total = _total_fit(pool, mentors, coaches)
    flow_worst = _min_fit(pool, mentors, coaches)
    ceiling = _fit_ceiling(pool)
    # Each flow is optimal for its side, so their union has the best total of all matchings.
    # In egalitarian mode it is also best when its worst fit reaches the proven optimum: no
    # matching with that worst fit can have a larger total than the best total overall.
    if not clash and (fairness == "utilitarian" or flow_worst == ceiling):
        if fairness == "egalitarian":
            flow_levels.append(Level(name="min_fit", sense="max", value=flow_worst, bound=ceiling))
        flow_levels.append(Level(name="total_fit", sense="max", value=flow_total, bound=flow_total))
        report = StageReport(
            stage=STAGE,
            status="optimal",
            levels=tuple(flow_levels),
            seconds=round(time.monotonic() - started, 3),
            solver="min-cost flow",
        )
    else:
        model = MatchingModel(pool, kept_before)
        if not clash:
            model.hint(mentors, coaches)
        objectives: list[tuple[str, cp_model.LinearExprT]] = []
        if previous is not None:
            objectives.append(("kept_pairs", model.kept()))
        if fairness == "egalitarian":
            # The flows' matching is lawful, so its worst fit is a floor for the optimum.
            floor = 0 if previous is not None or clash else flow_worst
            worst = model.model.new_int_var(floor, ceiling, "min_fit")
            model.add_worst_fit_at_least(floor)
            for i in ids:
                model.model.add(worst <= model.fit(i))
            objectives.append(("min_fit", worst))

        def evaluate(
            name: str, chosen_mentors: dict[str, str], chosen_coaches: dict[str, str]
        ) -> int:
            if name == "kept_pairs":
                return _kept(kept_before, chosen_mentors, chosen_coaches)
            if name == "min_fit":
                return _min_fit(pool, chosen_mentors, chosen_coaches)
            return _total_fit(pool, chosen_mentors, chosen_coaches)

        ceilings = {
            "kept_pairs": 2 * len(kept_before),
            "min_fit": ceiling,
            "total_fit": sum(
                max(pool.mentor_options[i].values()) + max(pool.coach_options[i].values())
                for i in ids
            ),
        }
        solved_mentors, solved_coaches, levels, optimal = _solve_levels(
            model,
            objectives,
            workers=workers,
            deadline=deadline,
            start=None if clash else (mentors, coaches),
            ceilings=ceilings,
            evaluate=evaluate,
        )
        if fairness == "egalitarian" and not clash and optimal and levels[-1].value == flow_worst:
            # The flows already reach the best worst fit, with the best total of all.
            levels.append(Level(name="total_fit", sense="max", value=flow_total, bound=flow_total))
        else:
            total_objective = sum(model.fit(i) for i in ids)
            solved_mentors, solved_coaches, more, more_optimal = _solve_levels(
                model,
                [("total_fit", total_objective)],
                workers=workers,
                deadline=deadline,
                start=(solved_mentors, solved_coaches) if solved_mentors else None,
                ceilings=ceilings,
                evaluate=evaluate,
            )
            mentors, coaches = solved_mentors, solved_coaches
            levels += more
            optimal = optimal and more_optimal
        report = StageReport(
            stage=STAGE,
            status="optimal" if optimal else "feasible",
            levels=tuple(levels),
            seconds=round(time.monotonic() - started, 3),
            solver="CP-SAT",
        )
    step(4, 4)
    matches = tuple(
        Match(
            participant_id=i,
            cohort_id=pool.cohort[i],
            mentor_id=mentors[i],
            coach_id=coaches[i],
            mentor_fit=pool.mentor_options[i][mentors[i]],
            coach_fit=pool.coach_options[i][coaches[i]],
            reasons=reasons(scenario, p, pool.mentors[mentors[i]], pool.coaches[coaches[i]]),
        )
        for i, p in zip(ids, pool.participants, strict=True)
    )
    return MatchResult(matches=matches, report=report)


def _fit_ceiling(pool: Pool) -> int:
    """No participant can do better than their best mentor plus their best coach."""
    return min(
        (
            max(pool.mentor_options[i].values()) + max(pool.coach_options[i].values())
            for i in pool.ids
        ),
        default=0,
    )


# --------------------------------------------------------------------------- words


def reasons(scenario: Scenario, applicant: Applicant, mentor: Mentor, coach: Coach) -> str:
    """Why this pair: needs covered and exposure. Never groups or scores."""
    parts = []
    mentor_needs = covered_needs(applicant, mentor.expertise)
    parts.append(
        "mentor covers " + ", ".join(mentor_needs)
        if mentor_needs
        else "mentor covers no listed need"
    )
    if mentor.council != applicant.council:
        parts.append(f"mentor from another council ({mentor.council})")
    elif mentor.service_area != applicant.service_area:
        parts.append(f"mentor from another service area ({mentor.service_area})")
    coach_needs = covered_needs(applicant, coach.expertise)
    parts.append(
        "coach covers " + ", ".join(coach_needs) if coach_needs else "coach covers no listed need"
    )
    return "; ".join(parts)


def feasibility_causes(scenario: Scenario, pool: Pool) -> list[str]:
    """Cheap supply/demand checks, in coordinator words (empty = a complete matching exists)."""
    causes: list[str] = []
    conflicts = _conflicts(scenario)
    ids = pool.ids
    by_id = {a.applicant_id: a for a in scenario.applicants}
    for p in pool.participants:
        i = p.applicant_id
        chain = management_chain(p, by_id)
        if not pool.mentor_options[i]:
            causes.append(
                f"{i}: no lawful mentor — "
                + _summarise(
                    [
                        (
                            m.mentor_id,
                            ["has no places"]
                            if m.capacity <= 0
                            else mentor_barriers(scenario, p, m, chain, conflicts),
                        )
                        for m in pool.mentors.values()
                    ],
                    "mentor",
                )
            )
        if not pool.coach_options[i]:
            causes.append(
                f"{i}: no lawful coach — "
                + _summarise(
                    [
                        (
                            c.coach_id,
                            ["has no places"]
                            if c.capacity <= 0
                            else coach_barriers(p, c, chain, conflicts),
                        )
                        for c in pool.coaches.values()
                    ],
                    "coach",
                )
            )
    if causes:
        return causes
    for role, options, resources in (
        ("mentor", pool.mentor_options, pool.mentors),
        ("coach", pool.coach_options, pool.coaches),
    ):
        capacity = {r: x.capacity for r, x in resources.items()}
        places = sum(capacity.values())
        if places < len(ids):
            causes.append(
                f"{role} capacity short by {len(ids) - places} "
                f"({len(ids)} participants, {places} {role} places)"
            )
            continue
        violation = _hall_violation(ids, options, capacity)
        if violation:
            group, offered, short = violation
            causes.append(
                f"{', '.join(group)} can only have {role}s {', '.join(offered) or 'nobody'}, "
                f"who have {sum(capacity[r] for r in offered)} places between them: "
                f"{role} capacity short by {short}"
            )
    return causes


def _summarise(barriers: Sequence[tuple[str, list[str]]], role: str) -> str:
    if not barriers:
        return f"there are no {role}s"
    counts: dict[str, list[str]] = defaultdict(list)
    for who, why in barriers:
        for reason in why:
            counts[reason].append(who)
    return "; ".join(
        f"{', '.join(who)}: {reason}"
        for reason, who in sorted(counts.items(), key=lambda kv: kv[0])
    )


def explain_match(
    scenario: Scenario, selected: Sequence[Outcome], matches: Sequence[Match], participant_id: str
) -> str:
    """Why this participant has their mentor and coach, and the best lawful alternatives."""
    row = next((m for m in matches if m.participant_id == participant_id), None)
    if row is None:
        return f"{participant_id} is not a selected participant, so has no mentor or coach."
    pool = Pool.build(scenario, [o for o in selected if o.applicant_id == participant_id])
    mentor_load: dict[str, int] = defaultdict(int)
    coach_load: dict[str, int] = defaultdict(int)
    for other in matches:
        mentor_load[other.mentor_id] += 1
        coach_load[other.coach_id] += 1
    lines = [
        f"{participant_id} is mentored by {row.mentor_id} (fit {row.mentor_fit}) and coached by "
        f"{row.coach_id} (fit {row.coach_fit}): {row.reasons}."
    ]
    for role, options, chosen, resources, load in (
        ("mentor", pool.mentor_options[participant_id], row.mentor_id, pool.mentors, mentor_load),
        ("coach", pool.coach_options[participant_id], row.coach_id, pool.coaches, coach_load),
    ):
        others = sorted(
            ((fit, r) for r, fit in options.items() if r != chosen), key=lambda t: (-t[0], t[1])
        )
        if not others:
            lines.append(f"No other lawful {role}.")
            continue
        fit, best = others[0]
        full = load[best] >= resources[best].capacity
        lines.append(
            f"Best lawful alternative {role}: {best} (fit {fit}"
            + (f", all {resources[best].capacity} places taken" if full else ", has a free place")
            + ")."
        )
    return " ".join(lines)
