"""AsyncAPI 3.0 documents, derived from what the services declare they publish and consume.

A service serves its own at `/asyncapi.json` (the topics it touches, its operations); the whole
system's, every service's declarations together, is committed as `deploy/asyncapi.json`, written
by `escalier export-specs` and checked by tests/unit/test_asyncapi.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence

from pydantic.json_schema import models_json_schema

from shared.messages.envelope import SPECVERSION
from shared.messages.registry import EVENT_TYPES, is_public
from shared.messaging.wiring import Wiring
from shared.topics import KB_ARTICLES, SOURCE_TOPICS, TICKETS_EVENTS, TICKETS_SUBMITTED, TIER_TOPICS, dlq

# What each topic is; which events travel on it, who sends and who receives them, comes from the
# services' declarations (shared.messaging.wiring).
TOPIC_DESCRIPTIONS: dict[str, str] = {
    TICKETS_SUBMITTED: "Accepted submissions, for triage.",
    TICKETS_EVENTS: "The audit trail: every fact of every ticket's life, in order per ticket (hand-offs without their "
    "snapshot). Replayable from the beginning (`escalier stats`, `GET /reports`).",
    **{topic: f"Hand-offs into tier {n}, each with the full ticket snapshot." for n, topic in TIER_TOPICS.items()},
    KB_ARTICLES: "Knowledge-base articles written at tiers 2 and 3, for triage's index.",
}

_CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka binding, binary mode; W3C trace context.",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion"],
    "properties": {
        "ce_id": {"type": "string", "description": "Event id (UUID); consumers drop repeats by it."},
        "ce_source": {"type": "string", "description": "`/escalier/<service>`."},
        "ce_type": {"type": "string"},
        "ce_specversion": {"type": "string", "const": SPECVERSION},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {
            "type": "string",
            "description": "The ticket or article id, also the record key: always set by Escalier's services; a "
            "record from another producer without it is read by its key.",
        },
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context: `00-<trace id>-<parent span id>-01`."},
    },
}
_DLQ_HEADERS = {
    "type": "object",
    "description": "The source record's headers, plus why and where it came from.",
    "properties": {
        "dlq_reason": {"type": "string"},
        "dlq_source_topic": {"type": "string"},
        "dlq_source_partition": {"type": "string"},
        "dlq_source_offset": {"type": "string"},
        "dlq_consumer_group": {"type": "string"},
        "dlq_truncated_from": {"type": "string", "description": "Original size when the value was cut to 64 KiB."},
    },
}


def _message(event_type: str) -> dict:
    schema = EVENT_TYPES[event_type]
    doc = inspect.getdoc(schema)
    own_doc = doc if doc and schema.__doc__ else None  # not pydantic's inherited BaseModel text
    headers = {**_CE_HEADERS, "properties": {**_CE_HEADERS["properties"], "ce_type": {"type": "string", "const": event_type}}}
    message = {
        "name": event_type,
        "title": schema.__name__,
        "contentType": "application/json",
        "headers": headers,
        "payload": {"$ref": f"#/components/schemas/{schema.__name__}"},
        "bindings": {"kafka": {"key": {"type": "string", "description": "ticket or article id"}, "bindingVersion": "0.5.0"}},
    }
    if own_doc:
        message["description"] = own_doc
    if event_type.startswith("ticket."):
        # Comments flagged internal stay agent-only whatever their type says.
        message["tags"] = [{"name": "requester-visible" if is_public(event_type, None) else "agent-only"}]
    return message


def _schemas(types: Iterable[str]) -> dict:
    models = sorted({EVENT_TYPES[t] for t in types}, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return dict(sorted(top["$defs"].items()))


def _carried(topic: str, wirings: Sequence[Wiring]) -> list[str]:
    """The event types on `topic` that some service sends or receives, in the registry's order."""
    declared = set().union(*(w.publishes.get(topic, ()) for w in wirings), *(w.consumes.get(topic, ()) for w in wirings))
    return [t for t in EVENT_TYPES if t in declared]


def _operation(service: str, action: str, topic: str, refs: list[dict]) -> dict:
    verb = "publishes" if action == "send" else "consumes"
    return {
        "action": action, "channel": {"$ref": f"#/channels/{topic}"}, "messages": refs,
        "summary": f"{service} {verb} {', '.join(r['$ref'].rsplit('/', 1)[1] for r in refs)}",
        "tags": [{"name": service}],
    }


def _dead_letters(wirings: Sequence[Wiring], channels: dict, operations: dict) -> None:
    """Each consumed topic's `.dlq`, and an operation for each service that dead-letters into it."""
    for topic in SOURCE_TOPICS:
        consumers = [w.service for w in wirings if w.consumes.get(topic)]
        if not consumers:
            continue
        channels[dlq(topic)] = {
            "address": dlq(topic),
            "description": f"Records of {topic} that could not be decoded or kept failing, with the reason; the "
            "partition moved on.",
            "messages": {"dead-letter": {"$ref": "#/components/messages/dead-letter"}},
        }
        for service in consumers:
            operations[f"{service}.send.{dlq(topic)}"] = {
                "action": "send", "channel": {"$ref": f"#/channels/{dlq(topic)}"},
                "messages": [{"$ref": f"#/channels/{dlq(topic)}/messages/dead-letter"}],
                "summary": f"{service} dead-letters what it cannot process of {topic}",
                "tags": [{"name": service}],
            }


_DEAD_LETTER = {
    "name": "dead-letter", "title": "Dead letter",
    "description": "The source record's key and value as they were (possibly not JSON).",
    "headers": _DLQ_HEADERS, "payload": {},
}


def document(wirings: Sequence[Wiring], *, title: str = "Escalier events", version: str = "0.1.0") -> dict:
    """The document of the services `wirings` describes: a service's own, or the whole system's."""
    channels, operations, used = {}, {}, set()
    for topic in SOURCE_TOPICS:
        types = _carried(topic, wirings)
        if not types:
            continue
        used.update(types)
        channels[topic] = {
            "address": topic,
            "description": TOPIC_DESCRIPTIONS[topic],
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
        }
        for wiring in wirings:
            for action, declared in (("send", wiring.publishes), ("receive", wiring.consumes)):
                refs = [{"$ref": f"#/channels/{topic}/messages/{t}"} for t in types if t in declared.get(topic, ())]
                if refs:
                    operations[f"{wiring.service}.{action}.{topic}"] = _operation(wiring.service, action, topic, refs)
    _dead_letters(wirings, channels, operations)
    messages = {**{t: _message(t) for t in EVENT_TYPES if t in used}, "dead-letter": _DEAD_LETTER}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The topics of Escalier's bus and the events on them: CloudEvents 1.0 in Kafka binary mode "
            "(attributes in `ce_*` headers, JSON payload as the value, the ticket or article id as the key).",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "KAFKA_BOOTSTRAP_SERVERS"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas(used)},
    }
