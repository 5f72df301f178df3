"""The one place that knows the stage order: load → markets → allocate → match → schedule →
export → report (markets before the calendar: full-time placements are days a participant is away).

Each stage is a function that takes the scenario, the results of the stages before it and one
``Options``, and returns a plain result; nothing here writes a file except ``write``. What an
earlier command left in ``--out`` is reused by ``Earlier`` while it is still valid for the same
inputs: each stage's report in solution.json records the checksum of the files that stage
reads, so editing unavailability.csv re-plans the calendar but keeps the allocation.

The CLI, the benchmarks and a notebook all call these functions::

    import cohort_solver
    scenario = cohort_solver.load("scenarios/oxford-2024")
    allocation = cohort_solver.allocate(scenario)
    matching = cohort_solver.match(scenario, allocation)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cohort_solver.domain.results import (
    Allocation,
    Decision,
    Event,
    Feedback,
    Level,
    Match,
    StageReport,
)
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError, Problem
from cohort_solver.stages.export.solution import read_reports
from cohort_solver.stages.export.tables import (
    allocation_csv,
    decision_log_csv,
    feedback_csv,
    matches_csv,
    read_allocation,
    read_matches,
)
from cohort_solver.stages.export.write import write_outputs
from cohort_solver.stages.load.scenario import load_scenario

if TYPE_CHECKING:  # the solver stages import OR-Tools: only when a stage runs
    from cohort_solver.domain.markets import MarketResult, PlacementDays, SwapResult
    from cohort_solver.stages.export.publish import Published
    from cohort_solver.stages.export.serve import Token
    from cohort_solver.stages.load.markets import Market
    from cohort_solver.stages.match.solve import MatchResult
    from cohort_solver.stages.schedule import CalendarResult

# Enough for every stage of a national programme (100,000 applicants, 300 cohorts, 40,000
# calendar events) on two busy cores; a stage that is done sooner stops sooner.
DEFAULT_TIME_LIMIT = 1800.0

Step = Callable[[int, int], None]  # (done, total): one stage's progress


def _silent_step(done: int, total: int) -> None:
    return None


def _no_progress(stage: str, unit: str) -> Step:
    return _silent_step


def _silent(message: str) -> None:
    return None


@dataclass(frozen=True)
class Options:
    """How hard the solvers may work, and where progress goes (nowhere, by default)."""

    time_limit: float = DEFAULT_TIME_LIMIT
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    progress: Callable[[str, str], Step] = _no_progress  # (stage, unit) -> step callback
    say: Callable[[str], None] = _silent  # one line of progress, e.g. "matching: solving"


# --------------------------------------------------------------------------- the stages


def load(folder: str | Path, sets: Sequence[str] = ()) -> Scenario:
    """Read and check a scenario folder, with ``--set`` style overrides."""
    return load_scenario(folder, sets)


def allocate(
    scenario: Scenario,
    options: Options | None = None,
    *,
    keep: Mapping[str, str] | None = None,
    withdrawn: Sequence[str] = (),
) -> Allocation:
    """Select participants and reserves (``keep`` pins places, e.g. after a withdrawal)."""
    from cohort_solver.stages.allocate.solve import allocate as solve_allocation

    options = options or Options()
    options.say("allocation: solving")
    allocation = solve_allocation(
        scenario,
        time_limit=options.time_limit,
        workers=options.workers,
        keep=keep,
        withdrawn=withdrawn,
        progress=options.progress("allocation", "parts"),
    )
    return allocation.model_copy(update={"report": _stamped(allocation.report, scenario)})


def match(
    scenario: Scenario,
    allocation: Allocation,
    options: Options | None = None,
    *,
    previous: Sequence[Match] | None = None,
) -> MatchResult:
    """A mentor and a coach for every selected participant (``previous``: keep lawful pairs)."""
    from cohort_solver.stages.match.solve import match as solve_matching

    _has_stage(scenario, "matching", "mentors.csv")
    options = options or Options()
    options.say("matching: solving")
    result = solve_matching(
        scenario,
        allocation.selected(),
        time_limit=options.time_limit,
        workers=options.workers,
        previous=previous,
        progress=options.progress("matching", "steps"),
    )
    return replace(result, report=_stamped(result.report, scenario))


def markets(scenario: Scenario, options: Options | None = None) -> list[MarketResult | SwapResult]:
    """Each ``[[markets]]`` scheme of the toml: a sign-up scheme read three ways (max fit,
    egalitarian, stable), job swaps packed exactly, or placements (max fit, stable). Bad
    tables raise InputError (exit 2) before anything is solved."""
    return [s.result for s in solved_markets(scenario, options)]


@dataclass(frozen=True)
class Solved:
    """One ``[[markets]]`` scheme, its result and how long the solve took."""

    market: Market
    result: MarketResult | SwapResult
    seconds: float


def solved_markets(
    scenario: Scenario, options: Options | None = None, *, only: str | None = None
) -> list[Solved]:
    """Each scheme (``only``: of that kind, e.g. "placement") with its result, in toml order."""
    import time

    from cohort_solver.stages.load.markets import load_markets

    options = options or Options()
    solved = []
    for market in load_markets(scenario):
        if only is None or market_kind(market) == only:
            options.say(f"{market.name}: solving {len(market.people)} sign-ups")
            began = time.monotonic()
            result = _solve_market(market, options)
            solved.append(Solved(market, result, time.monotonic() - began))
    return solved


def market_kind(market: Market) -> str:
    from cohort_solver.domain.markets import PlacementMarket, SignUpMarket

    if isinstance(market, SignUpMarket):
        return "signup"
    return "placement" if isinstance(market, PlacementMarket) else "swap"


def _solve_market(market: Market, options: Options) -> MarketResult | SwapResult:
    from cohort_solver.domain.markets import PlacementMarket, SignUpMarket
    from cohort_solver.stages.match.markets.placements import solve_placements
    from cohort_solver.stages.match.markets.signup import solve_signup
    from cohort_solver.stages.match.markets.swaps import solve_swaps

    if isinstance(market, SignUpMarket):
        return solve_signup(market)
    if isinstance(market, PlacementMarket):
        return solve_placements(market)
    return solve_swaps(market, time_limit=options.time_limit, workers=options.workers)


def market_reports(scenario: Scenario, solved: Sequence[Solved]) -> list[StageReport]:
    """One solution.json stage per scheme, ``market:NAME``: status, objectives and bounds."""
    adopted = {m.name: m.adopt for m in scenario.settings.markets}
    return [
        StageReport(
            stage=f"market:{s.market.name}",
            status=_market_status(s.result),
            levels=_market_levels(s.result),
            seconds=round(s.seconds, 3),
            solver="CP-SAT" if _is_swap(s.result) else "min-cost flow; deferred acceptance",
            notes=() if _is_swap(s.result) else (f"adopted reading: {adopted[s.market.name]}",),
            inputs=scenario.checksum,
        )
        for s in solved
    ]


def _is_swap(result: MarketResult | SwapResult) -> bool:
    from cohort_solver.domain.markets import SwapResult

    return isinstance(result, SwapResult)


def _market_status(result: MarketResult | SwapResult) -> Literal["optimal", "feasible"]:
    from cohort_solver.domain.markets import SwapResult

    if isinstance(result, SwapResult):
        return "optimal" if result.status == "optimal" else "feasible"
    return "optimal" if all(r.optimal for r in result.readings) else "feasible"


def _market_levels(result: MarketResult | SwapResult) -> tuple[Level, ...]:
    """Swaps: people moved, then fit, each with CP-SAT's bound. Sign-up and placement
    readings are exact (a min-cost flow, or deferred acceptance): each value is its bound."""
    from cohort_solver.domain.markets import SwapResult

    if isinstance(result, SwapResult):
        return (
            Level(name="people_moved", sense="max", value=result.swapped, bound=result.bound),
            Level(name="total_fit", sense="max", value=result.total_fit, bound=result.fit_bound),
        )
    return tuple(
        level
        for r in result.readings
        for level in (
            Level(name=f"{r.name}_pairs", sense="max", value=len(r.pairs), bound=len(r.pairs)),
            Level(name=f"{r.name}_total_fit", sense="max", value=r.total_fit, bound=r.total_fit),
        )
    )


def placements_away(solved: Sequence[Solved]) -> list[PlacementDays]:
    """The dated placements of every placement scheme's adopted reading."""
    from cohort_solver.domain.markets import PlacementMarket, PlacementResult, placement_days

    return [
        days
        for s in solved
        if isinstance(s.market, PlacementMarket) and isinstance(s.result, PlacementResult)
        for days in placement_days(s.market, s.result)
    ]


