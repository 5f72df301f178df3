"""Privacy in feeds (contract: ics/, "Privacy in feeds"): a participant's feed names the
participant and the staff who run their sessions; other participants' names appear only when
the scenario sets ``[feeds] show_cohort_names = true``.

The check reads the feeds back with icalendar and, independently, with ical.js, and looks for
every other participant's name in every text the feed carries; ical.js and the `ical` package both read the feeds back.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cohort_solver.domain.scenario import Scenario
from cohort_solver.errors import InputError
from cohort_solver.stages.export.ics import build_feeds
from cohort_solver.stages.load.scenario import load_scenario
from tests.feeds import write_feeds
from tests.test_ics import (  # noqa: F401 - icaljs, ical_npm and scenario are fixtures
    STAMP,
    _events,
    _ical_parse,
    _icaljs_parse,
    _naming,
    ical_npm,
    icaljs,
    scenario,
)

OXFORD = Path(__file__).parents[1] / "scenarios" / "oxford-2024"


def _unfolded(data: bytes) -> str:
    # Unfold (RFC 5545 3.1) and unescape TEXT so a name split over two lines is still found.
    text = re.sub(r"\r?\n[ \t]", "", data.decode("utf-8"))
    return text.replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n")


def _names_of_others(scenario: Scenario, feeds: dict[str, bytes]) -> dict[str, set[str]]:  # noqa: F811
    """participant feed -> names of other participants it carries."""
    names = {a.applicant_id: a.name for a in scenario.applicants if a.name}
    found: dict[str, set[str]] = {}
    for owner, own_name in names.items():
        data = feeds.get(f"participant-{owner}.ics")
        if data is None:
            continue
        text = _unfolded(data)
        found[owner] = {n for other, n in names.items() if other != owner and n in text}
        found[owner].discard(own_name)  # two people may share a name
    return found


@pytest.mark.slow
def test_no_participant_feed_names_another_participant(
    scenario: Scenario,  # noqa: F811
    icaljs: Path,  # noqa: F811
    ical_npm: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    others = _names_of_others(scenario, feeds)
    assert set(others) == {"P1", "P2"}
    assert all(not names for names in others.values()), others
    # ical.js sees the same: its descriptions carry the count, never another name.
    write_feeds(tmp_path, feeds)
    for parsed in (_icaljs_parse(icaljs, tmp_path), _ical_parse(ical_npm, tmp_path)):
        _no_other_names(parsed)


def _no_other_names(parsed: dict[str, dict]) -> None:
    for owner, other in (("P1", "Tom Baker"), ("P2", "Zoë Ó Súilleabháin")):
        events = parsed[f"participant-{owner}.ics"]["events"]
        assert events
        for item in events:
            assert other not in (item["description"] or ""), item
            assert other not in (item["summary"] or "") + (item["location"] or "")
        assert any("- Participants: 2 (names are not shown" in e["description"] for e in events)


def test_own_name_and_facilitator_are_shown(scenario: Scenario) -> None:  # noqa: F811
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    text = _unfolded(feeds["participant-P2.ics"])
    assert "X-WR-CALNAME:Leadership Pathway 2024 - Tom Baker (participant)" in text
    assert "- Facilitator: Lorna Fitzgerald" in text
    # Their own coaching and review sessions name them (only they attend as participant).
    assert "- Participant: Tom Baker" in text


def test_show_cohort_names_lists_the_cohort(scenario: Scenario) -> None:  # noqa: F811
    feeds = build_feeds(_naming(scenario), _events(), stamp=STAMP)
    others = _names_of_others(scenario, feeds)
    assert others == {"P1": {"Tom Baker"}, "P2": {"Zoë Ó Súilleabháin"}}


def test_one_description_per_event_in_every_feed(scenario: Scenario) -> None:  # noqa: F811
    # Hiding names must not make feeds disagree: an event has one DESCRIPTION everywhere.
    feeds = build_feeds(scenario, _events(), stamp=STAMP)
    seen: dict[str, set[str]] = {}
    for data in feeds.values():
        for block in _unfolded(data).split("BEGIN:VEVENT")[1:]:
            uid = re.search(r"^UID:(.*)$", block, re.M)
            description = re.search(r"^DESCRIPTION:(.*)$", block, re.M)
            assert uid and description
            seen.setdefault(uid.group(1), set()).add(description.group(1))
    assert seen and all(len(texts) == 1 for texts in seen.values())


@pytest.mark.parametrize("value", ['"yes"', "1", '"false"'])
def test_show_cohort_names_is_true_or_false(tmp_path: Path, value: str) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(OXFORD, folder)
    with (folder / "scenario.toml").open("a") as toml:
        toml.write(f"\n[feeds]\nshow_cohort_names = {value}\n")
    with pytest.raises(InputError) as caught:
        load_scenario(folder)
    (problem,) = [p for p in caught.value.problems if "show_cohort_names" in str(p)]
    assert problem.file.endswith("scenario.toml") and problem.row > 1, problem


@pytest.mark.slow
def test_oxford_run_feeds_name_no_other_participant(tmp_path: Path) -> None:
    from cohort_solver.pipeline import Options, run

    out = tmp_path / "out"
    run(OXFORD, out, Options())
    oxford = load_scenario(OXFORD)
    feeds = {p.name: p.read_bytes() for p in (out / "ics").glob("*.ics")}
    others = _names_of_others(oxford, feeds)
    assert len(others) == 12
    assert all(not names for names in others.values()), others
