"""Reason codes: why an applicant got their outcome, and the words for each."""

from __future__ import annotations

INELIGIBLE_REASONS = (
    "grade",
    "probation",
    "line_manager_approval",
    "performance",
    "not_scored",
    "below_min_score",
    "no_cohort",
)
