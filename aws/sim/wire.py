"""Protocol bodies: the HTTP responses the simulated account sends back through botocore.

Errors are real responses in the service's protocol (json, rest-json,
smithy-rpc-v2-cbor, query, ec2, rest-xml), so botocore parses them and its retry logic
sees them exactly as from AWS. A success is a minimal valid body for the protocol; the
answer itself is put into the parsed response at ``before-parse``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse

__all__ = ["ApiError", "cbor_encode", "error_response", "success_response", "SIM_HEADER", "REQUEST_ID"]

SIM_HEADER = "x-sim-call"
REQUEST_ID = "x-amzn-requestid"


@dataclass
class ApiError(Exception):
    """A modeled AWS error: code, message, HTTP status (and the query-protocol code where it differs)."""

    code: str
    message: str
    status: int = 400
    sender: bool = True

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Raw:
    """The raw body object botocore reads (``stream()`` for content, ``read()`` for streaming)."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._pos = 0

    def stream(self, **_kw):
        if self._pos < len(self._body):
            chunk = self._body[self._pos :]
            self._pos = len(self._body)
            yield chunk

    def read(self, amt: int | None = None) -> bytes:
        end = len(self._body) if amt is None else min(len(self._body), self._pos + amt)
        chunk = self._body[self._pos : end]
        self._pos = end
        return chunk

    def close(self) -> None:
        self._pos = len(self._body)


def cbor_encode(obj) -> bytes:
    """A tiny CBOR encoder (maps, text, bytes, ints, floats, bools, None, lists)."""
    out = bytearray()
    _cbor(obj, out)
    return bytes(out)


def _head(major: int, n: int, out: bytearray) -> None:
    if n < 24:
        out.append((major << 5) | n)
    elif n < 1 << 8:
        out += bytes([(major << 5) | 24, n])
    elif n < 1 << 16:
        out.append((major << 5) | 25)
        out += struct.pack(">H", n)
    elif n < 1 << 32:
        out.append((major << 5) | 26)
        out += struct.pack(">I", n)
    else:
        out.append((major << 5) | 27)
        out += struct.pack(">Q", n)


def _cbor(obj, out: bytearray) -> None:
    if obj is None:
        out.append(0xF6)
    elif obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    elif isinstance(obj, int):
        if obj >= 0:
            _head(0, obj, out)
        else:
            _head(1, -1 - obj, out)
    elif isinstance(obj, float):
        out.append(0xFB)
        out += struct.pack(">d", obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        _head(3, len(data), out)
        out += data
    elif isinstance(obj, bytes | bytearray):
        _head(2, len(obj), out)
        out += obj
    elif isinstance(obj, dict):
        _head(5, len(obj), out)
        for k, v in obj.items():
            _cbor(str(k), out)
            _cbor(v, out)
    elif isinstance(obj, list | tuple):
        _head(4, len(obj), out)
        for v in obj:
            _cbor(v, out)
    else:
        raise TypeError(f"cannot CBOR-encode {type(obj).__name__}")


def _json_content_type(service_model) -> str:
    return f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"


def error_response(url: str, service_model, err: ApiError, *, call_id: str, request_id: str) -> AWSResponse:
    """An HTTP error response in the service's protocol."""
    protocol = service_model.resolved_protocol
    headers = {SIM_HEADER: call_id, REQUEST_ID: request_id, "x-amzn-RequestId": request_id}
    query_compat = "awsQueryCompatible" in service_model.metadata
    fault = "Sender" if err.sender else "Receiver"
    if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
        doc = {"__type": err.code, "message": err.message}
        if query_compat:
            headers["x-amzn-query-error"] = f"{_query_code(err.code)};{fault}"
        if protocol == "rest-json":
            headers["x-amzn-ErrorType"] = err.code
            headers["Content-Type"] = "application/json"
            body = json.dumps({"Type": "User" if err.sender else "Service", "message": err.message}).encode()
        elif protocol == "json":
            headers["Content-Type"] = _json_content_type(service_model)
            body = json.dumps(doc).encode()
        else:
            headers["smithy-protocol"] = "rpc-v2-cbor"
            headers["Content-Type"] = "application/cbor"
            body = cbor_encode(doc)
    elif protocol == "ec2":
        headers["Content-Type"] = "text/xml"
        body = (
            f"<Response><Errors><Error><Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
    elif protocol == "query":
        headers["Content-Type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(_query_code(err.code))}</Code>"
            f"<Message>{escape(err.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    else:  # rest-xml
        headers["Content-Type"] = "application/xml"
        body = (
            f"<Error><Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, err.status, headers, Raw(body))


def success_response(url: str, operation_model, *, call_id: str, request_id: str) -> AWSResponse:
    """A 200 with a minimal valid body; the answer is merged in at ``before-parse``."""
    service_model = operation_model.service_model
    protocol = service_model.resolved_protocol
    headers = {SIM_HEADER: call_id, REQUEST_ID: request_id, "x-amzn-RequestId": request_id}
    if protocol == "json":
        headers["Content-Type"] = _json_content_type(service_model)
        body = b"{}"
    elif protocol == "rest-json":
        headers["Content-Type"] = "application/json"
        body = b"{}"
    elif protocol == "smithy-rpc-v2-cbor":
        headers["smithy-protocol"] = "rpc-v2-cbor"
        headers["Content-Type"] = "application/cbor"
        body = b"\xa0"
    elif protocol in ("query", "ec2"):
        headers["Content-Type"] = "text/xml"
        op = operation_model.name
        body = (
            f"<{op}Response><{op}Result></{op}Result><ResponseMetadata><RequestId>{request_id}</RequestId>"
            f"</ResponseMetadata></{op}Response>"
        ).encode()
    else:
        headers["Content-Type"] = "application/xml"
        body = f"<{operation_model.name}Response></{operation_model.name}Response>".encode()
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, 200, headers, Raw(body))


# Codes CloudWatch (an awsQueryCompatible service) reports under its query-protocol names.
_QUERY_CODES = {"ThrottlingException": "Throttling", "AccessDeniedException": "AccessDenied"}


def _query_code(code: str) -> str:
    return _QUERY_CODES.get(code, code)
