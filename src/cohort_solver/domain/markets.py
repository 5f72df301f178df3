"""Sign-up schemes (a mentoring scheme, a coaching network): who signed up, whom they rank,
whom they must never be paired with, and the plain results a checker verifies.

A person may sign up on both sides (role ``both``): they appear once as a mentee and once as
a mentor, and are never paired with themself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field

from cohort_solver.domain.scenario import Count, Names, Record

Role = Literal["mentee", "mentor", "both"]
ReadingName = Literal["max_fit", "egalitarian", "stable"]
READINGS: tuple[ReadingName, ...] = ("max_fit", "egalitarian", "stable")
DEFAULT_RANKS = 5  # the fit scale of a scheme: a first choice of five earns 5 points


class SignUp(Record):
    """One row of the scheme's sign-up table."""

    person_id: str = Field(min_length=1)
    name: str = ""
    role: Role
    capacity: Count = 1  # mentees this person takes as a mentor
    team: str = ""
    line_manager_id: str = ""
    needs: Names = ()  # expertise a mentee needs: every one must be among the mentor's
    expertise: Names = ()

    @property
    def mentee(self) -> bool:
        return self.role in ("mentee", "both")

    @property
    def mentor(self) -> bool:
        return self.role in ("mentor", "both")


class Ranking(Record):
    """One preference: ``person_id`` ranks ``partner_id`` at ``rank`` (1 = first choice)."""

    person_id: str = Field(min_length=1)
    partner_id: str = Field(min_length=1)
    rank: int = Field(ge=1, le=1000)


class Exclusion(Record):
    """A declared conflict: the two are never paired, whichever side each is on."""

    person_id: str = Field(min_length=1)
    partner_id: str = Field(min_length=1)
    reason: str = "declared conflict"


