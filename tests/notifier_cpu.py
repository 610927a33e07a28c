"""Notifier's CPU per event: the fan-out handler and the dispatcher, against a local HTTP receiver.

    .venv/bin/python -m tests.notifier_cpu [--tickets 300] [--batch 10] [--rate 200] [--database URL]

Events are recorded the way the consumer records them (a batch per transaction, its tickets
preloaded, the commit hook of main.py), each ticket's three events fanned out to its callback
and one subscription; the dispatcher sends them to a receiver in another process (its CPU is
not counted). Reported: this process's CPU per event from the first batch until every delivery
is recorded, and its CPU per second while idle afterwards. Not a test: no pass or fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from functools import partial

from collections import Counter

from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from shared.db import Database
from shared.messages import new_event
from shared.messages.common import Requester
from shared.messages.tickets import TicketCommented, TicketResolved, TicketSubmitted
from shared.messaging import preload

from services.notifier.channels.email.mailer import Mailer
from services.notifier.channels.webhook.sender import WebhookSender
from services.notifier.channels.webhook.targets import TargetPolicy
from services.notifier.dispatch.dispatcher import ATTEMPTS, Dispatcher
from services.notifier.dispatch.models import Delivery
from services.notifier.fanout.handlers import record_event
from services.notifier.main import hand_off_after_commit
from services.notifier.models import MODELS, NotifierTicket
from services.notifier.settings import NotifierSettings
from services.notifier.stream.streams import Streams
from services.notifier.subscriptions import handlers as subscriptions

# A receiver answering 204 to every call on kept-alive connections, in its own process.
RECEIVER = r"""
import asyncio, sys

async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def _events(ticket_id: str, org: str, callback_url: str) -> list:
    submitted = TicketSubmitted(
        ticket_id=ticket_id, title="Printer on fire", description="It smokes",
        requester=Requester(email=f"req-{ticket_id[:8]}@acme.example", name="Zoé"),
        organization=org, impact="high", urgency="high", callback_url=callback_url,
        submitted_at=datetime.now(UTC),
    )
    commented = TicketCommented(ticket_id=ticket_id, tier=1, author="al", body="Looking at it")
    resolved = TicketResolved(ticket_id=ticket_id, level=1, resolution="Toner replaced", by="al")
    return [new_event("bench", payload) for payload in (submitted, commented, resolved)]


async def _record_batch(db: Database, batch: list) -> None:
    # As the consumer does: one transaction, the batch's tickets read in one query.
    async with db.unit_of_work() as session:
        await preload.preload(session, (NotifierTicket,), [e.subject for e in batch])
        for event in batch:
            await record_event(session, event, email=None)


def _delivered() -> float:
    return ATTEMPTS.labels("webhook", "delivered")._value.get()


async def _until(condition, *, timeout_s: float, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the deliveries did not all go in time")
        await asyncio.sleep(interval_s)


async def run(args: argparse.Namespace, port: int) -> None:
    db = Database(args.database)
    await db.create_tables(MODELS)
    settings = NotifierSettings(allowed_target_cidrs=["127.0.0.0/8"], smtp_host=None)
    policy = TargetPolicy.from_settings(False, settings.allowed_target_cidrs)
    webhooks = WebhookSender(settings, policy=policy, subscription_secret=partial(subscriptions.secret_of, db))
    dispatcher = Dispatcher(db, settings, webhooks=webhooks, mailer=Mailer(settings))
    db.on_commit(hand_off_after_commit(dispatcher, Streams(db, settings)))
    org = f"org-{uuid.uuid4().hex[:6]}"
    await subscriptions.create(
        db, url=f"http://127.0.0.1:{port}/sub", organization=org, events=[], secret=None, description=None,
        policy=policy,
    )
    events = [e for _ in range(args.tickets) for e in _events(str(uuid.uuid4()), org, f"http://127.0.0.1:{port}/cb")]
    # Interleaved as on the topic: each ticket's events in order, tickets side by side.
    events = [events[i + j] for j in range(3) for i in range(0, len(events), 3)]
    expected = _delivered() + 2 * len(events)
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.5)  # the dispatcher's first rescan (an empty ledger) out of the figures
    statements: Counter[str] = Counter()

    def count(_conn, _cursor, statement, *_args) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1

    sa_event.listen(Engine, "before_cursor_execute", count)
    cpu0, wall0 = time.process_time(), time.monotonic()
    for start in range(0, len(events), args.batch):
        await _record_batch(db, events[start : start + args.batch])
        await asyncio.sleep(args.batch / args.rate)  # pacing of the offered load

    async def all_recorded() -> bool:
        if _delivered() < expected:
            return False
        async with db.read() as session:
            query = select(func.count()).select_from(Delivery).where(Delivery.status != "delivered")
            return (await session.exec(query)).one() == 0

    await _until(all_recorded, timeout_s=120, interval_s=0.2)
    cpu1, wall1 = time.process_time(), time.monotonic()
    during = dict(statements)
    await asyncio.sleep(args.idle)  # idle: what the dispatcher costs with nothing to send
    cpu2 = time.process_time()
    sa_event.remove(Engine, "before_cursor_execute", count)
    idle = {k: v - during.get(k, 0) for k, v in statements.items() if v - during.get(k, 0)}
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.dispose()
    n = len(events)
    print(
        f"{n} events, {2 * n} deliveries, batches of {args.batch} at {args.rate:g}/s on {db.engine.dialect.name}: "
        f"{(cpu1 - cpu0) / n * 1000:.3f} ms CPU per event ({cpu1 - cpu0:.2f} s CPU in {wall1 - wall0:.2f} s); "
        f"idle {(cpu2 - cpu1) / args.idle * 1000:.2f} ms CPU per second\n"
        f"  statements per event: {', '.join(f'{k} {v / n:.2f}' for k, v in sorted(during.items()))}; "
        f"idle, in {args.idle:g} s: {idle or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10, help="events per consumer transaction")
    parser.add_argument("--rate", type=float, default=200.0, help="events offered per second")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle afterwards")
    parser.add_argument("--database", help="a SQLAlchemy async URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            args.database = args.database or f"sqlite+aiosqlite:///{os.path.join(tmp, 'notifier.db')}"
            asyncio.run(run(args, port))
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
