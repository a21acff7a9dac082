"""The Overview's "What changed" reports an alert that cleared, from the server's alert history
(dashboard/alerts/history.py): seen firing by one evaluation, seen OK by a later one, on the simulated account at
the clocks its config fixes (``simulation.now``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.alerts import history
from dashboard.config import settings as settings_mod
from dashboard.figures import fleet
from dashboard.figures.changes import CLEARED
from tests.apptest import APP, plain, run

pytestmark = pytest.mark.aws  # reads the simulated account: not in the fast lane

FIRST = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = FIRST + timedelta(minutes=20)
FN, RULE = "media-image-resizer", "memory-high"  # the simulated account's function that uses ~95 % of its memory


@pytest.fixture(autouse=True)
def _chdir(app_dir):
    """The repository's app (its pages are found from there), with the config each test names."""


def config(tmp_path, monkeypatch, *, now: datetime, threshold: float) -> settings_mod.Settings:
    """The demo account at ``now`` with one rule, memory-high at ``threshold`` %."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n"
        f"    simulation: {{functions: 16, now: '{now.isoformat()}'}}\n"
        "alerts:\n  rules:\n"
        f"    - {{name: {RULE}, metric: memory_utilization, threshold: {threshold}, period_s: 3600, evaluation_periods: 1,"
        " missing_data: notBreaching, severity: warning}\n"
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    return settings_mod.load(cfg)


def what_changed(at: AppTest) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The captions and the links of the first screen's third column."""
    captions = [plain(c.value) for c in at.caption]
    links = [(plain(x.proto.label), x.proto.help or None) for x in at.get("page_link")]
    return captions, links


def test_an_alert_firing_then_ok_is_cleared_on_the_first_screen(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, now=FIRST, threshold=90)
    at = run(AppTest.from_file(APP, default_timeout=180))
    ov = fleet.load_overview(at.session_state["settings"], at.session_state["selection"])
    assert (FN, RULE) in set(zip(ov.firing["function"], ov.firing["rule"], strict=True))
    captions, _ = what_changed(at)
    # the first evaluation this server made: nothing cleared yet, and it says from when it watches
    assert any(c.endswith("0 cleared since 12:00, when this server started watching (earlier: on Alerts)") for c in captions), captions

    # 20 minutes later the function's memory is within its (raised) threshold: the alert is OK now
    cfg = config(tmp_path, monkeypatch, now=LATER, threshold=99.5)
    at = run(AppTest.from_file(APP, default_timeout=180))
    ov = fleet.load_overview(at.session_state["settings"], at.session_state["selection"])
    state = ov.alerts.report.states.set_index(["function", "rule"]).loc[(FN, RULE)]
    assert state["state"] == "OK" and not state["unread"]
    cleared = ov.changes[ov.changes["change"] == CLEARED]
    assert cleared[["function", "rule"]].values.tolist() == [[FN, RULE]]
    row = cleared.iloc[0]
    assert row["last_firing"] == FIRST and row["timestamp"] == LATER and not row["exact"]  # seen firing at 12:00, clear at 12:20

    captions, links = what_changed(at)
    assert any(c.endswith("1 cleared since 12:00, when this server started watching (earlier: on Alerts)") for c in captions), captions
    assert (f"{FN} · {RULE} cleared by 12:20", "last seen firing 12:00, seen clear at 12:20 by this server's alert evaluations") in links
    link = next(x for x in at.get("page_link") if plain(x.proto.label).startswith(f"{FN} · {RULE} cleared"))
    assert link.proto.page == "functions" and f"rule={RULE}" in link.proto.query_string  # in the app, at the rule's chart
    # the history is in the test's state folder (tests/conftest.py), the file the server keeps
    assert history.file_for(cfg).exists()


def test_an_alert_whose_data_cannot_be_read_now_is_not_cleared(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, now=FIRST, threshold=90)
    run(AppTest.from_file(APP, default_timeout=180))
    # later, the logs (where the memory rule reads from) are denied: the alert's state is unknown, not OK
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        cfg.read_text()
        .replace(FIRST.isoformat(), LATER.isoformat())
        .replace("functions: 16,", "functions: 16, deny: ['logs:StartQuery', 'logs:FilterLogEvents', 'logs:GetQueryResults'],")
    )
    at = run(AppTest.from_file(APP, default_timeout=180))
    ov = fleet.load_overview(at.session_state["settings"], at.session_state["selection"])
    state = ov.alerts.report.states.set_index(["function", "rule"]).loc[(FN, RULE)]
    assert state["unread"]
    assert CLEARED not in set(ov.changes["change"])
    _, links = what_changed(at)
    assert not [label for label, _ in links if "cleared" in label]
