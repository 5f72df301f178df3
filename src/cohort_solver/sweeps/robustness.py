"""How much the allocation rests on small differences in panel scores.

Each trial adds Gaussian noise (standard deviation ``noise`` score points) to every individual
panel score in scores.csv, re-aggregates exactly as the allocation does (criterion weights,
mean/median/normalised_mean, rounding to 2 decimals) and solves the allocation again. Only the
scores move: eligibility, ring-fence memberships, acceptable cohorts and the lottery rank stay as
they are, so an ineligible applicant stays ineligible (also one below ``min_score``: that rule
is applied to the panel's real scores) and the lottery still settles exact ties. scenario.toml
gives no score scale, so noisy scores are not clipped.

Trial ``t`` draws its noise from its own generator seeded by the scenario's lottery seed, the
``--seed`` and ``t``, so a trial's result does not depend on which worker ran it or in which
batch; results are collected by trial index.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from html import escape

from cohort_solver.domain.results import Allocation
from cohort_solver.domain.scenario import Scenario, Score
from cohort_solver.stages.allocate.eligibility import Candidate, aggregate_scores, candidates
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.export.files import csv_text
from cohort_solver.stages.report.page import page
from cohort_solver.stages.report.panel_report import evidence_html
from cohort_solver.sweeps.runner import Progress, Runner

# Close calls, by default: selected at baseline but in fewer than 80% of trials, or left out
# at baseline but selected in more than 20% of trials.
SELECTED_BELOW = 0.8
UNSELECTED_ABOVE = 0.2
TERMINAL_CLOSE_CALLS = 12  # the terminal names this many; the files list them all


# --------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class TrialBatch:
    """A run of consecutive trials for one worker (batches keep per-task overhead small)."""

    scenario: Scenario
    noise: float
    seed: int
    first: int
    count: int
    time_limit: float


@dataclass(frozen=True)
class Trial:
    index: int
    placement: tuple[tuple[str, str], ...]  # (applicant_id, cohort_id) of each selected, sorted
    optimal: bool  # False if the time limit stopped a level before it was proven


def batches(
    scenario: Scenario, *, trials: int, noise: float, seed: int, time_limit: float, slots: int
) -> list[TrialBatch]:
    """Split the trials into a few batches per slot: enough for progress and load balance,
    few enough that shipping the scenario to a worker is paid rarely."""
    count = min(trials, 4 * slots) or 1
    size, extra = divmod(trials, count)
    result, first = [], 0
    for i in range(count):
        length = size + (i < extra)
        result.append(TrialBatch(scenario, noise, seed, first, length, time_limit))
        first += length
    return [b for b in result if b.count]


def run_trials(batch: TrialBatch) -> list[Trial]:
    """Solve each trial of the batch. Runs in a worker process: one solver thread per solve,
    because the trials themselves already keep every core busy."""
    pool = candidates(batch.scenario)
    results = []
    for index in range(batch.first, batch.first + batch.count):
        noisy = perturbed_pool(
            batch.scenario, pool, batch.noise, trial_rng(batch.scenario, batch.seed, index)
        )
        allocation = allocate(batch.scenario, pool=noisy, workers=1, time_limit=batch.time_limit)
        placement = tuple(
            sorted((o.applicant_id, o.cohort_id or "") for o in allocation.selected())
        )
        results.append(Trial(index, placement, allocation.report.status == "optimal"))
    return results


def trial_rng(scenario: Scenario, seed: int, trial: int) -> random.Random:
    """Trial ``trial``'s own generator (a str seed is hashed with SHA-512: the same everywhere)."""
    return random.Random(f"robustness:{scenario.settings.selection.seed}:{seed}:{trial}")


