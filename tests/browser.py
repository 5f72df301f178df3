"""Headless Chromium for the report tests (issue #8); examples/screenshot.py has its own.

Playwright drives Debian's ``chromium`` package, not a browser downloaded by
``playwright install``: CI installs it with apt (see ``.ci/run``). Set ``CHROMIUM`` to use
another binary.
"""

from __future__ import annotations

import os
import shutil

from playwright.sync_api import Browser, Playwright

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


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, else ``chromium`` (Debian) or ``chromium-browser`` on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Playwright, executable: str | None = None) -> Browser:
    """Headless Chromium with a fresh, throw-away profile (playwright's ``launch`` makes one)."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError(
            "no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chromium"
        )
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
