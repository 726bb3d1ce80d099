"""optuna-dashboard's study page in headless Chromium: the study's name and its objective's
name are on the page, and nothing errs in the console."""

from __future__ import annotations

import pytest

from tests.studies.test_dashboard import _dashboard


@pytest.mark.needs_data
def test_the_dashboards_study_page_in_chromium(smoke_results, page):
    name, objective = "hypercl_splitmnist-smoke", "final_acc"
    with _dashboard(f"journal:///{smoke_results / 'optuna.journal'}") as get:
        summaries = get("/api/studies")["study_summaries"]
        study_id = next(s["study_id"] for s in summaries if s["study_name"] == name)
        origin = get.origin  # type: ignore[attr-defined]
        page.goto(f"{origin}/dashboard/studies/{study_id}")
        page.wait_for_function(
            "([name, objective]) => document.body.innerText.includes(name)"
            " && document.body.innerText.includes(objective)", arg=[name, objective],
            timeout=30000)
        page.wait_for_load_state("networkidle")
    assert page.errors == []
