"""Typed errors of the AWS layer: one sentence naming the cause and the fix.

Every botocore failure that reaches a caller goes through :func:`translate`, the
one place that maps lower-level errors (the httpx ``_exceptions`` pattern), so
pages, the CLI and digests only ever see these classes.
"""

from __future__ import annotations

import botocore.exceptions as bce

__all__ = [
    "AwsError",
    "AccessDenied",
    "Throttled",
    "NoCredentials",
    "EndpointUnreachable",
    "NotEnabled",
    "InvalidRequest",
    "translate",
]


class AwsError(Exception):
    """Base of every error the collectors raise; ``str()`` is one sentence for the user."""

    def __init__(self, message: str, *, service: str = "", operation: str = "", account: str = "", region: str = ""):
        super().__init__(message)
        self.service = service
        self.operation = operation
        self.account = account
        self.region = region

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


class NotEnabled(AwsError):
    """The service is not enabled for the account (e.g. Cost Explorer never opened)."""


class InvalidRequest(AwsError):
    """AWS refused the request as invalid; a bug on our side or an unsupported endpoint."""


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
    """Map a botocore exception to one of ours (call as ``raise translate(e, ...) from e``)."""
    where = f" in {account}/{region}" if account and region else (f" in {account}" if account else "")
    kw = {"service": service, "operation": operation, "account": account, "region": region}
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        msg = str(err.get("Message", "")).strip()
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
        return InvalidRequest(f"AWS refused {service} {operation}{where}: {code}: {msg}", **kw)
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError, bce.ProfileNotFound)):
        return NoCredentials(
            f"No AWS credentials{where} ({exc}); set a profile in config.yaml or "
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
            f"Cannot reach {_service_title(service)}{where} ({exc}); check the network or the endpoint_url.",
            **kw,
        )
    if isinstance(exc, bce.ParamValidationError):
        return InvalidRequest(f"Invalid request to {service} {operation}: {exc}", **kw)
    if isinstance(exc, bce.BotoCoreError):
        return AwsError(f"{_service_title(service)}{where} failed: {exc}", **kw)
    raise TypeError(f"not an AWS error: {exc!r}")


def _service_title(service: str) -> str:
    return {
        "cloudwatch": "CloudWatch",
        "logs": "CloudWatch Logs",
        "lambda": "Lambda",
        "ce": "Cost Explorer",
        "resourcegroupstaggingapi": "The Resource Groups Tagging API",
        "sts": "STS",
        "ses": "SES",
        "sesv2": "SES",
        "pricing": "The Price List API",
    }.get(service, service)