def _away(
    scenario: Scenario, options: Options, away: Sequence[PlacementDays] | None
) -> list[PlacementDays]:
    """``away`` as given, or (None) worked out from the scenario's placement schemes, so
    ``schedule``, ``export`` and ``withdraw`` see the placements ``run`` sees."""
    if away is not None:
        return list(away)
    if not any(m.kind == "placement" for m in scenario.settings.markets):
        return []
    return placements_away(solved_markets(scenario, options, only="placement"))


def _say_outsiders(scenario: Scenario, away: Sequence[PlacementDays], options: Options) -> None:
    """A placement of someone who is not in applicants.csv reaches no calendar: say so, as a
    mistyped id would otherwise drop it without a word."""
    known = {a.applicant_id for a in scenario.applicants}
    outsiders = sorted({d.person_id for d in away} - known)
    if outsiders:
        options.say(
            f"placements: {', '.join(outsiders)} not in applicants.csv: their placements stay "
            "out of the calendar and the feeds"
        )


def with_placements(scenario: Scenario, away: Sequence[PlacementDays]) -> Scenario:
    """The scenario with each blocking placement as whole days of unavailability (start to
    end inclusive) for its participant, as if unavailability.csv said so."""
    from datetime import datetime, time, timedelta

    from cohort_solver.domain.scenario import Unavailability

    extra = tuple(
        Unavailability(
            id=d.person_id,
            start=datetime.combine(d.start, time()),
            end=datetime.combine(d.end + timedelta(days=1), time()),
        )
        for d in away
        if d.blocks
    )
    if not extra:
        return scenario
    return scenario.model_copy(update={"unavailability": (*scenario.unavailability, *extra)})


