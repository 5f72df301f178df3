"""``publish``: put the feeds of ``ics/`` on a CalDAV server (RFC 4791), writing only what changed.

Each feed becomes one calendar collection in the principal's calendar home, named after the
feed file (``participant-A001.ics`` -> ``participant-A001/``) and shown under the feed's
``X-WR-CALNAME``. Each VEVENT becomes one calendar object (``<sha256 of the UID>.ics``: a UID
may hold characters a URL path must not), with the feed's VTIMEZONE and no ``METHOD`` (RFC 4791
4.1). The feeds already carry the right SEQUENCE and STATUS (the export decides them, one
version per event in every feed), so publishing never changes them: objects are saved with
``increase_seqno=False``, where the ``caldav`` package would otherwise bump SEQUENCE on every
save.

Minimal and idempotent: the server is read first, and an object is written only when the
digest of its event (``X-COHORT-SOLVER-DIGEST``, written with it) differs from the one on the
server. An object on the server that the feed no longer holds (an event its owner no longer
attends) is deleted. A second publish with nothing changed sends no writes. Each object is one
PUT, so a publish stopped part-way leaves every object either old or new, and the next publish
finds and writes the rest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import icalendar

from cohort_solver.errors import PublishError
from cohort_solver.stages.export.ics import PRODID

DIGEST_PROPERTY = "X-COHORT-SOLVER-DIGEST"
_DIGEST = re.compile(r"^X-COHORT-SOLVER-DIGEST:([0-9a-f]{64})\r?$", re.M)


@dataclass
class Published:
    """What one publish did, for the coordinator and the tests."""

    created: list[str] = field(default_factory=list)  # "collection/UID"
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    collections_made: list[str] = field(default_factory=list)
    collections_renamed: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return (
            len(self.created)
            + len(self.updated)
            + len(self.deleted)
            + len(self.collections_made)
            + len(self.collections_renamed)
        )

    def summary(self) -> str:
        return (
            f"{len(self.created)} events created, {len(self.updated)} updated, "
            f"{len(self.deleted)} removed, {self.unchanged} unchanged; "
            f"{len(self.collections_made)} calendars made, "
            f"{len(self.collections_renamed)} renamed"
        )


@dataclass(frozen=True)
class CalendarObject:
    """One event as it goes to the server: its UID, the object's file name, bytes, digest."""

    uid: str
    href: str
    data: bytes
    digest: str


def object_name(uid: str) -> str:
    return f"{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.ics"


def calendar_objects(feed: bytes) -> tuple[str, list[CalendarObject]]:
    """The feed's display name (unescaped) and one calendar object per VEVENT."""
    calendar = icalendar.Calendar.from_ical(feed)
    raw_name = str(calendar.get("X-WR-CALNAME", ""))
    display = re.sub(r"\\([\\;,])", r"\1", raw_name)  # TEXT, as the export escaped it
    zones = list(calendar.walk("VTIMEZONE"))
    objects = []
    for vevent in calendar.walk("VEVENT"):
        uid = str(vevent["UID"])
        digest = hashlib.sha256(vevent.to_ical()).hexdigest()
        vevent.add(DIGEST_PROPERTY.lower(), digest)
        single = icalendar.Calendar()
        single.add("prodid", PRODID)
        single.add("version", "2.0")
        for zone in zones:
            single.add_component(zone)
        single.add_component(vevent)
        objects.append(CalendarObject(uid, object_name(uid), single.to_ical(), digest))
    return display, objects


Progress = Callable[[str], None]


def publish_feeds(
    feeds: Mapping[str, bytes],
    url: str,
    username: str | None = None,
    password: str | None = None,
    progress: Progress | None = None,
) -> Published:
    """Bring the server at ``url`` (a CalDAV principal or calendar home) in line with ``feeds``.

    Raises ``PublishError`` with what was written and what was not when the server fails.
    """
    # Imported here: only publish needs the CalDAV client (and its HTTP stack).
    from caldav.davclient import DAVClient
    from caldav.elements import dav

    say = progress or (lambda _: None)
    done = Published()
    try:
        client = DAVClient(
            url=url, username=username, password=password, require_tls=url.startswith("https:")
        )
        principal = client.principal()  # type: ignore[no-untyped-call]  # caldav 3 leaves it unannotated
        existing = {_collection_id(str(c.url)): c for c in principal.calendars()}
        for name in sorted(feeds):
            collection_id = name.removesuffix(".ics")
            display, objects = calendar_objects(feeds[name])
            calendar = existing.get(collection_id)
            if calendar is None:
                calendar = principal.make_calendar(name=display, cal_id=collection_id)
                done.collections_made.append(collection_id)
            elif calendar.get_display_name() != display:
                calendar.set_properties([dav.DisplayName(display)])
                done.collections_renamed.append(collection_id)
            _sync_collection(client, calendar, collection_id, objects, done)
            say(f"published {name}")
    except PublishError:
        raise
    except Exception as exc:  # caldav, niquests and the server fail in many ways
        raise PublishError(_failure(url, exc, done)) from None
    return done


def _collection_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _sync_collection(
    client: Any,
    calendar: Any,
    collection_id: str,
    objects: list[CalendarObject],
    done: Published,
) -> None:
    """Create, update and delete the objects of one collection so it holds ``objects``."""
    from caldav.calendarobjectresource import Event

    on_server: dict[str, tuple[Any, str | None]] = {}
    for resource in calendar.events():
        on_server[_collection_id(str(resource.url))] = (resource, _digest_of(resource))
    wanted = {obj.href: obj for obj in objects}
    for href, obj in sorted(wanted.items()):
        found = on_server.get(href)
        if found is not None and found[1] == obj.digest:
            done.unchanged += 1
            continue
        event = Event(
            client=client, url=calendar.url.join(href), data=obj.data.decode(), parent=calendar
        )
        event.save(increase_seqno=False)
        (done.created if found is None else done.updated).append(f"{collection_id}/{obj.uid}")
    for href, (resource, _) in sorted(on_server.items()):
        if href not in wanted:
            resource.delete()
            done.deleted.append(f"{collection_id}/{href}")


def _digest_of(resource: Any) -> str | None:
    if resource.data is None:  # some listings come without the object's data: fetch it
        resource.load()
    data = resource.data
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
    text = re.sub(r"\r?\n[ \t]", "", text)  # unfold
    found = _DIGEST.search(text)
    return found.group(1) if found else None


def _failure(url: str, exc: Exception, done: Published) -> str:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    if "401" in reason or "Unauthorized" in reason:
        reason = "the server refused the user name or password (401)"
    return (
        f"publish to {url} stopped part-way: {reason}\n"
        f"  written before it stopped: {done.summary()}\n"
        "  nothing is lost: run publish again once the server is back; it writes only what "
        "is still missing or out of date"
    )
