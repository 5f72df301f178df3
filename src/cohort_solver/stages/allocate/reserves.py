"""Reserves and replacements: who takes a place when a selected participant withdraws.

A withdrawal keeps everyone else in their place, so the newcomer's cohort is the leaver's and
the six objective levels over the whole allocation reduce to one comparison between
candidates: the ring-fence fill they leave the cohort with, then score, preference position
and lottery rank (levels 3-5; places filled is the same for every lawful candidate and the
cohort tie-break is the same cohort). That makes ``replacement`` exactly what ``withdraw``'s
re-solve picks, in plain Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from cohort_solver.domain.reasons import Blocker, KeptOut
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate, candidates
from cohort_solver.stages.allocate.readings import open_key, over_and_above, passes
from cohort_solver.stages.allocate.reasons import ring_fence_fill, ring_fence_lost, spread_breach


def may_take_place(
    scenario: Scenario,
    cohort: Cohort,
    selected: Sequence[Candidate],
    leaver: Candidate,
    candidate: Candidate,
) -> bool:
    """Every hard rule (places, spread limits, held ring fences) holds with ``candidate`` in
    ``leaver``'s place."""
    if cohort.id not in candidate.cohorts:
        return False
    chosen = [s for s in selected if s is not leaver] + [candidate]
    return spread_breach(scenario, cohort, chosen) is None


def _merit(candidate: Candidate, cohort_id: str) -> tuple[int, int, int]:
    """Levels 3-5 for one newcomer in ``cohort_id``: higher is better."""
    return (candidate.hundredths, -candidate.cohorts.index(cohort_id), -candidate.lottery)


@dataclass(frozen=True)
class Replacement:
    """Who takes ``leaver``'s place, and the better-ranked candidates passed over."""

    leaver: str
    cohort_id: str
    newcomer: Candidate | None
    breaking: tuple[Candidate, ...]  # better on merit, but would break a hard rule
    lowering: tuple[Candidate, ...]  # better on merit, lawful, but would lower the fill


def ranked_for(cohort_id: str, waiting: Sequence[Candidate]) -> list[Candidate]:
    """Those waiting who accept ``cohort_id``, best on merit first."""
    return sorted(
        (c for c in waiting if cohort_id in c.cohorts),
        key=lambda c: _merit(c, cohort_id),
        reverse=True,
    )


def replacement(
    scenario: Scenario,
    cohort: Cohort,
    selected: Sequence[Candidate],
    leaver: Candidate,
    ranked: Sequence[Candidate],
) -> Replacement:
    """The lexicographically best lawful newcomer for ``leaver``'s place (None: none is
    lawful). ``ranked`` is ``ranked_for(cohort.id, waiting)``; the scan stops at the first
    lawful candidate who brings the ring-fence fill to the most any newcomer could."""
    if over_and_above(scenario):
        return _replacement_by_key(scenario, cohort, selected, leaver, ranked)
    rest = [s for s in selected if s is not leaver]
    ceiling = ring_fence_fill(scenario, cohort, rest) + sum(
        1
        for rf in scenario.settings.selection.ring_fence
        if sum(rf.name in c.ring_fences for c in rest) < rf.minimum_in(cohort)
    )
    best: tuple[int, int] | None = None  # (fill, index in ranked)
    for index, candidate in enumerate(ranked):
        if not may_take_place(scenario, cohort, selected, leaver, candidate):
            continue
        fill = ring_fence_fill(scenario, cohort, [*rest, candidate])
        if best is None or fill > best[0]:
            best = (fill, index)
        if fill == ceiling:
            break
    if best is None:
        return Replacement(leaver.id, cohort.id, None, tuple(ranked), ())
    ahead = ranked[: best[1]]
    lawful = [c for c in ahead if may_take_place(scenario, cohort, selected, leaver, c)]
    return Replacement(
        leaver.id,
        cohort.id,
        ranked[best[1]],
        tuple(c for c in ahead if c not in lawful),
        tuple(lawful),
    )


def reading_key(scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]) -> tuple[int, ...]:
    """Over and above, the two passes' levels for one cohort's selection (bigger is better):
    the minimum guarantees, the open places on merit, then level 1 with the held places and
    levels 2-5 of the whole (the cohort tie-break is the same for every newcomer)."""
    guaranteed = sum(
        min(sum(rf.name in c.ring_fences for c in chosen), rf.minimum_in(cohort))
        for rf in scenario.settings.selection.ring_fence
        if rf.reading == "minimum_guarantee"
    )
    picked, held = passes(scenario, cohort, chosen)
    return (
        guaranteed,
        *open_key(picked, cohort),
        guaranteed + held,
        len(chosen),
        sum(c.hundredths for c in chosen),
        -sum(c.cohorts.index(cohort.id) for c in chosen),
        -sum(c.lottery for c in chosen),
    )


