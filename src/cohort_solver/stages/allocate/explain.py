"""Plain-English accounts of an applicant's outcome, with one counterfactual the panel can quote."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cohort_solver.domain.reasons import INELIGIBLE_WORDS, KEPT_OUT_WORDS, Ineligible, KeptOut
from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.allocate.eligibility import (
    Candidate,
    candidates,
    cohorts_with_tracks,
    tracks_refused,
)
from cohort_solver.stages.allocate.readings import place_words
from cohort_solver.stages.allocate.solve import allocate, split_groups


def _failed(scenario: Scenario, me: Candidate, rule: Ineligible) -> str:
    """The words for a failed eligibility rule, with the facts of the case."""
    selection = scenario.settings.selection
    if rule is Ineligible.GRADE and scenario.has_tracks:
        return "; ".join(tracks_refused(scenario, me.applicant))
    return INELIGIBLE_WORDS[rule].format(
        grade=scenario.settings.grade_label(me.applicant.grade),
        eligible_grades=", ".join(map(str, selection.eligible_grades)),
        score=me.score,
        min_score=selection.min_score,
    )


def explain_applicant(
    scenario: Scenario,
    outcomes: Sequence[Decision],
    applicant_id: str,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
) -> str:
    pool = candidates(scenario)
    by_id = {c.id: c for c in pool}
    outcome = next(o for o in outcomes if o.applicant_id == applicant_id)
    me = by_id[applicant_id]
    chosen = chosen_by_cohort(pool, outcomes)
    lines = [f"{me.applicant.name or applicant_id} ({applicant_id}): {outcome.status}."]

    if me.failures:
        lines.append(
            "Not eligible: " + "; ".join(_failed(scenario, me, rule) for rule in me.failures) + "."
        )
        if me.score is not None:
            lines.append(f"Aggregate panel score {me.score}.")
        return "\n".join(lines)

    eligible = [c for c in pool if c.eligible]
    if not scenario.settings.selection.scored:
        return "\n".join(lines + _without_panel(scenario, pool, chosen, me, outcome))
    better = sum(c.hundredths > me.hundredths for c in eligible)
    lines.append(
        f"Aggregate panel score {me.score}, ranked {better + 1} of {len(eligible)} eligible applicants."
    )
    lines.append(
        "Counts towards ring fence(s): " + ", ".join(f"'{r}'" for r in me.ring_fences) + "."
        if me.ring_fences
        else "Does not count towards any ring fence."
    )
    lines += _open_cohorts(scenario, me)

    # Only the cohorts linked to this applicant matter for their outcome, and only those are
    # re-solved: another group's cohort, left without its applicants, could not meet its rules.
    group = _group_of(scenario, eligible, me)
    is_selected = _probe(group.scenario, group.pool, me, time_limit, workers)
    if outcome.status == "selected":
        lines.append(f"Selected for cohort {outcome.cohort_id}.")
        kind = _place_kind(scenario, chosen, me, outcome)
        if kind:
            lines.append(kind[0].upper() + kind[1:] + ".")
        threshold = _score_threshold(me, lambda h: not is_selected(h), down=True)
        if threshold is not None:
            lines.append(
                f"Would not have been selected if their score were {Decimal(threshold) / 100:.2f} or lower."
            )
        else:
            lines.append(
                "Would still be selected at any lower eligible score (their place is protected by the rules)."
            )
        return "\n".join(lines)

    lines.append(_why_not(scenario, chosen, me, outcome))
    threshold = _score_threshold(me, is_selected, down=False)
    if threshold is not None:
        lines.append(
            f"Would be selected if their score were {Decimal(threshold) / 100:.2f} or higher."
        )
    else:
        change = _relaxation(group.scenario, group.pool, me, time_limit, workers)
        lines.append(
            f"Would be selected if {change}."
            if change
            else "A higher score alone would not change this, nor would relaxing a single spread rule."
        )
    return "\n".join(lines)


def _open_cohorts(scenario: Scenario, me: Candidate) -> list[str]:
    """The cohorts open to them (with tracks: each cohort's track, and the tracks they applied
    to whose grade band does not hold their grade)."""
    lines = [
        f"Cohorts open to them, in preference order: {cohorts_with_tracks(scenario, me.cohorts)}."
    ]
    # Only the tracks they named: with a blank tracks cell every other tier would be listed.
    refused = tracks_refused(scenario, me.applicant) if me.applicant.tracks else []
    if refused:
        lines.append("; ".join(refused)[0].upper() + "; ".join(refused)[1:] + ".")
    return lines


def _without_panel(
    scenario: Scenario,
    pool: Sequence[Candidate],
    chosen: Chosen,
    me: Candidate,
    outcome: Decision,
) -> list[str]:
    """Open and mandatory selections have no score to change: the rules and the lottery decide."""
    selection = scenario.settings.selection
    lines = [
        f"No panel scores: {'an open' if selection.mode == 'open' else 'a mandatory'} "
        f"selection. Lottery rank {me.lottery} of "
        f"{len(pool)} (seed {selection.seed}).",
        "Counts towards ring fence(s): " + ", ".join(f"'{r}'" for r in me.ring_fences) + "."
        if me.ring_fences
        else "Does not count towards any ring fence.",
        *_open_cohorts(scenario, me),
    ]
    if outcome.status == "selected":
        rule = (
            "every eligible person takes a place"
            if selection.mode == "mandatory"
            else "every eligible applicant is enrolled up to the places"
        )
        lines.append(f"Selected for cohort {outcome.cohort_id}: {rule}.")
        return lines
    # Every applicant "ties on score" without a panel: the lottery words need no score.
    why = _why_not(scenario, chosen, me, outcome)
    lines.append(why.replace("tied on score with a selected applicant; ", ""))
    lines.append(
        "There is no score to change: the ring fences, the spread limits and the lottery "
        "decided who took the places."
    )
    return lines


@dataclass(frozen=True)
class _Group:
    scenario: Scenario  # with only the group's cohorts
    pool: list[Candidate]


def _group_of(scenario: Scenario, eligible: Sequence[Candidate], me: Candidate) -> _Group:
    """The cohort group ``me`` can join, with its applicants."""
    settings = scenario.settings
    for group in split_groups(scenario, eligible, {}):
        if any(c.id == me.id for c in group.pool):
            ids = {c.id for c in group.cohorts}
            only = [c for c in settings.cohorts if c.id in ids]
            if len(only) < len(settings.cohorts):  # several groups (never the default "main")
                settings = settings.model_copy(update={"cohorts": only})
            return _Group(scenario.model_copy(update={"settings": settings}), group.pool)
    return _Group(scenario, [me])


def _probe(
    scenario: Scenario, pool: Sequence[Candidate], me: Candidate, time_limit: float, workers: int
) -> Callable[[int], bool]:
    def selected_with(hundredths: int) -> bool:
        changed = dataclasses.replace(me, score=Decimal(hundredths) / 100)
        trial = [changed if c.id == me.id else c for c in pool]
        result = allocate(scenario, pool=trial, time_limit=time_limit, workers=workers)
        return any(o.applicant_id == me.id and o.status == "selected" for o in result.outcomes)

    return selected_with


def _score_threshold(me: Candidate, flips: Callable[[int], bool], *, down: bool) -> int | None:
    """The nearest score (in hundredths) at which the outcome flips, by bisection."""
    if down:
        low, high = 0, me.hundredths - 1  # find the highest score at which they are out
        if high < 0 or not flips(low):
            return None
        while low < high:
            mid = (low + high + 1) // 2
            if flips(mid):
                low = mid
            else:
                high = mid - 1
        return low
    low, high = me.hundredths + 1, max(me.hundredths + 1, 1000, me.hundredths * 2)
    if not flips(high):
        return None
    while low < high:
        mid = (low + high) // 2
        if flips(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _relaxation(
    scenario: Scenario, pool: Sequence[Candidate], me: Candidate, time_limit: float, workers: int
) -> str | None:
    """The first single rule change (one step looser) that would let them in."""
    selection = scenario.settings.selection
    spread = selection.spread
    options: list[tuple[str, dict[str, Any]]] = []
    if spread.max_per_service_area is not None:
        options.append(
            (
                f"max_per_service_area were {spread.max_per_service_area + 1}",
                {
                    "spread": spread.model_copy(
                        update={"max_per_service_area": spread.max_per_service_area + 1}
                    )
                },
            )
        )
    if spread.max_per_council is not None:
        options.append(
            (
                f"max_per_council were {spread.max_per_council + 1}",
                {
                    "spread": spread.model_copy(
                        update={"max_per_council": spread.max_per_council + 1}
                    )
                },
            )
        )
    if spread.min_service_areas:
        options.append(
            (
                f"min_service_areas were {spread.min_service_areas - 1}",
                {
                    "spread": spread.model_copy(
                        update={"min_service_areas": spread.min_service_areas - 1}
                    )
                },
            )
        )
    for index, rf in enumerate(selection.ring_fence):
        if rf.name in me.ring_fences:
            continue
        fences = list(selection.ring_fence)
        if rf.unfilled == "hold":
            fences[index] = rf.model_copy(update={"unfilled": "release"})
            options.append(
                (f"ring fence '{rf.name}' released unfilled places", {"ring_fence": fences})
            )
        elif rf.min_places:
            fences[index] = rf.model_copy(update={"min_places": rf.min_places - 1})
            options.append(
                (f"ring fence '{rf.name}' held {rf.min_places - 1} places", {"ring_fence": fences})
            )
    for label, update in options:
        settings = scenario.settings.model_copy(
            update={"selection": selection.model_copy(update=update)}
        )
        trial = scenario.model_copy(update={"settings": settings})
        try:
            result = allocate(trial, pool=pool, time_limit=time_limit, workers=workers)
        except Exception:  # a relaxation that makes the scenario infeasible is simply not an answer
            continue
        if any(o.applicant_id == me.id and o.status == "selected" for o in result.outcomes):
            return label
    return None


Chosen = Mapping[str, Sequence[Candidate]]  # cohort -> its selected, best score first


def chosen_by_cohort(pool: Sequence[Candidate], outcomes: Sequence[Decision]) -> Chosen:
    """Each cohort's selected candidates, best score first (lottery on ties): worked out once,
    not once per applicant explained."""
    by_id = {c.id: c for c in pool}
    chosen: dict[str, list[Candidate]] = {}
    for o in outcomes:
        if o.status == "selected" and o.cohort_id is not None:
            chosen.setdefault(o.cohort_id, []).append(by_id[o.applicant_id])
    for members in chosen.values():
        members.sort(key=lambda c: (-c.hundredths, c.lottery))
    return chosen


def _place_kind(scenario: Scenario, chosen: Chosen, me: Candidate, outcome: Decision) -> str | None:
    """Over and above: an open place or a held one (the applicant's own membership)."""
    cohort = next(c for c in scenario.cohorts if c.id == outcome.cohort_id)
    return place_words(scenario, cohort, chosen.get(cohort.id, ()), me)


def _why_not(scenario: Scenario, chosen: Chosen, me: Candidate, outcome: Decision) -> str:
    parts = []
    for cohort_id in me.cohorts:
        blocker = outcome.reason.blocker(cohort_id)
        words = (
            _kept_out(scenario, me, chosen.get(cohort_id, ()), blocker.code, blocker.ring_fence)
            if blocker is not None
            else str(outcome.reason)
        )
        parts.append(f"cohort {cohort_id}: {words}")
    status = (
        f"Reserve number {outcome.reserve_rank} for cohort {outcome.cohort_id}. "
        if outcome.status == "reserve"
        else ""
    )
    return status + "Kept out because " + "; ".join(parts) + "."


def _kept_out(
    scenario: Scenario,
    me: Candidate,
    chosen: Sequence[Candidate],
    code: KeptOut,
    ring_fence: str | None,
) -> str:
    """The words for why ``me`` is not in a cohort, with the facts of the case."""
    if code is KeptOut.OUTSCORED and not chosen:
        return str(code)  # nobody to compare with
    applicant = me.applicant
    same = {
        KeptOut.MAX_PER_SERVICE_AREA: [c for c in chosen if c.applicant.area == applicant.area],
        KeptOut.MAX_PER_COUNCIL: [c for c in chosen if c.applicant.council == applicant.council],
    }.get(code, list(chosen))
    return KEPT_OUT_WORDS[code].format(
        service_area=applicant.service_area,
        council=applicant.council,
        count=len(same),
        listing=", ".join(f"{c.id} {c.score}" for c in same),
        min_service_areas=scenario.settings.selection.spread.min_service_areas,
        ring_fence=ring_fence,
        seed=scenario.settings.selection.seed,
        lowest_score=chosen[-1].score if chosen else None,
        lowest_id=chosen[-1].id if chosen else None,
    )


def reasons_in_words(scenario: Scenario, outcomes: Sequence[Decision]) -> dict[str, str]:
    """applicant -> why they have their outcome, in ``explain``'s words, without re-solving:
    the failed rules for an ineligible applicant, the rule that kept an unselected one out."""
    pool = candidates(scenario)
    by_id = {c.id: c for c in pool}
    chosen = chosen_by_cohort(pool, outcomes)
    words = {}
    for outcome in outcomes:
        me = by_id[outcome.applicant_id]
        if me.failures:
            text = "Not eligible: " + "; ".join(_failed(scenario, me, r) for r in me.failures)
            words[me.id] = text + "."
        elif outcome.status == "selected":
            kind = _place_kind(scenario, chosen, me, outcome)
            words[me.id] = f"Selected for cohort {outcome.cohort_id}: {kind or outcome.reason}."
        elif outcome.reason.withdrawn:
            words[me.id] = "Withdrew from the programme."
        else:
            words[me.id] = _why_not(scenario, chosen, me, outcome)
    return words
