"""Reason codes: why an applicant got their outcome, and the words for each.

The codes are the contract's (section 3): allocation.csv's ``reason`` cell and the decision
log's ``reason_codes`` are their values. Allocation builds a ``Reason`` from them, ``explain``
and the report read its fields, and only ``str(reason)`` / ``Reason.parse`` know the cell's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Ineligible(StrEnum):
    """An eligibility rule an applicant fails, in contract order."""

    GRADE = "grade"
    PROBATION = "probation"
    LINE_MANAGER_APPROVAL = "line_manager_approval"
    PERFORMANCE = "performance"
    NOT_SCORED = "not_scored"
    BELOW_MIN_SCORE = "below_min_score"
    NO_COHORT = "no_cohort"


class KeptOut(StrEnum):
    """Why an eligible applicant is not in a cohort they could join."""

    PLACES = "places"
    MAX_PER_SERVICE_AREA = "spread:max_per_service_area"
    MAX_PER_COUNCIL = "spread:max_per_council"
    MIN_SERVICE_AREAS = "spread:min_service_areas"
    RING_FENCE = "ring_fence"  # written with the ring fence's name: ``ring_fence:NAME``
    PREFERENCE = "preference"
    LOTTERY = "lottery"
    OUTSCORED = "outscored"
    WITHDRAWN = "withdrawn"

    @property
    def shareable(self) -> bool:
        """Whether the decision log may show this code. "outscored" and every ring-fence reason
        become ``COMPETITION``: a ring-fence reason would tell a reader of that widely shared log
        who does or does not count towards a ring fence."""
        return self not in (KeptOut.RING_FENCE, KeptOut.OUTSCORED)


COMPETITION = "competition"  # the decision log's code for a reason it may not show
SELECTED = "selected"  # the decision log's code for a selected applicant


# The words for each code, in one place. ``explain`` fills in the facts of the case.
INELIGIBLE_WORDS: dict[Ineligible, str] = {
    Ineligible.GRADE: "grade {grade} is not one of the eligible grades {eligible_grades}",
    Ineligible.PROBATION: "has not yet passed probation",
    Ineligible.LINE_MANAGER_APPROVAL: "does not have line manager approval",
    Ineligible.PERFORMANCE: "is not performance-eligible",
    Ineligible.NOT_SCORED: "was not scored by the panel",
    Ineligible.BELOW_MIN_SCORE: "aggregate score {score} is below the minimum of {min_score}",
    Ineligible.NO_COHORT: "no cohort is open to their council (or to the cohorts they listed)",
}

KEPT_OUT_WORDS: dict[KeptOut, str] = {
    KeptOut.PLACES: "places",
    KeptOut.MAX_PER_SERVICE_AREA: (
        "{service_area} ({council}) already has {count} selected ({listing}), "
        "the max_per_service_area limit"
    ),
    KeptOut.MAX_PER_COUNCIL: "{council} already has {count} selected, the max_per_council limit",
    KeptOut.MIN_SERVICE_AREAS: (
        "taking them would leave fewer than {min_service_areas} service areas represented"
    ),
    KeptOut.RING_FENCE: (
        "the places they could take are held for ring fence '{ring_fence}', "
        "and they are not a member"
    ),
    KeptOut.PREFERENCE: "tied on score; the other applicant ranked this cohort higher",
    KeptOut.LOTTERY: (
        "tied on score with a selected applicant; the lottery (seed {seed}) favoured the "
        "other applicant"
    ),
    KeptOut.OUTSCORED: (
        "all {count} selected participants scored higher "
        "(the lowest selected score is {lowest_score}, {lowest_id})"
    ),
    KeptOut.WITHDRAWN: "withdrawn",
}


# The same reasons for a page that lists people (report.html): a ring-fence reason, and
# "outscored" with it (as in the decision log), become one reason that reveals no membership.
SHAREABLE_WORDS: dict[KeptOut, str] = {
    KeptOut.PLACES: "all places in {where} were filled",
    KeptOut.MAX_PER_SERVICE_AREA: (
        "{where} already has the most participants one service area may have"
    ),
    KeptOut.MAX_PER_COUNCIL: "{where} already has the most participants one council may have",
    KeptOut.MIN_SERVICE_AREAS: (
        "taking them would leave {where} with too few service areas represented"
    ),
    KeptOut.PREFERENCE: "tied on score with a participant who ranked {where} higher",  # a cohort
    KeptOut.LOTTERY: "the published tie-break lottery favoured another applicant",
    KeptOut.WITHDRAWN: "withdrew",
}
COMPETITION_WORDS = (
    "other applicants took the places in {where} under the scores and the ring fences"
)

# An eligibility rule, for counts of ineligible applicants (no facts of anyone's case).
INELIGIBLE_SHAREABLE: dict[Ineligible, str] = {
    Ineligible.GRADE: "not an eligible grade",
    Ineligible.PROBATION: "probation not yet passed",
    Ineligible.LINE_MANAGER_APPROVAL: "no line manager approval",
    Ineligible.PERFORMANCE: "not performance-eligible",
    Ineligible.NOT_SCORED: "not scored by the panel",
    Ineligible.BELOW_MIN_SCORE: "score below the minimum",
    Ineligible.NO_COHORT: "no cohort open to them",
}


@dataclass(frozen=True)
class Blocker:
    """Why an applicant is not in one cohort: a code, and the ring fence it names if any."""

    code: KeptOut
    ring_fence: str | None = None

    def __str__(self) -> str:
        if self.code is KeptOut.RING_FENCE:
            return f"{self.code}:{self.ring_fence}"
        return str(self.code)


@dataclass(frozen=True)
class Reason:
    """Why an applicant has their status; ``str()`` gives allocation.csv's ``reason`` cell.

    At most one of the fields is set: an ineligible applicant's failed rules, a selected
    applicant's score rank, or an unselected applicant's blockers. ``kept_out`` pairs each cohort
    with its blocker, or is a single ``(None, blocker)`` when the blocker is the same in every
    cohort they could join (the cell then names no cohort)."""

    failures: tuple[Ineligible, ...] = ()
    rank: tuple[int, int] | None = None  # score rank among eligible applicants, of how many
    kept_out: tuple[tuple[str | None, Blocker], ...] = ()

    @classmethod
    def per_cohort(cls, blockers: dict[str, Blocker]) -> Reason:
        distinct = set(blockers.values())
        if len(distinct) == 1:
            return cls(kept_out=((None, distinct.pop()),))
        return cls(kept_out=tuple(blockers.items()))

    @property
    def withdrawn(self) -> bool:
        return any(b.code is KeptOut.WITHDRAWN for _, b in self.kept_out)

    def blocker(self, cohort_id: str) -> Blocker | None:
        """The blocker in ``cohort_id`` (the shared one when the cell names no cohort)."""
        for cohort, blocker in self.kept_out:
            if cohort is None or cohort == cohort_id:
                return blocker
        return None

    def __str__(self) -> str:
        if self.failures:
            return ";".join(self.failures)
        if self.rank is not None:
            return f"selected: score rank {self.rank[0]} of {self.rank[1]} eligible"
        return ";".join(
            str(b) if cohort is None else f"{cohort}={b}" for cohort, b in self.kept_out
        )

    @classmethod
    def parse(cls, text: str) -> Reason:
        """The ``Reason`` whose ``str()`` is ``text``; ValueError when we never write ``text``."""
        if not text:
            return cls()
        ranked = _RANK.fullmatch(text)
        if ranked:
            return cls(rank=(int(ranked[1]), int(ranked[2])))
        parts = text.split(";")
        if all(p in Ineligible.__members__.values() for p in parts):
            return cls(failures=tuple(Ineligible(p) for p in parts))
        return cls(kept_out=_parse_blockers(parts))


WITHDRAWN = Reason(kept_out=((None, Blocker(KeptOut.WITHDRAWN)),))

_RANK = re.compile(r"selected: score rank (\d+) of (\d+) eligible")
_RING_FENCE = f"{KeptOut.RING_FENCE}:"


def _parse_blockers(parts: list[str]) -> tuple[tuple[str | None, Blocker], ...]:
    """``cohort=code`` or ``code`` parts; a ring fence's name may itself hold ``;`` or ``=``."""
    result: list[tuple[str | None, Blocker]] = []
    for part in parts:
        parsed = _parse_blocker(part)
        if parsed is not None:
            result.append(parsed)
        elif result and result[-1][1].code is KeptOut.RING_FENCE:  # the name goes on
            cohort, previous = result[-1]
            result[-1] = (cohort, Blocker(KeptOut.RING_FENCE, f"{previous.ring_fence};{part}"))
        else:
            raise ValueError(f"{part!r} is not a reason code")
    if len(result) > 1 and any(cohort is None for cohort, _ in result):
        raise ValueError("a reason for several cohorts names each cohort")
    return tuple(result)


