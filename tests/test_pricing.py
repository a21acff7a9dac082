"""The Lambda price model against worked examples computed by hand from AWS's published prices.

Rates (us-east-1, https://aws.amazon.com/lambda/pricing/): requests $0.20 per 1M; on-demand
duration x86 $0.0000166667 / $0.000015 / $0.0000133334 per GB-s (tiers from 6 B and 15 B GB-s a
month), arm64 $0.0000133334 / $0.0000120001 / $0.0000106667 (from 7.5 B and 18.75 B); ephemeral
storage $0.0000000309 per GB-s above 512 MB; provisioned concurrency $0.0000041667 enabled +
$0.0000097222 executing per GB-s (arm64 $0.0000033334 + $0.0000077778); free tier 1M requests +
400,000 GB-s per account and month.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber

from aws import errors, session
from aws.meter import METER
from aws.session import Account
from dashboard.figures import pricing
from dashboard.figures.pricing import (
    PriceError,
    apply_free_tier,
    billed_duration_ms,
    compute_cost_usd,
    ephemeral_cost_usd,
    load_prices,
    provisioned_cost_usd,
    request_cost_usd,
)


@pytest.fixture(scope="module")
def book() -> pricing.PriceBook:
    return load_prices()


@pytest.fixture(scope="module")
def use1(book) -> pricing.Prices:
    return book.prices("us-east-1")


# --- requests and on-demand duration -----------------------------------------------------------


def test_x86_in_us_east_1(use1):
    # 3,000,000 invocations of 100 ms at 512 MB:
    # requests 3,000,000 × $0.0000002 = $0.60
    # GB-s 3,000,000 × 0.1 s × 512/1024 GB = 150,000 → 150,000 × $0.0000166667 = $2.500005
    assert request_cost_usd(requests=3_000_000, prices=use1) == pytest.approx(0.60, abs=1e-12)
    assert compute_cost_usd(gb_s=150_000, month_to_date_gb_s=0, arch="x86_64", prices=use1) == pytest.approx(
        2.500005, abs=1e-9
    )


def test_arm64_in_us_east_1(use1):
    # the same 150,000 GB-s on arm64: 150,000 × $0.0000133334 = $2.00001; requests cost the same
    assert compute_cost_usd(gb_s=150_000, arch="arm64", prices=use1) == pytest.approx(2.00001, abs=1e-9)
    assert use1.gb_second_rate("arm64") == 1.33334e-5
    assert use1.gb_second_rate("x86_64") == 1.66667e-5


def test_a_tier_boundary_crossed_mid_month(use1):
    # x86: 5.9 B GB-s already this month, a day of 0.2 B:
    # 0.1 B below 6 B at $0.0000166667 = $1,666.67; 0.1 B above at $0.000015 = $1,500.00 → $3,166.67
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=5.9e9, arch="x86_64", prices=use1) == pytest.approx(
        3166.67, abs=1e-6
    )
    # the second boundary: 14.9 B + 0.2 B → 0.1 B × $0.000015 + 0.1 B × $0.0000133334 = $1,500 + $1,333.34
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=14.9e9, arch="x86_64", prices=use1) == pytest.approx(
        2833.34, abs=1e-6
    )
    # arm64 tiers start at 7.5 B: 7.4 B + 0.2 B → 0.1 B × $0.0000133334 + 0.1 B × $0.0000120001 = $2,533.35
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=7.4e9, arch="arm64", prices=use1) == pytest.approx(
        2533.35, abs=1e-6
    )
    # x86 at 7.4 B is already wholly in the second tier: 0.2 B × $0.000015 = $3,000
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=7.4e9, arch="x86_64", prices=use1) == pytest.approx(
        3000.0, abs=1e-6
    )
    # a month crossing both x86 boundaries in one go: 6 B × 0.0000166667 + 9 B × 0.000015 + 1 B × 0.0000133334
    # = 100,000.2 + 135,000 + 13,333.4 = $248,333.60
    assert compute_cost_usd(gb_s=16e9, arch="x86_64", prices=use1) == pytest.approx(248_333.6, abs=1e-6)


def test_cost_functions_take_arrays(use1):
    got = compute_cost_usd(
        gb_s=np.array([0.2e9, 150_000.0, 0.0]), month_to_date_gb_s=np.array([5.9e9, 0.0, 6e9]), arch="x86", prices=use1
    )
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [3166.67, 2.500005, 0.0], rtol=0, atol=1e-6)
    with pytest.raises(PriceError, match="architecture 'sparc'"):
        compute_cost_usd(gb_s=1.0, arch="sparc", prices=use1)


# --- free tier ----------------------------------------------------------------------------------


def test_free_tier_consumed_over_the_first_days_of_the_month():
    # Every day: x86 200,000 requests + 100,000 GB-s, arm64 100,000 requests + 50,000 GB-s
    # (300,000 requests and 150,000 GB-s a day). Allowance: 1,000,000 requests, 400,000 GB-s.
    # requests: day 1-3 wholly free (900,000), day 4 takes the last 100,000, then none;
    # GB-s: days 1-2 free (300,000), day 3 the last 100,000 of its 150,000, then none.
    # A day's free amount is shared in proportion: day 4's 100,000 requests → 2/3 x86, 1/3 arm64.
    rows = []
    for d in pd.date_range("2026-11-01", "2026-11-05"):
        rows.append({"account": "a", "date": d, "arch": "x86_64", "requests": 200_000, "gb_s": 100_000.0})
        rows.append({"account": "a", "date": d, "arch": "arm64", "requests": 100_000, "gb_s": 50_000.0})
    usage = pd.DataFrame(rows).sample(frac=1.0, random_state=3)  # any row order
    out = apply_free_tier(usage=usage).sort_values(["date", "arch"], ascending=[True, False])
    assert out["requests_free"].tolist() == pytest.approx([
        200_000, 100_000,  # Nov 1
        200_000, 100_000,  # Nov 2
        200_000, 100_000,  # Nov 3
        100_000 * 2 / 3, 100_000 / 3,  # Nov 4: the last 100,000, 2:1
        0, 0,  # Nov 5
    ], abs=1e-6)  # fmt: skip
    assert out["gb_s_free"].tolist() == pytest.approx([
        100_000, 50_000,
        100_000, 50_000,
        100_000 / 1.5, 50_000 / 1.5,  # Nov 3: 100,000 of 150,000
        0, 0,
        0, 0,
    ], abs=1e-6)  # fmt: skip
    assert out["requests_free"].sum() == pytest.approx(1_000_000)
    assert out["gb_s_free"].sum() == pytest.approx(400_000)
    # the input's row order and extra columns are kept
    same = apply_free_tier(usage=usage)
    assert list(same.index) == list(usage.index)
    assert list(same.columns) == [*usage.columns, "requests_free", "gb_s_free"]


def test_free_tier_is_per_account_and_calendar_month():
    usage = pd.DataFrame(
        {
            "account": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2026-11-30", "2026-12-01", "2026-12-01", "2026-12-01"]),
            "requests": [1_500_000, 600_000, 600_000, 10.0],
            "gb_s": [0.0, 300_000.0, 300_000.0, 5.0],
        }
    )
    out = apply_free_tier(usage=usage)
    # a, Nov 30: 1.5 M requests, 1 M of them free; Dec 1 starts afresh: 1.2 M requests, 1 M free (half each)
    # a, Dec 1: 600,000 GB-s, 400,000 free (200,000 each); b has its own free tier
    assert out["requests_free"].tolist() == [1_000_000, 500_000, 500_000, 10.0]
    assert out["gb_s_free"].tolist() == [0.0, 200_000.0, 200_000.0, 5.0]


def test_free_tier_accepts_utc_timestamps_and_empty_frames():
    usage = pd.DataFrame(
        {
            "account": ["a", "a"],
            "date": pd.to_datetime(["2026-11-01T23:00Z", "2026-11-02T01:00Z"], utc=True),
            "requests": [600_000, 600_000],
            "gb_s": [0.0, 0.0],
        }
    )
    assert apply_free_tier(usage=usage)["requests_free"].tolist() == [600_000, 400_000]
    empty = apply_free_tier(usage=usage.iloc[0:0])
    assert empty.empty and {"requests_free", "gb_s_free"} <= set(empty.columns)
    with pytest.raises(ValueError, match="gb_s"):
        apply_free_tier(usage=usage.drop(columns="gb_s"))


# --- ephemeral storage, provisioned concurrency, INIT ----------------------------------------------


def test_ephemeral_storage(use1):
    # 10 GB of /tmp for 1,000,000 invocations of 1 s: (10 - 0.5) GB × 1,000,000 s = 9,500,000 GB-s
    # × $0.0000000309 = $0.29355
    assert ephemeral_cost_usd(gb_s_above_512_mb=9.5 * 1_000_000, prices=use1) == pytest.approx(0.29355, abs=1e-12)


def test_provisioned_concurrency(use1):
    # AWS's example: 1024 MB, 1,000 environments for 2 hours, 1,200,000 invocations of 1 s.
    # enabled: 1,000 × 1 GB × 7,200 s = 7,200,000 GB-s × $0.0000041667 = $30.00024
    # executing: 1,200,000 × 1 s × 1 GB = 1,200,000 GB-s × $0.0000097222 = $11.66664
    # (+ requests 1,200,000 × $0.0000002 = $0.24, priced apart) → $41.90688 in all
    pc = provisioned_cost_usd(enabled_gb_s=7_200_000, executing_gb_s=1_200_000, arch="x86_64", prices=use1)
    assert pc == pytest.approx(30.00024 + 11.66664, abs=1e-9)
    assert pc + request_cost_usd(requests=1_200_000, prices=use1) == pytest.approx(41.90688, abs=1e-9)
    # arm64: 7,200,000 × $0.0000033334 + 1,200,000 × $0.0000077778 = $24.00048 + $9.33336
    assert provisioned_cost_usd(
        enabled_gb_s=7_200_000, executing_gb_s=1_200_000, arch="arm64", prices=use1
    ) == pytest.approx(33.33384, abs=1e-9)


def test_billed_duration_includes_init_since_august_2025():
    # DESIGN.md's REPORT line: Duration 102.25 ms, Init Duration 150.20 ms
    # since 2025-08-01: ceil(102.25 + 150.20) = 253 ms; before, a managed runtime billed ceil(102.25) = 103 ms
    assert billed_duration_ms(duration_ms=102.25, init_ms=150.2, day=date(2025, 8, 1)) == 253.0
    assert billed_duration_ms(duration_ms=102.25, init_ms=150.2, day=date(2025, 7, 31), runtime="python3.12") == 103.0
    # custom runtimes and container images always billed INIT
    assert (
        billed_duration_ms(duration_ms=102.25, init_ms=150.2, day=date(2025, 7, 31), runtime="provided.al2023") == 253.0
    )
    assert billed_duration_ms(duration_ms=102.25, init_ms=150.2, day=date(2025, 7, 31), package_type="Image") == 253.0
    # exact milliseconds are not rounded up further
    assert billed_duration_ms(duration_ms=100.0, day=date(2026, 1, 1)) == 100.0


# --- regions, overrides, the price file ----------------------------------------------------------


def test_a_region_other_than_us_east_1(book):
    euw1 = book.prices("eu-west-1")
    assert (euw1.region, euw1.usage_type_prefix, euw1.assumed) == ("eu-west-1", "EU", False)
    # the file marks eu-west-1's storage and provisioned-concurrency rates as copied from us-east-1
    assert "ephemeral_gb_second" in euw1.assumed_fields and "gb_second" not in euw1.assumed_fields
    # Ireland, 2,000,000 arm64 invocations of 250 ms at 1024 MB with 5.9 B x86 GB-s and 7.45 B arm64 GB-s used:
    # GB-s 2,000,000 × 0.25 × 1 = 500,000; arm64 tier boundary at 7.5 B not reached (7.4505 B)
    # → 500,000 × $0.0000133334 = $6.6667; requests 2,000,000 × $0.0000002 = $0.40
    assert compute_cost_usd(gb_s=500_000, month_to_date_gb_s=7.45e9, arch="arm64", prices=euw1) == pytest.approx(
        6.6667, abs=1e-9
    )
    assert request_cost_usd(requests=2_000_000, prices=euw1) == pytest.approx(0.40, abs=1e-12)
    # … with 7.4999 B used: 100,000 GB-s at $0.0000133334 + 400,000 at $0.0000120001 = $1.33334 + $4.80004
    assert compute_cost_usd(gb_s=500_000, month_to_date_gb_s=7.4999e9, arch="arm64", prices=euw1) == pytest.approx(
        6.13338, abs=1e-9
    )


def test_overrides_from_config():
    # config.yaml: pricing: {eu-west-1: {gb_second: 0.0000175, gb_second_tiers: [[5e9, 0.000016]]},
    #                        cn-north-1: {gb_second: 0.0000221, request: 0.00000028}}
    book = load_prices(
        {
            "eu-west-1": {"gb_second": "0.0000175", "gb_second_tiers": [[5e9, 0.000016]]},
            "cn-north-1": {"gb_second": 0.0000221, "request": 0.00000028},
        }
    )
    euw1 = book.prices("eu-west-1")
    assert (euw1.gb_second, euw1.gb_second_tiers, euw1.source) == (0.0000175, ((5e9, 0.000016),), "config")
    # 4.9 B + 0.2 B: 0.1 B × $0.0000175 + 0.1 B × $0.000016 = $1,750 + $1,600
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=4.9e9, arch="x86_64", prices=euw1) == pytest.approx(
        3350.0, abs=1e-6
    )
    assert euw1.gb_second_arm == 1.33334e-5  # untouched fields keep the file's value
    cpt = book.prices("cn-north-1")  # not in the file: us-east-1's rates, two of them replaced
    assert (cpt.gb_second, cpt.request, cpt.assumed, cpt.source) == (0.0000221, 0.00000028, False, "config")
    assert cpt.gb_second_arm == 1.33334e-5 and "gb_second_arm" in cpt.assumed_fields
    assert "gb_second" not in cpt.assumed_fields
    # 1,000,000 x86 requests of 1 s at 128 MB there: 125,000 GB-s × $0.0000221 = $2.7625; requests $0.28
    assert compute_cost_usd(gb_s=125_000, arch="x86_64", prices=cpt) == pytest.approx(2.7625, abs=1e-9)
    assert request_cost_usd(requests=1_000_000, prices=cpt) == pytest.approx(0.28, abs=1e-12)
    # the file's book is not changed by overrides
    assert load_prices().prices("eu-west-1").gb_second == 1.66667e-5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"eu-west-1": {"gb_secnd": 1e-5}}, "pricing.eu-west-1.gb_secnd: unknown price field; use one of request, "),
        ({"eu-west-1": {"request": "cheap"}}, "pricing.eu-west-1.request: 'cheap' is not a number (USD per unit)"),
        ({"eu-west-1": {"request": -1}}, "pricing.eu-west-1.request: -1 must be a finite number ≥ 0"),
        ({"eu-west-1": {"request": True}}, "pricing.eu-west-1.request: True is not a number"),
        ({"eu-west-1": {"gb_second_tiers": [[6e9, 1e-5], [5e9, 1e-5]]}}, "tier starts must be > 0 and increasing"),
        ({"eu-west-1": {"gb_second_tiers": [[6e9]]}}, "gb_second_tiers[0]: expected [from_gb_s, usd_per_gb_s]"),
        ({"eu-west-1": 0.2}, "pricing.eu-west-1: expected a mapping of field: value"),
    ],
)
def test_bad_overrides_name_the_field(overrides, message):
    with pytest.raises(PriceError) as e:
        load_prices(overrides)
    assert message in str(e.value)


def test_an_unknown_region_is_priced_as_us_east_1_and_marked_assumed(book, use1):
    sae1 = book.prices("us-gov-west-1")  # GovCloud is billed apart: not in the file
    assert sae1.assumed is True and sae1.region == "us-gov-west-1"
    assert sae1.assumed_fields == frozenset(pricing.PRICE_FIELDS)
    assert (sae1.request, sae1.gb_second, sae1.tiers("arm64")) == (use1.request, use1.gb_second, use1.tiers("arm64"))
    assert book.assumed_regions(["us-east-1", "cn-north-1", "eu-west-1", "us-gov-west-1"]) == ["cn-north-1", "us-gov-west-1"]


def test_the_price_file_holds_the_main_regions_and_the_published_us_east_1_rates(book, use1):
    assert {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-1",
        "ap-northeast-1",
    } <= set(book.regions)
    assert (book.free_requests, book.free_gb_s) == (1_000_000, 400_000)
    assert use1.tiers("x86_64") == ((0.0, 1.66667e-5), (6e9, 1.5e-5), (1.5e10, 1.33334e-5))
    assert use1.tiers("arm64") == ((0.0, 1.33334e-5), (7.5e9, 1.20001e-5), (1.875e10, 1.06667e-5))
    assert use1.provisioned_rates("x86_64") == (4.1667e-6, 9.7222e-6)
    assert use1.provisioned_rates("arm64") == (3.3334e-6, 7.7778e-6)
    # every us-east-1 rate is verified (the streaming rate by the pricing page's streaming example: "$0.008 per GB")
    assert (use1.request, use1.ephemeral_gb_second, use1.assumed_fields) == (2e-7, 3.09e-8, frozenset())
    assert (use1.snapstart_cache_gb_second, use1.snapstart_restore_gb, use1.streaming_gb) == (1.5046e-6, 1.397998e-4, 0.008)


def test_the_price_file_covers_every_commercial_region_with_its_date_and_source(book):
    from dashboard.config.settings import aws_regions

    commercial = {r for r in aws_regions() if not r.startswith(("cn-", "us-gov-", "us-iso", "eu-isoe", "eusc-"))}
    assert commercial <= set(book.regions), sorted(commercial - set(book.regions))
    assert book.as_of  # the day the rates were last checked
    raw = json.loads(pricing.PRICE_FILE.read_text())
    for region, entry in raw["regions"].items():
        assert entry["source"], region
        assert set(entry["assumed"]) <= set(pricing.PRICE_FIELDS), region
        # every region carries the SnapStart and streaming rates the cost model reads
        assert {"snapstart_cache_gb_second", "snapstart_restore_gb", "streaming_gb"} <= set(entry), region
    # a region the file has but whose rates were not verified is not "assumed" as a whole, its fields are
    ape1 = book.prices("ap-east-1")
    assert not ape1.assumed and "gb_second" in ape1.assumed_fields
    assert ape1.gb_second == pytest.approx(2.292e-5)  # about 37.5 % above us-east-1 (the issue: "27 % low")


def test_an_old_price_file_without_the_newer_rates_still_loads(tmp_path):
    raw = json.loads(pricing.PRICE_FILE.read_text())
    for entry in raw["regions"].values():
        for k in ("snapstart_cache_gb_second", "snapstart_restore_gb", "streaming_gb", "source"):
            entry.pop(k)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    euw1 = load_prices(path=old).prices("eu-west-1")
    assert euw1.snapstart_restore_gb == 1.397998e-4  # us-east-1's published rate stands in …
    assert {"snapstart_cache_gb_second", "snapstart_restore_gb", "streaming_gb"} <= euw1.assumed_fields  # … marked
    # and the new fields can be overridden from config.yaml
    assert load_prices({"eu-west-1": {"streaming_gb": 0.009}}).prices("eu-west-1").streaming_gb == 0.009


# --- the AWS Price List API ------------------------------------------------------------------------


def _product(sku: str, usagetype: str, group: str, dims: list[tuple[str, str, str]], region: str = "us-east-1") -> str:
    """One GetProducts PriceList item as AWS sends it: a JSON string (aws_v1 format)."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "Serverless",
                "attributes": {
                    "regionCode": region,
                    "servicecode": "AWSLambda",
                    "usagetype": usagetype,
                    "locationType": "AWS Region",
                    "location": "US East (N. Virginia)",
                    "servicename": "AWS Lambda",
                    "operation": "",
                    "group": group,
                    "groupDescription": f"{group} for AWS Lambda",
                },
                "sku": sku,
            },
            "serviceCode": "AWSLambda",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.{i}": {
                                "unit": "Lambda-GB-Second"
                                if "GB" in usagetype or "Concurrency" in usagetype
                                else "Requests",
                                "endRange": end,
                                "description": f"AWS Lambda - {group} - US East (N. Virginia)",
                                "appliesTo": [],
                                "rateCode": f"{term}.{i}",
                                "beginRange": begin,
                                "pricePerUnit": {"USD": usd},
                            }
                            for i, (begin, end, usd) in enumerate(dims)
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


