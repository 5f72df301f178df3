"""report.html's section per ``[[markets]]`` scheme: what was matched, who is unmatched and
why, what stability costs against the best total fit, the pairs that block the best-fit
reading, and the swap cycles.

Pairs are listed by id, fit and rank only, as NAME.csv lists them: no protected data reaches
this section. The unmatched are counted by reason, never listed, and a count of 1 or 2 shows
as "fewer than 3"; when one count is hidden so is the next smallest and the total, so no
hidden count can be worked out by subtraction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape

from cohort_solver.domain.markets import (
    MarketResult,
    PlacementDays,
    PlacementResult,
    Reading,
    ReadingName,
    SwapResult,
)
from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.report.disclosure import SUPPRESS_BELOW

HIDDEN = f"fewer than {SUPPRESS_BELOW}"

# The reason texts of the solvers, grouped into what a coordinator would do about them.
_REASON_KINDS = (
    ("these ", "too few places among the only partners they can have (Hall's condition)"),
    ("no acceptable", "no acceptable partner: nobody they ranked meets the scheme's rules"),
    ("nobody who ranked it", "nobody who ranked it meets its requirements"),
    ("every acceptable mentee", "every acceptable partner prefers the one they have"),
    ("every acceptable", "every acceptable partner is full with people ranked higher"),
    ("every mentee who could", "everyone who could pair with them is paired already"),
    ("everyone who could take it is placed", "everyone who could take it is placed already"),
    ("everyone who could take it holds", "everyone who could take it prefers their own"),
    ("ranked no colleague", "ranked no colleague's role"),
    ("no role they ranked", "no role they ranked is allowed to them"),
    ("nobody who may take", "nobody who may take their role ranked it"),
    ("no swap of up to", "no swap closes"),
    ("each swap open", "every swap open to them overlaps the chosen swaps"),
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f'<th scope="col">{escape(str(h))}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def reason_kind(reason: str) -> str:
    """The kind of a solver's unmatched reason (its people's names and numbers left out)."""
    for start, kind in _REASON_KINDS:
        if reason.startswith(start):
            return kind
    return reason.split(" (")[0].split(":")[0]


def suppressed_counts(counts: Counter[str]) -> tuple[dict[str, str], str]:
    """Each count as shown, and the total: 1 and 2 hidden; if anything is hidden, the next
    smallest count and the total are too, so no hidden count is a difference of shown ones."""
    shown = {kind: str(n) for kind, n in counts.items()}
    small = [kind for kind, n in counts.items() if 0 < n < SUPPRESS_BELOW]
    for kind in small:
        shown[kind] = HIDDEN
    total = str(sum(counts.values()))
    if small:
        total = "not shown"
        rest = sorted((n, kind) for kind, n in counts.items() if kind not in small and n)
        if len(small) == 1 and rest:
            shown[rest[0][1]] = "not shown"
    return shown, total


def _unmatched_table(unmatched: Sequence[tuple[str, str]]) -> str:
    """``unmatched``: (who, reason) per person left unmatched, counted by kind of reason."""
    counts = Counter(f"{who}: {reason_kind(reason)}" for who, reason in unmatched)
    if not counts:
        return "<p>Nobody is left unmatched.</p>"
    shown, total = suppressed_counts(counts)
    rows = [[escape(kind), figure] for kind, figure in sorted(shown.items())]
    rows.append(["all left unmatched", total])
    return _table(["why left unmatched", "people"], rows)


def _pairs_table(reading: Reading, placement: bool, away: Sequence[PlacementDays] = ()) -> str:
    if not reading.pairs:
        return "<p>No pairs.</p>"
    headers = (
        ["participant", "placement", "fit", "participant's rank", "host's rank", "in the calendar"]
        if placement
        else ["mentee", "mentor", "fit", "mentee's rank", "mentor's rank"]
    )
    days = {(d.person_id, d.placement_id): d for d in away}
    rows = [
        [
            escape(p.mentee),
            escape(p.mentor),
            p.fit,
            "–" if p.mentee_rank is None else p.mentee_rank,
            "–" if p.mentor_rank is None else p.mentor_rank,
            *([_in_calendar(days.get((p.mentee, p.mentor)))] if placement else []),
        ]
        for p in reading.pairs
    ]
    return _table(headers, rows)


def _in_calendar(days: PlacementDays | None) -> str:
    """How a placement shows in its participant's calendar."""
    if days is None:
        return "no dates"
    effect = "no sessions booked" if days.blocks else "sessions may be booked"
    return f"{days.start:%d %b %Y} to {days.end:%d %b %Y}: {effect}"


