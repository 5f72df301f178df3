"""report.html: one self-contained page for the selection panel (no scripts, no network).

Protected characteristics appear only as counts per group and stage, and only the counts from
which no count of 1 or 2 can be read or worked out (``disclosure``): the others show as
"suppressed". No person is listed with a ring fence or a reason that reveals membership. The
panel sections name applicants only by id and score; impact outcomes appear only as counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from html import escape

from cohort_solver.domain.markets import MarketResult, PlacementDays, SwapResult
from cohort_solver.domain.programme_time import month_first_day
from cohort_solver.domain.reasons import shareable_words
from cohort_solver.domain.results import Allocation, Event, Level, Match, StageReport
from cohort_solver.domain.scenario import Scenario, Settings
from cohort_solver.stages.report.consistency import OVERALL, PanelConsistency, consistency, reading
from cohort_solver.stages.report.disclosure import SUPPRESS_BELOW, Cell, disclosable
from cohort_solver.stages.report.impact import impact_html
from cohort_solver.stages.report.markets import market_sections
from cohort_solver.stages.report.page import page

__all__ = ["SUPPRESS_BELOW", "report_html", "representation", "shown_cells"]
SUPPRESSED = "suppressed"
STAGES = ("applicants", "eligible", "selected")


def _figure(stats: tuple[int, int], shown: bool) -> str:
    members, total = stats
    if not shown:
        return SUPPRESSED
    return f"{members} ({100 * members / total:.0f}%)" if total else str(members)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


FEW = f"fewer than {SUPPRESS_BELOW}"


def _everywhere(scenario: Scenario) -> str:
    """The words for "every cohort they could join"."""
    return "the programme" if len(scenario.cohorts) == 1 else "every cohort open to them"


def _reason_counts(scenario: Scenario, allocation: Allocation, status: str, heading: str) -> str:
    """How many applicants of ``status`` had each reason, in words that name no ring fence.
    The counts add up to the Outcome table's total, so one hidden count alone would come back
    by subtraction: then the next smallest is hidden too."""
    counts = Counter(
        shareable_words(o.reason, _everywhere(scenario)).removeprefix("not eligible: ")
        for o in allocation.outcomes
        if o.status == status
    )
    if not counts:
        return ""
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    hidden = {words for words, n in rows if n < SUPPRESS_BELOW}
    if len(hidden) == 1 and len(rows) > 1:
        hidden.add(min((n, words) for words, n in rows if words not in hidden)[1])
    return _table(
        [heading, "applicants"],
        [[escape(words), FEW if words in hidden else n] for words, n in rows],
    )


def evidence_html(settings: Settings) -> str:
    """The positive-action basis and workforce profile that every panel page shows (s158)."""
    evidence = settings.positive_action
    if not evidence:
        return (
            "<p>No positive-action evidence is recorded in scenario.toml ([positive_action]).</p>"
        )
    profile = "; ".join(
        f"{escape(g)} {f.workforce:.0%} of the workforce, {f.senior:.0%} of senior roles"
        for g, f in evidence.profile.items()
    )
    return (
        f"<p>Positive action basis: {escape(evidence.basis)}. {escape(evidence.evidence)}"
        + (f". Workforce profile: {profile}." if profile else "")
        + "</p>"
    )


def representation(
    scenario: Scenario, allocation: Allocation
) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """Per group: (members, total) among applicants, eligible applicants and selected participants."""
    people = {a.applicant_id: a for a in scenario.applicants}
    stages = {
        "applicants": [o.applicant_id for o in allocation.outcomes],
        "eligible": [o.applicant_id for o in allocation.outcomes if o.status != "ineligible"],
        "selected": [o.applicant_id for o in allocation.selected()],
    }
    groups = (
        list(scenario.settings.positive_action.profile) if scenario.settings.positive_action else []
    )
    groups += [g for g in scenario.ring_fence_groups() if g not in groups]
    return [
        (
            group,
            {
                stage: (sum(people[i].groups.get(group, False) for i in ids), len(ids))
                for stage, ids in stages.items()
            },
        )
        for group in groups
    ]


def stage_populations(allocation: Allocation) -> dict[str, frozenset[str]]:
    """The applicants counted at each stage of the representation table."""
    return {
        "applicants": frozenset(o.applicant_id for o in allocation.outcomes),
        "eligible": frozenset(
            o.applicant_id for o in allocation.outcomes if o.status != "ineligible"
        ),
        "selected": frozenset(o.applicant_id for o in allocation.selected()),
    }


def protected_columns(scenario: Scenario, groups: list[str]) -> dict[str, frozenset[str]]:
    """Members of each group shown, and of each ring fence (protected, whether shown or not)."""
    columns = {
        g: frozenset(a.applicant_id for a in scenario.applicants if a.groups.get(g, False))
        for g in groups
    }
    for rf in scenario.settings.selection.ring_fence:
        columns[f"ring fence {rf.name}"] = frozenset(
            a.applicant_id
            for a in scenario.applicants
            if any(a.groups.get(g, False) for g in rf.groups)
        )
    return columns


def shown_cells(scenario: Scenario, allocation: Allocation) -> set[tuple[str, str]]:
    """The (group, stage) counts the report may show: selected first, as the panel needs most."""
    groups = [g for g, _ in representation(scenario, allocation)]
    wanted = [Cell(stage, g) for stage in reversed(STAGES) for g in groups]
    cells = disclosable(protected_columns(scenario, groups), stage_populations(allocation), wanted)
    return {(c.column, c.population) for c in cells}


def _chart(
    scenario: Scenario,
    rows: list[tuple[str, dict[str, tuple[int, int]]]],
    shown: set[tuple[str, str]],
) -> str:
    """Grouped bars: share of each group at each stage, beside the workforce and senior profile."""
    profile = scenario.settings.positive_action.profile if scenario.settings.positive_action else {}
    series = ["applicants", "eligible", "selected", "workforce", "senior"]
    colours = ["#8da0cb", "#66c2a5", "#1b7837", "#bbbbbb", "#666666"]
    width, bar, gap = 640, 18, 36
    height = 40 + len(rows) * (len(series) * bar + gap)
    parts = [
        f'<svg role="img" aria-label="Representation by group and stage" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>Representation by group and stage</title>'
    ]
    y = 30
    for group, stats in rows:
        parts.append(f'<text x="0" y="{y - 6}" font-weight="bold">{escape(group)}</text>')
        for name, colour in zip(series, colours, strict=True):
            if name in stats:
                members, total = stats[name]
                value = members / total if (group, name) in shown and total else None
            else:
                value = getattr(profile.get(group), name, None) if group in profile else None
            length = 0 if value is None else value * 400
            label = "suppressed" if value is None else f"{100 * value:.0f}%"
            parts.append(
                f'<text x="0" y="{y + 13}" font-size="12">{name}</text>'
                f'<rect x="110" y="{y}" width="{length:.1f}" height="{bar - 4}" fill="{colour}">'
                f"<title>{escape(group)} {name}: {label}</title></rect>"
                f'<text x="{115 + length:.1f}" y="{y + 12}" font-size="12">{label}</text>'
            )
            y += bar
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def _signed(value: float) -> str:
    return f"{round(value, 2) or 0.0:+.2f}"  # "or 0.0" turns -0.0 into +0.00


def _panel_chart(panel: PanelConsistency) -> str:
    """One row per panelist: a dot per applicant scored, a bar at their mean, leniency at right."""
    every = [float(v) for p in panel.panelists for v in p.scores]
    low, high = min(every), max(every)
    span = (high - low) or 1.0
    left, right, row, top = 160, 580, 28, 30
    height = top + row * len(panel.panelists) + 50

    def x(value: float) -> float:
        return left + (value - low) / span * (right - left)

    label = "Panel scores by panelist, with each panelist's leniency"
    parts = [
        f'<svg role="img" aria-label="{label}" width="700" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>',
        f'<text x="0" y="16" font-weight="bold">panelist</text>'
        f'<text x="{right + 20}" y="16" font-weight="bold">leniency</text>',
    ]
    for i, panelist in enumerate(panel.panelists):
        y = top + i * row + row / 2
        parts.append(
            f'<text x="0" y="{y + 4:.0f}" font-size="12">{escape(panelist.panelist)}</text>'
        )
        parts.extend(
            f'<circle cx="{x(float(v)):.1f}" cy="{y:.0f}" r="4" fill="#8da0cb" fill-opacity="0.6"/>'
            for v in panelist.scores
        )
        parts.append(
            f'<rect x="{x(panelist.mean) - 1.5:.1f}" y="{y - 9:.0f}" width="3" height="18" fill="#1b7837">'
            f"<title>{escape(panelist.panelist)} mean {panelist.mean:.2f}</title></rect>"
        )
        lenient = "–" if panelist.leniency is None else _signed(panelist.leniency)
        parts.append(f'<text x="{right + 20}" y="{y + 4:.0f}" font-size="12">{lenient}</text>')
    axis = top + row * len(panel.panelists) + 4
    parts.append(f'<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="#666"/>')
    for k in range(5):
        value = low + span * k / 4
        parts.append(
            f'<text x="{x(value):.1f}" y="{axis + 16}" font-size="11" text-anchor="middle">{value:.1f}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.0f}" y="{axis + 36}" font-size="12" text-anchor="middle">'
        "panelist's score for an applicant (dot = one applicant, green bar = panelist mean)</text></svg>"
    )
    return "".join(parts)


def _panel_sections(scenario: Scenario) -> list[str]:
    if not scenario.scores:
        return ["<h2>Panel scoring</h2><p>No panel scores recorded.</p>"]
    panel = consistency(scenario)
    overall = panel.alpha[OVERALL]
    flagged = (
        _table(
            ["applicant", "lowest panelist score", "highest panelist score", "spread"],
            [[escape(d.applicant_id), d.lowest, d.highest, d.spread] for d in panel.flagged],
        )
        if panel.flagged
        else "<p>No applicant's panelists disagreed by more than that.</p>"
    )
    return [
        "<h2>Panel scoring</h2>"
        "<p>Leniency is a panelist's average distance above (+) or below (−) the other panelists "
        "scoring the same applicant.</p>"
        + _panel_chart(panel)
        + _table(
            ["panelist", "applicants scored", "mean score", "leniency"],
            [
                [
                    escape(p.panelist),
                    len(p.scores),
                    f"{p.mean:.2f}",
                    "–" if p.leniency is None else _signed(p.leniency),
                ]
                for p in panel.panelists
            ],
        ),
        "<h2>Panel consistency</h2>"
        f"<p>Overall alpha {'–' if overall is None else f'{overall:.3f}'}: {escape(reading(overall))}. "
        "Krippendorff's alpha (interval): 1 = full agreement, "
        f"0 = no better than chance; at least 0.8 is reliable, at least 0.667 tentative.</p>"
        + _table(
            ["criterion", "alpha", "reading"],
            [
                [escape(name), "–" if value is None else f"{value:.3f}", escape(reading(value))]
                for name, value in panel.alpha.items()
            ],
        )
        + f"<h3>Applicants the panel disagreed on</h3><p>Flagged when the highest and lowest panelist "
        f"scores for one applicant are more than {panel.threshold.normalize():f} apart.</p>"
        + flagged,
    ]


def _calendar_grid(scenario: Scenario, events: Sequence[Event]) -> str:
    """Every month of the programme as a row (an empty month says so, rather than vanish),
    each cohort a column: the group sessions' dates (a session joining several cohorts in
    each of their columns, marked joint), and how many 1:1s, reviews, mentor meetings and
    learning set meetings. Months down the page keep the grid narrow enough for a 1280 px
    screen however long the programme."""
    start = scenario.settings.programme.start
    last = max((s.month for s in scenario.programme), default=1)
    months = {month_first_day(start, m).strftime("%Y-%m") for m in range(1, last + 1)}
    months |= {e.start.strftime("%Y-%m") for e in events}  # one outside the template still shows
    cells: dict[tuple[str, str], list[Event]] = {}
    for e in events:
        for cohort in _columns_of(e.cohort_id):
            cells.setdefault((cohort, e.start.strftime("%Y-%m")), []).append(e)
    cohorts = sorted({c for e in events for c in _columns_of(e.cohort_id)})
    rows = [
        [
            escape(date.fromisoformat(f"{key}-01").strftime("%b %Y")),
            *(_grid_cell(cells.get((k, key), [])) for k in cohorts),
        ]
        for key in sorted(months)
    ]
    return "<p>Group sessions by date; 1:1 coaching and reviews as a count.</p>" + _table(
        ["month", *cohorts], rows
    )


JOINT = "joint:"
# Sessions counted rather than dated in the grid, and how a count of them reads.
COUNTED = {
    "coaching": "1:1/review",
    "review": "1:1/review",
    "mentoring": "mentor meetings",
    "action_learning": "learning set meetings",
    "flexible": "runs attended",
}


def _columns_of(cohort_id: str) -> list[str]:
    """The grid columns an event shows in: its cohort's, or each of a joint session's."""
    if cohort_id.startswith(JOINT):
        return cohort_id.removeprefix(JOINT).split(";")
    return [cohort_id]


def _grid_cell(found: list[Event]) -> str:
    group = [
        (e.start.strftime("%a %d"), " (joint)" if e.cohort_id.startswith(JOINT) else "")
        for e in sorted(found, key=lambda e: (e.start, e.event_id))
        if e.kind in ("group", "cohort_event")
    ]
    counts: dict[str, int] = {}
    for e in found:
        if e.kind in COUNTED:
            counts[COUNTED[e.kind]] = counts.get(COUNTED[e.kind], 0) + 1
    lines = [escape(day + joint) for day, joint in group]
    lines += [
        f"+{counts[what]} {what}" for what in dict.fromkeys(COUNTED.values()) if what in counts
    ]
    return "<br>".join(lines) or "no sessions"


# (subject, "are"/"is", "follow"/"follows") for each stage, so the sentence reads right.
STAGE_WORDS = {
    "allocation": ("These places", "are", "follow"),
    "matching": ("These pairings", "are", "follow"),
    "calendar": ("This calendar", "is", "follows"),
}


def _in_words(report: StageReport) -> str:
    """The solver's status as a panel reads it: proven best, or how close to best it is."""
    what, be, follow = STAGE_WORDS.get(report.stage, (f"The {report.stage}", "is", "follows"))
    if report.status == "optimal":
        return f"{what} {be} proven the best possible under the rules."
    worst = max((level.gap for level in report.levels), default=0.0)
    return (
        f"{what} {follow} every rule; that {what.split()[0].lower()} {be} the best possible is "
        f"not proven, and the best possible is at most {worst:.1%} better."
    )