def _replacement_by_key(
    scenario: Scenario,
    cohort: Cohort,
    selected: Sequence[Candidate],
    leaver: Candidate,
    ranked: Sequence[Candidate],
) -> Replacement:
    """Over and above: the lawful newcomer whose allocation is best on both passes.

    Newcomers alike for every rule (ring fences, service area, council) are lawful alike, and
    of those the best on merit makes the better allocation, so only the first of each kind in
    ``ranked`` is weighed."""
    rest = [s for s in selected if s is not leaver]
    best: tuple[tuple[int, ...], int] | None = None
    # Leaving the place empty can be best: a newcomer who could only take an open place
    # would push a better one of the rest out of it (a held place under `hold` stays empty).
    if spread_breach(scenario, cohort, rest) is None:
        best = (reading_key(scenario, cohort, rest), len(ranked))
    lawful: dict[tuple[object, ...], bool] = {}
    for index, candidate in enumerate(ranked):
        kind = (candidate.ring_fences, candidate.applicant.area, candidate.applicant.council)
        if kind in lawful:
            continue
        lawful[kind] = may_take_place(scenario, cohort, selected, leaver, candidate)
        if lawful[kind]:
            key = reading_key(scenario, cohort, [*rest, candidate])
            if best is None or key > best[0]:
                best = (key, index)
    if best is None:
        return Replacement(leaver.id, cohort.id, None, tuple(ranked), ())

    def is_lawful(c: Candidate) -> bool:
        return lawful[(c.ring_fences, c.applicant.area, c.applicant.council)]

    ahead = ranked[: best[1]]
    return Replacement(
        leaver.id,
        cohort.id,
        ranked[best[1]] if best[1] < len(ranked) else None,
        tuple(c for c in ahead if not is_lawful(c)),
        tuple(c for c in ahead if is_lawful(c)),
    )


def reserve_cohort(
    scenario: Scenario,
    candidate: Candidate,
    selected: Mapping[str, Sequence[Candidate]],
    cohorts: Mapping[str, Cohort],
) -> str | None:
    """The first cohort in the candidate's own order in which they could lawfully take some
    selected participant's place (None: there is no place they could ever be offered)."""
    for cohort_id in candidate.cohorts:
        chosen = selected.get(cohort_id, [])
        if any(may_take_place(scenario, cohorts[cohort_id], chosen, s, candidate) for s in chosen):
            return cohort_id
    return None


def reserve_lists(
    scenario: Scenario,
    waiting: Sequence[Candidate],
    selected: Mapping[str, Sequence[Candidate]],
    first: AbstractSet[str] = frozenset(),
) -> dict[str, tuple[str, int]]:
    """applicant -> (cohort, reserve rank): per cohort, the ``reserves`` best on merit (score,
    preference position, lottery) of those who could lawfully take some place in it, those in
    ``first`` (over and above: whoever some withdrawal would bring in) ahead of the rest."""
    cohorts = {c.id: c for c in scenario.cohorts}
    per_cohort: dict[str, list[Candidate]] = {}
    for candidate in waiting:
        cohort_id = reserve_cohort(scenario, candidate, selected, cohorts)
        if cohort_id is not None:
            per_cohort.setdefault(cohort_id, []).append(candidate)
    ranks: dict[str, tuple[str, int]] = {}
    for cohort_id, people in per_cohort.items():
        people.sort(key=lambda c: (c.id in first, _merit(c, cohort_id)), reverse=True)
        for rank, candidate in enumerate(people[: scenario.settings.selection.reserves], start=1):
            ranks[candidate.id] = (cohort_id, rank)
    return ranks


