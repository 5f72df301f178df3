"""Regenerate examples/oxford-2024-report.png: run oxford-2024 and photograph its report.html.

    uv run python examples/screenshot.py                # writes examples/oxford-2024-report.png
    uv run python examples/screenshot.py --out x.png --full-page

Same headless Chromium as tests/test_report_browser.py (Debian's ``chromium``, or $CHROMIUM);
the default framing is the committed one: a 1100 x 2200 window onto the top of the report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.browser, when run as a script

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser import launch, screenshot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "oxford-2024")
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "oxford-2024-report.png")
    parser.add_argument(
        "--full-page", action="store_true", help="the whole page, not the top 2200 px"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "out"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cohort_solver.cli",
                "run",
                str(args.scenario),
                "--out",
                str(run),
                "--quiet",
            ],
            check=True,
        )
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                screenshot(browser, run / "report.html", args.out, full_page=args.full_page)
            finally:
                browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
