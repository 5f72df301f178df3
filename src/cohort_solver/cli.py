"""The command line: parse the arguments, call the pipeline (or one stage of it), print.

Exit 0 ok, 1 infeasible (with a proof), 2 bad input (or an unusable --out), 3 internal error,
4 out of time. ``CohortSolver.invoke`` is the one place every command's errors end up.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import click

from cohort_solver import pipeline

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
from cohort_solver.domain.markets import MarketResult, SwapResult
from cohort_solver.domain.results import Allocation
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import CohortSolverError, InputError, InternalError, Problem
from cohort_solver.pipeline import DEFAULT_TIME_LIMIT
from cohort_solver.stages.export.calendar_csv import calendar_csv, read_calendar_csv
from cohort_solver.stages.export.files import OutputFolder, output_folder
from cohort_solver.stages.export.tables import matches_csv, read_matches
from cohort_solver.stages.load.scenario import load_scenario

EXAMPLES = """
\b
Examples:
  cohort-solver validate scenarios/oxford-2024
  cohort-solver allocate scenarios/oxford-2024 --out out/
  cohort-solver allocate scenarios/oxford-2024 --set selection.ring_fence.0.min_places=6
  cohort-solver explain scenarios/oxford-2024 A013 --out out/
  cohort-solver withdraw scenarios/oxford-2024 A024 --out out/
  cohort-solver run scenarios/oxford-2024
  cohort-solver compare scenarios/oxford-2024 --variant six-held --set selection.ring_fence.0.min_places=6
  cohort-solver robustness scenarios/oxford-2024 --noise 0.5 --trials 200
  cohort-solver robustness scenarios/oxford-2024 --noise 0.5 --dask-scheduler tcp://10.0.0.5:8786
"""


class Context:
    """What every command shares: the scenario, where to write, and solver limits."""

    def __init__(
        self,
        scenario_dir: Path,
        out: Path | None,
        sets: tuple[str, ...],
        time_limit: float,
        workers: int,
        quiet: bool,
    ):
        self.scenario_dir = scenario_dir
        self.out = out or scenario_dir / "out"
        self.sets = sets
        self.time_limit = time_limit
        self.workers = workers
        self.quiet = quiet
        self.started = time.monotonic()
        self._console: Console | None = None
        self.bars: Progress | None = None
        self.earlier = pipeline.Earlier(self.out)
        self.options = pipeline.Options(
            time_limit=time_limit, workers=workers, progress=self.progress, say=self.say
        )

    @property
    def console(self) -> Console:
        """stderr, so stdout stays the result a script can read (rich loads only when used)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, soft_wrap=True)
        return self._console

    def load(self) -> Scenario:
        scenario = load_scenario(self.scenario_dir, self.sets)
        for warning in scenario.warnings:
            click.echo(f"warning: {warning}", err=True)
        return scenario

    def progress(self, stage: str, unit: str = "parts") -> Callable[[int, int], None]:
        """A ``(done, total)`` callback for one stage: a live bar on a terminal, plain lines in
        logs and pipes (a bar redrawn with control characters would garble a CI log)."""
        if self.quiet:
            return lambda done, total: None
        if not self.console.is_terminal:

            def line(done: int, total: int) -> None:
                if total > 1:
                    self.say(
                        f"{stage}: {done}/{total} {unit} ({time.monotonic() - self.started:.1f}s)"
                    )

            return line
        if self.bars is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.bars.start()
        bars, task = self.bars, self.bars.add_task(stage, total=None)

        def bar(done: int, total: int) -> None:
            bars.update(task, completed=done, total=total)

        return bar

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, highlight=False)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:  # stop drawing before any error message is printed
            self.bars.stop()
            self.bars = None


Command = Callable[..., None]


