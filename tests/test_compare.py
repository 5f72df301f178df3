"""compare: variants side by side, and exactly the applicants whose outcome differs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.stages.allocate.solve import allocate
from cohort_solver.stages.load.scenario import load_scenario


@pytest.mark.slow
def test_compare_lists_variants_and_differences(oxford: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(oxford),
            "--out",
            str(tmp_path / "out"),
            "--variant",
            "six-held",
            "--set",
            "selection.ring_fence.0.min_places=6",
            "--variant",
            "three-per-area",
            "--set",
            "selection.spread.max_per_service_area=3",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # the table; progress goes to stderr
    assert [line.split()[0] for line in lines[1:4]] == ["baseline", "six-held", "three-per-area"]
    outcome = {
        name: {
            o.applicant_id: (o.status, o.cohort_id)
            for o in allocate(load_scenario(oxford, sets)).outcomes
        }
        for name, sets in (
            ("baseline", []),
            ("six", ["selection.ring_fence.0.min_places=6"]),
            ("three", ["selection.spread.max_per_service_area=3"]),
        )
    }
    differing = sorted(
        i for i in outcome["baseline"] if len({str(v[i]) for v in outcome.values()}) > 1
    )
    assert (
        f"{len(differing)} applicants have a different outcome between variants: {', '.join(differing)}"
        in result.output
    )
    html = (tmp_path / "out" / "compare.html").read_text()
    assert all(f"<td>{i}</td>" in html for i in differing)
    # The page alone says what each variant changed.
    changes = html.split("<h2>What each variant changes</h2>", 1)[1].split("</table>", 1)[0]
    assert "<tr><td>baseline</td><td>the scenario as it is</td></tr>" in changes
    assert "<td>six-held</td><td><code>selection.ring_fence.0.min_places=6</code></td>" in changes
    assert (
        "<td>three-per-area</td><td><code>selection.spread.max_per_service_area=3</code>" in changes
    )


def test_compare_with_a_bad_variant_is_bad_input(oxford: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["compare", str(oxford), "--variant", "x", "--set", "selection.places=many"]
    )
    assert result.exit_code == 2 and "--set:1:1: selection.places" in result.output


@pytest.mark.slow
def test_every_panel_page_shows_the_positive_action_evidence(oxford: Path, tmp_path: Path) -> None:
    # The report, compare.html and robustness.html all carry the s158 basis and the profile
    # the ring fence rests on, so no page can be shown to a panel without it.
    out = tmp_path / "out"
    runner = CliRunner()
    for args in (
        [
            "compare",
            str(oxford),
            "--out",
            str(out),
            "--variant",
            "six",
            "--set",
            "selection.ring_fence.0.min_places=6",
        ],
        ["robustness", str(oxford), "--out", str(out), "--trials", "2", "--quiet"],
    ):
        assert runner.invoke(main, args).exit_code == 0
    evidence = load_scenario(oxford).settings.positive_action
    for page in ("compare.html", "robustness.html"):
        html = (out / page).read_text()
        assert f"Positive action basis: {evidence.basis}." in html, page
        for group, figures in evidence.profile.items():
            assert (
                f"{group} {figures.workforce:.0%} of the workforce, {figures.senior:.0%} of senior roles"
                in html
            )


def test_compare_help_documents_variant_and_set_with_an_example() -> None:
    from click.testing import CliRunner

    from cohort_solver.cli import main

    text = CliRunner().invoke(main, ["compare", "--help"]).output
    assert "--variant NAME" in text and "--set KEY=VALUE" in text
    assert "Example: cohort-solver compare scenarios/oxford-2024 --variant" in text
