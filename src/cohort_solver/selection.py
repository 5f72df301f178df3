"""The facts allocation rests on, in plain Python: eligibility, aggregate scores, the lottery,
the cohorts each applicant may join, and why an unselected applicant stayed out.

The solver, the checker and ``explain`` all read these, so every outcome has one source.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from .model import Applicant, Cohort, Outcome, Scenario, Score

HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    """An applicant as the allocation sees them."""

    applicant: Applicant
    score: Decimal | None  # aggregate, rounded to 2 decimals; None = not scored
    failures: tuple[str, ...]  # every failed eligibility rule, in contract order
    ring_fences: tuple[str, ...]  # ring fences the applicant counts towards
    lottery: int  # 1 = lowest sha256 digest
    cohorts: tuple[str, ...]  # acceptable cohorts, in preference order

    @property
    def id(self) -> str:
        return self.applicant.applicant_id

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def hundredths(self) -> int:
        return int((self.score or 0) * 100)


def round_score(value: Decimal) -> Decimal:
    """Two decimals, half away from zero."""
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def panelist_scores(
    scenario: Scenario, rows: Iterable[Score] | None = None
) -> dict[str, dict[str, Decimal]]:
    """applicant -> panelist -> score, a criterion-weighted sum where criteria are given.

    ``rows`` replaces scores.csv (``robustness`` passes perturbed copies of its rows)."""
    weights = scenario.settings.selection.criteria
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in scenario.scores if rows is None else rows:
        weight = Decimal(str(weights.get(row.criterion, 1))) if row.criterion else Decimal(1)
        by_panelist = totals[row.applicant_id]
        by_panelist[row.panelist] = by_panelist.get(row.panelist, Decimal(0)) + weight * row.score
    return totals


def aggregate_scores(scenario: Scenario, rows: Iterable[Score] | None = None) -> dict[str, Decimal]:
    """Aggregate per scored applicant, exactly, rounded to 2 decimals (``rows``: as above)."""
    method = scenario.settings.selection.aggregate
    scores = panelist_scores(scenario, rows)
    with localcontext() as ctx:
        ctx.prec = 50
        if method == "normalised_mean":
            scores = _standardised(scores)
        result = {}
        for applicant_id, by_panelist in scores.items():
            values = list(by_panelist.values())
            if method == "median":
                value = Decimal(statistics.median(sorted(values)))
            else:
                value = sum(values, Decimal(0)) / len(values)
            result[applicant_id] = round_score(value)
    return result


def _standardised(scores: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
    """z = (s - panelist mean) / panelist population s.d.; a panelist with s.d. 0 gives z = 0."""
    by_panelist: dict[str, list[Decimal]] = defaultdict(list)
    for by in scores.values():
        for panelist, value in by.items():
            by_panelist[panelist].append(value)
    stats = {}
    for panelist, values in by_panelist.items():
        mean = sum(values, Decimal(0)) / len(values)
        variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
        stats[panelist] = (mean, variance.sqrt())
    return {
        applicant_id: {
            p: (v - stats[p][0]) / stats[p][1] if stats[p][1] else Decimal(0) for p, v in by.items()
        }
        for applicant_id, by in scores.items()
    }


def lottery_ranks(applicant_ids: Iterable[str], seed: int) -> dict[str, int]:
    """Rank 1 = lowest sha256(f"{seed}:{id}") hex digest, over all applicants."""
    digests = sorted(
        (hashlib.sha256(f"{seed}:{applicant_id}".encode()).hexdigest(), applicant_id)
        for applicant_id in applicant_ids
    )
    return {applicant_id: rank for rank, (_, applicant_id) in enumerate(digests, start=1)}


def acceptable_cohorts(applicant: Applicant, cohorts: Sequence[Cohort]) -> tuple[str, ...]:
    """The applicant's own list (or every cohort open to their council), in preference order,
    keeping only cohorts that admit their council."""
    return _Admissions(cohorts).acceptable(applicant)


class _Admissions:
    """Which cohorts admit each council, worked out once per council (100k applicants, 300 cohorts)."""

    def __init__(self, cohorts: Sequence[Cohort]):
        self.cohorts = cohorts
        self.by_council: dict[str, tuple[str, ...]] = {}

    def acceptable(self, applicant: Applicant) -> tuple[str, ...]:
        council = applicant.council
        if council not in self.by_council:
            self.by_council[council] = tuple(
                c.id for c in self.cohorts if c.councils is None or council in c.councils
            )
        admitted = self.by_council[council]
        if not applicant.cohorts:
            return admitted
        return tuple(c for c in dict.fromkeys(applicant.cohorts) if c in admitted)


def candidates(scenario: Scenario) -> list[Candidate]:
    """Every applicant, in applicants.csv order."""
    selection = scenario.settings.selection
    scores = aggregate_scores(scenario)
    lottery = lottery_ranks((a.applicant_id for a in scenario.applicants), selection.seed)
    admissions = _Admissions(scenario.cohorts)
    min_score = Decimal(str(selection.min_score))
    result = []
    for applicant in scenario.applicants:
        score = scores.get(applicant.applicant_id)
        acceptable = admissions.acceptable(applicant)
        failed = {
            "grade": applicant.grade not in selection.eligible_grades,
            "probation": not applicant.probation_passed,
            "line_manager_approval": not applicant.line_manager_approved,
            "performance": not applicant.performance_eligible,
            "not_scored": score is None,
            "below_min_score": score is not None and score < min_score,
            "no_cohort": not acceptable,
        }
        result.append(
            Candidate(
                applicant=applicant,
                score=score,
                failures=tuple(rule for rule, failed_rule in failed.items() if failed_rule),
                ring_fences=tuple(
                    rf.name
                    for rf in selection.ring_fence
                    if any(applicant.groups.get(g, False) for g in rf.groups)
                ),
                lottery=lottery[applicant.applicant_id],
                cohorts=acceptable,
            )
        )
    return result


# --------------------------------------------------------------------------- reasons


def ring_fence_fill(scenario: Scenario, cohort: Cohort, members: Sequence[Candidate]) -> int:
    """Level 1 of the objective for one cohort: sum over ring fences of min(members, minimum)."""
    total = 0
    for rf in scenario.settings.selection.ring_fence:
        count = sum(rf.name in c.ring_fences for c in members)
        total += min(count, rf.minimum(cohort.places))
    return total


def spread_breach(scenario: Scenario, cohort: Cohort, chosen: Sequence[Candidate]) -> str | None:
    """The first hard cohort rule a selection breaks, as a reason phrase, or None."""
    spread = scenario.settings.selection.spread
    if len(chosen) > cohort.places:
        return "places"
    areas = Counter(c.applicant.area for c in chosen)
    if (
        spread.max_per_service_area is not None
        and max(areas.values(), default=0) > spread.max_per_service_area
    ):
        return "spread:max_per_service_area"
    councils = Counter(c.applicant.council for c in chosen)
    if (
        spread.max_per_council is not None
        and max(councils.values(), default=0) > spread.max_per_council
    ):
        return "spread:max_per_council"
    if spread.min_service_areas is not None and len(areas) < spread.min_service_areas:
        return "spread:min_service_areas"
    for rf in scenario.settings.selection.ring_fence:
        if rf.unfilled == "hold":
            outsiders = sum(rf.name not in c.ring_fences for c in chosen)
            if outsiders > cohort.places - rf.minimum(cohort.places):
                return f"ring_fence:{rf.name}"
    return None


def _priority(candidate: Candidate, cohort_id: str) -> tuple[int, int, int]:
    """Higher is better: score, then preference position, then lottery (levels 3-5)."""
    return (candidate.hundredths, -candidate.cohorts.index(cohort_id), -candidate.lottery)


def blocker(
    scenario: Scenario, cohort: Cohort, selected: Sequence[Candidate], candidate: Candidate
) -> str:
    """Why ``candidate`` is not in ``cohort``: the rule that stops every swap that would help.

    Each way in is tried: a free place, or the place of a selected participant, weakest first.
    The first way in that would improve the allocation must break a hard rule or lower the
    ring-fence fill (or the allocation would not be optimal), and that rule is the reason.
    """
    ways_in: list[Candidate | None] = [None] if len(selected) < cohort.places else []
    ways_in += sorted(selected, key=lambda s: _priority(s, cohort.id))
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
            breach = "ring_fence:" + _ring_fence_lost(scenario, cohort, selected, chosen)
        if breach is not None:
            return breach
        if theirs is not None and ours[0] == theirs[0]:
            tied = True
            if ours[1] != theirs[1]:
                return "preference"
    if tied:
        return "lottery"
    return "outscored"


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
) -> list[Outcome]:
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
            rows.append(Outcome(status="ineligible", reason=";".join(candidate.failures), **common))
        elif candidate.id in placement:
            cohort_id = placement[candidate.id]
            rows.append(
                Outcome(
                    status="selected",
                    cohort_id=cohort_id,
                    reason=f"selected: score rank {rank_in[candidate.id]} of {sum(eligible_in.values())} eligible",
                    **common,
                )
            )
        elif candidate.id in withdrawn:
            rows.append(Outcome(status="not_selected", reason="withdrawn", **common))
        else:
            reasons = {
                cid: blocker(scenario, cohorts[cid], selected[cid], candidate)
                for cid in candidate.cohorts
            }
            distinct = set(reasons.values())
            reason = (
                distinct.pop()
                if len(distinct) == 1
                else ";".join(f"{cid}={r}" for cid, r in reasons.items())
            )
            if candidate.id in reserve_rank:
                rows.append(
                    Outcome(
                        status="reserve",
                        cohort_id=candidate.cohorts[0],
                        reserve_rank=reserve_rank[candidate.id],
                        reason=reason,
                        **common,
                    )
                )
            else:
                rows.append(Outcome(status="not_selected", reason=reason, **common))
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