def perturbed_pool(
    scenario: Scenario, pool: Sequence[Candidate], noise: float, rng: random.Random
) -> list[Candidate]:
    """The candidates with noisy aggregate scores; everything else unchanged."""
    if noise == 0:
        return list(pool)
    # A fixed row order, so the noise each score gets does not depend on scores.csv row order.
    rows = sorted(scenario.scores, key=lambda r: (r.applicant_id, r.panelist, r.criterion or ""))
    noisy = [
        Score.model_construct(
            applicant_id=r.applicant_id,
            panelist=r.panelist,
            criterion=r.criterion,
            score=r.score + Decimal(repr(rng.gauss(0.0, noise))),
        )
        for r in rows
    ]
    scores = aggregate_scores(scenario, noisy)
    return [dataclasses.replace(c, score=scores[c.id]) if c.score is not None else c for c in pool]


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Robustness:
    """What the trials say about the baseline allocation."""

    noise: float
    seed: int
    baseline: Allocation
    trials: tuple[Trial, ...]
    places: int
    cohort_ids: tuple[str, ...]
    selected_below: float = SELECTED_BELOW
    unselected_above: float = UNSELECTED_ABOVE

    @cached_property
    def _counts(self) -> Counter[tuple[str, str]]:
        """(applicant, cohort) -> trials placing them there."""
        return Counter(pair for trial in self.trials for pair in trial.placement)

    def selections(self, applicant_id: str, cohort_id: str | None = None) -> int:
        """Trials in which the applicant was selected (into ``cohort_id``, if given)."""
        cohorts = self.cohort_ids if cohort_id is None else (cohort_id,)
        return sum(self._counts[applicant_id, k] for k in cohorts)

    def probability(self, applicant_id: str, cohort_id: str | None = None) -> float:
        return self.selections(applicant_id, cohort_id) / len(self.trials)

    def changes(self) -> list[int]:
        """Places changed per trial: per cohort, the participants who differ from the baseline
        (the larger of those gone and those new, so a place left empty counts once), summed."""
        base = _by_cohort((o.applicant_id, o.cohort_id or "") for o in self.baseline.selected())
        result = []
        for trial in self.trials:
            now = _by_cohort(trial.placement)
            empty: set[str] = set()
            result.append(
                sum(
                    max(
                        len(base.get(k, empty) - now.get(k, empty)),
                        len(now.get(k, empty) - base.get(k, empty)),
                    )
                    for k in set(base) | set(now)
                )
            )
        return result

    def close_call(self, status: str, probability: float) -> bool:
        if status == "selected":
            return probability < self.selected_below
        if status in ("reserve", "not_selected"):
            return probability > self.unselected_above
        return False  # ineligible: noise cannot change eligibility

    def close_calls(self) -> list[tuple[str, str, float]]:
        """(applicant, baseline status, probability): selected first, least secure first."""
        calls = []
        for o in self.baseline.outcomes:
            p = self.probability(o.applicant_id)
            if self.close_call(o.status, p):
                calls.append((o.applicant_id, o.status, p))
        return sorted(
            calls, key=lambda c: (c[1] != "selected", c[2] if c[1] == "selected" else -c[2], c[0])
        )

    @property
    def unproven(self) -> int:
        return sum(not t.optimal for t in self.trials)


