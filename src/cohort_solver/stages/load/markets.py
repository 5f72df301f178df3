"""The tables of each ``[[markets]]`` sign-up scheme, every problem at its file:row:column."""

from __future__ import annotations

from typing import Any

from cohort_solver.domain.markets import (
    Exclusion,
    Ranking,
    SignUp,
    SignUpMarket,
    SwapCandidate,
    SwapMarket,
)
from cohort_solver.domain.scenario import MarketSettings, Scenario
from cohort_solver.stages.load.cells import parse_int, parse_list
from cohort_solver.stages.load.columns import Column, _columns
from cohort_solver.stages.load.records import records
from cohort_solver.stages.load.tables import Collector, Table, read_table

SIGNUP_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("role", lambda c: c.strip().lower(), required=True, blank_ok=False),
    Column("capacity", parse_int),
    Column("team"),
    Column("line_manager_id"),
    Column("needs", parse_list),
    Column("expertise", parse_list),
)

SWAP_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("grade_band", required=True, blank_ok=False),
    Column("team"),
    Column("department"),
    Column("line_manager_id"),
)

RANKING_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False),
    Column("partner_id", required=True, blank_ok=False),
    Column("rank", parse_int, required=True, blank_ok=False),
)

EXCLUSION_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False),
    Column("partner_id", required=True, blank_ok=False),
    Column("reason", free_text=True),
)


def load_markets(scenario: Scenario) -> list[SignUpMarket | SwapMarket]:
    """Every declared scheme with its tables; InputError (exit 2) lists every problem."""
    out = Collector()
    found = [_market(scenario, market, out) for market in scenario.settings.markets]
    out.raise_if_any()
    return found


def _market(
    scenario: Scenario, market: MarketSettings, out: Collector
) -> SignUpMarket | SwapMarket:
    swap = market.kind == "swap"
    model, columns = (SwapCandidate, SWAP_COLUMNS) if swap else (SignUp, SIGNUP_COLUMNS)
    table = read_table(scenario.folder, market.signups, out, required=True)
    people = [p for _, p in records(table, model, columns, out)] if table else []
    known = {p.person_id for p in people}
    rankings = _pairs(scenario, market.rankings, Ranking, RANKING_COLUMNS, known, out)
    exclusions = _pairs(scenario, market.exclusions, Exclusion, EXCLUSION_COLUMNS, known, out)
    if swap:
        return SwapMarket(
            name=market.name,
            people=tuple(people),
            rankings=tuple(r for _, r in rankings),
            exclusions=tuple(e for _, e in exclusions),
            cycle_length=market.cycle_length,
            same_department=market.same_department,
            ranks=market.ranks,
        )
    return SignUpMarket(
        name=market.name,
        people=tuple(people),
        rankings=tuple(r for _, r in rankings),
        exclusions=tuple(e for _, e in exclusions),
        open=market.open,
        ranks=market.ranks,
    )


def _pairs(
    scenario: Scenario,
    stem: str | None,
    model: type[Ranking] | type[Exclusion],
    columns: dict[str, Column],
    known: set[str],
    out: Collector,
) -> list[tuple[int, Any]]:
    """A table of (person, partner) rows whose ids must both have signed up: a typo would
    otherwise drop a preference or a declared conflict without a word."""
    if stem is None:
        return []
    table = read_table(scenario.folder, stem, out, required=True)
    if table is None:
        return []
    found = records(table, model, columns, out)
    seen: dict[tuple[str, str], int] = {}
    for row, record in found:
        for column in ("person_id", "partner_id"):
            _known(table, row, column, getattr(record, column), known, out)
        first = seen.setdefault((record.person_id, record.partner_id), row)
        if first != row:
            out.add(
                table.file,
                row,
                table.column("partner_id"),
                f"partner_id: {record.person_id} and {record.partner_id} appear again "
                f"(first on row {first}): keep one row",
            )
    return found


def _known(
    table: Table, row: int, column: str, value: str, known: set[str], out: Collector
) -> None:
    if value not in known:
        out.add(
            table.file,
            row,
            table.column(column),
            f"{column}: {value!r} has not signed up to this scheme",
        )
