"""Runs on a real Dask cluster give byte for byte what the local process pool gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main

# A local Dask cluster takes seconds to start: the full suite runs these, the fast loop not.
pytestmark = pytest.mark.slow

VARIANTS = [
    "--variant",
    "six-held",
    "--set",
    "selection.ring_fence.0.min_places=6",
    "--variant",
    "three-per-area",
    "--set",
    "selection.spread.max_per_service_area=3",
]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Two worker processes, one thread each; closed however the tests end."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


@pytest.mark.usefixtures("always_pool")
def test_robustness_on_dask_matches_the_local_pool(
    oxford: Path, tmp_path: Path, scheduler: str
) -> None:
    common = ["robustness", str(oxford), "--noise", "0.5", "--trials", "16", "--seed", "3"]
    local = cli(*common, "--out", str(tmp_path / "pool"), "--workers", "2")
    dask = cli(*common, "--out", str(tmp_path / "dask"), "--dask-scheduler", scheduler)
    assert local[0] == dask[0] == 0, local[1] + dask[1]
    assert local[1].replace("pool", "dask") == dask[1]
    for name in ("robustness.csv", "robustness.html"):
        assert (tmp_path / "pool" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()


@pytest.mark.usefixtures("always_pool")
def test_compare_on_dask_matches_the_local_pool(
    oxford: Path, tmp_path: Path, scheduler: str
) -> None:
    local = cli(
        "compare", str(oxford), "--out", str(tmp_path / "pool"), "--workers", "2", *VARIANTS
    )
    dask = cli(
        "compare",
        str(oxford),
        "--out",
        str(tmp_path / "dask"),
        "--dask-scheduler",
        scheduler,
        *VARIANTS,
    )
    assert local[0] == dask[0] == 0, local[1] + dask[1]
    assert [line.split()[0] for line in dask[1].splitlines()[1:4]] == [
        "baseline",
        "six-held",
        "three-per-area",
    ]
    assert local[1].replace("pool", "dask") == dask[1]
    assert (tmp_path / "pool" / "compare.html").read_bytes() == (
        tmp_path / "dask" / "compare.html"
    ).read_bytes()


@pytest.mark.usefixtures("always_pool")
@pytest.mark.parametrize("where", ["pool", "dask"])
def test_an_infeasible_variant_exits_1_wherever_it_runs(
    oxford: Path, tmp_path: Path, scheduler: str, where: str
) -> None:
    backend = ["--workers", "2"] if where == "pool" else ["--dask-scheduler", scheduler]
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(oxford),
            "--out",
            str(tmp_path / "out"),
            *backend,
            "--quiet",
            "--variant",
            "fine",
            "--set",
            "selection.places=10",
            "--variant",
            "impossible",
            "--set",
            "selection.spread.max_per_service_area=1",
            "--set",
            "selection.spread.min_service_areas=13",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "min_service_areas=13" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_bad_variants_are_reported_together(oxford: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(oxford),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--variant",
            "x",
            "--set",
            "selection.places=many",
            "--variant",
            "y",
            "--set",
            "selection.reserves=some",
        ],
    )
    assert result.exit_code == 2
    assert "--set:1:1: selection.places" in result.output and "selection.reserves" in result.output
    assert not (tmp_path / "out").exists()
