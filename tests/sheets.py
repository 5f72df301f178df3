"""xlsx files written as Excel would: typed cells, hidden sheets, formulas with or without a
saved result (openpyxl itself never saves one, so the sheet XML is patched for that)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl


def write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], **options: Any
) -> None:
    path.write_bytes(xlsx_bytes(header, rows, **options))


def xlsx_bytes(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    hidden_first: Sequence[Sequence[Any]] | None = None,
    every_sheet_hidden: bool = False,
    saved: Mapping[str, str] | None = None,
) -> bytes:
    """A workbook of ``header`` and ``rows`` (strings starting '=' are formulas).

    ``hidden_first``: rows of a stale hidden sheet placed before it. ``saved``: a saved result
    (text) for formula cells, by reference such as ``"J2"``.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if hidden_first is not None:
        sheet.title = "Old copy"
        for row in hidden_first:
            sheet.append(list(row))
        sheet.sheet_state = "hidden"
        sheet = book.create_sheet("Current")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    for ref, value in (saved or {}).items():
        # openpyxl writes a formula as <f>..</f><v/>; Excel stores its result in <v>.
        data = _patched(
            data,
            "xl/worksheets/sheet",
            # openpyxl writes an empty <v/>, or <v></v> when lxml is installed (caldav needs it)
            rf'<c r="{ref}"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)',
            rf'<c r="{ref}"\1 t="str"><f>\2</f><v>{value}</v>',
        )
    if every_sheet_hidden:  # Excel never saves this, but a script can; openpyxl refuses to
        data = _patched(data, "xl/workbook.xml", r'state="visible"', 'state="hidden"')
    return data


def _patched(data: bytes, member: str, pattern: str, replacement: str) -> bytes:
    """``data`` with one regex replacement in the zip members whose names start ``member``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    found = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith(member):
                text, count = re.subn(pattern, replacement, content.decode())
                found += count
                content = text.encode()
            archive.writestr(item, content)
    assert found, (member, pattern)
    return target.getvalue()


def csv_as_xlsx(
    folder: Path,
    stem: str,
    cell: Callable[[str, str], Any] = lambda column, text: text,
    **options: Any,
) -> None:
    """Replace ``stem.csv`` by ``stem.xlsx``; ``cell(column, text)`` gives each typed value."""
    source = folder / f"{stem}.csv"
    header, *rows = list(csv.reader(source.read_text(encoding="utf-8").splitlines()))
    typed = [[cell(c, t) for c, t in zip(header, row, strict=True)] for row in rows]
    source.unlink()
    write_xlsx(folder / f"{stem}.xlsx", header, typed, **options)
