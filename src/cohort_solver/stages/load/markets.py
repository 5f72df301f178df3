"""The tables of each ``[[markets]]`` sign-up scheme, every problem at its file:row:column."""

from __future__ import annotations

from datetime import date
from typing import Any

from cohort_solver.domain.markets import (
    Exclusion,
    Placement,
    PlacementCandidate,
    PlacementMarket,
    Ranking,
    SignUp,
    SignUpMarket,
    SwapCandidate,
    SwapMarket,
)
from cohort_solver.domain.scenario import MarketSettings, Scenario
from cohort_solver.stages.load.cells import parse_date, parse_int, parse_list, parse_yes_no
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

PLACEMENT_CANDIDATE_COLUMNS = _columns(
    Column("person_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("grade_band", required=True, blank_ok=False),
    Column("skills", parse_list),
    Column("locations", parse_list),
    Column("available_from", parse_date),
    Column("available_to", parse_date),
)

PLACEMENT_COLUMNS = _columns(
    Column("placement_id", required=True, blank_ok=False, key=True),
    Column("name", free_text=True),
    Column("host", free_text=True),
    Column("capacity", parse_int),
    Column("grade_bands", parse_list),
    Column("skills", parse_list),
    Column("location"),
    Column("start", parse_date),
    Column("end", parse_date),
    Column("full_time", parse_yes_no),
    Column("released_for_programme", parse_yes_no),
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


Market = SignUpMarket | SwapMarket | PlacementMarket


def load_markets(scenario: Scenario) -> list[Market]:
    """Every declared scheme with its tables; InputError (exit 2) lists every problem."""
    out = Collector()
    found = [_market(scenario, market, out) for market in scenario.settings.markets]
    out.raise_if_any()
    return found


def _market(scenario: Scenario, market: MarketSettings, out: Collector) -> Market:
    if market.kind == "placement":
        return _placement_market(scenario, market, out)
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
    side: set[str] | None = None,
) -> list[tuple[int, Any]]:
    """A table of (person, partner) rows whose ids must both have signed up: a typo would
    otherwise drop a preference or a declared conflict without a word. With ``side`` (the
    participants of a placement scheme), each row must join one of them and one placement:
    two participants would be a preference nothing can honour."""
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
        if side is not None and (record.person_id in side) == (record.partner_id in side):
            out.add(
                table.file,
                row,
                table.column("partner_id"),
                f"partner_id: {record.person_id} and {record.partner_id} are not a participant "
                "and a placement",
            )
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


def _placement_market(
    scenario: Scenario, market: MarketSettings, out: Collector
) -> PlacementMarket:
    """Participants, placements, and rankings either way: a participant's of a placement, or
    a host's (person_id = the placement) of a participant."""
    table = read_table(scenario.folder, market.signups, out, required=True)
    found = records(table, PlacementCandidate, PLACEMENT_CANDIDATE_COLUMNS, out) if table else []
    people = [p for _, p in found]
    hosts = read_table(scenario.folder, market.placements or "", out, required=True)
    offered = records(hosts, Placement, PLACEMENT_COLUMNS, out) if hosts else []
    placements = [p for _, p in offered]
    ids = {p.person_id for p in people}
    if hosts is not None:
        for row, placement in offered:
            _placement_problems(hosts, row, placement, ids, out)
    for row, person in found:
        if table and person.available_from and person.available_to:
            _in_order(table, row, "available_to", person.available_from, person.available_to, out)
    known = ids | {p.placement_id for p in placements}
    rankings = _pairs(scenario, market.rankings, Ranking, RANKING_COLUMNS, known, out, ids)
    return PlacementMarket(
        name=market.name,
        people=tuple(people),
        placements=tuple(placements),
        rankings=tuple(r for _, r in rankings),
        ranks=market.ranks,
        adopt=market.adopt,
        sessions_during_placements=market.sessions_during_placements,
    )


def _placement_problems(
    hosts: Table, row: int, placement: Placement, people: set[str], out: Collector
) -> None:
    if placement.placement_id in people:
        out.add(
            hosts.file,
            row,
            hosts.column("placement_id"),
            f"placement_id: {placement.placement_id!r} is also a participant's id: "
            "rankings could not tell them apart",
        )
    if placement.start and placement.end:
        _in_order(hosts, row, "end", placement.start, placement.end, out)
    elif placement.full_time:
        out.add(
            hosts.file,
            row,
            hosts.column("full_time"),
            "full_time: a full-time placement needs its start and end dates, so the calendar "
            "can keep those days free",
        )


def _in_order(table: Table, row: int, column: str, first: date, last: date, out: Collector) -> None:
    """A date range that ends before it starts is a typing slip, never a placement."""
    if last < first:
        out.add(table.file, row, table.column(column), f"{column}: {last} is before {first}")
