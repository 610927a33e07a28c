"""Who hears of each event, and the words they read: without I/O."""

from datetime import UTC, datetime

import pytest

from shared.messages import EVENT_TYPES, is_public
from shared.messages.tickets import SlaBreached, TicketCommented

from services.notifier.channels.email.render import Recipient, build_message, render_update, to_bytes
from services.notifier.channels.email.templates import EVENT_WORDS
from services.notifier.domain import Channel
from services.notifier.fanout.domain import (
    EmailOptions,
    SubscriptionTarget,
    TicketContact,
    endpoint_of,
    is_email_address,
    plan,
    public_data,
)
from services.notifier.subscriptions.domain import REQUESTER_VISIBLE_TYPES, unknown_types

TICKET = TicketContact(
    ticket_id="T-1", organization="acme", callback_url="https://portal.acme.example/hook?t=1", language="fr",
    requester_email="zoe@acme.example", requester_name="Zoé", title="Imprimante en feu",
)
SUBS = [
    SubscriptionTarget("s-all", "https://itsm.acme.example/in"),
    SubscriptionTarget("s-resolved", "https://chat.acme.example/in", events=("ticket.resolved",)),
]
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _plan(event_type: str, payload, *, email=EmailOptions(), subs=SUBS, ticket=TICKET):
    return plan(
        public=is_public(event_type, payload),
        event_type=event_type,
        data=public_data(payload),
        alert_contact=getattr(payload, "alert_contact", None),
        ticket=ticket,
        subscriptions=subs,
        email=email,
    )


def test_a_public_event_goes_to_the_callback_the_subscriptions_that_want_it_and_the_requester():
    planned = _plan("ticket.commented", TicketCommented(ticket_id="T-1", tier=1, author="al", body="Hello"))
    assert [(p.channel, p.target, p.url) for p in planned] == [
        (Channel.WEBHOOK, "callback", TICKET.callback_url),
        (Channel.WEBHOOK, "subscription:s-all", "https://itsm.acme.example/in"),
        (Channel.EMAIL, "email:requester", "mailto:zoe@acme.example"),
    ]
    assert planned[0].endpoint == "portal.acme.example:443"
    assert planned[2].message["subject"] == "[#T-1] Nouveau message concernant votre demande"


def test_an_internal_comment_goes_nowhere():
    internal = TicketCommented(ticket_id="T-1", tier=1, author="al", body="between us", internal=True)
    assert _plan("ticket.commented", internal) == []


def test_a_breached_sla_alerts_the_escalation_contact_and_nobody_else():
    breach = SlaBreached(
        ticket_id="T-1", tier=3, clock="first_response", due_at=NOW, action="alerted",
        alert_contact="boss@acme.example", reminder=2,
    )
    [alert] = _plan("ticket.sla_breached", breach)
    assert (alert.channel, alert.target, alert.url) == (Channel.EMAIL, "email:alert", "mailto:boss@acme.example")
    assert alert.message["subject"] == "[#T-1] Délai SLA dépassé : première réponse au niveau 3"
    assert "Relance n° 2" in alert.message["text"] and "2025-03-01 12:00 UTC" in alert.message["text"]
    assert "Zoé" not in alert.message["text"]


def test_a_breach_without_a_contact_or_with_email_off_alerts_nobody():
    breach = SlaBreached(ticket_id="T-1", tier=2, clock="resolution", due_at=NOW, action="escalated")
    assert _plan("ticket.sla_breached", breach) == []
    contact = breach.model_copy(update={"alert_contact": "boss@acme.example"})
    assert _plan("ticket.sla_breached", contact, email=None) == []


def test_email_can_be_limited_to_some_event_types():
    assigned = public_data_of("ticket.assigned")
    limited = EmailOptions(event_types=frozenset({"ticket.resolved"}))
    assert [p.channel for p in plan(**assigned, email=limited)] == [Channel.WEBHOOK, Channel.WEBHOOK]


def public_data_of(event_type: str) -> dict:
    return dict(
        public=True, event_type=event_type, data={"ticket_id": "T-1", "tier": 1, "assignee": "ana"},
        alert_contact=None, ticket=TICKET, subscriptions=SUBS,
    )


