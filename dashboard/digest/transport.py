"""Sending a digest: SMTP (STARTTLS, implicit TLS, authentication) or Amazon SES, with retries.

:func:`from_settings` builds the transport ``email.transport`` names. Secrets come only
from the environment: the SMTP password from the variable ``email.smtp.password_env``
names (read when the transport is built; never logged, never in an error message); SES
uses the AWS credential chain (or a configured account's profile / role) through
:func:`aws.session.client`, so the API meter counts its calls.

:func:`send_with_retry` tries a send up to ``email.retry_attempts`` times, waiting
``retry_backoff_s`` × 2ⁿ between tries (the sleep is injectable for tests). Transient
failures are retried: connection refused or dropped, time-outs, SMTP 4xx replies, SES
throttling or an unreachable endpoint. Permanent ones are not: SMTP 5xx replies and
authentication failures, SES refusing the message or the credentials. Either way the
caller gets a :class:`~dashboard.digest.errors.DeliveryError`: a failed send is never
dropped silently.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from aws import errors as aws_errors
from aws import session as aws_session
from aws.session import Account
from dashboard.config.echo import echo
from dashboard.config.settings import ConfigError, EmailSettings, Settings, SmtpSettings
from dashboard.digest.errors import DeliveryError

__all__ = ["Transport", "SmtpTransport", "SesTransport", "Sent", "from_settings", "send_with_retry", "TransientError"]

log = logging.getLogger(__name__)


class TransientError(Exception):
    """A send failed in a way that may succeed if tried again."""


class PermanentError(Exception):
    """A send failed in a way that trying again will not fix."""


@dataclass(frozen=True)
class Sent:
    """What the transport reported for a delivered message."""

    transport: str
    recipients: tuple[str, ...]
    message_id: str  # the Message-ID header (SMTP) or SES's MessageId
    attempts: int = 1


class Transport(Protocol):
    name: str

    def send(self, msg: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        """Hand ``msg`` over; return an id. Raise :class:`TransientError` or :class:`PermanentError`."""
        ...


class SmtpTransport:
    """SMTP with STARTTLS (587), implicit TLS (465) or none (a local relay), optionally authenticated."""

    name = "smtp"

    def __init__(self, cfg: SmtpSettings, *, password: str | None = None, ssl_context: ssl.SSLContext | None = None):
        self.cfg = cfg
        self._password = password
        self._context = ssl_context

    def __repr__(self) -> str:  # never the password
        return f"SmtpTransport({self.cfg.host}:{self.cfg.port}, {self.cfg.security}, user={self.cfg.username!r})"

    def _ssl(self) -> ssl.SSLContext:
        if self._context is not None:
            return self._context
        return ssl.create_default_context(cafile=self.cfg.ca_file) if self.cfg.ca_file else ssl.create_default_context()

    def send(self, msg: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        c = self.cfg
        where = f"{c.host}:{c.port}"
        try:
            if c.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=self._ssl())
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
            with conn:
                conn.ehlo()
                if c.security == "starttls":
                    if not conn.has_extn("starttls"):
                        raise PermanentError(f"the SMTP server {where} does not offer STARTTLS; use security: tls or a server that does")
                    conn.starttls(context=self._ssl())
                    conn.ehlo()
                if c.username:
                    conn.login(c.username, self._password or "")
                refused = conn.send_message(msg, from_addr=sender, to_addrs=list(recipients))
        except smtplib.SMTPAuthenticationError as e:
            raise PermanentError(f"the SMTP server {where} refused the login of {echo(c.username)} ({e.smtp_code}); check the user and the password in ${c.password_env}") from None
        except smtplib.SMTPRecipientsRefused as e:
            codes = {r: code for r, (code, _m) in e.recipients.items()}
            if all(400 <= code < 500 for code in codes.values()):
                raise TransientError(f"the SMTP server {where} deferred every recipient ({_codes(codes)})") from None
            raise PermanentError(f"the SMTP server {where} refused every recipient ({_codes(codes)})") from None
        except smtplib.SMTPResponseException as e:
            text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            sentence = f"the SMTP server {where} answered {e.smtp_code} {' '.join(text.split())[:200]}"
            raise (TransientError if 400 <= e.smtp_code < 500 else PermanentError)(sentence) from None
        except smtplib.SMTPServerDisconnected as e:
            if isinstance(e.__context__, TimeoutError):  # smtplib reports a read that timed out as a disconnect
                raise TransientError(f"the SMTP server {where} did not answer within {c.timeout_s:g} s") from None
            raise TransientError(f"the SMTP server {where} closed the connection ({e})") from None
        except ssl.SSLCertVerificationError as e:
            raise PermanentError(f"the certificate of {where} is not trusted ({e.verify_message}); set email.smtp.ca_file to its CA") from None
        except ssl.SSLError as e:
            raise TransientError(f"TLS with {where} failed ({e.reason or e})") from None
        except TimeoutError:
            raise TransientError(f"the SMTP server {where} did not answer within {c.timeout_s:g} s") from None
        except OSError as e:
            raise TransientError(f"cannot reach the SMTP server {where} ({e.strerror or e})") from None
        if refused:
            log.warning("SMTP %s refused %d of %d recipients: %s", where, len(refused), len(recipients), _codes({r: code for r, (code, _m) in refused.items()}))
        return str(msg["Message-ID"])


def _codes(codes: Mapping[str, int]) -> str:
    return ", ".join(f"{r}: {code}" for r, code in sorted(codes.items()))


class SesTransport:
    """Amazon SES: ``SendRawEmail`` (api ``raw``) or SESv2 ``SendEmail`` with raw content (api ``v2``)."""

    name = "ses"

    def __init__(self, account: Account, *, region: str, api: str = "raw", configuration_set: str | None = None):
        self.account = account
        self.region = region
        self.api = api
        self.configuration_set = configuration_set

    def send(self, msg: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        raw = msg.as_bytes()
        service = "ses" if self.api == "raw" else "sesv2"
        if self.api == "raw":
            params: dict = {"Source": sender, "Destinations": list(recipients), "RawMessage": {"Data": raw}}
            op = "send_raw_email"
            if self.configuration_set:
                params["ConfigurationSetName"] = self.configuration_set
        else:
            params = {"FromEmailAddress": sender, "Destination": {"ToAddresses": list(recipients)}, "Content": {"Raw": {"Data": raw}}}
            op = "send_email"
            if self.configuration_set:
                params["ConfigurationSetName"] = self.configuration_set
        try:
            answer = aws_session.call(self.account, service, self.region, op, **params)
        except (aws_errors.Throttled, aws_errors.EndpointUnreachable) as e:
            raise TransientError(str(e)) from None
        except aws_errors.AwsError as e:
            raise PermanentError(str(e)) from None
        return str(answer.get("MessageId", ""))


def _password(cfg: SmtpSettings, env: Mapping[str, str]) -> str | None:
    if not cfg.password_env:
        return None
    value = env.get(cfg.password_env)
    if not value:
        raise ConfigError(f"email.smtp.password_env: the environment variable {cfg.password_env} is not set; export the SMTP password in it")
    return value


def from_settings(settings: Settings, *, env: Mapping[str, str] | None = None) -> Transport:
    """The transport ``email.transport`` names. A missing password variable is a :class:`ConfigError`."""
    email: EmailSettings = settings.email
    env = os.environ if env is None else env
    if email.transport == "smtp":
        return SmtpTransport(email.smtp, password=_password(email.smtp, env))
    if email.ses_account:
        base = next(a for a in settings.aws_accounts() if a.name == email.ses_account)
        account = Account(
            name=base.name,
            regions=(email.ses_region,),
            profile=base.profile,
            role_arn=base.role_arn,
            external_id=base.external_id,
            endpoint_url=email.ses_endpoint_url or base.endpoint_url,
            max_attempts=settings.aws.max_attempts,
        )
    else:
        account = Account(name="ses", regions=(email.ses_region,), endpoint_url=email.ses_endpoint_url, max_attempts=settings.aws.max_attempts)
    return SesTransport(account, region=email.ses_region, api=email.ses_api, configuration_set=email.ses_configuration_set)


def send_with_retry(
    transport: Transport,
    msg: EmailMessage,
    *,
    sender: str,
    recipients: Sequence[str],
    attempts: int = 4,
    backoff_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Sent:
    """Send, retrying transient failures with exponential backoff; :class:`DeliveryError` when it cannot."""
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            ident = transport.send(msg, sender=sender, recipients=recipients)
        except PermanentError as e:
            log.error("%s send failed for good (attempt %d): %s", transport.name, attempt, e)
            raise DeliveryError(f"Not sent: {e}.", transport=transport.name, attempts=attempt, permanent=True) from None
        except TransientError as e:
            last = str(e)
            if attempt == attempts:
                break
            wait = backoff_s * (2 ** (attempt - 1))
            log.warning("%s send attempt %d of %d failed (%s); retrying in %.1f s", transport.name, attempt, attempts, e, wait)
            sleep(wait)
            continue
        return Sent(transport.name, tuple(recipients), ident, attempt)
    log.error("%s send failed (%d attempt%s): %s", transport.name, attempts, "" if attempts == 1 else "s", last)
    tried = "Not sent" if attempts == 1 else f"Not sent after {attempts} attempts"
    raise DeliveryError(f"{tried}: {last}.", transport=transport.name, attempts=attempts)
