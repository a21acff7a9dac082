"""Every page in real headless Chromium against `streamlit run app.py` on the simulated account."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot_dir

pytestmark = pytest.mark.browser

EXCEPTION_TEXT = re.compile(r"Traceback|Exception:|Error:|Page not found", re.I)
FN = "demo/us-east-1/payments-checkout-api"


def wait_for_app(page, *, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_ms)
    # The script has finished when Streamlit's "running" status widget is gone.
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def body_text(page) -> str:
    return page.locator("body").inner_text()


def assert_clean(page) -> None:
    text = body_text(page)
    assert not EXCEPTION_TEXT.search(text), text[:3000]
    assert page.locator('[data-testid="stException"]').count() == 0


def plotly_drawn(page, *, timeout_ms: int = 60_000) -> int:
    """Wait until plotly has drawn at least one chart (its SVG with data traces); how many."""
    page.wait_for_selector(".js-plotly-plot .main-svg .trace", timeout=timeout_ms)
    return page.locator(".js-plotly-plot").count()


def shot(page, name: str) -> None:
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), full_page=True)


def test_overview(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
    page.get_by_text("Demo data").first.wait_for()
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    # the tiles are drawn early (progressive page): the alerts section comes with the finished page
    page.get_by_role("heading", name="Alerts firing").wait_for(timeout=90_000)
    assert_clean(page)
    assert page.locator('[data-testid="stMetric"]').count() >= 5
    shot(page, "overview")


def test_functions_list(page, app_url):
    page.goto(f"{app_url}/functions")
    wait_for_app(page)
    page.get_by_role("heading", name="Functions").wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    assert_clean(page)
    assert "48 functions" in body_text(page)
    shot(page, "functions")


def test_deep_link_to_one_function_draws_its_charts(page, app_url):
    page.goto(f"{app_url}/functions?fn={FN}&range=24h")
    wait_for_app(page)
    page.get_by_text("payments-checkout-api").first.wait_for(timeout=60_000)
    assert plotly_drawn(page) >= 1
    assert_clean(page)
    text = body_text(page)
    assert "Configuration" in text and "Tags" in text  # its configuration and tags beside the charts
    shot(page, "function-payments-checkout-api")


def test_a_changed_filter_changes_the_charts(page, app_url):
    page.goto(f"{app_url}/functions?fn={FN}&range=24h")
    wait_for_app(page)
    plotly_drawn(page)
    first_x = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.xaxis.range")
    # switch the sidebar's time range from 24h to 7d
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Time range").click()
    page.get_by_role("option", name="7d", exact=True).click()
    page.wait_for_function(
        "(before) => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p.layout && JSON.stringify(p.layout.xaxis.range) !== JSON.stringify(before); }",
        arg=first_x,
        timeout=90_000,
    )
    wait_for_app(page)
    assert "range=7d" in page.url
    second_x = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.xaxis.range")
    assert second_x != first_x
    assert_clean(page)
    shot(page, "function-payments-checkout-api-7d")


def test_alerts(page, app_url):
    page.goto(f"{app_url}/alerts")
    wait_for_app(page)
    page.get_by_role("heading", name="Alerts").wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    assert_clean(page)
    shot(page, "alerts")


def test_costs(page, app_url):
    page.goto(f"{app_url}/costs")
    wait_for_app(page)
    page.get_by_role("heading", name="Costs").wait_for(timeout=60_000)
    assert plotly_drawn(page) >= 1
    page.get_by_role("heading", name="Reconciliation").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Recommendations").wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').nth(2).wait_for(timeout=90_000)  # the recommendations (30 days of memory use)
    assert_clean(page)
    text = body_text(page)
    assert "Bill, month to date" in text and "Forecast to month end" in text
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3
    shot(page, "costs")


def test_teams(page, app_url):
    page.goto(f"{app_url}/teams")
    wait_for_app(page)
    page.get_by_role("heading", name="Teams").wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    assert_clean(page)
    text = body_text(page)
    assert "Tag coverage" in text and "A team's functions" in text
    assert page.get_by_role("button", name=re.compile("Download CSV")).count() == 1
    shot(page, "teams")
