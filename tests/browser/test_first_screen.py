"""The first screen at 1440 × 900 in real headless Chromium: what is firing, what costs most and what changed are
visible without scrolling; drilling down stays in the same tab; a function's header and the Functions list's
health columns fit the first viewport. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot_dir
from tests.browser.test_pages import assert_clean, plotly_drawn, wait_for_app

pytestmark = pytest.mark.browser

W, H = 1440, 900
FN = "demo/us-east-1/payments-auth-api"


@pytest.fixture
def screen(open_page):
    return open_page({"width": W, "height": H})


def in_first_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= H and box["x"] + box["width"] <= W


def cut_texts(page) -> list[str]:
    """The metric values and in-app link labels drawn cut short ("19,…", "error-rate · 23.9…"): an element inside
    one wider than its box."""
    return page.locator(
        '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, [data-testid="stPageLink"] *'
    ).evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"
    )


def finished_overview(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name="Alerts firing").wait_for(timeout=120_000)  # the finished page
    page.get_by_text("What changed").first.wait_for(timeout=30_000)
    assert page.evaluate("window.scrollY") == 0


def test_overview_first_screen_answers_without_scrolling(screen, app_url):
    finished_overview(screen, f"{app_url}/?range=24h")
    assert_clean(screen)
    assert cut_texts(screen) == []
    for text in ("Firing now", "Top 5 by estimated cost", "What changed"):
        assert in_first_viewport(screen, screen.get_by_text(text).first), f"{text!r} is below the fold"
    # entries, not only headings: the first firing alert, the costliest function and the cost comparison
    links = screen.locator('[data-testid="stPageLink"]')
    links.nth(2).wait_for(timeout=60_000)  # Streamlit draws the page as it runs: the links may follow the headings
    links.last.wait_for(timeout=30_000)
    assert cut_texts(screen) == []  # every entry whole: "error-rate · 23.94 %", not "error-rate · 23.9…"
    assert in_first_viewport(screen, links.first)
    cost_line = screen.get_by_text("Est. cost $").first
    assert in_first_viewport(screen, cost_line)
    screen.screenshot(path=str(screenshot_dir() / "overview-1440x900.png"))


def test_first_screen_link_opens_the_function_in_the_same_tab(screen, app_url):
    finished_overview(screen, f"{app_url}/?range=24h")
    ctx = screen.context
    opened: list = []
    ctx.on("page", lambda p: opened.append(p))
    screen.on("popup", lambda p: opened.append(p))
    costliest = screen.locator('[data-testid="stPageLink"] a', has_text="$").first
    costliest.wait_for()
    name = costliest.inner_text().split("·")[0].strip()
    costliest.click()
    screen.wait_for_url("**/functions?**", timeout=60_000)
    assert "fn=" in screen.url and name in screen.url
    screen.get_by_role("heading", name=name).wait_for(timeout=90_000)
    assert opened == [] and len(ctx.pages) == 1  # no new tab, no popup


def test_function_header_in_first_viewport(screen, app_url):
    screen.goto(f"{app_url}/functions?fn={FN}&range=24h")
    wait_for_app(screen)
    screen.get_by_text("Est. cost MTD").first.wait_for(timeout=120_000)
    assert_clean(screen)
    metrics = screen.locator('[data-testid="stMetric"]')
    assert metrics.count() >= 7
    for i in range(7):
        assert in_first_viewport(screen, metrics.nth(i)), metrics.nth(i).inner_text()
    # every value whole, not cut to "19,…"
    assert cut_texts(screen) == []
    plotly_drawn(screen)  # the charts follow the header
    screen.screenshot(path=str(screenshot_dir() / "function-header-1440x900.png"))
    screen.goto(f"{app_url}/functions?fn={FN}&range=24h&rule=error-rate")  # from an alert: that rule's panel first
    wait_for_app(screen)
    plotly_drawn(screen)
    titles = screen.locator(".js-plotly-plot .infolayer .annotation-text").all_text_contents()
    assert titles and titles[0].startswith("▶"), titles
    screen.screenshot(path=str(screenshot_dir() / "function-from-alert-1440x900.png"), full_page=True)


def test_functions_list_health_columns_without_horizontal_scroll(screen, app_url):
    screen.goto(f"{app_url}/functions?range=24h")
    wait_for_app(screen)
    grid = screen.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=120_000)
    assert_clean(screen)
    box = grid.bounding_box()
    assert box is not None and box["x"] + box["width"] <= W
    # the grid draws on a canvas; its accessible table holds a header cell for each column in view (virtualised)
    headers = screen.locator('[data-testid="stDataFrame"] [role="columnheader"]')
    headers.first.wait_for(state="attached", timeout=30_000)
    seen = [t.strip() for t in headers.all_inner_texts()]
    for header in ("function", "invocations", "errors", "error rate", "throttles", "p99 duration", "cold starts", "memory used", "est. cost (24h)"):
        assert header in seen, f"column {header!r} is not in view without horizontal scrolling: {seen}"
    assert "tags" not in seen  # the configuration is further right, past the health columns
    screen.screenshot(path=str(screenshot_dir() / "functions-1440x900.png"))
