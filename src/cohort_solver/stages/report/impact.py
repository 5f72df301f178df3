"""Impact tracking: the participants' outcome histories (outcomes.csv) against the targets.

A target counts participants, each once: the first qualifying outcome dated in its window is
enough. Windows are programme months relative to the programme's start ("within months 9-12
of the start date") or its end ("within 12 months following the programme"), as ``[[impact.
target]]`` states them. Without targets the seed's four apply: 10 of 12 complete, and positive
outcomes for 3 by the end of the programme, 4 within 12 months after it and 8 within 18 months
after it, counted cumulatively from the programme start; a figure not set in ``[impact]`` is
the seed's scaled to the places, rounded half up.

Everything is as of one day (``[impact] as_of``, else the latest outcome_date): an outcome
dated later is not known yet, and a window closing later is "open", neither met nor not met.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html import escape
from typing import Literal

from cohort_solver.domain.programme_time import month_first_day, month_last_day
from cohort_solver.domain.results import Allocation
from cohort_solver.domain.scenario import CareerOutcome, ImpactTarget, Scenario
from cohort_solver.stages.report.disclosure import SUPPRESS_BELOW, Cell, disclosable, small

SEED_PLACES = 12
SEED_TARGETS = {
    "completed": 10,
    "by_programme_end": 3,
    "within_12_months_after": 4,
    "within_18_months_after": 8,
}
ALL = "all cohorts"
# The exact disclosure audit grows with the participants and 3 to the power of the cohorts:
# past this (e.g. 44 participants in 3 cohorts, 400 in one) the sufficient rule decides.
EXACT_BUDGET = 1200

Status = Literal["met", "not met", "open"]


@dataclass(frozen=True)
class Target:
    label: str
    aim: int
    stated: Fraction  # the share the programme states (the seed's percentage)
    achievers: frozenset[str]  # participants counted: each once, whatever their outcomes
    opens: date | None  # first day an outcome may be dated to count; None for completion
    deadline: date  # the last such day (completion: the programme's last day)
    status: Status

    @property
    def achieved(self) -> int:
        return len(self.achievers)

    @property
    def met(self) -> bool:
        return self.achieved >= self.aim


@dataclass(frozen=True)
class Period:
    """A stretch of career tracking: the programme itself, or a year after it."""

    label: str
    first: date
    last: date


@dataclass(frozen=True)
class Impact:
    participants: int  # selected participants in this allocation
    recorded: frozenset[str]  # participants with a row in outcomes.csv
    targets: tuple[Target, ...]
    kinds: dict[str, frozenset[str]]  # positive outcome -> participants who had it
    undated: frozenset[str]  # participants with a positive outcome without a date
    elsewhere: int  # rows about people not selected in this allocation: left out
    as_of: date
    periods: tuple[Period, ...]
    cohorts: tuple[str, ...]
    # (cohort or ALL, period label) -> participants with a positive outcome in the period
    tracking: dict[tuple[str, str], frozenset[str]]


def target_aims(scenario: Scenario) -> dict[str, int]:
    """The seed targets' numbers: as set in [impact], else the seed's scaled to the places."""
    places = sum(c.places for c in scenario.cohorts)
    settings = scenario.settings.impact
    aims = {}
    for name, seed in SEED_TARGETS.items():
        value = getattr(settings, name)
        if value is None:
            value = _round_half_up(Fraction(seed * places, SEED_PLACES))
        aims[name] = value
    return aims


def as_of(scenario: Scenario) -> date:
    """The day the outcomes are known up to: set, else the latest outcome_date (else the
    programme start: nothing is known after it). Never today, so a re-run reads the same."""
    dates = [o.outcome_date for o in scenario.outcomes if o.outcome_date]
    return scenario.settings.impact.as_of or max(dates, default=scenario.settings.programme.start)


def impact(scenario: Scenario, allocation: Allocation) -> Impact:
    cohort_of = {o.applicant_id: o.cohort_id or "" for o in allocation.selected()}
    day = as_of(scenario)
    ours = [o for o in scenario.outcomes if o.participant_id in cohort_of]
    known = [o for o in ours if o.outcome_date is None or o.outcome_date <= day]
    positive = [o for o in known if o.outcome in scenario.settings.impact.positive]
    periods = tracking_periods(scenario, day)
    cohorts = tuple(sorted(set(cohort_of.values())))
    return Impact(
        participants=len(cohort_of),
        recorded=frozenset(o.participant_id for o in known),
        targets=tuple(_targets(scenario, known, len(cohort_of), day)),
        kinds=_people_by(positive, lambda o: o.outcome),
        undated=frozenset(o.participant_id for o in positive if o.outcome_date is None),
        elsewhere=len(scenario.outcomes) - len(ours),
        as_of=day,
        periods=periods,
        cohorts=cohorts,
        tracking=_tracking(positive, cohort_of, periods),
    )


def _targets(
    scenario: Scenario, outcomes: list[CareerOutcome], participants: int, day: date
) -> Iterable[Target]:
    settings = scenario.settings.impact
    places = sum(c.places for c in scenario.cohorts)
    start = scenario.settings.programme.start
    end = month_last_day(start, settings.programme_months)
    if not settings.target:
        yield from _seed_targets(scenario, outcomes, day)
        return
    for spec in settings.target:
        aim = (
            spec.count
            if spec.count is not None
            else _round_half_up(Fraction(Decimal(str(spec.share))) * participants)
        )
        stated = (
            Fraction(Decimal(str(spec.share)))
            if spec.share is not None
            else Fraction(spec.count or 0, places or 1)
        )
        opens, closes = _window(scenario, spec)
        achievers = _achievers(scenario, outcomes, spec.counts, opens, closes)
        yield Target(
            spec.label or _wording(spec),
            aim,
            stated,
            achievers,
            opens,
            closes or end,
            _status(len(achievers), aim, closes or end, day),
        )


def _seed_targets(scenario: Scenario, outcomes: list[CareerOutcome], day: date) -> Iterable[Target]:
    """Today's four targets, worded as before, cumulative from the programme start."""
    start = scenario.settings.programme.start
    months = scenario.settings.impact.programme_months
    aims = target_aims(scenario)
    end = month_last_day(start, months)
    completed = _achievers(scenario, outcomes, "completed", None, None)
    stated = Fraction(SEED_TARGETS["completed"], SEED_PLACES)
    aim = aims["completed"]
    yield Target(
        "completed the programme",
        aim,
        stated,
        completed,
        None,
        end,
        _status(len(completed), aim, end, day),
    )
    windows = [
        ("by_programme_end", f"positive outcome by the end of programme month {months}", 0),
        ("within_12_months_after", "positive outcome within 12 months after the programme", 12),
        ("within_18_months_after", "positive outcome within 18 months after the programme", 18),
    ]
    for name, label, after in windows:
        deadline = month_last_day(start, months + after)
        achievers = _achievers(scenario, outcomes, "positive", start, deadline)
        stated = Fraction(SEED_TARGETS[name], SEED_PLACES)
        status = _status(len(achievers), aims[name], deadline, day)
        yield Target(label, aims[name], stated, achievers, start, deadline, status)