def _level(scenario: Scenario, level: Level) -> str:
    """An objective's value and bound; the ring-fence fill only when every minimum is met (it
    counts ring-fence members selected, so below the minimum it is a protected count)."""
    if level.name == "ring_fence_fill":
        required = sum(
            rf.minimum_in(cohort)
            for cohort in scenario.cohorts
            for rf in scenario.settings.selection.ring_fence
        )
        if not level.value == level.bound == required:
            return f"{level.name} {SUPPRESSED} (a ring-fence minimum is not met)"
    return f"{level.name} {level.value} / {level.bound}"


def report_html(
    scenario: Scenario,
    allocation: Allocation,
    matches: Sequence[Match],
    events: Sequence[Event],
    reports: Sequence[StageReport],
    *,
    markets: Sequence[MarketResult | SwapResult] = (),
    away: Sequence[PlacementDays] = (),
) -> str:
    settings = scenario.settings
    people = {a.applicant_id: a for a in scenario.applicants}
    statuses = Counter(o.status for o in allocation.outcomes)
    rows = representation(scenario, allocation)
    shown = shown_cells(scenario, allocation)
    selected = sorted(allocation.selected(), key=lambda o: (o.cohort_id or "", -(o.score or 0)))
    reserves = sorted(
        (o for o in allocation.outcomes if o.status == "reserve"),
        key=lambda o: (o.cohort_id or "", o.reserve_rank or 0),
    )
    areas = Counter(
        (o.cohort_id, people[o.applicant_id].council, people[o.applicant_id].service_area)
        for o in selected
    )
    evidence = settings.positive_action
    sections = [
        f"<h1>{escape(settings.programme.name)}</h1><p>{escape(settings.programme.organisation)} · "
        f"seed {settings.selection.seed} · scenario checksum <code>{scenario.checksum[:12]}</code></p>",
        "<h2>Outcome</h2>"
        + _table(
            ["selected", "reserve", "not selected", "ineligible"],
            [
                [
                    statuses["selected"],
                    statuses["reserve"],
                    statuses["not_selected"],
                    statuses["ineligible"],
                ]
            ],
        ),
        *_tracks_section(scenario, statuses_by_cohort(allocation)),
        # No ring-fence column, and reasons as the decision log gives them: listing who counts
        # towards a ring fence would name the people every suppressed count stands for.
        "<h2>Selected participants</h2>"
        + _table(
            ["cohort", "applicant", "name", "service area", "score"],
            [
                [
                    escape(o.cohort_id or ""),
                    escape(o.applicant_id),
                    escape(people[o.applicant_id].name),
                    escape(people[o.applicant_id].service_area),
                    o.score,
                ]
                for o in selected
            ],
        ),
        "<h2>Reserve list</h2>"
        + _table(
            ["cohort", "rank", "applicant", "score", "why not selected"],
            [
                [
                    escape(o.cohort_id or ""),
                    o.reserve_rank,
                    escape(o.applicant_id),
                    o.score,
                    escape(shareable_words(o.reason, _everywhere(scenario))),
                ]
                for o in reserves
            ],
        ),
        "<h2>Why applicants were not selected</h2>"
        + _reason_counts(scenario, allocation, "not_selected", "why not selected")
        + _reason_counts(scenario, allocation, "ineligible", "why not eligible")
        + f"<p>Counts of fewer than {SUPPRESS_BELOW} show as “{FEW}”, and so does the next "
        "smallest when only one would be hidden (it could be worked out from the total). Each "
        "applicant's own reasons, with what would have changed them, are in feedback.csv.</p>",
        "<h2>Representation</h2>"
        + evidence_html(settings)
        + _chart(scenario, rows, shown)
        + _table(
            ["group", "applicants", "eligible", "selected", "workforce", "senior roles"],
            [
                [
                    escape(g),
                    *(_figure(s[stage], (g, stage) in shown) for stage in STAGES),
                    f"{evidence.profile[g].workforce:.0%}"
                    if evidence and g in evidence.profile
                    else "–",
                    f"{evidence.profile[g].senior:.0%}"
                    if evidence and g in evidence.profile
                    else "–",
                ]
                for g, s in rows
            ],
        )
        + f"<p>Suppressed: fewer than {SUPPRESS_BELOW} people, or a count from which one of "
        f"fewer than {SUPPRESS_BELOW} could be worked out (by subtraction from another figure "
        "on this page).</p>",
        *_panel_sections(scenario),
        "<h2>Spread by service area</h2>"
        + _table(
            ["cohort", "council", "service area", "participants"],
            [[escape(k or ""), escape(c), escape(a), n] for (k, c, a), n in sorted(areas.items())],
        ),
        "<h2>Mentors and coaches</h2>"
        + _table(
            ["participant", "mentor", "coach", "mentor fit", "coach fit"],
            [
                [
                    escape(m.participant_id),
                    escape(m.mentor_id),
                    escape(m.coach_id),
                    m.mentor_fit,
                    m.coach_fit,
                ]
                for m in matches
            ],
        ),
        "<h2>Calendar overview</h2>" + _calendar_grid(scenario, events),
        impact_html(scenario, allocation),
        *market_sections(scenario, markets, away),
        # Timings live in solution.json: the report stays byte-identical from run to run.
        "<h2>Solver</h2><p>Solve times are in solution.json, so this page is the same every time "
        "the same scenario is run.</p>"
        + _table(
            ["stage", "what it means", "status", "objectives (value / bound)"],
            [
                [
                    escape(r.stage),
                    _in_words(r),
                    r.status,
                    escape("; ".join(_level(scenario, lv) for lv in r.levels)),
                ]
                for r in reports
            ],
        ),
    ]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "text-align:left}th{background:#f3f3f3}"
    )
    return page(f"{settings.programme.name} – panel report", style, "".join(sections))


