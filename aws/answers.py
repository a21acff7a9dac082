"""Is an HTTP answer AWS's? The check every client of :mod:`aws.session` runs before botocore parses a body.

What botocore 1.44.8 does on its own (measured against a local server, total_max_attempts=1):

- json / rest-json (Lambda, CloudWatch, Logs, Cost Explorer, Tagging): a 2xx body that is not JSON
  (an HTML page, truncated JSON, an empty body) parses as ``{}``: an empty account, no error.
  A 4xx/5xx HTML page becomes a ClientError whose code is the HTTP status and whose message is
  the whole page (``<html>``-prefixed 5xx pages get the reason phrase instead).
- query (SES, STS): a 2xx HTML page that happens to be well-formed XML raises ``KeyError``; any
  other non-XML body raises ``ResponseParserError`` with the body in its message; a 4xx HTML page
  parses as an error with code ``Unknown``.
- a body shorter than its Content-Length is accepted as it is: botocore opens urllib3 responses
  with ``enforce_content_length=False``, so ``{"ResultsByTime": []}`` sent with Content-Length 4096
  is a complete, empty answer.

So the check sits on ``before-parse``, the one event that sees every response's status, headers
and raw body (every service, every operation, retries included) before the lenient parsers do:

- a body shorter than its Content-Length is cut short;
- a 2xx body must be the protocol's output: a JSON object (json, rest-json), XML rooted at
  ``<{Operation}Response>`` (query, ec2), XML (rest-xml), a CBOR map (rpc-v2-cbor); empty only
  where the output has nothing in the body;
- an error body must be the protocol's error document; an empty one only with AWS's request-id
  or error-type header.

The decisive test is the body; the content type is only reported (moto sends its JSON answers as
``text/html; charset=utf-8`` or ``text``). A bad 2xx or 3xx/4xx answer raises
:class:`NotAnAwsAnswer` at once (a 200 HTML page or a proxy's 403 is not transient; a cut-short
body is not retried either, as it never reaches botocore's retry loop). A bad 5xx answer keeps
botocore's retries (a load balancer's 503 page is transient): its body is dropped, so every
protocol takes botocore's generic error path (code = the status, retried like any 5xx), and the
parsed error is marked with :data:`MARK`. :func:`aws.errors.translate` turns both into
:class:`aws.errors.BadResponse`. Neither the exception nor the mark ever holds the body.

The check parses a JSON body once more (botocore parses it right after): measured on a 2.8 MB
GetMetricData answer of 100,450 datapoints, 72 ms against botocore's own 2.5 s, under 3 %.

The simulated account's answers (``aws.sim.wire``) are well-formed and pass; a Stubber answers at
``before-call`` and never reaches this event.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ETree

import botocore.exceptions as bce

__all__ = ["MARK", "NotAnAwsAnswer", "attach", "check", "media_type"]

MARK = "LambdaLensNotAnAwsAnswer"  # key of a 5xx error's parsed response: {status, content_type, detail}

_REQUEST_ID_HEADERS = ("x-amzn-requestid", "x-amz-request-id", "x-amzn-errortype", "x-amzn-query-error")
_BODY_LOCATIONS = (None, "")  # members without a location live in the body


class NotAnAwsAnswer(bce.BotoCoreError):
    """The HTTP answer is not the protocol's response (an HTML page, a cut-short or empty body)."""

    fmt = "{service} answered {operation} with HTTP {status} {content_type}, {detail}"


def attach(events) -> None:
    """Register :func:`check` on a session's or client's event emitter (before its clients exist)."""
    events.register("before-parse", check, unique_id="lambda-lens-answers")


def media_type(headers) -> str:
    """The Content-Type without parameters, lowercased and cut to 60 characters ('' when absent)."""
    raw = headers.get("content-type") or headers.get("Content-Type") or ""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    kind = raw.split(";", 1)[0].strip().lower()
    return "".join(ch for ch in kind if ch.isprintable())[:60]


