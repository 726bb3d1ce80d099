"""Writing a table as CSV and Markdown, and formatting numbers for people."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""
    header = "| " + " | ".join(str(c) for c in table.columns) + " |"
    align = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(table[c]) else "---"
                           for c in table.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |"
            for row in table.itertuples(index=False)]
    return "\n".join([header, align, *rows]) + "\n"


def write_table(table: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``<name>.csv`` and ``<name>.md`` under ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, md = folder / f"{name}.csv", folder / f"{name}.md"
    table.to_csv(csv, index=False)
    md.write_text(to_markdown(table))
    return [csv, md]


def to_html(table: pd.DataFrame) -> str:
    """The table as an HTML fragment with the same number formatting as the Markdown."""
    shown = table.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(_cell)
    return shown.to_html(index=False, border=0, classes="table", escape=True)