_PAGE_1 = [
    _product("A1", "USE1-Request", "AWS-Lambda-Requests", [("0", "Inf", "0.0000002000")]),
    _product("A2", "USE1-Request-ARM", "AWS-Lambda-Requests-ARM", [("0", "Inf", "0.0000002000")]),
    _product(
        "A3",
        "USE1-Lambda-GB-Second",
        "AWS-Lambda-Duration",
        # as AWS lists them: not sorted by range
        [
            ("15000000000", "Inf", "0.0000133334"),
            ("0", "6000000000", "0.0000166667"),
            ("6000000000", "15000000000", "0.0000150000"),
        ],
    ),
    _product(
        "A4",
        "USE1-Lambda-GB-Second-ARM",
        "AWS-Lambda-Duration-ARM",
        [
            ("0", "7500000000", "0.0000133334"),
            ("7500000000", "18750000000", "0.0000120001"),
            ("18750000000", "Inf", "0.0000106667"),
        ],
    ),
    _product("A5", "USE1-Lambda-Edge-Request", "AWS-Lambda-Edge-Requests", [("0", "Inf", "0.0000006000")]),
]
_PAGE_2 = [
    _product(
        "B1",
        "USE1-Lambda-Provisioned-Concurrency",
        "AWS-Lambda-Provisioned-Concurrency",
        [("0", "Inf", "0.0000041667")],
    ),
    _product(
        "B2",
        "USE1-Lambda-Provisioned-Concurrency-ARM",
        "AWS-Lambda-Provisioned-Concurrency-ARM",
        [("0", "Inf", "0.0000033334")],
    ),
    _product(
        "B3", "USE1-Lambda-Provisioned-GB-Second", "AWS-Lambda-Duration-Provisioned", [("0", "Inf", "0.0000097222")]
    ),
    _product(
        "B4",
        "USE1-Lambda-Provisioned-GB-Second-ARM",
        "AWS-Lambda-Duration-Provisioned-ARM",
        [("0", "Inf", "0.0000077778")],
    ),
    # a newer storage price than the file's, to see it taken; the ARM twin must not win over it
    _product(
        "B6", "USE1-Lambda-Storage-GB-Second-ARM", "AWS-Lambda-Storage-Duration-ARM", [("0", "Inf", "0.0000000400")]
    ),
    _product("B5", "USE1-Lambda-Storage-GB-Second", "AWS-Lambda-Storage-Duration", [("0", "Inf", "0.0000000300")]),
]


