"""Every page in real headless Chromium against `streamlit run app.py` on the simulated account."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot_dir

pytestmark = pytest.mark.browser

EXCEPTION_TEXT = re.compile(r"Traceback|Exception:|Error:|Page not found", re.I)


def wait_for_app(page, *, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    # The script has finished when Streamlit's status widget no longer says it is running.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def test_functions_page_renders_the_demo_account(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Demo data").first.wait_for(timeout=30_000)
    page.get_by_role("heading", name="Functions").wait_for(timeout=30_000)
    grid = page.locator('[data-testid="stDataFrame"]')
    grid.first.wait_for(timeout=60_000)
    page.screenshot(path=str(screenshot_dir() / "functions.png"), full_page=True)
    body = page.locator("body").inner_text()
    assert not EXCEPTION_TEXT.search(body), body[:2000]
    assert "48 functions" in body


def test_deep_link_filters_region(page, app_url):
    page.goto(f"{app_url}/?region=eu-west-1&range=7d")
    wait_for_app(page)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    body = page.locator("body").inner_text()
    assert "(7d)" in body
    assert not EXCEPTION_TEXT.search(body)
    page.screenshot(path=str(screenshot_dir() / "functions-eu-west-1-7d.png"), full_page=True)