def _by_cohort(placement: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    by_cohort: dict[str, set[str]] = {}
    for applicant_id, cohort_id in placement:
        by_cohort.setdefault(cohort_id, set()).add(applicant_id)
    return by_cohort


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%"


def summary(result: Robustness) -> str:
    """The plain-words account for the terminal."""
    changes = result.changes()
    lines = [
        f"Under noise {result.noise:g} ({len(result.trials)} trials): on average "
        f"{statistics.mean(changes):.1f} of {result.places} places change "
        f"(median {statistics.median(changes):g}, max {max(changes)})."
    ]
    calls = result.close_calls()
    if calls:
        shown = calls[:TERMINAL_CLOSE_CALLS]
        lines.append(
            "Close calls: "
            + ", ".join(
                f"{a} ({status}) selected in {_percent(p)} of trials" for a, status, p in shown
            )
            + (
                f", and {len(calls) - len(shown)} more in robustness.csv"
                if len(calls) > len(shown)
                else ""
            )
            + "."
        )
    else:
        lines.append(
            f"No close calls: everyone selected was selected in at least {_percent(result.selected_below)} "
            f"of trials, and no one left out in more than {_percent(result.unselected_above)}."
        )
    if result.unproven:
        lines.append(
            f"warning: {result.unproven} trials hit --time-limit before proving their optimum."
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- outputs


def robustness_csv(result: Robustness) -> str:
    """One row per applicant, in applicants.csv order. No protected characteristics."""
    per_cohort = result.cohort_ids if len(result.cohort_ids) > 1 else ()
    header = [
        "applicant_id",
        "baseline_status",
        "baseline_cohort",
        "selection_probability",
        *[f"probability_{c}" for c in per_cohort],
        "trials_selected",
        "close_call",
    ]
    rows = []
    for o in result.baseline.outcomes:
        selected = result.selections(o.applicant_id)
        p = selected / len(result.trials)
        rows.append(
            [
                o.applicant_id,
                o.status,
                o.cohort_id,
                f"{p:.3f}",
                *[f"{result.probability(o.applicant_id, c):.3f}" for c in per_cohort],
                selected,
                "yes" if result.close_call(o.status, p) else "no",
            ]
        )
    return csv_text(header, rows)


def histogram_svg(changes: Sequence[int]) -> str:
    """Inline SVG bar chart of places changed per trial, readable by screen readers."""
    counts = Counter(changes)
    top = max(changes)
    tallest = max(counts.values())
    bar, gap, height, base = 36, 8, 160, 190
    width = (top + 1) * (bar + gap) + 60
    described = "; ".join(
        f"{k} {'place' if k == 1 else 'places'} changed in {counts[k]} trials"
        for k in range(top + 1)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="230" '
        f'viewBox="0 0 {width} 230" aria-label="Histogram of places changed per trial: {described}">',
        "<title>Places changed per trial</title>",
        f'<line x1="40" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#333"/>',
    ]
    for k in range(top + 1):
        h = round(height * counts[k] / tallest)
        x = 40 + k * (bar + gap)
        parts.append(f'<rect x="{x}" y="{base - h}" width="{bar}" height="{h}" fill="#1d70b8"/>')
        parts.append(
            f'<text x="{x + bar / 2:g}" y="{base - h - 4}" text-anchor="middle" '
            f'font-size="12">{counts[k]}</text>'
        )
        parts.append(
            f'<text x="{x + bar / 2:g}" y="{base + 16}" text-anchor="middle" '
            f'font-size="12">{k}</text>'
        )
    parts.append(
        f'<text x="{40 + (top + 1) * (bar + gap) / 2:g}" y="{base + 36}" text-anchor="middle" '
        'font-size="12">places changed (bars: number of trials)</text></svg>'
    )
    return "".join(parts)


def robustness_html(scenario: Scenario, result: Robustness) -> str:
    """A self-contained panel page (no scripts): summary, histogram, close calls, every applicant."""
    changes = result.changes()
    stats = (
        f"mean {statistics.mean(changes):.2f}, median {statistics.median(changes):g}, "
        f"max {max(changes)} of {result.places} places"
    )
    calls = (
        "".join(
            f"<tr><td>{escape(a)}</td><td>{escape(s)}</td><td>{_percent(p)}</td></tr>"
            for a, s, p in result.close_calls()
        )
        or '<tr><td colspan="3">none</td></tr>'
    )
    rows = "".join(
        f"<tr><td>{escape(o.applicant_id)}</td><td>{escape(o.status)}</td>"
        f"<td>{escape(o.cohort_id or '')}</td><td>{_percent(result.probability(o.applicant_id))}</td></tr>"
        for o in result.baseline.outcomes
        if o.status != "ineligible"
    )
    name = escape(scenario.settings.programme.name)
    return page(
        f"Robustness of the allocation - {scenario.settings.programme.name}",
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}",
        f"<h1>Robustness of the allocation</h1><p>{name}</p>{evidence_html(scenario.settings)}"
        f"<p>Each of {len(result.trials)} trials added random noise (standard deviation "
        f"{result.noise:g} score points) to every panel score, re-aggregated the scores and "
        "allocated the places again under the same rules. Eligibility, ring fences and the "
        f"lottery did not change. Seed {result.seed}.</p>"
        f"<p>{escape(summary(result)).replace(chr(10), '<br>')}</p>"
        f"<h2>Places changed per trial</h2><p>{stats}.</p>{histogram_svg(changes)}"
        f"<h2>Close calls</h2><p>Selected in fewer than {_percent(result.selected_below)} of "
        f"trials, or left out but selected in more than {_percent(result.unselected_above)}.</p>"
        "<table><tr><th>applicant</th><th>baseline</th><th>selected in</th></tr>"
        f"{calls}</table>"
        "<h2>Eligible applicants</h2><table><tr><th>applicant</th><th>baseline</th>"
        f"<th>cohort</th><th>selected in</th></tr>{rows}</table>",
    )


# --------------------------------------------------------------------------- front door


def assess(
    scenario: Scenario,
    baseline: Allocation,
    runner: Runner,
    *,
    noise: float,
    trials: int,
    seed: int = 0,
    time_limit: float = 60.0,
    selected_below: float = SELECTED_BELOW,
    unselected_above: float = UNSELECTED_ABOVE,
    progress: Progress | None = None,
) -> Robustness:
    """Run the trials where ``runner`` runs things and sum them up against ``baseline``."""
    tasks = batches(
        scenario, trials=trials, noise=noise, seed=seed, time_limit=time_limit, slots=runner.slots
    )
    done = runner.map(run_trials, tasks, progress=progress)
    return Robustness(
        noise=noise,
        seed=seed,
        baseline=baseline,
        trials=tuple(sorted((t for batch in done for t in batch), key=lambda t: t.index)),
        places=sum(c.places for c in scenario.cohorts),
        cohort_ids=tuple(c.id for c in scenario.cohorts),
        selected_below=selected_below,
        unselected_above=unselected_above,
    )
