"""The one HTML page shell of every report: report.html, compare.html and robustness.html."""

from __future__ import annotations

from html import escape


def page(title: str, style: str, body: str) -> str:
    """A complete page: ``title`` is plain text (escaped here), ``style`` CSS, ``body`` HTML."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{style}</style></head>"
        f"<body>{body}</body></html>\n"
    )
