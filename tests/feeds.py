"""Feeds on disk as an earlier export left them, for the tests (the tool itself writes its
feeds only through --out, in stages/export/write.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_feeds(folder: Path, feeds: Mapping[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in feeds.items():
        if Path(name).name != name:  # a feed name must never reach outside its folder
            raise ValueError(f"unsafe feed file name {name!r}")
        (folder / name).write_bytes(data)
