"""Allocation variants side by side: fill, ring-fence members, representation, score, spread.

Counts of protected groups and ring-fence members are shown only where no count of 1 or 2 can
be worked out from them, across variants too (``disclosure``): variants that differ by one or
two people would otherwise name their characteristics. The baseline's report.html figures are
taken as already known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from cohort_solver.domain.results import Allocation
from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError
from cohort_solver.stages.load.scenario import load_scenario
from cohort_solver.stages.report.disclosure import Cell, disclosable
from cohort_solver.stages.report.page import page
from cohort_solver.stages.report.panel_report import (
    SUPPRESSED,
    evidence_html,
    protected_columns,
    representation,
    shown_cells,
    stage_populations,
)
from cohort_solver.sweeps.runner import Progress, Runner

Variant = tuple[str, Scenario, Allocation]


@dataclass(frozen=True)
class VariantTask:
    """One variant to solve, loaded already (a Scenario pickles in about a millisecond)."""

    scenario: Scenario
    time_limit: float
    workers: int


def solve_variant(task: VariantTask) -> Allocation:
    from cohort_solver.stages.allocate.solve import allocate

    return allocate(task.scenario, time_limit=task.time_limit, workers=task.workers)


def load_variants(folder: Path, variants: Sequence[tuple[str, Sequence[str]]]) -> list[Scenario]:
    """Every variant's scenario; bad input in any of them is reported all at once."""
    loaded, problems = [], []
    for _, sets in variants:
        try:
            loaded.append(load_scenario(folder, list(sets)))
        except InputError as exc:
            problems += [p for p in exc.problems if p not in problems]
    if problems:
        raise InputError(problems)
    return loaded


OTHER_READING = {"minimum_guarantee": "over_and_above", "over_and_above": "minimum_guarantee"}


def reading_variants(
    folder: Path, variants: Sequence[tuple[str, Sequence[str]]]
) -> list[tuple[str, list[str]]]:
    """``compare --readings``: one more variant per ring fence, reading it the other way
    (minimum guarantee <-> over and above), after the baseline's own --set values; with
    several ring fences, one more with every one of them read the other way."""
    shared = list(variants[0][1])
    fences = load_variants(folder, [("baseline", shared)])[0].settings.selection.ring_fence
    flips = [
        f"selection.ring_fence.{i}.reading={OTHER_READING[rf.reading]}"
        for i, rf in enumerate(fences)
    ]
    added = [
        (f"{rf.name} {OTHER_READING[rf.reading].replace('_', '-')}", [*shared, flip])
        for rf, flip in zip(fences, flips, strict=True)
    ]
    if len(fences) > 1:
        added.append(("every ring fence read the other way", [*shared, *flips]))
    return [*((n, list(v)) for n, v in variants), *added]


def who_changes(results: Sequence[Variant]) -> list[tuple[str, list[str], list[str]]]:
    """Per variant after the baseline: who it selects that the baseline does not, and who
    the baseline selects that it does not (applicant ids, in applicants.csv order)."""
    base = {o.applicant_id for o in results[0][2].selected()}
    order = [o.applicant_id for o in results[0][2].outcomes]
    changes = []
    for name, _, allocation in results[1:]:
        chosen = {o.applicant_id for o in allocation.selected()}
        changes.append(
            (
                name,
                [i for i in order if i in chosen - base],
                [i for i in order if i in base - chosen],
            )
        )
    return changes


def who_changes_lines(results: Sequence[Variant]) -> list[str]:
    """``who_changes`` in words, one line per variant."""
    return [
        f"{name}: selects {', '.join(ins) or 'no one new'}; "
        f"no longer selects {', '.join(outs) or 'anyone it did'} (against the baseline)"
        for name, ins, outs in who_changes(results)
    ]


