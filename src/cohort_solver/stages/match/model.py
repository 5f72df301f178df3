"""The CP-SAT matching model, for the same-person rule and the egalitarian levels."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from ortools.sat.python import cp_model

from cohort_solver.cpsat import cp_sat, no_solution
from cohort_solver.domain.results import Level
from cohort_solver.errors import InfeasibleError
from cohort_solver.stages.match.pool import Pool

STAGE = "matching"


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
                no_solution(
                    STAGE,
                    status,
                    "no matching was found within the limit",
                )
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
        model.model.clear_hints()  # type: ignore[no-untyped-call]  # OR-Tools leaves it unannotated
        model.hint(mentors, coaches)
    return mentors, coaches, reached, optimal


def _min_fit(pool: Pool, mentors: Mapping[str, str], coaches: Mapping[str, str]) -> int:
    return min(
        (pool.mentor_options[i][mentors[i]] + pool.coach_options[i][coaches[i]] for i in pool.ids),
        default=0,
    )


def _total_fit(pool: Pool, mentors: Mapping[str, str], coaches: Mapping[str, str]) -> int:
    return sum(
        pool.mentor_options[i][mentors[i]] + pool.coach_options[i][coaches[i]] for i in pool.ids
    )


def _kept(
    previous: Mapping[str, tuple[str, str]], mentors: Mapping[str, str], coaches: Mapping[str, str]
) -> int:
    return sum((mentors.get(i) == m) + (coaches.get(i) == c) for i, (m, c) in previous.items())
