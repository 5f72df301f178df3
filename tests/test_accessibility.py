"""Every HTML page the tool writes meets WCAG 2.2 AA as axe-core reads it, in a real Chromium.

UK public bodies must meet WCAG 2.2 AA (the Public Sector Bodies Accessibility Regulations
2018). The pages are report.html (run), compare.html (compare) and robustness.html
(robustness) of oxford-2024; each is opened from disk at a 1280 px and a 320 px wide window
(WCAG 1.4.10 reflow), axe-core is injected, and its WCAG 2.0/2.1/2.2 A and AA rules must find
nothing. axe-core comes from npm (tests/axe/package.json, pinned by its lock file).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from tests.browser import find_chromium, launch

pytestmark = pytest.mark.slow  # a real Chromium and three solves

OXFORD = Path(__file__).resolve().parents[1] / "scenarios" / "oxford-2024"
# Their reports have a section per [[markets]] scheme (sign-up schemes, job swaps, placements).
SCHEMES = Path(__file__).resolve().parents[1] / "scenarios" / "oxford-university-2024"
PLACEMENTS = Path(__file__).resolve().parents[1] / "scenarios" / "staffordshire-hps-2019"
AXE = Path(__file__).parent / "axe"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def axe_script() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        if IN_CI:
            pytest.fail("npm is not installed: CI must run the accessibility test")
        pytest.skip("npm is not installed: cannot fetch axe-core")
    script = AXE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        command = "ci" if (AXE / "package-lock.json").exists() else "install"
        result = subprocess.run(
            [npm, command, "--prefix", str(AXE), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.fail(f"npm {command} for tests/axe failed:\n{result.stderr}")
    return script


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("a11y") / "out"
    commands = [
        ["run", str(OXFORD)],
        ["robustness", str(OXFORD), "--trials", "5", "--seed", "1"],
        ["compare", str(OXFORD), "--variant", "six-held"]
        + ["--set", "selection.ring_fence.0.min_places=6"],
    ]
    for command in commands:
        result = CliRunner().invoke(main, [*command, "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
    found = {name: out / name for name in ("report.html", "compare.html", "robustness.html")}
    for name, folder in (("schemes", SCHEMES), ("placements", PLACEMENTS)):
        result = CliRunner().invoke(
            main, ["run", str(folder), "--out", str(out.parent / name), "--quiet"]
        )
        assert result.exit_code == 0, result.output
        found[f"{name}/report.html"] = out.parent / name / "report.html"
    return found


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize(
    "name",
    [
        "report.html",
        "compare.html",
        "robustness.html",
        "schemes/report.html",
        "placements/report.html",
    ],
)
def test_every_page_has_no_wcag_22_aa_violations(
    name: str, width: int, pages: dict[str, Path], axe_script: Path
) -> None:
    chromium = find_chromium()
    if chromium is None:
        if IN_CI:
            pytest.fail("Chromium not installed; CI must run the accessibility test")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        try:
            # The pages forbid scripts (CSP): only the test's own axe-core may run.
            context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            page.goto(pages[name].resolve().as_uri(), wait_until="load")
            page.add_script_tag(path=str(axe_script))
            found = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                WCAG_22_AA,
            )
        finally:
            browser.close()
    violations = [
        {"rule": v["id"], "impact": v["impact"], "where": [n["target"] for n in v["nodes"]][:5]}
        for v in found["violations"]
    ]
    assert violations == [], json.dumps(violations, indent=1)
    assert found["passes"], "axe-core ran no rule at all"


def test_the_report_fits_a_1280_px_screen(pages: dict[str, Path]) -> None:
    chromium = find_chromium()
    if chromium is None:
        if IN_CI:
            pytest.fail("Chromium not installed; CI must run the accessibility test")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(pages["report.html"].resolve().as_uri(), wait_until="load")
            wide, shown = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
        finally:
            browser.close()
    assert wide <= shown, f"report.html is {wide} px wide in a {shown} px window"