def _window(scenario: Scenario, spec: ImpactTarget) -> tuple[date | None, date | None]:
    """The first and last day of a target's window (None, None for completion)."""
    if spec.counts == "completed":
        return None, None
    start = scenario.settings.programme.start
    offset = 0 if spec.relative_to == "start" else scenario.settings.impact.programme_months
    first, last = spec.window_months()
    opens = start if spec.since_start else max(start, month_first_day(start, offset + first))
    return opens, month_last_day(start, offset + last)


def _achievers(
    scenario: Scenario,
    outcomes: list[CareerOutcome],
    counts: str | list[str],
    opens: date | None,
    closes: date | None,
) -> frozenset[str]:
    """The participants with a qualifying outcome in the window: each once."""
    if counts == "completed":
        return frozenset(o.participant_id for o in outcomes if o.completed is True)
    words = scenario.settings.impact.positive if counts == "positive" else counts
    return frozenset(
        o.participant_id
        for o in outcomes
        if o.outcome in words
        and o.outcome_date is not None
        and opens is not None
        and closes is not None
        and opens <= o.outcome_date <= closes
    )


def _status(achieved: int, aim: int, closes: date, day: date) -> Status:
    if day < closes:
        return "open"
    return "met" if achieved >= aim else "not met"


def _wording(spec: ImpactTarget) -> str:
    what = (
        "completed the programme"
        if spec.counts == "completed"
        else "positive outcome"
        if spec.counts == "positive"
        else " or ".join(w.replace("_", " ") for w in spec.counts)
    )
    if spec.counts == "completed":
        return what
    first, last = spec.window_months()
    if spec.relative_to == "start":
        when = f"within months {first}-{last} of the start date"
    elif first == 1:
        when = f"within {last} months following the programme"
    else:
        when = f"within months {first}-{last} following the programme"
    return f"{what} {when}" + (" (counted from the programme start)" if spec.since_start else "")


