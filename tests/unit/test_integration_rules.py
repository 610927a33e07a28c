"""The integrations' rules without I/O: keys, the severity mapping, and what each event does to its ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import API_KEY_PREFIX
from services.intake.integrations import domain
from services.intake.integrations.domain import Outcome, TicketNow, UnknownAlert

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
SOURCE = domain.Source(
    id="int-1", name="prometheus", organization="acme", contact_email="noc@acme.example", contact_name="NOC",
    language="en", category_hint="server", severity_map={"warning": {"impact": "low", "urgency": "medium"}},
)


def test_a_key_is_recognisable_random_and_only_its_hash_is_kept():
    first, second = domain.new_api_key(), domain.new_api_key()
    assert first.startswith(API_KEY_PREFIX) and first != second and len(first) > len(API_KEY_PREFIX) + 40
    assert domain.key_hash(first) == domain.key_hash(first) != domain.key_hash(second)
    assert first not in domain.key_hash(first)
    assert domain.key_hint(first).startswith(API_KEY_PREFIX) and len(domain.key_hint(first)) < 20


def test_severities_map_to_the_defaults_unless_the_integration_names_them():
    mapping = domain.severity_map({"warning": {"impact": "low", "urgency": "medium"}})
    assert mapping["critical"] == {"impact": "high", "urgency": "high"}
    assert mapping["error"] == {"impact": "medium", "urgency": "high"}
    assert mapping["warning"] == {"impact": "low", "urgency": "medium"}
    assert mapping["info"] == {"impact": "low", "urgency": "low"}


def test_a_new_alert_becomes_a_ticket_from_the_integration_with_the_event_as_its_text():
    body = domain.ticket_body(
        SOURCE, summary="Disk full on db1" + "!" * 300, category_hint=None, severity="warning", origin="db1", component="postgres",
        custom_details={"free": "0%"}, links=[("https://grafana.example/d/1", "dashboard")], dedup_key="k1",
    )
    assert len(body.title) == 200 and body.title.startswith("Disk full on db1")
    assert (body.impact, body.urgency, body.category_hint) == ("low", "medium", "server")
    assert body.requester.email == "noc@acme.example" and body.organization == "acme"
    for text in ("dedup_key k1", "Source: db1", "Component: postgres", '"free": "0%"', "https://grafana.example/d/1"):
        assert text in body.description


@pytest.mark.parametrize("status", ["new", "queued", "in_progress", "waiting_on_requester"])
def test_a_trigger_of_an_open_ticket_is_a_repeat(status):
    assert domain.decide("trigger", TicketNow(status, None), known=True, now=NOW, window=WINDOW) == Outcome.REPEATED


def test_a_trigger_of_a_new_key_opens_a_ticket():
    assert domain.decide("trigger", None, known=False, now=NOW, window=WINDOW) == Outcome.CREATED


def test_a_trigger_within_the_reopen_window_reopens_and_after_it_opens_a_new_ticket():
    recent, old = TicketNow("resolved", NOW - timedelta(days=1)), TicketNow("resolved", NOW - timedelta(days=8))
    assert domain.decide("trigger", recent, known=True, now=NOW, window=WINDOW) == Outcome.REOPENED
    assert domain.decide("trigger", old, known=True, now=NOW, window=WINDOW) == Outcome.CREATED
    assert domain.decide("trigger", TicketNow("closed", None), known=True, now=NOW, window=WINDOW) == Outcome.CREATED


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledging_or_resolving_an_unknown_key_is_refused(action):
    with pytest.raises(UnknownAlert):
        domain.decide(action, None, known=False, now=NOW, window=WINDOW)


def test_a_resolve_resolves_once_and_a_repeated_resolve_changes_nothing():
    assert domain.decide("resolve", TicketNow("queued", None), known=True, now=NOW, window=WINDOW) == Outcome.RESOLVED
    assert domain.needs_resolving(TicketNow("queued", None))
    assert not domain.needs_resolving(TicketNow("resolved", NOW))
    assert not domain.needs_resolving(TicketNow("closed", NOW))


def test_the_source_resolves_at_the_level_the_ticket_reached_and_says_so():
    fact = domain.resolved_by_source("t1", 2, source=SOURCE, words="disk freed")
    assert (fact.level, fact.from_source, fact.by) == (2, True, "integration:prometheus")
    assert "disk freed" in fact.resolution
    assert domain.resolved_by_source("t1", None, source=SOURCE, words=None).level == 0
