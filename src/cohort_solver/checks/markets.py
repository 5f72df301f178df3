"""Independent checker for sign-up schemes: every hard rule, every capacity, and stability by
enumerating every (mentee, mentor) pair. Plain Python over the domain records only; it
re-reads the rules from the scheme rather than trusting the solver's pair book."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cohort_solver.domain.markets import (
    MarketResult,
    PlacementMarket,
    PlacementResult,
    Reading,
    SignUp,
    SignUpMarket,
    SwapMarket,
    SwapResult,
    rank_points,
)
from cohort_solver.domain.results import Event


class _Rules:
    """The scheme's rules, read afresh from its tables."""

    def __init__(self, market: SignUpMarket) -> None:
        self.market = market
        self.people = {p.person_id: p for p in market.people}
        self.rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
        self.ranks = market.ranks
        self.conflicts = {frozenset((e.person_id, e.partner_id)) for e in market.exclusions}

    def managers(self, person: str) -> list[str]:
        chain: list[str] = []
        current = self.people[person].line_manager_id
        while current and current not in chain:
            chain.append(current)
            current = self.people[current].line_manager_id if current in self.people else ""
        return chain

    def broken(self, mentee: SignUp, mentor: SignUp) -> str | None:
        """The first hard rule the pair breaks, in words, or None."""
        a, b = mentee.person_id, mentor.person_id
        if a == b:
            return "paired with themself"
        if not mentee.mentee or not mentor.mentor:
            return "not signed up on that side"
        if mentor.capacity == 0:
            return "the mentor offers no places"
        if mentee.team and mentee.team == mentor.team:
            return "same team"
        if b in self.managers(a) or a in self.managers(b):
            return "line-management link"
        if frozenset((a, b)) in self.conflicts:
            return "declared conflict"
        missing = [n for n in mentee.needs if n not in mentor.expertise]
        if missing:
            return "mentor lacks " + ", ".join(missing)
        if not self.market.open and (a, b) not in self.rank and (b, a) not in self.rank:
            return "neither ranked the other in a closed scheme"
        return None

    def acceptable(self, a: str, b: str) -> bool:
        return self.broken(self.people[a], self.people[b]) is None

    def fit(self, a: str, b: str) -> int:
        return rank_points(self.rank.get((a, b)), self.ranks) + rank_points(
            self.rank.get((b, a)), self.ranks
        )

    def prefers(self, person: str, x: str, y: str | None) -> bool:
        """Whether ``person`` strictly prefers ``x`` to ``y`` (None: to being alone)."""
        if y is None:
            return True

        def key(partner: str) -> tuple[int, int, str]:
            given = self.rank.get((person, partner))
            return (0, given, partner) if given is not None else (1, 0, partner)

        return key(x) < key(y)


def _mentees(market: SignUpMarket) -> list[str]:
    return [p.person_id for p in market.people if p.mentee]


def _mentors(market: SignUpMarket) -> list[str]:
    return [p.person_id for p in market.people if p.mentor]


def check_reading(market: SignUpMarket, reading: Reading) -> list[str]:
    """Every problem with one reading: hard rules, capacities, fits, the unmatched list."""
    rules = _Rules(market)
    problems = []
    load = Counter(p.mentor for p in reading.pairs)
    seen = Counter(p.mentee for p in reading.pairs)
    for pair in reading.pairs:
        if pair.mentee not in rules.people or pair.mentor not in rules.people:
            problems.append(f"{reading.name}: {pair.mentee}-{pair.mentor} names someone unknown")
            continue
        why = rules.broken(rules.people[pair.mentee], rules.people[pair.mentor])
        if why:
            problems.append(f"{reading.name}: {pair.mentee}-{pair.mentor} breaks a rule: {why}")
        if pair.fit != rules.fit(pair.mentee, pair.mentor):
            problems.append(f"{reading.name}: {pair.mentee}-{pair.mentor} has the wrong fit")
        ranks = (
            rules.rank.get((pair.mentee, pair.mentor)),
            rules.rank.get((pair.mentor, pair.mentee)),
        )
        if (pair.mentee_rank, pair.mentor_rank) != ranks:
            problems.append(f"{reading.name}: {pair.mentee}-{pair.mentor} has the wrong ranks")
    problems += [f"{reading.name}: {a} has {n} mentors" for a, n in seen.items() if n > 1]
    problems += [
        f"{reading.name}: {b} has {n} mentees for {rules.people[b].capacity} places"
        for b, n in load.items()
        if b in rules.people and n > rules.people[b].capacity
    ]
    expected = {("mentee", a) for a in _mentees(market) if a not in seen}
    expected |= {
        ("mentor", b) for b in _mentors(market) if b not in load and rules.people[b].capacity > 0
    }
    listed = [(u.side, u.person_id) for u in reading.unmatched]
    if sorted(listed) != sorted(expected) or any(not u.reason for u in reading.unmatched):
        problems.append(f"{reading.name}: the unmatched list is not exactly the unmatched")
    fits = [p.fit for p in reading.pairs]
    if reading.total_fit != sum(fits) or reading.worst_fit != min(fits, default=None):
        problems.append(f"{reading.name}: the total or worst fit does not add up")
    return problems


