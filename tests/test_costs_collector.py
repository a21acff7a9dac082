"""Cost Explorer collector: moto's server with injected results (paging, tags), Stubber for the forecast."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
import requests
from botocore.stub import Stubber

from aws import costs, errors, session
from aws.meter import METER


def _day(d: str, groups: list[tuple[str, str]], estimated=False) -> dict:
    nxt = (pd.Timestamp(d) + pd.Timedelta(days=1)).date().isoformat()
    return {
        "TimePeriod": {"Start": d, "End": nxt},
        "Total": {},
        "Groups": [
            {"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v, "Unit": "USD"}, "UsageQuantity": {"Amount": "1", "Unit": "N/A"}}}
            for k, v in groups
        ],
        "Estimated": estimated,
    }


def _queue(url: str, results: list[dict]) -> None:
    r = requests.post(f"{url}/moto-api/static/ce/cost-and-usage-results", data=json.dumps({"results": results}), timeout=10)
    assert r.status_code == 201


def test_request_keys_have_a_fixed_order():
    a = costs.cost_request(start=date(2026, 11, 1), end=date(2026, 11, 26), group_by="TAG:team")
    b = costs.cost_request(start=date(2026, 11, 1), end=date(2026, 11, 26), group_by="TAG:team")
    assert json.dumps(a) == json.dumps(b)
    assert list(a) == ["TimePeriod", "Granularity", "Filter", "Metrics", "GroupBy"]
    assert a["Filter"] == {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}}
    assert a["GroupBy"] == [{"Type": "TAG", "Key": "team"}]
    with pytest.raises(ValueError):
        costs.cost_request(start=date(2026, 11, 1), end=date(2026, 11, 2), group_by="REGION")


def test_tag_groups_and_every_page_followed(moto_account, moto_url):
    _queue(
        moto_url,
        [
            {"ResultsByTime": [_day("2026-11-01", [("team$payments", "1.25"), ("team$", "0.50")])], "NextPageToken": "page2"},
            {"ResultsByTime": [_day("2026-11-02", [("team$payments", "2.00"), ("team$media", "0.75")], estimated=True)]},
        ],
    )
    frame = costs.daily_costs(account=moto_account, start=date(2026, 11, 1), end=date(2026, 11, 3), group_by="TAG:team")
    assert list(frame.columns) == list(costs.SCHEMA)
    rows = [(str(d.date()), g, c, e) for d, g, c, e in frame[["date", "group", "cost_usd", "estimated"]].itertuples(index=False)]
    assert rows == [
        ("2026-11-01", "payments", 1.25, False),
        ("2026-11-01", "", 0.50, False),
        ("2026-11-02", "payments", 2.00, True),
        ("2026-11-02", "media", 0.75, True),
    ]
    assert (frame["group_by"] == "TAG:team").all()
    snap = METER.snapshot()
    assert snap.count("GetCostAndUsage") == 2
    assert snap.ce_requests == 2
    assert snap.cost_usd == pytest.approx(0.02)


def test_usage_type_groups(moto_account, moto_url):
    _queue(moto_url, [{"ResultsByTime": [_day("2026-11-05", [("USE1-Request", "0.20"), ("USE1-Lambda-GB-Second", "3.10")])]}])
    frame = costs.daily_costs(account=moto_account, start=date(2026, 11, 5), end=date(2026, 11, 6), group_by="USAGE_TYPE")
    assert dict(zip(frame["group"], frame["cost_usd"], strict=True)) == {"USE1-Request": 0.2, "USE1-Lambda-GB-Second": 3.1}
    assert frame["cost_usd"].sum() == pytest.approx(3.3)


def test_nothing_queued_is_an_empty_frame(moto_account):
    frame = costs.daily_costs(account=moto_account, start=date(2026, 11, 5), end=date(2026, 11, 6))
    assert frame.empty and list(frame.columns) == list(costs.SCHEMA)


def _stubbed(account):
    c = session.client(account, "ce", session.CE_REGION)
    return Stubber(c)


def test_forecast_request_and_frame():
    acct = session.Account(name="prod")
    stub = _stubbed(acct)
    expected = {
        "TimePeriod": {"Start": "2026-11-26", "End": "2026-12-01"},
        "Metric": "UNBLENDED_COST",
        "Granularity": "MONTHLY",
        "Filter": {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}},
        "PredictionIntervalLevel": 80,
    }
    stub.add_response(
        "get_cost_forecast",
        {
            "Total": {"Amount": "120.5", "Unit": "USD"},
            "ForecastResultsByTime": [
                {
                    "TimePeriod": {"Start": "2026-11-26", "End": "2026-12-01"},
                    "MeanValue": "120.5",
                    "PredictionIntervalLowerBound": "100",
                    "PredictionIntervalUpperBound": "140",
                }
            ],
        },
        expected,
    )
    with stub:
        f = costs.forecast(account=acct, start=date(2026, 11, 26), end=date(2026, 12, 1))
    stub.assert_no_pending_responses()
    assert f[["mean_usd", "lower_usd", "upper_usd"]].iloc[0].tolist() == [120.5, 100.0, 140.0]


def test_cost_explorer_denied_is_access_denied_naming_the_action():
    acct = session.Account(name="prod")
    stub = _stubbed(acct)
    stub.add_client_error("get_cost_and_usage", service_error_code="AccessDeniedException", service_message="User is not authorized to perform: ce:GetCostAndUsage", http_status_code=400)
    with stub, pytest.raises(errors.AccessDenied) as info:
        costs.daily_costs(account=acct, start=date(2026, 11, 1), end=date(2026, 11, 2))
    assert info.value.iam_action == "ce:GetCostAndUsage"
    assert str(info.value) == (
        "Access denied in prod: the credentials may not call ce:GetCostAndUsage; grant it (see docs/iam-policy.json)."
    )


def test_cost_explorer_not_enabled():
    acct = session.Account(name="prod")
    stub = _stubbed(acct)
    stub.add_client_error("get_cost_and_usage", service_error_code="DataUnavailableException", service_message="Data is not available.", http_status_code=400)
    with stub, pytest.raises(errors.NotEnabled, match="Cost Explorer is not enabled in prod"):
        costs.daily_costs(account=acct, start=date(2026, 11, 1), end=date(2026, 11, 2))


def test_monthly_totals(moto_account, moto_url):
    req = costs.cost_request(start=date(2026, 9, 1), end=date(2026, 12, 1), group_by=None, granularity="MONTHLY")
    assert list(req) == ["TimePeriod", "Granularity", "Filter", "Metrics"] and req["Granularity"] == "MONTHLY"
    month = [("2026-09-01", "2026-10-01", "0", "0"), ("2026-10-01", "2026-11-01", "0", "5000"), ("2026-11-01", "2026-12-01", "4.20", "9000")]
    _queue(
        moto_url,
        [
            {
                "ResultsByTime": [
                    {
                        "TimePeriod": {"Start": a, "End": b},
                        "Total": {"UnblendedCost": {"Amount": c, "Unit": "USD"}, "UsageQuantity": {"Amount": u, "Unit": "N/A"}},
                        "Groups": [],
                        "Estimated": False,
                    }
                    for a, b, c, u in month
                ]
            }
        ],
    )
    frame = costs.monthly_costs(account=moto_account, start=date(2026, 9, 1), end=date(2026, 12, 1))
    assert list(frame.columns) == list(costs.SCHEMA)
    assert [(f"{d:%Y-%m}", c, u) for d, c, u in frame[["date", "cost_usd", "usage_quantity"]].itertuples(index=False)] == [
        ("2026-09", 0.0, 0.0),
        ("2026-10", 0.0, 5000.0),
        ("2026-11", 4.2, 9000.0),
    ]
    assert METER.snapshot().count("GetCostAndUsage") == 1
    with pytest.raises(ValueError):
        costs.cost_request(start=date(2026, 9, 1), end=date(2026, 12, 1), group_by=None, granularity="HOURLY")