@overload
def scenario_command(
    func: Command, *, writes: bool = True, keeps_reports: bool = True
) -> Command: ...
@overload
def scenario_command(
    func: None = None, *, writes: bool = True, keeps_reports: bool = True
) -> Callable[[Command], Command]: ...
def scenario_command(
    func: Command | None = None, *, writes: bool = True, keeps_reports: bool = True
) -> Command | Callable[[Command], Command]:
    """The shared arguments and options. A command that ``writes`` holds --out's lock from
    before it reads --out until it has written it, so two runs cannot interleave. One that
    ``keeps_reports`` adds to --out's solution.json, so a broken one stops it before solving."""
    if func is None:
        return functools.partial(scenario_command, writes=writes, keeps_reports=keeps_reports)

    @click.argument("scenario", type=click.Path(path_type=Path))
    @click.option(
        "--out", type=click.Path(path_type=Path), help="Output folder (default SCENARIO/out)."
    )
    @click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY.PATH=VALUE",
        help="Override a scenario.toml value, e.g. selection.places=10. Repeatable.",
    )
    @click.option(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        show_default=True,
        help="Seconds each stage may search before it stops with exit 4 (out of time). "
        "The default is enough for a national programme on two cores; a stage that is "
        "done sooner stops sooner.",
    )
    @click.option(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        show_default="all cores",
        help="Solver threads.",
    )
    @click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
    @functools.wraps(func)
    def wrapper(
        scenario: Path,
        out: Path | None,
        sets: tuple[str, ...],
        time_limit: float,
        workers: int,
        quiet: bool,
        **kwargs: Any,
    ) -> None:
        ctx = Context(scenario, out, sets, time_limit, workers, quiet)
        locked = OutputFolder(ctx.out, func.__name__) if writes else contextlib.nullcontext()
        with locked, ctx:
            if writes and keeps_reports:
                ctx.earlier.reports()
            func(ctx, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- the catch-all


class _QuietWhenClosed:
    """stdout or stderr that goes quiet once its reader has gone (``explain ... | head``).

    The command carries on and writes --out as usual: only the text nobody reads is dropped,
    like a well-behaved filter that stops at a closed pipe. The file descriptor is pointed at
    /dev/null, so Python's own flush at exit does not fail either.
    """

    def __init__(self, stream: Any):
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                written: int = self._stream.write(text)
                return written
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.closed_by_reader = True
        with contextlib.suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # click would write bytes past us; text only
            raise AttributeError(name)
        return getattr(self._stream, name)


class Interrupted(BaseException):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so staging is cleaned up on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    """Closed pipes are quiet, and termination signals unwind (main thread only)."""
    saved_streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _QuietWhenClosed(sys.stdout), _QuietWhenClosed(sys.stderr)
    saved_handlers: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def stop(signum: int, frame: Any) -> None:
            raise Interrupted(signum)

        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                saved_handlers[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in saved_handlers.items():
            signal.signal(number, handler)
        sys.stdout, sys.stderr = saved_streams


def _where(exc: BaseException) -> str:
    """The innermost line of this package in the exception's traceback, for a bug report."""
    package = Path(__file__).resolve().parent
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(package):
            where = f"{path.relative_to(package.parent).as_posix()}:{frame.lineno}"
    return where


def _internal(exc: BaseException) -> InternalError:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    text = text if len(text) <= 300 else text[:297] + "..."
    where = _where(exc)
    return InternalError(f"{text}{f' at {where}' if where else ''}")


class CohortSolver(click.Group):
    """The command group. Its ``invoke`` is the catch-all every command runs inside."""

    def invoke(self, ctx: click.Context) -> Any:
        with _guarded():
            try:
                return super().invoke(ctx)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
                raise  # click's own: usage errors (exit 2), --help and --version (exit 0)
            except CohortSolverError as exc:
                error = exc
            except KeyboardInterrupt:
                click.echo("stopped (Ctrl-C); --out holds its last complete result", err=True)
                sys.exit(130)
            except Interrupted as exc:
                name = signal.Signals(exc.signum).name
                click.echo(f"stopped ({name}); --out holds its last complete result", err=True)
                sys.exit(128 + exc.signum)
            except Exception as exc:  # a bug: one line, no traceback, nothing written
                error = _internal(exc)
            click.echo(str(error), err=True)
            sys.exit(error.exit_code)


@click.group(cls=CohortSolver, epilog=EXAMPLES)
@click.version_option(package_name="cohort-solver")
def main() -> None:
    """Allocate places, match mentors and coaches, and schedule a positive-action
    leadership programme, with proven-optimal OR-Tools models.

    SCENARIO is a folder holding scenario.toml and applicants.csv (see the contract).
    """


# --------------------------------------------------------------------------- commands


def _summary(allocation: Allocation) -> str:
    counts = Counter[str](o.status for o in allocation.outcomes)
    levels = ", ".join(f"{lv.name}={lv.value}" for lv in allocation.report.levels)
    statuses = ("selected", "reserve", "not_selected", "ineligible")
    return (
        f"allocation {allocation.report.status}: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in statuses)
        + f" ({levels}; {allocation.report.seconds:.2f}s)"
    )


@main.command(epilog="Example: cohort-solver validate scenarios/oxford-2024")
@scenario_command(writes=False)
def validate(ctx: Context) -> None:
    """Load and check every file of SCENARIO; print a summary; write nothing."""
    for line in pipeline.validation_summary(ctx.load()):
        click.echo(line)
    click.echo("valid")


@main.command(
    epilog="Example: cohort-solver allocate scenarios/oxford-2024 --set selection.spread.max_per_service_area=3"
)
@scenario_command
def allocate(ctx: Context) -> None:
    """Select participants and reserves; write allocation.csv."""
    scenario = ctx.load()
    allocation = pipeline.allocate(scenario, ctx.options)
    pipeline.write(
        ctx.out,
        scenario,
        pipeline.allocation_files(scenario, allocation),
        [allocation.report],
        earlier=ctx.earlier,
    )
    click.echo(_summary(allocation))


@main.command(epilog="Example: cohort-solver withdraw scenarios/oxford-2024 A024 --out out/")
@scenario_command
@click.argument("applicant_id")
def withdraw(ctx: Context, applicant_id: str) -> None:
    """A selected participant leaves: keep everyone else, pick the best lawful replacement."""
    scenario = ctx.load()
    previous = pipeline.allocation_for(scenario, ctx.earlier, ctx.options)
    allocation = pipeline.withdraw(scenario, previous, applicant_id, ctx.options)
    why = pipeline.replacement(scenario, previous, applicant_id)
    done = pipeline.withdrawal_files(scenario, allocation, ctx.earlier, ctx.options)
    pipeline.write(
        ctx.out,
        scenario,
        done.files,
        list(done.reports),
        earlier=ctx.earlier,
        fresh_ics=done.fresh_ics,
    )
    before = {o.applicant_id for o in previous.selected()}
    joined = [o for o in allocation.selected() if o.applicant_id not in before]
    for o in joined:
        click.echo(
            f"{applicant_id} withdrawn; replaced by {o.applicant_id} in cohort {o.cohort_id} "
            f"(score {o.score})"
        )
    if not joined:
        click.echo(f"{applicant_id} withdrawn; no lawful replacement, the place stays empty")
    click.echo(why[0].upper() + why[1:])
    for note in done.notes:
        click.echo(f"  {note}")


@main.command(
    epilog="Examples:\n\n  cohort-solver explain scenarios/oxford-2024 A013 --out out/\n\n"
    "  cohort-solver explain scenarios/oxford-2024 main/W03 --out out/"
)
@scenario_command(writes=False)
@click.argument("applicant_id")
@click.option(
    "--market", help="A sign-up or placement scheme of [[markets]]: explain this person in it."
)
@click.option("--partner", help="With --market: why not paired with this person?")
def explain(ctx: Context, applicant_id: str, market: str | None, partner: str | None) -> None:
    """Why APPLICANT_ID got their outcome (and their mentor and coach), and what would change it.

    Given an event_id from calendar.csv instead, explains why that event is at its time. With
    --market NAME, explains a person of that sign-up scheme (--partner M3: why not M3?).
    """
    if market is not None:
        texts = pipeline.explain_market(ctx.load(), market, applicant_id, partner)
    else:
        texts = pipeline.explain(ctx.load(), applicant_id, ctx.earlier, ctx.options)
    for text in texts:
        click.echo(text)


@main.command(epilog="Example: cohort-solver match scenarios/oxford-2024 --out out/")
@scenario_command
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An earlier matches.csv: keep every pair that is still lawful.",
)
def match(ctx: Context, previous: Path | None) -> None:
    """Give each selected participant a mentor and a coach; write matches.csv. Each sign-up
    scheme the toml declares ([[markets]]) is read three ways and written to NAME.csv; job
    swaps and placements (kind = "swap", "placement") too."""
    scenario = ctx.load()
    schemes = pipeline.markets(scenario, ctx.options)
    allocation = pipeline.allocation_for(scenario, ctx.earlier, ctx.options)
    sides = {"mentoring": bool(scenario.mentors), "coaching": bool(scenario.coaches)}
    old = read_matches(previous, **sides) if previous else None
    result = pipeline.match(scenario, allocation, ctx.options, previous=old)
    pipeline.write(
        ctx.out,
        scenario,
        {
            **pipeline.allocation_files(scenario, allocation),
            "matches.csv": matches_csv(result.matches),
            **pipeline.market_files(schemes),
        },
        [allocation.report, result.report],
        earlier=ctx.earlier,
    )
    click.echo(
        f"matching {result.report.status}: {len(result.matches)} participants matched "
        f"({', '.join(f'{lv.name}={lv.value}' for lv in result.report.levels)})"
    )
    for scheme in schemes:
        click.echo(_scheme_line(scheme))


def _scheme_line(scheme: MarketResult | SwapResult) -> str:
    """One line per scheme: pairs and fit of each reading and what stability costs, or the
    swaps made."""
    if isinstance(scheme, SwapResult):
        return (
            f"{scheme.market}: {scheme.status}, {len(scheme.swaps)} swaps move "
            f"{scheme.swapped} people (fit {scheme.total_fit}); {len(scheme.unpaired)} unpaired"
        )
    readings = ", ".join(
        f"{r.name} {len(r.pairs)} pairs fit {r.total_fit}" for r in scheme.readings
    )
    return (
        f"{scheme.market}: {readings}; stability costs {scheme.stability_cost} fit; "
        f"{len(scheme.blocking_pairs)} blocking pairs under max_fit"
    )


@main.command(
    epilog="Example: cohort-solver schedule scenarios/oxford-2024 --previous out/calendar.csv"
)
@scenario_command
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An earlier calendar.csv: re-plan moving as few events as possible.",
)
def schedule(ctx: Context, previous: Path | None) -> None:
    """Build the conflict-free programme calendar; write calendar.csv."""
    scenario = ctx.load()
    allocation = pipeline.allocation_for(scenario, ctx.earlier, ctx.options)
    matches, reports = pipeline.matches_for(scenario, allocation, ctx.earlier, ctx.options)
    old = read_calendar_csv(previous) if previous else None
    result = pipeline.schedule(scenario, allocation, matches, ctx.options, previous=old)
    files = {
        **pipeline.allocation_files(scenario, allocation),
        "matches.csv": matches_csv(matches),
        "calendar.csv": calendar_csv(result.events),
    }
    if old is not None:
        files.update(pipeline.replan_files(scenario, old, result.events))
    pipeline.write(
        ctx.out, scenario, files, [allocation.report, *reports, result.report], earlier=ctx.earlier
    )
    click.echo(f"calendar {result.report.status}: {len(result.events)} events")