def check(operation_model, response_dict, customized_response_dict, **_) -> None:
    """Raise :class:`NotAnAwsAnswer` (or mark a 5xx) when the answer is not the protocol's response."""
    body = response_dict.get("body")
    if not isinstance(body, bytes | bytearray):
        return  # a streaming or event-stream body: not read here
    status = int(response_dict.get("status_code") or 0)
    headers = response_dict.get("headers") or {}
    detail = _cut_short(operation_model, status, headers, body) or _not_protocol(operation_model, status, headers, body)
    if detail is None:
        return
    service = operation_model.service_model.service_name
    ctype = media_type(headers) or "(no content type)"
    if status >= 500:
        # keep botocore's retries of a 5xx: drop the page (its generic error path then applies in every
        # protocol) and mark the parsed error for aws.errors.translate
        response_dict["body"] = b""
        customized_response_dict[MARK] = {"status": status, "content_type": ctype, "detail": detail}
        return
    raise NotAnAwsAnswer(service=service, operation=operation_model.name, status=status, content_type=ctype, detail=detail)


def _cut_short(operation_model, status: int, headers, body: bytes) -> str | None:
    declared = headers.get("content-length") or headers.get("Content-Length")
    if declared is None or status in (204, 304) or operation_model.http.get("method") == "HEAD":
        return None
    try:
        want = int(declared)
    except (TypeError, ValueError):
        return None
    if len(body) < want:
        return f"cut short ({len(body):,} of {want:,} bytes), not a whole AWS response"
    return None


def _not_protocol(operation_model, status: int, headers, body: bytes) -> str | None:
    protocol = operation_model.service_model.resolved_protocol
    if status < 300:
        ok = _is_output(protocol, operation_model, body)
    else:
        ok = _is_error(protocol, headers, body)
    return None if ok else "not an AWS response"


def _is_output(protocol: str, operation_model, body: bytes) -> bool:
    if not body.strip():
        return _status_only(operation_model)
    if protocol in ("json", "rest-json"):
        if protocol == "rest-json" and not _json_payload(operation_model):
            return True  # a blob or string payload (Invoke's): any bytes
        return isinstance(_json(body), dict)
    if protocol in ("query", "ec2"):
        root = _xml_root(body)
        return root is not None and _local(root.tag) == f"{operation_model.name}Response"
    if protocol == "rest-xml":
        root = _xml_root(body)
        return root is not None and _local(root.tag).lower() != "html"
    if protocol == "smithy-rpc-v2-cbor":
        return body[0] >> 5 == 5  # a CBOR map
    return True  # a protocol this check does not know: botocore decides


def _is_error(protocol: str, headers, body: bytes) -> bool:
    if not body.strip():
        return any(h in headers for h in _REQUEST_ID_HEADERS)
    if protocol in ("json", "rest-json"):
        return isinstance(_json(body), dict)
    if protocol in ("query", "ec2", "rest-xml"):
        root = _xml_root(body)
        return root is not None and _local(root.tag) in ("ErrorResponse", "Response", "Errors", "Error")
    if protocol == "smithy-rpc-v2-cbor":
        return body[0] >> 5 == 5
    return True


def _status_only(operation_model) -> bool:
    """Whether the operation's output has nothing in the body (so an empty body is its whole answer)."""
    shape = operation_model.output_shape
    if shape is None:
        return True
    payload = shape.serialization.get("payload")
    if payload is not None:
        return False
    return not any(m.serialization.get("location") in _BODY_LOCATIONS for m in shape.members.values())


def _json_payload(operation_model) -> bool:
    """Whether a rest-json output's body is JSON (members in the body, or a structure payload)."""
    shape = operation_model.output_shape
    if shape is None:
        return True
    payload = shape.serialization.get("payload")
    return payload is None or shape.members[payload].type_name == "structure"


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return None


def _xml_root(body: bytes):
    try:
        # the same parser botocore runs on these bytes right after this check
        parser = ETree.XMLParser(target=ETree.TreeBuilder(), encoding="utf-8")  # noqa: S314
        parser.feed(body)
        return parser.close()
    except ETree.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
