"""The AsyncAPI document: complete, self-consistent, and the committed copy current."""

from __future__ import annotations

import json
from pathlib import Path

from shared.asyncapi import document
from shared.messages.registry import EVENT_TYPES
from shared.topics import ALL_TOPICS

COMMITTED = Path(__file__).resolve().parents[2] / "deploy" / "asyncapi.json"


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def test_the_committed_document_is_current_and_a_stale_one_is_rewritten_for_review():
    fresh = render()
    if not COMMITTED.exists() or COMMITTED.read_text() != fresh:
        COMMITTED.write_text(fresh)
        raise AssertionError(f"{COMMITTED} was stale and has been regenerated: review the diff and commit it")


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_topic_and_event_type_is_described_and_every_reference_resolves():
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == set(ALL_TOPICS)
    carried = {ref.rsplit("/", 1)[1] for ch in doc["channels"].values() for ref in _refs(ch["messages"])}
    assert carried >= set(EVENT_TYPES)
    for ref in set(_refs(doc)):
        _resolve(doc, ref)  # raises KeyError when dangling
    for name, operation in doc["operations"].items():
        channel = operation["channel"]["$ref"]
        assert all(m["$ref"].startswith(channel + "/messages/") for m in operation["messages"]), name


def test_a_schema_in_the_document_is_the_one_consumers_validate_with():
    schema = document()["components"]["schemas"]["TicketRated"]
    assert schema["properties"]["score"] == {"maximum": 5, "minimum": 1, "title": "Score", "type": "integer"}
    assert "ticket_id" in schema["required"]