def tracking_periods(scenario: Scenario, day: date) -> tuple[Period, ...]:
    """The programme, then each year after it up to the one holding ``day``."""
    start = scenario.settings.programme.start
    months = scenario.settings.impact.programme_months
    periods = [Period("during the programme", start, month_last_day(start, months))]
    year = 1
    while (first := month_first_day(start, months + 12 * (year - 1) + 1)) <= day:
        last = month_last_day(start, months + 12 * year)
        periods.append(Period(f"year {year} after", first, last))
        year += 1
    return tuple(periods)


def _tracking(
    positive: list[CareerOutcome], cohort_of: dict[str, str], periods: tuple[Period, ...]
) -> dict[tuple[str, str], frozenset[str]]:
    """Participants with a positive outcome in each period: all cohorts', then each cohort's
    (with one cohort its row would repeat the first)."""
    cohorts = sorted(set(cohort_of.values()))
    rows = [ALL, *cohorts] if len(cohorts) > 1 else [ALL]
    found: dict[tuple[str, str], set[str]] = {(c, p.label): set() for c in rows for p in periods}
    for o in positive:
        for period in periods:
            if o.outcome_date is not None and period.first <= o.outcome_date <= period.last:
                for cohort in {ALL, cohort_of[o.participant_id]} & set(rows):
                    found[(cohort, period.label)].add(o.participant_id)
    return {key: frozenset(people) for key, people in found.items()}


def _people_by(
    outcomes: list[CareerOutcome], key: Callable[[CareerOutcome], str]
) -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for o in outcomes:
        groups.setdefault(key(o), set()).add(o.participant_id)
    return {k: frozenset(v) for k, v in sorted(groups.items())}


def _round_half_up(value: Fraction) -> int:
    return int(
        (Decimal(value.numerator) / Decimal(value.denominator)).to_integral_value(
            rounding=ROUND_HALF_UP
        )
    )


# ---------------------------------------------------------------------- what may be shown


