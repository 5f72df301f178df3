"""Independent checker for sign-up schemes: every hard rule, every capacity, and stability by
enumerating every (mentee, mentor) pair. Plain Python over the domain records only; it
re-reads the rules from the scheme rather than trusting the solver's pair book."""

from __future__ import annotations

from collections import Counter

from cohort_solver.domain.markets import (
    MarketResult,
    Reading,
    SignUp,
    SignUpMarket,
    SwapMarket,
    SwapResult,
    rank_points,
)


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
