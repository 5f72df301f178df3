"""The layout's promises (docs/architecture.md), read from the import statements themselves.

- Only the solver stages (allocate, match, schedule) and cpsat.py import OR-Tools, so loading,
  export and reporting start quickly and a checker can never lean on the solver.
- The checkers import the domain model only: they re-check results independently.
- The domain model imports nothing from the stages: it sits underneath them.
- Tests do not import benchmarks, and the examples do not import tests.
- Every silenced type error names its error code and says why.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "cohort_solver"
SOLVER_STAGES = ("stages/allocate/", "stages/match/", "stages/schedule/", "cpsat.py")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.slow
def test_only_the_solver_stages_import_ortools() -> None:
    offenders = [
        relative(path)
        for path in modules(PACKAGE)
        if not relative(path).startswith(SOLVER_STAGES)
        and any(name.split(".")[0] == "ortools" for name in imports(path))
    ]
    assert offenders == []


@pytest.mark.slow
def test_the_solver_stages_do_import_ortools() -> None:
    # Guards the test above against a layout change that would make it pass vacuously.
    using = {
        stage
        for path in modules(PACKAGE)
        for stage in SOLVER_STAGES
        if relative(path).startswith(stage)
        and any(name.split(".")[0] == "ortools" for name in imports(path))
    }
    assert using == set(SOLVER_STAGES)


@pytest.mark.slow
@pytest.mark.parametrize("package", ["checks", "domain"])
def test_checks_and_domain_import_only_the_domain(package: str) -> None:
    offenders = {
        f"{relative(path)} imports {name}"
        for path in modules(PACKAGE / package)
        for name in imports(path)
        if name.startswith("cohort_solver") and not name.startswith("cohort_solver.domain")
    }
    assert offenders == set()


@pytest.mark.slow
def test_tests_do_not_import_benchmarks_and_examples_do_not_import_tests() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for folder, forbidden in (("tests", "benchmarks"), ("examples", "tests"))
        for path in modules(ROOT / folder)
        for name in imports(path)
        if name.split(".")[0] == forbidden
    ]
    assert offenders == []


def test_every_type_ignore_names_its_code_and_reason() -> None:
    bare = re.compile(r"#\s*type:\s*ignore(?!\[[a-z-, ]+\]\s+#\s*\S)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("src", "tests", "benchmarks", "examples")
        for path in modules(ROOT / folder)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if bare.search(line)
    ]
    assert offenders == []


def test_the_readme_layout_matches_the_tree() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```\n", 2)[1]
    named = set(re.findall(r"\b(\w+)\.py\b", block)) | set(re.findall(r"\b(\w+)/", block))
    named |= {word for word in re.findall(r"\b\w+\b", block)}
    missing = [
        relative(path)
        for path in modules(PACKAGE)
        if path.name != "__init__.py" and path.stem not in named
    ]
    assert missing == []
    files = {path.stem for folder in ("src", "tests") for path in modules(ROOT / folder)}
    assert set(re.findall(r"\b(\w+)\.py\b", block)) <= files
