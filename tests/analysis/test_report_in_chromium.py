"""The report opened in headless Chromium, as a reader opens it: every image loads, nothing
errs in the console, the title and each section are there, nothing runs off a 1280 px page."""

from __future__ import annotations

import pytest

from analysis.report import build_report, main

SECTIONS = ["Parameter efficiency and best trials", "Forgetting", "Learning curves",
            "Hyperparameter importance", "All trials"]


def _read(page, html) -> dict:
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return {"title": page.title(),
            "headings": page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)"),
            "images": page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"),
            "page_width": page.evaluate("document.documentElement.scrollWidth")}


@pytest.mark.needs_data
def test_a_smoke_studys_report_in_chromium(smoke_results, page, tmp_path):
    report = build_report("hypercl_splitmnist-smoke", smoke_results, tmp_path / "report")
    shown = _read(page, report.html)
    assert shown["title"] == "hypercl_splitmnist-smoke: study report"
    assert shown["headings"] == SECTIONS
    assert len(shown["images"]) == len(report.figures) and min(shown["images"]) > 0
    assert shown["page_width"] <= 1280  # wide tables scroll inside their box
    assert page.errors == []


@pytest.mark.needs_data
def test_a_comparison_report_in_chromium(smoke_results, page, tmp_path):
    names = ["chunked_mlp_mnist-smoke", "static_hnet_mnist-smoke"]
    assert main([*names, "--results-dir", str(smoke_results), "--out", str(tmp_path)]) == 0
    shown = _read(page, tmp_path / "index.html")
    assert shown["title"] == f"{' vs '.join(names)}: studies compared"
    assert shown["headings"] == ["Studies", "Parameter efficiency", "Learning curves"]
    assert len(shown["images"]) == 2 and min(shown["images"]) > 0
    assert shown["page_width"] <= 1280 and page.errors == []