def explain_market(
    scenario: Scenario, name: str, person: str, partner: str | None = None
) -> list[str]:
    """Whom ``person`` got in each reading of sign-up (or placement) scheme ``name``, and
    (``partner``) why not that one: the rule, or the exact price of pairing them."""
    from cohort_solver.domain.markets import PlacementMarket, SignUpMarket
    from cohort_solver.stages.load.markets import load_markets
    from cohort_solver.stages.match.markets.explain import explain_placement, explain_signup
    from cohort_solver.stages.match.markets.placements import solve_placements
    from cohort_solver.stages.match.markets.signup import solve_signup

    found = {m.name: m for m in load_markets(scenario)}
    market = found.get(name)
    if isinstance(market, PlacementMarket):
        return explain_placement(market, solve_placements(market), person, partner)
    if not isinstance(market, SignUpMarket):
        raise InputError(
            [Problem("scenario.toml", 1, 1, f"no sign-up scheme named {name!r} in [[markets]]")]
        )
    return explain_signup(market, solve_signup(market), person, partner)


def market_files(results: Sequence[MarketResult | SwapResult]) -> dict[str, str | bytes]:
    """NAME.csv for each scheme."""
    from cohort_solver.domain.markets import PlacementResult, SwapResult
    from cohort_solver.stages.export.markets import market_csv, placements_csv, swaps_csv

    def text(r: MarketResult | SwapResult) -> str:
        if isinstance(r, PlacementResult):
            return placements_csv(r)
        return swaps_csv(r) if isinstance(r, SwapResult) else market_csv(r)

    return {f"{r.market}.csv": text(r) for r in results}


def schedule(
    scenario: Scenario,
    allocation: Allocation,
    matches: Sequence[Match],
    options: Options | None = None,
    *,
    previous: Sequence[Event] | None = None,
    away: Sequence[PlacementDays] | None = None,
) -> CalendarResult:
    """The programme calendar (``previous``: re-plan moving as few events as possible).
    No session is booked for a participant on the days of a blocking placement (``away``;
    None: the placements of the scenario's placement schemes)."""
    from cohort_solver.stages.schedule import schedule as solve_calendar

    _has_stage(scenario, "calendar", "programme.csv")
    options = options or Options()
    busy = with_placements(scenario, _away(scenario, options, away))
    options.say("calendar: solving")
    result = solve_calendar(
        busy,
        allocation.selected(),
        matches,
        time_limit=options.time_limit,
        workers=options.workers,
        previous=previous,
        progress=options.progress("calendar", "steps (skeleton months, coaching, bound)"),
    )
    return replace(result, report=_stamped(result.report, scenario))


def _has_stage(scenario: Scenario, stage: str, file: str) -> None:
    """Asking for a stage the programme does not have is bad input, not an empty result."""
    why = skipped_stages(scenario).get(stage)
    if why is not None:
        raise InputError([Problem(file, 1, 1, f"the programme has no {stage} stage: {why}")])


def _stamped(report: StageReport, scenario: Scenario) -> StageReport:
    """The report with the checksum of the inputs it was solved from (see ``Earlier``)."""
    return report.model_copy(update={"inputs": scenario.inputs(report.stage)})


def export(
    scenario: Scenario,
    events: Sequence[Event],
    previous: Mapping[str, bytes] | None = None,
    away: Sequence[PlacementDays] | None = None,
) -> dict[str, bytes]:
    """The iCalendar feeds (file name -> bytes); ``previous`` feeds carry SEQUENCE forward.
    Each participant's feed shows their placements (``away``; None: the scenario's) as
    all-day date ranges."""
    from cohort_solver.stages.export.ics import build_feeds

    placements = _away(scenario, Options(), away)
    return build_feeds(scenario, events, previous=previous or None, placements=placements)


def publish(
    feeds: Mapping[str, bytes],
    url: str,
    username: str | None = None,
    password: str | None = None,
    say: Callable[[str], None] = _silent,
) -> Published:
    """Put the feeds on a CalDAV server, one calendar per feed, writing only what changed."""
    from cohort_solver.stages.export.publish import publish_feeds

    return publish_feeds(feeds, url, username, password, say)


def links(scenario: Scenario, out: Path, base_url: str, revoke: Sequence[str] = ()) -> list[Token]:
    """Give every feed in ``out/ics`` (and report.html) its token, keeping those already in
    tokens.csv, and write tokens.csv and links.csv into ``out`` in one step."""
    from cohort_solver.stages.export.files import output_folder
    from cohort_solver.stages.export.serve import (
        LINKS_FILE,
        REPORT,
        TOKENS_FILE,
        links_csv,
        read_tokens,
        tokens_csv,
        tokens_for,
    )

    files = [f"ics/{path.name}" for path in sorted((out / "ics").glob("*.ics"))]
    if (out / REPORT).is_file():
        files.append(REPORT)
    unknown = sorted(set(revoke) - set(files))
    if unknown:
        raise InputError(
            [Problem("--revoke", 1, 1, f"no such file in {out}: {name}") for name in unknown]
        )
    tokens = tokens_for(files, read_tokens(out), revoke)
    with output_folder(out, "serve") as staging:
        (staging / TOKENS_FILE).write_text(tokens_csv(tokens), encoding="utf-8", newline="")
        (staging / LINKS_FILE).write_text(
            links_csv(scenario, tokens, base_url), encoding="utf-8", newline=""
        )
    return tokens


def report(
    scenario: Scenario,
    allocation: Allocation,
    matches: Sequence[Match],
    events: Sequence[Event],
    reports: Sequence[StageReport],
    *,
    markets: Sequence[MarketResult | SwapResult] = (),
    away: Sequence[PlacementDays] = (),
) -> str:
    """The panel's report.html, with a section per ``[[markets]]`` scheme (``away``: the
    adopted placements' dates)."""
    from cohort_solver.stages.report.panel_report import report_html

    return report_html(
        scenario, allocation, matches, events, list(reports), markets=markets, away=away
    )


