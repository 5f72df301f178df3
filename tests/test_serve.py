"""``serve`` and links.csv (contract section 4, "Serving feeds").

Each feed answers only at its own secret URL; everything else (unknown or revoked tokens,
paths that try to climb out, the folder itself) is the same plain 404. ETag and 304 keep
polling cheap, and a re-plan is served without a restart. One test starts the real command
(uvicorn) on 127.0.0.1 and polls it over HTTP.
"""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from cohort_solver import pipeline
from cohort_solver.stages.export.files import output_folder
from cohort_solver.stages.export.serve import app, read_tokens
from cohort_solver.stages.load.scenario import load_scenario
from tests.test_publish import _export, _v1, _v3

BASE = "https://calendars.example.org"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = _export(tmp_path, _v1())
    with output_folder(folder) as staging:
        (staging / "report.html").write_text("<html>panel report</html>", encoding="utf-8")
    return folder


def _links(tmp_path: Path, out: Path, *revoke: str) -> dict[str, str]:
    """feed file -> subscription URL, from links.csv."""
    pipeline.links(load_scenario(tmp_path / "scenario"), out, BASE, revoke)
    rows = csv.DictReader(io.StringIO((out / "links.csv").read_text(encoding="utf-8")))
    return {row["feed_file"]: row["subscription_url"] for row in rows}


def _path(url: str) -> str:
    return url.removeprefix(BASE)


def test_links_csv_names_each_person_and_their_secret_url(tmp_path: Path, out: Path) -> None:
    pipeline.links(load_scenario(tmp_path / "scenario"), out, BASE)
    text = (out / "links.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["person_id", "name", "email", "role", "feed_file", "subscription_url"]
    by_file = {row["feed_file"]: row for row in rows}
    assert set(by_file) == {f"ics/{p.name}" for p in (out / "ics").glob("*.ics")}
    a001 = by_file["ics/participant-A001.ics"]
    assert (a001["person_id"], a001["name"], a001["role"]) == (
        "A001",
        "Priya Sharma",
        "participant",
    )
    assert a001["email"] == "priya.sharma@oxford.gov.uk"
    assert by_file["ics/coach-CO1.ics"]["role"] == "coach"
    urls = [row["subscription_url"] for row in rows]
    assert len(set(urls)) == len(urls)
    assert all(
        url.startswith(f"{BASE}/feeds/") and len(url) == len(BASE) + 7 + 32 + 4 for url in urls
    )
    assert "A001" not in "".join(urls)  # nothing guessable from the person
    assert (out / "links.csv").stat().st_mode & 0o777 == 0o600
    assert (out / "tokens.csv").stat().st_mode & 0o777 == 0o600


@pytest.mark.slow
def test_tokens_are_stable_across_replans_and_revocable(tmp_path: Path, out: Path) -> None:
    first = _links(tmp_path, out)
    _export(tmp_path, _v3())  # A003 withdraws: a re-plan over the same folder
    second = _links(tmp_path, out)
    assert second == first
    revoked = _links(tmp_path, out, "ics/participant-A003.ics")
    assert revoked["ics/participant-A003.ics"] == ""
    assert {k: v for k, v in revoked.items() if "A003" not in k} == {
        k: v for k, v in first.items() if "A003" not in k
    }
    # Revoked stays revoked on later runs, with the same dead token.
    assert _links(tmp_path, out)["ics/participant-A003.ics"] == ""
    (dead,) = [t for t in read_tokens(out) if t.revoked]
    assert first["ics/participant-A003.ics"].endswith(f"/{dead.token}.ics")


def test_a_feed_is_served_with_etag_and_304(tmp_path: Path, out: Path) -> None:
    links = _links(tmp_path, out)
    client = TestClient(app(out))
    url = _path(links["ics/participant-A001.ics"])
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.content == (out / "ics" / "participant-A001.ics").read_bytes()
    assert answer.headers["content-type"].startswith("text/calendar")
    etag = answer.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    since = client.get(url, headers={"If-Modified-Since": answer.headers["last-modified"]})
    assert since.status_code == 304
    assert client.head(url).status_code == 200


def test_unknown_revoked_and_climbing_urls_are_the_same_404(tmp_path: Path, out: Path) -> None:
    links = _links(tmp_path, out, "ics/participant-A003.ics")
    dead = [t for t in read_tokens(out) if t.revoked][0].token
    report = [t for t in read_tokens(out) if t.file == "report.html"][0].token
    feed = _path(links["ics/participant-A001.ics"])
    client = TestClient(app(out))
    paths = [
        f"/feeds/{dead}.ics",  # revoked
        "/feeds/" + "A" * 32 + ".ics",  # well-formed, unknown
        "/feeds/participant-A001.ics",
        "/",
        "/feeds/",
        "/ics/",
        "/ics/participant-A001.ics",
        "/tokens.csv",
        "/links.csv",
        "/report.html",
        "/feeds/..%2Ftokens.csv",
        "/feeds/%2e%2e/tokens.csv",
        "/feeds/../tokens.csv",
        "/report/../ics/participant-A001.ics",
        f"/report/{feed.split('/')[-1].removesuffix('.ics')}",  # a feed token is no report token
        f"/feeds/{report}.ics",  # and the report's token opens no feed
        feed + "/",
    ]
    answers = {path: client.get(path) for path in paths}
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(paths, 404)
    assert {a.content for a in answers.values()} == {b"not found"}
    assert client.post(feed).status_code == 404
    assert client.get(f"/report/{report}").content == b"<html>panel report</html>"


def test_a_replan_is_served_without_a_restart(tmp_path: Path, out: Path) -> None:
    links = _links(tmp_path, out)
    client = TestClient(app(out))
    url = _path(links["ics/participant-A003.ics"])
    before = client.get(url)
    _export(tmp_path, _v3())  # a re-plan swaps in a new folder
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.content == (out / "ics" / "participant-A003.ics").read_bytes() != before.content
    assert b"STATUS:CANCELLED" in after.content


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_the_serve_command_answers_over_http(tmp_path: Path, out: Path) -> None:
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "cohort-solver"),
        "serve",
        str(tmp_path / "scenario"),
    ]
    command += ["--out", str(out), "--port", str(port), "--quiet"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr
                time.sleep(0.2)
        rows = csv.DictReader(io.StringIO((out / "links.csv").read_text(encoding="utf-8")))
        url = {r["feed_file"]: r["subscription_url"] for r in rows}["ics/cohort-main.ics"]
        assert url.startswith(f"http://127.0.0.1:{port}/feeds/")
        answer = httpx.get(url)
        assert answer.status_code == 200 and answer.content.startswith(b"BEGIN:VCALENDAR")
        cached = httpx.get(url, headers={"If-None-Match": answer.headers["etag"]})
        assert cached.status_code == 304
        assert httpx.get(f"http://127.0.0.1:{port}/feeds/").status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
