"""Where a report goes: its figures (PNG and SVG, described in ``report.json``) and tables
(CSV and Markdown) under one folder, and what was written."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import matplotlib.pyplot as plt
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analysis._html import Section
from analysis._tables import to_html, write_table


def describe(fig: Figure) -> list[dict]:
    """What each axes of ``fig`` shows: title, labels, scales, and how many scatter points,
    lines (and the points of each) and bars it draws."""
    shown = []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        points = sum(len(cast(Sized, c.get_offsets())) for c in ax.collections
                     if isinstance(c, PathCollection))
        drawn = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "")]
        bars = sum(1 for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0
                   and p.get_width() > 0)
        shown.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                      "ylabel": ax.get_ylabel(), "xscale": ax.get_xscale(), "points": points,
                      "lines": len(drawn),
                      "line_points": [len(cast(Sized, line.get_xdata())) for line in drawn],
                      "bars": bars})
    return shown


@dataclass
class Report:
    """What :func:`build_report` wrote."""

    folder: Path
    html: Path
    figures: dict[str, list[dict]] = field(default_factory=dict)
    tables: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Output:
    """Saves figures and tables under the report folder and keeps their manifest."""

    def __init__(self, folder: Path) -> None:
        self.report = Report(folder, folder / "index.html")
        (folder / "figures").mkdir(parents=True, exist_ok=True)

    def figure(self, section: Section, name: str, fig: Figure, caption: str) -> None:
        png = self.report.folder / "figures" / f"{name}.png"
        fig.savefig(png, dpi=150)
        fig.savefig(png.with_suffix(".svg"))
        self.report.figures[name] = describe(fig)
        plt.close(fig)
        section.figures.append((png, caption))

    def table(self, section: Section, name: str, frame, caption: str) -> None:
        csv, _ = write_table(frame, self.report.folder / "tables", name)
        self.report.tables[name] = csv
        section.tables.append((caption, to_html(frame)))