@dataclass(frozen=True)
class SignUpMarket:
    """One sign-up scheme as the toml declares it, with its tables loaded."""

    name: str
    people: tuple[SignUp, ...]
    rankings: tuple[Ranking, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    # False: a pair is acceptable only when one of the two ranked the other (a mentee's "top
    # three mentors"). True: every pair the hard rules allow is acceptable.
    open: bool = False
    ranks: int = DEFAULT_RANKS  # the fit scale: see rank_points


@dataclass(frozen=True)
class Pair:
    mentee: str
    mentor: str
    fit: int
    mentee_rank: int | None  # how the mentee ranked the mentor (None: not ranked)
    mentor_rank: int | None  # how the mentor ranked the mentee


@dataclass(frozen=True)
class Unmatched:
    person_id: str
    side: Literal["mentee", "mentor"]
    reason: str


@dataclass(frozen=True)
class Reading:
    """One reading of the scheme: max_fit, egalitarian or stable."""

    name: ReadingName
    pairs: tuple[Pair, ...]
    unmatched: tuple[Unmatched, ...]
    total_fit: int
    worst_fit: int | None
    optimal: bool  # proven best for its reading (stable: the mentee-optimal stable matching)


@dataclass(frozen=True)
class MarketResult:
    market: str
    readings: tuple[Reading, ...]
    blocking_pairs: tuple[tuple[str, str], ...]  # (mentee, mentor) blocking the max_fit reading
    stability_cost: int  # total fit of max_fit minus total fit of stable

    def reading(self, name: ReadingName) -> Reading:
        return next(r for r in self.readings if r.name == name)


def rank_points(rank: int | None, ranks: int) -> int:
    """Fit points of one side's view of a pair, on the scheme's declared scale of ``ranks``:
    a first choice earns ``ranks``, rank ``ranks`` or below 1, an unranked partner 0. The scale
    is declared, not read off the rankings, so one person's long list moves nobody else's fit.
    Solver and checker share this formula, as the calendar's weights are shared."""
    return 0 if rank is None else max(ranks + 1 - rank, 1)


# ---- job swaps --------------------------------------------------------------------------


class SwapCandidate(Record):
    """One row of a job-swap scheme's candidate table."""

    person_id: str = Field(min_length=1)
    name: str = ""
    grade_band: str = Field(min_length=1)
    team: str = ""
    department: str = ""
    line_manager_id: str = ""


@dataclass(frozen=True)
class SwapMarket:
    """Staff who would swap roles: ``rankings`` say whose role each would take (1 = first)."""

    name: str
    people: tuple[SwapCandidate, ...]
    rankings: tuple[Ranking, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    cycle_length: int = 2  # 2: pairs only; 3: also A takes B's role, B takes C's, C takes A's
    same_department: bool = False
    ranks: int = DEFAULT_RANKS  # the fit scale: see rank_points


@dataclass(frozen=True)
class Swap:
    """One cycle: ``members[i]`` takes the role of ``members[i + 1]`` (the last, the first's)."""

    members: tuple[str, ...]
    ranks: tuple[int, ...]  # the rank each member gave the role they take
    fit: int


@dataclass(frozen=True)
class Unpaired:
    person_id: str
    reason: str


@dataclass(frozen=True)
class SwapResult:
    market: str
    swaps: tuple[Swap, ...]
    unpaired: tuple[Unpaired, ...]
    swapped: int  # people who move role
    total_fit: int
    status: str  # optimal | feasible (time limit: the best found, with its bound)
    bound: int  # proven upper bound on the people moved
    fit_bound: int  # proven upper bound on the total fit, when as many as ``bound`` move


# ---- placements (secondments, stretch assignments, job moves) ---------------------------


class PlacementCandidate(Record):
    """One participant who would take a placement, with what the hosts' requirements test."""

    person_id: str = Field(min_length=1)
    name: str = ""
    grade_band: str = Field(min_length=1)
    skills: Names = ()
    locations: Names = ()  # where they can work; empty: anywhere
    available_from: date | None = None
    available_to: date | None = None


class Placement(Record):
    """One host placement: places, and the requirements every participant it takes meets."""

    placement_id: str = Field(min_length=1)
    name: str = ""
    host: str = ""
    capacity: Count = 1
    grade_bands: Names = ()  # the bands it is open to; empty: every band
    skills: Names = ()  # every one must be among the participant's
    location: str = ""
    start: date | None = None
    end: date | None = None
    full_time: bool = False  # the participant is away from their diary from start to end
    released_for_programme: bool = False  # ... but the host lets them attend programme sessions


@dataclass(frozen=True)
class PlacementMarket:
    """Participants rank placements (1 = first); a host may rank participants back. A pair is
    acceptable when the participant ranked the placement and meets its requirements."""

    name: str
    people: tuple[PlacementCandidate, ...]
    placements: tuple[Placement, ...]
    rankings: tuple[Ranking, ...] = ()
    ranks: int = DEFAULT_RANKS  # the fit scale: see rank_points
    adopt: ReadingName = "max_fit"  # the reading whose placements go into the calendar
    sessions_during_placements: Literal["blocked", "allowed"] = "blocked"


@dataclass(frozen=True)
class PlacementResult(MarketResult):
    """Two readings: max_fit (the most people placed, then the best total fit) and stable
    (participant-proposing deferred acceptance). In each Pair, ``mentee`` is the participant
    and ``mentor`` the placement; ``blocking_pairs`` block the max_fit reading."""


@dataclass(frozen=True)
class PlacementDays:
    """One adopted placement as days in a participant's diary (``start`` to ``end``, both
    inclusive). ``blocks``: no programme session may be booked for them on those days."""

    person_id: str
    placement_id: str
    title: str
    start: date
    end: date
    blocks: bool


def placement_days(market: PlacementMarket, result: PlacementResult) -> list[PlacementDays]:
    """The dated placements of the adopted reading, each marked blocking when it is full time,
    not released for the programme, and the scheme keeps sessions out of placements."""
    places = {p.placement_id: p for p in market.placements}
    found = []
    for pair in result.reading(market.adopt).pairs:
        place = places[pair.mentor]
        if place.start is None or place.end is None:
            continue  # undated: nothing to put in a diary
        blocks = (
            place.full_time
            and not place.released_for_programme
            and market.sessions_during_placements == "blocked"
        )
        where = f" ({place.host})" if place.host else ""
        title = (place.name or f"Placement {place.placement_id}") + where
        found.append(
            PlacementDays(pair.mentee, place.placement_id, title, place.start, place.end, blocks)
        )
    return sorted(found, key=lambda d: (d.person_id, d.start, d.placement_id))
