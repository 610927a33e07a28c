"""The CloudEvents 1.0 envelope in the Kafka binding's binary mode.

Attributes travel as `ce_*` headers, the validated payload as the JSON value,
the subject (ticket or article id) as the key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import orjson
from pydantic import ValidationError

from shared.messages.common import Payload

P = TypeVar("P", bound=Payload)

SPECVERSION = "1.0"
CONTENT_TYPE = b"application/json"


class PoisonMessage(Exception):
    """A message that can never be processed as it is: it belongs in the DLQ."""


@dataclass(frozen=True, slots=True)
class Envelope(Generic[P]):
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    data: P
    specversion: str = SPECVERSION

    @property
    def key(self) -> bytes:
        return self.subject.encode()


def new_event(
    source: str, data: P, *, subject: str | None = None, event_id: str | None = None, time: datetime | None = None
) -> Envelope[P]:
    """Wrap a payload in a fresh envelope; the subject defaults to its ticket or article id, the time to now."""
    from shared.messages.registry import TYPE_OF

    subject = subject or getattr(data, "ticket_id", None) or getattr(data, "article_id")
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=f"/escalier/{source}",
        type=TYPE_OF[type(data)],
        time=time or datetime.now(UTC),
        subject=subject,
        data=data,
    )


def encode(event: Envelope) -> tuple[list[tuple[str, bytes]], bytes]:
    """Headers and value of the Kafka record for `event`."""
    headers = [
        ("ce_id", event.id.encode()),
        ("ce_source", event.source.encode()),
        ("ce_type", event.type.encode()),
        ("ce_specversion", event.specversion.encode()),
        ("ce_time", event.time.isoformat().encode()),
        ("ce_subject", event.subject.encode()),
        ("content-type", CONTENT_TYPE),
    ]
    return headers, orjson.dumps(event.data.model_dump(mode="json"))


def peek_type(headers: list[tuple[str, bytes]] | tuple) -> str | None:
    """A record's event type from its headers alone (None if absent or not UTF-8), before decoding it."""
    for name, raw in headers or ():
        if name == "ce_type":
            try:
                return raw.decode()
            except UnicodeDecodeError:
                return None
    return None


def decode(headers: list[tuple[str, bytes]] | tuple, value: bytes | None, key: bytes | None = None) -> Envelope:
    """The envelope of a Kafka record, or PoisonMessage saying what is wrong with it.

    `ce_subject` is optional in CloudEvents: a record without it (another producer's) takes its
    key, which names the ticket or article on every topic, as the subject.
    """
    from shared.messages.registry import EVENT_TYPES

    attrs = {}
    for name, raw in headers or ():
        if name.startswith("ce_"):
            try:
                attrs[name[3:]] = raw.decode()
            except UnicodeDecodeError as exc:
                raise PoisonMessage(f"header {name} is not UTF-8") from exc
    if not attrs.get("subject") and key:
        try:
            attrs["subject"] = key.decode()
        except UnicodeDecodeError as exc:
            raise PoisonMessage("no ce_subject and the key is not UTF-8") from exc
    missing = [a for a in ("id", "source", "type", "specversion", "subject") if not attrs.get(a)]
    if missing:
        raise PoisonMessage(f"missing CloudEvents attributes: {', '.join('ce_' + m for m in missing)}")
    if attrs["specversion"] != SPECVERSION:
        raise PoisonMessage(f"unsupported ce_specversion {attrs['specversion']!r}")
    schema = EVENT_TYPES.get(attrs["type"])
    if schema is None:
        raise PoisonMessage(f"unknown event type {attrs['type']!r}")
    if value is None:
        raise PoisonMessage("empty value")
    try:
        data = schema.model_validate_json(value)
    except ValidationError as exc:
        raise PoisonMessage(f"payload does not match {attrs['type']}: {_first_errors(exc)}") from exc
    try:
        time = datetime.fromisoformat(attrs["time"]) if attrs.get("time") else datetime.now(UTC)
    except ValueError as exc:
        raise PoisonMessage(f"ce_time is not RFC 3339: {attrs['time']!r}") from exc
    return Envelope(
        id=attrs["id"], source=attrs["source"], type=attrs["type"], time=time, subject=attrs["subject"], data=data
    )


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:limit]]
    return "; ".join(parts)