def _request(token: str | None = None, region: str = "us-east-1") -> dict:
    req = {
        "ServiceCode": "AWSLambda",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "FormatVersion": "aws_v1",
    }
    if token:
        req["NextToken"] = token
    return req


@pytest.fixture
def price_list_account():
    acct = Account(name="pricing-test", regions=("us-east-1",), max_attempts=1)
    stub = Stubber(session.client(acct, "pricing", "us-east-1"))
    with stub:
        yield acct, stub


def test_price_list_refresh_reads_every_page_and_the_tiers(price_list_account):
    acct, stub = price_list_account
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": _PAGE_1, "NextToken": "p2"}, _request())
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": _PAGE_2}, _request("p2"))
    book = pricing.refresh_from_price_list(account=acct, region="us-east-1")
    stub.assert_no_pending_responses()
    p = book.prices("us-east-1")
    assert (p.source, p.assumed, p.usage_type_prefix) == ("price_list", False, "USE1")
    assert p.tiers("x86_64") == ((0.0, 1.66667e-5), (6e9, 1.5e-5), (1.5e10, 1.33334e-5))
    assert p.tiers("arm64") == ((0.0, 1.33334e-5), (7.5e9, 1.20001e-5), (1.875e10, 1.06667e-5))
    assert p.request == 2e-7  # not Lambda@Edge's $0.0000006
    assert p.ephemeral_gb_second == 3.0e-8  # the x86 storage product, listed after its ARM twin
    assert p.provisioned_rates("x86_64") == (4.1667e-6, 9.7222e-6)
    assert p.provisioned_rates("arm64") == (3.3334e-6, 7.7778e-6)
    # the refreshed book prices like the file's: the mid-month tier example again
    assert compute_cost_usd(gb_s=0.2e9, month_to_date_gb_s=5.9e9, arch="x86_64", prices=p) == pytest.approx(3166.67)
    # other regions keep the file's rates
    assert book.prices("eu-west-1") == load_prices().prices("eu-west-1")

    # cached for a day: the same question again makes no call (the Stubber has no answer left)
    before = METER.snapshot().count("GetProducts", "pricing")
    again = pricing.refresh_from_price_list(account=acct, region="us-east-1")
    assert again.prices("us-east-1") == p
    assert METER.snapshot().count("GetProducts", "pricing") == before
    from aws import cache

    assert cache.source("pricing").ttl_s == 86_400


