"""An independent checker for matches.csv: plain Python, no solver, no shared helpers.

Each ``check_*`` returns the violations it finds (empty = the rule holds). Fit and the
objectives are recomputed from the scenario, so a bug in the solver's own fit cannot hide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import Applicant, Scenario


def _participants(scenario: Scenario, selected: Sequence[Decision]) -> dict[str, Applicant]:
    ids = {o.applicant_id for o in scenario.matched(selected)}  # a track may have none
    return {a.applicant_id: a for a in scenario.applicants if a.applicant_id in ids}


def _chain(managers: dict[str, str | None], applicant: Applicant) -> set[str]:
    seen: set[str] = set()
    current = applicant.line_manager_id
    while current and current not in seen:
        seen.add(current)
        current = managers.get(current)
    return seen


def check_one_row_per_participant(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    expected = set(_participants(scenario, selected))
    counts = Counter(m.participant_id for m in matches)
    out = [f"{p}: {n} rows" for p, n in sorted(counts.items()) if n != 1]
    out += [f"{p}: not selected but matched" for p in sorted(set(counts) - expected)]
    out += [f"{p}: selected but not matched" for p in sorted(expected - set(counts))]
    cohorts = {o.applicant_id: o.cohort_id for o in selected}
    out += [
        f"{m.participant_id}: wrong cohort {m.cohort_id}"
        for m in matches
        if m.participant_id in cohorts and m.cohort_id != cohorts[m.participant_id]
    ]
    return out


def check_known_people(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    # Without mentors.csv (coaches.csv) the programme has no mentoring (coaching): the only
    # lawful mentor_id (coach_id) is blank, and a blank one is unlawful when the file exists.
    mentors = {m.mentor_id for m in scenario.mentors} or {""}
    coaches = {c.coach_id for c in scenario.coaches} or {""}
    out = [
        f"{m.participant_id}: unknown mentor {m.mentor_id}"
        for m in matches
        if m.mentor_id not in mentors
    ]
    out += [
        f"{m.participant_id}: unknown coach {m.coach_id}"
        for m in matches
        if m.coach_id not in coaches
    ]
    return out


def check_mentor_capacity(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    load = Counter(m.mentor_id for m in matches)
    return [
        f"mentor {m.mentor_id}: {load[m.mentor_id]} participants, capacity {m.capacity}"
        for m in scenario.mentors
        if load[m.mentor_id] > m.capacity
    ]


def check_coach_capacity(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    load = Counter(m.coach_id for m in matches)
    return [
        f"coach {c.coach_id}: {load[c.coach_id]} participants, capacity {c.capacity}"
        for c in scenario.coaches
        if load[c.coach_id] > c.capacity
    ]


def check_grade_gap(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    gap = scenario.settings.matching.mentor_min_grade_gap
    people = _participants(scenario, selected)
    grades = {m.mentor_id: m.grade for m in scenario.mentors}
    return [
        f"{m.participant_id}: mentor {m.mentor_id} grade {grades[m.mentor_id]} < "
        f"{people[m.participant_id].grade} + {gap}"
        for m in matches
        if m.participant_id in people
        and m.mentor_id in grades
        and grades[m.mentor_id] < people[m.participant_id].grade + gap
    ]


def check_not_management_chain(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    people = _participants(scenario, selected)
    managers = {a.applicant_id: a.line_manager_id for a in scenario.applicants}
    out = []
    for m in matches:
        if m.participant_id not in people:
            continue
        chain = _chain(managers, people[m.participant_id]) | {m.participant_id}
        for role, who in (("mentor", m.mentor_id), ("coach", m.coach_id)):
            if who in chain:
                out.append(
                    f"{m.participant_id}: {role} {who} is themselves or in their management chain"
                )
    return out


def check_other_service_area(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    if not scenario.settings.matching.exclude_same_service_area:
        return []
    people = _participants(scenario, selected)
    areas = {m.mentor_id: (m.council, m.service_area) for m in scenario.mentors}
    return [
        f"{m.participant_id}: mentor {m.mentor_id} is in their own service area"
        for m in matches
        if m.participant_id in people
        and m.mentor_id in areas
        and areas[m.mentor_id]
        == (people[m.participant_id].council, people[m.participant_id].service_area)
    ]


def check_no_declared_conflict(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    pairs = {(c.person_a, c.person_b) for c in scenario.conflicts}
    pairs |= {(b, a) for a, b in pairs}
    out = []
    for m in matches:
        for role, who in (("mentor", m.mentor_id), ("coach", m.coach_id)):
            if (who, m.participant_id) in pairs:
                out.append(f"{m.participant_id}: declared conflict with {role} {who}")
    return out


def check_coach_serves_council(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    people = _participants(scenario, selected)
    serves = {c.coach_id: set(c.councils) for c in scenario.coaches}
    return [
        f"{m.participant_id}: coach {m.coach_id} does not serve {people[m.participant_id].council}"
        for m in matches
        if m.participant_id in people
        and serves.get(m.coach_id)
        and people[m.participant_id].council not in serves[m.coach_id]
    ]


def check_not_both_roles(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    return [
        f"{m.participant_id}: {m.mentor_id} is both mentor and coach"
        for m in matches
        if m.mentor_id == m.coach_id and m.mentor_id
    ]


def expected_fits(
    scenario: Scenario, applicant: Applicant, mentor_id: str, coach_id: str
) -> tuple[int, int]:
    w = scenario.settings.matching.weights
    needs = set(applicant.development_needs)
    mentor = next((m for m in scenario.mentors if m.mentor_id == mentor_id), None)
    coach = next((c for c in scenario.coaches if c.coach_id == coach_id), None)
    mf = cf = 0  # no mentoring (coaching): that side adds nothing
    if mentor is not None:
        mf = w.needs * len(needs & set(mentor.expertise))
        mf += w.other_council * (mentor.council != applicant.council)
        mf += w.other_service_area * (
            (mentor.council, mentor.service_area) != (applicant.council, applicant.service_area)
        )
    if coach is not None:
        cf = w.needs * len(needs & set(coach.expertise))
    return mf, cf


def check_fit_columns(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    people = _participants(scenario, selected)
    out = []
    for m in matches:
        if m.participant_id not in people or check_known_people(scenario, selected, [m]):
            continue
        fits = expected_fits(scenario, people[m.participant_id], m.mentor_id, m.coach_id)
        if fits != (m.mentor_fit, m.coach_fit):
            out.append(f"{m.participant_id}: fit {(m.mentor_fit, m.coach_fit)} should be {fits}")
    return out


def check_private_reasons(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    """Reasons never mention protected characteristics or scores."""
    words = {g.lower() for a in scenario.applicants for g in a.groups} | {
        "score",
        "woman",
        "disabled",
        "ethnic",
    }
    return [
        f"{m.participant_id}: reasons mention {w!r}"
        for m in matches
        for w in sorted(words)
        if w in m.reasons.lower()
    ]


RULES = (
    check_one_row_per_participant,
    check_known_people,
    check_mentor_capacity,
    check_coach_capacity,
    check_grade_gap,
    check_not_management_chain,
    check_other_service_area,
    check_no_declared_conflict,
    check_coach_serves_council,
    check_not_both_roles,
    check_fit_columns,
    check_private_reasons,
)


def violations(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> list[str]:
    """Every hard-rule violation in a matching (empty = lawful and complete)."""
    return [v for rule in RULES for v in rule(scenario, selected, matches)]


def objective(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match]
) -> dict[str, int]:
    """The fairness levels recomputed: worst participant's fit and total fit."""
    people = _participants(scenario, selected)
    fits = [
        sum(expected_fits(scenario, people[m.participant_id], m.mentor_id, m.coach_id))
        for m in matches
    ]
    return {"min_fit": min(fits, default=0), "total_fit": sum(fits)}


def kept_pairs(previous: Sequence[Match], matches: Sequence[Match]) -> int:
    """Mentor and coach pairs carried over from ``previous`` (each side counts once)."""
    now = {m.participant_id: m for m in matches}
    return sum(
        (p.participant_id in now and now[p.participant_id].mentor_id == p.mentor_id)
        + (p.participant_id in now and now[p.participant_id].coach_id == p.coach_id)
        for p in previous
    )
