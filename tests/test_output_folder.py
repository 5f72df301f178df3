"""The --out folder: written whole or not at all, private, one run at a time, and repaired after
a kill. Kill points are real SIGKILLs of a child process at each step of the write."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cohort_solver.cli import main
from cohort_solver.errors import OutputFolderError
from cohort_solver.stages.export import files
from cohort_solver.stages.export.files import OutputFolder, output_folder

from .conftest import SMALL_TOML, write_small

PRIVATE = ("allocation.csv", "decision_log.csv", "solution.json")


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr without the scenario's warnings."""
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert "Traceback" not in result.output
    stderr = "".join(
        line for line in result.stderr.splitlines(keepends=True) if not line.startswith("warning:")
    )
    return result.exit_code, result.stdout, stderr


def others(folder: Path) -> list[str]:
    """What is in ``folder`` besides the scenario the ``small`` fixture put there."""
    return sorted(p.name for p in folder.iterdir() if p.name != "small")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def tree(folder: Path) -> dict[str, bytes | str | None]:
    """Every path under ``folder`` (hidden ones too) with its content (None for folders)."""
    return {
        str(p.relative_to(folder)): (
            f"-> {os.readlink(p)}" if p.is_symlink() else None if p.is_dir() else p.read_bytes()
        )
        for p in sorted(folder.rglob("*"))
    }


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def work_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.cohort-solver"


# --------------------------------------------------------------------------- permissions


