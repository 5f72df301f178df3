"""The allocation's CP-SAT model: one method per hard rule, the six contract objectives as expressions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from ortools.sat.python import cp_model

from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate
from cohort_solver.stages.allocate.readings import held_blocks, over_and_above

Key = TypeVar("Key", bound=Hashable)

LEVELS = (
    ("ring_fence_fill", "max"),
    ("places_filled", "max"),
    ("total_score_hundredths", "max"),
    ("preference_positions", "min"),
    ("lottery_ranks", "min"),
    ("cohort_tie_break", "min"),
)


@dataclass
class CohortGroup:
    """A connected group of cohorts and the eligible applicants who can join them."""

    cohorts: list[Cohort]
    pool: list[Candidate]  # sorted by lottery rank, so the model never depends on row order
    fixed: dict[str, str] = field(default_factory=dict)  # applicant -> cohort, kept as is
    one_newcomer: bool = False  # a withdrawal: at most one applicant joins


class AllocationModel:
    """The CP-SAT model of one group, with its variables in one typed holder."""

    def __init__(self, scenario: Scenario, group: CohortGroup, *, explain: bool = False):
        self.scenario = scenario
        self.group = group
        self.model = cp_model.CpModel()
        self.assumptions: dict[int, str] = {}  # literal index -> plain-words constraint
        self._explain = explain
        self.x: dict[tuple[str, str], cp_model.IntVar] = {}
        cohort_ids = {c.id for c in group.cohorts}
        for cand in group.pool:
            for cohort_id in cand.cohorts:
                if cohort_id in cohort_ids:
                    self.x[cand.id, cohort_id] = self.model.new_bool_var(
                        f"placed[{cand.id},{cohort_id}]"
                    )
        self.by_cohort: dict[str, list[tuple[Candidate, cp_model.IntVar]]] = defaultdict(list)
        self.by_id = {c.id: c for c in group.pool}
        for (applicant_id, cohort_id), var in self.x.items():
            self.by_cohort[cohort_id].append((self.by_id[applicant_id], var))
        self.fill: list[cp_model.IntVar] = []
        # Over-and-above: who takes an open place, and who a held place of which ring fence.
        self.open: dict[tuple[str, str], cp_model.IntVar] = {}
        self.held: dict[tuple[str, str, str], cp_model.IntVar] = {}
        self.held_fill: list[cp_model.IntVar] = []

        self.add_one_cohort_each()
        for cohort in group.cohorts:
            self.add_places(cohort)
            self.add_ring_fences(cohort)
            if over_and_above(scenario):
                self.add_held_places(cohort)
            self.add_max_per_service_area(cohort)
            self.add_max_per_council(cohort)
            self.add_min_service_areas(cohort)
        self.add_kept_selections()
        if scenario.settings.selection.mode == "mandatory":
            self.add_everyone_placed()

    # -- helpers

    def placed(self, applicant_id: str, cohort_id: str) -> cp_model.IntVar | None:
        return self.x.get((applicant_id, cohort_id))

    def decisions(self) -> list[cp_model.IntVar]:
        """Every decision variable (hinted from one level to the next)."""
        return [*self.x.values(), *self.open.values(), *self.held.values()]

    def _guard(self, description: str) -> list[cp_model.IntVar]:
        """An assumption literal for a constraint family, when explaining infeasibility."""
        if not self._explain:
            return []
        literal = self.model.new_bool_var(description)
        self.assumptions[literal.index] = description
        return [literal]

    def _enforce(self, constraint: cp_model.Constraint, guard: list[cp_model.IntVar]) -> None:
        if guard:
            constraint.only_enforce_if(guard)

    # -- hard rules

    def add_one_cohort_each(self) -> None:
        """An applicant takes at most one place, in a cohort acceptable to them."""
        per_applicant: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        for (applicant_id, _), var in self.x.items():
            per_applicant[applicant_id].append(var)
        for vars_ in per_applicant.values():
            if len(vars_) > 1:
                self.model.add_at_most_one(vars_)

    def add_places(self, cohort: Cohort) -> None:
        """A cohort takes at most its number of places."""
        guard = self._guard(f"cohort {cohort.id}: only {cohort.places} places")
        self._enforce(
            self.model.add(sum(v for _, v in self.by_cohort[cohort.id]) <= cohort.places), guard
        )

    def add_ring_fences(self, cohort: Cohort) -> None:
        """Level 1 counts members up to each ring fence's minimum; `hold` caps non-members."""
        for rf in self.scenario.settings.selection.ring_fence:
            if rf.reading == "over_and_above":
                continue  # its places are seats of their own (add_held_places)
            minimum = rf.minimum_in(cohort)
            members = [v for c, v in self.by_cohort[cohort.id] if rf.name in c.ring_fences]
            outsiders = [v for c, v in self.by_cohort[cohort.id] if rf.name not in c.ring_fences]
            fill = self.model.new_int_var(0, minimum, f"ring_fence_fill[{rf.name},{cohort.id}]")
            self.model.add(fill <= sum(members))
            self.fill.append(fill)
            if rf.unfilled == "hold":
                guard = self._guard(
                    f"cohort {cohort.id}: {minimum} places held for '{rf.name}' (hold), "
                    f"so at most {cohort.places - minimum} go to non-members"
                )
                self._enforce(self.model.add(sum(outsiders) <= cohort.places - minimum), guard)

    def add_held_places(self, cohort: Cohort) -> None:
        """Over-and-above: each place taken is an open place or a held place of one ring fence
        (held_blocks); held places under `hold` go only to members. Level 1 counts the held
        places that go to members; the first pass fills the open places on merit."""
        blocks = held_blocks(self.scenario, cohort.places)
        open_vars = []
        seats: dict[str, list[cp_model.IntVar]] = {b.name: [] for b in blocks}
        for cand, var in self.by_cohort[cohort.id]:
            self.open[cand.id, cohort.id] = self.model.new_bool_var(f"open[{cand.id},{cohort.id}]")
            open_vars.append(self.open[cand.id, cohort.id])
            mine = [self.open[cand.id, cohort.id]]
            for block in blocks:
                seat = self.model.new_bool_var(f"held[{cand.id},{cohort.id},{block.name}]")
                self.held[cand.id, cohort.id, block.name] = seat
                seats[block.name].append(seat)
                mine.append(seat)
                if not block.admits(cand):
                    guard = self._guard(
                        f"cohort {cohort.id}: {block.size} places held over and above for "
                        f"'{block.name}' (hold) go only to its members"
                    )
                    self._enforce(self.model.add(seat == 0), guard)
            self.model.add(sum(mine) == var)
        self.model.add(sum(open_vars) <= cohort.places - sum(b.size for b in blocks))
        for block in blocks:
            self.model.add(sum(seats[block.name]) <= block.size)
            self.held_fill.extend(
                self.held[c.id, cohort.id, block.name]
                for c, _ in self.by_cohort[cohort.id]
                if block.name in c.ring_fences
            )

    def add_max_per_service_area(self, cohort: Cohort) -> None:
        """No more than max_per_service_area from one (council, service area)."""
        limit = self.scenario.settings.selection.spread.max_per_service_area
        self._add_cap(cohort, "max_per_service_area", limit, lambda c: c.applicant.area)

    def add_max_per_council(self, cohort: Cohort) -> None:
        """No more than max_per_council from one council."""
        limit = self.scenario.settings.selection.spread.max_per_council
        self._add_cap(cohort, "max_per_council", limit, lambda c: c.applicant.council)

    def _add_cap(
        self, cohort: Cohort, rule: str, limit: int | None, key: Callable[[Candidate], object]
    ) -> None:
        if limit is None:
            return
        guard = self._guard(f"cohort {cohort.id}: {rule}={limit}")
        for vars_ in self._grouped(cohort, key).values():
            if len(vars_) > limit:
                self._enforce(self.model.add(sum(vars_) <= limit), guard)

    def add_min_service_areas(self, cohort: Cohort) -> None:
        """At least min_service_areas distinct (council, service area) in the cohort."""
        needed = self.scenario.settings.selection.spread.min_service_areas
        if not needed:
            return
        groups = self._grouped(cohort, lambda c: c.applicant.area)
        guard = self._guard(
            f"cohort {cohort.id}: min_service_areas={needed} "
            f"(eligible applicants who can join come from {len(groups)} service areas)"
        )
        covered = []
        for area, vars_ in sorted(groups.items()):
            has = self.model.new_bool_var(f"covers[{cohort.id},{area[0]}/{area[1]}]")
            self.model.add(has <= sum(vars_))
            covered.append(has)
        self._enforce(self.model.add(sum(covered) >= needed), guard)

    def add_kept_selections(self) -> None:
        """After a withdrawal, everyone else already selected keeps their place."""
        for applicant_id, cohort_id in sorted(self.group.fixed.items()):
            var = self.placed(applicant_id, cohort_id)
            guard = self._guard(f"{applicant_id} keeps their place in cohort {cohort_id}")
            if var is None:  # no longer eligible for that cohort: cannot be kept
                flag = self.model.new_constant(0)
                self._enforce(self.model.add(flag == 1), guard)
            else:
                self._enforce(self.model.add(var == 1), guard)
        if self.group.one_newcomer:
            # One withdrawal, one newcomer: over and above, the vacancy can also free a held
            # place a spread limit kept empty, which the next full run would fill, not this one.
            newcomers = [v for (a, _), v in self.x.items() if a not in self.group.fixed]
            self.model.add(sum(newcomers) <= 1)

    def add_everyone_placed(self) -> None:
        """Mandatory selection: every eligible person takes a place in a cohort open to them."""
        names = ", ".join(c.id for c in self.group.cohorts)
        guard = self._guard(
            f"mandatory selection: all {len(self.group.pool)} eligible people who can join "
            f"cohort {names} must take a place"
        )
        options: dict[str, list[cp_model.IntVar]] = {c.id: [] for c in self.group.pool}
        for (applicant_id, _), var in self.x.items():
            options[applicant_id].append(var)
        for vars_ in options.values():
            self._enforce(self.model.add(sum(vars_) == 1), guard)

    def _grouped(
        self, cohort: Cohort, key: Callable[[Candidate], Key]
    ) -> dict[Key, list[cp_model.IntVar]]:
        groups: dict[Key, list[cp_model.IntVar]] = defaultdict(list)
        for cand, var in self.by_cohort[cohort.id]:
            groups[key(cand)].append(var)
        return groups

    # -- objectives

    def objectives(self) -> list[cp_model.LinearExprT]:
        """The six levels; over and above, level 1 adds the held places that go to members."""
        fill = sum([*self.fill, *self.held_fill])
        return self._levels(self.x, fill)

    def open_objectives(self) -> list[cp_model.LinearExprT]:
        """Over and above, the first pass: the minimum guarantees first (over the whole
        allocation), then levels 2-6 over the open places alone, on merit from everyone."""
        return self._levels(self.open, sum(self.fill))

    def _levels(
        self, chosen: dict[tuple[str, str], cp_model.IntVar], fill: cp_model.LinearExprT
    ) -> list[cp_model.LinearExprT]:
        position = {c.id: i for i, c in enumerate(self.scenario.cohorts)}
        terms = [(self.by_id[a], cohort_id, var) for (a, cohort_id), var in chosen.items()]
        return [
            fill,
            sum(var for _, _, var in terms),
            sum(c.hundredths * var for c, _, var in terms),
            sum(c.cohorts.index(k) * var for c, k, var in terms),
            sum(c.lottery * var for c, _, var in terms),
            sum(c.lottery * position[k] * var for c, k, var in terms),
        ]