def statuses_by_cohort(allocation: Allocation) -> Counter[tuple[str, str]]:
    """(cohort, status) -> how many applicants."""
    return Counter((o.cohort_id or "", o.status) for o in allocation.outcomes)


def _tracks_section(scenario: Scenario, counts: Counter[tuple[str, str]]) -> list[str]:
    """With [[tracks]]: one row per track, its grade band, months, cohorts and places filled.
    (Counts of people per track, never of a protected characteristic.)"""
    settings = scenario.settings
    if not settings.tracks:
        return []
    rows = []
    for track in settings.tracks:
        cohorts = [c for c in scenario.cohorts if c.track == track.id]
        band = ", ".join(map(str, settings.track_grades(track)))
        months = f"{track.months[0]} to {track.months[1]}" if track.months else "all"
        rows.append(
            [
                escape(track.id),
                escape(track.name),
                escape(band),
                months,
                escape(", ".join(c.id for c in cohorts)),
                sum(c.places for c in cohorts),
                sum(counts[(c.id, "selected")] for c in cohorts),
                sum(counts[(c.id, "reserve")] for c in cohorts),
            ]
        )
    header = ["track", "name", "grades", "months", "cohorts", "places", "selected", "reserves"]
    return ["<h2>Tracks</h2>" + _table(header, rows)]
