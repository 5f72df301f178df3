"""Regenerate examples/oxford-2024-report.png: run oxford-2024 and photograph its report.html.

    uv run python examples/screenshot.py                # writes examples/oxford-2024-report.png
    uv run python examples/screenshot.py --out x.png --full-page

Headless Chromium as in the browser tests (Debian's ``chromium``, or $CHROMIUM); the default
framing is the committed one: a 1100 x 2200 window onto the top of the report. The launcher is
this example's own, so an example never imports test code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

import cohort_solver

ROOT = Path(__file__).resolve().parents[1]
# A closed, root-run machine: no sandbox, no GPU, and nothing that phones home in the
# background (without these Chromium keeps retrying refused connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1100, "height": 2200}


def chromium() -> str:
    """$CHROMIUM, else Debian's ``chromium`` (or ``chromium-browser``) on PATH."""
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found is None:
        raise SystemExit(
            "no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chromium"
        )
    return found


def photograph(html: Path, png: Path, *, full_page: bool) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(png), full_page=full_page)
        finally:
            browser.close()


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
        cohort_solver.run(args.scenario, run)
        photograph(run / "report.html", args.out, full_page=args.full_page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
