"""The facts allocation rests on, in plain Python: eligibility, aggregate scores, the lottery,
the cohorts each applicant may join, and why an unselected applicant stayed out.

The solver, the checker and ``explain`` all read these, so every outcome has one source."""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from cohort_solver.domain.reasons import Ineligible
from cohort_solver.domain.scenario import Applicant, Cohort, Scenario, Score

HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    """An applicant as the allocation sees them."""

    applicant: Applicant
    score: Decimal | None  # aggregate, rounded to 2 decimals; None = not scored
    failures: tuple[Ineligible, ...]  # every failed eligibility rule, in contract order
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


class _Admissions:
    """The cohorts each applicant may join: their own list (or every cohort open to their
    council), in preference order, keeping only cohorts that admit their council. Worked out once
    per council (100k applicants, 300 cohorts). With tracks, only the cohorts of the tracks they
    applied to (their ``tracks``, or every track), in that order, and of those only the cohorts
    whose track's grade band holds their grade are acceptable."""

    def __init__(self, scenario: Scenario):
        settings = scenario.settings
        self.cohorts: Sequence[Cohort] = scenario.cohorts
        self.by_council: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        self.tracks = [t.id for t in settings.tracks]
        self.track_of = {c.id: c.track for c in self.cohorts}
        self.bands = {
            t.id: settings.grade_positions(settings.track_grades(t)) for t in settings.tracks
        }

    def admitted(self, applicant: Applicant) -> tuple[str, ...]:
        """The cohorts the applicant's council and lists allow, grade aside."""
        wanted = tuple(dict.fromkeys(applicant.tracks)) if self.tracks else ()
        key = (applicant.council, wanted)
        if key not in self.by_council:
            council = applicant.council
            open_to = [c for c in self.cohorts if c.councils is None or council in c.councils]
            if self.tracks:
                order = {t: i for i, t in enumerate(wanted or self.tracks)}
                open_to = sorted(
                    (c for c in open_to if c.track in order), key=lambda c: order[c.track or ""]
                )
            self.by_council[key] = tuple(c.id for c in open_to)
        admitted = self.by_council[key]
        if not applicant.cohorts:
            return admitted
        return tuple(c for c in dict.fromkeys(applicant.cohorts) if c in admitted)

    def in_band(self, applicant: Applicant, cohort_id: str) -> bool:
        return applicant.grade in self.bands[self.track_of[cohort_id] or ""]

    def wrong_grade(self, applicant: Applicant, admitted: Sequence[str]) -> bool:
        """With tracks: no cohort open to them is in a track whose band holds their grade (none
        open: no track they applied to has their grade in its band)."""
        if admitted:
            return not any(self.in_band(applicant, c) for c in admitted)
        wanted = applicant.tracks or self.tracks
        return not any(applicant.grade in self.bands.get(t, ()) for t in wanted)


def candidates(scenario: Scenario) -> list[Candidate]:
    """Every applicant, in applicants.csv order."""
    selection = scenario.settings.selection
    # Open and mandatory selections place people without a panel: scores are not read.
    scores = aggregate_scores(scenario) if selection.scored else {}
    lottery = lottery_ranks((a.applicant_id for a in scenario.applicants), selection.seed)
    admissions = _Admissions(scenario)
    min_score = Decimal(str(selection.min_score))
    eligible_grades = scenario.settings.eligible_grade_positions()
    tracked = scenario.has_tracks
    result = []
    for applicant in scenario.applicants:
        score = scores.get(applicant.applicant_id)
        admitted = admissions.admitted(applicant)
        if tracked:
            wrong_grade = admissions.wrong_grade(applicant, admitted)
            acceptable = tuple(c for c in admitted if admissions.in_band(applicant, c))
        else:
            wrong_grade, acceptable = applicant.grade not in eligible_grades, admitted
        failed = {
            Ineligible.GRADE: wrong_grade,
            Ineligible.PROBATION: not applicant.probation_passed,
            Ineligible.LINE_MANAGER_APPROVAL: not applicant.line_manager_approved,
            Ineligible.PERFORMANCE: not applicant.performance_eligible,
            Ineligible.NOT_SCORED: selection.scored and score is None,
            Ineligible.BELOW_MIN_SCORE: score is not None and score < min_score,
            Ineligible.NO_COHORT: not admitted,
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


def track_band_words(scenario: Scenario, track_id: str) -> str:
    """A track's grade band as labels: ``SM2, SM3, SM4``."""
    settings = scenario.settings
    track = settings.track(track_id)
    return ", ".join(map(str, settings.track_grades(track))) if track else ""


def tracks_refused(scenario: Scenario, applicant: Applicant) -> list[str]:
    """The tracks an applicant applied to (their tracks cell, or every track) whose grade band
    does not hold their grade, each in words: ``not eligible for track SL (Tier 5: Senior
    Leader): grade SO1 is not in its grades SM2, SM3, SM4``."""
    settings = scenario.settings
    grade = settings.grade_label(applicant.grade)
    out = []
    for track_id in dict.fromkeys(applicant.tracks or [t.id for t in settings.tracks]):
        track = settings.track(track_id)
        band = settings.grade_positions(settings.track_grades(track)) if track else frozenset()
        if track is not None and applicant.grade not in band:
            out.append(
                f"not eligible for track {track.label}: grade {grade} is not in its grades "
                f"{track_band_words(scenario, track_id)}"
            )
    return out


def cohorts_with_tracks(scenario: Scenario, cohort_ids: Sequence[str]) -> str:
    """``AM, CM`` or, with tracks, ``AM (track AM), north (track CM)``."""
    if not scenario.has_tracks:
        return ", ".join(cohort_ids)
    track_of = scenario.cohort_tracks()
    return ", ".join(f"{c} (track {track_of.get(c)})" for c in cohort_ids)
