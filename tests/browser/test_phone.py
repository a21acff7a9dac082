"""The Overview and a function's page on a phone (390×844) in real headless Chromium: after scrolling, the
Overview says what is firing, what costs most and what changed, one section under the other, and the document
never scrolls sideways (tables scroll inside themselves); a function's header metrics and its first chart are
drawn, every panel's legend clear of every panel title and of plotly's toolbar. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.test_costs_screens import PHONE, overlap, shot, wait_for_app
from tests.browser.test_first_screen import FN, cut_texts
from tests.browser.test_pages import assert_clean, plotly_drawn

pytestmark = pytest.mark.browser

SECTIONS = ("Firing now", "Top 5", "What changed")


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => window.innerWidth")
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    main = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]'); return m ? m.scrollWidth : 0 }")
    assert doc <= width + 1 and main <= width + 1, (doc, main, width)


def test_overview_on_a_phone_after_scrolling(open_page, app_url):
    page = open_page(PHONE, "light")
    page.goto(f"{app_url}/?range=24h")
    wait_for_app(page)
    page.get_by_role("heading", name="Alerts firing").wait_for(timeout=120_000)  # the finished page
    assert_clean(page)
    assert cut_texts(page) == []
    boxes = []
    for text in SECTIONS:
        heading = page.get_by_text(text).first
        heading.scroll_into_view_if_needed()
        assert heading.is_visible(), text
        box = heading.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (text, box)
        boxes.append(heading.evaluate("e => e.getBoundingClientRect().top + (document.querySelector('[data-testid=stMain]')?.scrollTop || 0) + window.scrollY"))
    assert boxes == sorted(boxes) and len(set(boxes)) == 3, boxes  # one under the other, in the order they are read
    # each section's entries are readable: the costliest function's line is whole on screen
    cost_line = page.get_by_text("Est. cost $").first
    cost_line.scroll_into_view_if_needed()
    box = cost_line.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    no_sideways_scroll(page)
    shot(page, "overview-390x844")
    no_sideways_scroll(page)


def legends_clear_of_titles(page) -> int:
    """Every legend of every chart: no panel title, axis title or other annotation under it, no toolbar on it. Returns how
    many legends were checked."""
    checked = 0
    for chart in page.locator(".js-plotly-plot").all():
        legends = chart.locator(".infolayer > g").evaluate_all(
            "gs => gs.filter(g => /^legend\\d*$/.test(g.getAttribute('class') || ''))"
            ".map(g => { const r = g.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height} })"
        )
        titles = chart.locator("g.annotation, .infolayer g[class^='g-'][class$='title']").evaluate_all(  # panel and axis titles
            "gs => gs.map(g => { const r = g.getBoundingClientRect(); return {text: g.textContent, x: r.x, y: r.y, width: r.width, height: r.height} })"
        )
        for tb in titles:  # every title whole on the screen, not cut at its right edge
            assert tb["width"] == 0 or tb["x"] + tb["width"] <= PHONE["width"] + 1, tb
        for lb in legends:
            if lb["width"] == 0 or lb["height"] == 0:
                continue
            checked += 1
            assert lb["x"] + lb["width"] <= PHONE["width"] + 1, lb  # not cut off at the right
            for tb in titles:
                assert not overlap(tb, lb), (tb, lb)
        modebar = chart.locator(".modebar")
        if modebar.count():
            assert "modebar--hover" in (modebar.get_attribute("class") or "")  # on hover only
    return checked


def test_function_page_on_a_phone(open_page, app_url):
    page = open_page(PHONE, "dark")
    page.goto(f"{app_url}/functions?fn={FN}&range=24h")
    wait_for_app(page)
    page.get_by_text("Est. cost MTD").first.wait_for(timeout=120_000)
    assert_clean(page)
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.count() >= 7
    for i in range(metrics.count()):  # every header value whole, inside the screen's width
        box = metrics.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, metrics.nth(i).inner_text()
    assert cut_texts(page) == []
    plotly_drawn(page)
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    titles = chart.locator(".infolayer .annotation-text").all_text_contents()
    assert titles, "the chart has no panel titles"
    assert legends_clear_of_titles(page) >= 1
    no_sideways_scroll(page)
    shot(page, "function-390x844-dark")
