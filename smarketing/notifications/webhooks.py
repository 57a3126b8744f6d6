"""Outgoing webhooks the Standard Webhooks way (https://www.standardwebhooks.com/):

    webhook-id:        a message id, the same on every retry (receivers dedupe on it)
    webhook-timestamp: Unix seconds when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

The key is the base64-decoded part of the endpoint's `whsec_...` secret. Receivers reject
timestamps more than TOLERANCE away from their clock (replays). See docs/webhooks.md.

Also here: the guard that refuses URLs resolving to private networks (SSRF), and the one
function that POSTs, with the standard library only."""

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
TOLERANCE = timedelta(minutes=5)
TIMEOUT_SECONDS = 5.0
USER_AGENT = "smarketing-webhooks/1"


class WebhookVerificationError(Exception):
    pass


class UnsafeUrl(ValueError):
    """The URL points somewhere a server-side request must not go."""


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_for(
    *,
    secret: str,
    msg_id: str,
    body: bytes,
    timestamp: int | None = None,
    previous_secrets: Sequence[str] = (),
) -> dict:
    """The three headers of one attempt. During a rotation's grace period the message is
    also signed with the previous secret; the signatures are space-separated, as the
    standard allows, so a receiver that still has the old secret accepts it too."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signatures = [
        sign(secret=each, msg_id=msg_id, timestamp=timestamp, body=body)
        for each in (secret, *previous_secrets)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def verify(*, secret: str, headers: dict, body: bytes, now: float | None = None) -> None:
    """Raise WebhookVerificationError unless `headers` carry a valid, fresh signature of
    `body`. Header names are matched case-insensitively; the signature header may hold
    several space-separated signatures (during a secret rotation), one valid one is enough."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lower["webhook-id"]
        timestamp = int(lower["webhook-timestamp"])
        signatures = lower["webhook-signature"]
    except (KeyError, ValueError) as exc:
        raise WebhookVerificationError("missing or malformed webhook headers") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE.total_seconds():
        raise WebhookVerificationError("timestamp outside the tolerance")
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    for candidate in signatures.split():
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookVerificationError("no matching signature")


# --- SSRF guard


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def url_check(url: str) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and every address its host resolves to is
    public. WEBHOOKS_ALLOW_PRIVATE lifts the address rule (tests, local receivers). Called
    when an endpoint is saved and again before each send, since DNS answers change."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The port is not a number between 0 and 65535.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Use an http:// or https:// URL with a host name.")
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname} cannot be resolved.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _forbidden(address):
            raise UnsafeUrl(
                f"{parts.hostname} resolves to {address}, a loopback, link-local or private "
                "address; webhooks may only go to public addresses."
            )


# --- Sending


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer (timeout, refused connection, DNS)
    retry_after: float | None  # seconds, from a Retry-After header
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to an address the guard never saw; a receiver must answer itself.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def post(*, url: str, body: bytes, headers: dict, timeout: float = TIMEOUT_SECONDS) -> PostResult:
    request = urllib.request.Request(  # noqa: S310 - scheme checked by url_check
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return PostResult(response.status, None, "")
    except urllib.error.HTTPError as exc:
        retry_after = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
        snippet = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        return PostResult(exc.code, retry_after, f"HTTP {exc.code} {exc.reason}: {snippet}".strip())
    except TimeoutError:
        return PostResult(None, None, f"Timed out after {timeout:g} s")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return PostResult(None, None, f"Timed out after {timeout:g} s")
        return PostResult(None, None, f"Connection failed: {exc.reason}")
    except (OSError, ValueError) as exc:
        return PostResult(None, None, f"Connection failed: {exc}")