@main.command(epilog="Example: cohort-solver export scenarios/oxford-2024 --out out/")
@scenario_command
@click.option(
    "--previous",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An earlier ics/ folder: bump SEQUENCE on changed events, cancel removed ones "
    "(default: the ics/ already in --out).",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Write the feeds as a first export even though solution.json records earlier feeds "
    "that are no longer in ics/ (SEQUENCE restarts at 0; nothing is cancelled).",
)
def export(ctx: Context, previous: Path | None, fresh: bool) -> None:
    """Write iCalendar feeds (ics/) from calendar.csv: per cohort, participant, coach, person, venue."""
    scenario = ctx.load()
    events = ctx.earlier.calendar()
    if events is None:
        raise InputError(
            [Problem("calendar.csv", 1, 1, f"no calendar in {ctx.out}: run 'schedule' first")]
        )
    old = ctx.earlier.feeds(scenario, previous, fresh=fresh or previous is not None)
    feeds = pipeline.export(scenario, events, old)
    pipeline.write(
        ctx.out, scenario, pipeline.feed_files(feeds), [], earlier=ctx.earlier, fresh_ics=True
    )
    click.echo(f"{len(feeds)} feeds written to {ctx.out / 'ics'}")


@main.command(
    epilog="Example: cohort-solver publish scenarios/oxford-2024 --caldav "
    "https://calendar.example.org/dav/coordinator/ --username coordinator "
    "--password-file ~/.caldav-password"
)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Output folder (default SCENARIO/out)."
)
@click.option("--caldav", "url", required=True, metavar="URL", help="CalDAV principal URL.")
@click.option("--username", help="CalDAV user name.")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding the password (its first line), so it stays out of shell history.",
)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
def publish(
    scenario: Path,
    out: Path | None,
    url: str,
    username: str | None,
    password_file: Path | None,
    quiet: bool,
) -> None:
    """Put the feeds of --out/ics on a CalDAV server: one calendar per feed; only changes are
    written, so running it again is safe and cheap."""
    from cohort_solver.stages.export.ics import read_feeds

    folder = (out or scenario / "out") / "ics"
    feeds = read_feeds(folder)
    if not feeds:
        raise InputError(
            [Problem(str(folder), 1, 1, "no feeds here: run 'cohort-solver run' (or export) first")]
        )
    password = None
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""

    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    done = pipeline.publish(feeds, url, username, password, say)
    click.echo(f"published {len(feeds)} calendars to {url}: {done.summary()}")