def replacement_for(
    scenario: Scenario, outcomes: Sequence[Decision], leaver_id: str
) -> Replacement:
    """The replacement ``withdraw`` makes for ``leaver_id`` in this allocation, and why."""
    pool = {c.id: c for c in candidates(scenario)}
    statuses = {o.applicant_id: o for o in outcomes}
    cohort_id = statuses[leaver_id].cohort_id or ""
    selected = [pool[o.applicant_id] for o in outcomes if o.status == "selected"]
    in_cohort = [c for c in selected if statuses[c.id].cohort_id == cohort_id]
    waiting = sorted(
        (
            pool[o.applicant_id]
            for o in outcomes
            if o.status in ("reserve", "not_selected") and not o.reason.withdrawn
        ),
        key=lambda c: c.lottery,
    )
    cohort = next(c for c in scenario.cohorts if c.id == cohort_id)
    return replacement(scenario, cohort, in_cohort, pool[leaver_id], ranked_for(cohort_id, waiting))


def _rule_words(scenario: Scenario, cohort: Cohort, blocker: Blocker) -> str:
    spread = scenario.settings.selection.spread
    if blocker.code is KeptOut.MAX_PER_SERVICE_AREA:
        return f"go over max_per_service_area = {spread.max_per_service_area}"
    if blocker.code is KeptOut.MAX_PER_COUNCIL:
        return f"go over max_per_council = {spread.max_per_council}"
    if blocker.code is KeptOut.MIN_SERVICE_AREAS:
        return f"leave fewer than {spread.min_service_areas} service areas"
    if blocker.code is KeptOut.RING_FENCE:
        held = _minimum(scenario, cohort, blocker.ring_fence or "")
        return f"break the {held} places held for ring fence '{blocker.ring_fence}'"
    return f"go over the {cohort.places} places"


def _minimum(scenario: Scenario, cohort: Cohort, name: str) -> int:
    rf = next(r for r in scenario.settings.selection.ring_fence if r.name == name)
    return rf.minimum_in(cohort)


def _lowering_words(scenario: Scenario, name: str, held: int) -> str:
    fence = next((r for r in scenario.settings.selection.ring_fence if r.name == name), None)
    if fence is not None and fence.reading == "over_and_above":
        return f"leave one of the {held} places held over and above for '{name}' without a member"
    return f"leave ring fence '{name}' short of its {held} places"


def _names(people: Sequence[Candidate]) -> str:
    ids = [c.id for c in people]
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


def replacement_words(scenario: Scenario, outcomes: Sequence[Decision], leaver_id: str) -> str:
    """ "If A005 withdraws, A013 (reserve 4) takes the place: A037, A015 and A011 would lower
    the 9-place ring fence 'under-represented'." Everyone passed over is named with the rule."""
    rep = replacement_for(scenario, outcomes, leaver_id)
    statuses = {o.applicant_id: o for o in outcomes}
    cohort = next(c for c in scenario.cohorts if c.id == rep.cohort_id)
    if rep.newcomer is None and rep.lowering:  # over and above: lawful, but worse than empty
        why = _passed_over(scenario, cohort, rep, outcomes)
        return f"if {leaver_id} withdraws, the place stays empty; {why}"
    if rep.newcomer is None:
        return f"if {leaver_id} withdraws, no one can lawfully take the place: it stays empty"
    row = statuses[rep.newcomer.id]
    rank = (
        f"reserve {row.reserve_rank} for cohort {row.cohort_id}"
        if row.status == "reserve"
        else "not on the reserve list"
    )
    text = f"if {leaver_id} withdraws, {rep.newcomer.id} ({rank}) takes the place"
    why = _passed_over(scenario, cohort, rep, outcomes)
    return f"{text}; {why}" if why else text


def _passed_over(
    scenario: Scenario, cohort: Cohort, rep: Replacement, outcomes: Sequence[Decision]
) -> str:
    """Who ranks higher on merit but does not get the place, grouped by the rule that stops them."""
    pool = {c.id: c for c in candidates(scenario)}
    selected = [
        pool[o.applicant_id]
        for o in outcomes
        if o.status == "selected" and o.cohort_id == cohort.id
    ]
    leaver = pool[rep.leaver]
    rest = [s for s in selected if s is not leaver]
    groups: dict[str, list[Candidate]] = {}
    for c in rep.breaking:
        breach = spread_breach(scenario, cohort, [*rest, c])
        if breach is not None:
            groups.setdefault(_rule_words(scenario, cohort, breach), []).append(c)
    for c in rep.lowering:
        name = ring_fence_lost(scenario, cohort, [*rest, *filter(None, [rep.newcomer])], [*rest, c])
        held = _minimum(scenario, cohort, name) if name != "?" else 0
        groups.setdefault(_lowering_words(scenario, name, held), []).append(c)
    return "; ".join(f"{_names(people)} would {words}" for words, people in groups.items())
