"""allocation.csv rows from a placement: statuses, reserves, replacements and reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from cohort_solver.domain.reasons import WITHDRAWN, Reason
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.allocate.eligibility import Candidate
from cohort_solver.stages.allocate.readings import over_and_above
from cohort_solver.stages.allocate.reasons import blocker
from cohort_solver.stages.allocate.reserves import ranked_for, replacement, reserve_lists


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
    # Lottery order, so the lists never depend on row order.
    waiting = sorted(
        (c for c in pool if c.eligible and c.id not in placement and c.id not in withdrawn),
        key=lambda c: c.lottery,
    )
    ranked = {k: ranked_for(k, waiting) for k in selected}
    newcomers = {
        candidate.id: replacement(
            scenario, cohorts[cohort_id], selected[cohort_id], candidate, ranked[cohort_id]
        ).newcomer
        for cohort_id, chosen in selected.items()
        for candidate in chosen
    }
    # Over and above a vacancy usually goes to a member moving into a held place, whoever
    # leaves: the reserve list puts first whoever some withdrawal would bring in.
    named = {n.id for n in newcomers.values() if n} if over_and_above(scenario) else set()
    reserve_rank = reserve_lists(scenario, waiting, selected, named)
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
            newcomer = newcomers[candidate.id]
            rows.append(
                Decision(
                    status="selected",
                    cohort_id=cohort_id,
                    # Without a panel (open, mandatory) there is no score rank to give.
                    reason=Reason(rank=(rank_in[candidate.id], sum(eligible_in.values())))
                    if scenario.settings.selection.scored
                    else Reason(),
                    replaced_by=newcomer.id if newcomer else None,
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
                cohort_id, rank = reserve_rank[candidate.id]
                rows.append(
                    Decision(
                        status="reserve",
                        cohort_id=cohort_id,
                        reserve_rank=rank,
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