def blocking_pairs(market: SignUpMarket, reading: Reading) -> list[tuple[str, str]]:
    """Every (mentee, mentor) pair, enumerated, who would both rather be together."""
    rules = _Rules(market)
    partner = {p.mentee: p.mentor for p in reading.pairs}
    held: dict[str, list[str]] = {b: [] for b in _mentors(market)}
    for p in reading.pairs:
        held[p.mentor].append(p.mentee)
    found = []
    for a in _mentees(market):
        for b in _mentors(market):
            if partner.get(a) == b or not rules.acceptable(a, b):
                continue
            if not rules.prefers(a, b, partner.get(a)):
                continue
            spare = len(held[b]) < rules.people[b].capacity
            if spare or any(rules.prefers(b, a, other) for other in held[b]):
                found.append((a, b))
    return sorted(found)


def check_market(market: SignUpMarket, result: MarketResult) -> list[str]:
    """Every problem with a scheme's three readings and its stability report."""
    problems = [p for r in result.readings for p in check_reading(market, r)]
    best, fair, stable = (result.reading(n) for n in ("max_fit", "egalitarian", "stable"))
    if len(fair.pairs) != len(best.pairs):
        problems.append("egalitarian: not as many pairs as max_fit")
    if len(stable.pairs) > len(best.pairs) or best.total_fit < fair.total_fit:
        problems.append("max_fit: beaten by another reading")
    for a, b in blocking_pairs(market, stable):
        problems.append(f"stable: {a} and {b} block it")
    if sorted(result.blocking_pairs) != blocking_pairs(market, best):
        problems.append("the blocking pairs of max_fit are not exactly those enumerated")
    if result.stability_cost != best.total_fit - stable.total_fit:
        problems.append("the cost of stability does not add up")
    return problems


# ---- job swaps --------------------------------------------------------------------------


def swap_move_problem(market: SwapMarket, taker: str, giver: str) -> str | None:
    """Why ``taker`` may not take ``giver``'s role, in words, or None."""
    people = {p.person_id: p for p in market.people}
    if taker not in people or giver not in people:
        return "someone unknown"
    if taker == giver:
        return "takes their own role"
    a, b = people[taker], people[giver]
    ranked = {(r.person_id, r.partner_id) for r in market.rankings}
    if (taker, giver) not in ranked:
        return f"{taker} did not rank {giver}'s role"
    if a.grade_band != b.grade_band:
        return "different grade bands"
    if a.team and a.team == b.team:
        return "same team"
    if market.same_department and a.department != b.department:
        return "different departments"

    def managers(person: str) -> list[str]:
        chain: list[str] = []
        current = people[person].line_manager_id
        while current and current not in chain:
            chain.append(current)
            current = people[current].line_manager_id if current in people else ""
        return chain

    if giver in managers(taker) or taker in managers(giver):
        return "line-management link"
    conflicts = {frozenset((e.person_id, e.partner_id)) for e in market.exclusions}
    if frozenset((taker, giver)) in conflicts:
        return "declared conflict"
    return None


