"""Panel consistency: Krippendorff's interval alpha, panelist leniency and flagged applicants."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from cohort_solver.domain.results import Allocation, Decision, StageReport
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.report.consistency import OVERALL, consistency, interval_alpha, reading
from cohort_solver.stages.report.panel_report import report_html

from .conftest import write_csv, write_small


def _matrix(rows: dict[str, list[float | None]]) -> dict[str, dict[str, Decimal]]:
    return {
        panelist: {f"A{j}": Decimal(str(v)) for j, v in enumerate(values) if v is not None}
        for panelist, values in rows.items()
    }


def _plain_interval_alpha(data: np.ndarray) -> float:
    """Krippendorff's interval alpha from its definition, 1 - D_o / D_e, with pairable values only."""
    units = [column[~np.isnan(column)] for column in data.T]
    units = [u for u in units if len(u) >= 2]
    values = np.concatenate(units)
    n = len(values)
    observed = sum(((u[:, None] - u[None, :]) ** 2).sum() / (len(u) - 1) for u in units) / n
    expected = ((values[:, None] - values[None, :]) ** 2).sum() / (n * (n - 1))
    return 1 - observed / expected


def test_alpha_of_a_hand_worked_matrix() -> None:
    # Units (1,1), (2,2), (3,4): n = 6 pairable values.
    # D_o = (0 + 0 + 2 / 1) / 6 = 1/3.
    # D_e = sum over ordered pairs of (v - v')^2 / (n (n - 1)) = 2 (6 * 35 - 13^2) / 30 = 82/30.
    # alpha = 1 - (1/3) / (82/30) = 1 - 5/41 = 36/41.
    alpha = interval_alpha(_matrix({"P1": [1, 2, 3], "P2": [1, 2, 4]}))
    assert alpha == pytest.approx(36 / 41)


def test_identical_panelists_agree_perfectly() -> None:
    assert interval_alpha(_matrix({"P1": [5, 7, 9], "P2": [5, 7, 9], "P3": [5, 7, 9]})) == 1.0


def test_alpha_with_missing_scores_matches_the_definition() -> None:
    rows = {
        "P1": [7, 8, None, 4, 6, 9],
        "P2": [6, 8, 5, 3, None, 9],
        "P3": [7, None, 6, 5, 6, 7],
    }
    data = np.array([[np.nan if v is None else v for v in values] for values in rows.values()])
    assert interval_alpha(_matrix(rows)) == pytest.approx(_plain_interval_alpha(data))


def test_alpha_cannot_be_measured_without_overlap_or_variation() -> None:
    assert interval_alpha(_matrix({"P1": [5, 6, 7]})) is None
    assert interval_alpha(_matrix({"P1": [5, None], "P2": [None, 6]})) is None
    assert interval_alpha(_matrix({"P1": [5, 5], "P2": [5, 5]})) is None
    assert reading(None).startswith("cannot be measured")


def test_reading_follows_krippendorffs_convention() -> None:
    assert reading(0.8).startswith("reliable")
    assert reading(0.7).startswith("tentative")
    assert reading(0.5) == "the panel disagreed; review the flagged applicants"


def test_leniency_and_flags_on_the_small_scenario(tmp_path: Path) -> None:
    # P1 scores 7 9 6 9 8 8 and P2 scores 8 9 6 8 8 7 (A1..A6).
    # P1 minus P2 per applicant: -1 0 0 +1 0 +1, so P1 leniency = +1/6 and P2 = -1/6.
    # Spreads: A1 1, A4 1, A6 1, others 0. Default threshold = (9 - 6) * 0.2 = 0.6.
    panel = consistency(load_scenario(write_small(tmp_path / "s")))
    leniency = {p.panelist: p.leniency for p in panel.panelists}
    assert leniency == {"P1": pytest.approx(1 / 6), "P2": pytest.approx(-1 / 6)}
    assert panel.threshold == Decimal("0.6")
    assert [(d.applicant_id, d.spread) for d in panel.flagged] == [("A1", 1), ("A4", 1), ("A6", 1)]


def test_disagreement_threshold_setting_is_a_strict_limit(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    assert consistency(load_scenario(folder, ["selection.disagreement_threshold=1"])).flagged == ()
    flagged = consistency(load_scenario(folder, ["selection.disagreement_threshold=0.5"])).flagged
    assert [d.applicant_id for d in flagged] == ["A1", "A4", "A6"]


def test_alpha_per_criterion_and_overall(tmp_path: Path) -> None:
    folder = write_small(tmp_path / "s")
    # "impact": both panelists agree exactly; "values": P2 reverses P1's order.
    rows = []
    for i, applicant in enumerate(["A1", "A2", "A3", "A4", "A5", "A6"]):
        rows += [(applicant, "P1", "impact", i), (applicant, "P2", "impact", i)]
        rows += [(applicant, "P1", "values", i), (applicant, "P2", "values", 5 - i)]
    write_csv(folder / "scores.csv", ["applicant_id", "panelist", "criterion", "score"], rows)
    panel = consistency(load_scenario(folder))
    assert list(panel.alpha) == ["impact", "values", OVERALL]
    assert panel.alpha["impact"] == 1.0
    assert panel.alpha["values"] < 0  # worse than chance: systematic disagreement
    # Totals: P1 = 2i, P2 = 5 for every applicant.
    data = np.array([[2.0 * i for i in range(6)], [5.0] * 6])
    assert panel.alpha[OVERALL] == pytest.approx(_plain_interval_alpha(data))


def test_report_shows_the_flagged_applicants_but_no_characteristics(tmp_path: Path) -> None:
    scenario = load_scenario(write_small(tmp_path / "s"))
    allocation = Allocation(
        outcomes=tuple(
            Decision(applicant_id=a.applicant_id, status="not_selected")
            for a in scenario.applicants
        ),
        report=StageReport(stage="allocation", status="optimal"),
    )
    html = report_html(scenario, allocation, [], [], [allocation.report])
    section = html[html.index("<h3>Applicants the panel disagreed on") : html.index("<h2>Spread")]
    assert "more than 0.6 apart" in section
    assert (
        section.count("<tr><td>A") == 3 and "<td>A1</td><td>7</td><td>8</td><td>1</td>" in section
    )
    for word in ("woman", "minority_ethnic", "disabled", "under-represented"):
        assert word not in section
    assert "<td>P1</td><td>6</td><td>7.83</td><td>+0.17</td>" in html


def test_closed_form_alpha_agrees_with_the_krippendorff_package() -> None:
    # The package builds a value-by-value coincidence matrix (3 GB at regional scale), so the
    # solver uses the closed form; on random panels with gaps both must give the same alpha.
    import random

    import krippendorff

    rng = random.Random(5)
    for _ in range(25):
        panelists, applicants = rng.randint(2, 4), rng.randint(3, 30)
        matrix = {
            f"P{i}": {
                f"A{j}": Decimal(str(round(rng.uniform(1, 10), 1)))
                for j in range(applicants)
                if rng.random() < 0.8
            }
            for i in range(panelists)
        }
        data = np.array(
            [
                [float(matrix[p].get(f"A{j}", "nan")) for j in range(applicants)]
                for p in sorted(matrix)
            ]
        )
        if ((~np.isnan(data)).sum(axis=0) >= 2).sum() == 0:
            continue
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
        assert interval_alpha(matrix) == pytest.approx(expected, abs=1e-9)
