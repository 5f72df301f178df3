"""validate warns when a ring fence rests on no recorded evidence of under-representation."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cohort_solver.cli import main

from .conftest import OXFORD, SMALL_TOML, write_small

ADVICE = "record the evidence of under-representation (Equality Act 2010 s158) before relying on this ring fence"


def _warnings(folder: Path) -> list[str]:
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line.startswith("warning: ")]


def test_a_ring_fence_without_a_positive_action_table_is_warned_about(tmp_path: Path) -> None:
    assert _warnings(write_small(tmp_path / "s")) == [
        "warning: scenario.toml:18:1: ring fence 'under-represented': scenario.toml has no "
        f"[positive_action] table: {ADVICE}"
    ]


def test_each_group_without_figures_or_not_under_represented_is_warned_about(
    tmp_path: Path,
) -> None:
    toml = (
        SMALL_TOML.replace(
            'groups = ["woman", "minority_ethnic", "disabled"]',
            'groups = ["woman", "minority_ethnic", "disabled", "carer"]',
        )
        + """
[positive_action]
basis = "s158"
evidence = ""
[positive_action.profile]
woman = { workforce = 0.50, senior = 0.55 }
minority_ethnic = { workforce = 0.14, senior = 0.09 }
"""
    )
    folder = write_small(tmp_path / "s", toml)
    header, *rows = (folder / "applicants.csv").read_text().splitlines()
    (folder / "applicants.csv").write_text(
        "\n".join([f"{header},carer", *(f"{row}," for row in rows)]) + "\n"
    )
    where = "warning: scenario.toml:18:1: ring fence 'under-represented'"
    assert _warnings(folder) == [
        f"{where}: [positive_action] has no evidence text: {ADVICE}",
        f"{where} names group 'woman' but [positive_action.profile] shows it is not under-represented "
        f"in senior roles (55% of senior roles, 50% of the workforce): {ADVICE}",
        f"{where} names group 'disabled' but [positive_action.profile] has no figures for it: {ADVICE}",
        f"{where} names group 'carer' but [positive_action.profile] has no figures for it: {ADVICE}",
    ]


def test_oxford_rests_on_its_workforce_profile() -> None:
    assert _warnings(OXFORD) == []