def test_special_category_files_are_0600_in_a_0700_folder_under_umask_000(
    small: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with umask(0):
        assert invoke("allocate", str(small), "--out", str(out))[0] == 0
    assert mode(out) == 0o700
    for name in PRIVATE:
        assert mode(out / name) == 0o600, name


def test_an_existing_world_readable_out_is_made_private(small: Path, tmp_path: Path) -> None:
    # An --out made by hand (0777) holding files of an older version (0666): the new folder is
    # 0700 and every special-category file 0600, whatever the umask.
    out = tmp_path / "out"
    with umask(0):
        out.mkdir(mode=0o777)
        (out / "allocation.csv").write_text("old\n")
        os.chmod(out / "allocation.csv", 0o666)
        assert invoke("allocate", str(small), "--out", str(out))[0] == 0
    assert mode(out) == 0o700
    for name in PRIVATE:
        assert mode(out / name) == 0o600, name


@pytest.mark.slow
def test_run_writes_panel_files_0600_and_shareable_files_0644(oxford: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with umask(0):
        out.mkdir(mode=0o777)
        assert invoke("run", str(oxford), "--out", str(out))[0] == 0
        assert invoke("robustness", str(oxford), "--out", str(out), "--trials", "2")[0] == 0
        result = CliRunner().invoke(
            main, ["compare", str(oxford), "--out", str(out), "--variant", "same", "--quiet"]
        )
        assert result.exit_code == 0, result.output
    for path in [out, *out.rglob("*")]:
        name = path.relative_to(out).parts[0] if path != out else ""
        if path.is_dir():
            expected = 0o700
        elif name in files.PRIVATE_FILES:
            expected = 0o600
        else:
            expected = 0o644
            assert name in files.SHARED_FILES | files.SHARED_FOLDERS, name
        assert mode(path) == expected, (path, oct(mode(path)))
    assert {p.name for p in out.iterdir()} >= {
        "allocation.csv",
        "report.html",
        "decision_log.csv",
        "robustness.csv",
        "robustness.html",
        "compare.html",
        "solution.json",
        "matches.csv",
        "calendar.csv",
        "ics",
    }


def test_files_in_staging_are_private_before_the_modes_are_set(tmp_path: Path) -> None:
    with umask(0), output_folder(tmp_path / "out") as staging:
        (staging / "anything.txt").write_text("x")
        assert mode(staging / "anything.txt") == 0o600
        assert mode(staging) == 0o700
        assert mode(staging.parent) == 0o700  # the work folder beside --out


# --------------------------------------------------------------------------- kill points

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import cohort_solver.stages.export.files as files

    point, out = sys.argv[1], Path(sys.argv[2])

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "before-commit":
        files.OutputFolder._commit = die
    elif point == "after-exchange":
        real = files.exchange
        def exchange_then_die(a, b):
            assert real(a, b)
            die()
        files.exchange = exchange_then_die
    elif point == "between-renames":
        files.exchange = lambda a, b: False   # a system without an atomic exchange
        rename, calls = os.rename, []
        def rename_then_die(a, b):
            calls.append(a)
            if len(calls) == 2:
                die()
            rename(a, b)
        os.rename = rename_then_die

    with files.output_folder(out) as staging:
        (staging / "allocation.csv").write_text("new\\n")
        if point == "during-write":
            die()
    """
)


def kill_at(point: str, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, point, str(out)], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def old_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("old\n")
    (out / "matches.csv").write_text("kept\n")
    return out


def leftovers_are_private(out: Path) -> None:
    work = work_folder(out)
    assert mode(work) == 0o700  # nobody else can even list what a killed run left
    staged = work / "staging" / "allocation.csv"
    if staged.exists() and staged.read_text() == "new\n":  # written by the killed run
        assert mode(staged) == 0o600


@pytest.mark.parametrize(
    ("point", "after_kill", "after_next_run"),
    [
        ("during-write", "old\n", "old\n"),
        ("before-commit", "old\n", "old\n"),
        ("after-exchange", "new\n", "new\n"),
        ("between-renames", None, "old\n"),  # --out missing until the next run puts it back
    ],
)
def test_a_kill_at_any_point_leaves_out_whole_and_the_next_run_tidies_up(
    tmp_path: Path, point: str, after_kill: str | None, after_next_run: str
) -> None:
    if point == "after-exchange" and files._RENAMEAT2 is None:
        pytest.skip("no renameat2 here")
    out = old_out(tmp_path)
    kill_at(point, out)
    if after_kill is None:
        assert not out.exists()
    else:
        assert (out / "allocation.csv").read_text() == after_kill
        assert (out / "matches.csv").read_text() == "kept\n"
    assert work_folder(out).exists()  # the kill left its work folder ...
    leftovers_are_private(out)  # ... readable by the owner only
    with OutputFolder(out):  # the next run repairs and removes it
        assert not (work_folder(out) / "staging").exists()
        assert not (work_folder(out) / "retired").exists()
    assert (out / "allocation.csv").read_text() == after_next_run
    assert (out / "matches.csv").read_text() == "kept\n"
    assert others(tmp_path) == ["out"]


def test_after_a_kill_the_next_cli_run_removes_the_stale_staging_copy(
    small: Path, tmp_path: Path
) -> None:
    out = old_out(tmp_path)
    kill_at("during-write", out)
    assert (work_folder(out) / "staging" / "allocation.csv").exists()
    code, _, _ = invoke("allocate", str(small), "--out", str(out))
    assert code == 0
    assert not work_folder(out).exists()
    assert (out / "allocation.csv").read_text().startswith("applicant_id,")


def test_staging_copies_of_earlier_versions_are_removed(small: Path, tmp_path: Path) -> None:
    # Earlier versions staged in a mkdtemp folder beside --out and could leave it behind.
    out = old_out(tmp_path)
    legacy = tmp_path / ".out.k3j_x9a2"
    legacy.mkdir()
    (legacy / "allocation.csv").write_text("stale copy\n")
    retired = tmp_path / ".out.old.ab12cd34"
    (retired / "out").mkdir(parents=True)
    unrelated = tmp_path / ".out.notes"  # not the shape of ours: left alone
    unrelated.mkdir()
    assert invoke("allocate", str(small), "--out", str(out))[0] == 0
    assert not legacy.exists() and not retired.exists()
    assert unrelated.exists()


@pytest.mark.slow
def test_sigterm_unwinds_and_leaves_no_staging(oxford: Path, tmp_path: Path) -> None:
    out = old_out(tmp_path)
    before = tree(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "cohort_solver.cli", "run", str(oxford), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    while not any(line.startswith("calendar: solving") for line in seen):
        seen.append(process.stderr.readline())
        assert seen[-1], seen  # the run ended before its calendar stage
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    err = "".join(seen) + rest
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("stopped (SIGTERM)")
    assert tree(tmp_path) == before  # --out as it was, and no work folder left


# --------------------------------------------------------------------------- read-only --out


@pytest.mark.slow
def test_a_read_only_out_is_refused_and_leaves_no_copy(small: Path, tmp_path: Path) -> None:
    # --out is the user's own but read-only (0555, files 0444). Root ignores modes, so as root
    # the CLI runs as 'nobody' with Debian's python3 and this venv's packages.
    command = [sys.executable, "-m", "cohort_solver.cli"]
    extra: dict[str, Any] = {}
    home = tmp_path / "home"
    home.mkdir()
    if os.geteuid() == 0:
        if not Path("/usr/bin/python3").exists():
            pytest.skip("no python outside root's home to run as 'nobody'")
        import sysconfig

        import cohort_solver

        command[0] = "/usr/bin/python3"
        source = str(Path(cohort_solver.__file__).parents[1])
        extra = {
            "user": 65534,
            "group": 65534,
            "extra_groups": [],
            "env": {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(home),
                "PYTHONPATH": f"{sysconfig.get_paths()['purelib']}:{source}",
            },
        }
        for parent in [*list(tmp_path.parents)[:-1], tmp_path]:  # let 'nobody' reach it
            os.chmod(parent, mode(parent) | 0o005)
    scenario = home / "scenario"
    shutil.copytree(small, scenario)
    out = home / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("old\n")
    os.chmod(out / "allocation.csv", 0o444)
    if os.geteuid() == 0:
        for path in (home, scenario, *scenario.iterdir(), out, out / "allocation.csv"):
            os.chown(path, 65534, 65534)
    os.chmod(out, 0o555)
    before = tree(home)
    done = subprocess.run(
        [*command, "allocate", str(scenario), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        **extra,
    )
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"--out {out}: ") and "Permission denied" in message, message
    assert "Traceback" not in done.stderr
    assert tree(home) == before, done.stderr  # no staging copy, no work folder, --out untouched


def test_an_os_error_while_swapping_is_exit_2_and_leaves_no_copy(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = old_out(tmp_path)
    before = tree(tmp_path)

    def refuse(a: Path, b: Path) -> bool:
        raise OSError(30, "Read-only file system", str(b))

    monkeypatch.setattr(files, "exchange", refuse)
    code, stdout, stderr = invoke("allocate", str(small), "--out", str(out))
    assert code == 2
    assert stderr.strip() == f"--out {out}: cannot write the new files: Read-only file system"
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- the swap itself


def test_exchange_swaps_two_folders_atomically(tmp_path: Path) -> None:
    if files._RENAMEAT2 is None:
        pytest.skip("no renameat2 here")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("b")
    assert files.exchange(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a" / "x").read_text() == "b"
    assert (tmp_path / "b" / "x").read_text() == "a"


def test_without_an_atomic_exchange_two_renames_do_the_same(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "exchange", lambda a, b: False)
    out = old_out(tmp_path)
    assert invoke("allocate", str(small), "--out", str(out))[0] == 0
    assert (out / "allocation.csv").read_text().startswith("applicant_id,")
    assert (out / "matches.csv").read_text() == "kept\n"  # other files are carried over
    assert others(tmp_path) == ["out"]


def test_a_failed_run_creates_no_folders(tmp_path: Path) -> None:
    toml = SMALL_TOML.replace("min_service_areas = 2", "min_service_areas = 9")
    scenario = write_small(tmp_path / "s", toml)
    code, _, _ = invoke("allocate", str(scenario), "--out", str(tmp_path / "a" / "b" / "out"))
    assert code == 1
    assert not (tmp_path / "a").exists()


# --------------------------------------------------------------------------- symlinked --out


def test_a_symlinked_out_keeps_its_link_and_updates_the_target(small: Path, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "results"
    target.mkdir(parents=True)
    (target / "matches.csv").write_text("kept\n")
    link = tmp_path / "out"
    link.symlink_to(target)
    assert invoke("allocate", str(small), "--out", str(link))[0] == 0
    assert link.is_symlink() and link.resolve() == target
    assert (target / "allocation.csv").exists()
    assert (target / "matches.csv").read_text() == "kept\n"
    assert others(tmp_path) == ["out", "shared"]
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["results"]


def test_a_dangling_symlinked_out_creates_its_target(small: Path, tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "elsewhere")
    assert invoke("allocate", str(small), "--out", str(link))[0] == 0
    assert link.is_symlink() and (tmp_path / "elsewhere" / "allocation.csv").exists()


# --------------------------------------------------------------------------- unusable --out


def _refused(small: Path, tmp_path: Path, out: Path, expected: str) -> None:
    before = tree(tmp_path)
    code, stdout, stderr = invoke("allocate", str(small), "--out", str(out))
    assert code == 2, stderr
    assert stdout == ""
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"--out {out}: ") and expected in line, line
    assert tree(tmp_path) == before


def test_an_out_that_is_a_file_is_refused(small: Path, tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("mine\n")
    _refused(small, tmp_path, tmp_path / "results.csv", "is a file, not a folder")


def test_an_out_under_a_file_is_refused(small: Path, tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("mine\n")
    _refused(small, tmp_path, tmp_path / "results.csv" / "out", "is a file, so no folder")


def test_an_out_name_too_long_for_the_file_system_is_refused(small: Path, tmp_path: Path) -> None:
    _refused(small, tmp_path, tmp_path / ("o" * 250), "longer than this file system allows")


def test_an_out_path_too_long_for_the_file_system_is_refused(small: Path, tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 21)
    _refused(small, tmp_path, deep, "too long for this file system")


def test_an_out_symlink_loop_is_refused(small: Path, tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    _refused(small, tmp_path, tmp_path / "loop", "symbolic link that leads back to itself")


def test_an_out_holding_other_files_is_refused(small: Path, tmp_path: Path) -> None:
    # The whole folder is swapped for a new one: never do that to a folder that is not ours.
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "notes.txt").write_text("mine\n")
    _refused(small, tmp_path, tmp_path / "documents", "did not write (notes.txt)")


def test_the_scenario_folder_is_not_an_out(small: Path) -> None:
    before = tree(small)
    code, _, stderr = invoke("allocate", str(small), "--out", str(small))
    assert code == 2 and "cohort-solver did not write" in stderr
    assert tree(small) == before


def test_compare_refuses_a_bad_out_before_solving(small: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = CliRunner().invoke(main, ["compare", str(small), "--out", str(tmp_path / "f")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"--out {tmp_path / 'f'}: is a file, not a folder; give a folder (it is created if missing)"
    )


# --------------------------------------------------------------------------- the lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from cohort_solver.stages.export.files import OutputFolder
    with OutputFolder(sys.argv[1], "holder"):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _hold(out: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def _allocate_process(scenario: Path, out: Path, wait: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cohort_solver.cli", "allocate", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COHORT_SOLVER_LOCK_WAIT": str(wait)},
    )


@pytest.mark.slow
def test_a_second_run_into_a_busy_out_is_refused_clearly(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = _hold(out, 60)
    try:
        second = _allocate_process(small, out, wait=0.5)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2, second.stderr
    message = second.stderr.strip().splitlines()[-1]
    assert message.startswith(f"--out {out}: 'holder' (process {holder.pid}, started ")
    assert "is writing this folder; waited 0.5 s" in message
    assert not out.exists()
    # The killed holder's lock died with it: the next run proceeds and tidies up.
    assert _allocate_process(small, out, wait=0.5).returncode == 0
    assert (out / "allocation.csv").exists() and not work_folder(out).exists()


@pytest.mark.slow
def test_a_second_run_waits_for_a_short_first_one(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = _hold(out, 1.0)
    second = _allocate_process(small, out, wait=30)
    assert holder.wait() == 0
    assert second.returncode == 0, second.stderr
    assert (out / "allocation.csv").exists() and not work_folder(out).exists()


def test_the_lock_is_reentrant_within_one_process(tmp_path: Path) -> None:
    with OutputFolder(tmp_path / "out") as outer, output_folder(tmp_path / "out") as staging:
        assert staging.parent == outer.work
        (staging / "allocation.csv").write_text("x")
    assert (tmp_path / "out" / "allocation.csv").read_text() == "x"
    assert not work_folder(tmp_path / "out").exists()


@pytest.mark.slow
def test_a_run_that_cannot_take_the_lock_touches_nothing_of_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = _hold(out, 60)
    try:
        (work_folder(out) / "staging").mkdir()  # as if the holder were writing now
        os.environ["COHORT_SOLVER_LOCK_WAIT"] = "0.2"
        with pytest.raises(OutputFolderError), OutputFolder(out):
            pass
        assert (work_folder(out) / "staging").is_dir()
        assert (work_folder(out) / "lock").exists()
    finally:
        os.environ.pop("COHORT_SOLVER_LOCK_WAIT", None)
        holder.kill()
        holder.wait()


COUNTER = textwrap.dedent(
    """
    import sys
    from cohort_solver.stages.export.files import output_folder
    for _ in range(int(sys.argv[2])):
        with output_folder(sys.argv[1]) as staging:
            count = staging / "changes.csv"
            count.write_text(str(int(count.read_text()) + 1 if count.exists() else 1))
    """
)


@pytest.mark.slow
def test_many_runs_at_once_lose_no_update(tmp_path: Path) -> None:
    # Each run reads --out and writes it back one higher: with the lock, none is lost, and the
    # work folder (removed by each run as it leaves) never strands a waiting one.
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, str(out), "10"],
            env={**os.environ, "COHORT_SOLVER_LOCK_WAIT": "60"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    assert (out / "changes.csv").read_text() == "60"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
