"""An independent checker for allocation.csv: plain Python, no solver, no shared helpers.

It recomputes eligibility, aggregate scores, the lottery and the six objective levels from the
scenario itself, so a bug in ``selection.py`` or the CP-SAT model cannot hide behind itself.
Each ``check_*`` returns the violations it finds (empty = the rule holds).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from cohort_solver.domain.results import Decision
from cohort_solver.domain.scenario import Scenario


def expected_scores(scenario: Scenario) -> dict[str, Decimal]:
    if scenario.settings.selection.mode != "competitive":
        return {}  # open and mandatory selections do not read the panel's scores
    weights = scenario.settings.selection.criteria
    per: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for row in scenario.scores:
        weight = Fraction(str(weights.get(row.criterion, 1))) if row.criterion else Fraction(1)
        per[row.applicant_id][row.panelist] += weight * Fraction(row.score)
    method = scenario.settings.selection.aggregate
    if method == "normalised_mean":
        columns: dict[str, list[Fraction]] = defaultdict(list)
        for by in per.values():
            for panelist, value in by.items():
                columns[panelist].append(value)
        stats: dict[str, tuple[Fraction, Decimal]] = {}
        for panelist, values in columns.items():
            mean = sum(values, Fraction(0)) / len(values)
            variance = sum(((v - mean) ** 2 for v in values), Fraction(0)) / len(values)
            stats[panelist] = (mean, Decimal(variance.numerator) / Decimal(variance.denominator))
        result = {}
        for applicant_id, by in per.items():
            zs = []
            for panelist, value in by.items():
                centre, spread = stats[panelist]
                sd = spread.sqrt()
                zs.append(Decimal(0) if sd == 0 else (_dec(value) - _dec(centre)) / sd)
            result[applicant_id] = (sum(zs, Decimal(0)) / len(zs)).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
        return result
    result = {}
    for applicant_id, by in per.items():
        values = sorted(by.values())
        if method == "median":
            mid = len(values) // 2
            value = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        else:
            value = sum(values, Fraction(0)) / len(values)
        result[applicant_id] = _dec(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return result


def _dec(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def eligible_grades(scenario: Scenario, listed: Sequence[int | str] | None = None) -> set[int]:
    """The eligible grades (``listed``, default [selection]'s) as applicants' grade values:
    with a [grades] order, the position of each label (case-insensitive), else the whole
    numbers themselves."""
    grades = scenario.settings.grades
    if listed is None:
        listed = scenario.settings.selection.eligible_grades
    if grades is None:
        return {int(g) for g in listed}
    folded = [label.casefold() for label in grades.order]
    return {folded.index(str(g).strip().casefold()) for g in listed}


def track_band(scenario: Scenario, track_id: str | None) -> set[int]:
    """A track's grade band (its own eligible_grades, else [selection]'s)."""
    track = next((t for t in scenario.settings.tracks if t.id == track_id), None)
    return eligible_grades(scenario, None if track is None else track.eligible_grades)


def expected_failures(scenario: Scenario) -> dict[str, list[str]]:
    selection = scenario.settings.selection
    scores = expected_scores(scenario)
    grades = eligible_grades(scenario)
    failures = {}
    for a in scenario.applicants:
        score = scores.get(a.applicant_id)
        failed = []
        if _wrong_grade(scenario, a.applicant_id, grades):
            failed.append("grade")
        if not a.probation_passed:
            failed.append("probation")
        if not a.line_manager_approved:
            failed.append("line_manager_approval")
        if not a.performance_eligible:
            failed.append("performance")
        if selection.mode != "competitive":
            pass  # no panel: neither a missing score nor the minimum applies
        elif score is None:
            failed.append("not_scored")
        elif score < Decimal(str(selection.min_score)):
            failed.append("below_min_score")
        if not admitted(scenario, a.applicant_id):
            failed.append("no_cohort")
        failures[a.applicant_id] = failed
    return failures


def _wrong_grade(scenario: Scenario, applicant_id: str, grades: set[int]) -> bool:
    """Without tracks: not an eligible grade. With tracks: no cohort open to them is in a track
    whose band holds their grade (none open: no track they applied to has it in its band)."""
    applicant = next(a for a in scenario.applicants if a.applicant_id == applicant_id)
    tracks = scenario.settings.tracks
    if not tracks:
        return applicant.grade not in grades
    track_of = {c.id: c.track for c in scenario.cohorts}
    open_cohorts = admitted(scenario, applicant_id)
    if open_cohorts:
        return all(applicant.grade not in track_band(scenario, track_of[c]) for c in open_cohorts)
    wanted = applicant.tracks or [t.id for t in tracks]
    return all(applicant.grade not in track_band(scenario, t) for t in wanted)


def admitted(scenario: Scenario, applicant_id: str) -> list[str]:
    """The cohorts open to the applicant's council and their lists, in preference order (with
    tracks: only those of the tracks they applied to, by their order, else toml order)."""
    applicant = next(a for a in scenario.applicants if a.applicant_id == applicant_id)
    cohorts = scenario.cohorts
    open_to = [c for c in cohorts if c.councils is None or applicant.council in c.councils]
    track_ids = [t.id for t in scenario.settings.tracks]
    if track_ids:
        order = list(dict.fromkeys(applicant.tracks)) or track_ids
        open_to = [c for t in order for c in open_to if c.track == t]
    open_ids = [c.id for c in open_to]
    wanted = list(applicant.cohorts) if applicant.cohorts else open_ids
    result = []
    for cohort_id in wanted:
        if cohort_id in open_ids and cohort_id not in result:
            result.append(cohort_id)
    return result


def acceptable(scenario: Scenario, applicant_id: str) -> list[str]:
    """The cohorts the applicant may join, in preference order: those admitted, and with
    tracks only the cohorts whose track's band holds their grade."""
    result = admitted(scenario, applicant_id)
    if not scenario.settings.tracks:
        return result
    grade = next(a.grade for a in scenario.applicants if a.applicant_id == applicant_id)
    track_of = {c.id: c.track for c in scenario.cohorts}
    return [c for c in result if grade in track_band(scenario, track_of[c])]