def check_swaps(market: SwapMarket, result: SwapResult) -> list[str]:
    """Every problem with a swap plan: reciprocity, cycle lengths, one swap each, the rules,
    the fits and the unpaired list."""
    problems = []
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
    seen: Counter[str] = Counter()
    for swap in result.swaps:
        size = len(swap.members)
        if not 2 <= size <= market.cycle_length:
            problems.append(
                f"{swap.members}: {size} people, the scheme allows 2-{market.cycle_length}"
            )
        seen.update(swap.members)
        for i, taker in enumerate(swap.members):
            giver = swap.members[(i + 1) % size]
            why = swap_move_problem(market, taker, giver)
            if why:
                problems.append(f"{taker} takes {giver}'s role: {why}")
        expected = tuple(
            rank.get((t, swap.members[(i + 1) % size])) for i, t in enumerate(swap.members)
        )
        if swap.ranks != expected:
            problems.append(f"{swap.members}: wrong ranks")
        if swap.fit != sum(rank_points(r, market.ranks) for r in expected):
            problems.append(f"{swap.members}: wrong fit")
    problems += [f"{p} is in {n} swaps" for p, n in seen.items() if n > 1]
    everyone = {p.person_id for p in market.people}
    if sorted(u.person_id for u in result.unpaired) != sorted(everyone - set(seen)):
        problems.append("the unpaired list is not exactly those who keep their role")
    if result.swapped != sum(seen.values()) or result.total_fit != sum(s.fit for s in result.swaps):
        problems.append("the number swapped or the total fit does not add up")
    return problems


# ---- placements -------------------------------------------------------------------------


class _PlacementRules:
    """A placement scheme's requirements, read afresh from its tables (once, not per pair)."""

    def __init__(self, market: PlacementMarket) -> None:
        self.people = {p.person_id: p for p in market.people}
        self.offered = {p.placement_id: p for p in market.placements}
        self.ranked = {(r.person_id, r.partner_id) for r in market.rankings}

    def problem(self, person: str, place: str) -> str | None:
        if person not in self.people or place not in self.offered:
            return "someone or something unknown"
        a, b = self.people[person], self.offered[place]
        problem = None
        if (person, place) not in self.ranked:
            problem = "the participant did not rank it"
        elif b.capacity == 0:
            problem = "no places"
        elif b.grade_bands and a.grade_band not in b.grade_bands:
            problem = "grade band"
        elif not set(b.skills) <= set(a.skills):
            problem = "skills"
        elif b.location and a.locations and b.location not in a.locations:
            problem = "location"
        elif (b.start and a.available_from and b.start < a.available_from) or (
            b.end and a.available_to and b.end > a.available_to
        ):
            problem = "dates"
        return problem


def placement_problem(market: PlacementMarket, person: str, place: str) -> str | None:
    """Why ``person`` may not take ``place``, in words, or None."""
    return _PlacementRules(market).problem(person, place)


def _placement_rank(market: PlacementMarket) -> dict[tuple[str, str], int]:
    return {(r.person_id, r.partner_id): r.rank for r in market.rankings}


def placement_blocking_pairs(market: PlacementMarket, reading: Reading) -> list[tuple[str, str]]:
    """Every (participant, placement) pair, enumerated, who would both rather be together:
    the participant ranks it above what they hold (or holds nothing), and it has a spare
    place or holds someone its host ranks below them (host-ranked first, then by id)."""
    rank = _placement_rank(market)

    def key(who: str, other: str) -> tuple[int, int, str]:
        given = rank.get((who, other))
        return (0, given, other) if given is not None else (1, 0, other)

    rules = _PlacementRules(market)
    holds = {p.mentee: p.mentor for p in reading.pairs}
    held: dict[str, list[str]] = {b.placement_id: [] for b in market.placements}
    for p in reading.pairs:
        held[p.mentor].append(p.mentee)
    found = []
    for a in market.people:
        for b in market.placements:
            person, place = a.person_id, b.placement_id
            if holds.get(person) == place or rules.problem(person, place):
                continue
            current = holds.get(person)
            if current is not None and key(person, current) < key(person, place):
                continue
            spare = len(held[place]) < b.capacity
            if spare or any(key(place, person) < key(place, other) for other in held[place]):
                found.append((person, place))
    return sorted(found)


