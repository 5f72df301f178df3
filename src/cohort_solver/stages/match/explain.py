"""Matching in words: the reasons for a pair, why no matching exists, and explain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cohort_solver.domain.results import Decision, Match
from cohort_solver.domain.scenario import Applicant, Coach, Mentor, Scenario
from cohort_solver.stages.match.flow import hall_violation
from cohort_solver.stages.match.pool import Pool
from cohort_solver.stages.match.rules import (
    Relations,
    coach_barriers,
    covered_needs,
    mentor_barriers,
)


def reasons(scenario: Scenario, applicant: Applicant, mentor: Mentor, coach: Coach) -> str:
    """Why this pair: needs covered and exposure. Never groups or scores."""
    parts = []
    if mentor.mentor_id:  # blank: the programme has no mentoring
        mentor_needs = covered_needs(applicant, mentor.expertise)
        parts.append(
            "mentor covers " + ", ".join(mentor_needs)
            if mentor_needs
            else "mentor covers no listed need"
        )
        if mentor.council != applicant.council:
            parts.append(f"mentor from another council ({mentor.council})")
        elif mentor.service_area != applicant.service_area:
            parts.append(f"mentor from another service area ({mentor.service_area})")
    if coach.coach_id:  # blank: the programme has no coaching
        coach_needs = covered_needs(applicant, coach.expertise)
        parts.append(
            "coach covers " + ", ".join(coach_needs)
            if coach_needs
            else "coach covers no listed need"
        )
    return "; ".join(parts)


def feasibility_causes(scenario: Scenario, pool: Pool) -> list[str]:
    """Cheap supply/demand checks, in coordinator words (empty = a complete matching exists)."""
    causes: list[str] = []
    relations = Relations(scenario)
    ids = pool.ids
    for p in pool.participants:
        i = p.applicant_id
        facts = relations.facts(p)
        if not pool.mentor_options[i]:
            causes.append(
                f"{i}: no lawful mentor — "
                + _summarise(
                    [
                        (
                            m.mentor_id,
                            ["has no places"]
                            if m.capacity <= 0
                            else mentor_barriers(scenario, facts, m),
                        )
                        for m in pool.mentors.values()
                    ],
                    "mentor",
                )
            )
        if not pool.coach_options[i]:
            causes.append(
                f"{i}: no lawful coach — "
                + _summarise(
                    [
                        (
                            c.coach_id,
                            ["has no places"]
                            if c.capacity <= 0
                            else coach_barriers(scenario, facts, c),
                        )
                        for c in pool.coaches.values()
                    ],
                    "coach",
                )
            )
    if causes:
        return causes
    for role, options, resources in (
        ("mentor", pool.mentor_options, pool.mentors),
        ("coach", pool.coach_options, pool.coaches),
    ):
        capacity = {r: x.capacity for r, x in resources.items()}
        places = sum(capacity.values())
        if places < len(ids):
            causes.append(
                f"{role} capacity short by {len(ids) - places} "
                f"({len(ids)} participants, {places} {role} places)"
            )
            continue
        violation = hall_violation(ids, options, capacity)
        if violation:
            group, offered, short = violation
            causes.append(
                f"{', '.join(group)} can only have {role}s {', '.join(offered) or 'nobody'}, "
                f"who have {sum(capacity[r] for r in offered)} places between them: "
                f"{role} capacity short by {short}"
            )
    return causes


def _summarise(barriers: Sequence[tuple[str, list[str]]], role: str) -> str:
    if not barriers:
        return f"there are no {role}s"
    counts: dict[str, list[str]] = defaultdict(list)
    for who, why in barriers:
        for reason in why:
            counts[reason].append(who)
    return "; ".join(
        f"{', '.join(who)}: {reason}"
        for reason, who in sorted(counts.items(), key=lambda kv: kv[0])
    )


def explain_match(
    scenario: Scenario, selected: Sequence[Decision], matches: Sequence[Match], participant_id: str
) -> str:
    """Why this participant has their mentor and coach, and the best lawful alternatives."""
    row = next((m for m in matches if m.participant_id == participant_id), None)
    if row is None:
        return f"{participant_id} is not a selected participant, so has no mentor or coach."
    pool = Pool.build(scenario, [o for o in selected if o.applicant_id == participant_id])
    mentor_load: dict[str, int] = defaultdict(int)
    coach_load: dict[str, int] = defaultdict(int)
    for other in matches:
        mentor_load[other.mentor_id] += 1
        coach_load[other.coach_id] += 1
    lines = [
        f"{participant_id} is mentored by {row.mentor_id} (fit {row.mentor_fit}) and coached by "
        f"{row.coach_id} (fit {row.coach_fit}): {row.reasons}."
    ]
    for role, options, chosen, resources, load in (
        ("mentor", pool.mentor_options[participant_id], row.mentor_id, pool.mentors, mentor_load),
        ("coach", pool.coach_options[participant_id], row.coach_id, pool.coaches, coach_load),
    ):
        others = sorted(
            ((fit, r) for r, fit in options.items() if r != chosen), key=lambda t: (-t[0], t[1])
        )
        if not others:
            lines.append(f"No other lawful {role}.")
            continue
        fit, best = others[0]
        full = load[best] >= resources[best].capacity
        lines.append(
            f"Best lawful alternative {role}: {best} (fit {fit}"
            + (f", all {resources[best].capacity} places taken" if full else ", has a free place")
            + ")."
        )
    return " ".join(lines)
