"""``python -m dashboard prices``: the price book per region, and a refresh from the AWS Price List.

moto (5.2.5) has no ``pricing`` service, so the Price List is a local HTTP server answering
GetProducts as AWS does (JSON 1.1, ``AWSPriceListService.GetProducts``, PriceList items as JSON
strings, NextToken paging); the account reaches it through its ``endpoint_url``.
"""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from aws import cache
from dashboard.cli import main
from dashboard.figures.pricing import load_prices


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _product(region: str, usagetype: str, dims: list[tuple[str, str]]) -> str:
    """One PriceList item (aws_v1): the usage type and its OnDemand price dimensions (begin range, USD)."""
    term = "SKU.JRTCKXETXF"
    return json.dumps(
        {
            "product": {"attributes": {"regionCode": region, "usagetype": usagetype, "servicecode": "AWSLambda"}},
            "serviceCode": "AWSLambda",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.{i}": {
                                "beginRange": begin,
                                "pricePerUnit": {"USD": usd},
                                "unit": "Lambda-GB-Second",
                            }
                            for i, (begin, usd) in enumerate(dims)
                        }
                    }
                }
            },
        }
    )


# ap-east-1 (Hong Kong) as a Price List might answer it: the request rate and the first x86 duration tier equal
# the price file's (where they are listed as assumed), the later tiers differ
_HK = [
    _product("ap-east-1", "APE1-Request", [("0", "0.0000002000")]),
    _product(
        "ap-east-1",
        "APE1-Lambda-GB-Second",
        [("0", "0.0000229200"), ("6000000000", "0.0000206300"), ("15000000000", "0.0000183400")],
    ),
]


class _PriceList(BaseHTTPRequestHandler):
    pages: dict[str, list[list[str]]] = {}
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        type(self).seen.append({"target": self.headers.get("X-Amz-Target"), **body})
        region = next(f["Value"] for f in body["Filters"] if f["Field"] == "regionCode")
        pages = type(self).pages.get(region, [[]])
        i = int(body.get("NextToken") or 0)
        answer = {"FormatVersion": "aws_v1", "PriceList": pages[i]}
        if i + 1 < len(pages):
            answer["NextToken"] = str(i + 1)
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def price_list(tmp_path):
    _PriceList.pages = {"ap-east-1": [_HK[:1], _HK[1:]]}  # two pages
    _PriceList.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PriceList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cache.source("pricing").clear()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "accounts:\n"
        "  - {name: demo, demo: true}\n"
        f"  - {{name: prod, endpoint_url: 'http://127.0.0.1:{server.server_port}', regions: [ap-east-1]}}\n"
        "aws: {max_attempts: 1}\n"
    )
    try:
        yield str(cfg)
    finally:
        server.shutdown()
        server.server_close()
        cache.source("pricing").clear()


def test_prices_lists_every_region_with_its_source_and_assumed_rates():
    code, out, err = run("prices", "--format", "json")
    assert (code, err) == (0, "")
    rows = {r["region"]: r for r in json.loads(out)}
    assert set(rows) == set(load_prices().regions)
    use1, hk = rows["us-east-1"], rows["ap-east-1"]
    assert (use1["source"], use1["gb_second_usd"], use1["assumed_prices"]) == ("file", 1.66667e-5, "")
    assert hk["gb_second_usd"] == 2.292e-5 and "gb_second" in hk["assumed_prices"].split(", ")
    assert use1["as_of"] == load_prices().as_of != ""


def test_refresh_prints_what_changed_and_writes_a_pricing_section(price_list, tmp_path):
    target = tmp_path / "prices.yaml"
    code, out, err = run(
        "prices", "--config", price_list, "--refresh", "ap-east-1", "--write", str(target), "--format", "json"
    )
    assert code == 0, err
    # GetProducts through the account's endpoint, filtered on the region, every page followed
    assert [s["target"] for s in _PriceList.seen] == ["AWSPriceListService.GetProducts"] * 2
    assert _PriceList.seen[0]["ServiceCode"] == "AWSLambda"
    changes = {r["field"]: r for r in json.loads(out)}
    # the later x86 tiers differ from the file's (which scaled us-east-1's discounts); the request rate and the
    # first tier are the same but were assumed: now verified, they are listed too (changed: false)
    assert {f: r["changed"] for f, r in changes.items()} == {
        "request": False,
        "gb_second": False,
        "gb_second_tiers": True,
    }
    assert json.loads(changes["gb_second_tiers"]["current"]) == [[6e9, 2.0628e-5], [1.5e10, 1.8336e-5]]
    assert json.loads(changes["gb_second_tiers"]["price_list"]) == [[6e9, 2.063e-5], [1.5e10, 1.834e-5]]
    assert f"wrote 3 rate(s) to {target}" in err
    written = yaml.safe_load(target.read_text())
    assert written == {
        "pricing": {
            "ap-east-1": {
                "request": 2e-7,
                "gb_second": 2.292e-5,
                "gb_second_tiers": [[6e9, 2.063e-5], [1.5e10, 1.834e-5]],
            }
        }
    }
    # the section is what config.yaml's pricing: takes: merged, those rates are no longer assumed
    hk = load_prices(written["pricing"]).prices("ap-east-1")
    assert hk.gb_second_tiers == ((6e9, 2.063e-5), (1.5e10, 1.834e-5))
    assert not {"request", "gb_second", "gb_second_tiers"} & hk.assumed_fields and "gb_second_arm" in hk.assumed_fields
    # asked again within the day: the cached answer, no new request
    assert run("prices", "--config", price_list, "--refresh", "ap-east-1")[0] == 0 and len(_PriceList.seen) == 2


def test_refresh_failures_are_one_sentence_each(price_list):
    code, out, err = run("prices", "--config", price_list, "--refresh", "eu-west-2")  # the stub has nothing for it
    assert code == 1
    assert err == "error: eu-west-2: the Price List has no AWS Lambda prices for eu-west-2\n"
    code, _, err = run("prices", "--config", price_list, "--refresh", "us-east-9")
    assert (code, err) == (2, "error: --refresh: 'us-east-9' is not an AWS region (e.g. us-east-1, eu-west-1)\n")
    code, _, err = run("prices", "--write", "x.yaml")
    assert (code, err) == (
        2,
        "error: --write needs --refresh REGION: there is nothing to write without reading the Price List\n",
    )


@pytest.mark.aws
def test_the_simulated_account_has_no_price_list(price_list):
    code, _, err = run("prices", "--config", price_list, "--refresh", "ap-east-1", "--account", "demo")
    assert code == 1 and err.startswith("error: ap-east-1: ") and len(err.splitlines()) == 1


def test_refresh_needs_a_real_account(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("accounts:\n  - {name: demo, demo: true}\n")
    code, _, err = run("prices", "--config", str(cfg), "--refresh", "us-east-1")
    assert code == 2 and "configure a real (not demo) account, or pass --account" in err