def _parse_blocker(part: str) -> tuple[str | None, Blocker] | None:
    at = part.find(_RING_FENCE)
    if at == 0 or (at > 0 and part[at - 1] == "="):
        return (part[: at - 1] if at else None), Blocker(
            KeptOut.RING_FENCE, part[at + len(_RING_FENCE) :]
        )
    cohort, equals, code = part.rpartition("=")
    if code in KeptOut.__members__.values() and code != KeptOut.RING_FENCE:
        return (cohort if equals else None), Blocker(KeptOut(code))
    return None


def shareable_words(reason: Reason, everywhere: str = "every cohort open to them") -> str:
    """Why an applicant was not selected (or not eligible), in words that reveal no ring-fence
    membership, for pages that list people: a ring-fence or "outscored" reason reads as
    competition, as in the decision log. ``everywhere`` names the cohorts of a reason that is
    the same in each (a one-cohort programme: "the programme")."""
    if reason.failures:
        return "not eligible: " + "; ".join(INELIGIBLE_SHAREABLE[r] for r in reason.failures)
    parts = []
    for cohort, blocker in reason.kept_out:
        where = f"cohort {cohort}" if cohort is not None else everywhere
        parts.append(SHAREABLE_WORDS.get(blocker.code, COMPETITION_WORDS).format(where=where))
    fallback = COMPETITION_WORDS.format(where=everywhere)
    return "; ".join(dict.fromkeys(parts)) or fallback
