"""Who may be paired with whom in a sign-up scheme, and how much each pair fits.

The hard rules: never oneself; a mentee on one side and a mentor with places on the other;
not in the same team; neither in the other's line-management chain; no declared conflict;
the mentor has every expertise the mentee needs. A lawful pair is acceptable when one of the
two ranked the other (or the scheme is open).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from cohort_solver.domain.markets import SignUp, SignUpMarket, rank_points

Arc = tuple[str, str]  # (mentee, mentor)


@dataclass(frozen=True)
class Book:
    """The acceptable pairs of one scheme, with their fit and both sides' ranks."""

    mentees: tuple[str, ...]
    mentors: tuple[str, ...]
    capacity: dict[str, int]
    fit: dict[tuple[str, str], int]  # (mentee, mentor) -> fit, acceptable pairs only
    rank: dict[tuple[str, str], int]  # (person, partner) -> rank given
    needs: dict[str, tuple[str, ...]]

    def options(self) -> dict[str, list[str]]:
        """Each mentee's acceptable mentors, best first (ranked by rank, then unranked by id)."""
        found: dict[str, list[str]] = {m: [] for m in self.mentees}
        for mentee, mentor in self.fit:
            found[mentee].append(mentor)
        return {a: sorted(bs, key=partial(self.order, a)) for a, bs in found.items()}

    def suitors(self) -> dict[str, list[str]]:
        """Each mentor's acceptable mentees, best first."""
        found: dict[str, list[str]] = {m: [] for m in self.mentors}
        for mentee, mentor in self.fit:
            found[mentor].append(mentee)
        return {b: sorted(as_, key=partial(self.order, b)) for b, as_ in found.items()}

    def order(self, person: str, partner: str) -> tuple[int, int, str]:
        """How ``person`` orders ``partner``: ranked partners first by rank, then by id."""
        given = self.rank.get((person, partner))
        return (0, given, partner) if given is not None else (1, 0, partner)


def _chain(people: dict[str, SignUp], start: str) -> set[str]:
    """Everyone above ``start`` in the line-management chain the sign-ups describe."""
    above: set[str] = set()
    manager = people[start].line_manager_id
    while manager and manager not in above:
        above.add(manager)
        manager = people[manager].line_manager_id if manager in people else ""
    return above


def _rules(market: SignUpMarket) -> tuple[dict[str, SignUp], dict[str, set[str]], set[Arc]]:
    people = {p.person_id: p for p in market.people}
    chains = {p: _chain(people, p) for p in people}
    excluded = {(e.person_id, e.partner_id) for e in market.exclusions}
    return people, chains, excluded | {(b, a) for a, b in excluded}


def lawful(market: SignUpMarket, among: set[Arc] | None = None) -> set[Arc]:
    """The (mentee, mentor) pairs the hard rules allow, of ``among`` (default: every pair)."""
    people, chains, excluded = _rules(market)
    if among is None:
        among = {
            (a.person_id, b.person_id)
            for a in market.people
            if a.mentee
            for b in market.people
            if b.mentor
        }
    allowed = set()
    for a, b in among:
        mentee, mentor = people.get(a), people.get(b)
        if mentee is None or mentor is None:
            continue
        if broken_rule(mentee, mentor, chains, excluded) is None:
            allowed.add((a, b))
    return allowed


def broken_rule(
    a: SignUp, b: SignUp, chains: dict[str, set[str]], excluded: set[Arc]
) -> str | None:
    """The hard rule that keeps mentee ``a`` from mentor ``b``, in words, or None."""
    if a.person_id == b.person_id:
        return "nobody is paired with themself"
    if not a.mentee or not b.mentor:
        return f"{a.person_id} did not sign up as a mentee or {b.person_id} as a mentor"
    if b.capacity == 0:
        return f"{b.person_id} offers no places"
    missing = [n for n in a.needs if n not in b.expertise]
    if missing:
        return f"{b.person_id} lacks the {', '.join(missing)} expertise {a.person_id} needs"
    if (a.person_id, b.person_id) in excluded:
        return "they declared a conflict"
    if a.team and a.team == b.team:
        return f"they are in the same team ({a.team})"
    if b.person_id in chains[a.person_id] or a.person_id in chains[b.person_id]:
        return "one is in the other's line-management chain"
    return None


def why_not(market: SignUpMarket, mentee: str, mentor: str) -> str | None:
    """Why the pair is not acceptable at all, in words, or None when it is."""
    people, chains, excluded = _rules(market)
    if mentee not in people or mentor not in people:
        return "one of them has not signed up to this scheme"
    rule = broken_rule(people[mentee], people[mentor], chains, excluded)
    if rule:
        return rule
    ranked = {(r.person_id, r.partner_id) for r in market.rankings}
    if not market.open and (mentee, mentor) not in ranked and (mentor, mentee) not in ranked:
        return "neither ranked the other, and the scheme pairs only ranked pairs"
    return None


def book(market: SignUpMarket) -> Book:
    """The acceptable pairs of a scheme with their fit (see ``rank_points``)."""
    rank = {(r.person_id, r.partner_id): r.rank for r in market.rankings}
    # A closed scheme only looks at ranked pairs, either way round: 25,000, not 10 million.
    ranked = None if market.open else set(rank) | {(b, a) for a, b in rank}
    allowed = lawful(market, ranked)
    fit = {
        (a, b): rank_points(rank.get((a, b)), market.ranks)
        + rank_points(rank.get((b, a)), market.ranks)
        for a, b in sorted(allowed)
    }
    return Book(
        mentees=tuple(p.person_id for p in market.people if p.mentee),
        mentors=tuple(p.person_id for p in market.people if p.mentor),
        capacity={p.person_id: p.capacity for p in market.people if p.mentor},
        fit=fit,
        rank=rank,
        needs={p.person_id: p.needs for p in market.people},
    )