def check_placements(market: PlacementMarket, result: PlacementResult) -> list[str]:
    """Every problem with a placement allocation: requirements, capacities, one placement
    each, fits and ranks, the unplaced and empty lists, and stability by enumeration."""
    rank = _placement_rank(market)
    capacity = {b.placement_id: b.capacity for b in market.placements}
    rules = _PlacementRules(market)
    problems = []
    for reading in result.readings:
        load = Counter(p.mentor for p in reading.pairs)
        seen = Counter(p.mentee for p in reading.pairs)
        for pair in reading.pairs:
            why = rules.problem(pair.mentee, pair.mentor)
            if why:
                problems.append(f"{reading.name}: {pair.mentee} in {pair.mentor}: {why}")
            ranks = (rank.get((pair.mentee, pair.mentor)), rank.get((pair.mentor, pair.mentee)))
            if (pair.mentee_rank, pair.mentor_rank) != ranks:
                problems.append(f"{reading.name}: {pair.mentee} in {pair.mentor}: wrong ranks")
            if pair.fit != sum(rank_points(r, market.ranks) for r in ranks):
                problems.append(f"{reading.name}: {pair.mentee} in {pair.mentor}: wrong fit")
        problems += [f"{reading.name}: {a} holds {n} placements" for a, n in seen.items() if n > 1]
        problems += [
            f"{reading.name}: {b} takes {n} for {capacity.get(b, 0)} places"
            for b, n in load.items()
            if n > capacity.get(b, 0)
        ]
        expected = {("mentee", p.person_id) for p in market.people if p.person_id not in seen}
        expected |= {("mentor", b) for b, c in capacity.items() if c > 0 and b not in load}
        listed = sorted((u.side, u.person_id) for u in reading.unmatched)
        if listed != sorted(expected) or any(not u.reason for u in reading.unmatched):
            problems.append(f"{reading.name}: the unplaced and empty lists are not exact")
        if reading.total_fit != sum(p.fit for p in reading.pairs):
            problems.append(f"{reading.name}: the total fit does not add up")
    best, stable = result.reading("max_fit"), result.reading("stable")
    if len(stable.pairs) > len(best.pairs):
        problems.append("max_fit: places fewer than the stable reading")
    problems += [
        f"stable: {a} and {b} block it" for a, b in placement_blocking_pairs(market, stable)
    ]
    if sorted(result.blocking_pairs) != placement_blocking_pairs(market, best):
        problems.append("the blocking pairs of max_fit are not exactly those enumerated")
    if result.stability_cost != best.total_fit - stable.total_fit:
        problems.append("the cost of stability does not add up")
    return problems


def check_sessions_outside_placements(
    market: PlacementMarket, reading: Reading, events: Sequence[Event], timezone: str
) -> list[str]:
    """No session of a participant falls on a day of their full-time placement in
    ``reading`` (the adopted one), unless the placement is released for the programme or the
    scheme allows sessions during placements. Days are the programme's local dates; a
    session that runs past midnight covers each day it touches."""
    if market.sessions_during_placements == "allowed":
        return []
    places = {p.placement_id: p for p in market.placements}
    away: dict[str, list[tuple[date, date, str]]] = {}
    for pair in reading.pairs:
        place = places.get(pair.mentor)
        blocking = place and place.full_time and not place.released_for_programme
        if place and blocking and place.start and place.end:
            away.setdefault(pair.mentee, []).append((place.start, place.end, pair.mentor))
    zone = ZoneInfo(timezone)
    problems = []
    for event in events:
        first = event.start.astimezone(zone).date()
        last = (event.end.astimezone(zone) - timedelta(microseconds=1)).date()
        for person in event.attendee_ids:
            for start, end, place_id in away.get(person, []):
                if first <= end and start <= last:
                    problems.append(
                        f"{event.event_id}: {person} is on full-time placement {place_id} "
                        f"({start}..{end})"
                    )
    return problems
