"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes sent.

`X-Escalier-Timestamp: <unix seconds>` and `X-Escalier-Signature: sha256=<hex>` where
hex = HMAC-SHA256(secret, "<timestamp>." + body). The timestamp is signed so that a captured
call cannot be replayed later; the body carries the event id, so receivers drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Escalier-Signature"
TIMESTAMP_HEADER = "X-Escalier-Timestamp"
SCHEME = "sha256="
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Escalier-Signature` value of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The timestamp and signature headers of one call."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str, *, timestamp: str, signature: str, body: bytes, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature, compared in constant time."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature)
