"""The CP-SAT model of some events of the calendar, placed around others that stay fixed.

Each free event picks one candidate day (a literal per day) and a start on the absolute slot
timeline, so "nobody in two places at once" is a no-overlap of intervals; a whole-cohort
session also picks one venue (a literal and an optional interval per venue). The candidate
times are already cleared of every clash with a fixed event (``room_around``), so the hard
rules (``rules.py``) only link free events, and each soft goal (``goals.py``) returns its
penalty terms over free events and the fixed events they interact with. A model's objective
is therefore exactly the change in the calendar's soft objective that its free events can make.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence

from ortools.sat.python import cp_model

from cohort_solver.stages.schedule.context import Context, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Week, bits
from cohort_solver.stages.schedule.slots import Options, room_around

LinearExpr = cp_model.LinearExprT
Terms = list[tuple[LinearExpr, int]]  # (expression, unweighted count per unit)


class CalendarModel:
    """The variables of the free events in one typed holder, their rules and their goals."""

    def __init__(
        self,
        ctx: Context,
        free: Sequence[Demand],
        fixed: Mapping[str, Placement],
        *,
        goals: bool = True,
        options: dict[str, Options] | None = None,
        guides: Mapping[str, Mapping[Week, int]] | None = None,
        venues: bool = True,
        goal_names: Collection[str] | None = None,
    ):
        from cohort_solver.stages.schedule import goals as soft
        from cohort_solver.stages.schedule import rules

        self.ctx, self.grid = ctx, ctx.grid
        self.free = list(free)
        self.fixed = fixed
        self.free_ids = {d.event_id for d in self.free}
        self.with_venues = venues
        self.options = options if options is not None else room_around(ctx, self.free, fixed)
        self.around = ctx.around(self.free, fixed)  # fixed events these can meet
        self.model = cp_model.CpModel()
        self.start: dict[str, cp_model.IntVar] = {}
        self.days: dict[str, dict[int, cp_model.IntVar]] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self.venue: dict[str, dict[str, cp_model.IntVar]] = {}
        self.venue_interval: dict[str, dict[str, cp_model.IntervalVar]] = {}
        self.terms: dict[str, Terms] = defaultdict(list)
        self.guide_terms: Terms = []
        self.moved: dict[str, cp_model.IntVar] = {}
        self.impossible = [d for d in self.free if not self.options[d.event_id]]
        if self.impossible:
            return  # some event has no time left at all: nothing to search
        for d in self.free:
            self._add_event(d)
        for add_rule in rules.HARD_RULES:
            add_rule(self)
        if goals:
            for name, goal in soft.SOFT_GOALS.items():
                if goal_names is None or name in goal_names:
                    self.terms[name] += goal(self)
        if guides:
            self._add_guides(guides)

    # -- variables

    def _add_event(self, d: Demand) -> None:
        eid, grid = d.event_id, self.grid
        days = self.options[eid]
        values = [grid.absolute(day, s) for day in sorted(days) for s in bits(days[day])]
        start = self.model.new_int_var_from_domain(
            cp_model.Domain.from_values(values), f"start[{eid}]"
        )
        self.start[eid] = start
        self.interval[eid] = self.model.new_fixed_size_interval_var(start, d.length, f"at[{eid}]")
        self.days[eid] = {}
        if len(days) == 1:
            self.days[eid][next(iter(days))] = self.model.new_constant(1)
        else:
            for day in sorted(days):
                b = self.model.new_bool_var(f"day[{eid},{day}]")
                self.days[eid][day] = b
                base = grid.absolute(day, 0)
                low, high = bits(days[day])[0], days[day].bit_length() - 1
                self.model.add_linear_constraint(start, base + low, base + high).only_enforce_if(b)
            self.model.add_exactly_one(self.days[eid].values())
        if d.venues and self.with_venues:
            self.venue[eid] = {}
            self.venue_interval[eid] = {}
            for v in d.venues:
                x = self.model.new_bool_var(f"venue[{eid},{v}]")
                self.venue[eid][v] = x
                self.venue_interval[eid][v] = self.model.new_optional_fixed_size_interval_var(
                    start, d.length, x, f"at[{eid},{v}]"
                )
            self.model.add_exactly_one(self.venue[eid].values())

    # -- expressions over free and fixed events alike

    def is_free(self, eid: str) -> bool:
        return eid in self.free_ids

    def is_fixed(self, eid: str) -> bool:
        return eid not in self.free_ids and eid in self.fixed

    def present(self, eid: str) -> bool:
        """Free here or already placed (events not placed yet take no part in any goal)."""
        return eid in self.free_ids or eid in self.fixed

    def on_days(self, eid: str, keep: Callable[[int], bool]) -> cp_model.LinearExpr | int:
        """1 if the event is on a day ``keep`` accepts, else 0 (a constant for fixed events)."""
        if eid in self.free_ids:
            return cp_model.LinearExpr.sum([b for day, b in self.days[eid].items() if keep(day)])
        return int(keep(self.fixed[eid].day))

    def in_week(self, eid: str, week: Week) -> cp_model.LinearExpr | int:
        return self.on_days(eid, lambda day: self.grid.week(day) == week)

    def on_weekday(self, eid: str, weekday: int) -> cp_model.LinearExpr | int:
        return self.on_days(eid, lambda day: self.grid.weekday(day) == weekday)

    def weeks(self, eid: str) -> set[Week]:
        if eid in self.free_ids:
            return {self.grid.week(day) for day in self.options[eid]}
        return {self.grid.week(self.fixed[eid].day)}

    def time_of_day(self, eid: str) -> LinearExpr:
        """The start slot within the day."""
        if eid in self.free_ids:
            grid = self.grid
            return self.start[eid] - cp_model.LinearExpr.weighted_sum(
                list(self.days[eid].values()), [grid.absolute(day, 0) for day in self.days[eid]]
            )
        return self.fixed[eid].slot

    def begin(self, eid: str) -> LinearExpr:
        if eid in self.free_ids:
            return self.start[eid]
        p = self.fixed[eid]
        return self.grid.absolute(p.day, p.slot)

    def end(self, eid: str) -> LinearExpr:
        return self.begin(eid) + self.ctx.by_id[eid].length

    # -- objective, hints, results

    def soft(self) -> cp_model.LinearExpr:
        weights = self.ctx.weights
        exprs, coefficients = [], []
        for name, terms in self.terms.items():
            for expr, count in terms:
                exprs.append(expr)
                coefficients.append(weights[name] * count)
        return cp_model.LinearExpr.weighted_sum(exprs, coefficients)

    def objective(self) -> cp_model.LinearExpr:
        guides = cp_model.LinearExpr.weighted_sum(
            [expr for expr, _ in self.guide_terms], [count for _, count in self.guide_terms]
        )
        return self.soft() + guides

    def _add_guides(self, guides: Mapping[str, Mapping[Week, int]]) -> None:
        """Estimated costs a whole-cohort session's week causes the events around it (e.g.
        coaching that must follow a workshop has fewer weeks left when it is late): a guide for
        the search, never part of the reported soft objective."""
        for eid, costs in guides.items():
            if eid in self.free_ids:
                for week, cost in costs.items():
                    if cost:
                        self.guide_terms.append((self.in_week(eid, week), cost))

    def hint(self, plan: Mapping[str, Placement]) -> None:
        grid = self.grid
        for eid in sorted(self.free_ids & plan.keys()):
            p = plan[eid]
            if p.day not in self.days[eid] or not self.options[eid][p.day] >> p.slot & 1:
                continue  # no longer a candidate: let the search find its own
            self.model.add_hint(self.start[eid], grid.absolute(p.day, p.slot))
            if len(self.days[eid]) > 1:
                for day, b in self.days[eid].items():
                    self.model.add_hint(b, int(day == p.day))
            for v, x in self.venue.get(eid, {}).items():
                self.model.add_hint(x, int(v == p.venue))

    def extract(self, value: Callable[[cp_model.IntVar], int]) -> Plan:
        out: Plan = {}
        for d in self.free:
            day, slot = self.grid.split(value(self.start[d.event_id]))
            venue = None
            if d.event_id in self.venue:
                venue = next(v for v, x in self.venue[d.event_id].items() if value(x))
            out[d.event_id] = Placement(day, slot, venue)
        return out
