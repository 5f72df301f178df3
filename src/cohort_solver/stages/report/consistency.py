"""The panel's view: how consistently the panelists scored, who was lenient, and where they
disagreed about one applicant.

Reliability is Krippendorff's alpha at the interval level, on a reliability data matrix of
panelists x applicants with NaN where a panelist did not score an applicant. Alpha is read by
Krippendorff's own convention: at least 0.8 reliable, at least 0.667 tentative, below that the
panel disagreed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.allocate.eligibility import panelist_scores

OVERALL = "overall"
RELIABLE = 0.8
TENTATIVE = 0.667
# Without a disagreement_threshold setting, a fifth of the range the whole panel used.
DEFAULT_THRESHOLD_SHARE = Decimal("0.2")


@dataclass(frozen=True)
class Panelist:
    """One panelist's scoring: their totals, and how far above the rest of the panel they sat."""

    panelist: str
    scores: tuple[Decimal, ...]  # their total per applicant, in applicant order
    leniency: float | None  # mean of (their total - the other panelists' mean); None if alone

    @property
    def mean(self) -> float:
        return float(sum(self.scores, Decimal(0)) / len(self.scores))


@dataclass(frozen=True)
class Disagreement:
    """An applicant whose panelists' totals lie further apart than the threshold."""

    applicant_id: str
    lowest: Decimal
    highest: Decimal

    @property
    def spread(self) -> Decimal:
        return self.highest - self.lowest


@dataclass(frozen=True)
class PanelConsistency:
    alpha: dict[str, float | None]  # criterion (and "overall") -> alpha; None = not measurable
    panelists: tuple[Panelist, ...]
    threshold: Decimal
    flagged: tuple[Disagreement, ...]


def interval_alpha(matrix: Mapping[str, Mapping[str, Decimal]]) -> float | None:
    """Krippendorff's interval alpha of panelist -> applicant -> score.

    None when it cannot be measured: fewer than two panelists scored the same applicant, or
    every score is the same value (no variation to agree about).
    """
    panelists = sorted(matrix)
    applicants = sorted({a for scores in matrix.values() for a in scores})
    data = np.full((len(panelists), len(applicants)), np.nan)
    for i, panelist in enumerate(panelists):
        for j, applicant in enumerate(applicants):
            if applicant in matrix[panelist]:
                data[i, j] = float(matrix[panelist][applicant])
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if not pairable.any():
        return None
    # Krippendorff's interval alpha, 1 - D_o / D_e, in closed form: the squared differences
    # over all ordered pairs of N values sum to 2 (N sum(v^2) - sum(v)^2). The krippendorff
    # package builds a value-by-value coincidence matrix instead, which for 12,000 applicants'
    # distinct scores took 3 GB; tests check the two agree.
    values = data[:, pairable]
    m = (~np.isnan(values)).sum(axis=0)
    total, squares = np.nansum(values, axis=0), np.nansum(values**2, axis=0)
    n = m.sum()
    observed = (2 * (m * squares - total**2) / (m - 1)).sum() / n
    expected = 2 * (n * squares.sum() - total.sum() ** 2) / (n * (n - 1))
    if expected <= 1e-12:  # every pairable score is the same value: nothing to agree about
        return None
    return float(1 - observed / expected)


def reading(alpha: float | None) -> str:
    """Krippendorff's convention, in coordinator words."""
    if alpha is None:
        return "cannot be measured: too few applicants scored by two or more panelists, or no variation"
    if alpha >= RELIABLE:
        return "reliable: the panel scored consistently"
    if alpha >= TENTATIVE:
        return "tentative: use the scores with care"
    return "the panel disagreed; review the flagged applicants"


def consistency(scenario: Scenario) -> PanelConsistency:
    """Alpha per criterion and overall, leniency per panelist, and the flagged applicants."""
    totals = panelist_scores(scenario)  # applicant -> panelist -> weighted total
    by_panelist: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for applicant_id, scores in totals.items():
        for panelist, score in scores.items():
            by_panelist[panelist][applicant_id] = score
    alpha: dict[str, float | None] = {}
    for criterion in sorted({s.criterion for s in scenario.scores if s.criterion}):
        matrix: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for s in scenario.scores:
            if s.criterion == criterion:
                matrix[s.panelist][s.applicant_id] = s.score
        alpha[criterion] = interval_alpha(matrix)
    alpha[OVERALL] = interval_alpha(by_panelist)
    threshold = _threshold(scenario, totals)
    return PanelConsistency(
        alpha=alpha,
        panelists=tuple(_panelist(p, by_panelist[p], totals) for p in sorted(by_panelist)),
        threshold=threshold,
        flagged=tuple(
            sorted(
                (
                    Disagreement(a, min(scores.values()), max(scores.values()))
                    for a, scores in totals.items()
                    if len(scores) >= 2 and max(scores.values()) - min(scores.values()) > threshold
                ),
                key=lambda d: (-d.spread, d.applicant_id),
            )
        ),
    )


def _panelist(
    panelist: str, own: dict[str, Decimal], totals: dict[str, dict[str, Decimal]]
) -> Panelist:
    # Compared with the *other* panelists only, so one harsh panelist does not pull the
    # yardstick towards themselves.
    deviations = []
    for applicant_id, score in own.items():
        others = [v for p, v in totals[applicant_id].items() if p != panelist]
        if others:
            deviations.append(float(score) - float(sum(others, Decimal(0)) / len(others)))
    return Panelist(
        panelist=panelist,
        scores=tuple(own.values()),
        leniency=sum(deviations) / len(deviations) if deviations else None,
    )


def _threshold(scenario: Scenario, totals: dict[str, dict[str, Decimal]]) -> Decimal:
    setting = scenario.settings.selection.disagreement_threshold
    if setting is not None:
        return Decimal(str(setting))
    every = [v for scores in totals.values() for v in scores.values()]
    if not every:
        return Decimal(0)
    return (max(every) - min(every)) * DEFAULT_THRESHOLD_SHARE
