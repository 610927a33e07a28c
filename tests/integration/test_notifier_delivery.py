"""Notifier's deliveries against real servers and real databases: SMTP, HTTP, the ledger.

Events are recorded as the consumer would record them; the dispatcher runs for real.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from functools import partial

import pytest

from shared.db import Database
from shared.messages import new_event
from shared.messages.common import Requester
from shared.messages.tickets import SlaBreached, TicketCommented, TicketResolved, TicketSubmitted

from services.notifier.channels.email.mailer import Mailer
from services.notifier.channels.webhook.sender import WebhookSender
from services.notifier.channels.webhook.signing import verify
from services.notifier.channels.webhook.targets import TargetPolicy, TargetRefused
from services.notifier.dispatch import ledger as deliveries
from services.notifier.dispatch.dispatcher import Dispatcher
from services.notifier.fanout.domain import EmailOptions
from services.notifier.fanout.handlers import record_event
from services.notifier.main import hand_off_after_commit
from services.notifier.models import MODELS
from services.notifier.settings import NotifierSettings
from services.notifier.stream.models import StreamEvent
from services.notifier.stream.streams import Streams
from services.notifier.subscriptions import handlers as subscriptions
from tests.channels import CALLBACK_SECRET
from tests.helpers import eventually

LOOPBACK = TargetPolicy.from_settings(False, ["127.0.0.0/8"])
EMAIL = EmailOptions()


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables(MODELS)
    yield database
    await database.dispose()


def make_settings(smtp_port: int, **overrides) -> NotifierSettings:
    values = dict(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        callback_secret=CALLBACK_SECRET,
        allowed_target_cidrs=["127.0.0.0/8"],
        webhook_max_attempts=4,
        webhook_backoff_base_s=0.02,
        webhook_backoff_max_s=0.1,
    )
    return NotifierSettings(**{**values, **overrides})


@pytest.fixture
async def dispatch(db, smtp_server):
    """Runs a dispatcher over `db` while the test runs; call it with settings overrides first."""
    task = None

    def start(**overrides) -> NotifierSettings:
        nonlocal task
        settings = make_settings(smtp_server.port, **overrides)
        policy = TargetPolicy.from_settings(settings.allow_private_targets, settings.allowed_target_cidrs)
        webhooks = WebhookSender(settings, policy=policy, subscription_secret=partial(subscriptions.secret_of, db))
        dispatcher = Dispatcher(db, settings, webhooks=webhooks, mailer=Mailer(settings))
        db.on_commit(hand_off_after_commit(dispatcher, Streams(db, settings)))  # as create_app wires it
        task = asyncio.create_task(dispatcher.run())
        return settings

    yield start
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def record(db: Database, payload, *, email: EmailOptions | None = EMAIL):
    event = new_event("test", payload)
    async with db.unit_of_work() as session:
        await record_event(session, event, email=email)
    return event


async def submit(db: Database, *, language: str = "en", callback_url: str | None = None, org: str = "acme") -> str:
    ticket_id = str(uuid.uuid4())
    await record(
        db,
        TicketSubmitted(
            ticket_id=ticket_id,
            title="Printer on fire",
            description="It smokes",
            requester=Requester(email=f"req-{ticket_id[:8]}@acme.example", name="Zoé", language=language),
            organization=org,
            impact="high",
            urgency="high",
            callback_url=callback_url,
            submitted_at=datetime.now(UTC),
        ),
    )
    return ticket_id


async def ledger(db: Database, ticket_id: str, **filters) -> list:
    rows, _ = await deliveries.list_deliveries(db, ticket_id=ticket_id, status=None, limit=200, offset=0, **filters)
    return sorted(rows, key=lambda d: d.id)


async def test_requester_is_emailed_in_their_language_with_text_and_html(db, dispatch, smtp_server):
    dispatch()
    ticket_id = await submit(db, language="fr")
    await record(db, TicketResolved(ticket_id=ticket_id, level=1, resolution="Toner <remplacé>", by="alice"))
    address = f"req-{ticket_id[:8]}@acme.example"

    mails = await eventually(lambda: _at_least(smtp_server.to(address, ticket_id), 2), timeout_s=10)
    assert [m["Subject"] for m in mails] == [
        f"[#{ticket_id}] Nous avons bien reçu votre demande",
        f"[#{ticket_id}] Votre demande est résolue",
    ]
    resolved = mails[1]
    text = resolved.get_body(("plain",)).get_content()
    html = resolved.get_body(("html",)).get_content()
    assert "Bonjour Zoé," in text and "> Toner <remplacé>" in text
    assert "Toner &lt;remplacé&gt;" in html and "<remplacé>" not in html
    assert resolved["References"] == f"<ticket-{ticket_id}@escalier.invalid>"
    assert resolved["Auto-Submitted"] == "auto-generated"


async def test_internal_comments_and_sla_alarms_reach_no_requester_channel(db, dispatch, smtp_server, webhook_receiver):
    dispatch()
    ticket_id = await submit(db, callback_url=webhook_receiver.url("internal-check"))
    secret = "Do not tell the requester"
    await record(db, TicketCommented(ticket_id=ticket_id, tier=1, author="al", body=secret, internal=True))
    breach = SlaBreached(
        ticket_id=ticket_id, tier=3, clock="resolution", due_at=datetime.now(UTC), action="alerted",
        alert_contact="boss@acme.example",
    )
    await record(db, breach)
    await record(db, TicketCommented(ticket_id=ticket_id, tier=1, author="al", body="Public note"))

    rows = await eventually(lambda: _all_delivered(db, ticket_id, 5), timeout_s=10)
    assert sorted({(r.target, r.body["type"]) for r in rows}) == sorted({
        ("callback", "ticket.submitted"), ("callback", "ticket.commented"),
        ("email:requester", "ticket.submitted"), ("email:requester", "ticket.commented"),
        ("email:alert", "ticket.sla_breached"),
    })
    requester = f"req-{ticket_id[:8]}@acme.example"
    everything = str([c["json"] for c in webhook_receiver.calls_to("internal-check")])
    everything += "".join(m.as_string() for m in smtp_server.to(requester, ticket_id))
    async with db.read() as session:
        everything += str([e.data for e in (await session.exec(_stream_of(ticket_id))).all()])
    assert secret not in everything and "sla_breached" not in everything
    alert = smtp_server.to("boss@acme.example", ticket_id)
    assert len(alert) == 1 and alert[0]["Subject"] == f"[#{ticket_id}] SLA breached: resolution at level 3"


async def test_a_busy_mailbox_is_retried_and_a_missing_one_is_parked_as_dead_at_once(db, dispatch, smtp_server):
    dispatch()
    busy_ticket = await submit(db)
    missing_ticket_id = str(uuid.uuid4())
    smtp_server.busy(f"req-{busy_ticket[:8]}@acme.example", times=2)
    smtp_server.unknown(f"req-{missing_ticket_id[:8]}@acme.example")
    await record(db, TicketSubmitted(
        ticket_id=missing_ticket_id, title="t", description="d", organization="acme", impact="low", urgency="low",
        requester=Requester(email=f"req-{missing_ticket_id[:8]}@acme.example", name="Nobody"),
        submitted_at=datetime.now(UTC),
    ))

    [busy] = await eventually(lambda: _all_delivered(db, busy_ticket, 1), timeout_s=10)
    assert busy.attempts == 2  # two refusals recorded, then taken
    [missing] = await eventually(lambda: _with_status(db, missing_ticket_id, "dead"), timeout_s=10)
    assert missing.attempts == 1 and "550" in missing.last_error


async def test_webhook_calls_are_signed_with_the_subscription_secret(db, dispatch, webhook_receiver):
    dispatch()
    org = f"org-{uuid.uuid4().hex[:6]}"
    sub = await subscriptions.create(
        db, url=webhook_receiver.url(f"signed/{org}"), organization=org, events=["ticket.resolved"],
        secret=None, description=None, policy=LOOPBACK,
    )
    ticket_id = await submit(db, org=org, callback_url=webhook_receiver.url(f"signed-callback/{org}"))
    await record(db, TicketResolved(ticket_id=ticket_id, level=1, resolution="done"))

    [call] = await eventually(lambda: _at_least(webhook_receiver.calls_to(f"signed/{org}"), 1), timeout_s=10)
    callbacks = await eventually(lambda: _at_least(webhook_receiver.calls_to(f"signed-callback/{org}"), 2))
    assert call["json"]["type"] == "ticket.resolved"  # the subscription asked for nothing else
    for secret, c in [(sub.secret, call), *((CALLBACK_SECRET, c) for c in callbacks)]:
        headers = c["headers"]
        assert headers["x-escalier-signature"].startswith("sha256=")
        assert verify(secret, timestamp=headers["x-escalier-timestamp"], signature=headers["x-escalier-signature"],
                      body=c["body"], now=time.time())
        assert not verify("another-secret", timestamp=headers["x-escalier-timestamp"],
                          signature=headers["x-escalier-signature"], body=c["body"], now=time.time())


async def test_a_target_on_a_refused_address_is_never_called_and_parked_as_dead(db, dispatch, webhook_receiver):
    dispatch(allowed_target_cidrs=[])  # loopback no longer allowed
    ticket_id = await submit(db, callback_url=webhook_receiver.url("refused-target"))

    [dead] = await eventually(lambda: _with_status(db, ticket_id, "dead", channel="webhook"), timeout_s=10)
    assert dead.attempts == 1 and "target refused" in dead.last_error and "loopback" in dead.last_error
    assert webhook_receiver.calls_to("refused-target") == []
    assert [c for c in webhook_receiver.refused if c["path"] == "/refused-target"] == []


async def test_a_subscription_to_a_private_address_is_refused_at_creation(db):
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
        with pytest.raises(TargetRefused):
            await subscriptions.create(
                db, url=url, organization="acme", events=[], secret=None, description=None, policy=TargetPolicy()
            )
    assert await subscriptions.list_for(db, organizations=["acme"]) == []


async def test_deleting_a_subscription_cancels_its_pending_deliveries(db, webhook_receiver):
    # No dispatcher runs: the deliveries stay pending until the subscription goes.
    org = f"org-{uuid.uuid4().hex[:6]}"
    sub = await subscriptions.create(
        db, url=webhook_receiver.url("gone"), organization=org, events=[], secret=None, description=None,
        policy=LOOPBACK,
    )
    ticket_id = await submit(db, org=org)
    assert await subscriptions.delete(db, subscription_id=sub.id)
    assert [d.status for d in await ledger(db, ticket_id, channel="webhook")] == ["cancelled"]
    assert not await subscriptions.delete(db, subscription_id=sub.id)


async def _at_least(items: list, n: int) -> list | None:
    return items if len(items) >= n else None


async def _all_delivered(db: Database, ticket_id: str, n: int) -> list | None:
    rows = await ledger(db, ticket_id)
    return rows if len(rows) >= n and all(r.status == "delivered" for r in rows) else None


async def _with_status(db: Database, ticket_id: str, status: str, **filters) -> list | None:
    return [r for r in await ledger(db, ticket_id, **filters) if r.status == status] or None


def _stream_of(ticket_id: str):
    from sqlmodel import select

    return select(StreamEvent).where(StreamEvent.ticket_id == ticket_id)
