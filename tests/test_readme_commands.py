"""The README's two opening commands work on a fresh copy of the repository, word for word,
with Debian's own /usr/bin/python3 (PEP 668: no pip install into it) and with the python3 on
PATH (here a pyenv build). The text is taken from README.md by .ci/readme-command, the same
extractor CI uses, so the README and what is tested cannot drift apart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEBIAN = Path("/usr/bin/python3")


def readme_command(name: str) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "readme-command"), name], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def fresh_copy(target: Path) -> Path:
    """The repository as a clone would have it: tracked and new files, nothing ignored (no
    .venv, no .uv-tool, no outputs)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / os.fsdecode(raw)
        if source.is_file():
            (target / os.fsdecode(raw)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / os.fsdecode(raw))
    return target


def environment(python: Path | None, tmp_path: Path) -> dict[str, str]:
    """This machine's environment, with ``python3`` meaning ``python`` and nothing else of
    Python's (no uv, no pyenv) on PATH; None keeps PATH as it is."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    env.pop("PYTEST_ADDOPTS", None)
    if python is not None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "python3").symlink_to(python)
        env["PATH"] = f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


def run_block(name: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_command(name)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def needs_debian_python() -> None:
    if not DEBIAN.exists():
        pytest.skip("no /usr/bin/python3 on this machine")
    if subprocess.run([str(DEBIAN), "-c", "import venv, ensurepip"]).returncode:
        pytest.skip("/usr/bin/python3 has no venv module (apt-get install python3-venv)")


def test_the_readme_names_both_blocks_and_one_form_of_the_command() -> None:
    assert readme_command("run").startswith("python3 -m venv .uv-tool")
    assert "uv run pytest" in readme_command("test")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks = re.findall(r"```(?:sh|text)\n(.*?)```", page.read_text(), flags=re.S)
        for block in blocks:
            for line in block.splitlines():
                command = line.removeprefix("$ ").strip()
                assert not command.startswith("cohort-solver "), f"bare command in {page}: {line}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".ci/readme-command test" in ci and ".ci/readme-command run" in ci


@pytest.mark.slow
def test_the_first_command_runs_on_debians_own_python(tmp_path: Path) -> None:
    needs_debian_python()
    repo = fresh_copy(tmp_path / "repo")
    done = run_block("run", repo, environment(DEBIAN, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (repo / "scenarios" / "oxford-2024" / "out" / "report.html").exists()
    config = (repo / ".venv" / "pyvenv.cfg").read_text()
    version = subprocess.run(
        [str(DEBIAN), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert f"version_info = {version}\n" in config, config  # the project ran on Debian's python3


@pytest.mark.slow
def test_the_test_command_runs_on_debians_own_python(tmp_path: Path) -> None:
    needs_debian_python()
    repo = fresh_copy(tmp_path / "repo")
    env = environment(DEBIAN, tmp_path)
    # The same text; pytest is told (through its environment, not the command) to run only a
    # quick test, as the whole suite running inside itself would take minutes.
    env["PYTEST_ADDOPTS"] = "-q -p no:cacheprovider -k test_every_relative_link_resolves"
    done = run_block("test", repo, env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert re.search(r"\b[1-9]\d* passed\b", done.stdout) and "failed" not in done.stdout, (
        done.stdout[-2000:]
    )


@pytest.mark.slow
def test_the_first_command_runs_on_the_python_on_path(tmp_path: Path) -> None:
    found = shutil.which("python3")
    if found is None:
        pytest.skip("no python3 on PATH")
    repo = fresh_copy(tmp_path / "repo")
    done = run_block("run", repo, environment(None, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (repo / "scenarios" / "oxford-2024" / "out" / "allocation.csv").exists()