def shown_counts(result: Impact, cohort_of: dict[str, str]) -> dict[str, int | None]:
    """Every count the impact section shows, by name, or None where it must be suppressed.

    Counts of participants are small data about identifiable people: none of 1 or 2 may show
    or be worked out by subtraction (total minus a count, one cohort's from all cohorts', a
    cumulative target minus an earlier one). ``disclosure`` decides which can show together.
    """
    sets = _named_sets(result)
    populations = {ALL: frozenset(cohort_of)} | {
        c: frozenset(p for p, cohort in cohort_of.items() if cohort == c) for c in result.cohorts
    }
    if len(cohort_of) * 3 ** len(result.cohorts) > EXACT_BUDGET:
        return _nested_rule(result, sets, populations)
    # A column is what a count counts, among all participants: a cohort's tracked period is
    # the all-cohorts period counted in that cohort. One column per distinct set of people
    # (two names for one set are one count), and for each set inside another the people in
    # the larger only.
    of = {name: sets[_all_cohorts(name)] for name in sets}
    canonical: dict[frozenset[str], str] = {}
    for name, people in of.items():
        canonical.setdefault(people, name)
    columns = {name: people for people, name in canonical.items()}
    for x, y in _nested(list(canonical)):
        canonical.setdefault(y - x, f"{canonical[y]} without {canonical[x]}")
        columns.setdefault(canonical[y - x], y - x)
    cell = {name: Cell(_population(name), canonical[people]) for name, people in of.items()}
    safe = disclosable(columns, populations, list(dict.fromkeys(cell.values())))
    # The audit works out counts of one column over whole cohorts; one count minus another
    # that lies inside it from a single cohort (everyone recorded minus one cohort's tracked
    # period) mixes the two, so the nested rule is applied to what the audit lets show.
    return _nested_rule(result, sets, populations, {n for n in sets if cell[n] in safe})


def _nested_rule(
    result: Impact,
    sets: dict[str, frozenset[str]],
    populations: dict[str, frozenset[str]],
    allowed: set[str] | None = None,
) -> dict[str, int | None]:
    """The counts a sufficient rule lets show (of ``allowed``, after the exact audit).

    A count shows only if it, its population minus it, and its difference from every count
    already shown that it contains or lies inside are each 0 or at least 3. Without the audit
    (a programme too large for it) a cohort's career tracking also shows only where every
    cohort's count in that period (and the rest of its cohort) is 0 or at least 3, so no sum
    or difference of them is 1 or 2.
    """
    periods_safe = {
        p.label: all(
            not small(len(sets[f"track {c}|{p.label}"]))
            and not small(len(populations[c] - sets[f"track {c}|{p.label}"]))
            for c in result.cohorts
            if f"track {c}|{p.label}" in sets
        )
        for p in result.periods
    }
    shown: dict[str, frozenset[str]] = {}
    for name, people in sets.items():
        population = populations[_population(name)]
        if allowed is not None and name not in allowed:
            continue
        if allowed is None and _population(name) != ALL and not periods_safe[name.split("|")[1]]:
            continue
        differences = [
            len(people ^ other) for other in shown.values() if people <= other or other <= people
        ]
        if not any(small(n) for n in [len(people), len(population - people), *differences]):
            shown[name] = people
    return {name: len(people) if name in shown else None for name, people in sets.items()}


def _nested(sets: list[frozenset[str]]) -> Iterable[tuple[frozenset[str], frozenset[str]]]:
    """Every pair (x, y) of non-empty sets with x strictly inside y: |y| - |x| is a count."""
    for x in sets:
        for y in sets:
            if x and x < y:
                yield x, y


def _named_sets(result: Impact) -> dict[str, frozenset[str]]:
    sets = {"recorded": result.recorded, "undated": result.undated}
    sets |= {f"target {i}": t.achievers for i, t in enumerate(result.targets)}
    sets |= {f"kind {k}": people for k, people in result.kinds.items()}
    sets |= {f"track {c}|{p}": people for (c, p), people in result.tracking.items()}
    return sets


def _all_cohorts(name: str) -> str:
    """The all-cohorts count a cohort's tracked period is part of (else the name itself)."""
    if name.startswith("track "):
        return f"track {ALL}|{name.split('|')[1]}"
    return name


def _population(name: str) -> str:
    if name.startswith("track "):
        return name.removeprefix("track ").split("|")[0]
    return ALL


# ---------------------------------------------------------------------- the report's section

FEWER = f"fewer than {SUPPRESS_BELOW}"