@main.command(
    epilog="Examples: cohort-solver serve scenarios/oxford-2024 --port 8080 "
    "--base-url https://calendars.example.org ; "
    "cohort-solver serve scenarios/oxford-2024 --revoke ics/participant-A024.ics --links-only"
)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Output folder (default SCENARIO/out)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option(
    "--base-url",
    help="The address people subscribe to, e.g. your proxy's https://calendars.example.org "
    "(default http://HOST:PORT); it goes into links.csv.",
)
@click.option(
    "--revoke",
    multiple=True,
    metavar="FILE",
    help="Stop serving this file for good, e.g. ics/participant-A024.ics. Repeatable.",
)
@click.option(
    "--links-only", is_flag=True, help="Write tokens.csv and links.csv, then stop (no server)."
)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
def serve(
    scenario: Path,
    out: Path | None,
    host: str,
    port: int,
    base_url: str | None,
    revoke: tuple[str, ...],
    links_only: bool,
    quiet: bool,
) -> None:
    """Serve the feeds for subscription, each at a secret URL listed in links.csv."""
    folder = out or scenario / "out"
    loaded = load_scenario(scenario)  # names and e-mail addresses for links.csv
    if not (folder / "ics").is_dir():
        raise InputError(
            [Problem(str(folder / "ics"), 1, 1, "no feeds here: run 'cohort-solver run' first")]
        )
    tokens = pipeline.links(loaded, folder, base_url or f"http://{host}:{port}", revoke)
    live = sum(not t.revoked for t in tokens)
    click.echo(f"{live} links in {folder / 'links.csv'} ({len(tokens) - live} revoked)")
    if links_only:
        return
    import uvicorn

    from cohort_solver.stages.export.serve import app

    if not quiet:
        click.echo(f"serving {folder} on http://{host}:{port} (Ctrl-C stops)", err=True)
    uvicorn.run(app(folder.resolve()), host=host, port=port, log_level="warning")


