"""The Costs and Teams pages in real headless Chromium at a desktop (1440×900) and a phone (390×844), light and dark:
the month picker on screen and kept in the address, no horizontal scrolling of the document on a phone, the
sidebar's freshness block whole at every width, the charts' legends clear of titles and toolbar. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot_dir
from tests.browser.test_pages import assert_clean

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def wait_for_app(page, *, timeout_ms: int = 90_000) -> None:
    """As test_pages.wait_for_app, but the sidebar need only be there: on a phone it starts collapsed."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSidebar"]', state="attached", timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def load(page, url: str, *, heading: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name=heading).wait_for(timeout=90_000)
    # the page is complete when its last section is there (the Costs page reads 30 days of memory use last)
    last = "Recommendations" if heading == "Costs" else "A team's functions"
    page.get_by_role("heading", name=last).wait_for(timeout=150_000)
    page.wait_for_selector(".js-plotly-plot .main-svg .trace", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=150_000)
    assert_clean(page)


def shot(page, name: str) -> None:
    """The whole page (Streamlit scrolls inside its own container: the viewport grows to the content for the picture)."""
    size = page.viewport_size
    full = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(full) + 40)})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)
    page.wait_for_timeout(500)


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("() => window.innerWidth")
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    main = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]'); return m ? m.scrollWidth : 0 }")
    assert doc <= width and main <= width, (doc, main, width)


def open_sidebar(page) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    if sidebar.get_attribute("data-collapsed") == "true":
        page.locator('[data-testid="stExpandSidebarButton"]').first.click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').getAttribute('data-collapsed') === 'false'", timeout=10_000
        )
        page.wait_for_timeout(800)  # the slide-in animation


def freshness_whole(page) -> None:
    """The sidebar's "Data freshness" block opens and every line of it is inside the sidebar (nothing cut off)."""
    open_sidebar(page)
    summary = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Data freshness")
    summary.scroll_into_view_if_needed()
    summary.click()
    body = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]', has_text="Data freshness").locator('[data-testid="stExpanderDetails"]')
    body.wait_for(timeout=10_000)
    body.scroll_into_view_if_needed()
    side = page.locator('[data-testid="stSidebar"]').bounding_box()
    items = body.locator("li")
    assert items.count() >= 1
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box is not None and box["x"] >= side["x"] - 0.5 and box["x"] + box["width"] <= side["x"] + side["width"] + 0.5, box
        clipped = items.nth(i).evaluate("e => e.scrollWidth > e.clientWidth + 1")
        assert not clipped, items.nth(i).inner_text()
    assert re.search(r"(metrics|costs|inventory)\b.*old", body.inner_text())


def overlap(a: dict, b: dict) -> bool:
    return not (a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"] or a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"])


def legends_clear(page) -> None:
    """Each chart's legend sits under its plot (never on a title), and plotly's toolbar is not drawn over it."""
    for chart in page.locator(".js-plotly-plot").all():
        legend = chart.locator("g.legend")
        if legend.count() == 0:
            continue
        lb = legend.bounding_box()
        plot = chart.locator(".draglayer").bounding_box()
        assert lb["y"] >= plot["y"] + plot["height"] - 4, (lb, plot)
        for title in chart.locator("g.annotation, g.g-gtitle").all():  # the panels' titles and the forecast's note
            tb = title.bounding_box()
            if tb:
                assert not overlap(tb, lb), (title.inner_text() if title.count() else "", tb, lb)
        modebar = chart.locator(".modebar")
        if modebar.count():
            assert "modebar--hover" in (modebar.get_attribute("class") or "")  # shown on hover only
            mb = modebar.bounding_box()
            if mb is not None:  # and never on the legend
                assert not overlap(mb, lb), (mb, lb)


@pytest.mark.parametrize(("viewport", "scheme"), [(DESKTOP, "light"), (PHONE, "dark")], ids=["1440-light", "390-dark"])
def test_costs_screen(open_page, app_url, viewport, scheme):
    page = open_page(viewport, scheme)
    load(page, f"{app_url}/costs", heading="Costs")
    text = page.locator("body").inner_text()
    assert "Spend this month" in text and "running total" in text
    assert "calendar month" in text  # the page says what it covers; the sidebar's range does not apply here
    legends_clear(page)
    if viewport is PHONE:
        no_horizontal_overflow(page)
    name = f"costs-{viewport['width']}-{scheme}"
    shot(page, name)
    freshness_whole(page)
    page.screenshot(path=str(screenshot_dir() / f"{name}-sidebar.png"))


@pytest.mark.parametrize(("viewport", "scheme"), [(DESKTOP, "dark"), (PHONE, "light")], ids=["1440-dark", "390-light"])
def test_teams_screen_and_its_month_picker(open_page, app_url, viewport, scheme):
    page = open_page(viewport, scheme)
    load(page, f"{app_url}/teams", heading="Teams")
    text = page.locator("body").inner_text()
    assert "Cost by team" in text and "Top functions by cost, every team" in text
    assert "None" not in re.sub(r"\s+", " ", text.replace("No function", ""))
    legends_clear(page)
    if viewport is PHONE:
        no_horizontal_overflow(page)
    name = f"teams-{viewport['width']}-{scheme}"
    shot(page, name)
    # the month picker: on screen, and choosing last month puts it in the address
    picker = page.locator('[data-testid="stSelectbox"]', has_text="Month").first
    picker.scroll_into_view_if_needed()
    assert picker.is_visible()
    shown = lambda: picker.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')")  # noqa: E731
    assert "(this month)" in shown()
    picker.click()
    option = page.get_by_role("option").nth(1)
    wanted = option.inner_text()
    option.click()
    page.wait_for_url(re.compile(r"[?&]month=\d{4}-\d{2}"), timeout=60_000)
    month = re.search(r"month=(\d{4}-\d{2})", page.url).group(1)
    page.get_by_text(f"{month}-01 →").first.wait_for(timeout=90_000)
    assert wanted.split()[0] in shown()
    freshness_whole(page)
    page.screenshot(path=str(screenshot_dir() / f"{name}-sidebar.png"))
