"""The parallel runner: results in task order, and a worker's error comes back as itself."""

from __future__ import annotations

import os
import pickle
import time

import pytest

from cohort_solver.errors import InfeasibleError, InputError, Problem
from cohort_solver.sweeps.runner import Runner, run_all


def square_unless_negative(n: int) -> int:
    """Earlier tasks take longer, so in a pool they finish (or fail) last."""
    time.sleep(0.05 * (4 - abs(n)))
    if n < 0:
        raise InputError([Problem("tasks.csv", -n, 1, f"task {n} is negative")])
    return n * n


def process_id(_: int) -> int:
    return os.getpid()


def test_errors_survive_pickling_whole() -> None:
    bad = InputError(
        [Problem("scores.csv", 3, 2, "score is not a number"), Problem("x.csv", 1, 1, "y")]
    )
    back = pickle.loads(pickle.dumps(bad))
    assert type(back) is InputError and back.problems == bad.problems and str(back) == str(bad)
    clash = InfeasibleError(
        "allocation", ["cohort main: min_service_areas=8", "max_per_service_area=1"]
    )
    back = pickle.loads(pickle.dumps(clash))
    assert type(back) is InfeasibleError and (back.stage, back.causes) == (
        clash.stage,
        clash.causes,
    )
    assert str(back) == str(clash) and back.exit_code == 1


@pytest.mark.usefixtures("always_pool")
@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_task_order(workers: int) -> None:
    done: list[tuple[int, int]] = []
    results = run_all(
        range(5), square_unless_negative, workers=workers, progress=lambda d, t: done.append((d, t))
    )
    assert results == [0, 1, 4, 9, 16]
    assert done == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


@pytest.mark.usefixtures("always_pool")
def test_the_earliest_failing_task_is_raised_as_the_same_error() -> None:
    # In the pool, task -3 fails first in time (after 0.05 s), but -1 is earlier in order.
    with pytest.raises(InputError) as caught:
        run_all([0, -1, 2, -3], square_unless_negative, workers=2)
    assert caught.value.problems == [Problem("tasks.csv", 1, 1, "task -1 is negative")]


@pytest.mark.slow
def test_small_runs_stay_in_process_and_larger_ones_use_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Five instant tasks could never win back the start-up cost of a pool.
    assert set(run_all(range(5), process_id, workers=2)) == {os.getpid()}
    # Once the pool pays, the first task (run here, timed) is followed by the pool's workers.
    monkeypatch.setattr("cohort_solver.sweeps.runner.POOL_START_SECONDS", -1.0)
    first, *rest = run_all(range(5), process_id, workers=2)
    assert first == os.getpid() and os.getpid() not in rest and len(set(rest)) <= 2


@pytest.mark.slow  # waits for the connection to time out
def test_an_unreachable_dask_scheduler_is_bad_input() -> None:
    with (
        pytest.raises(InputError, match=r"--dask-scheduler:1:1: cannot reach a Dask scheduler"),
        Runner(dask_scheduler="tcp://127.0.0.1:9", timeout="1s"),
    ):
        pass