@main.command(
    epilog="Examples:\n\n  cohort-solver run scenarios/oxford-2024\n\n"
    "  cohort-solver run scenarios/oxford-2024 --fresh   # plan the calendar from scratch"
)
@scenario_command(keeps_reports=False)
@click.option(
    "--fresh",
    is_flag=True,
    help="Plan the calendar from scratch instead of re-planning the one in --out with the "
    "fewest moves (changes.csv still compares the two).",
)
def run(ctx: Context, fresh: bool) -> None:
    """Every stage: allocation, matching, each [[markets]] scheme (NAME.csv), calendar,
    feeds, report.html and solution.json.

    Over an earlier run's --out, the calendar is re-planned moving as few events as possible
    and changes.csv and notices.csv say what moved for whom (unless --fresh).
    """
    result = pipeline.run(ctx.load(), ctx.out, ctx.options, fresh=fresh)
    click.echo(_summary(result.allocation))
    ran = {r.stage: r for r in result.reports}
    skipped = pipeline.skipped_stages(result.scenario)
    if "matching" in ran:
        click.echo(f"matching {ran['matching'].status}: {len(result.matches)} participants matched")
    else:
        click.echo(f"matching skipped: {skipped['matching']}")
    if "calendar" in ran:
        click.echo(f"calendar {ran['calendar'].status}: {len(result.events)} events")
    else:
        click.echo(f"calendar skipped: {skipped['calendar']}")
    for scheme in result.markets:
        click.echo(_scheme_line(scheme))
    click.echo(f"written to {ctx.out}")


