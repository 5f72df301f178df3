"""`explain PERSON --market NAME [--partner ID]`: whom a person got in each reading, and why
not someone else, with the exact price of pairing them instead."""

from __future__ import annotations

from cohort_solver.domain.markets import MarketResult, PlacementMarket, Reading, SignUpMarket
from cohort_solver.stages.match.markets.book import Book, book, why_not
from cohort_solver.stages.match.markets.placements import placement_book, unmet_requirement
from cohort_solver.stages.match.markets.signup import max_fit


def explain_signup(
    market: SignUpMarket, result: MarketResult, person: str, partner: str | None = None
) -> list[str]:
    """Lines of words: the person's place in each reading, then the partner question."""
    lines = [f"{market.name}: {person}"]
    for reading in result.readings:
        lines += [f"  {reading.name}: {text}" for text in _place(reading, person)]
    if partner is None:
        return lines
    pairs = book(market)
    for mentee, mentor in _orientations(market, person, partner):
        lines.append(_why_not_paired(market, pairs, result, mentee, mentor))
    return lines


def _place(reading: Reading, person: str) -> list[str]:
    texts = [f"mentee of {p.mentor} (fit {p.fit})" for p in reading.pairs if p.mentee == person]
    taken = [p.mentee for p in reading.pairs if p.mentor == person]
    if taken:
        texts.append(f"mentor of {', '.join(taken)}")
    texts += [
        f"unmatched as a {u.side}: {u.reason}" for u in reading.unmatched if u.person_id == person
    ]
    return texts or ["not in this scheme"]


def _orientations(market: SignUpMarket, a: str, b: str) -> list[tuple[str, str]]:
    people = {p.person_id: p for p in market.people}
    found = []
    for mentee, mentor in ((a, b), (b, a)):
        both = mentee in people and mentor in people
        if both and people[mentee].mentee and people[mentor].mentor:
            found.append((mentee, mentor))
    return found or [(a, b)]


def _why_not_paired(
    market: SignUpMarket, pairs: Book, result: MarketResult, mentee: str, mentor: str
) -> str:
    head = f"{mentee} with {mentor} as mentor: "
    rule = why_not(market, mentee, mentor)
    if rule:
        return head + f"never, {rule}"
    together = [r.name for r in result.readings if any(p == (mentee, mentor) for p in _pair_ids(r))]
    best = result.reading("max_fit")
    forced_pairs, forced_fit = _forced(pairs, mentee, mentor)
    price = (
        f"the best matching that pairs them has {forced_pairs} pairs and fit {forced_fit}, "
        f"against {len(best.pairs)} pairs and fit {best.total_fit} for max_fit"
    )
    stable = "" if "stable" in together else "; " + _stable_words(pairs, result, mentee, mentor)
    shown = f"paired in {', '.join(together)}; " if together else ""
    return head + shown + price + stable


def _pair_ids(reading: Reading) -> list[tuple[str, str]]:
    return [(p.mentee, p.mentor) for p in reading.pairs]


def _forced(pairs: Book, mentee: str, mentor: str) -> tuple[int, int]:
    """The largest, best-fit matching that pairs ``mentee`` with ``mentor``: exact, by
    taking the pair out and solving the rest."""
    capacity = dict(pairs.capacity)
    capacity[mentor] -= 1
    rest = Book(
        mentees=tuple(a for a in pairs.mentees if a != mentee),
        mentors=pairs.mentors,
        capacity=capacity,
        fit={arc: f for arc, f in pairs.fit.items() if arc[0] != mentee},
        rank=pairs.rank,
        needs=pairs.needs,
    )
    assignment = max_fit(rest)
    return 1 + len(assignment), pairs.fit[mentee, mentor] + sum(
        pairs.fit[arc] for arc in assignment.items()
    )


def _stable_words(pairs: Book, result: MarketResult, mentee: str, mentor: str) -> str:
    stable = {p.mentee: p.mentor for p in result.reading("stable").pairs}
    current = stable.get(mentee)
    if current is not None and pairs.order(mentee, current) < pairs.order(mentee, mentor):
        return f"in the stable reading {mentee} has {current}, whom they rank higher"
    held = sorted(a for a, b in stable.items() if b == mentor)
    return f"in the stable reading {mentor} is full with {', '.join(held)}, whom they rank higher"


# ---- placements -------------------------------------------------------------------------


def explain_placement(
    market: PlacementMarket, result: MarketResult, person: str, partner: str | None = None
) -> list[str]:
    """A participant's placement (or a placement's participants) in each reading, then why
    not ``partner``: the requirement they miss, or the exact price and the stable reason."""
    lines = [f"{market.name}: {person}"]
    for reading in result.readings:
        lines += [f"  {reading.name}: {text}" for text in _placement_place(reading, person)]
    if partner is None:
        return lines
    people = {p.person_id for p in market.people}
    participant, place = (person, partner) if person in people else (partner, person)
    return [*lines, _why_not_placed(market, result, participant, place)]


def _placement_place(reading: Reading, who: str) -> list[str]:
    texts = [f"placed in {p.mentor} (fit {p.fit})" for p in reading.pairs if p.mentee == who]
    taken = [p.mentee for p in reading.pairs if p.mentor == who]
    if taken:
        texts.append(f"takes {', '.join(taken)}")
    texts += [
        f"{'unplaced' if u.side == 'mentee' else 'empty'}: {u.reason}"
        for u in reading.unmatched
        if u.person_id == who
    ]
    return texts or ["not in this scheme"]


def placement_why_not(market: PlacementMarket, participant: str, place: str) -> str | None:
    """Why ``participant`` may never take ``place``, in words, or None when they may."""
    people = {p.person_id: p for p in market.people}
    offered = {p.placement_id: p for p in market.placements}
    if participant not in people or place not in offered:
        return "one is not a participant, or the other not a placement, of this scheme"
    ranked = {(r.person_id, r.partner_id) for r in market.rankings}
    if (participant, place) not in ranked:
        return f"{participant} did not rank {place}"
    return unmet_requirement(people[participant], offered[place])


def _why_not_placed(
    market: PlacementMarket, result: MarketResult, participant: str, place: str
) -> str:
    head = f"{participant} in {place}: "
    rule = placement_why_not(market, participant, place)
    if rule:
        return head + f"never, {rule}"
    pairs = placement_book(market)
    together = [r.name for r in result.readings if (participant, place) in _pair_ids(r)]
    best = result.reading("max_fit")
    forced, fit = _forced(pairs, participant, place)
    price = (
        f"the best allocation that places them there places {forced} with fit {fit}, "
        f"against {len(best.pairs)} placed with fit {best.total_fit} for max_fit"
    )
    shown = f"placed there in {', '.join(together)}; " if together else ""
    if "stable" in together:
        return head + shown + price
    stable = {p.mentee: p.mentor for p in result.reading("stable").pairs}
    current = stable.get(participant)
    if current is not None and pairs.order(participant, current) < pairs.order(participant, place):
        why = f"in the stable reading {participant} holds {current}, which they rank higher"
    else:
        held = sorted(a for a, b in stable.items() if b == place)
        why = f"in the stable reading {place} is full with {', '.join(held)}, whom its host ranks higher"
    return head + shown + price + "; " + why
