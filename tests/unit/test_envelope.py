"""The CloudEvents envelope in the Kafka binding's binary mode."""

import pytest

from shared.messages import PoisonMessage, decode, encode, is_public, new_event
from shared.messages.tickets import SlaWarning, TicketCommented, TicketResolved


def test_an_event_round_trips_through_headers_and_value():
    event = new_event("tier1", TicketResolved(ticket_id="T1", level=1, resolution="rebooted"))
    headers, value = encode(event)
    assert dict(headers)["ce_type"] == b"ticket.resolved"
    assert dict(headers)["ce_subject"] == b"T1"
    assert event.key == b"T1"
    assert decode(headers, value) == event


def test_a_payload_that_breaks_its_schema_is_poison_naming_the_field():
    headers, _ = encode(new_event("tier1", TicketResolved(ticket_id="T1", level=1, resolution="x")))
    with pytest.raises(PoisonMessage, match="level"):
        decode(headers, b'{"ticket_id": "T1", "level": 7, "resolution": "x"}')


def test_a_message_without_cloudevents_headers_is_poison():
    with pytest.raises(PoisonMessage, match="ce_id"):
        decode([], b"{}")


def test_internal_comments_and_sla_alarms_are_not_public():
    comment = TicketCommented(ticket_id="T1", tier=1, author="a", body="b", internal=True)
    assert not is_public("ticket.commented", comment)
    assert is_public("ticket.commented", comment.model_copy(update={"internal": False}))
    warning = SlaWarning(ticket_id="T1", tier=1, clock="resolution", due_at="2026-11-29T10:00:00Z")
    assert not is_public("ticket.sla_warning", warning)


def test_a_record_without_ce_subject_takes_its_key_as_the_subject():
    event = new_event("elsewhere", TicketResolved(ticket_id="T7", level=1, resolution="rebooted"))
    headers, value = encode(event)
    without_subject = [(name, raw) for name, raw in headers if name != "ce_subject"]
    assert decode(without_subject, value, b"T7") == event


def test_a_record_with_neither_ce_subject_nor_key_is_poison_naming_ce_subject():
    headers, value = encode(new_event("elsewhere", TicketResolved(ticket_id="T7", level=1, resolution="x")))
    with pytest.raises(PoisonMessage, match="ce_subject"):
        decode([(name, raw) for name, raw in headers if name != "ce_subject"], value, None)