def panel_workbook(
    scenario: Scenario,
    allocation: Allocation,
    matches: Sequence[Match],
    events: Sequence[Event],
    rows: Sequence[Feedback] | None = None,
) -> bytes:
    """panel.xlsx: Selected, Reserves, Not selected, Ineligible (reasons in words),
    Representation (suppressed as in the report), Matches and Calendar (names, real dates),
    Feedback (feedback.csv's paragraphs; ``rows`` when already worked out)."""
    from cohort_solver.stages.allocate.explain import reasons_in_words
    from cohort_solver.stages.export import workbook

    words = reasons_in_words(scenario, allocation.outcomes)
    return workbook.workbook_bytes(
        {
            **workbook.decision_sheets(scenario, allocation, words),
            "Representation": workbook.representation_sheet(scenario, allocation),
            "Matches": workbook.matches_sheet(scenario, matches),
            "Calendar": workbook.calendar_sheet(scenario, events),
            "Feedback": workbook.feedback_sheet(
                feedback(scenario, allocation) if rows is None else rows
            ),
        }
    )


def withdraw(
    scenario: Scenario, previous: Allocation, applicant_id: str, options: Options | None = None
) -> Allocation:
    """A selected participant leaves: everyone else keeps their place, the best lawful
    replacement is chosen (as ``allocate`` would, with the others pinned)."""
    leaving = next((o for o in previous.outcomes if o.applicant_id == applicant_id), None)
    if leaving is None or leaving.status != "selected":
        row = next(
            (i for i, o in enumerate(previous.outcomes, start=2) if o.applicant_id == applicant_id),
            1,
        )
        raise InputError(
            [
                Problem(
                    "allocation.csv",
                    row,
                    1,
                    f"{applicant_id} is not a selected participant, so cannot withdraw",
                )
            ]
        )
    keep = {
        o.applicant_id: o.cohort_id
        for o in previous.selected()
        if o.applicant_id != applicant_id and o.cohort_id is not None
    }
    withdrawn = [o.applicant_id for o in previous.outcomes if o.reason.withdrawn]
    return allocate(scenario, options, keep=keep, withdrawn=[*withdrawn, applicant_id])


@dataclass(frozen=True)
class Withdrawal:
    """Everything a withdrawal rewrites in ``--out``, and what it did and did not update."""

    files: Mapping[str, str | bytes]
    reports: tuple[StageReport, ...]
    notes: tuple[str, ...]
    fresh_ics: bool


def withdrawal_files(
    scenario: Scenario, allocation: Allocation, earlier: Earlier, options: Options | None = None
) -> Withdrawal:
    """After ``withdraw``: every later stage already in ``--out`` updated to match, so no
    file still shows the leaver as taking part. Matches keep every pair that is still lawful;
    the calendar is re-planned moving as few events as possible (the leaver's own sessions
    go, the newcomer joins the group sessions and gets their own); the feeds carry SEQUENCE
    on and cancel what went; report.html is rewritten. A stage not in ``--out`` is neither
    solved nor written (unless a later one present needs it), a stage the programme does not
    have (no mentors or coaches, no programme.csv) is skipped, and the notes say so."""
    options = options or Options()
    out = earlier.out
    present = {
        "matches": (out / "matches.csv").is_file(),
        "calendar": (out / "calendar.csv").is_file(),
        "feeds": (out / "ics").is_dir(),
        "report": (out / "report.html").is_file() or (out / "panel.xlsx").is_file(),
    }
    rows = feedback(scenario, allocation)
    files: dict[str, str | bytes] = dict(allocation_files(scenario, allocation, rows))
    reports: list[StageReport] = [allocation.report]
    notes = ["allocation.csv, decision_log.csv and feedback.csv: rewritten"]
    if not any(present.values()):
        notes.append("no matches, calendar, feeds or report in --out: nothing else to update")
        return Withdrawal(files, tuple(reports), tuple(notes), False)
    skipped = skipped_stages(scenario)
    matches = _rematch(scenario, allocation, earlier, present, skipped, options)
    files.update(matches.files)
    reports += matches.reports
    notes += matches.notes
    if not (present["calendar"] or present["feeds"] or present["report"]):
        notes.append("calendar.csv, ics/, report.html: none in --out, not written")
        return Withdrawal(files, tuple(reports), tuple(notes), False)
    calendar = _replan(scenario, allocation, matches.matches, earlier, present, skipped, options)
    files.update(calendar.files)
    reports += calendar.reports
    notes += calendar.notes
    if present["report"]:
        solved = solved_markets(scenario, options) if scenario.settings.markets else []
        files["report.html"] = report(
            scenario,
            allocation,
            matches.matches,
            calendar.events,
            reports,
            markets=[s.result for s in solved],
            away=placements_away(solved),
        )
        notes.append("report.html: rewritten")
    else:
        notes.append("report.html: none in --out, not written")
    if (out / "panel.xlsx").is_file():
        files["panel.xlsx"] = panel_workbook(
            scenario, allocation, matches.matches, calendar.events, rows
        )
        notes.append("panel.xlsx: rewritten")
    return Withdrawal(files, tuple(reports), tuple(notes), present["feeds"] and calendar.ran)


