"""``serve``: the feeds of ``--out/ics`` for subscription, each behind its own secret token.

A person's feed is at ``/feeds/<token>.ics`` and report.html at ``/report/<token>``; nothing
else answers (404), so nothing can be listed or guessed. Tokens are random (``secrets``,
192 bits), kept in ``--out/tokens.csv`` (0600) so they survive re-plans, and revocable. A URL
is looked up in a table of tokens, never joined onto a path, so ``..`` cannot reach a file.

Polling is cheap: every answer has a strong ``ETag`` (sha256 of the bytes) and
``Last-Modified``; a matching ``If-None-Match`` gets ``304``. The output folder is re-read when
it changes (``run`` swaps in a new folder: its inode changes), without a restart.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

from cohort_solver.domain.scenario import Scenario
from cohort_solver.stages.export.files import csv_text, read_csv_rows
from cohort_solver.stages.export.ics import safe_names

TOKENS_FILE = "tokens.csv"
TOKEN_COLUMNS = ("file", "token", "revoked")
LINKS_FILE = "links.csv"
LINK_COLUMNS = ("person_id", "name", "email", "role", "feed_file", "subscription_url")
REPORT = "report.html"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


@dataclass(frozen=True)
class Token:
    file: str  # "ics/participant-A001.ics" or "report.html"
    token: str
    revoked: bool = False


def read_tokens(out: Path) -> list[Token]:
    path = out / TOKENS_FILE
    if not path.exists():
        return []
    return [
        Token(row["file"], row["token"], row.get("revoked", "") == "yes")
        for row in read_csv_rows(path)
        if _TOKEN.fullmatch(row.get("token", ""))
    ]


def tokens_for(
    files: Iterable[str], known: Sequence[Token], revoke: Iterable[str] = ()
) -> list[Token]:
    """Every file's token: the known one kept (stable across re-plans), a new one for a new
    file; a revoked file keeps its dead token, so the URL never works again."""
    by_file = {token.file: token for token in known}
    revoked = set(revoke)
    result = []
    for file in sorted(set(files) | set(by_file)):
        token = by_file.get(file) or Token(file, new_token())
        if file in revoked:
            token = Token(file, token.token, revoked=True)
        result.append(token)
    return result


def tokens_csv(tokens: Sequence[Token]) -> str:
    return csv_text(TOKEN_COLUMNS, ((t.file, t.token, "yes" if t.revoked else "") for t in tokens))


def feed_url(base_url: str, token: Token) -> str:
    if token.file == REPORT:
        return f"{base_url.rstrip('/')}/report/{token.token}"
    return f"{base_url.rstrip('/')}/feeds/{token.token}.ics"


# --------------------------------------------------------------------------- links.csv


def _owners(scenario: Scenario) -> dict[str, tuple[str, str, str, str]]:
    """Feed file -> (person id, name, e-mail, role), for every feed a scenario can have."""
    kinds: dict[str, dict[str, tuple[str, str, str]]] = {
        "participant": {
            a.applicant_id: (a.name, a.email, "participant") for a in scenario.applicants
        },
        "coach": {c.coach_id: (c.name, c.email, "coach") for c in scenario.coaches},
        "person": {
            **{m.mentor_id: (m.name, m.email, "mentor") for m in scenario.mentors},
            **{p.person_id: (p.name, p.email, p.role or "attendee") for p in scenario.people},
        },
        "venue": {v.venue_id: (v.name, "", "venue") for v in scenario.venues},
        "cohort": {c.id: (f"cohort {c.id}", "", "cohort") for c in scenario.cohorts},
    }
    owners: dict[str, tuple[str, str, str, str]] = {}
    for kind, people in kinds.items():
        names = safe_names(people)
        for owner, (name, email, role) in people.items():
            for stem in {owner, names[owner]}:
                owners[f"ics/{kind}-{stem}.ics"] = (owner, name or owner, email, role)
    return owners


def links_csv(scenario: Scenario, tokens: Sequence[Token], base_url: str) -> str:
    """``links.csv``: one row per feed, for a mail merge; a revoked feed has no URL."""
    owners = _owners(scenario)
    rows = []
    for token in tokens:
        if token.file == REPORT:
            continue
        person_id, name, email, role = owners.get(token.file, ("", "", "", ""))
        url = "" if token.revoked else feed_url(base_url, token)
        rows.append((person_id, name, email, role, token.file, url))
    return csv_text(LINK_COLUMNS, rows)


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class _Served:
    data: bytes
    etag: str
    modified: float
    media_type: str


class Feeds:
    """The token table and the files behind it, re-read when ``out`` is replaced or touched."""

    def __init__(self, out: Path):
        self.out = out
        self._state: tuple[int, int, int] | None = None
        self._by_token: dict[str, _Served] = {}

    def _current(self) -> tuple[int, int, int]:
        folder = os.stat(self.out)
        tokens = os.stat(self.out / TOKENS_FILE)
        return folder.st_ino, folder.st_mtime_ns, tokens.st_mtime_ns

    def lookup(self, token: str) -> _Served | None:
        state = self._current()
        if state != self._state:
            self._by_token = self._load()
            self._state = state
        return self._by_token.get(token)

    def _load(self) -> dict[str, _Served]:
        served: dict[str, _Served] = {}
        for token in read_tokens(self.out):
            path = self.out / token.file
            if token.revoked or not path.is_file():
                continue
            data = path.read_bytes()
            media = "text/html; charset=utf-8" if token.file == REPORT else "text/calendar"
            served[token.token] = _Served(
                data, f'"{hashlib.sha256(data).hexdigest()}"', path.stat().st_mtime, media
            )
        return served


def app(out: Path) -> Any:
    """The Starlette application serving ``out``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    feeds = Feeds(out)
    not_found = PlainTextResponse("not found", status_code=404)

    def answer(request: Request, served: _Served | None, report: bool) -> Response:
        if served is None or (served.media_type.startswith("text/html") != report):
            return not_found
        headers = {
            "ETag": served.etag,
            "Last-Modified": formatdate(served.modified, usegmt=True),
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        if _not_modified(request.headers, served):
            return Response(status_code=304, headers=headers)
        return Response(served.data, media_type=served.media_type, headers=headers)

    async def feed(request: Request) -> Response:
        token = request.path_params["token"]
        return answer(request, feeds.lookup(token) if _TOKEN.fullmatch(token) else None, False)

    async def report(request: Request) -> Response:
        token = request.path_params["token"]
        return answer(request, feeds.lookup(token) if _TOKEN.fullmatch(token) else None, True)

    async def nothing(request: Request, exc: Exception) -> Response:
        return not_found  # the same plain 404 for a wrong path, method or token

    routes = [
        Route("/feeds/{token}.ics", feed, methods=["GET", "HEAD"]),
        Route("/report/{token}", report, methods=["GET", "HEAD"]),
    ]
    served = Starlette(routes=routes, exception_handlers={404: nothing, 405: nothing})
    served.router.redirect_slashes = False  # a redirect would tell a prober the token is good
    return served


def _not_modified(headers: Mapping[str, str], served: _Served) -> bool:
    match = headers.get("if-none-match")
    if match is not None:
        return served.etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= int(served.modified)
        except (TypeError, ValueError):
            return False
    return False
