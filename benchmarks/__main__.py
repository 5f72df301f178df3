"""The benchmarks, one entry: ``uv run python -m benchmarks NAME [args]``.

    uv run python -m benchmarks                  # list them
    uv run python -m benchmarks suite --sizes small
    uv run python -m benchmarks schedule old --help

Each NAME is a module of this package with ``main(argv) -> int``; each prints size, wall
time, peak memory, status, objective, bound and gap, and writes
benchmarks/results/NAME.{md,csv} with the machine and the commit.
"""

from __future__ import annotations

import ast
import sys
from importlib import import_module
from pathlib import Path

NAMES = (
    "suite",
    "allocation",
    "growth",
    "matching",
    "schedule",
    "replan",
    "sweep",
    "load",
    "markets",
    "serve",
    "feedback",
    "readings",
    "impact",
    "runs",
)


def summary(name: str) -> str:
    """The first line of a benchmark's docstring, read from its source without importing it."""
    path = Path(__file__).with_name(f"{name}.py")
    if not path.exists():
        return "(not in this checkout)"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0] + "\n")
        for name in NAMES:
            print(f"  {name:<11} {summary(name)}")
        return 0
    name, rest = args[0], args[1:]
    if name not in NAMES:
        print(f"no benchmark {name!r}; choose one of: {', '.join(NAMES)}", file=sys.stderr)
        return 2
    code: int = import_module(f"benchmarks.{name}").main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
