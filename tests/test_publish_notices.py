"""notices.csv after a re-plan (contract section 4, "notices.csv"): one row per person whose
calendar changed, what changed for them in plain words, worked out here by hand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from cohort_solver.stages.export.notices import notices_csv
from tests.test_publish import _v1, _v2, _v3
from tests.test_publish_uids import _scenario


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {row["person_id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_a_moved_session_is_one_sentence_for_each_person_in_it(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "moved")
    text = notices_csv(
        scenario, _v1(), _v2(), {"main-C1-A001": "CO1 now unavailable at the old time"}
    )
    assert text.splitlines()[0] == "person_id,name,email,role,changes,notice"
    rows = _rows(text)
    assert set(rows) == {"A001", "CO1"}  # only the two people in the moved session
    assert rows["A001"]["name"] == "Priya Sharma"
    assert rows["A001"]["email"] == "priya.sharma@oxford.gov.uk"
    assert rows["A001"]["role"] == "participant" and rows["CO1"]["role"] == "coach"
    assert rows["A001"]["changes"] == "1"
    assert rows["A001"]["notice"] == (
        "Your Coaching on 15 May 2024 has moved to 22 May 2024, 10:00. "
        "Reason: CO1 now unavailable at the old time."
    )
    assert rows["CO1"]["notice"] == rows["A001"]["notice"]


def test_a_withdrawal_tells_the_leaver_and_their_coach(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "withdrawal")
    rows = _rows(notices_csv(scenario, _v2(), _v3()))
    assert set(rows) == {"A003", "CO1"}
    assert rows["A003"]["changes"] == "2"
    assert rows["A003"]["notice"] == (
        "You are no longer down for Group Workshop on 14 May 2024, 10:00. "
        "Your Coaching on 16 May 2024, 10:00 is cancelled."
    )
    assert rows["CO1"]["notice"] == "Your Coaching on 16 May 2024, 10:00 is cancelled."


def test_no_change_no_notices(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "same")
    assert notices_csv(scenario, _v1(), _v1()) == "person_id,name,email,role,changes,notice\n"