def test_price_list_refresh_of_a_region_missing_from_the_file(price_list_account):
    acct, stub = price_list_account
    items = [
        _product("C1", "APS3-Request", "AWS-Lambda-Requests", [("0", "Inf", "0.0000002000")], region="ap-south-2"),
        _product(
            "C2",
            "APS3-Lambda-GB-Second",
            "AWS-Lambda-Duration",
            [("0", "6000000000", "0.0000183334"), ("6000000000", "Inf", "0.0000165")],
            region="ap-south-2",
        ),
    ]
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": items}, _request(region="ap-south-2"))
    p = pricing.refresh_from_price_list(account=acct, region="ap-south-2").prices("ap-south-2")
    assert (p.assumed, p.usage_type_prefix, p.gb_second, p.gb_second_tiers) == (
        False,
        "APS3",
        1.83334e-5,
        ((6e9, 1.65e-5),),
    )
    # what the Price List did not give stays us-east-1's, and is listed as assumed
    assert (
        "gb_second_arm" in p.assumed_fields
        and "gb_second" not in p.assumed_fields
        and "request" not in p.assumed_fields
    )


def test_price_list_errors_are_typed_and_not_cached(price_list_account):
    acct, stub = price_list_account
    stub.add_client_error(
        "get_products", "AccessDeniedException", "User is not authorized", 400, expected_params=_request()
    )
    with pytest.raises(errors.AccessDenied) as e:
        pricing.refresh_from_price_list(account=acct, region="us-east-1")
    assert e.value.iam_action == "pricing:GetProducts"
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []}, _request())
    with pytest.raises(PriceError, match="no AWS Lambda prices for us-east-1"):
        pricing.refresh_from_price_list(account=acct, region="us-east-1")