def _readings_table(result: MarketResult, adopted: ReadingName) -> str:
    rows = [
        [
            escape(r.name) + (" (adopted)" if r.name == adopted else ""),
            len(r.pairs),
            r.total_fit,
            "–" if r.worst_fit is None else r.worst_fit,
            "proven" if r.optimal else "not proven",
        ]
        for r in result.readings
    ]
    return _table(["reading", "pairs", "total fit", "worst fit", "best for its reading"], rows)


def _stability_cost(result: MarketResult) -> str:
    """What stability costs in total fit. It can be negative: max_fit pairs the most people
    first, and a stable reading that pairs fewer may have more fit between them."""
    best, stable = result.reading("max_fit").total_fit, result.reading("stable").total_fit
    if result.stability_cost >= 0:
        return (
            f"Stability costs {_points(result.stability_cost)} of total fit: the best total "
            f"fit is {best}, the stable reading {stable}."
        )
    return (
        f"The stable reading has {_points(-result.stability_cost)} more total fit ({stable}) "
        f"than max_fit ({best}), which pairs more people first."
    )


def _pairing_section(
    result: MarketResult, adopted: ReadingName, away: Sequence[PlacementDays]
) -> str:
    placement = isinstance(result, PlacementResult)
    kind = "placement scheme" if placement else "sign-up scheme"
    reading = result.reading(adopted)
    sides = (
        {"mentee": "participant", "mentor": "placement"}
        if placement
        else {"mentee": "mentee", "mentor": "mentor"}
    )
    # People are counted (and small counts hidden); an empty placement is not a person.
    unmatched = [
        (sides[u.side], u.reason) for u in reading.unmatched if not placement or u.side == "mentee"
    ]
    empty = sorted(u.person_id for u in reading.unmatched if placement and u.side == "mentor")
    blocking = len(result.blocking_pairs)
    return (
        f"<h3>{escape(result.market)} ({kind})</h3>"
        + _readings_table(result, adopted)
        + f"<p>{_stability_cost(result)} "
        + (
            f"{blocking} pair{'' if blocking == 1 else 's'} would both rather be together than "
            "as the best-fit reading pairs them (blocking pairs).</p>"
            if blocking
            else "No pair blocks the best-fit reading: it is stable too.</p>"
        )
        + f"<h4>{escape(result.market)}: the {escape(adopted)} reading</h4>"
        + _pairs_table(reading, placement, away if placement else ())
        + _unmatched_table(unmatched)
        + (f"<p>Placements nobody takes: {escape(', '.join(empty))}.</p>" if empty else "")
    )


_WAYS = {2: "two", 3: "three"}


def _points(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def _swap_section(result: SwapResult) -> str:
    sizes = Counter(len(s.members) for s in result.swaps)
    proof = (
        "proven the most people any set of swaps can move"
        if result.status == "optimal"
        else f"not proven best: at most {result.bound} people could move"
    )
    rows = [
        [number, escape(" → ".join((*s.members, s.members[0]))), len(s.members), s.fit]
        for number, s in enumerate(result.swaps, start=1)
    ]
    cycles = ", ".join(f"{n} {_WAYS.get(size, size)}-way" for size, n in sorted(sizes.items()))
    return (
        f"<h3>{escape(result.market)} (job swaps)</h3>"
        f"<p>{len(result.swaps)} swaps ({cycles or 'none'}) move {result.swapped} people, "
        f"total fit {result.total_fit}: {proof}.</p>"
        + (
            _table(["swap", "who takes whose role", "people", "fit"], rows)
            if rows
            else "<p>No swaps.</p>"
        )
        + _unmatched_table([("keeps their role", u.reason) for u in result.unpaired])
    )


def market_sections(
    scenario: Scenario,
    results: Sequence[MarketResult | SwapResult],
    away: Sequence[PlacementDays] = (),
) -> list[str]:
    """One section per scheme, in toml order (none without [[markets]]); ``away``: the
    adopted placements' dates, each shown with its effect on the calendar."""
    if not results:
        return []
    adopted: dict[str, ReadingName] = {m.name: m.adopt for m in scenario.settings.markets}
    parts = [
        _swap_section(r)
        if isinstance(r, SwapResult)
        else _pairing_section(r, adopted[r.market], away)
        for r in results
    ]
    note = (
        "<p>Pairs are shown by id, fit and rank, as in each scheme's CSV file. The people left "
        f"unmatched are counted by reason; a count under {SUPPRESS_BELOW} is not shown, nor "
        "any figure it could be worked out from.</p>"
    )
    return ["<h2>Schemes: mentoring, coaching, swaps and placements</h2>" + note, *parts]
