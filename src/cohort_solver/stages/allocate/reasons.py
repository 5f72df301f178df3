"""Why an unselected applicant stayed out: the rule that stops every swap that would help."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cohort_solver.domain.reasons import Blocker, KeptOut
from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate
from cohort_solver.stages.allocate.readings import can_seat, held_blocks, held_fill, over_and_above


def ring_fence_fill(scenario: Scenario, cohort: Cohort, members: Sequence[Candidate]) -> int:
    """Level 1 of the objective for one cohort: sum over minimum-guarantee ring fences of
    min(members, minimum), plus the held places of over-and-above ones that go to members."""
    total = 0
    for rf in scenario.settings.selection.ring_fence:
        if rf.reading == "minimum_guarantee":
            count = sum(rf.name in c.ring_fences for c in members)
            total += min(count, rf.minimum_in(cohort))
    if over_and_above(scenario):
        total += held_fill(scenario, cohort, members)
    return total


def spread_breach(
    scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]
) -> Blocker | None:
    """The first hard cohort rule a selection breaks, or None."""
    spread = scenario.settings.selection.spread
    if len(chosen) > cohort.places:
        return Blocker(KeptOut.PLACES)
    areas = Counter(c.applicant.area for c in chosen)
    if (
        spread.max_per_service_area is not None
        and max(areas.values(), default=0) > spread.max_per_service_area
    ):
        return Blocker(KeptOut.MAX_PER_SERVICE_AREA)
    councils = Counter(c.applicant.council for c in chosen)
    if (
        spread.max_per_council is not None
        and max(councils.values(), default=0) > spread.max_per_council
    ):
        return Blocker(KeptOut.MAX_PER_COUNCIL)
    if spread.min_service_areas is not None and len(areas) < spread.min_service_areas:
        return Blocker(KeptOut.MIN_SERVICE_AREAS)
    for rf in scenario.settings.selection.ring_fence:
        if rf.unfilled == "hold" and rf.reading == "minimum_guarantee":
            outsiders = sum(rf.name not in c.ring_fences for c in chosen)
            if outsiders > cohort.places - rf.minimum_in(cohort):
                return Blocker(KeptOut.RING_FENCE, rf.name)
    if over_and_above(scenario) and not can_seat(scenario, cohort, chosen):
        held = [b for b in held_blocks(scenario, cohort.places) if b.members_only]
        return Blocker(KeptOut.RING_FENCE, held[0].name if held else None)
    return None


def _priority(candidate: Candidate, cohort_id: str) -> tuple[int, int, int]:
    """Higher is better: score, then preference position, then lottery (levels 3-5)."""
    return (candidate.hundredths, -candidate.cohorts.index(cohort_id), -candidate.lottery)


def blocker(
    scenario: Scenario, cohort: Cohort, selected: Sequence[Candidate], candidate: Candidate
) -> Blocker:
    """Why ``candidate`` is not in ``cohort``: the rule that stops every swap that would help.

    Each way in is tried: a free place, or the place of a selected participant, weakest first.
    The first way in that would improve the allocation must break a hard rule or lower the
    ring-fence fill (or the allocation would not be optimal), and that rule is the reason.
    """
    ways_in: list[Candidate | None] = [None] if len(selected) < cohort.places else []
    weakest_first: list[Candidate] = sorted(selected, key=lambda s: _priority(s, cohort.id))
    ways_in += weakest_first
    fill = ring_fence_fill(scenario, cohort, selected)
    ours = _priority(candidate, cohort.id)
    tied = False
    for out in ways_in:
        chosen = [s for s in selected if s is not out] + [candidate]
        theirs = _priority(out, cohort.id) if out is not None else None
        if theirs is not None and ours[0] < theirs[0]:
            break
        breach = spread_breach(scenario, cohort, chosen)
        if breach is None and ring_fence_fill(scenario, cohort, chosen) < fill:
            breach = Blocker(
                KeptOut.RING_FENCE, ring_fence_lost(scenario, cohort, selected, chosen)
            )
        if breach is not None:
            return breach
        if theirs is not None and ours[0] == theirs[0]:
            tied = True
            if ours[1] != theirs[1]:
                return Blocker(KeptOut.PREFERENCE)
    if tied:
        return Blocker(KeptOut.LOTTERY)
    return Blocker(KeptOut.OUTSCORED)


def ring_fence_lost(
    scenario: Scenario, cohort: Cohort, before: Sequence[Candidate], after: Sequence[Candidate]
) -> str:
    for rf in scenario.settings.selection.ring_fence:
        minimum = rf.minimum_in(cohort)
        was = min(minimum, sum(rf.name in c.ring_fences for c in before))
        now = min(minimum, sum(rf.name in c.ring_fences for c in after))
        if now < was:
            return rf.name
    # Over and above, the held places can lose a member while the members overall do not.
    oa = [
        rf.name for rf in scenario.settings.selection.ring_fence if rf.reading == "over_and_above"
    ]
    return oa[0] if oa else "?"
