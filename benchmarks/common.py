"""What every benchmark shares: where results go, and the machine and commit they came from."""

from __future__ import annotations

import csv
import io
import os
import platform
import resource
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"


def commit() -> str:
    """The commit measured, with "+dirty" when the work tree had changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> str:
    return f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_results(
    name: str, columns: Sequence[str], rows: Sequence[Sequence[object]], note: str = ""
) -> Path:
    """benchmarks/results/NAME.{csv,md}, headed by when, where and at which commit."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    header = f"Measured {stamp} on {machine()}, commit {commit()}."
    text_rows = [[str(cell) for cell in row] for row in rows]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([list(columns), *text_rows])
    (RESULTS / f"{name}.csv").write_text(buffer.getvalue())
    lines = [header, "", *([note, ""] if note else [])]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in text_rows]
    target = RESULTS / f"{name}.md"
    target.write_text("\n".join(lines) + "\n")
    return target