def solve_variants(
    folder: Path,
    variants: Sequence[tuple[str, Sequence[str]]],
    *,
    time_limit: float,
    workers: int,
    dask_scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[Variant]:
    """Solve every variant side by side; results in variant order.

    Locally the cores are shared out: n variants in up to min(n, workers) processes, the rest
    of the cores as solver threads. On Dask each variant is one task with one solver thread.
    """
    scenarios = load_variants(folder, variants)
    processes = max(1, min(workers, len(scenarios)))
    threads = 1 if dask_scheduler else max(1, workers // processes)
    tasks = [VariantTask(s, time_limit, threads) for s in scenarios]
    with Runner(workers=processes, dask_scheduler=dask_scheduler) as runner:
        allocations = runner.map(solve_variant, tasks, progress=progress)
    return [(name, s, a) for (name, _), s, a in zip(variants, scenarios, allocations, strict=True)]


def compare_rows(results: Sequence[Variant]) -> tuple[list[str], list[list[str]], list[str]]:
    """Table headers, one row per variant, and the applicants whose outcome differs."""
    groups = [g for g, _ in representation(results[0][1], results[0][2])]
    fences = [rf.name for rf in results[0][1].settings.selection.ring_fence]
    headers = [
        "variant",
        "status",
        "filled",
        *[f"'{f}' members" for f in fences],
        *[f"{g} selected" for g in groups],
        "mean score",
        "service areas",
    ]
    shown = _shown(results, groups, fences)
    rows = []
    for number, (name, scenario, allocation) in enumerate(results):
        selected = allocation.selected()
        places = sum(c.places for c in scenario.cohorts)
        people = {a.applicant_id: a for a in scenario.applicants}
        members = [sum(f in o.ring_fences for o in selected) for f in fences]
        shares = []
        for group in groups:
            count = sum(people[o.applicant_id].groups.get(group, False) for o in selected)
            shares.append(
                SUPPRESSED
                if (number, group) not in shown
                else f"{count} ({100 * count / len(selected):.0f}%)"
                if selected
                else "0"
            )
        scores = [o.score for o in selected if o.score is not None]
        rows.append(
            [
                name,
                allocation.report.status,
                f"{len(selected)}/{places}",
                *[
                    str(n) if (number, f"fence:{f}") in shown else SUPPRESSED
                    for f, n in zip(fences, members, strict=True)
                ],
                *shares,
                f"{sum(scores) / len(scores):.2f}" if scores else "-",
                str(
                    len(
                        {
                            (
                                o.cohort_id,
                                people[o.applicant_id].council,
                                people[o.applicant_id].service_area,
                            )
                            for o in selected
                        }
                    )
                ),
            ]
        )
    outcomes = [
        {o.applicant_id: (o.status, o.cohort_id) for o in a.outcomes} for _, _, a in results
    ]
    differing = sorted(i for i in outcomes[0] if len({str(o.get(i)) for o in outcomes}) > 1)
    return headers, rows, differing


def _shown(
    results: Sequence[Variant], groups: list[str], fences: list[str]
) -> set[tuple[int, str]]:
    """(variant number, group or "fence:<name>") of the counts that may be shown."""
    _, base_scenario, base_allocation = results[0]
    columns = protected_columns(base_scenario, groups)
    stages = stage_populations(base_allocation)
    populations = {"applicants": stages["applicants"], "eligible": stages["eligible"]}
    labels: dict[Cell, list[tuple[int, str]]] = {}
    for number, (_, _, allocation) in enumerate(results):
        population = f"variant {number}"
        populations[population] = frozenset(o.applicant_id for o in allocation.selected())
        for group in groups:
            labels.setdefault(Cell(population, group), []).append((number, group))
        for fence in fences:  # as this variant counts it (a --set may change a fence's groups)
            members = frozenset(
                o.applicant_id for o in allocation.outcomes if fence in o.ring_fences
            )
            column = next(
                (c for c, m in columns.items() if m == members), f"ring fence {fence} #{number}"
            )
            columns.setdefault(column, members)
            labels.setdefault(Cell(population, column), []).append((number, f"fence:{fence}"))
    # What the baseline's report.html shows is known already; its selection is variant 0's.
    known = [
        Cell("variant 0" if stage == "selected" else stage, group)
        for group, stage in shown_cells(base_scenario, base_allocation)
    ]
    accepted = disclosable(columns, populations, list(labels), known)
    return {label for cell in accepted for label in labels[cell]}


def compare_html(results: Sequence[Variant], changes: Sequence[Sequence[str]] = ()) -> str:
    """The page; ``changes`` are each variant's ``--set`` values, in variant order, so a reader
    of the page alone knows what every column is."""
    headers, rows, differing = compare_rows(results)
    names = [name for name, _, _ in results]
    by_variant = [
        {
            o.applicant_id: o.status + (f" ({o.cohort_id})" if o.cohort_id else "")
            for o in a.outcomes
        }
        for _, _, a in results
    ]
    table = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    diff_head = "".join(f"<th>{escape(n)}</th>" for n in names)
    diff_body = "".join(
        f"<tr><td>{escape(i)}</td>"
        + "".join(f"<td>{escape(v[i])}</td>" for v in by_variant)
        + "</tr>"
        for i in differing
    )
    return page(
        "Variant comparison",
        "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.25rem .5rem}",
        f"<h1>Variant comparison</h1>{evidence_html(results[0][1].settings)}"
        f"{_changes_html(names, changes)}<table><tr>{table}</tr>{body}</table>"
        f"{_who_changes_html(results)}"
        f"<h2>Applicants whose outcome differs ({len(differing)})</h2>"
        f"<table><tr><th>applicant</th>{diff_head}</tr>{diff_body}</table>",
    )


def _who_changes_html(results: Sequence[Variant]) -> str:
    """Who each variant selects instead of whom, against the baseline."""
    if len(results) < 2:
        return ""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(', '.join(ins) or '-')}</td>"
        f"<td>{escape(', '.join(outs) or '-')}</td></tr>"
        for name, ins, outs in who_changes(results)
    )
    return (
        "<h2>Who changes against the baseline</h2>"
        "<table><tr><th>variant</th><th>newly selected</th><th>no longer selected</th></tr>"
        f"{rows}</table>"
    )


def _changes_html(names: Sequence[str], changes: Sequence[Sequence[str]]) -> str:
    """What each variant changes: its --set values, or the scenario as it is."""
    if not changes:
        return ""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>"
        + ("<br>".join(f"<code>{escape(s)}</code>" for s in sets) or "the scenario as it is")
        + "</td></tr>"
        for name, sets in zip(names, changes, strict=True)
    )
    return (
        "<h2>What each variant changes</h2>"
        f"<table><tr><th>variant</th><th>--set</th></tr>{rows}</table>"
    )
