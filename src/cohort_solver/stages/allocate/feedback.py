"""feedback.csv: for every applicant, a paragraph in plain English the panel can send.

The paragraph gives the reason for the outcome and, to a reserve or an applicant not selected,
what would have changed it. Nothing is re-solved: the counterfactual comes from the solved
allocation by one cheap argument. If swapping the applicant in for a selected participant
``out`` of a cohort they can join breaks no hard rule and keeps the ring-fence fill (level 1),
then with any score above ``out``'s the swapped plan beats every plan without them on level 3
(levels 1 and 2 equal), so an optimal allocation must select them. The lowest such ``out``
score plus 0.01 is therefore a score that would have sufficed (``explain`` bisects for the
exact threshold, which may be lower). The check is per (cohort, service area, ring fences),
so 12,000 applicants cost a few thousand swap checks.

A paragraph names nobody else and mentions a ring fence only as the applicant's own
membership (or non-membership); the report's per-person rows use ``domain.reasons.shareable_words``,
which never do.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from cohort_solver.domain.reasons import Blocker, Ineligible, KeptOut
from cohort_solver.domain.results import Decision, Feedback
from cohort_solver.domain.scenario import Cohort, Scenario
from cohort_solver.stages.allocate.eligibility import Candidate, candidates, tracks_refused
from cohort_solver.stages.allocate.explain import Chosen, chosen_by_cohort
from cohort_solver.stages.allocate.readings import over_and_above
from cohort_solver.stages.allocate.reasons import ring_fence_fill, spread_breach

OUTCOME_WORDS = {
    "selected": "selected",
    "reserve": "reserve",
    "not_selected": "not selected",
    "ineligible": "not eligible",
}

# An eligibility rule in the applicant's own words ("your application ... because you ...").
FAILED_WORDS: dict[Ineligible, str] = {
    Ineligible.GRADE: "your grade ({grade}) is not one of the eligible grades ({eligible_grades})",
    Ineligible.PROBATION: "you have not yet passed probation",
    Ineligible.LINE_MANAGER_APPROVAL: "we did not have your line manager's approval",
    Ineligible.PERFORMANCE: "you are not currently performance-eligible",
    Ineligible.NOT_SCORED: "the panel did not score your application",
    Ineligible.BELOW_MIN_SCORE: (
        "your aggregate panel score ({score}) is below the programme's minimum of {min_score}"
    ),
    Ineligible.NO_COHORT: "no cohort is open to your council (or to the cohorts you listed)",
}

# Why the applicant is not in one cohort, in their own words: no other person is named.
KEPT_OUT_FEEDBACK: dict[KeptOut, str] = {
    KeptOut.PLACES: "all {places} places in cohort {cohort} were filled",
    KeptOut.MAX_PER_SERVICE_AREA: (
        "cohort {cohort} already has {count} participants from {service_area} ({council}), "
        "the most the programme takes from one service area"
    ),
    KeptOut.MAX_PER_COUNCIL: (
        "cohort {cohort} already has {count} participants from {council}, "
        "the most the programme takes from one council"
    ),
    KeptOut.MIN_SERVICE_AREAS: (
        "taking you in place of another participant would leave cohort {cohort} with fewer "
        "than {min_service_areas} service areas represented"
    ),
    KeptOut.RING_FENCE: (
        "the places you could take in cohort {cohort} are held for the '{ring_fence}' "
        "ring fence, which you do not count towards"
    ),
    KeptOut.PREFERENCE: (
        "you tied on score with a selected participant who ranked cohort {cohort} higher"
    ),
    KeptOut.LOTTERY: (
        "you tied on score with a selected participant, and the programme's published "
        "tie-break lottery (seed {seed}) favoured the other applicant"
    ),
    KeptOut.OUTSCORED: "all {count} participants selected for cohort {cohort} scored higher",
    KeptOut.WITHDRAWN: "you withdrew",
}

# Without a panel (open and mandatory selections) nobody "ties on score".
UNSCORED_FEEDBACK: dict[KeptOut, str] = {
    KeptOut.PREFERENCE: "another applicant ranked cohort {cohort} higher in their preferences",
    KeptOut.LOTTERY: (
        "the places in cohort {cohort} went by the programme's published lottery (seed {seed}), "
        "which favoured other applicants"
    ),
}

OVER_AND_ABOVE_CHANGE = (
    "Under this programme's over-and-above ring fence the open places go on merit first and "
    "the held places after them; the panel can tell you the score that would have changed "
    "this outcome."
)

NO_SINGLE_EXCHANGE = (
    "No exchange of one selected participant for you was open: every place you could take was "
    "bound by {rules}. Whether a higher score would have changed this through a larger "
    "reshuffle takes a re-solve; the panel can tell you."
)

RULE_WORDS: dict[KeptOut, str] = {
    KeptOut.PLACES: "the number of places",
    KeptOut.MAX_PER_SERVICE_AREA: "the limit per service area",
    KeptOut.MAX_PER_COUNCIL: "the limit per council",
    KeptOut.MIN_SERVICE_AREAS: "the minimum number of service areas",
    KeptOut.RING_FENCE: "the places held for a ring fence you do not count towards",
}


@dataclass(frozen=True)
class _Way:
    """How a kind of applicant gets into a cohort: the lowest score they must beat, if any
    swap is lawful, and the rules that stop the swaps that are not."""

    beat: int | None  # hundredths of the weakest selected participant they may replace
    blocked_by: frozenset[KeptOut]


class _Ways:
    """Lawful swaps per (cohort, service area, council, ring fences), worked out once each."""

    def __init__(self, scenario: Scenario, chosen: Chosen):
        self.scenario = scenario
        self.chosen = chosen
        self.cohorts = {c.id: c for c in scenario.cohorts}
        self.known: dict[tuple[str, object, str, tuple[str, ...]], _Way] = {}
        self.best: dict[tuple[tuple[str, ...], object, str, tuple[str, ...]], _Way | None] = {}

    def way_in(self, me: Candidate, cohort_id: str) -> _Way:
        applicant = me.applicant
        key = (cohort_id, applicant.area, applicant.council, me.ring_fences)
        if key not in self.known:
            self.known[key] = self._swap(me, self.cohorts[cohort_id])
        return self.known[key]

    def _swap(self, me: Candidate, cohort: Cohort) -> _Way:
        selected = list(self.chosen.get(cohort.id, ()))
        fill = ring_fence_fill(self.scenario, cohort, selected)
        blocked: set[KeptOut] = set()
        for out in reversed(selected):  # weakest first
            trial = [c for c in selected if c is not out] + [me]
            breach = spread_breach(self.scenario, cohort, trial)
            if breach is None and ring_fence_fill(self.scenario, cohort, trial) < fill:
                breach = Blocker(KeptOut.RING_FENCE)
            if breach is None:
                return _Way(out.hundredths, frozenset(blocked))
            blocked.add(breach.code)
        return _Way(None, frozenset(blocked or {KeptOut.PLACES}))


def best_way(ways: _Ways, me: Candidate) -> _Way | None:
    """The cheapest lawful swap into a cohort ``me`` can join (the lowest score to beat);
    the same for everyone with the same cohorts, service area and ring fences."""
    applicant = me.applicant
    key = (me.cohorts, applicant.area, applicant.council, me.ring_fences)
    if key not in ways.best:
        found = [
            way
            for cohort_id in me.cohorts
            if cohort_id in ways.cohorts
            for way in [ways.way_in(me, cohort_id)]
            if way.beat is not None
        ]
        ways.best[key] = min(found, key=lambda way: way.beat or 0, default=None)
    return ways.best[key]


def feedback_rows(scenario: Scenario, outcomes: Sequence[Decision]) -> list[Feedback]:
    """One paragraph per applicant, in the order of ``outcomes`` (applicants.csv's order)."""
    pool = candidates(scenario)
    by_id = {c.id: c for c in pool}
    chosen = chosen_by_cohort(pool, outcomes)
    writer = _Writer(scenario, pool, chosen)
    rows = []
    for outcome in outcomes:
        me = by_id[outcome.applicant_id]
        rows.append(
            Feedback(
                applicant_id=me.id,
                name=me.applicant.name,
                email=me.applicant.email,
                outcome=OUTCOME_WORDS[outcome.status],
                cohort=outcome.cohort_id or "",
                feedback=writer.paragraph(me, outcome),
            )
        )
    return rows


class _Writer:
    """The paragraphs of one allocation, sharing its ranking and its lawful swaps."""

    def __init__(self, scenario: Scenario, pool: Sequence[Candidate], chosen: Chosen):
        self.scenario = scenario
        self.chosen = chosen
        self.ways = _Ways(scenario, chosen)
        self.scores = sorted(c.hundredths for c in pool if c.eligible)
        self.programme = scenario.settings.programme.name
        tracks = {t.id: t.name or t.id for t in scenario.settings.tracks}
        self.track_names = {c.id: tracks[c.track] for c in scenario.cohorts if c.track in tracks}

    def paragraph(self, me: Candidate, outcome: Decision) -> str:
        if me.failures:
            return self.ineligible(me)
        if outcome.reason.withdrawn:
            return f"You withdrew from {self.programme}."
        sentences = [self.opening(outcome)]
        if self.scenario.settings.selection.scored:
            better = len(self.scores) - bisect_right(self.scores, me.hundredths)
            sentences.append(
                f"Your aggregate panel score was {me.score}, ranked {better + 1} of "
                f"{len(self.scores)} eligible applicants."
            )
        sentences += self.ring_fences(me)
        if outcome.status != "selected":
            sentences.append(self.why_not(me, outcome))
            sentences.append(self.what_would_change(me))
        return " ".join(sentences)

    def opening(self, outcome: Decision) -> str:
        if outcome.status == "selected":
            return (
                f"You have been offered a place on {self.programme}, in cohort "
                f"{self.where(outcome.cohort_id)}."
            )
        if outcome.status == "reserve":
            return (
                f"You are reserve number {outcome.reserve_rank} for cohort "
                f"{self.where(outcome.cohort_id)} "
                f"of {self.programme}: if a place falls vacant, you may be offered it."
            )
        return f"You have not been offered a place on {self.programme} this time."

    def where(self, cohort_id: str | None) -> str:
        """A cohort id, with its track when the scenario has tracks: ``AM (Tier 1: ...)``."""
        return (
            f"{cohort_id} ({self.track_names[cohort_id]})"
            if cohort_id in self.track_names
            else f"{cohort_id}"
        )

    def ring_fences(self, me: Candidate) -> list[str]:
        """The applicant's own ring fences: shown to them alone."""
        if not me.ring_fences:
            return []
        names = ", ".join(f"'{r}'" for r in me.ring_fences)
        return [f"You count towards the programme's positive-action ring fence(s) {names}."]

    def ineligible(self, me: Candidate) -> str:
        selection = self.scenario.settings.selection
        facts = {
            "grade": self.scenario.settings.grade_label(me.applicant.grade),
            "eligible_grades": ", ".join(map(str, selection.eligible_grades)),
            "score": me.score,
            "min_score": selection.min_score,
        }
        reasons = [FAILED_WORDS[rule].format(**facts) for rule in me.failures]
        if self.scenario.has_tracks and Ineligible.GRADE in me.failures:
            reasons[me.failures.index(Ineligible.GRADE)] = "; ".join(
                "you are " + words for words in tracks_refused(self.scenario, me.applicant)
            ).replace(": grade", ": your grade")
        return (
            f"Your application to {self.programme} could not be considered, because "
            + _listed(reasons)
            + ". Meeting every eligibility rule would allow a future application to be considered."
        )

    def why_not(self, me: Candidate, outcome: Decision) -> str:
        parts = []
        for cohort_id in me.cohorts:
            blocker = outcome.reason.blocker(cohort_id)
            if blocker is not None and cohort_id in self.ways.cohorts:
                parts.append(self.kept_out(me, cohort_id, blocker))
        if not parts:
            return "The places went to other applicants under the programme's rules."
        return "This is because " + "; ".join(parts) + "."

    def kept_out(self, me: Candidate, cohort_id: str, blocker: Blocker) -> str:
        applicant = me.applicant
        chosen = self.chosen.get(cohort_id, ())
        if blocker.code is KeptOut.MAX_PER_SERVICE_AREA:  # only the count the words give
            count = sum(c.applicant.area == applicant.area for c in chosen)
        elif blocker.code is KeptOut.MAX_PER_COUNCIL:
            count = sum(c.applicant.council == applicant.council for c in chosen)
        else:
            count = len(chosen)
        if blocker.code is KeptOut.RING_FENCE and blocker.ring_fence in me.ring_fences:
            # Never claim a member is outside their own ring fence, whatever the code says.
            return f"the places in cohort {cohort_id} were filled under the ring-fence rules"
        if blocker.code is KeptOut.OUTSCORED and not chosen:
            return f"no place in cohort {cohort_id} could be given under the programme's rules"
        words = KEPT_OUT_FEEDBACK[blocker.code]
        if not self.scenario.settings.selection.scored:
            words = UNSCORED_FEEDBACK.get(blocker.code, words)
        return words.format(
            cohort=cohort_id,
            places=self.ways.cohorts[cohort_id].places,
            service_area=applicant.service_area,
            council=applicant.council,
            count=count,
            min_service_areas=self.scenario.settings.selection.spread.min_service_areas,
            ring_fence=blocker.ring_fence,
            seed=self.scenario.settings.selection.seed,
        )

    def what_would_change(self, me: Candidate) -> str:
        if not self.scenario.settings.selection.scored:
            return (
                "There was no panel score to change: the ring fences, the spread rules and the "
                "lottery decided who took the places."
            )
        if over_and_above(self.scenario):
            # The one-swap argument compares the six levels of one pass; over and above, a
            # swap also moves who holds the open places, so it proves nothing. Say no figure
            # rather than a wrong one: `explain` re-solves for the exact threshold.
            return OVER_AND_ABOVE_CHANGE
        way = best_way(self.ways, me)
        if way is not None and way.beat is not None:
            text = (
                f"An aggregate panel score of {_above(way.beat)} or higher would "
                "have secured you a place, with everything else unchanged"
            )
            named = [RULE_WORDS[code] for code in RULE_WORDS if code in way.blocked_by]
            if named:  # why beating the lowest selected score would not have been enough
                text += (
                    "; the places of participants with lower scores could not have gone to you "
                    f"because of {_listed(named)}"
                )
            return text + "."
        rules = {
            code
            for cohort_id in me.cohorts
            if cohort_id in self.ways.cohorts
            for code in self.ways.way_in(me, cohort_id).blocked_by
        }
        bound_by = _listed(
            [RULE_WORDS[code] for code in RULE_WORDS if code in rules]
            or [RULE_WORDS[KeptOut.PLACES]]
        )
        if all(self._held_against(me, c) for c in me.cohorts if c in self.ways.cohorts):
            return (
                "A higher score alone would not have changed this: every place you could take "
                f"was bound by {bound_by}."
            )
        # No single exchange is open, but a larger reshuffle (two people moving at once) might
        # be under a high enough score: only a re-solve can tell, so claim neither way.
        return NO_SINGLE_EXCHANGE.format(rules=bound_by)

    def _held_against(self, me: Candidate, cohort_id: str) -> bool:
        """Proven: no score gets ``me`` into the cohort, as one held ring fence they are not in
        keeps every place of it (``hold`` caps non-members at places - minimum = 0)."""
        cohort = self.ways.cohorts[cohort_id]
        return any(
            rf.unfilled == "hold"
            and rf.reading == "minimum_guarantee"
            and rf.name not in me.ring_fences
            and rf.minimum_in(cohort) >= cohort.places
            for rf in self.scenario.settings.selection.ring_fence
        )


def _above(hundredths: int) -> str:
    """The least score above ``hundredths``: beating the weakest swap partner outright, as an
    equal score would go to the tie-breaks (module doc)."""
    return f"{Decimal(hundredths + 1) / 100:.2f}"


def _listed(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
