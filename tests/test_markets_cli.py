"""`match` with a [[markets]] sign-up scheme in scenario.toml: NAME.csv beside matches.csv,
which stays byte for byte what it was; bad scheme tables are exit 2 at file:row:column."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from cohort_solver.checks.markets import check_market
from cohort_solver.cli import main
from cohort_solver.stages.load.markets import load_markets
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.match.markets.signup import solve_signup

MARKET_TOML = """
[[markets]]
name = "mentoring"
kind = "signup"
signups = "mentoring_signups"
rankings = "mentoring_rankings"
exclusions = "mentoring_exclusions"
"""

SIGNUPS = """person_id,name,role,capacity,team,line_manager_id,needs,expertise
S1,Sam,both,1,grants,S4,,finance
S2,Priya,mentee,,contracts,,finance,
S3,Tom,mentee,,grants,,,
S4,Ada,mentor,2,estates,,,finance;hr
S5,Lee,mentor,1,estates,,,hr
"""

RANKINGS = """person_id,partner_id,rank
S1,S1,1
S1,S5,2
S2,S4,1
S2,S1,2
S3,S4,1
S3,S5,2
S4,S2,1
"""

EXCLUSIONS = """person_id,partner_id,reason
S3,S5,declared conflict
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def with_scheme(folder: Path, rankings: str = RANKINGS) -> Path:
    (folder / "scenario.toml").write_text((folder / "scenario.toml").read_text() + MARKET_TOML)
    (folder / "mentoring_signups.csv").write_text(SIGNUPS)
    (folder / "mentoring_rankings.csv").write_text(rankings)
    (folder / "mentoring_exclusions.csv").write_text(EXCLUSIONS)
    return folder


def test_match_writes_mentoring_csv_and_leaves_matches_csv_unchanged(
    oxford: Path, tmp_path: Path
) -> None:
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "plain"))
    assert code == 0, output
    with_scheme(oxford)
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "mentoring: max_fit" in output and "stability costs" in output
    out = tmp_path / "out"
    assert (out / "matches.csv").read_bytes() == (tmp_path / "plain" / "matches.csv").read_bytes()
    rows = list(csv.DictReader((out / "mentoring.csv").open()))
    assert list(rows[0]) == [
        "reading",
        "mentee_id",
        "mentor_id",
        "fit",
        "mentee_rank",
        "mentor_rank",
        "reason",
    ]
    for row in rows:
        assert row["mentee_id"] != row["mentor_id"]  # S1 ranked themself first: never paired
    stable = {r["mentee_id"]: r["mentor_id"] for r in rows if r["reading"] == "stable"}
    assert stable["S2"] == "S4"  # each other's first choice
    assert stable["S1"] == "S5"  # not themself, not S4 (their line manager)
    assert stable["S3"] == "S4"  # S3 and S5 declared a conflict
    market = load_markets(load_scenario(oxford))[0]
    assert check_market(market, solve_signup(market)) == []


def test_a_ranking_of_someone_who_did_not_sign_up_is_bad_input_at_its_cell(
    oxford: Path, tmp_path: Path
) -> None:
    with_scheme(oxford, RANKINGS + "S2,S9,3\nS2,S4,4\n")
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert "mentoring_rankings.csv:9:2: partner_id: 'S9' has not signed up" in output
    assert (
        "mentoring_rankings.csv:10:2: partner_id: S2 and S4 appear again (first on row 4)" in output
    )
    assert not (tmp_path / "out").exists()


def test_a_market_may_not_take_the_name_of_an_output(oxford: Path, tmp_path: Path) -> None:
    with_scheme(oxford)
    toml = oxford / "scenario.toml"
    toml.write_text(toml.read_text().replace('name = "mentoring"', 'name = "matches"'))
    code, output = invoke("validate", str(oxford))
    assert code == 2, output
    assert "matches.csv is already an output" in output


SWAP_TOML = """
[[markets]]
name = "swaps"
kind = "swap"
signups = "swap_candidates"
rankings = "swap_rankings"
cycle_length = 3
"""

CANDIDATES = """person_id,name,grade_band,team,department,line_manager_id
R1,Ruth,6-7,grants,research,
R2,Omar,6-7,contracts,research,
R3,Mei,6-7,ethics,research,
R4,Ben,6-7,grants,research,
R5,Zoe,8,audit,research,
"""

SWAP_RANKINGS = """person_id,partner_id,rank
R1,R2,1
R2,R3,1
R3,R1,1
R4,R1,1
R4,R5,2
R5,R4,1
"""


def test_match_writes_swaps_csv_with_a_three_way_swap_and_reasons(
    oxford: Path, tmp_path: Path
) -> None:
    toml = oxford / "scenario.toml"
    toml.write_text(toml.read_text() + SWAP_TOML)
    (oxford / "swap_candidates.csv").write_text(CANDIDATES)
    (oxford / "swap_rankings.csv").write_text(SWAP_RANKINGS)
    code, output = invoke("match", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "swaps: optimal, 1 swaps move 3 people" in output
    rows = list(csv.DictReader((tmp_path / "out" / "swaps.csv").open()))
    moved = {r["person_id"]: r["takes_role_of"] for r in rows if r["swap"]}
    assert moved == {"R1": "R2", "R2": "R3", "R3": "R1"}
    reasons = {r["person_id"]: r["reason"] for r in rows if not r["swap"]}
    # R4 -> R1 is the same team; R4 and R5 are in different grade bands.
    assert reasons["R4"].startswith("unpaired: no role they ranked is allowed")
    assert reasons["R5"].startswith("unpaired: no role they ranked is allowed")


def test_explain_says_why_not_that_mentor_with_the_rule_or_the_exact_price(
    oxford: Path, tmp_path: Path
) -> None:
    with_scheme(oxford)
    code, output = invoke("explain", str(oxford), "S1", "--market", "mentoring", "--partner", "S4")
    assert code == 0, output
    assert "S1 with S4 as mentor: never, one is in the other's line-management chain" in output
    code, output = invoke("explain", str(oxford), "S3", "--market", "mentoring", "--partner", "S1")
    assert code == 0, output
    assert "S3 with S1 as mentor: never, they are in the same team (grants)" in output
    code, output = invoke("explain", str(oxford), "S2", "--market", "mentoring", "--partner", "S5")
    assert "never, S5 lacks the finance expertise S2 needs" in output
    code, output = invoke("explain", str(oxford), "S2", "--market", "mentoring", "--partner", "S1")
    assert code == 0, output
    assert "the best matching that pairs them has" in output
    assert "in the stable reading S2 has S4, whom they rank higher" in output
    code, output = invoke("explain", str(oxford), "S2", "--market", "nothing")
    assert code == 2 and "no sign-up scheme named 'nothing'" in output