def _variants(args: list[str]) -> list[tuple[str, list[str]]]:
    """``--variant NAME --set k=v ... --variant NAME2 ...`` in order; sets before any variant apply to all."""
    shared: list[str] = []
    variants: list[tuple[str, list[str]]] = [("baseline", shared)]
    words = iter(args)
    for word in words:
        value = next(words, None)
        if word not in ("--variant", "--set") or value is None:
            raise InputError(
                [
                    Problem(
                        "compare", 1, 1, f"expected --variant NAME or --set KEY=VALUE, got {word!r}"
                    )
                ]
            )
        if word == "--variant":
            variants.append((value, list(shared)))
        else:
            variants[-1][1].append(value)
    return variants


DASK_HELP = (
    "Run the solves on this Dask distributed scheduler (e.g. tcp://10.0.0.5:8786) "
    "instead of local processes."
)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="Example: cohort-solver compare scenarios/oxford-2024 --variant six-held "
    "--set selection.ring_fence.0.min_places=6 --variant three-per-area --set selection.spread.max_per_service_area=3",
)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Where compare.html goes (default SCENARIO/out)."
)
@click.option("--time-limit", type=float, default=120.0, show_default=True)
@click.option(
    "--workers",
    type=int,
    default=os.cpu_count() or 2,
    show_default="all cores",
    help="Cores to use: variants run side by side in processes, sharing them out.",
)
@click.option("--dask-scheduler", metavar="ADDRESS", help=DASK_HELP)
@click.option(
    "--readings",
    is_flag=True,
    help="Add a variant per ring fence read the other way (minimum_guarantee <-> "
    "over_and_above), e.g. compare scenarios/oxford-2024 --readings.",
)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
@click.pass_context
def compare(
    click_ctx: click.Context,
    scenario: Path,
    out: Path | None,
    time_limit: float,
    workers: int,
    dask_scheduler: str | None,
    readings: bool,
    quiet: bool,
) -> None:
    """Allocate several --set variants of SCENARIO and show them side by side (terminal and compare.html).

    \b
    Variants, after the options (the first column, "baseline", is the scenario as it is):
      --variant NAME      start a variant called NAME
      --set KEY=VALUE     a setting this variant changes (repeat for more), in the same
                          KEY=VALUE form as --set on every other command; a --set before
                          the first --variant changes the baseline and every variant
    """
    from cohort_solver.sweeps.compare import (
        compare_html,
        compare_rows,
        reading_variants,
        solve_variants,
        who_changes_lines,
    )

    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if not quiet:
            click.echo(
                f"compare: {done}/{total} variants solved ({time.monotonic() - started:.1f}s)",
                err=True,
            )

    variants: list[tuple[str, list[str]]] = _variants(list(click_ctx.args))
    if readings:
        variants = reading_variants(scenario, variants)
    target = out or scenario / "out"
    with OutputFolder(target, "compare") as folder:  # refuses a bad --out before solving
        results = solve_variants(
            scenario,
            variants,
            time_limit=time_limit,
            workers=workers,
            dask_scheduler=dask_scheduler,
            progress=progress,
        )
        headers, rows, differing = compare_rows(results)
        widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
        for row in (headers, *rows):
            click.echo(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
            )
        click.echo(
            f"{len(differing)} applicants have a different outcome between variants"
            + (f": {', '.join(differing)}" if differing else "")
        )
        for line in who_changes_lines(results):
            click.echo(line)
        with folder.staging() as staging:
            (staging / "compare.html").write_text(
                compare_html(results, [sets for _, sets in variants]), encoding="utf-8"
            )
    click.echo(f"written to {target / 'compare.html'}")


