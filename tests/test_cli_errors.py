"""No command ever prints a traceback: one catch-all, in ``CohortSolver.invoke``, turns every
error into its exit code and one message, and a closed stdout is not an error."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cohort_solver import cli
from cohort_solver.cli import main
from cohort_solver.errors import (
    InfeasibleError,
    InputError,
    InternalError,
    OutOfTimeError,
    Problem,
)


def arguments(command: str, scenario: Path, out: Path, applicant: str = "A1") -> list[str]:
    """The shortest valid command line of each command."""
    s, o = str(scenario), str(out)
    known = {
        "validate": [s],
        "allocate": [s, "--out", o],
        "withdraw": [s, applicant, "--out", o],
        "explain": [s, applicant, "--out", o],
        "match": [s, "--out", o],
        "schedule": [s, "--out", o],
        "export": [s, "--out", o],
        "run": [s, "--out", o],
        "publish": [s, "--out", o, "--caldav", "http://127.0.0.1:9/dav/"],
        "serve": [s, "--out", o, "--links-only"],
        "robustness": [s, "--out", o, "--trials", "1"],
        "compare": [s, "--out", o, "--variant", "again"],
        "generate": [o, "--councils", "1", "--applicants", "20"],
    }
    if command not in known:
        pytest.fail(f"a new command {command!r}: add its arguments here, so it is tested too")
    quiet = [] if command == "generate" else ["--quiet"]
    return [command, *known[command], *quiet]


COMMANDS = sorted(main.commands)


def boom(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("boom\nwith a second line")


def test_every_command_is_covered() -> None:
    for command in COMMANDS:
        arguments(command, Path("s"), Path("o"))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bug_in_any_command_is_one_line_and_exit_3(
    command: str, small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main.commands[command], "callback", boom)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, arguments(command, small, out))
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("internal error (ZeroDivisionError: boom with a second line at ")
    assert "cohort_solver/" not in line or "tests/" not in line
    assert line.endswith("; nothing was written. Please report this with the scenario folder.")
    assert not out.exists()


# Each command's own code, after --out is locked and (for most) the scenario is loaded.
DEEP = {
    "validate": "cohort_solver.stages.allocate.eligibility.candidates",
    "allocate": "cohort_solver.pipeline.allocation_csv",
    "withdraw": "cohort_solver.stages.allocate.solve.allocate",
    "explain": "cohort_solver.stages.allocate.explain.explain_applicant",
    "match": "cohort_solver.stages.match.solve.match",
    "schedule": "cohort_solver.stages.match.solve.match",
    "export": "cohort_solver.cli.Context.load",
    "run": "cohort_solver.stages.report.panel_report.report_html",
    "publish": "cohort_solver.stages.export.ics.read_feeds",
    "serve": "cohort_solver.cli.load_scenario",
    "robustness": "cohort_solver.sweeps.robustness.assess",
    "compare": "cohort_solver.sweeps.compare.compare_rows",
    "generate": "cohort_solver.synthetic.generate.generate_scenario",
}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bug_deep_inside_any_command_leaves_out_untouched(
    command: str, oxford: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert command in DEEP, f"a new command {command!r}: add a place to fail inside it"
    monkeypatch.setattr(DEEP[command], boom)
    out = tmp_path / "out"
    out.mkdir()
    (out / "changes.csv").write_text("old\n")  # something to leave alone
    result = CliRunner().invoke(main, arguments(command, oxford, out, applicant="A024"))
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if not x.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("internal error (ZeroDivisionError: boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "oxford-2024"]
    assert [p.name for p in out.iterdir()] == ["changes.csv"]
    assert (out / "changes.csv").read_text() == "old\n"


CHILD = textwrap.dedent(
    """
    import sys
    import cohort_solver.cli as cli

    def boom(*args, **kwargs):
        raise RuntimeError("injected")

    cli.main.commands[sys.argv[1]].callback = boom
    sys.argv[0] = "cohort-solver"
    cli.main()
    """
)


# The in-process test above covers every command; these show the same in a real process for
# a command with the shared options, and for the two that have their own (compare, generate).
@pytest.mark.slow  # a real process per command: seconds each
@pytest.mark.parametrize("command", ["allocate", "compare", "generate"])
def test_a_real_process_never_prints_a_traceback(command: str, small: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments(command, small, tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "internal error (RuntimeError: injected" in done.stderr


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (InputError([Problem("applicants.csv", 3, 2, "bad")]), 2, "applicants.csv:3:2: bad"),
        (InfeasibleError("allocation", ["too few"]), 1, "allocation: no plan satisfies"),
        (OutOfTimeError("calendar", "3 of 5 months", "120 s more"), 4, "calendar: the time limit"),
        (InternalError("MODEL_INVALID"), 3, "internal error (MODEL_INVALID)"),
    ],
)
def test_each_error_has_its_exit_code(
    error: Exception, code: int, text: str, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    for command in ("allocate", "compare", "generate"):
        monkeypatch.setattr(main.commands[command], "callback", fail)
        result = CliRunner().invoke(main, arguments(command, small, small / "out"))
        assert result.exit_code == code, (command, result.output)
        assert result.stderr.startswith(text) and "Traceback" not in result.output


def test_ctrl_c_is_exit_130_without_a_traceback(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(main.commands["allocate"], "callback", interrupt)
    result = CliRunner().invoke(main, ["allocate", str(small)])
    assert result.exit_code == 130
    assert result.stderr == "stopped (Ctrl-C); --out holds its last complete result\n"


def test_usage_errors_stay_clicks_exit_2(small: Path) -> None:
    result = CliRunner().invoke(main, ["allocate", str(small), "--no-such-option"])
    assert result.exit_code == 2 and "No such option '--no-such-option'" in result.stderr
    result = CliRunner().invoke(main, ["generate", "x", "--councils", "1", "--applicants", "2"])
    assert result.exit_code == 2 and "Error: " in result.stderr  # fewer applicants than places
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0


# --------------------------------------------------------------------------- closed stdout


class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_goes_quiet() -> None:
    stream = cli._QuietWhenClosed(_Closed())
    assert stream.write("first line\n") == len("first line\n")
    assert stream.closed_by_reader
    stream.write("more\n")
    stream.flush()


@pytest.mark.slow
def test_explain_into_a_closed_pipe_exits_quietly(oxford: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cohort_solver.cli", "explain", str(oxford), "A037"]
        + ["--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader has gone before the first line (``| head -n 0``)
    err = process.stderr.read()
    assert process.wait() == 0, err
    assert "BrokenPipe" not in err and "internal error" not in err and "Traceback" not in err


@pytest.mark.slow
def test_explain_piped_into_head_ends_cleanly(oxford: Path, tmp_path: Path) -> None:
    script = (
        f"set -o pipefail; {sys.executable} -m cohort_solver.cli explain {oxford} A037 "
        f"--out {tmp_path / 'out'} --quiet 2>{tmp_path / 'err'} | head -n 1"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("Sarah Mitchell (A037): ")
    assert (tmp_path / "err").read_text() == ""


@pytest.mark.slow
def test_a_command_whose_stdout_is_closed_still_writes_out(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "cohort_solver.cli", "allocate", str(small), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait() == 0, err
    assert (out / "allocation.csv").exists()
    assert "internal error" not in err


def test_the_catch_all_is_the_group_itself() -> None:
    # Every command, present and future, runs inside CohortSolver.invoke.
    assert isinstance(main, cli.CohortSolver) and isinstance(main, click.Group)