def check_tracks(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """With tracks: every participant's cohort is in a track they applied to (their tracks
    column, or any) and whose grade band holds their grade."""
    if not scenario.settings.tracks:
        return []
    track_of = {c.id: c.track for c in scenario.cohorts}
    applicants = {a.applicant_id: a for a in scenario.applicants}
    out = []
    for o in outcomes:
        if o.status != "selected" or o.cohort_id not in track_of:
            continue
        applicant, track = applicants[o.applicant_id], track_of[o.cohort_id]
        if applicant.tracks and track not in applicant.tracks:
            out.append(
                f"{o.applicant_id}: in cohort {o.cohort_id} of track {track}, not applied to"
            )
        if applicant.grade not in track_band(scenario, track):
            out.append(
                f"{o.applicant_id}: in cohort {o.cohort_id}, but their grade is outside track "
                f"{track}'s band"
            )
    return out


def lottery(scenario: Scenario) -> dict[str, int]:
    seed = scenario.settings.selection.seed
    ordered = sorted(
        scenario.applicants,
        key=lambda a: hashlib.sha256(f"{seed}:{a.applicant_id}".encode()).hexdigest(),
    )
    return {a.applicant_id: i for i, a in enumerate(ordered, start=1)}


def members(scenario: Scenario, applicant_id: str, ring_fence: str) -> bool:
    rf = next(r for r in scenario.settings.selection.ring_fence if r.name == ring_fence)
    applicant = next(a for a in scenario.applicants if a.applicant_id == applicant_id)
    return any(applicant.groups.get(g, False) for g in rf.groups)


def minimum(
    scenario: Scenario, ring_fence_name: str, places: int, cohort_id: str | None = None
) -> int:
    """Places a ring fence holds in a cohort of ``places``; with ``cohort_id``, none when the
    ring fence names tracks and the cohort's track is not one of them."""
    rf = next(r for r in scenario.settings.selection.ring_fence if r.name == ring_fence_name)
    if rf.tracks is not None and cohort_id is not None:
        track = next((c.track for c in scenario.cohorts if c.id == cohort_id), None)
        if track not in rf.tracks:
            return 0
    if rf.min_places is not None:
        return min(places, rf.min_places)
    return min(places, math.ceil(Fraction(str(rf.min_share)) * places))


# --------------------------------------------------------------------------- rules


def check_one_row_per_applicant(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    expected = [a.applicant_id for a in scenario.applicants]
    got = [o.applicant_id for o in outcomes]
    return (
        []
        if got == expected
        else ["allocation.csv must have one row per applicant in applicants.csv order"]
    )


def check_eligibility(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    failures = expected_failures(scenario)
    problems = []
    for o in outcomes:
        failed = failures[o.applicant_id]
        if failed and (o.status != "ineligible" or str(o.reason) != ";".join(failed)):
            problems.append(f"{o.applicant_id}: fails {failed} but is {o.status} ({o.reason})")
        if not failed and o.status == "ineligible":
            problems.append(f"{o.applicant_id}: eligible but marked ineligible")
    return problems


def check_scores(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    scores = expected_scores(scenario)
    return [
        f"{o.applicant_id}: score {o.score} should be {scores.get(o.applicant_id)}"
        for o in outcomes
        if o.score != scores.get(o.applicant_id)
    ]


def check_acceptable_cohort(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    return [
        f"{o.applicant_id}: placed in cohort {o.cohort_id}, not acceptable to them"
        for o in outcomes
        if o.status == "selected" and o.cohort_id not in acceptable(scenario, o.applicant_id)
    ]


def _selected(scenario: Scenario, outcomes: Sequence[Decision]) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {c.id: [] for c in scenario.cohorts}
    for o in outcomes:
        if o.status == "selected":
            chosen.setdefault(o.cohort_id or "", []).append(o.applicant_id)
    return chosen


def check_places(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    chosen = _selected(scenario, outcomes)
    return [
        f"cohort {c.id}: {len(chosen[c.id])} selected but only {c.places} places"
        for c in scenario.cohorts
        if len(chosen[c.id]) > c.places
    ]


def check_spread(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    spread = scenario.settings.selection.spread
    people = {a.applicant_id: a for a in scenario.applicants}
    problems = []
    for cohort_id, ids in _selected(scenario, outcomes).items():
        areas = Counter((people[i].council, people[i].service_area) for i in ids)
        councils = Counter(people[i].council for i in ids)
        if spread.max_per_service_area is not None:
            problems += [
                f"cohort {cohort_id}: {n} from {area}"
                for area, n in areas.items()
                if n > spread.max_per_service_area
            ]
        if spread.max_per_council is not None:
            problems += [
                f"cohort {cohort_id}: {n} from council {council}"
                for council, n in councils.items()
                if n > spread.max_per_council
            ]
        if spread.min_service_areas and len(areas) < spread.min_service_areas:
            problems.append(f"cohort {cohort_id}: only {len(areas)} service areas")
    return problems


def check_hold(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """`hold` under a minimum guarantee: at most places - minimum non-members. Over and above:
    everyone selected fits in an open place or a held place open to them (check_seating)."""
    problems = []
    places = {c.id: c.places for c in scenario.cohorts}
    for rf in scenario.settings.selection.ring_fence:
        if rf.unfilled != "hold" or rf.reading == "over_and_above":
            continue
        for cohort_id, ids in _selected(scenario, outcomes).items():
            outsiders = sum(not members(scenario, i, rf.name) for i in ids)
            held = minimum(scenario, rf.name, places[cohort_id], cohort_id)
            allowed = places[cohort_id] - held
            if outsiders > allowed:
                problems.append(
                    f"cohort {cohort_id}: {outsiders} non-members of '{rf.name}' (hold allows {allowed})"
                )
    return problems


# ---------------------------------------------------------------- the over-and-above reading
#
# A cohort of P places has, for each over-and-above ring fence in toml order, a block of held
# places (its minimum of what the earlier blocks left) and P - (the blocks) open places. The
# first pass fills the open places on merit from everyone, the second the held places: a
# member of the ring fence, or under `release` anyone once no member is left.


def blocks(scenario: Scenario, places: int) -> list[tuple[str, int, bool]]:
    """(ring fence, held places, members only) per over-and-above ring fence."""
    left = places
    result = []
    for rf in scenario.settings.selection.ring_fence:
        if rf.reading == "over_and_above":
            size = min(left, minimum(scenario, rf.name, places))
            left -= size
            result.append((rf.name, size, rf.unfilled == "hold"))
    return result


def over_and_above(scenario: Scenario) -> bool:
    return any(rf.reading == "over_and_above" for rf in scenario.settings.selection.ring_fence)


@dataclass
class _Facts:
    """What the over-and-above checks look up again and again, worked out once per scenario."""

    scores: dict[str, Decimal]
    ranks: dict[str, int]
    member: set[tuple[str, str]]  # (applicant, ring fence)
    preference: dict[tuple[str, str], int]  # (applicant, cohort) -> position in their list
    picks: dict[tuple[str, frozenset[str]], tuple[tuple[str, ...], int]] = field(
        default_factory=dict
    )


_FACTS: list[tuple[Scenario, _Facts]] = []


def _facts(scenario: Scenario) -> _Facts:
    if not _FACTS or _FACTS[0][0] is not scenario:
        names = [rf.name for rf in scenario.settings.selection.ring_fence]
        ids = [a.applicant_id for a in scenario.applicants]
        facts = _Facts(
            expected_scores(scenario),
            lottery(scenario),
            {(a, n) for a in ids for n in names if members(scenario, a, n)},
            {(a, k): i for a in ids for i, k in enumerate(acceptable(scenario, a))},
        )
        _FACTS[:] = [(scenario, facts)]
    return _FACTS[0][1]


def best_seating(
    scenario: Scenario, ids: Sequence[str], seats: Sequence[tuple[str, int, bool]]
) -> int | None:
    """Every one of ``ids`` in a seat open to them: the most seats taken by members of their
    own ring fence, by trying every assignment (None: they do not all fit)."""
    member = _facts(scenario).member
    if len(seats) == 1:  # one block: everyone in it, if they fit
        name, size, members_only = seats[0]
        inside = sum((a, name) in member for a in ids)
        return inside if len(ids) <= size and (inside == len(ids) or not members_only) else None
    best: int | None = None
    for choice in itertools.product(range(len(seats)), repeat=len(ids)):
        taken = Counter(choice)
        if any(taken[i] > seats[i][1] for i in taken):
            continue
        pairs = list(zip(ids, choice, strict=True))
        if all(not seats[k][2] or (a, seats[k][0]) in member for a, k in pairs):
            gain = sum((a, seats[k][0]) in member for a, k in pairs)
            best = gain if best is None else max(best, gain)
    return best


def open_places_taken(scenario: Scenario, cohort_id: str, ids: Sequence[str]) -> list[str]:
    """Who of a cohort's selected ``ids`` hold its open places: of every way to leave the rest
    in held places open to them, the best on (open places filled, score, preference, lottery)."""
    return list(_open_and_held(scenario, cohort_id, ids)[0])


def _open_and_held(
    scenario: Scenario, cohort_id: str, ids: Sequence[str]
) -> tuple[tuple[str, ...], int]:
    """The open places' holders, and the held places that then go to members (of several
    best picks, the one leaving the most held places to members: the second pass decides)."""
    facts = _facts(scenario)
    memo = (cohort_id, frozenset(ids))
    if memo in facts.picks:
        return facts.picks[memo]
    places = next(c.places for c in scenario.cohorts if c.id == cohort_id)
    held = blocks(scenario, places)
    free = places - sum(size for _, size, _ in held)
    result: tuple[tuple[str, ...], int] = ((), 0)
    for size in range(min(free, len(ids)), -1, -1):
        best: tuple[tuple[Decimal, int, int, int], tuple[str, ...], int] | None = None
        for picked in itertools.combinations(sorted(ids), size):
            seated = best_seating(scenario, [a for a in ids if a not in picked], held)
            if seated is None:
                continue
            key = (
                sum((facts.scores.get(a, Decimal(0)) for a in picked), Decimal(0)),
                -sum(facts.preference[a, cohort_id] for a in picked),
                -sum(facts.ranks[a] for a in picked),
                seated,
            )
            if best is None or key > best[0]:
                best = (key, picked, seated)
        if best is not None:
            result = (best[1], best[2])
            break
    facts.picks[memo] = result
    return result


def check_seating(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """Over and above: each cohort's selected fit in its open and held places. By Hall's
    theorem they fit exactly when, for every set T of members-only blocks, those who belong to
    none of T's ring fences are no more than the places outside T."""
    if not over_and_above(scenario):
        return []
    problems = []
    for cohort in scenario.cohorts:
        ids = _selected(scenario, outcomes)[cohort.id]
        hold = [(name, size) for name, size, only in blocks(scenario, cohort.places) if only]
        for n in range(len(hold) + 1):
            for fences in itertools.combinations(hold, n):
                outside = [
                    a for a in ids if not any(members(scenario, a, name) for name, _ in fences)
                ]
                if len(outside) > cohort.places - sum(size for _, size in fences):
                    problems.append(
                        f"cohort {cohort.id}: {len(outside)} selected outside ring fence(s) "
                        f"{', '.join(repr(name) for name, _ in fences) or '(none)'}, but only "
                        f"{cohort.places - sum(size for _, size in fences)} places are not held "
                        "for them (over and above, hold)"
                    )
    return problems


def reading_key(scenario: Scenario, placement: dict[str, str]) -> tuple[int, ...]:
    """Both passes' levels, bigger is better: the first pass (the minimum guarantees, then the
    open places on merit), then the six levels of the whole allocation."""
    scores, ranks = _facts(scenario).scores, _facts(scenario).ranks
    position = {c.id: i for i, c in enumerate(scenario.cohorts)}
    guaranteed = 0
    first = [0, 0, 0, 0, 0]
    for cohort in scenario.cohorts:
        ids = [a for a, k in placement.items() if k == cohort.id]
        for rf in scenario.settings.selection.ring_fence:
            if rf.reading == "minimum_guarantee":
                guaranteed += min(
                    sum(members(scenario, i, rf.name) for i in ids),
                    minimum(scenario, rf.name, cohort.places, cohort.id),
                )
        picked = open_places_taken(scenario, cohort.id, ids)
        first[0] += len(picked)
        first[1] += sum(int(scores.get(a, Decimal(0)) * 100) for a in picked)
        first[2] -= sum(acceptable(scenario, a).index(cohort.id) for a in picked)
        first[3] -= sum(ranks[a] for a in picked)
        first[4] -= sum(ranks[a] * position[cohort.id] for a in picked)
    return (guaranteed, *first, *lexicographic_key(objective(scenario, placement)))


def check_ring_fences_listed(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    names = [r.name for r in scenario.settings.selection.ring_fence]
    return [
        f"{o.applicant_id}: ring_fences {o.ring_fences} wrong"
        for o in outcomes
        if list(o.ring_fences) != [n for n in names if members(scenario, o.applicant_id, n)]
    ]


def _lawful(scenario: Scenario, placement: dict[str, str]) -> bool:
    """Every hard cohort rule (places, spread limits, held ring fences) holds."""
    rows = [Decision(applicant_id=a, status="selected", cohort_id=k) for a, k in placement.items()]
    return not (
        check_places(scenario, rows)
        or check_spread(scenario, rows)
        or check_hold(scenario, rows)
        or check_seating(scenario, rows)
    )


def allocation_key(scenario: Scenario, placement: dict[str, str]) -> tuple[int, ...]:
    """What the allocation maximises: the six levels, or over and above both passes'."""
    if over_and_above(scenario):
        return reading_key(scenario, placement)
    return lexicographic_key(objective(scenario, placement))


def _waiting(outcomes: Sequence[Decision]) -> list[str]:
    return [
        o.applicant_id
        for o in outcomes
        if o.status in ("reserve", "not_selected") and str(o.reason) != "withdrawn"
    ]


def best_replacement(
    scenario: Scenario, outcomes: Sequence[Decision], leaver: str
) -> tuple[str, str] | None:
    """Brute force: of every (waiting applicant, acceptable cohort) that keeps every hard rule
    with the others kept, the lexicographically best allocation's newcomer (None: the place
    stays empty)."""
    rest = {a: k for a, k in placement_of(outcomes).items() if a != leaver}
    best: tuple[tuple[int, ...], tuple[str, str] | None] | None = None
    if _lawful(scenario, rest):
        best = (allocation_key(scenario, rest), None)
    for applicant_id in _waiting(outcomes):
        for cohort_id in acceptable(scenario, applicant_id):
            trial = {**rest, applicant_id: cohort_id}
            if not _lawful(scenario, trial):
                continue
            key = allocation_key(scenario, trial)
            if best is None or key > best[0]:
                best = (key, (applicant_id, cohort_id))
    return best[1] if best else None


def check_replaced_by(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """Each selected participant's replaced_by is the brute-force best replacement."""
    problems = []
    for o in outcomes:
        if o.status != "selected":
            continue
        best = best_replacement(scenario, outcomes, o.applicant_id)
        want = best[0] if best else None
        if o.replaced_by != want:
            problems.append(f"{o.applicant_id}: replaced_by {o.replaced_by}, should be {want}")
    return problems


def _can_take_a_place(
    scenario: Scenario, outcomes: Sequence[Decision], applicant_id: str
) -> str | None:
    """The first cohort (in the applicant's order) where they can lawfully take the place of
    some selected participant, everyone else kept."""
    placement = placement_of(outcomes)
    for cohort_id in acceptable(scenario, applicant_id):
        for leaver in [a for a, k in placement.items() if k == cohort_id]:
            trial = {a: k for a, k in placement.items() if a != leaver}
            if _lawful(scenario, {**trial, applicant_id: cohort_id}):
                return cohort_id
    return None


def check_reserves(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """Reserves of a cohort: the `reserves` best (score, preference position, lottery) of the
    waiting applicants whose first cohort where they can lawfully take some place it is."""
    scores = expected_scores(scenario)
    ranks = lottery(scenario)
    reserves = scenario.settings.selection.reserves
    waiting: dict[str, list[str]] = defaultdict(list)
    by_id = {o.applicant_id: o for o in outcomes}
    problems = []
    for applicant_id in _waiting(outcomes):
        cohort_id = _can_take_a_place(scenario, outcomes, applicant_id)
        if cohort_id is None:
            if by_id[applicant_id].status == "reserve":
                problems.append(f"{applicant_id}: a reserve who can take no selected place")
        else:
            waiting[cohort_id].append(applicant_id)
    # Over and above, whoever some withdrawal would bring in comes first (the contract).
    first = (
        {
            best[0]
            for o in outcomes
            if o.status == "selected"
            for best in [best_replacement(scenario, outcomes, o.applicant_id)]
            if best
        }
        if over_and_above(scenario)
        else set()
    )
    for cohort_id, ids in waiting.items():
        ids.sort(
            key=lambda i: (
                i not in first,
                -scores.get(i, Decimal(0)),
                acceptable(scenario, i).index(cohort_id),
                ranks[i],
            )
        )
        for rank, applicant_id in enumerate(ids, start=1):
            o = by_id[applicant_id]
            want = (
                ("reserve", rank, cohort_id) if rank <= reserves else ("not_selected", None, None)
            )
            if (o.status, o.reserve_rank, o.cohort_id) != want:
                problems.append(
                    f"{applicant_id}: should be {want}, is {(o.status, o.reserve_rank, o.cohort_id)}"
                )
    return problems


def check_withdrawal(
    scenario: Scenario, before: Sequence[Decision], after: Sequence[Decision], leaver: str
) -> list[str]:
    """After ``leaver`` withdraws: everyone else keeps their place, the leaver is out as
    withdrawn, and the one newcomer is the brute-force best (and the one replaced_by named)."""
    was = placement_of(before)
    now = placement_of(after)
    problems = [
        f"{a} lost their place in {k}" for a, k in was.items() if a != leaver and now.get(a) != k
    ]
    row = next(o for o in after if o.applicant_id == leaver)
    if row.status != "not_selected" or str(row.reason) != "withdrawn":
        problems.append(f"{leaver} is {row.status} ({row.reason}), not withdrawn")
    joined = {a: k for a, k in now.items() if a not in was}
    best = best_replacement(scenario, before, leaver)
    if joined != (dict([best]) if best else {}):
        problems.append(f"newcomers {joined}, the best lawful replacement is {best}")
    named = next(o.replaced_by for o in before if o.applicant_id == leaver)
    if named != (best[0] if best else None):
        problems.append(f"replaced_by named {named}, withdraw took {best}")
    return problems


def check_no_justified_envy(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """No unselected applicant outscores a selected one who is the same in every respect
    the rules look at (ring fences, council, service area) in a cohort both can join. Without
    a panel (open, mandatory) "outscores" means a better lottery rank, for a cohort the
    left-out applicant ranks no lower in their preferences."""
    ranking = (expected_scores(scenario), lottery(scenario))
    people = {a.applicant_id: a for a in scenario.applicants}
    fences = {o.applicant_id: o.ring_fences for o in outcomes}
    problems = []
    selected = [o for o in outcomes if o.status == "selected"]
    for o in outcomes:
        if o.status not in ("reserve", "not_selected") or str(o.reason) == "withdrawn":
            continue
        me = people[o.applicant_id]
        for s in selected:
            other = people[s.applicant_id]
            if (
                fences[s.applicant_id] == fences[o.applicant_id]
                and (other.council, other.service_area) == (me.council, me.service_area)
                and s.cohort_id in acceptable(scenario, o.applicant_id)
                and _ahead(scenario, ranking, o.applicant_id, s.applicant_id, s.cohort_id)
            ):
                problems.append(
                    f"{o.applicant_id} outscores {s.applicant_id} in cohort {s.cohort_id} but was left out"
                )
    return problems


def _ahead(
    scenario: Scenario,
    ranking: tuple[dict[str, Decimal], dict[str, int]],
    out: str,
    placed: str,
    cohort_id: str | None,
) -> bool:
    """Would putting ``out`` in ``placed``'s place improve the objective at levels 3-5?"""
    scores, ranks = ranking
    if scenario.settings.selection.mode == "competitive":
        return scores[out] > scores[placed]
    assert cohort_id is not None
    mine = acceptable(scenario, out).index(cohort_id)
    theirs = acceptable(scenario, placed).index(cohort_id)
    return mine < theirs or (mine == theirs and ranks[out] < ranks[placed])


def check_mandatory(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """A mandatory selection places every eligible person who has not withdrawn."""
    if scenario.settings.selection.mode != "mandatory":
        return []
    return [
        f"{o.applicant_id}: eligible for a mandatory programme but {o.status}"
        for o in outcomes
        if o.status in ("reserve", "not_selected") and str(o.reason) != "withdrawn"
    ]


RULES = (
    check_one_row_per_applicant,
    check_eligibility,
    check_scores,
    check_acceptable_cohort,
    check_tracks,
    check_places,
    check_spread,
    check_hold,
    check_seating,
    check_ring_fences_listed,
    check_reserves,
    check_replaced_by,
    check_no_justified_envy,
    check_mandatory,
)


def violations(scenario: Scenario, outcomes: Sequence[Decision]) -> list[str]:
    """Every violated rule, or an empty list."""
    return [problem for rule in RULES for problem in rule(scenario, outcomes)]


def objective(scenario: Scenario, placement: dict[str, str]) -> tuple[int, int, int, int, int, int]:
    """The six levels of the contract for a placement (applicant -> cohort). Over and above,
    level 1 counts an over-and-above ring fence's held places that go to members."""
    scores, ranks = _facts(scenario).scores, _facts(scenario).ranks
    position = {c.id: i for i, c in enumerate(scenario.cohorts)}
    fill = 0
    for cohort in scenario.cohorts:
        ids = [a for a, k in placement.items() if k == cohort.id]
        if over_and_above(scenario):
            fill += _open_and_held(scenario, cohort.id, ids)[1]
        for rf in scenario.settings.selection.ring_fence:
            if rf.reading == "over_and_above":
                continue
            fill += min(
                sum(members(scenario, i, rf.name) for i in ids),
                minimum(scenario, rf.name, cohort.places, cohort.id),
            )
    return (
        fill,
        len(placement),
        sum(int(scores.get(a, Decimal(0)) * 100) for a in placement),
        sum(acceptable(scenario, a).index(k) for a, k in placement.items()),
        sum(ranks[a] for a in placement),
        sum(ranks[a] * position[k] for a, k in placement.items()),
    )


def placement_of(outcomes: Sequence[Decision]) -> dict[str, str]:
    return {o.applicant_id: o.cohort_id for o in outcomes if o.status == "selected" and o.cohort_id}


def lexicographic_key(levels: Sequence[int]) -> tuple[int, ...]:
    """Bigger is better on every position (the min levels are negated)."""
    return (levels[0], levels[1], levels[2], -levels[3], -levels[4], -levels[5])
