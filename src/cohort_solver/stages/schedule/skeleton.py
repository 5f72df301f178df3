"""The skeleton model: whole-cohort sessions (group sessions and cohort events) as choices
among a few (day, start, venue) placements each, a 0-1 model whose LP is nearly an
assignment, so CP-SAT solves a month of fifty cohorts in a fraction of a second.

Each session's placements are, per ISO week, the days and starts that keep its cohort's
rhythm (its first group session's weekday and start time), or the nearest ones where the
rhythm cannot be kept; a cohort event gets each candidate day's earliest start. Every hard
rule among the free sessions is exact on these placements (nobody and no venue twice at
once, the group gap, `after`), and the fixed events are out of the candidate times already.
Because the placements are a short list, "no skeleton here" is never a proof: the caller
then solves the same events with every candidate time (``model.CalendarModel``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from ortools.sat.python import cp_model

from cohort_solver.stages.schedule.bounds import Chains, coach_chains
from cohort_solver.stages.schedule.context import Context, Placement, Plan
from cohort_solver.stages.schedule.events import Demand
from cohort_solver.stages.schedule.grid import Week, bits
from cohort_solver.stages.schedule.order import after_broken, gap_broken
from cohort_solver.stages.schedule.slots import Options

Spot = tuple[int, int]  # (day, slot) of a listed placement
Booking = tuple[int, int, cp_model.IntVar]  # first slot, slot after the end, its literal
Pool = tuple[str, ...]  # venues alike for every free session of a model
# (person, day) or (pool of alike venues, day): whose bookings may not overlap
Booker = TypeVar("Booker", tuple[str, int], tuple[Pool, int])

# Placements per ISO week when the rhythm cannot be kept there.
FALLBACKS_PER_WEEK = 2


class SkeletonModel:
    def __init__(
        self,
        ctx: Context,
        free: Sequence[Demand],
        fixed: Mapping[str, Placement],
        options: Mapping[str, Options],
        guides: Mapping[str, Mapping[Week, int]],
        ref_costs: Mapping[str, Mapping[tuple[int, int], int]],
    ):
        self.ctx, self.grid = ctx, ctx.grid
        self.free, self.fixed = list(free), fixed
        self.free_ids = {d.event_id for d in free}
        self.ref_costs = ref_costs
        self.model = cp_model.CpModel()
        self.places: dict[str, list[tuple[int, int]]] = {}
        self.rooms: dict[str, list[list[str]]] = {}  # per placement: the venues free then
        self.x: dict[str, list[cp_model.IntVar]] = {}
        self.y: dict[str, list[dict[Pool, cp_model.IntVar]]] = {}
        self.pool_of: dict[str, Pool] = {}
        self.costs: list[tuple[cp_model.LinearExprT, int]] = []
        taken = self._venues_taken()
        refs = {d.event_id for d in self.free if self.ctx.reference.get(d.cohort_id) == d.event_id}
        for d in self.free:  # the rhythm-setting sessions first: the others follow theirs
            if d.event_id in refs:
                self._list_placements(d, self._reference_slots(d, options[d.event_id]), taken)
        self.rhythm = self._rhythm_pairs()
        for d in self.free:
            if d.event_id not in refs:
                self._list_placements(d, self._short_list(d, options[d.event_id]), taken)
        self.empty = [d for d in self.free if not self.places[d.event_id]]
        self._pool_venues(taken)
        self.fixed_weeks = self._fixed_venue_weeks()

    def build(self, guides: Mapping[str, Mapping[Week, int]]) -> None:
        """The CP-SAT variables and constraints (only when the warm start is not enough)."""
        for d in self.free:
            self._add_session(d)
        self.add_no_double_booking()
        self.add_venue_bookings()
        self.add_order_rules()
        self.add_rhythm()
        self.add_guides(guides)
        self.add_venue_weeks()
        self.add_coach_room_after_workshops()

    # -- placements

    def _rhythm_pairs(self) -> dict[str, set[tuple[int, int]]]:
        """cohort -> the (weekday, start) pairs its rhythm may take: its first group
        session's own, once placed, else those of that session's placements here."""
        out = {}
        for cohort, ref in self.ctx.reference.items():
            if ref in self.fixed and ref not in self.free_ids:
                p = self.fixed[ref]
                out[cohort] = {(self.grid.weekday(p.day), p.slot)}
            elif ref in self.free_ids:
                out[cohort] = {(self.grid.weekday(day), s) for day, s in self.places[ref]}
        return out

    def _reference_slots(self, d: Demand, options: Options) -> list[tuple[int, int]]:
        """A rhythm-setting session on each candidate day: at the start its weekday's best
        pair has (``guides.rhythm_costs``), and at its earliest start. Where some month has
        more whole-cohort sessions than venue-weeks (``ctx.venue_short``), also at the latest
        start every later group session of the cohort can keep: two cohorts may then share a
        venue's day, one in the morning and one in the afternoon, each keeping its rhythm."""
        grid = self.grid
        costs = self.ref_costs.get(d.event_id, {})
        best: dict[int, tuple[int, int]] = {}
        late: dict[int, int] = {}
        for (w, s), c in costs.items():
            if w not in best or (c, s) < best[w]:
                best[w] = (c, s)
            if c == 0 and s > late.get(w, -1):
                late[w] = s
        if not self.ctx.venue_short():
            late = {}
        out = []
        for day, mask in sorted(options.items()):
            slots = bits(mask)
            pick = {slots[0]}
            wanted = best.get(grid.weekday(day))
            if wanted and mask >> wanted[1] & 1:
                pick.add(wanted[1])
            latest = late.get(grid.weekday(day))
            if latest is not None and mask >> latest & 1:
                pick.add(latest)
            out += [(day, s) for s in sorted(pick)]
        return out

    def _short_list(self, d: Demand, options: Options) -> list[tuple[int, int]]:
        grid = self.grid
        if d.kind != "group":
            return [(day, bits(mask)[0]) for day, mask in sorted(options.items())]
        wanted = self.rhythm.get(d.cohort_id, set())
        by_week: dict[Week, list[tuple[int, int]]] = defaultdict(list)
        for day, mask in sorted(options.items()):
            for s in bits(mask):
                by_week[grid.week(day)].append((day, s))
        out = []
        days_wanted = {w for w, _ in wanted}
        slots_wanted = {s for _, s in wanted}
        for week in sorted(by_week):
            mine = by_week[week]
            keep = [(day, s) for day, s in mine if (grid.weekday(day), s) in wanted]
            if not keep:
                ranked = sorted(
                    mine,
                    key=lambda p: (
                        grid.weekday(p[0]) not in days_wanted,
                        p[1] not in slots_wanted,
                        min((abs(p[1] - s) for s in slots_wanted), default=0),
                        p,
                    ),
                )
                keep = ranked[:FALLBACKS_PER_WEEK]
            out.extend(keep)
        return out

    def _venues_taken(self) -> dict[tuple[str, int], int]:
        """(venue, day) -> slots booked by fixed events or closed."""
        taken: dict[tuple[str, int], int] = defaultdict(int)
        for e in self.ctx.around(self.free, self.fixed):
            p = self.fixed[e.event_id]
            if p.venue:
                taken[p.venue, p.day] |= ((1 << e.length) - 1) << p.slot
        return taken

    def _list_placements(
        self, d: Demand, slots: list[tuple[int, int]], taken: Mapping[tuple[str, int], int]
    ) -> None:
        eid = d.event_id
        self.places[eid], self.rooms[eid] = [], []
        for day, slot in slots:
            span = ((1 << d.length) - 1) << slot
            rooms = [
                v
                for v in d.venues
                if not (taken.get((v, day), 0) | self.ctx.blocked.get(v, {}).get(day, 0)) & span
            ]
            if rooms:
                self.places[eid].append((day, slot))
                self.rooms[eid].append(rooms)

    def _pool_venues(self, taken: Mapping[tuple[str, int], int]) -> None:
        """Venues that are alike for every free session (same council, same bookings and
        closures on the days in question, the same sessions fit) form one pool: the model
        only chooses a pool, and ``extract`` gives each session a venue of its pool. Exact:
        a pool of k venues takes k sessions at a time, and k a week without an overload."""
        days = sorted({day for places in self.places.values() for day, _ in places})
        users: dict[str, set[str]] = defaultdict(set)
        for d in self.free:
            for v in d.venues:
                users[v].add(d.event_id)
        council = {v.venue_id: v.council or "" for v in self.ctx.scenario.venues}
        groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
        for v in sorted(users):
            closed = tuple(
                (day, mask)
                for day in days
                if (mask := taken.get((v, day), 0) | self.ctx.blocked.get(v, {}).get(day, 0))
            )
            groups[council.get(v, ""), closed, frozenset(users[v])].append(v)
        for members in groups.values():
            for v in members:
                self.pool_of[v] = tuple(members)

    def _add_session(self, d: Demand) -> None:
        eid = d.event_id
        self.x[eid], self.y[eid] = [], []
        for (day, slot), rooms in zip(self.places[eid], self.rooms[eid], strict=True):
            x = self.model.new_bool_var(f"at[{eid},{day},{slot}]")
            pools = sorted({self.pool_of[v] for v in rooms})
            y = {
                pool: self.model.new_bool_var(f"in[{eid},{day},{slot},{pool[0]}]") for pool in pools
            }
            self.model.add(sum(y.values()) == x)
            self.x[eid].append(x)
            self.y[eid].append(y)
        self.model.add_exactly_one(self.x[eid])

    # -- hard rules

    def add_no_double_booking(self) -> None:
        """Nobody in two free sessions at once: at most one placement covering each start."""
        per: dict[tuple[str, int], list[Booking]] = defaultdict(list)
        for d in self.free:
            for (day, slot), x in zip(self.places[d.event_id], self.x[d.event_id], strict=True):
                for who in d.attendees:
                    per[who, day].append((slot, slot + d.length, x))
        self._at_most_one_at_a_time(per)

    def add_venue_bookings(self) -> None:
        """A pool of k venues hosts at most k free sessions at a time."""
        per: dict[tuple[Pool, int], list[Booking]] = defaultdict(list)
        for d in self.free:
            for (day, slot), y in zip(self.places[d.event_id], self.y[d.event_id], strict=True):
                for pool, lit in y.items():
                    per[pool, day].append((slot, slot + d.length, lit))
        singles = {k: v for k, v in per.items() if len(k[0]) == 1}
        self._at_most_one_at_a_time(singles)
        for (pool, _), items in sorted(per.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if len(pool) == 1 or len(items) <= len(pool):
                continue
            for t in sorted({start for start, _, _ in items}):
                covering = [lit for start, end, lit in items if start <= t < end]
                if len(covering) > len(pool):
                    self.model.add(sum(covering) <= len(pool))

    def _at_most_one_at_a_time(self, per: Mapping[Booker, list[Booking]]) -> None:
        seen: set[tuple[int, ...]] = set()
        for _key, items in sorted(per.items(), key=lambda kv: kv[0]):
            if len(items) < 2:
                continue
            for t in sorted({start for start, _, _ in items}):
                covering = [lit for start, end, lit in items if start <= t < end]
                if len(covering) < 2:
                    continue
                ids = tuple(sorted(lit.index for lit in covering))
                if ids in seen:
                    continue  # a cohort's participants share every such constraint
                seen.add(ids)
                self.model.add_at_most_one(covering)

    def add_order_rules(self) -> None:
        """The group gap and `after` between free sessions, placement by placement."""
        ctx, grid = self.ctx, self.grid
        for a in self.free:
            for b in ctx.gap_partners.get(a.event_id, ()):
                if b.event_id in self.free_ids and (b.month, b.index) > (a.month, a.index):

                    def gap_clash(pa: Spot, pb: Spot, a: Demand = a, b: Demand = b) -> bool:
                        return gap_broken(ctx.gap, a.month, pa[0], b.month, pb[0])

                    self._exclude(a, b, gap_clash)
            for b in ctx.before.get(a.event_id, ()):
                if b.event_id in self.free_ids:

                    def after_clash(pb: Spot, pa: Spot, b: Demand = b) -> bool:
                        return after_broken(grid.absolute(*pa), grid.absolute(*pb), b.length)

                    self._exclude(b, a, after_clash)

    def _exclude(self, a: Demand, b: Demand, clash: Callable[[Spot, Spot], bool]) -> None:
        for pa, xa in zip(self.places[a.event_id], self.x[a.event_id], strict=True):
            bad = [
                xb
                for pb, xb in zip(self.places[b.event_id], self.x[b.event_id], strict=True)
                if clash(pa, pb)
            ]
            if bad:
                self.model.add(sum(bad) <= 1 - xa)

    # -- soft goals

    def add_rhythm(self) -> None:
        """Each group session against its cohort's rhythm; a rhythm-setting session placed
        here pays what its pair costs the months ahead (``guides.rhythm_costs``)."""
        w = self.ctx.weights
        grid = self.grid
        for d in self.free:
            if d.kind != "group":
                continue
            costs = self.ref_costs.get(d.event_id)
            if costs and self.ctx.reference.get(d.cohort_id) == d.event_id:
                for (day, s), x in zip(self.places[d.event_id], self.x[d.event_id], strict=True):
                    if costs.get((grid.weekday(day), s)):
                        self.costs.append((x, costs[grid.weekday(day), s]))
            ref = self.ctx.reference.get(d.cohort_id)
            if (
                ref is None
                or ref == d.event_id
                or ref not in self.free_ids
                and ref not in self.fixed
            ):
                continue
            places, xs = self.places[d.event_id], self.x[d.event_id]
            if ref not in self.free_ids:
                weekday, slot = next(iter(self.rhythm[d.cohort_id]))
                for (day, s), x in zip(places, xs, strict=True):
                    cost = w["rhythm_weekday"] * (grid.weekday(day) != weekday)
                    cost += w["rhythm_time"] * (s != slot)
                    if cost:
                        self.costs.append((x, cost))
                continue
            ref_places, ref_xs = self.places[ref], self.x[ref]
            for part, weight in (
                (lambda p: grid.weekday(p[0]), "rhythm_weekday"),
                (lambda p: p[1], "rhythm_time"),
            ):
                off = self.model.new_bool_var(f"off_{weight}[{d.event_id}]")
                for value in {part(p) for p in ref_places}:
                    ref_on = sum(
                        x for p, x in zip(ref_places, ref_xs, strict=True) if part(p) == value
                    )
                    mine_on = sum(x for p, x in zip(places, xs, strict=True) if part(p) == value)
                    self.model.add(off >= ref_on - mine_on)
                self.costs.append((off, w[weight]))

    def add_guides(self, guides: Mapping[str, Mapping[Week, int]]) -> None:
        for d in self.free:
            costs = guides.get(d.event_id)
            if costs:
                for (day, _), x in zip(self.places[d.event_id], self.x[d.event_id], strict=True):
                    if costs.get(self.grid.week(day)):
                        self.costs.append((x, costs[self.grid.week(day)]))

    def add_venue_weeks(self) -> None:
        """A venue's bookings in a week beyond one, per programme month: a pool's sessions
        beyond its venues without a fixed booking that week."""
        grid = self.grid
        here: dict[tuple[Pool, int, Week], list[cp_model.IntVar]] = defaultdict(list)
        for d in self.free:
            for (day, _), y in zip(self.places[d.event_id], self.y[d.event_id], strict=True):
                for pool, lit in y.items():
                    here[pool, d.month, grid.week(day)].append(lit)
        for (pool, month, week), lits in sorted(
            here.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
        ):
            room = sum(1 for v in pool if not self.fixed_weeks[v, month, week])
            if len(lits) <= room:
                continue
            over = self.model.new_int_var(0, len(lits), f"venue_overload[{pool[0]},{month},{week}]")
            self.model.add(over >= sum(lits) - room)
            self.costs.append((over, self.ctx.weights["venue_week_overload"]))

    def add_coach_room_after_workshops(self) -> None:
        """Coaching that must follow a workshop (``after``) can only use the weeks after it
        (or its own week, at a cost), and a coach's sessions share each week evenly. So for a
        coach and any week, the sessions whose workshop is in that week or later, less the
        even share of the weeks after it, are each an overload or a coaching in a workshop
        week to come: at least that many times the cheaper of the two penalties (Hall's
        condition on suffixes of the month). A session with no candidate day after its
        workshop's week is held in that week, and pays for it (``bounds.coach_chains``).
        ``bounds.month_relaxation`` uses the same counts."""
        grid, ctx = self.grid, self.ctx
        w = min(ctx.weights["coach_week_overload"], ctx.weights["coaching_in_workshop_week"])
        for (coach, month), chains in sorted(self._chained().items()):
            most = sum(chains.follow.values())
            short = None
            for at, room in sorted(chains.room.items()):
                if most <= room:
                    continue
                demand: list[cp_model.LinearExprT] = []
                for g in sorted(chains.follow):
                    if g not in self.free_ids:  # placed already: a constant
                        if g in self.fixed:
                            demand.append(chains.demand(g, grid.week(self.fixed[g].day), at))
                        continue
                    demand += [
                        n * x
                        for (day, _), x in zip(self.places[g], self.x[g], strict=True)
                        if (n := chains.demand(g, grid.week(day), at))
                    ]
                if not demand:
                    continue
                if short is None:
                    short = self.model.new_int_var(0, most, f"coach_room[{coach},{month}]")
                    self.costs.append((short, w))
                self.model.add(short >= sum(demand) - room)
            for g in sorted(set(chains.forced) & self.free_ids):
                for (day, _), x in zip(self.places[g], self.x[g], strict=True):
                    if n := chains.forced_in(g, grid.week(day)):
                        self.costs.append((x, n * ctx.weights["coaching_in_workshop_week"]))

    def _chained(self) -> dict[tuple[str, int], Chains]:
        """(coach, month) -> the coach's sessions that month that must follow a whole-cohort
        session (``bounds.coach_chains``); only coaches with such a session free here."""
        out = {}
        for month in sorted({d.month for d in self.free}):
            for coach, chains in coach_chains(self.ctx, month).items():
                if any(g in self.free_ids for g in chains.follow):
                    out[coach, month] = chains
        return out

    # -- a warm start on the same placements

    def construct(
        self, guides: Mapping[str, Mapping[Week, int]], keep: Mapping[str, Placement] | None = None
    ) -> tuple[Plan, int]:
        """Place the sessions one by one (month order, fewest placements first), each at its
        cheapest lawful placement: rhythm, guide and venue-week cost. Sessions in ``keep``
        go first, each at its placement there where that is still lawful. Returns the
        placements found and their cost on this model's objective (meaningful when all are
        placed)."""
        keep = keep or {}
        grid, w = self.grid, self.ctx.weights
        busy: dict[tuple[str, int], int] = defaultdict(int)
        load = self._fixed_venue_weeks()
        room = _CoachRoom(self.ctx, self._chained())
        for g in list(room.of):
            if g not in self.free_ids and g in self.fixed:
                room.place(g, grid.week(self.fixed[g].day))
        placed: Plan = {}
        total = 0
        order = sorted(
            self.free,
            key=lambda d: (d.event_id not in keep, d.month, len(self.places[d.event_id]), d.index),
        )
        for d in order:
            best = None
            kept = keep.get(d.event_id)
            for i, (day, slot) in enumerate(self.places[d.event_id]):
                span = ((1 << d.length) - 1) << slot
                if any(busy[who, day] & span for who in d.attendees):
                    continue
                if not self._order_ok(d, day, slot, placed):
                    continue
                rooms = [v for v in self.rooms[d.event_id][i] if not busy[v, day] & span]
                if not rooms:
                    continue
                week = grid.week(day)
                venue = min(rooms, key=lambda v: (load[v, d.month, week], v))
                held = kept is not None and (day, slot) == (kept.day, kept.slot)
                if held and kept is not None and kept.venue in rooms:
                    venue = kept.venue
                cost = self._rhythm_cost(d, day, slot, placed)
                cost += guides.get(d.event_id, {}).get(week, 0)
                cost += w["venue_week_overload"] * (load[venue, d.month, week] > 0)
                cost += room.extra(d.event_id, week)
                if best is None or (not held, cost) < best[:2]:
                    best = (not held, cost, day, slot, venue)
            if best is None:
                continue
            _, cost, day, slot, venue = best
            total += cost
            placed[d.event_id] = Placement(day, slot, venue)
            span = ((1 << d.length) - 1) << slot
            for who in (*d.attendees, venue):
                busy[who, day] |= span
            load[venue, d.month, grid.week(day)] += 1
            room.place(d.event_id, grid.week(day))
        return placed, total

    def _fixed_venue_weeks(self) -> dict[tuple[str, int, Week], int]:
        load: dict[tuple[str, int, Week], int] = defaultdict(int)
        for e in self.ctx.around(self.free, self.fixed):
            p = self.fixed[e.event_id]
            if p.venue:
                load[p.venue, e.month, self.grid.week(p.day)] += 1
        return load

    def _order_ok(self, d: Demand, day: int, slot: int, placed: Plan) -> bool:
        ctx, grid = self.ctx, self.grid
        for b in ctx.gap_partners.get(d.event_id, ()):
            p = placed.get(b.event_id)
            if p is not None and gap_broken(ctx.gap, d.month, day, b.month, p.day):
                return False
        at = grid.absolute(day, slot)
        for b in ctx.before.get(d.event_id, ()):
            p = placed.get(b.event_id)
            if p is not None and after_broken(at, grid.absolute(p.day, p.slot), b.length):
                return False
        for f in ctx.later.get(d.event_id, ()):
            p = placed.get(f.event_id)
            if p is not None and after_broken(grid.absolute(p.day, p.slot), at, d.length):
                return False
        return True

    def _rhythm_cost(self, d: Demand, day: int, slot: int, placed: Plan) -> int:
        if d.kind != "group":
            return 0
        w, grid = self.ctx.weights, self.grid
        ref = self.ctx.reference.get(d.cohort_id)
        if ref == d.event_id:
            return self.ref_costs.get(ref, {}).get((grid.weekday(day), slot), 0)
        if ref is None:
            return 0
        r = placed.get(ref) or (self.fixed.get(ref) if ref not in self.free_ids else None)
        if r is None:
            return 0
        return w["rhythm_weekday"] * (grid.weekday(day) != grid.weekday(r.day)) + w[
            "rhythm_time"
        ] * (slot != r.slot)

    # -- objective, hints, results

    def objective(self) -> cp_model.LinearExprT:
        return sum(cost * expr for expr, cost in self.costs)

    def decisions(self, plan: Mapping[str, Placement]) -> list[tuple[cp_model.IntVar, int]]:
        """The placement and pool literals that spell ``plan`` (for ``complete_hint``)."""
        out = []
        for d in self.free:
            p = plan.get(d.event_id)
            if p is None:
                continue
            pool = self.pool_of.get(p.venue or "")
            for place, x, y in zip(
                self.places[d.event_id], self.x[d.event_id], self.y[d.event_id], strict=True
            ):
                on = place == (p.day, p.slot) and pool in y
                out.append((x, int(on)))
                out.extend((lit, int(on and key == pool)) for key, lit in y.items())
        return out

    def hint(self, plan: Mapping[str, Placement]) -> None:
        for var, value in self.decisions(plan):
            self.model.add_hint(var, value)

    def extract(self, value: Callable[[cp_model.IntVar], int]) -> Plan:
        """Each session at its chosen placement, in a venue of its chosen pool: per pool, one
        not booked that week if there is one, else one free at that time."""
        grid = self.grid
        chosen: list[tuple[Pool, Week, int, int, Demand]] = []
        out: Plan = {}
        for d in self.free:
            for (day, slot), x, y in zip(
                self.places[d.event_id], self.x[d.event_id], self.y[d.event_id], strict=True
            ):
                if value(x):
                    pool = next(key for key, lit in y.items() if value(lit))
                    chosen.append((pool, grid.week(day), day, slot, d))
                    out[d.event_id] = Placement(day, slot, None)
        used: dict[tuple[str, int, Week], int] = defaultdict(int, self.fixed_weeks)
        busy: dict[tuple[str, int], int] = defaultdict(int)
        for pool, week, day, slot, d in sorted(
            chosen, key=lambda c: (c[0], c[1], c[2], c[3], c[4].index)
        ):
            span = ((1 << d.length) - 1) << slot
            free = [v for v in pool if not busy[v, day] & span]
            venue = min(free, key=lambda v: (used[v, d.month, week] > 0, v))
            busy[venue, day] |= span
            used[venue, d.month, week] += 1
            out[d.event_id] = Placement(day, slot, venue)
        return out


class _CoachRoom:
    """The coach-room costs of ``add_coach_room_after_workshops``, kept as sessions are
    placed one by one (for the warm start)."""

    def __init__(self, ctx: Context, chained: Mapping[tuple[str, int], Chains]):
        self.weight = min(
            ctx.weights["coach_week_overload"], ctx.weights["coaching_in_workshop_week"]
        )
        self.forced_weight = ctx.weights["coaching_in_workshop_week"]
        self.chains = chained
        self.need: dict[tuple[str, int], dict[Week, int]] = defaultdict(lambda: defaultdict(int))
        self.of: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for key, chains in chained.items():
            for g in chains.follow:
                self.of[g].append(key)

    def _short(self, key: tuple[str, int], need: Mapping[Week, int]) -> int:
        return max([0, *(need[w] - r for w, r in self.chains[key].room.items())])

    def extra(self, g: str, week: Week) -> int:
        """The weighted cost placing ``g`` in ``week`` adds."""
        more = 0
        for key in self.of.get(g, ()):
            chains, need = self.chains[key], self.need[key]
            after = {w: need[w] + chains.demand(g, week, w) for w in chains.room}
            more += self.weight * (self._short(key, after) - self._short(key, need))
            more += self.forced_weight * chains.forced_in(g, week)
        return more

    def place(self, g: str, week: Week) -> None:
        for key in self.of.get(g, ()):
            chains = self.chains[key]
            for w in chains.room:
                self.need[key][w] += chains.demand(g, week, w)
