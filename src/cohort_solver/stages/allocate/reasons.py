"""Why an unselected applicant stayed out, and allocation.csv rows with reserves and reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from cohort_solver.domain.reasons import WITHDRAWN, Blocker, KeptOut, Reason
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate


def ring_fence_fill(scenario: Scenario, cohort: Cohort, members: Sequence[Candidate]) -> int:
    """Level 1 of the objective for one cohort: sum over ring fences of min(members, minimum)."""
    total = 0
    for rf in scenario.settings.selection.ring_fence:
        count = sum(rf.name in c.ring_fences for c in members)
        total += min(count, rf.minimum(cohort.places))
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
        if rf.unfilled == "hold":
            outsiders = sum(rf.name not in c.ring_fences for c in chosen)
            if outsiders > cohort.places - rf.minimum(cohort.places):
                return Blocker(KeptOut.RING_FENCE, rf.name)
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
                KeptOut.RING_FENCE, _ring_fence_lost(scenario, cohort, selected, chosen)
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


def _ring_fence_lost(
    scenario: Scenario, cohort: Cohort, before: Sequence[Candidate], after: Sequence[Candidate]
) -> str:
    for rf in scenario.settings.selection.ring_fence:
        minimum = rf.minimum(cohort.places)
        was = min(minimum, sum(rf.name in c.ring_fences for c in before))
        now = min(minimum, sum(rf.name in c.ring_fences for c in after))
        if now < was:
            return rf.name
    return "?"


def outcomes(
    scenario: Scenario,
    pool: Sequence[Candidate],
    placement: dict[str, str],
    *,
    withdrawn: Iterable[str] = (),
) -> list[Decision]:
    """allocation.csv rows from a placement (applicant -> cohort), with reserves and reasons."""
    cohorts = {c.id: c for c in scenario.cohorts}
    withdrawn = set(withdrawn)
    by_id = {c.id: c for c in pool}
    selected: dict[str, list[Candidate]] = defaultdict(list)
    for applicant_id, cohort_id in placement.items():
        selected[cohort_id].append(by_id[applicant_id])
    ranked = sorted(
        (c for c in pool if c.eligible and c.id not in placement),
        key=lambda c: (-c.hundredths, c.lottery),
    )
    reserve_rank: dict[str, int] = {}
    per_cohort: Counter[str] = Counter()
    for candidate in ranked:
        if candidate.id in withdrawn:
            continue
        first = candidate.cohorts[0]
        if per_cohort[first] < scenario.settings.selection.reserves:
            per_cohort[first] += 1
            reserve_rank[candidate.id] = per_cohort[first]
    eligible_in = Counter(cid for c in pool if c.eligible for cid in c.cohorts[:1])
    rank_in = _score_ranks(pool)

    rows = []
    for candidate in pool:
        common = {
            "applicant_id": candidate.id,
            "score": candidate.score,
            "ring_fences": candidate.ring_fences,
        }
        if not candidate.eligible:
            rows.append(
                Decision(status="ineligible", reason=Reason(failures=candidate.failures), **common)
            )
        elif candidate.id in placement:
            cohort_id = placement[candidate.id]
            rows.append(
                Decision(
                    status="selected",
                    cohort_id=cohort_id,
                    # Without a panel (open, mandatory) there is no score rank to give.
                    reason=Reason(rank=(rank_in[candidate.id], sum(eligible_in.values())))
                    if scenario.settings.selection.scored
                    else Reason(),
                    **common,
                )
            )
        elif candidate.id in withdrawn:
            rows.append(Decision(status="not_selected", reason=WITHDRAWN, **common))
        else:
            reason = Reason.per_cohort(
                {
                    cid: blocker(scenario, cohorts[cid], selected[cid], candidate)
                    for cid in candidate.cohorts
                }
            )
            if candidate.id in reserve_rank:
                rows.append(
                    Decision(
                        status="reserve",
                        cohort_id=candidate.cohorts[0],
                        reserve_rank=reserve_rank[candidate.id],
                        reason=reason,
                        **common,
                    )
                )
            else:
                rows.append(Decision(status="not_selected", reason=reason, **common))
    return rows


def _score_ranks(pool: Sequence[Candidate]) -> dict[str, int]:
    """Competition rank by aggregate score among eligible applicants (1 = best; ties share)."""
    eligible = sorted((c for c in pool if c.eligible), key=lambda c: -c.hundredths)
    ranks: dict[str, int] = {}
    for position, candidate in enumerate(eligible, start=1):
        previous = eligible[position - 2] if position > 1 else None
        same = previous is not None and previous.hundredths == candidate.hundredths
        ranks[candidate.id] = ranks[previous.id] if same and previous else position
    return ranks
