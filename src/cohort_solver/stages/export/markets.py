"""NAME.csv of each sign-up scheme: every reading's pairs and unmatched, then the pairs that
block the best-fit reading. It holds ids, ranks and fits only: no protected data."""

from __future__ import annotations

from cohort_solver.domain.markets import MarketResult, Pair, PlacementResult, Reading, SwapResult
from cohort_solver.stages.export.files import csv_text

MARKET_COLUMNS = (
    "reading",
    "mentee_id",
    "mentor_id",
    "fit",
    "mentee_rank",
    "mentor_rank",
    "reason",
)


def _rank(rank: int | None) -> str:
    return "" if rank is None else str(rank)


def _why(pair: Pair) -> str:
    mentee = "unranked" if pair.mentee_rank is None else f"choice {pair.mentee_rank}"
    mentor = "unranked" if pair.mentor_rank is None else f"choice {pair.mentor_rank}"
    return f"the mentee's {mentee}, the mentor's {mentor}"


def _rows(reading: Reading) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (
            reading.name,
            p.mentee,
            p.mentor,
            p.fit,
            _rank(p.mentee_rank),
            _rank(p.mentor_rank),
            _why(p),
        )
        for p in reading.pairs
    ]
    for u in reading.unmatched:
        mentee, mentor = (u.person_id, "") if u.side == "mentee" else ("", u.person_id)
        rows.append((reading.name, mentee, mentor, "", "", "", f"unmatched: {u.reason}"))
    return rows


def market_csv(result: MarketResult) -> str:
    rows = [row for reading in result.readings for row in _rows(reading)]
    rows += [
        (
            "max_fit_blocking",
            a,
            b,
            "",
            "",
            "",
            "both would rather be paired together than as max_fit pairs them",
        )
        for a, b in result.blocking_pairs
    ]
    return csv_text(MARKET_COLUMNS, rows)


SWAP_COLUMNS = ("swap", "person_id", "takes_role_of", "rank", "fit", "reason")


def swaps_csv(result: SwapResult) -> str:
    """One row per person who moves (swap number, whose role they take, their rank of it),
    then one per person who keeps their role, with the reason."""
    rows: list[tuple[object, ...]] = []
    for number, swap in enumerate(result.swaps, start=1):
        size = len(swap.members)
        kind = "two-way swap" if size == 2 else f"{size}-way swap"
        for i, person in enumerate(swap.members):
            giver = swap.members[(i + 1) % size]
            rows.append(
                (
                    number,
                    person,
                    giver,
                    swap.ranks[i],
                    swap.fit,
                    f"{kind}: {', '.join(swap.members)}",
                )
            )
    rows += [("", u.person_id, "", "", "", f"unpaired: {u.reason}") for u in result.unpaired]
    return csv_text(SWAP_COLUMNS, rows)


PLACEMENT_COLUMNS = (
    "reading",
    "person_id",
    "placement_id",
    "fit",
    "person_rank",
    "host_rank",
    "reason",
)


def _placement_rows(reading: Reading) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for p in reading.pairs:
        host = "unranked by the host" if p.mentor_rank is None else f"host's choice {p.mentor_rank}"
        rows.append(
            (
                reading.name,
                p.mentee,
                p.mentor,
                p.fit,
                _rank(p.mentee_rank),
                _rank(p.mentor_rank),
                f"the participant's choice {p.mentee_rank}, {host}",
            )
        )
    for u in reading.unmatched:
        person, place = (u.person_id, "") if u.side == "mentee" else ("", u.person_id)
        what = "unplaced" if u.side == "mentee" else "empty"
        rows.append((reading.name, person, place, "", "", "", f"{what}: {u.reason}"))
    return rows


def placements_csv(result: PlacementResult) -> str:
    """Each reading's placements, its unplaced participants and empty placements, then the
    pairs that block the max_fit reading."""
    rows = [row for reading in result.readings for row in _placement_rows(reading)]
    rows += [
        (
            "max_fit_blocking",
            a,
            b,
            "",
            "",
            "",
            "the participant and the host would both rather this than max_fit's allocation",
        )
        for a, b in result.blocking_pairs
    ]
    return csv_text(PLACEMENT_COLUMNS, rows)