@main.command(
    epilog="Example: cohort-solver robustness scenarios/oxford-2024 --noise 0.5 --trials 200 --seed 1"
)
@scenario_command(keeps_reports=False)
@click.option(
    "--noise",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Standard deviation of the noise added to each panel score, in score points.",
)
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="How many noisy re-solves.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Mixed with the scenario's selection.seed; same seed, same bytes.",
)
@click.option(
    "--selected-below",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Close call: selected, but in fewer than this share of trials.",
)
@click.option(
    "--unselected-above",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Close call: left out, but selected in more than this share of trials.",
)
@click.option("--dask-scheduler", metavar="ADDRESS", help=DASK_HELP)
def robustness(
    ctx: Context,
    noise: float,
    trials: int,
    seed: int,
    selected_below: float,
    unselected_above: float,
    dask_scheduler: str | None,
) -> None:
    """How much the allocation rests on small score differences: re-solve with noisy panel
    scores; write robustness.csv and robustness.html.

    Trials run in --workers processes (or on the Dask cluster), one solver thread each, and
    --time-limit applies to each trial's solve.
    """
    from cohort_solver.sweeps.robustness import assess, robustness_csv, robustness_html, summary
    from cohort_solver.sweeps.runner import Runner

    scenario = ctx.load()
    baseline = pipeline.allocate(scenario, ctx.options)
    with Runner(workers=ctx.workers, dask_scheduler=dask_scheduler) as runner:
        ctx.say(f"robustness: {trials} trials")
        result = assess(
            scenario,
            baseline,
            runner,
            noise=noise,
            trials=trials,
            seed=seed,
            time_limit=ctx.time_limit,
            selected_below=selected_below,
            unselected_above=unselected_above,
            progress=ctx.progress("robustness"),
        )
    with output_folder(ctx.out) as staging:  # a copy of --out: the other outputs stay as they are
        (staging / "robustness.csv").write_text(
            robustness_csv(result), encoding="utf-8", newline=""
        )
        (staging / "robustness.html").write_text(
            robustness_html(scenario, result), encoding="utf-8"
        )
    click.echo(summary(result))
    click.echo(f"written to {ctx.out / 'robustness.csv'} and robustness.html")


@main.command(
    epilog="Examples:\n\n  cohort-solver generate /tmp/regional --councils 50 --applicants 12000 --cohorts 50\n\n"
    "  cohort-solver generate /tmp/hard --councils 6 --applicants 600 --cohorts 4 --after-chains "
    "--participant-unavailability-share 0.1 --part-time-share 0.3 --months 24 --venues 2 "
    "--group-weekdays Wed"
)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--councils", type=click.IntRange(min=1), required=True, help="Number of councils.")
@click.option(
    "--applicants", type=click.IntRange(min=1), required=True, help="Number of applicants."
)
@click.option("--cohorts", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--places", type=click.IntRange(min=1), default=12, show_default=True, help="Places per cohort."
)
@click.option(
    "--mentors", type=click.IntRange(min=1), default=None, help="Default: about one per place."
)
@click.option("--coaches", type=click.IntRange(min=1), default=None)
@click.option("--venues", type=click.IntRange(min=1), default=None)
@click.option("--part-time-share", type=click.FloatRange(0, 1), default=0.2, show_default=True)
@click.option(
    "--unavailability-share", type=click.FloatRange(0, 1), default=0.05, show_default=True
)
@click.option("--ineligible-share", type=click.FloatRange(0, 1), default=0.25, show_default=True)
@click.option(
    "--score-ties",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Share of applicants whose panel scores copy another's (exact ties).",
)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=19,
    show_default=True,
    help="Programme length: the seed's 19-month plan cut short or stretched (e.g. 24).",
)
@click.option(
    "--after-chains",
    is_flag=True,
    help="Coaching follows its month's workshop, and reviews follow that month's coaching.",
)
@click.option(
    "--shared-facilitators",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Name facilitators and the CMT panel (shared by every cohort) up to this many cohorts.",
)
@click.option(
    "--participant-unavailability-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of applicants away for a while (the other share covers staff and venues).",
)
@click.option(
    "--group-weekdays",
    default="Tue;Wed;Thu",
    show_default=True,
    help="Weekdays for group sessions, ;-separated (e.g. Wed: tight).",
)
def generate(out: Path, group_weekdays: str, **options: Any) -> None:
    """Write a synthetic multi-council scenario folder OUT (feasible by construction)."""
    from cohort_solver.synthetic.generate import generate_scenario

    try:
        days = tuple(d.strip() for d in group_weekdays.split(";") if d.strip())
        generate_scenario(out, group_weekdays=days, **options)
    except ValueError as exc:  # arguments no feasible scenario can honour
        raise click.UsageError(str(exc)) from None
    click.echo(f"scenario written to {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
