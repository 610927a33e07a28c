"""The AsyncAPI document: complete, self-consistent, the committed copy current, and valid for AsyncAPI's own CLI."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest

from escalier_cli.specs import ASYNCAPI, REGENERATE, ROOT, asyncapi_text, committed, render, service_app, system_asyncapi
from escalier_cli.system import SERVICES
from shared.messages.registry import EVENT_TYPES
from shared.topics import ALL_TOPICS
from tests.tools import tool

COMMITTED = ROOT / ASYNCAPI


def document() -> dict:
    return system_asyncapi()


def test_the_committed_document_is_current():
    assert committed(ROOT, ASYNCAPI) == asyncapi_text(), (
        f"{ASYNCAPI} is stale: run `{REGENERATE}` (.venv/bin/escalier) and commit the result"
    )


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


def asyncapi_validate(path: Path, workdir: Path) -> tuple[int, list[dict], str]:
    """`asyncapi validate` on `path`: its exit code (failing at warnings), its diagnostics, what it printed."""
    cli = tool("asyncapi")
    analytics = workdir / "asyncapi-analytics.json"  # the CLI's own settings: no tracking, no prompt
    analytics.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "escalier-tests"}))
    report = workdir / "diagnostics.json"
    env = {**os.environ, "HOME": str(workdir), "CI": "true", "ASYNCAPI_METRICS_CONFIG_PATH": str(analytics),
           "SUPPRESS_NO_CONFIG_WARNING": "1"}
    result = subprocess.run(
        [cli, "validate", str(path), "--fail-severity", "warn", "--diagnostics-format", "json", "--save-output", str(report)],
        capture_output=True, text=True, cwd=workdir, env=env, timeout=120,
    )
    diagnostics = json.loads(report.read_text()) if report.exists() and report.read_text().strip() else []
    return result.returncode, diagnostics, result.stdout + result.stderr


SEVERITY = {0: "error", 1: "warning", 2: "information", 3: "hint"}


def test_asyncapi_validate_finds_no_error_and_no_warning_in_the_committed_document(tmp_path):
    returncode, diagnostics, output = asyncapi_validate(COMMITTED, tmp_path)
    serious = [f"{SEVERITY[d['severity']]} {d['code']} at {'/'.join(map(str, d['path']))}: {d['message']}"
               for d in diagnostics if d["severity"] <= 1]
    assert returncode == 0 and not serious, "\n".join(serious) or output


def test_asyncapi_validate_does_reject_a_broken_document(tmp_path):
    broken = copy.deepcopy(document())
    del broken["info"]["version"]
    broken["operations"]["intake.send.tickets.events"]["channel"] = {"$ref": "#/channels/no.such.topic"}
    path = tmp_path / "broken.json"
    path.write_text(render(broken))
    returncode, diagnostics, output = asyncapi_validate(path, tmp_path)
    assert returncode != 0, output
    assert any(d["severity"] == 0 for d in diagnostics), diagnostics


def test_the_operations_are_what_each_service_declares():
    operations = document()["operations"]
    assert operations["intake.send.tickets.submitted"]["messages"] == [
        {"$ref": "#/channels/tickets.submitted/messages/ticket.submitted"}
    ]
    assert "triage.receive.tickets.submitted" in operations
    assert "tier1.send.tickets.tier2" in operations and "tier3.send.tickets.tier3" not in operations
    assert "tier1.send.kb.articles" not in operations and "tier2.send.kb.articles" in operations
    assert not any(name.startswith("notifier.send.") and not name.endswith(".dlq") for name in operations)
    received = {m["$ref"].rsplit("/", 1)[1] for m in operations["tier1.receive.tickets.events"]["messages"]}
    assert received == {"ticket.requester_replied", "ticket.resolved", "ticket.reopened", "ticket.closed"}


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_serves_its_own_part_of_the_systems_document(name):
    own, system = service_app(name).state.runtime.asyncapi(), document()
    assert own["operations"] and all(op["tags"] == [{"name": name}] for op in own["operations"].values())
    assert {k: v for k, v in system["operations"].items() if k.startswith(f"{name}.")} == own["operations"]
    for topic, channel in own["channels"].items():  # the messages this service sends or receives there
        assert channel["description"] == system["channels"][topic]["description"]
        assert channel["messages"].items() <= system["channels"][topic]["messages"].items()
    for ref in set(_refs(own)):
        _resolve(own, ref)