def impact_html(scenario: Scenario, allocation: Allocation) -> str:
    """The report's impact section: the targets, the positive outcomes and career tracking."""
    heading = "<h2>Impact against the programme's targets</h2>"
    if not scenario.outcomes:
        return (
            heading + "<p>No outcomes recorded yet (add outcomes.csv to the scenario folder).</p>"
        )
    cohort_of = {o.applicant_id: o.cohort_id or "" for o in allocation.selected()}
    result = impact(scenario, allocation)
    shown = shown_counts(result, cohort_of)
    figure = _Figures(result, shown)
    return (
        heading
        + f"<p>{' '.join(_notes(scenario, result, figure))}</p>"
        + _table(
            ["target", "aim", "stated", "recorded", "window", "status"],
            [
                [
                    escape(t.label),
                    f"{t.aim} ({_percent(Fraction(t.aim, result.participants or 1))})",
                    _percent(t.stated),
                    figure.share(f"target {i}"),
                    _window_text(t),
                    t.status,
                ]
                for i, t in enumerate(result.targets)
            ],
        )
        + (
            _table(
                ["positive outcome", "participants"],
                [[escape(k.replace("_", " ")), figure.count(f"kind {k}")] for k in result.kinds],
            )
            if result.kinds
            else "<p>No positive outcomes recorded yet.</p>"
        )
        + _tracking_html(result, figure)
    )


class _Figures:
    """A count as the page shows it: the number, "fewer than 3", or "suppressed" (a count
    that would let a small one be worked out)."""

    def __init__(self, result: Impact, shown: dict[str, int | None]):
        self.result, self.shown, self.sizes = result, shown, _named_sets(result)

    def count(self, name: str) -> str:
        value = self.shown[name]
        if value is not None:
            return str(value)
        return FEWER if 0 < len(self.sizes[name]) < SUPPRESS_BELOW else "suppressed"

    def share(self, name: str) -> str:
        value = self.shown[name]
        if value is None or not self.result.participants:
            return self.count(name)
        return f"{value} ({_percent(Fraction(value, self.result.participants))})"


def _notes(scenario: Scenario, result: Impact, figure: _Figures) -> list[str]:
    source = "[impact] as_of" if scenario.settings.impact.as_of else "the latest outcome_date"
    notes = [
        f"As of {result.as_of.isoformat()} ({source}): a window closing later is open.",
        f"{figure.count('recorded')} of {result.participants} participants have an outcome "
        "recorded.",
    ]
    if result.undated:
        notes.append(
            f"{figure.count('undated')} participants have a positive outcome with no date, "
            "counted in no time window."
        )
    if result.elsewhere:
        notes.append(
            f"{result.elsewhere} rows of outcomes.csv name people not selected in this "
            "allocation and are left out."
        )
    notes.append(
        "Each participant counts once per target (their first qualifying outcome in the "
        "window); percentages are of the participants, and stated is the share the programme "
        "states (a count as a share of the places)."
    )
    if not scenario.settings.impact.target:
        notes.append("Counts are cumulative from the programme start.")
    return notes


def _tracking_html(result: Impact, figure: _Figures) -> str:
    rows = sorted({cohort for cohort, _ in result.tracking}, key=lambda c: (c != ALL, c))
    return (
        "<h3>Career tracking during and after the programme</h3>"
        "<p>Participants with a positive outcome dated in each period.</p>"
        + _table(
            [
                "cohort",
                *(
                    f"{p.label} ({p.first.isoformat()} to {p.last.isoformat()})"
                    for p in result.periods
                ),
            ],
            [
                [
                    escape(cohort),
                    *(figure.count(f"track {cohort}|{p.label}") for p in result.periods),
                ]
                for cohort in rows
            ],
        )
    )


def _window_text(target: Target) -> str:
    if target.opens is None:
        return f"by {target.deadline.isoformat()}"
    return f"{target.opens.isoformat()} to {target.deadline.isoformat()}"


def _percent(share: Fraction) -> str:
    """A whole percentage, half rounded up (Fraction: 2/3 is 67%, never 66.99...%)."""
    return f"{int(share * 100 + Fraction(1, 2))}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