@dataclass
class _Updated:
    """What one later stage of a withdrawal wrote, and the notes that say so."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    reports: list[StageReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matches: tuple[Match, ...] = ()
    events: tuple[Event, ...] = ()
    ran: bool = False


def _rematch(
    scenario: Scenario,
    allocation: Allocation,
    earlier: Earlier,
    present: Mapping[str, bool],
    skipped: Mapping[str, str],
    options: Options,
) -> _Updated:
    """The newcomer gets a mentor and a coach; every pair still lawful is kept."""
    if "matching" in skipped:
        return _Updated(notes=[f"matches.csv: skipped ({skipped['matching']})"])
    chosen = {o.applicant_id for o in scenario.matched(allocation.selected())}
    old = read_matches(earlier.out / "matches.csv") if present["matches"] else None
    kept = [m for m in old or () if m.participant_id in chosen]
    matching = match(scenario, allocation, options, previous=kept if old else None)
    same = len(_paired(matching.matches, kept))
    note = (
        f"matches.csv: {same} pairs kept, {len(matching.matches) - same} new or changed"
        if old is not None
        else "matches.csv: none in --out, matched afresh (the calendar or report needs it)"
    )
    return _Updated(
        files={"matches.csv": matches_csv(matching.matches)},
        reports=[matching.report],
        notes=[note],
        matches=matching.matches,
        ran=True,
    )


def _replan(
    scenario: Scenario,
    allocation: Allocation,
    matches: Sequence[Match],
    earlier: Earlier,
    present: Mapping[str, bool],
    skipped: Mapping[str, str],
    options: Options,
) -> _Updated:
    """The calendar re-planned with the fewest moves, and the feeds that follow it."""
    from cohort_solver.stages.export.calendar_csv import calendar_csv

    if "calendar" in skipped:
        return _Updated(notes=[f"calendar.csv, ics/: skipped ({skipped['calendar']})"])
    old_events = earlier.calendar() if present["calendar"] else None
    calendar = schedule(scenario, allocation, matches, options, previous=old_events)
    done = _Updated(
        files={"calendar.csv": calendar_csv(calendar.events)},
        reports=[calendar.report],
        events=calendar.events,
        ran=True,
    )
    if old_events is not None:
        done.files["changes.csv"] = changes(scenario, old_events, calendar.events)
        done.notes.append("calendar.csv: re-planned moving as few events as possible (changes.csv)")
    else:
        done.notes.append(
            "calendar.csv: none in --out, planned afresh (the feeds or report need it)"
        )
    if present["feeds"]:
        done.files.update(feed_files(export(scenario, calendar.events, earlier.feeds(scenario))))
        done.notes.append(
            "ics/: updated (SEQUENCE on changed events, cancellations for removed ones)"
        )
    else:
        done.notes.append("ics/: none in --out, not written (run 'export')")
    return done


def _paired(new: Sequence[Match], old: Sequence[Match]) -> set[str]:
    """Participants whose mentor and coach are both unchanged."""
    before = {m.participant_id: (m.mentor_id, m.coach_id) for m in old}
    return {
        m.participant_id for m in new if before.get(m.participant_id) == (m.mentor_id, m.coach_id)
    }


def replacement(scenario: Scenario, allocation: Allocation, applicant_id: str) -> str:
    """Who takes a selected participant's place if they withdraw, in words, naming everyone
    ranked higher who is passed over and the rule that stops them (what ``withdraw`` does)."""
    from cohort_solver.stages.allocate.reserves import replacement_words

    return replacement_words(scenario, allocation.outcomes, applicant_id)


# --------------------------------------------------------------------------- files


def allocation_files(
    scenario: Scenario, allocation: Allocation, rows: Sequence[Feedback] | None = None
) -> dict[str, str | bytes]:
    """allocation.csv, the decision log and feedback.csv (``rows`` when already worked out),
    which must never be left stale beside it."""
    return {
        "allocation.csv": allocation_csv(
            allocation.outcomes, scenario.cohort_tracks() if scenario.has_tracks else None
        ),
        "decision_log.csv": decision_log_csv(allocation.outcomes),
        "feedback.csv": feedback_csv(feedback(scenario, allocation) if rows is None else rows),
    }


def feedback(scenario: Scenario, allocation: Allocation) -> list[Feedback]:
    """Every applicant's outcome as a paragraph the panel can send, with what would have
    changed it for a reserve or an applicant not selected (derived, never re-solved)."""
    from cohort_solver.stages.allocate.feedback import feedback_rows

    return feedback_rows(scenario, allocation.outcomes)


def feed_files(feeds: Mapping[str, bytes]) -> dict[str, str | bytes]:
    return {f"ics/{name}": data for name, data in feeds.items()}


def write(
    out: Path,
    scenario: Scenario,
    files: Mapping[str, str | bytes],
    reports: Sequence[StageReport],
    *,
    earlier: Earlier | None = None,
    fresh_ics: bool = False,
    remove: Sequence[str] = (),
) -> None:
    """Write ``files`` into ``out`` in one step, removing the files named in ``remove``.
    solution.json keeps the other stages' reports from ``earlier`` (``run`` passes none: it
    replaces every stage)."""
    kept = (
        [r for r in earlier.reports() if r.stage not in {x.stage for x in reports}]
        if earlier
        else []
    )
    write_outputs(out, scenario, dict(files), [*kept, *reports], fresh_ics=fresh_ics, remove=remove)


# --------------------------------------------------------------------------- earlier outputs


# Files a stage writes that ``run`` removes when the scenario no longer has that stage.
STAGE_FILES = ("matches.csv", "calendar.csv", "changes.csv", "notices.csv")


class Earlier:
    """What earlier commands left in ``--out``, reused while valid for the same inputs."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self._reports: list[StageReport] | None = None

    def reports(self) -> list[StageReport]:
        """The stage reports of solution.json (read once; a broken one is bad input)."""
        if self._reports is None:
            self._reports = read_reports(self.out / "solution.json")
        return self._reports

    def stage_files(self) -> list[str]:
        """The stage files an earlier run left here: matches, calendar, re-plan and each
        scheme's NAME.csv (the schemes solution.json records)."""
        schemes = [r.stage.partition(":")[2] for r in self.reports()]
        names = [*STAGE_FILES, *(f"{s}.csv" for s in schemes if s)]
        return [n for n in names if (self.out / n).is_file()]

    def _report(self, stage: str) -> StageReport | None:
        return next((r for r in self.reports() if r.stage == stage), None)

    def _valid(self, stage: str, scenario: Scenario) -> bool:
        """Written from the same inputs: the stage's recorded checksum is the scenario's.
        A folder from before checksums were recorded passes; the callers check what it holds."""
        report = self._report(stage)
        return report is None or not report.inputs or report.inputs == scenario.inputs(stage)

    def allocation(self, scenario: Scenario) -> Allocation | None:
        path = self.out / "allocation.csv"
        if not path.exists() or not self._valid("allocation", scenario):
            return None
        outcomes = read_allocation(path)
        if [o.applicant_id for o in outcomes] != [a.applicant_id for a in scenario.applicants]:
            return None  # written for another version of applicants.csv: solve again
        report = self._report("allocation") or StageReport(stage="allocation", status="feasible")
        return Allocation(outcomes=tuple(outcomes), report=report)

    def matches(self, scenario: Scenario, allocation: Allocation) -> list[Match] | None:
        path = self.out / "matches.csv"
        if not path.exists() or not self._valid("matching", scenario):
            return None
        matches = read_matches(
            path, mentoring=bool(scenario.mentors), coaching=bool(scenario.coaches)
        )
        if sorted(m.participant_id for m in matches) != sorted(
            o.applicant_id for o in scenario.matched(allocation.selected())
        ):
            return None  # the allocation has changed since: match again
        return matches

    def calendar(self) -> list[Event] | None:
        from cohort_solver.stages.export.calendar_csv import read_calendar_csv

        path = self.out / "calendar.csv"
        return read_calendar_csv(path) if path.exists() else None

    def feeds(
        self, scenario: Scenario, previous: Path | None = None, *, fresh: bool = True
    ) -> dict[str, bytes]:
        """The feeds a new export continues from (``previous``, else ics/), checked now.

        Unless ``fresh``, feeds that solution.json records as exported here but that are not
        in ics/ (nor in ``previous``) are bad input: continuing without them would restart
        their SEQUENCE at 0 and cancel nothing, and subscribed calendars would miss changes.
        """
        from cohort_solver.stages.export.ics import read_feeds

        start = scenario.settings.programme.start.year
        feeds = read_feeds(previous if previous is not None else self.out / "ics", start)
        if not fresh:
            _refuse_lost_feeds(self.out, feeds)
        return feeds


