"""The report's single HTML page: figures embedded as PNG data, tables inline, no links out."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta td { padding: 0 1.2em 0 0; } .note { background: #fff6d6; padding: .6em 1em; }
.table { border-collapse: collapse; font-size: .85em; margin: .6em 0; }
.table th, .table td { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: right; }
.table th { background: #f4f4f4; } figure { margin: 1em 0; } img { max-width: 100%; }
.scroll { overflow-x: auto; max-width: 100%; }
figcaption { font-size: .85em; color: #555; }
"""


@dataclass
class Section:
    """A heading with figures (PNG paths and captions), tables (HTML) and notes."""

    title: str
    figures: list[tuple[Path, str]] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _figure(png: Path, caption: str) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)} (files: {html.escape(png.name)}, "
            f"{html.escape(png.with_suffix('.svg').name)})</figcaption></figure>")


def render(title: str, meta: dict[str, str], notes: list[str], sections: list[Section]) -> str:
    """The page: title, the study's metadata, notes, then each section in order."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                   for k, v in meta.items())
    body = [f"<h1>{html.escape(title)}</h1>", f'<table class="meta">{rows}</table>']
    body += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
        body += [_figure(png, caption) for png, caption in section.figures]
        for caption, table in section.tables:  # wide tables scroll instead of running off
            body.append(f'<p><b>{html.escape(caption)}</b></p><div class="scroll">{table}</div>')
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")
