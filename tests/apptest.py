"""What the AppTest suites share: where the app is, a run that fails on any exception, and the fixtures that
run it from the repository with its default config (``app_dir``) and at a fixed cost-page clock (``cost_clock``).
The fixtures are registered in tests/conftest.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
# the cost pages' "now": a week into December, so the month has complete days and a previous month
COST_NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


def plain(markdown: str) -> str:
    """A page's sentence as the reader sees it: the markdown source without the backslash escapes that keep
    upstream text literal (dashboard.present.text.escape_markdown)."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\1", markdown)


def run(at: AppTest, *, timeout: float = 120) -> AppTest:
    """One run of the script; any exception on the page fails the test with its message."""
    at.run(timeout=timeout)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app_dir(monkeypatch):
    """Run from the repository (pages are found relative to it) with its default config."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LAMBDA_LENS_CONFIG", raising=False)


@pytest.fixture
def cost_clock(monkeypatch):
    """The cost pages and the simulated account at :data:`COST_NOW`."""
    from aws import sim
    from dashboard.figures import cost_report

    monkeypatch.setattr(cost_report, "_now", lambda: COST_NOW)
    sim.set_clock(lambda: COST_NOW)
    yield COST_NOW
    sim.set_clock(None)
