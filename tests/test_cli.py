"""The command line as the contract describes it: commands, outputs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.checks.allocation import lexicographic_key, objective
from cohort_solver.checks.allocation import violations as allocation_violations
from cohort_solver.cli import main
from cohort_solver.stages.allocate.reference import allocate_with_highs
from cohort_solver.stages.export.tables import read_allocation
from cohort_solver.stages.load.scenario import load_scenario

from .conftest import SMALL_TOML, write_small


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"] if args[0] != "generate" else list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_allocate_writes_allocation_csv_and_solution_json(oxford: Path, tmp_path: Path) -> None:
    code, output = invoke("allocate", str(oxford), "--out", str(tmp_path / "out"))
    assert code == 0, output
    outcomes = read_allocation(tmp_path / "out" / "allocation.csv")
    assert allocation_violations(load_scenario(oxford), outcomes) == []
    header = (tmp_path / "out" / "allocation.csv").read_text().splitlines()[0]
    assert header == (
        "applicant_id,status,cohort_id,score,ring_fences,reserve_rank,reason,replaced_by"
    )
    solution = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert solution["stages"]["allocation"]["status"] == "optimal"
    assert [o["name"] for o in solution["stages"]["allocation"]["objectives"]][
        0
    ] == "ring_fence_fill"
    assert solution["scenario"]["checksum"] == load_scenario(oxford).checksum


def test_two_runs_give_byte_identical_allocation(oxford: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            invoke("allocate", str(oxford), "--out", str(tmp_path / name), "--workers", "2")[0] == 0
        )
    assert (tmp_path / "a" / "allocation.csv").read_bytes() == (
        tmp_path / "b" / "allocation.csv"
    ).read_bytes()


def test_default_out_is_inside_the_scenario(small: Path) -> None:
    assert invoke("allocate", str(small))[0] == 0
    assert (small / "out" / "allocation.csv").exists()


def test_set_override_changes_the_ring_fence(oxford: Path, tmp_path: Path) -> None:
    code, _ = invoke(
        "allocate",
        str(oxford),
        "--out",
        str(tmp_path / "six"),
        "--set",
        "selection.ring_fence.0.min_places=6",
    )
    assert code == 0
    solution = json.loads((tmp_path / "six" / "solution.json").read_text())
    assert solution["stages"]["allocation"]["objectives"][0]["value"] == 6


def test_infeasible_exits_1_names_the_rules_and_writes_nothing(tmp_path: Path) -> None:
    toml = (
        SMALL_TOML.replace("min_service_areas = 2", "min_service_areas = 3").replace(
            "max_per_service_area = 2", "max_per_service_area = 1"
        )
        + "max_per_council = 2\n"
    )
    folder = write_small(tmp_path / "s", toml)
    code, output = invoke("allocate", str(folder), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "cohort main: min_service_areas=3" in output and "max_per_council=2" in output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_withdraw_replaces_from_reserve_and_keeps_the_rest(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("allocate", str(oxford), "--out", str(out))[0] == 0
    before = {
        o.applicant_id for o in read_allocation(out / "allocation.csv") if o.status == "selected"
    }
    code, output = invoke("withdraw", str(oxford), "A024", "--out", str(out))
    assert code == 0, output
    after = read_allocation(out / "allocation.csv")
    selected = {o.applicant_id for o in after if o.status == "selected"}
    assert before - selected == {"A024"} and len(selected) == 12
    assert "replaced by A037" in output  # reserve 1, and A024 leaves Housing with one place free
    assert allocation_violations(load_scenario(oxford), after) == []


@pytest.mark.slow
def test_withdraw_of_someone_not_selected_is_bad_input(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    invoke("allocate", str(oxford), "--out", str(out))
    before = (out / "allocation.csv").read_bytes()
    code, output = invoke("withdraw", str(oxford), "A004", "--out", str(out))
    assert code == 2 and "allocation.csv:5:1: A004 is not a selected participant" in output
    assert (out / "allocation.csv").read_bytes() == before


@pytest.mark.slow
def test_explain_gives_reason_and_counterfactual(oxford: Path, tmp_path: Path) -> None:
    code, output = invoke("explain", str(oxford), "A037", "--out", str(tmp_path / "out"))
    assert code == 0
    assert "Housing Services" in output and "max_per_service_area" in output
    assert "Would be selected if their score were 7.98 or higher." in output


def test_validate_prints_a_summary_and_writes_nothing(oxford: Path) -> None:
    code, output = invoke("validate", str(oxford))
    assert code == 0 and "25 eligible" in output and output.strip().endswith("valid")
    assert not (oxford / "out").exists()


@pytest.mark.slow
def test_cp_sat_and_highs_agree_on_the_optimum(tmp_path: Path) -> None:
    assert (
        invoke(
            "generate",
            str(tmp_path / "g"),
            "--councils",
            "4",
            "--applicants",
            "300",
            "--cohorts",
            "2",
        )[0]
        == 0
    )
    scenario = load_scenario(tmp_path / "g")
    code, _ = invoke("allocate", str(tmp_path / "g"))
    assert code == 0
    cp_sat = read_allocation(tmp_path / "g" / "out" / "allocation.csv")
    highs = allocate_with_highs(scenario, time_limit=60)
    placement = {o.applicant_id: o.cohort_id for o in cp_sat if o.status == "selected"}
    assert lexicographic_key(objective(scenario, placement)) == lexicographic_key(highs.levels)
    assert highs.optimal


def test_xlsx_gives_the_same_allocation_as_csv(small: Path, tmp_path: Path) -> None:
    import pandas as pd

    assert invoke("allocate", str(small), "--out", str(tmp_path / "csv"))[0] == 0
    for name in ("applicants", "scores"):
        frame = pd.read_csv(small / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_excel(small / f"{name}.xlsx", index=False)
        (small / f"{name}.csv").unlink()
    assert invoke("allocate", str(small), "--out", str(tmp_path / "xlsx"))[0] == 0
    assert (tmp_path / "csv" / "allocation.csv").read_bytes() == (
        tmp_path / "xlsx" / "allocation.csv"
    ).read_bytes()


def test_unknown_column_is_a_warning_not_an_error(small: Path) -> None:
    text = (small / "applicants.csv").read_text().splitlines()
    rows = [text[0] + ",favourite_colour"] + [line + ",blue" for line in text[1:]]
    (small / "applicants.csv").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(main, ["validate", str(small)])
    assert result.exit_code == 0
    assert "applicants.csv:1:13: unknown column 'favourite_colour' ignored" in result.output


@pytest.mark.slow
def test_progress_goes_to_stderr_as_lines_in_a_log_and_not_at_all_when_quiet(
    oxford: Path, tmp_path: Path
) -> None:
    runner = CliRunner()  # click 8.2+: stderr kept apart from stdout
    loud = runner.invoke(main, ["match", str(oxford), "--out", str(tmp_path / "loud")])
    assert loud.exit_code == 0, loud.output
    assert "matching: 4/4 steps" in loud.stderr
    assert "steps" not in loud.stdout  # stdout stays the result a script reads
    quiet = runner.invoke(main, ["match", str(oxford), "--out", str(tmp_path / "quiet"), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.slow
def test_progress_is_a_live_bar_on_a_terminal(oxford: Path, tmp_path: Path) -> None:
    # rich treats FORCE_COLOR as "this is a terminal": the bar redraws with carriage returns.
    runner = CliRunner()  # click 8.2+: stderr kept apart from stdout
    result = runner.invoke(
        main, ["match", str(oxford), "--out", str(tmp_path / "out")], env={"FORCE_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    assert "\r" in result.stderr and "4/4" in result.stderr and "matching" in result.stderr
    assert "matching: 4/4 steps" not in result.stderr
