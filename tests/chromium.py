"""Headless Chromium for the tests that look at a page as a reader does: Debian's ``chromium``
(``$HNET_CHROMIUM``, else ``/usr/bin/chromium``) driven by Playwright, no browser download.

Skipped where there is no Chromium, unless ``HNET_REQUIRE_BROWSER=1`` (CI installs it and sets
it). A page records its console errors and uncaught exceptions in ``page.errors``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: As the machine notes advise: no sandbox (root), no GPU, and none of Chromium's background
#: connections, which a closed network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    path = os.environ.get("HNET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        message = f"no Chromium at {path} (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("HNET_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def chromium():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    """A 1280 x 900 page that collects console errors and page errors in ``page.errors``."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    yield page
    context.close()
