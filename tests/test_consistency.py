"""One figure, one number: each figure read through every surface that shows it is the same, at several clocks.

The config fixes the simulated account's clock (``simulation.now``), so the pages (AppTest), the CLI
(``overview``, ``summary``, ``alerts``) and the digest's dry-run JSON are all asked about the same moment:
mid-month, the 1st of a month (the month to date is today alone) and the last day of a month.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.present import registry
from tests.apptest import APP, ROOT, run

pytestmark = pytest.mark.slow

CLOCKS = ["2026-12-15T12:10:00Z", "2026-12-01T06:40:00Z", "2026-11-30T22:50:00Z"]
KEY = ["account", "region", "function"]


def config(tmp_path: Path, now: str) -> Path:
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    doc["accounts"] = [{"name": "demo", "demo": True, "regions": ["us-east-1", "eu-west-1"], "simulation": {"functions": 16, "now": now}}]
    doc["email"]["digests"] = [d for d in doc["email"]["digests"] if d["name"] == "org"]  # the organisation's: 24h, every team
    doc["email"]["state_path"] = str(tmp_path / "state.json")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def page(path: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if path:
        at.switch_page(path)
    return run(at)


def by_function(rows: list[dict] | pd.DataFrame, column: str) -> dict[tuple, float | None]:
    frame = pd.DataFrame(rows)
    out = {}
    for rec in frame.to_dict(orient="records"):
        v = rec[column]
        out[tuple(rec[k] for k in KEY)] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


@pytest.fixture(params=CLOCKS, ids=["mid-month", "first-of-month", "last-day"])
def surfaces(request, tmp_path, monkeypatch):
    """Every surface asked about the same selection (the last 24 h, every function) at one clock."""
    monkeypatch.chdir(ROOT)
    path = config(tmp_path, request.param)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(path))
    code, out, err = cli("overview", "--config", str(path), "--format", "json", "--range", "24h")
    assert code == 0, err
    overview = json.loads(out)
    code, out, err = cli("summary", "--config", str(path), "--format", "json", "--range", "24h")
    assert code == 0, err
    summary = json.loads(out)
    code, out, err = cli("alerts", "--config", str(path), "--format", "json", "--range", "24h")
    assert code == 0, err
    alerts = json.loads(out)
    code, out, err = cli("costs", "--config", str(path), "--format", "json", "--by", "function")
    assert code == 0, err
    costs = json.loads(out)
    code, _, err = cli("digest", "--config", str(path), "--dry-run", "--out", str(tmp_path / "out"))
    assert code == 0, err
    (digest_file,) = (tmp_path / "out").glob("org-*.json")
    digest = json.loads(digest_file.read_text())
    return {
        "now": request.param,
        "overview": overview,
        "summary": summary,
        "alerts": alerts,
        "costs": costs,
        "digest": digest,
        "overview_page": page(),
        "functions_page": page("dashboard/pages/functions.py"),
        "costs_page": page("dashboard/pages/costs.py"),
    }


def test_every_surface_shows_the_same_figures(surfaces):
    ov, summary, digest = surfaces["overview"], surfaces["summary"], surfaces["digest"]
    tiles = {t["key"]: t for t in ov["tiles"]}

    # the headline tiles: the page shows what the CLI prints, in the same format
    shown = {m.label: m.value for m in surfaces["overview_page"].metric}
    for t in ov["tiles"]:
        assert shown[t["label"]] == registry.format(t["metric"], t["value"]), t["key"]

    # spend month to date: the Overview's tile, the Costs page's bill and the digest's spend
    mtd = tiles["spend_mtd"]["value"]
    assert mtd is not None  # (on the 1st it is 0.00: the month's free tier covers the first hours)
    bill = {m.label: m.value for m in surfaces["costs_page"].metric}["Bill, month to date"]
    assert bill == f"${mtd:,.2f}"
    assert digest["spend"]["mtd_usd"] == pytest.approx(mtd, abs=1e-9)

    # per function: invocations, errors and the exact p99, on the Overview's table, the summary, the
    # Functions list and the digest's table
    pages = {
        "overview page": next(d.value for d in surfaces["overview_page"].dataframe if "trend" in d.value.columns),
        "functions page": next(d.value for d in surfaces["functions_page"].dataframe if "trend" in d.value.columns),
    }
    for column, digest_column in (("invocations", "invocations"), ("errors", "errors"), ("duration_p99_ms", "duration_p99_ms"), ("error_rate", "error_rate_pct")):
        want = by_function(ov["functions"], column)
        assert len(want) == 16 and any(v for v in want.values())
        assert by_function(summary, column) == want, column
        assert by_function(digest["functions"], digest_column) == want, column
        for name, frame in pages.items():
            assert by_function(frame, column) == want, (name, column)

    # cost per function over the range (dashboard.figures.function_cost): the Overview's table and the CLI's, the
    # summary, the Functions list and the digest's table; the month to date on every table
    want = by_function(ov["functions"], "est_cost_usd")
    assert len(want) == 16 and any(v for v in want.values())
    assert by_function(summary, "est_cost_usd") == want
    assert by_function(digest["functions"], "est_cost_usd") == pytest.approx(want, rel=1e-12)
    for name, frame in pages.items():
        assert by_function(frame, "est_cost_usd") == want, name
    # the month to date is the Costs page's per-function figure of the current month (its complete UTC days): on
    # the 1st there is none yet, and that is unknown, not $0
    mtd_fn = by_function(ov["functions"], "mtd_cost_usd")
    if surfaces["now"].startswith("2026-12-01"):
        assert all(v is None for v in mtd_fn.values())
    else:
        assert all(v is not None for v in mtd_fn.values()) and any(mtd_fn.values())
        month = by_function(surfaces["costs"], "est_cost_usd")
        assert mtd_fn == pytest.approx({k: month[k] for k in mtd_fn}, rel=1e-9, abs=1e-9)
    assert by_function(summary, "mtd_cost_usd") == mtd_fn
    for name, frame in pages.items():
        assert by_function(frame, "mtd_cost_usd") == mtd_fn, name
    # the Est. cost tile is the table's sum
    assert tiles["est_cost"]["value"] == pytest.approx(sum(want.values()), rel=1e-12)

    # the trend: the Overview's and the Functions list's are one bucketing (the pages leave out a last bucket
    # still in progress, unknown, rather than draw it as 0)
    def ended(values):
        vals = list(values) if values is not None else None
        while vals and (vals[-1] is None or (isinstance(vals[-1], float) and math.isnan(vals[-1]))):
            vals.pop()
        return vals

    trends = {tuple(r[k] for k in KEY): ended(r["trend"]) for r in ov["functions"]}
    for name, frame in pages.items():
        got = {tuple(r[k] for k in KEY): list(r["trend"]) for r in frame.to_dict(orient="records")}
        assert got == trends, name

    # what is firing: the Overview's count per function, the alerts command and the digest's new + ongoing
    firing = {k: n for k, n in by_function(ov["functions"], "alerts_firing").items() if n}
    counted: dict[tuple, float] = {}
    for row in surfaces["alerts"]:
        k = tuple(row[c] for c in KEY)
        counted[k] = counted.get(k, 0) + 1
    assert firing == counted
    assert digest["firing_count"] == sum(firing.values())
