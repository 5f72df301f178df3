"""robustness: how often each applicant is selected when panel scores carry a little noise."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.stages.export.tables import read_allocation

from .conftest import SMALL_TOML, write_small

# Two places, no ring fence, no spread rule: the two best eligible scores win.
TWO_PLACES = SMALL_TOML.split("[[selection.ring_fence]]")[0].replace("places = 3", "places = 2")
# A1 clearly first (9 vs 7); A2 and A3 exactly tied for the second place (the lottery settles
# it at baseline); A6 clearly last. A4 (no line-manager approval) and A5 (grade 8) score
# highest but are ineligible, and noise must not change that.
TIED_SCORES = {
    "A1": (9, 9),
    "A2": (7, 7),
    "A3": (7, 7),
    "A4": (10, 10),
    "A5": (10, 10),
    "A6": (3, 3),
}


def write_tied(folder: Path) -> Path:
    rows = [(a, f"P{i}", s) for a, pair in TIED_SCORES.items() for i, s in enumerate(pair, start=1)]
    return write_small(
        folder, TWO_PLACES, extra={"scores.csv": (["applicant_id", "panelist", "score"], rows)}
    )


def robustness(scenario: Path, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["robustness", str(scenario), "--out", str(out), "--quiet", *args]
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "robustness.csv").open(newline="", encoding="utf-8") as handle:
        return {row["applicant_id"]: row for row in csv.DictReader(handle)}


@pytest.mark.usefixtures("always_pool")
def test_zero_noise_reproduces_the_allocation_exactly(oxford: Path, tmp_path: Path) -> None:
    assert (
        CliRunner()
        .invoke(main, ["allocate", str(oxford), "--out", str(tmp_path / "a"), "--quiet"])
        .exit_code
        == 0
    )
    # The baseline solves on 2 threads, the trials on 1 thread each in 2 processes.
    code, output = robustness(
        oxford, tmp_path / "r", "--noise", "0", "--trials", "6", "--workers", "2"
    )
    assert code == 0, output
    assert (
        "Under noise 0 (6 trials): on average 0.0 of 12 places change (median 0, max 0)." in output
    )
    assert "No close calls" in output
    table = rows(tmp_path / "r")
    for outcome in read_allocation(tmp_path / "a" / "allocation.csv"):
        row = table[outcome.applicant_id]
        assert (row["baseline_status"], row["baseline_cohort"]) == (
            outcome.status,
            outcome.cohort_id or "",
        )
        chosen = outcome.status == "selected"
        assert row["selection_probability"] == ("1.000" if chosen else "0.000")
        assert row["trials_selected"] == ("6" if chosen else "0")
        assert row["close_call"] == "no"


@pytest.mark.slow
def test_a_clear_winner_stays_while_tied_applicants_split(tmp_path: Path) -> None:
    scenario = write_tied(tmp_path / "tied")
    code, output = robustness(
        scenario, tmp_path / "out", "--noise", "0.3", "--trials", "200", "--workers", "1"
    )
    assert code == 0, output
    table = rows(tmp_path / "out")
    p = {a: float(row["selection_probability"]) for a, row in table.items()}
    # A1 leads A2/A3 by 2 points; the noise on a two-panelist mean difference has s.d. 0.3.
    assert p["A1"] == 1.0 and p["A6"] == 0.0
    # The exact tie is broken by the noise alone: each wins about half the trials, never both.
    assert 0.35 < p["A2"] < 0.65 and p["A2"] + p["A3"] == 1.0
    assert p["A4"] == p["A5"] == 0.0 and table["A4"]["baseline_status"] == "ineligible"
    winner, runner_up = sorted(
        ("A2", "A3"), key=lambda a: table[a]["baseline_status"] != "selected"
    )
    assert (
        table[winner]["baseline_status"] == "selected"
        and table[runner_up]["baseline_status"] == "reserve"
    )
    assert {a for a, row in table.items() if row["close_call"] == "yes"} == {"A2", "A3"}
    assert f"Close calls: {winner} (selected) selected in" in output
    # One place changes hands whenever the runner-up wins, so that share of trials shows 1 change.
    assert f"on average {1 - p[winner]:.1f} of 2 places change (median" in output


@pytest.mark.usefixtures("always_pool")
def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    scenario = write_tied(tmp_path / "tied")
    for name, workers in (("serial", "1"), ("pool", "2")):
        assert (
            robustness(
                scenario, tmp_path / name, "--trials", "30", "--seed", "5", "--workers", workers
            )[0]
            == 0
        )
    for name in ("robustness.csv", "robustness.html"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "pool" / name).read_bytes()
    assert (
        robustness(scenario, tmp_path / "other", "--trials", "30", "--seed", "6", "--workers", "1")[
            0
        ]
        == 0
    )
    assert rows(tmp_path / "other")["A2"] != rows(tmp_path / "serial")["A2"]


@pytest.mark.slow
def test_close_call_thresholds_are_options(tmp_path: Path) -> None:
    scenario = write_tied(tmp_path / "tied")
    code, _ = robustness(
        scenario,
        tmp_path / "out",
        "--trials",
        "40",
        "--workers",
        "1",
        "--selected-below",
        "0",
        "--unselected-above",
        "1",
    )
    assert code == 0
    assert all(row["close_call"] == "no" for row in rows(tmp_path / "out").values())


def test_report_is_a_self_contained_accessible_panel_page(tmp_path: Path) -> None:
    scenario = write_tied(tmp_path / "tied")
    assert robustness(scenario, tmp_path / "out", "--trials", "20", "--workers", "1")[0] == 0
    html = (tmp_path / "out" / "robustness.html").read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in html
    assert 'aria-label="Histogram of places changed per trial: 0 places changed in' in html
    assert "<title>Places changed per trial</title>" in html
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    # A panel output: applicant ids and probabilities, never protected characteristics.
    text = html + (tmp_path / "out" / "robustness.csv").read_text()
    assert not any(group in text for group in ("woman", "minority_ethnic", "disabled"))
    header = next(csv.reader(io.StringIO((tmp_path / "out" / "robustness.csv").read_text())))
    assert header == [
        "applicant_id",
        "baseline_status",
        "baseline_cohort",
        "selection_probability",
        "trials_selected",
        "close_call",
    ]


def test_other_outputs_in_out_are_kept(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        CliRunner().invoke(main, ["allocate", str(small), "--out", str(out), "--quiet"]).exit_code
        == 0
    )
    before = (out / "allocation.csv").read_bytes()
    assert robustness(small, out, "--trials", "5", "--workers", "1")[0] == 0
    assert (out / "allocation.csv").read_bytes() == before and (out / "robustness.csv").exists()


def test_bad_input_exits_2_and_writes_nothing(small: Path, tmp_path: Path) -> None:
    code, output = robustness(
        small, tmp_path / "out", "--set", "selection.places=many", "--trials", "5"
    )
    assert code == 2 and "--set:1:1: selection.places" in output
    assert not (tmp_path / "out").exists()


def test_infeasible_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    toml = (
        SMALL_TOML.replace("min_service_areas = 2", "min_service_areas = 3").replace(
            "max_per_service_area = 2", "max_per_service_area = 1"
        )
        + "max_per_council = 2\n"
    )
    scenario = write_small(tmp_path / "s", toml)
    code, output = robustness(scenario, tmp_path / "out", "--trials", "5")
    assert code == 1 and "min_service_areas=3" in output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_several_cohorts_get_a_probability_each(tmp_path: Path) -> None:
    scenario = tmp_path / "regional"
    assert (
        CliRunner()
        .invoke(
            main,
            [
                "generate",
                str(scenario),
                "--councils",
                "4",
                "--applicants",
                "60",
                "--cohorts",
                "2",
                "--seed",
                "1",
            ],
        )
        .exit_code
        == 0
    )
    code, output = robustness(scenario, tmp_path / "out", "--trials", "10", "--workers", "1")
    assert code == 0, output
    table = rows(tmp_path / "out")
    cohorts = [
        c.removeprefix("probability_")
        for c in next(iter(table.values()))
        if c.startswith("probability_")
    ]
    assert len(cohorts) == 2
    for row in table.values():
        per_cohort = [int(round(float(row[f"probability_{c}"]) * 10)) for c in cohorts]
        assert sum(per_cohort) == int(row["trials_selected"])  # one cohort at most per trial
        if row["baseline_status"] == "selected":
            assert float(row[f"probability_{row['baseline_cohort']}"]) > 0


def test_noise_goes_on_each_criterion_score_and_is_re_aggregated_exactly(tmp_path: Path) -> None:
    from decimal import ROUND_HALF_UP, Decimal

    from cohort_solver.stages.allocate.eligibility import candidates
    from cohort_solver.stages.load.scenario import load_scenario
    from cohort_solver.sweeps.robustness import perturbed_pool, trial_rng

    toml = SMALL_TOML + "\n[selection.criteria]\nvision = 2\ndelivery = 1\n"
    marks = {"A1": 7, "A2": 9, "A3": 6, "A4": 9, "A5": 8, "A6": 8}
    rows = [
        (a, p, c, m + (c == "delivery"))
        for a, m in marks.items()
        for p in ("P2", "P1")
        for c in ("vision", "delivery")
    ]
    scenario = load_scenario(
        write_small(
            tmp_path / "criteria",
            toml,
            extra={"scores.csv": (["applicant_id", "panelist", "criterion", "score"], rows)},
        )
    )
    pool = candidates(scenario)
    noisy = {c.id: c for c in perturbed_pool(scenario, pool, 0.4, trial_rng(scenario, 0, 3))}
    # By hand: one draw per score row in (applicant, panelist, criterion) order, weighted sum
    # per panelist, mean over panelists, rounded half away from zero to 2 decimals.
    rng = trial_rng(scenario, 0, 3)
    weight = {"vision": Decimal(2), "delivery": Decimal(1)}
    panel: dict[str, dict[str, Decimal]] = {}
    for a, p, c, score in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        by = panel.setdefault(a, {})
        by[p] = by.get(p, Decimal(0)) + weight[c] * (
            Decimal(score) + Decimal(repr(rng.gauss(0.0, 0.4)))
        )
    for candidate in pool:
        expected = (sum(panel[candidate.id].values()) / 2).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert noisy[candidate.id].score == expected != candidate.score
        assert noisy[candidate.id].failures == candidate.failures  # eligibility never moves
