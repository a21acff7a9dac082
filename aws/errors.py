"""Typed errors of the AWS layer: one sentence naming the cause and the fix.

Every botocore failure that reaches a caller goes through :func:`translate`, the
one place that maps lower-level errors (the httpx ``_exceptions`` pattern), so
pages, the CLI and digests only ever see these classes.
"""

from __future__ import annotations

import re

import botocore.exceptions as bce
from botocore.parsers import ResponseParserError

from aws.answers import MARK, NotAnAwsAnswer

__all__ = [
    "AwsError",
    "AccessDenied",
    "Throttled",
    "NoCredentials",
    "EndpointUnreachable",
    "TimedOut",
    "NotEnabled",
    "InvalidRequest",
    "BadResponse",
    "translate",
    "short",
]


class AwsError(Exception):
    """Base of every error the collectors raise; ``str()`` is one sentence for the user."""

    def __init__(
        self, message: str, *, service: str = "", operation: str = "", account: str = "", region: str = "", detail: str = ""
    ):
        super().__init__(message)
        self.service = service
        self.operation = operation
        self.account = account
        self.region = region
        self.detail = detail  # what came back, short (e.g. "InternalFailure: ..." or "HTTP 500 text/html"); may be ""

    @property
    def where(self) -> str:
        parts = [p for p in (self.account, self.region) if p]
        return "/".join(parts)


class AccessDenied(AwsError):
    """The credentials lack an IAM permission; ``iam_action`` names it."""

    def __init__(self, message: str, *, iam_action: str = "", **kw):
        super().__init__(message, **kw)
        self.iam_action = iam_action


class Throttled(AwsError):
    """AWS kept throttling after botocore's retries were spent."""


class NoCredentials(AwsError):
    """No usable credentials: none found, expired, or a role that cannot be assumed."""


class EndpointUnreachable(AwsError):
    """The endpoint did not answer (connection refused, DNS, timeout)."""


class TimedOut(EndpointUnreachable):
    """A part did not finish within its deadline (aws.deadline_s): a trickling, throttling or hung endpoint."""


class NotEnabled(AwsError):
    """The service is not enabled for the account (e.g. Cost Explorer never opened)."""


class InvalidRequest(AwsError):
    """AWS refused the request as invalid; a bug on our side or an unsupported endpoint."""


class BadResponse(AwsError):
    """The endpoint answered with something that is not an AWS response (an HTML page, a cut-short or empty body)."""

    def __init__(self, message: str, *, status: int = 0, content_type: str = "", **kw):
        super().__init__(message, **kw)
        self.status = status  # the HTTP status (0: unknown)
        self.content_type = content_type


# botocore service names → IAM action prefixes (they differ for a few services).
_IAM_PREFIX = {
    "resourcegroupstaggingapi": "tag",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "lambda": "lambda",
    "ce": "ce",
    "sts": "sts",
    "ses": "ses",
    "sesv2": "ses",
    "pricing": "pricing",
    "organizations": "organizations",
}

