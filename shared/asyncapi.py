"""The AsyncAPI 3.0 document of every topic and event, generated from `shared.topics` and the schemas.

Served by every service at `/asyncapi.json`; `deploy/asyncapi.json` is the committed copy,
written by `escalier export-specs` and checked by tests/unit/test_asyncapi.py.
"""

from __future__ import annotations

import inspect
from functools import cache

from pydantic.json_schema import models_json_schema

from shared.messages.envelope import SPECVERSION
from shared.messages.registry import EVENT_TYPES, is_public
from shared.topics import KB_ARTICLES, SOURCE_TOPICS, TICKETS_EVENTS, TICKETS_SUBMITTED, TIER_TOPICS, dlq

TICKET_TYPES = [t for t in EVENT_TYPES if t.startswith("ticket.")]
KB_TYPES = [t for t in EVENT_TYPES if t.startswith("kb.")]
HANDOFF_TYPES = ["ticket.routed", "ticket.escalated"]

# topic -> (what it is, event types, producers, consumers)
TOPICS: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    TICKETS_SUBMITTED: ("Accepted submissions, for triage.", ["ticket.submitted"], ["intake"], ["triage"]),
    TICKETS_EVENTS: (
        "The audit trail: every fact of every ticket's life, in order per ticket (hand-offs without their snapshot). "
        "Replayable from the beginning (`escalier stats`, `GET /reports`).",
        TICKET_TYPES, ["intake", "triage", "tier1", "tier2", "tier3"], ["intake", "triage", "tier1", "tier2", "tier3", "notifier"],
    ),
    **{
        topic: (f"Hand-offs into tier {n}, each with the full ticket snapshot.", HANDOFF_TYPES,
                ["triage"] if n == 1 else ["triage", f"tier{n - 1}"], [f"tier{n}"])
        for n, topic in TIER_TOPICS.items()
    },
    KB_ARTICLES: ("Knowledge-base articles written at tiers 2 and 3, for triage's index.", KB_TYPES, ["tier2", "tier3"], ["triage"]),
}

_CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka binding, binary mode; W3C trace context.",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject"],
    "properties": {
        "ce_id": {"type": "string", "description": "Event id (UUID); consumers drop repeats by it."},
        "ce_source": {"type": "string", "description": "`/escalier/<service>`."},
        "ce_type": {"type": "string"},
        "ce_specversion": {"type": "string", "const": SPECVERSION},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The ticket or article id, also the record key."},
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


def _schemas() -> dict:
    models = sorted({schema for schema in EVENT_TYPES.values()}, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return dict(sorted(top["$defs"].items()))


@cache
def document(version: str = "0.1.0") -> dict:
    """The whole document (built once per process)."""
    channels, operations = {}, {}
    for topic, (description, types, producers, consumers) in TOPICS.items():
        channels[topic] = {
            "address": topic,
            "description": description,
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
        }
        refs = [{"$ref": f"#/channels/{topic}/messages/{t}"} for t in types]
        for action, services in (("send", producers), ("receive", consumers)):
            operations[f"{action}.{topic}"] = {
                "action": action, "channel": {"$ref": f"#/channels/{topic}"}, "messages": refs,
                "summary": f"{', '.join(services)} {'publish' if action == 'send' else 'consume'} {topic}",
                "tags": [{"name": s} for s in services],
            }
    for topic in SOURCE_TOPICS:
        channels[dlq(topic)] = {
            "address": dlq(topic),
            "description": f"Records of {topic} that could not be decoded or kept failing, with the reason; the partition moved on.",
            "messages": {"dead-letter": {"$ref": "#/components/messages/dead-letter"}},
        }
        operations[f"send.{dlq(topic)}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{dlq(topic)}"},
            "messages": [{"$ref": f"#/channels/{dlq(topic)}/messages/dead-letter"}],
            "summary": f"consumers of {topic} dead-letter what they cannot process",
            "tags": [{"name": s} for s in TOPICS[topic][3]],
        }
    messages = {t: _message(t) for t in EVENT_TYPES}
    messages["dead-letter"] = {
        "name": "dead-letter", "title": "Dead letter",
        "description": "The source record's key and value as they were (possibly not JSON).",
        "headers": _DLQ_HEADERS, "payload": {},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Escalier events",
            "version": version,
            "description": "The topics of Escalier's bus and the events on them: CloudEvents 1.0 in Kafka binary mode "
            "(attributes in `ce_*` headers, JSON payload as the value, the ticket or article id as the key).",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "KAFKA_BOOTSTRAP_SERVERS"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }
