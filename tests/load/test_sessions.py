"""20 concurrent browser sessions on the Overview of a 1,000-function demo account.

One headless Chromium (Debian's), 20 Playwright contexts opening the Overview at once, against
`streamlit run app.py`. Every session must render (the tiles, the table of 1,000 functions, no
exception); the collectors must run once per question however many sessions ask (single-flight),
shown black-box by the sidebar's "Whole server: N calls", which must equal the calls ONE session
makes on a cold process (measured first, in-process, with the same config and loaders). The cache
TTLs are set longer than the test runs, so no answer expires in the middle. The
server's peak RSS (process tree, sampled from /proc every 0.25 s) is recorded.

Run: ``make load`` (or ``.venv/bin/python -m pytest tests/load -m load -s``).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aws.meter import METER
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.load.support import ROOT, PeakSampler, demo_config, served_app, tree_rss_bytes, write_figures

pytestmark = [pytest.mark.load, pytest.mark.timeout(540)]

SESSIONS = 20
FUNCTIONS = 1000
RENDER_TIMEOUT_MS = 360_000
METER_TEXT = re.compile(r"AWS use this session: ([\d,]+) calls.*Whole server: ([\d,]+) calls", re.S)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def cold_calls_of_one_session(config: Path, monkeypatch) -> tuple[int, list[str]]:
    """The AWS calls one Overview costs on a cold process, and the titles of its tiles: the same app, in-process (AppTest)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(config))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    calls = METER.snapshot().total_calls
    (caption,) = [c.value for c in at.sidebar.caption if "Whole server" in c.value]
    m = METER_TEXT.search(caption)
    assert m and _int(m.group(1)) == calls and _int(m.group(2)) == calls, caption
    functions = [d.value for d in at.dataframe if "invocations" in d.value.columns]
    assert len(functions) == 1 and len(functions[0]) == FUNCTIONS
    tiles = [m.label for m in at.metric]
    assert {"Invocations", "Error rate", "Throttles"} <= set(tiles) and any(t.startswith("Lambda spend") for t in tiles), tiles
    return calls, tiles


async def _open_overview(browser, url: str, index: int) -> dict:
    """One session: open the Overview, wait until its script has finished, read what it shows."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await ctx.new_page()
        t0 = time.monotonic()
        await page.goto(url, timeout=RENDER_TIMEOUT_MS)
        # The sidebar's meter caption is written after the page has run: the script finished.
        await page.get_by_text("Whole server:").wait_for(timeout=RENDER_TIMEOUT_MS)
        seconds = time.monotonic() - t0
        await page.locator('[data-testid="stDataFrame"]').last.wait_for(timeout=60_000)
        text = await page.locator("body").inner_text()
        return {
            "index": index,
            "seconds": round(seconds, 1),
            "tiles": [t.strip() for t in await page.locator('[data-testid="stMetricLabel"]').all_inner_texts()],
            "dataframes": await page.locator('[data-testid="stDataFrame"]').count(),
            "exceptions": await page.locator('[data-testid="stException"]').count(),
            "text": text,
        }
    finally:
        await ctx.close()


async def _load(url: str, sessions: int) -> tuple[list[dict], dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            results = await asyncio.gather(*(_open_overview(browser, url, i) for i in range(sessions)))
            after = await _open_overview(browser, url, sessions)  # one more, once all have rendered
        finally:
            await browser.close()
    return list(results), after


def _check_rendered(r: dict, tiles: list[str]) -> tuple[int, int]:
    text = r["text"]
    assert r["exceptions"] == 0 and "Traceback" not in text, text[:2000]
    assert r["tiles"] == tiles, (r["index"], r["tiles"])  # every tile the in-process run drew, in its order
    assert r["dataframes"] >= 1
    assert f"{FUNCTIONS} functions ·" in text, text[:2000]  # the status: the table holds every function
    assert "Functions" in text and "Alerts firing" in text
    m = METER_TEXT.search(text)
    assert m, text[-2000:]
    return _int(m.group(1)), _int(m.group(2))


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: `make chromium` installs it")
def test_twenty_sessions_render_and_share_one_collection(tmp_path, monkeypatch):
    # TTLs longer than the test: every question is asked once whatever the machine's speed (an answer
    # expiring mid-test would be a legitimate second question, not a failure of single-flight).
    config = demo_config(tmp_path / "config.yaml", functions=FUNCTIONS, ttl_s=dict.fromkeys(("metrics", "insights", "logs"), 3600))

    t0 = time.monotonic()
    one_session, tiles = cold_calls_of_one_session(config, monkeypatch)
    cold_s = time.monotonic() - t0

    with served_app(config, tmp_path) as (url, proc):
        idle_rss = tree_rss_bytes(proc.pid)
        t1 = time.monotonic()
        with PeakSampler(proc.pid) as sampler:
            results, after = asyncio.run(_load(url, SESSIONS))
        wall_s = time.monotonic() - t1
        end_rss = tree_rss_bytes(proc.pid)

    per_session = [_check_rendered(r, tiles) for r in results]
    mine_after, server_after = _check_rendered(after, tiles)
    figures = {
        "functions": FUNCTIONS,
        "sessions": SESSIONS,
        "sessions_rendered": len(results),
        "calls_one_cold_session": one_session,
        "calls_whole_server_after_all_sessions": server_after,
        "calls_by_session": [mine for mine, _ in per_session],
        "calls_of_a_21st_session": mine_after,
        "render_s_min": min(r["seconds"] for r in results),
        "render_s_max": max(r["seconds"] for r in results),
        "load_wall_s": round(wall_s, 1),
        "cold_in_process_s": round(cold_s, 1),
        "server_rss_idle_mb": round(idle_rss / 2**20, 1),
        "server_rss_peak_mb": round(sampler.peak / 2**20, 1),
        "server_rss_end_mb": round(end_rss / 2**20, 1),
        "rss_samples": sampler.samples,
    }
    write_figures("sessions", figures)

    assert len(results) == SESSIONS
    # Single-flight, black-box: 20 sessions cost what one costs; each call was made by exactly one of them;
    # a session opened after them all is served from the cache.
    assert server_after == one_session
    assert sum(mine for mine, _ in per_session) == one_session
    assert mine_after == 0
    assert sampler.samples > 0 and sampler.peak >= idle_rss > 0
