"""Answers that are not AWS's are errors, not an empty account (aws.answers, aws.errors.BadResponse).

A small HTTP server on 127.0.0.1 answers every request the way a wrong endpoint or a proxy does:
an HTML page with 200, truncated JSON, an empty body, a body shorter than its Content-Length, a
proxy's 403 / 502 page. Each collector (Lambda inventory, CloudWatch metrics, Cost Explorer, and SES
for the query/XML protocol) must raise BadResponse with one sentence naming the service, the HTTP
status and the content type, and none of the body; the CLI must exit 1 with one sentence per part.
"""

from __future__ import annotations

import http.server
import io
import threading
from datetime import UTC, date, datetime, timedelta

import botocore.exceptions as bce
import pytest

from aws import costs, errors
from aws import functions as inventory
from aws import metrics as cw
from aws.frames import typed_frame
from aws.meter import METER
from aws.session import Account, call
from dashboard.cli import main

PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n<body>\n"
    b"<p>You are not authorized to reach this site. Please sign in.</p>\n<p>Reference 4711</p>\n</body></html>\n"
)
BODY_WORDS = ("Sign in", "Corporate", "<html", "Reference", "FunctionName", "ResultsByTime", "{")

# id → (status, content type, body, declared Content-Length or None for the body's own)
ANSWERS = {
    "html-200": (200, "text/html; charset=utf-8", PAGE, None),
    "truncated-json": (200, "application/x-amz-json-1.1", b'{"Functions": [{"FunctionName": "a"}, {"Functi', None),
    "empty-body": (200, "application/json", b"", None),
    "shorter-than-content-length": (200, "application/json", b'{"Functions": [], "ResultsByTime": []}', 4096),
    "proxy-403": (403, "text/html", PAGE, None),
    "proxy-502": (502, "text/html", PAGE, None),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    answer = ANSWERS["html-200"]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, ctype, body, declared = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="bad-answers", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def answering(server_url):
    """``answering(case_id)`` makes the server give that answer; returns an account pointed at it."""

    def set_answer(case: str, *, max_attempts: int = 1) -> Account:
        _Handler.answer = ANSWERS[case]
        return Account(name="x", endpoint_url=server_url, max_attempts=max_attempts)

    yield set_answer
    _Handler.answer = ANSWERS["html-200"]


NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _metrics(account: Account):
    no_optional = typed_frame([], cw.DISCOVERY_SCHEMA)
    return cw.lambda_metrics(
        account=account, region="us-east-1", functions=["a"], start=NOW - timedelta(hours=1), end=NOW, optional=no_optional
    )


COLLECTORS = {
    # id → (collect(account), service title and where, operation)
    "lambda-inventory": (lambda a: inventory.functions(account=a, region="us-east-1"), "Lambda in x/us-east-1", "ListFunctions"),
    "cloudwatch-metrics": (_metrics, "CloudWatch in x/us-east-1", "GetMetricData"),
    "cost-explorer": (
        lambda a: costs.daily_costs(account=a, start=date(2026, 1, 1), end=date(2026, 1, 5)),
        "Cost Explorer in x",
        "GetCostAndUsage",
    ),
    "ses-query-xml": (
        lambda a: call(a, "ses", "us-east-1", "send_raw_email", Source="a@example.com", RawMessage={"Data": b"Subject: x\n\nx"}),
        "SES in x/us-east-1",
        "SendRawEmail",
    ),
}


def _detail(case: str) -> str:
    status, ctype, body, declared = ANSWERS[case]
    media = ctype.split(";")[0]
    if declared is not None:
        return f"HTTP {status} {media}, cut short ({len(body):,} of {declared:,} bytes), not a whole AWS response"
    return f"HTTP {status} {media}, not an AWS response"


@pytest.mark.parametrize("case", list(ANSWERS))
@pytest.mark.parametrize("collector", list(COLLECTORS))
def test_a_collector_fails_with_one_sentence_naming_service_status_and_content_type(answering, collector, case):
    collect, where, operation = COLLECTORS[collector]
    account = answering(case)
    with pytest.raises(errors.BadResponse) as got:
        collect(account)
    e = got.value
    assert str(e) == f"{where} answered {operation} with {_detail(case)}; check endpoint_url or the proxy in between."
    assert "\n" not in str(e)
    assert not any(word in str(e) for word in BODY_WORDS)  # none of the body, not even the page's "not authorized"
    assert (e.status, e.content_type, e.operation, e.account) == (ANSWERS[case][0], ANSWERS[case][1].split(";")[0], operation, "x")


def test_a_proxy_page_saying_not_authorized_is_not_access_denied(answering):
    account = answering("proxy-403")
    with pytest.raises(errors.AwsError) as got:
        inventory.functions(account=account, region="us-east-1")
    assert type(got.value) is errors.BadResponse  # the page says "not authorized"; AWS did not


def test_a_bad_5xx_answer_keeps_botocores_retries(answering, monkeypatch):
    """A 502 page may be a load balancer's transient one: botocore retries it as any 5xx, then BadResponse."""
    monkeypatch.setattr("time.sleep", lambda s: None)  # botocore's backoff between attempts
    account = answering("proxy-502", max_attempts=3)
    with pytest.raises(errors.BadResponse, match=r"with HTTP 502 text/html, not an AWS response"):
        inventory.functions(account=account, region="us-east-1")
    assert METER.snapshot().attempts[("x", "us-east-1", "lambda", "ListFunctions")] == 3


def test_a_bad_200_answer_is_not_retried(answering):
    account = answering("html-200", max_attempts=3)
    with pytest.raises(errors.BadResponse):
        inventory.functions(account=account, region="us-east-1")
    assert METER.snapshot().attempts[("x", "us-east-1", "lambda", "ListFunctions")] == 1


def test_an_upstream_error_message_is_cut_to_one_short_line():
    page = "<!DOCTYPE html>\n<html><head><title>Bad request</title></head>\n<body>\n" + "<p>Something went wrong.</p>\n" * 20
    exc = bce.ClientError({"Error": {"Code": "ValidationError", "Message": page}}, "GetMetricData")
    e = errors.translate(exc, service="cloudwatch", operation="GetMetricData", account="x", region="us-east-1")
    assert isinstance(e, errors.InvalidRequest)
    assert "\n" not in str(e)
    assert str(e).startswith("AWS refused cloudwatch GetMetricData in x/us-east-1: ValidationError: <!DOCTYPE html> <html><head>")
    code, message = e.detail.split(": ", 1)
    assert code == "ValidationError" and len(message) <= 200 and message.endswith("…")


def _config(tmp_path, url: str) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"accounts:\n  - name: x\n    regions: [us-east-1]\n    endpoint_url: {url}\naws:\n  max_attempts: 1\n")
    return str(cfg)


@pytest.mark.parametrize("command", ["summary", "costs"])
def test_cli_exits_1_with_one_sentence_per_failed_part(answering, server_url, tmp_path, command):
    answering("html-200")
    out, err = io.StringIO(), io.StringIO()
    code = main([command, "--config", _config(tmp_path, server_url), "--format", "json"], out=out, err=err)
    assert code == 1
    lines = err.getvalue().splitlines()
    expected = [
        "error: Lambda in x/us-east-1 answered ListFunctions with HTTP 200 text/html, not an AWS response; "
        "check endpoint_url or the proxy in between.",
        "error: The Resource Groups Tagging API in x/us-east-1 answered GetResources with HTTP 200 text/html, "
        "not an AWS response; check endpoint_url or the proxy in between.",
    ]
    if command == "costs":
        expected.append(  # Cost Explorer's bill is said last, once
            "warning: The actual spend is missing because Cost Explorer could not be read: Cost Explorer in x answered "
            "GetCostAndUsage with HTTP 200 text/html, not an AWS response; check endpoint_url or the proxy in between.",
        )
    assert lines == expected
    assert "(no rows)" not in out.getvalue() + err.getvalue()
