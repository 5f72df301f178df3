"""Serving feeds: 5,000 distinct feeds polled over HTTP on 127.0.0.1 (200s, then 304s).

    uv run python -m benchmarks serve [--feeds 5000] [--concurrency 16] [--rounds 2]

An output folder with FEEDS distinct feeds (a real oxford-2024 feed, renamed per person) and
their tokens is made in a temporary folder; `serve`'s app runs on uvicorn in its own process.
A bounded httpx client (CONCURRENCY requests in flight, every feed once per round, then it
stops) fetches every feed (200), then polls each with its ETag (304), ROUNDS times. Printed and
written to benchmarks/results/serve.{csv,md}: requests per second, p50/p99 latency, errors
(target 0, and p99 under 50 ms for a 304) and the server's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from benchmarks.common import ROOT, write_results

COLUMNS = [
    "phase",
    "feeds",
    "requests",
    "concurrency",
    "wall_s",
    "req_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "server_peak_mib",
]


def _folder(root: Path, feeds: int) -> list[tuple[str, str]]:
    """An out/ folder of ``feeds`` distinct feeds with tokens.csv; (url path, etag-less) list."""
    from cohort_solver.stages.export.files import csv_text
    from cohort_solver.stages.export.serve import TOKEN_COLUMNS, new_token

    sample = ROOT / "scenarios" / "oxford-2024" / "out" / "ics" / "participant-A001.ics"
    if sample.exists():
        template = sample.read_bytes()
    else:  # a clean clone has no out/: export the bundled scenario once
        import cohort_solver

        out = root / "oxford"
        cohort_solver.run(ROOT / "scenarios" / "oxford-2024", out=out)
        template = (out / "ics" / "participant-A001.ics").read_bytes()
    (root / "out" / "ics").mkdir(parents=True)
    rows, paths = [], []
    for number in range(feeds):
        name = f"participant-P{number:05d}.ics"
        data = template.replace(b"X-WR-CALNAME:", f"X-WR-CALNAME:P{number:05d} ".encode(), 1)
        (root / "out" / "ics" / name).write_bytes(data)
        token = new_token()
        rows.append((f"ics/{name}", token, ""))
        paths.append((f"/feeds/{token}.ics", name))
    (root / "out" / "tokens.csv").write_text(csv_text(TOKEN_COLUMNS, rows), encoding="utf-8")
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server(out: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys, uvicorn; from pathlib import Path; "
        "from cohort_solver.stages.export.serve import app; "
        f"uvicorn.run(app(Path({str(out)!r})), host='127.0.0.1', port={port}, "
        "log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _round(
    base: str, paths: list[str], etags: dict[str, str], concurrency: int, expect: int
) -> tuple[float, list[float], int]:
    """Every path once, ``concurrency`` at a time: wall seconds, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(paths))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while queue:
                path = queue.pop()
                headers = {"If-None-Match": etags[path]} if path in etags else {}
                started = time.perf_counter()
                try:
                    answer = await client.get(path, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if answer.status_code != expect:
                    errors += 1
                elif expect == 200:
                    etags[path] = answer.headers["etag"]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


def _figures(latencies: list[float]) -> tuple[str, str]:
    if len(latencies) < 2:
        return "nan", "nan"
    cuts = statistics.quantiles(latencies, n=100)
    return f"{cuts[49] * 1000:.1f}", f"{cuts[98] * 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks serve", description=__doc__)
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = [path for path, _ in _folder(Path(tmp), args.feeds)]
        port = _free_port()
        server = _server(Path(tmp) / "out", port)
        try:
            etags: dict[str, str] = {}
            phases = [("200 (first fetch)", 200)] + [
                (f"304 (poll {n + 1})", 304) for n in range(args.rounds)
            ]
            for phase, expect in phases:
                wall, latencies, errors = asyncio.run(
                    _round(f"http://127.0.0.1:{port}", paths, etags, args.concurrency, expect)
                )
                p50, p99 = _figures(latencies)
                row = [phase, args.feeds, len(paths), args.concurrency, f"{wall:.2f}"]
                row += [
                    f"{len(paths) / wall:.0f}",
                    p50,
                    p99,
                    errors,
                    f"{_peak_mib(server.pid):.0f}",
                ]
                rows.append(row)
                print(dict(zip(COLUMNS, row, strict=True)), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
    note = "One uvicorn worker; the client runs on the same (shared) machine."
    print(write_results("serve", COLUMNS, rows, note))
    return 0 if all(row[8] == 0 for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