def _recorded(sku: str, group: str, description: str, unit: str, usd: str) -> dict:
    """A us-east-1 AWSLambda product as GetProducts gives it, without a usage type: the SKU, group description,
    unit and price are the ones published for us-east-1 (AWS Pricing API, effective 2025-10-01, as transcribed in
    a public record of a Pricing API query); ``group`` is the Price List's where a source names it, else "". The
    usage-type strings of these products were found in no source, so none is made up here."""
    term = f"{sku}.JRTCKXETXF"
    attrs = {"regionCode": "us-east-1", "servicecode": "AWSLambda", "location": "US East (N. Virginia)",
             "group": group, "groupDescription": description}  # fmt: skip
    dim = {"unit": unit, "beginRange": "0", "endRange": "Inf", "pricePerUnit": {"USD": usd}}
    return {"product": {"productFamily": "Serverless", "attributes": attrs, "sku": sku},
            "terms": {"OnDemand": {term: {"priceDimensions": {f"{term}.6YS6EN2CT7": dim}, "sku": sku}}}}  # fmt: skip


_SNAPSTART_AND_STREAMING = [
    _recorded("WRKYMVM4XSRFFQ7B", "", "Duration snapshot is cached, weighted by memory and disk", "GB-Seconds",
              "0.0000015046"),
    _recorded("W3GTWG4PTZMXZ4F2", "", "Snapshot GB restored, measured in GB of memory and disk", "GB", "0.0001397998"),
    _recorded("RJKWHBCSDT32Z53D", "AWS-Lambda-Processed-Bytes",
              "Processed bytes for streamed response from Lambda invocation", "Processed-Gigabytes", "0.008"),
    _recorded("NCWFKF9SX4W4MNY5", "AWS-Lambda-Processed-Bytes-ARM",
              "Processed bytes for streamed response from Lambda invocation for ARM", "Processed-Gigabytes", "0.008"),
    # another Lambda product, not a rate of the price file: ignored
    _recorded("E9QEPQBP6HKCU5DW", "", "Duration weighted by Event Poller Units for Provisioned ESM",
              "Event-Poller-Unit-Hours", "0.185"),
]  # fmt: skip


