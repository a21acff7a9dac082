"""A digest of the simulated account, rendered in real headless Chromium: readable, images drawn, no
sideways scrolling on a desktop or a phone; saved as a screenshot with the pages' ones."""

from __future__ import annotations

import pytest

from dashboard.config import settings as settings_mod
from dashboard.digest import pipeline
from dashboard.digest.render import preview_html
from tests.browser.conftest import screenshot_dir
from tests.digest_support import demo_inputs

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    cfg = settings_mod.load(settings_mod.DEFAULT_CONFIG)
    org = next(d for d in cfg.email.digests if d.team is None)
    _, msg = pipeline.build(cfg, org, demo_inputs(org.range), previous=None, slot="preview")
    path = tmp_path_factory.mktemp("digest") / "digest.html"
    path.write_text(preview_html(msg), encoding="utf-8")
    return path


def images_drawn(page) -> list[tuple[int, int]]:
    return page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.clientWidth])")


@pytest.mark.parametrize("width,name", [(700, "digest.png"), (390, "digest-phone.png")])
def test_digest_renders_readably(browser, preview, width, name):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    page = ctx.new_page()
    try:
        page.goto(preview.as_uri())
        page.wait_for_load_state("load")
        body = page.inner_text("body")
        for heading in ("Lambda digest — all teams", "Alerts", "NEW (4)", "RESOLVED (3)", "What to do", "Top movers", "Spend"):
            assert heading in body
        assert "payments-checkout-api" in body and "error-rate: 25.00 % > 5.00 %" in body
        drawn = images_drawn(page)
        assert len(drawn) == 4 and all(natural == 1200 and 0 < shown <= 600 for natural, shown in drawn)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        page.screenshot(path=str(screenshot_dir() / name), full_page=True)
    finally:
        ctx.close()
