"""The matching rules: who may mentor or coach whom, in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cohort_solver.domain.scenario import Applicant, Coach, Mentor, Scenario


def management_chain(applicant: Applicant, by_id: Mapping[str, Applicant]) -> list[str]:
    """The participant's line manager and everyone above them, as far as applicants.csv tells."""
    chain: list[str] = []
    manager = applicant.line_manager_id
    while manager and manager not in chain and manager != applicant.applicant_id:
        chain.append(manager)
        above = by_id.get(manager)
        manager = above.line_manager_id if above else None
    return chain


def _conflicts(scenario: Scenario) -> set[frozenset[str]]:
    return {frozenset((c.person_a, c.person_b)) for c in scenario.conflicts}


def mentor_barriers(
    scenario: Scenario, applicant: Applicant, mentor: Mentor, chain: Sequence[str], conflicts: set
) -> list[str]:
    """Why this mentor may not mentor this participant (empty = lawful)."""
    rules = scenario.settings.matching
    barriers = []
    if mentor.mentor_id == applicant.applicant_id:
        barriers.append("is the participant")
    needed = applicant.grade + rules.mentor_min_grade_gap
    if mentor.grade < needed:
        barriers.append(f"grade {mentor.grade} is below {needed}")
    if mentor.mentor_id in chain:
        barriers.append("is in their management chain")
    if rules.exclude_same_service_area and (mentor.council, mentor.service_area) == applicant.area:
        barriers.append(f"works in their own service area ({mentor.service_area})")
    if frozenset((mentor.mentor_id, applicant.applicant_id)) in conflicts:
        barriers.append("has a declared conflict with them")
    return barriers


def coach_barriers(
    applicant: Applicant, coach: Coach, chain: Sequence[str], conflicts: set
) -> list[str]:
    """Why this coach may not coach this participant (empty = lawful)."""
    barriers = []
    if coach.coach_id == applicant.applicant_id:
        barriers.append("is the participant")
    if not coach.serves(applicant.council):
        barriers.append(f"does not serve {applicant.council}")
    if coach.coach_id in chain:
        barriers.append("is in their management chain")
    if frozenset((coach.coach_id, applicant.applicant_id)) in conflicts:
        barriers.append("has a declared conflict with them")
    return barriers


def covered_needs(applicant: Applicant, expertise: Sequence[str]) -> list[str]:
    offered = set(expertise)
    return [need for need in dict.fromkeys(applicant.development_needs) if need in offered]