def test_an_event_of_a_ticket_never_submitted_here_has_nobody_to_tell():
    assert plan(**{**public_data_of("ticket.assigned"), "ticket": None}, email=EmailOptions()) == []


def test_subscriptions_may_ask_only_for_requester_visible_types():
    assert "ticket.sla_breached" not in REQUESTER_VISIBLE_TYPES and "ticket.resolved" in REQUESTER_VISIBLE_TYPES
    assert unknown_types(["ticket.resolved", "ticket.sla_warning", "ticket.exploded"]) == [
        "ticket.sla_warning", "ticket.exploded",
    ]


def test_addresses_that_could_inject_headers_are_not_mailed():
    assert is_email_address("ann@acme.example")
    for bad in ("ann", "ann@localhost", "a@b.c\r\nBcc: x@y.z", "a@b.c, x@y.z", "<a@b.c>"):
        assert not is_email_address(bad)


def test_the_endpoint_of_a_url_is_its_host_and_port():
    assert endpoint_of("http://Hooks.Example.com:8080/a") == "hooks.example.com:8080"
    assert endpoint_of("ftp://x") == "invalid"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_requester_visible_type_has_its_own_words_in_both_languages(language):
    assert set(REQUESTER_VISIBLE_TYPES) <= set(EVENT_WORDS[language])
    assert set(EVENT_WORDS["en"]) == set(EVENT_WORDS["fr"])
    assert len({headline for headline, _ in EVENT_WORDS[language].values()}) >= len(REQUESTER_VISIBLE_TYPES) - 2


def _to(language: str = "en") -> Recipient:
    return Recipient(
        email="ann@acme.example", name="Ann", language=language, ticket_id="T-9", title="VPN down",
        organization="acme", link="https://support.example/tickets/T-9",
    )


def test_an_email_has_the_ticket_id_in_its_subject_and_plain_words_in_text_and_html():
    email = render_update("ticket.info_requested", {"author": "Alice", "question": "Which model?"}, _to())
    assert email["subject"] == "[#T-9] We need more information"
    assert email["text"].startswith(
        "Hello Ann,\n\nAlice needs some information from you to continue:\n\n> Which model?"
    )
    assert "https://support.example/tickets/T-9" in email["text"]
    assert "<blockquote" in email["html"] and "Which model?" in email["html"]


def test_variants_say_what_happened_a_self_resolution_and_an_automatic_close():
    assert "article" in render_update("ticket.resolved", {"level": 0}, _to())["text"]
    assert "automatically" in render_update("ticket.closed", {"reason": "automatic"}, _to())["text"]
    assert "automatiquement" in render_update("ticket.closed", {"reason": "automatic"}, _to("fr"))["text"]


def test_an_unknown_language_falls_back_to_english_and_unknown_types_to_a_generic_update():
    email = render_update("ticket.something_new", {}, _to("de"))
    assert email["subject"] == "[#T-9] Your request has been updated"


def test_what_people_wrote_is_escaped_in_html():
    email = render_update("ticket.commented", {"author": "<b>Al</b>", "body": "<script>x</script>"}, _to())
    assert "<script>" not in email["html"] and "&lt;script&gt;" in email["html"]
    assert "&lt;b&gt;Al&lt;/b&gt;" in email["html"]


def test_the_mime_message_is_text_with_an_html_alternative_threaded_per_ticket():
    rendered = render_update("ticket.resolved", {"level": 2, "resolution": "Rebooted"}, _to("fr"))
    message = build_message(rendered, sender="Support <help@acme.example>", event_id="ev-1", ticket_id="T-9")
    assert message.get_content_type() == "multipart/alternative"
    assert message["In-Reply-To"] == message["References"] == "<ticket-T-9@acme.example>"
    assert message["X-Escalier-Event-Id"] == "ev-1"
    raw = to_bytes(message)
    assert b"Subject: [#T-9] Votre demande est =?utf-8?q?r=C3=A9solue?=\r\n" in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_every_type_registered_is_either_visible_to_requesters_or_agent_only():
    ticket_types = {t for t in EVENT_TYPES if t.startswith("ticket.")}
    assert ticket_types - set(REQUESTER_VISIBLE_TYPES) == {"ticket.sla_warning", "ticket.sla_breached"}
