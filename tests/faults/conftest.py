"""Helpers of the fault suite: configs for the simulated account, the CLI in-process, AppTest, fast backoff.

Faults are injected where AWS would produce them: the simulated account's ``SimSpec``
(throttling, denial, latency, endpoint down; decided per HTTP attempt inside botocore's
retry loop), a ``before-send`` handler on one client, or moto's server.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dashboard.cli import main
from tests.apptest import plain

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = {
    "overview": None,
    "functions": "dashboard/pages/functions.py",
    "alerts": "dashboard/pages/alerts.py",
    "costs": "dashboard/pages/costs.py",
    "teams": "dashboard/pages/teams.py",
}


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore's real retry decisions, without its randomised sleeps (the decisions are what is tested)."""
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def demo_yaml(*, regions: tuple[str, ...] = ("us-east-1",), functions: int = 12, aws: dict | None = None, **sim) -> str:
    """The repository's config.yaml (its alert rules, allocation, digests) with one demo account of
    ``functions`` functions in ``regions`` and the given ``simulation`` faults; ``aws`` replaces keys of ``aws:``."""
    import yaml

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    cfg["accounts"] = [{"name": "demo", "demo": True, "regions": list(regions), "simulation": {"functions": functions, **sim}}]
    cfg["aws"] = {**(cfg.get("aws") or {}), **(aws or {})}
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_page(page: str, *, at=None):
    """Run one page of the app in AppTest (a new AppTest unless ``at`` is given); no exception allowed."""
    from streamlit.testing.v1 import AppTest

    at = at or AppTest.from_file(APP, default_timeout=90)
    if PAGES[page]:
        at.switch_page(PAGES[page])
    at.run(timeout=90)
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at) -> list[str]:
    """Every error, warning and info sentence on the page."""
    return [plain(x.value) for x in (*at.error, *at.warning, *at.info)]


@pytest.fixture
def app_env(monkeypatch):
    """AppTest runs from the repository root with no config from the environment."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LAMBDA_LENS_CONFIG", raising=False)
    return monkeypatch
