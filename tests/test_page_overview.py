"""The Overview page in Streamlit's AppTest: tiles, alerts firing, the function table, filters, failures.

What the page shows is checked against the domain (:func:`dashboard.figures.fleet.load_overview`)
asked the same question right after the run: the loaders' caches hand both the same data, so
the figures must be identical.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.config import settings as settings_mod
from dashboard.figures import fleet
from dashboard.present import registry
from dashboard.web import columns
from tests.apptest import APP, plain, run

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

TILES = ["Invocations", "Error rate", "Throttles", "Typical p99 duration", "Est. cost (24h)", "Lambda spend MTD"]


@pytest.fixture(autouse=True)
def _chdir(app_dir):
    """Every test runs the repository's app with its default config."""



def config(tmp_path, monkeypatch, simulation: str) -> settings_mod.Settings:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n    simulation: {simulation}\n")
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    return settings_mod.load(cfg)


def same_as_domain(at: AppTest) -> fleet.Overview:
    """The Overview the domain computes for the page's own selection (served from the same caches)."""
    sel = at.session_state["selection"]
    cfg = at.session_state["settings"]
    return fleet.load_overview(cfg, sel)


def frames_equal(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def column_config(element) -> dict:
    return json.loads(element.proto.columns)


def test_the_overview_is_the_default_page_and_shows_what_the_domain_computes():
    at = run(AppTest.from_file(APP, default_timeout=120))
    assert at.title[0].value == "Overview"
    ov = same_as_domain(at)
    assert [m.label for m in at.metric] == TILES
    assert [(m.value, m.delta or None) for m in at.metric] == [(t.value_text(), t.delta_text()) for t in ov.tiles]
    assert [m.help for m in at.metric] == [t.help for t in ov.tiles]
    assert all(m.value != "—" for m in at.metric)

    table, firing = at.dataframe  # the full table comes right after the first screen, the alert list below it
    frames_equal(firing.value, columns.with_value_texts(ov.firing))  # each value written in its metric's unit
    assert {("media-image-resizer", "memory-high"), ("legacy-importer", "no-invocations")} <= set(
        zip(firing.value["function"], firing.value["rule"], strict=True)
    )
    assert all("&rule=" in link for link in firing.value["link"])
    frames_equal(table.value.drop(columns="trend"), ov.table.drop(columns="trend"))
    # the trend ends with the data: a last bucket still in progress (NaN) is left out, not drawn as 0
    assert table.value["trend"].map(list).tolist() == columns.ending_with_data(ov.table["trend"]).tolist()
    assert len(table.value) == 48 and table.value["link"].str.startswith("functions?fn=demo/").all()
    cols = column_config(table)
    order = list(table.proto.column_order)
    assert cols["function"]["pinned"] is True and "link" not in order  # a link column opens a new tab: rows are selected instead
    assert order[:3] == ["function", "est_cost_usd", "mtd_cost_usd"] and order.index("errors") < order.index("team")
    assert cols["trend"]["type_config"] == {"type": "line_chart", "y_min": 0}
    # metric columns as the registry says: invocations with thousands separators, as on the Functions list
    assert cols["invocations"]["type_config"] == {"type": "number", "format": "%,.0f"} and cols["invocations"]["label"] == "invocations"
    assert cols["duration_p99_ms"]["type_config"]["format"] == "%,.1f ms" and cols["memory_used_pct"]["type_config"]["type"] == "progress"
    assert cols["est_cost_usd"]["label"] == "est. cost (24h)"
    # what is on fire first, then what costs most
    alerts = table.value["alerts"].tolist()
    assert alerts == sorted(alerts, reverse=True)
    quiet = table.value[table.value["alerts"] == 0]["est_cost_usd"].dropna().tolist()
    assert quiet == sorted(quiet, reverse=True)
    links = at.get("page_link")
    assert (links[-1].proto.page, links[-1].proto.query_string) == ("alerts", "range=24h")
    assert all(link.proto.page == "functions" for link in links[:-1])
    assert not at.error


def test_the_first_screen_lists_firing_worst_first_top_costs_and_what_changed():
    at = run(AppTest.from_file(APP, default_timeout=120))
    ov = same_as_domain(at)
    heads = [plain(m.value) for m in at.markdown]
    assert heads[:3] == [f"**Firing now** · {len(ov.firing)}", "**Top 5 by estimated cost** · 24h", "**What changed** · vs previous 24h"]
    links = [(plain(link.proto.label), link.proto.query_string) for link in at.get("page_link")]
    firing = [x for x in links if "&rule=" in x[1]][: len(ov.firing)]
    # worst first: the Overview's firing rows in order (critical, then the longest-standing), each opening its rule's panel
    assert [label.split(" · ")[:2] for label, _ in firing[: min(5, len(ov.firing))]] == [
        [f, r] for f, r in zip(ov.firing["function"], ov.firing["rule"], strict=True)
    ][:5]
    top = ov.top("est_cost_usd")
    assert len(top) == 5 and top["est_cost_usd"].is_monotonic_decreasing
    shown = [label for label, _ in links if label.split(" · ")[-1].startswith("$")]
    assert shown == [f"{f} · {registry.format('est_cost_usd', c)}" for f, c in zip(top["function"], top["est_cost_usd"], strict=True)]
    cost = next(t for t in ov.tiles if t.key == "est_cost")
    assert any(plain(c.value).startswith(f"Est. cost {cost.value_text()}") for c in at.caption)
    # switching the list to errors ranks by errors
    at.segmented_control(key="ov_top_by").set_value("errors")
    run(at)
    errs = ov.top("errors")
    assert [plain(m.value) for m in at.markdown][1] == "**Top 5 by errors** · 24h"
    labels = [plain(x.proto.label) for x in at.get("page_link")]
    expected = [f"{f} · {registry.format('errors', e)}" for f, e in zip(errs["function"], errs["errors"], strict=True)]
    assert [x for x in labels if x in expected] == expected


def test_a_team_filter_and_a_deep_link_narrow_tiles_table_and_links():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["range"] = "7d"
    at.query_params["region"] = "eu-west-1"
    run(at)
    assert "(7d)" in plain(at.caption[0].value)
    at.multiselect(key="f_team").set_value(["media"])
    run(at)
    table = at.dataframe[0].value
    assert len(table) > 0 and set(table["team"]) == {"media"} and set(table["region"]) == {"eu-west-1"}
    assert table["link"].str.endswith("&range=7d").all()
    assert at.metric[0].value == f"{table['invocations'].sum():,.0f}"
    ov = same_as_domain(at)
    assert [m.value for m in at.metric] == [t.value_text() for t in ov.tiles]
    # the estimated cost follows the filters (the table's sum); Cost Explorer's total says it covers whole accounts
    labels = {m.label: m.value for m in at.metric}
    assert labels["Est. cost (7d)"] == registry.format("est_cost_usd", table["est_cost_usd"].sum())
    assert "Lambda spend MTD · whole accounts" in labels
    links = at.get("page_link")
    assert all("team=media" in x.proto.query_string and "region=eu-west-1" in x.proto.query_string for x in links)  # drill-down keeps the filters
    link = links[-1]
    assert link.proto.query_string == "range=7d&region=eu-west-1&team=media"  # the Alerts page opens on the same selection


def test_a_denied_cost_explorer_shows_a_dash_and_one_sentence_while_the_rest_works(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, "{functions: 12, deny: ['ce:GetCostAndUsage']}")
    at = run(AppTest.from_file(APP, default_timeout=120))
    values = {m.label: m.value for m in at.metric}
    assert values["Lambda spend MTD"] == "—"
    assert all(values[k] != "—" for k in TILES[:4])
    assert [plain(e.value) for e in at.error] == [
        "Access denied in demo: the credentials may not call ce:GetCostAndUsage; grant it (see docs/iam-policy.json)."
    ]
    assert len(at.dataframe[0].value) == 12


def test_denied_metrics_are_said_once_per_region_and_the_page_still_lists_the_functions(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, "{functions: 12, deny: ['cloudwatch:GetMetricData']}")
    at = run(AppTest.from_file(APP, default_timeout=120))
    assert [m.value for m in at.metric][:5] == ["—"] * 5  # the estimated cost too: its usage could not be read
    assert at.metric[5].value.startswith("$")
    assert [plain(e.value) for e in at.error] == [
        f"Metrics missing for demo/{r}: Access denied in demo/{r}: the credentials may not call "
        "cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
        for r in ("eu-west-1", "us-east-1")
    ]
    assert len(at.dataframe[0].value) == 12