def _refuse_lost_feeds(out: Path, feeds: Mapping[str, bytes]) -> None:
    from cohort_solver.stages.export.solution import recorded_feeds

    lost = sorted(set(recorded_feeds(out / "solution.json") or ()) - set(feeds))
    if not lost:
        return
    shown = ", ".join(lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
    message = (
        f"solution.json records {len(lost)} feed(s) exported here before that are not in ics/ "
        f"({shown}): a new export without them would restart their SEQUENCE at 0 and cancel "
        "nothing, so subscribed calendars would miss the changes. Put the earlier ics/ folder "
        "back into the output folder, or give --previous FOLDER (a copy of it), or add --fresh "
        "to write the feeds as a first export"
    )
    raise InputError([Problem(str(out / "ics"), 1, 1, message)])


def allocation_for(scenario: Scenario, earlier: Earlier, options: Options) -> Allocation:
    """The allocation in ``--out`` if still valid, else a new one."""
    return earlier.allocation(scenario) or allocate(scenario, options)


def matches_for(
    scenario: Scenario, allocation: Allocation, earlier: Earlier, options: Options
) -> tuple[list[Match], list[StageReport]]:
    """The matches in ``--out`` if still valid for this allocation, else new ones (with the
    report of the new solve, to record in solution.json)."""
    if "matching" in skipped_stages(scenario):
        return [], []  # no mentoring or coaching: the calendar has no coach to invite
    matches = earlier.matches(scenario, allocation)
    if matches is not None:
        return matches, []
    result = match(scenario, allocation, options)
    return list(result.matches), [result.report]


def replan_files(
    scenario: Scenario, old: Sequence[Event], new: Sequence[Event]
) -> dict[str, str | bytes]:
    """changes.csv (per event) and notices.csv (per person) for a re-plan, from one set of
    reasons."""
    from cohort_solver.stages.export.ics import changes_csv
    from cohort_solver.stages.export.notices import notices_csv
    from cohort_solver.stages.export.tables import change_reasons

    reasons = change_reasons(scenario, old, new)
    return {
        "changes.csv": changes_csv(old, new, reasons),
        "notices.csv": notices_csv(scenario, old, new, reasons),
    }


def changes(scenario: Scenario, old: Sequence[Event], new: Sequence[Event]) -> str:
    """changes.csv for a re-plan: what moved, from when to when, and why."""
    from cohort_solver.stages.export.ics import changes_csv
    from cohort_solver.stages.export.tables import change_reasons

    return changes_csv(old, new, change_reasons(scenario, old, new))


# --------------------------------------------------------------------------- explain, validate


def explain(
    scenario: Scenario, subject: str, earlier: Earlier, options: Options | None = None
) -> list[str]:
    """Why an applicant got their outcome (and their mentor and coach), or why a calendar
    event is at its time; ``subject`` is an applicant id or an event id of calendar.csv."""
    options = options or Options()
    if subject not in {a.applicant_id for a in scenario.applicants}:
        events = earlier.calendar()
        if events is not None and any(e.event_id == subject for e in events):
            from cohort_solver.stages.schedule import explain_event

            # The calendar was planned around full-time placements: explain it so too.
            busy = with_placements(scenario, _away(scenario, options, None))
            return [explain_event(busy, events, subject)]
        raise InputError(
            [
                Problem(
                    "applicants.csv", 1, 1, f"no applicant (or calendar event) with id {subject!r}"
                )
            ]
        )
    from cohort_solver.stages.allocate.explain import explain_applicant

    allocation = allocation_for(scenario, earlier, options)
    matches = earlier.matches(
        scenario, allocation
    )  # read before explaining: a broken one is exit 2
    texts = [
        explain_applicant(
            scenario,
            allocation.outcomes,
            subject,
            time_limit=options.time_limit,
            workers=options.workers,
        )
    ]
    if matches and any(m.participant_id == subject for m in matches):
        from cohort_solver.stages.match.explain import explain_match

        texts.append(explain_match(scenario, allocation.selected(), matches, subject))
    if any(s.kind == "flexible" for s in scenario.programme):
        events = earlier.calendar()
        if events is not None:
            from cohort_solver.stages.schedule.runs import explain_attendance

            texts += explain_attendance(scenario, events, subject)
    return texts


def validation_summary(scenario: Scenario) -> list[str]:
    """What ``validate`` prints: the programme, eligible applicants per cohort, ring-fence
    members (suppressed as the report suppresses them), and the size of every table."""
    from cohort_solver.stages.allocate.eligibility import candidates

    pool = candidates(scenario)
    eligible = [c for c in pool if c.eligible]
    programme = scenario.settings.programme
    lines = [
        f"{programme.name} ({programme.organisation})",
        f"  applicants: {len(pool)} ({len(eligible)} eligible), scores: {len(scenario.scores)} rows",
    ]
    lines += _track_lines(scenario)
    for cohort in scenario.cohorts:
        can_join = sum(cohort.id in c.cohorts for c in eligible)
        track = f" (track {cohort.track})" if cohort.track else ""
        lines.append(
            f"  cohort {cohort.id}{track}: {cohort.places} places, {can_join} eligible "
            "applicants can join"
        )
    shown = _eligible_members_shown(scenario, [c.id for c in eligible])
    for rf in scenario.settings.selection.ring_fence:
        members = sum(rf.name in c.ring_fences for c in eligible)
        figure = members if rf.name in shown else "suppressed"
        lines.append(f"  ring fence '{rf.name}' ({rf.unfilled}): {figure} eligible members")
    lines.append(
        f"  mentors: {len(scenario.mentors)}, coaches: {len(scenario.coaches)}, "
        f"sessions: {len(scenario.programme)}, people: {len(scenario.people)}, "
        f"venues: {len(scenario.venues)}"
    )
    return lines + stage_lines(scenario)


def _track_lines(scenario: Scenario) -> list[str]:
    """One line per [[tracks]] table: its name, grade band, months and sessions."""
    from cohort_solver.stages.allocate.eligibility import track_band_words

    lines = []
    for track in scenario.settings.tracks:
        months = f", months {track.months[0]}-{track.months[1]}" if track.months else ""
        held = sum(scenario.track_holds(track.id, s) for s in scenario.programme)
        lines.append(
            f"  track {track.label}: grades {track_band_words(scenario, track.id)}{months}, "
            f"{held} sessions"
            + ("" if track.matching else ", no mentor or coach (matching = false)")
        )
    return lines


def _eligible_members_shown(scenario: Scenario, eligible: list[str]) -> set[str]:
    """The ring fences whose count of eligible members may be shown (the report's rule: no
    count of 1 or 2, directly or by subtraction)."""
    from cohort_solver.stages.report.disclosure import Cell, disclosable
    from cohort_solver.stages.report.panel_report import protected_columns

    columns = protected_columns(scenario, scenario.ring_fence_groups())
    populations = {
        "applicants": frozenset(a.applicant_id for a in scenario.applicants),
        "eligible": frozenset(eligible),
    }
    wanted = [
        Cell("eligible", f"ring fence {rf.name}") for rf in scenario.settings.selection.ring_fence
    ]
    return {c.column.removeprefix("ring fence ") for c in disclosable(columns, populations, wanted)}


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class Run:
    """Everything ``run`` produced: each stage's result and the files it wrote."""

    scenario: Scenario
    allocation: Allocation
    matches: tuple[Match, ...]
    events: tuple[Event, ...]
    reports: tuple[StageReport, ...]
    files: Mapping[str, str | bytes]
    markets: tuple[MarketResult | SwapResult, ...] = ()  # each [[markets]] scheme's result

    def selected(self) -> list[Decision]:
        return self.allocation.selected()


def run(
    scenario: Scenario | str | Path,
    out: Path | str | None = None,
    options: Options | None = None,
    *,
    fresh: bool = False,
) -> Run:
    """Every stage, then every file (allocation, matches, calendar, feeds, report) into ``out``
    (default ``SCENARIO/out``) in one step.

    Over an earlier run (a calendar.csv in ``out``) the calendar is re-planned moving as few
    events as possible, and changes.csv and notices.csv say what moved for whom; ``fresh``
    plans the calendar from scratch instead (changes.csv still compares it with the old one)
    and lets the feeds start again if the earlier ones are gone.
    """
    from cohort_solver.stages.export.calendar_csv import calendar_csv

    options = options or Options()
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    target = Path(out) if out is not None else scenario.folder / "out"
    earlier = Earlier(target)
    # Read and checked before the solve, not after it.
    old_feeds = earlier.feeds(scenario, fresh=fresh)
    skipped = skipped_stages(scenario)
    old_events = earlier.calendar() if "calendar" not in skipped else None
    left = earlier.stage_files()
    for stage, why in skipped.items():
        options.say(f"{stage}: skipped ({why})")
    # The schemes need no allocation, and a bad scheme table stops the run before any solve.
    solved = solved_markets(scenario, options)
    results = [s.result for s in solved]
    allocation = allocate(scenario, options)
    reports: list[StageReport] = [allocation.report]
    rows = feedback(scenario, allocation)
    files: dict[str, str | bytes] = dict(allocation_files(scenario, allocation, rows))
    matches: tuple[Match, ...] = ()
    if "matching" not in skipped:
        matching = match(scenario, allocation, options)
        matches = matching.matches
        reports.append(matching.report)
        files["matches.csv"] = matches_csv(matches)
    files.update(market_files(results))
    away = placements_away(solved)  # a full-time placement keeps its participant's days free
    _say_outsiders(scenario, away, options)
    events: tuple[Event, ...] = ()
    if "calendar" not in skipped:
        replan = None if fresh else old_events
        calendar = schedule(scenario, allocation, matches, options, previous=replan, away=away)
        events = calendar.events
        reports.append(calendar.report)
        files["calendar.csv"] = calendar_csv(events)
        files.update(feed_files(export(scenario, events, old_feeds, away=away)))
        if old_events is not None:
            files.update(replan_files(scenario, old_events, events))
    files["report.html"] = report(
        scenario, allocation, matches, events, reports, markets=results, away=away
    )
    files["panel.xlsx"] = panel_workbook(scenario, allocation, matches, events, rows)
    reports += market_reports(scenario, solved)
    # Left in place, a stage file this run does not write would read as this run's (a stale
    # matches.csv beside a new allocation, a scheme taken out of the toml).
    stale = [name for name in left if name not in files]
    for name in stale:
        options.say(f"{name}: removed (this run has no such stage or scheme any more)")
    write(target, scenario, files, reports, fresh_ics=True, remove=stale)
    return Run(scenario, allocation, matches, events, tuple(reports), files, tuple(results))


def skipped_stages(scenario: Scenario) -> dict[str, str]:
    """The stages the programme does not have, each with why (in the coordinator's words)."""
    skipped: dict[str, str] = {}
    if not scenario.mentors and not scenario.coaches:
        skipped["matching"] = "no mentors.csv or coaches.csv: no mentoring or coaching"
    if not scenario.programme:
        skipped["calendar"] = "no programme.csv: no sessions to schedule"
    return skipped


def stage_lines(scenario: Scenario) -> list[str]:
    """One line per stage: what it will do with this scenario, or why it is skipped."""
    mode = scenario.settings.selection.mode
    selection = {
        "competitive": "competitive (the panel's scores decide)",
        "open": "open (every eligible applicant up to the places; lottery if oversubscribed)",
        "mandatory": "mandatory (every eligible person takes a place)",
    }[mode]
    lines = [f"  stage allocation: {selection}"]
    skipped = skipped_stages(scenario)
    if "matching" in skipped:
        lines.append(f"  stage matching: skipped ({skipped['matching']})")
    else:
        sides = [
            "mentors" if scenario.mentors else "no mentoring (no mentors.csv)",
            "coaches" if scenario.coaches else "no coaching (no coaches.csv)",
        ]
        lines.append(f"  stage matching: {', '.join(sides)}")
    lines += [
        f"  scheme {m.name}: {m.kind} ({m.signups}.csv), writes {m.name}.csv"
        for m in scenario.settings.markets
    ]
    if "calendar" in skipped:
        lines.append(f"  stage calendar: skipped ({skipped['calendar']})")
    else:
        flexible = sum(s.kind == "flexible" for s in scenario.programme)
        runs = f" ({flexible} flexible, offered as {len(scenario.runs)} runs)" if flexible else ""
        lines.append(f"  stage calendar: {len(scenario.programme)} sessions{runs}")
    return lines