_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "RequestThrottledException",
}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "RequestExpired",
}
_NOT_ENABLED_CODES = {"DataUnavailableException", "OptInRequired", "SubscriptionRequiredException"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API call needs, e.g. ``cloudwatch:GetMetricData``."""
    return f"{_IAM_PREFIX.get(service, service)}:{operation}"


def translate(exc: BaseException, *, service: str, operation: str, account: str = "", region: str = "") -> AwsError:
    """Map a botocore exception to one of ours (call as ``raise translate(e, ...) from e``).

    Text that came from the other end (an error message, a botocore exception's text) is cut to
    one short line (:func:`short`): a proxy's HTML page never becomes five lines of a warning.
    """
    where = f" in {account}/{region}" if account and region else (f" in {account}" if account else "")
    kw = {"service": service, "operation": operation, "account": account, "region": region}
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, NotAnAwsAnswer):
        # the answer that was not AWS's may belong to another call (AssumeRole while refreshing credentials)
        f = exc.kwargs
        return _bad_response(
            f.get("service") or service, f.get("operation") or operation, f["status"], f["content_type"], f["detail"], kw, where
        )
    if isinstance(exc, ResponseParserError):  # a body the check let through that botocore could not parse
        return _bad_response(service, operation, 0, "", "not an AWS response", kw, where)
    if isinstance(exc, bce.ClientError):
        bad = exc.response.get(MARK)
        if bad:
            return _bad_response(service, operation, bad["status"], bad["content_type"], bad["detail"], kw, where)
        err = exc.response.get("Error", {})
        code = short(str(err.get("Code", "")), 80)
        msg = short(str(err.get("Message", "")))
        detail = f"{code}: {msg}" if msg else code
        kw["detail"] = detail
        if getattr(exc, "operation_name", None) == "AssumeRole" and operation != "AssumeRole":
            # refreshing the assumed role's credentials failed inside another call: the role is the problem
            return NoCredentials(
                f"The role{where} cannot be assumed ({code}: {msg}); check role_arn, the role's trust policy "
                f"and that the caller may call sts:AssumeRole.",
                **kw,
            )
        if code in _DENIED_CODES or "not authorized" in msg.lower():
            action = iam_action(service, operation)
            return AccessDenied(
                f"Access denied{where}: the credentials may not call {action}; "
                f"grant it (see docs/iam-policy.json).",
                iam_action=action,
                **kw,
            )
        if code in _THROTTLE_CODES:
            return Throttled(
                f"AWS throttled {service} {operation}{where} after repeated retries; "
                f"wait a minute and refresh, or raise the retry budget (aws.max_attempts).",
                **kw,
            )
        if code in _CREDENTIAL_CODES:
            return NoCredentials(
                f"The AWS credentials{where} were rejected ({code}); renew them "
                f"(aws sso login, or refresh the profile's keys).",
                **kw,
            )
        if code in _NOT_ENABLED_CODES or (service == "ce" and "not enabled" in msg.lower()):
            return NotEnabled(
                f"{_service_title(service)} is not enabled{where} ({msg or code}); "
                f"enable it in the AWS console (it takes up to 24 h to fill).",
                **kw,
            )
        return InvalidRequest(f"AWS refused {service} {operation}{where}: {detail}", **kw)
    text = short(str(exc))
    kw["detail"] = text
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError, bce.ProfileNotFound)):
        return NoCredentials(
            f"No AWS credentials{where} ({text}); set a profile in config.yaml or "
            f"AWS_PROFILE / AWS_ACCESS_KEY_ID in the environment, or use the demo account.",
            **kw,
        )
    if isinstance(exc, (bce.TokenRetrievalError, bce.SSOTokenLoadError, bce.UnauthorizedSSOTokenError)):
        return NoCredentials(f"The AWS SSO session{where} has expired; run `aws sso login`.", **kw)
    if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return EndpointUnreachable(
            f"{_service_title(service)}{where} did not answer in time; check the network "
            f"or the endpoint_url, then refresh.",
            **kw,
        )
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectionClosedError, bce.HTTPClientError)):
        return EndpointUnreachable(
            f"Cannot reach {_service_title(service, start=False)}{where} ({text}); check the network or the endpoint_url.",
            **kw,
        )
    if isinstance(exc, bce.ParamValidationError):
        return InvalidRequest(f"Invalid request to {service} {operation}: {text}", **kw)
    if isinstance(exc, bce.BotoCoreError):
        return AwsError(f"{_service_title(service)}{where} failed: {text}", **kw)
    raise TypeError(f"not an AWS error: {exc!r}")


def _bad_response(
    service: str, operation: str, status: int, content_type: str, detail: str, kw: dict, where: str
) -> BadResponse:
    """One sentence: which service answered which call with what (status, content type), never the body."""
    what = f"HTTP {status} {content_type}, {detail}" if status else f"a body that is {detail}"
    kw = dict(kw, service=service, operation=operation, detail=what)
    return BadResponse(
        f"{_service_title(service)}{where} answered {operation} with {what}; check endpoint_url or the proxy in between.",
        status=status,
        content_type=content_type,
        **kw,
    )


_SPACE = re.compile(r"\s+")


def short(text: str, limit: int = 200) -> str:
    """``text`` on one line (runs of whitespace, newlines included, become one space), cut to ``limit`` characters."""
    one = _SPACE.sub(" ", text).strip()
    one = "".join(ch for ch in one if ch.isprintable())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def _service_title(service: str, *, start: bool = True) -> str:
    """The service's name as a sentence says it (``start`` False: inside a sentence, "the Resource Groups ...")."""
    title = {
        "cloudwatch": "CloudWatch",
        "logs": "CloudWatch Logs",
        "lambda": "Lambda",
        "ce": "Cost Explorer",
        "resourcegroupstaggingapi": "The Resource Groups Tagging API",
        "sts": "STS",
        "ses": "SES",
        "sesv2": "SES",
        "pricing": "The Price List API",
        "organizations": "AWS Organizations",
    }.get(service, service)
    return title if start or not title.startswith("The ") else "the" + title[3:]
