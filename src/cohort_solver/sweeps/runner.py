"""Run independent tasks side by side: on this machine's cores, or on a Dask cluster.

One front door, :func:`run_all` (or :class:`Runner` to learn the number of slots first).
Results come back in task order whatever order the tasks finish in, so nothing downstream
depends on the worker count, the backend or the timing. An error raised in a worker comes back
as the same exception type (the error classes pickle whole), and when several tasks fail the
one earliest in task order is raised, so the CLI exits 1 or 2 exactly as a serial run would.

Task functions must be top-level (importable by name) and their tasks small and picklable.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from types import TracebackType
from typing import Any, TypeVar

from cohort_solver.errors import InputError, Problem

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]

# Starting a local pool costs about this much: the forkserver imports OR-Tools and pandas
# before the first worker can start: 1.8-1.9 s measured on a quiet 2-core machine, up to
# 3.7 s on a busy one.
POOL_START_SECONDS = 3.0


class Runner:
    """Where tasks run: serially, in a local process pool, or on the Dask scheduler at
    ``dask_scheduler`` (e.g. ``tcp://10.0.0.5:8786``). Use as a context manager."""

    def __init__(
        self, *, workers: int | None = None, dask_scheduler: str | None = None, timeout: str = "10s"
    ):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.dask_scheduler = dask_scheduler
        self.timeout = timeout  # to reach the scheduler
        self._client: Any = None

    def __enter__(self) -> Runner:
        if self.dask_scheduler:
            self._client = _connect(self.dask_scheduler, self.timeout)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def slots(self) -> int:
        """How many tasks can run at once: the cluster's worker threads, or ``workers``."""
        if self._client is not None:
            return max(1, int(sum(self._client.nthreads().values())))
        return self.workers

    def map(
        self, fn: Callable[[T], R], tasks: Iterable[T], *, progress: Progress | None = None
    ) -> list[R]:
        """``[fn(task) for task in tasks]``, run where this runner runs things.

        Locally, the first task runs in this process and is timed: the others go to a process
        pool only if the pool can save more time than it costs to start (POOL_START_SECONDS),
        so a small run never waits for workers to import OR-Tools.
        """
        tasks = list(tasks)
        if self._client is not None:
            return _on_dask(self._client, fn, tasks, progress)
        results: list[R] = []
        started = time.monotonic()
        for task in tasks:
            results.append(fn(task))
            if progress:
                progress(len(results), len(tasks))
            rest = tasks[len(results) :]
            processes = min(self.workers, len(rest))
            if processes > 1 and _pool_pays((time.monotonic() - started) * len(rest), processes):
                return results + _in_pool(fn, rest, processes, _after(progress, len(results)))
        return results


def _after(progress: Progress | None, done: int) -> Progress | None:
    """Progress of the remaining tasks, counted on from the ``done`` already finished."""
    if progress is None:
        return None
    return lambda d, total: progress(done + d, done + total)


def _pool_pays(serial_seconds: float, processes: int) -> bool:
    """A pool of p processes saves serial·(1 − 1/p) and costs POOL_START_SECONDS."""
    return serial_seconds * (1 - 1 / processes) > POOL_START_SECONDS


def run_all(
    tasks: Iterable[T],
    fn: Callable[[T], R],
    *,
    workers: int | None = None,
    dask_scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """Run ``fn`` on every task, in parallel; results in task order."""
    with Runner(workers=workers, dask_scheduler=dask_scheduler) as runner:
        return runner.map(fn, tasks, progress=progress)


def _in_pool(
    fn: Callable[[T], R], tasks: Sequence[T], processes: int, progress: Progress | None
) -> list[R]:
    # forkserver, not fork: forking a process that has run OR-Tools (or click's test runner)
    # threads can copy a held lock into the child. The server process imports the package
    # once, so each worker starts in milliseconds rather than re-importing OR-Tools.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["cohort_solver.sweeps.robustness", "cohort_solver.sweeps.compare"]
    )
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures: list[Future[R]] = [pool.submit(fn, task) for task in tasks]
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress:
                progress(done, len(futures))
        return [future.result() for future in futures]  # raises the earliest task's error


def _connect(address: str, timeout: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]  # distributed is unannotated
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            [
                Problem(
                    "--dask-scheduler", 1, 1, f"cannot reach a Dask scheduler at {address!r}: {exc}"
                )
            ]
        ) from None


def _on_dask(
    client: Any, fn: Callable[[T], R], tasks: Sequence[T], progress: Progress | None
) -> list[R]:
    from distributed import as_completed as dask_completed

    # pure=False: two equal tasks are still two runs (and keys never collide across calls).
    futures = client.map(fn, tasks, pure=False)
    try:
        completed = dask_completed(futures, loop=client.loop)  # type: ignore[no-untyped-call]  # distributed is unannotated
        for done, _ in enumerate(completed, start=1):
            if progress:
                progress(done, len(futures))
        return [future.result() for future in futures]  # raises the earliest task's error
    finally:
        client.cancel(futures)