def test_price_list_refresh_maps_snapstart_and_streaming():
    # a region whose SnapStart and streaming rates are unknown (zero, assumed) until the Price List answers
    use1 = load_prices().prices("us-east-1")
    base = dataclasses.replace(
        use1,
        snapstart_cache_gb_second=0.0,
        snapstart_restore_gb=0.0,
        streaming_gb=0.0,
        assumed_fields=frozenset({"snapstart_cache_gb_second", "snapstart_restore_gb", "streaming_gb", "request"}),
    )
    got = pricing.prices_from_price_list(_SNAPSTART_AND_STREAMING, region="us-east-1", base=base)
    assert (got.snapstart_cache_gb_second, got.snapstart_restore_gb, got.streaming_gb) == (1.5046e-6, 1.397998e-4, 0.008)
    assert got.assumed_fields == {"request"} and got.source == "price_list"  # what it did not answer stays assumed
    assert got.request == use1.request and got.gb_second == use1.gb_second  # ... and keeps its value
    # matched by group description alone (no group), spacing and case as AWS may vary them
    again = [json.dumps(p).replace("Snapshot GB restored, measured", "snapshot GB  restored, measured")
             for p in _SNAPSTART_AND_STREAMING[:2]]  # fmt: skip
    only = pricing.prices_from_price_list(again, region="us-east-1", base=base)
    assert (only.snapstart_cache_gb_second, only.snapstart_restore_gb, only.streaming_gb) == (1.5046e-6, 1.397998e-4, 0.0)
    # nothing Lambda Lens prices: the usual sentence
    with pytest.raises(pricing.PriceError, match="no AWS Lambda prices for us-east-1"):
        pricing.prices_from_price_list(_SNAPSTART_AND_STREAMING[4:], region="us-east-1", base=base)
