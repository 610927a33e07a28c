"""`--lone N`: tickets one at a time, each waited for until queued, and the CPU one costs every process.

A ticket that comes alone pays for every wake-up of every process on its way; the load phase's
batches hide that cost. Submitted from the bench process itself: one request at a time needs no
load process, and the bench process's own CPU is reported apart from the system's.
"""

from __future__ import annotations

import asyncio
import os
import time
from argparse import Namespace

import orjson

from shared.config import ServiceSettings

from escalier_cli.bench import report as rep
from escalier_cli.bench.httpio import Connection
from escalier_cli.bench.load import mint_requester_tokens, ticket_body
from escalier_cli.bench.observer import EventWatch
from escalier_cli.bench.procs import Child, until
from escalier_cli.bench.procstat import ProcessWatch
from escalier_cli.bench.target import Target

NOTIFIED_WAIT_S = 30.0


async def _submit(conn: Connection, body: dict, token: str | None) -> tuple[str | None, int]:
    headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
    try:
        status, payload = await conn.request("POST", "/tickets", orjson.dumps(body), headers)
    except Exception:  # a reset or a refused connection: counted as refused, as the load counts them
        return None, 0
    return (orjson.loads(payload).get("id") if status in (200, 201, 202) else None), status


async def _one_at_a_time(opts: Namespace, target: Target, events: EventWatch, callback: str) -> dict:
    """Submit, wait until queued, next; stops at the first ticket not queued within the drain timeout."""
    tokens = mint_requester_tokens(target.jwt_secret, min(opts.requesters, opts.lone))
    conn = Connection(target.urls["intake"])
    out: dict = {"to_queued_ms": [], "refused": [], "lost": []}
    try:
        for seq in range(opts.lone):
            body = ticket_body(seq, opts.requesters, callback)
            start = time.time()
            ticket_id, status = await _submit(conn, body, tokens[seq % len(tokens)] if tokens else None)
            if ticket_id is None:
                out["refused"].append(status)
                continue
            seen = await events.wait_routed(ticket_id, opts.drain_timeout)
            if seen is None:
                out["lost"].append(ticket_id)
                break  # the system is stuck: more lone tickets would each wait the whole timeout
            out["to_queued_ms"].append((seen - start) * 1000)
    finally:
        conn.close()
    return out


async def measure_lone(opts: Namespace, target: Target) -> dict:
    """The lone phase's section: tickets queued, their latency, and each process's CPU a ticket."""
    watch = ProcessWatch(dict(target.pids))
    watch.add("bench", os.getpid())
    receiver = Child("escalier_cli.bench.receiver:receive_webhooks", {}).start()
    events = EventWatch(target.bootstrap, ServiceSettings())
    try:
        callback = f"http://127.0.0.1:{(await asyncio.to_thread(receiver.recv, 30))['port']}/bench"
        watch.add("bench-receiver", receiver.pid)
        await events.start()
        watch.mark()
        began = time.monotonic()
        seen = await _one_at_a_time(opts, target, events, callback)
        queued = len(seen["to_queued_ms"])

        async def all_notified() -> bool:
            return (await receiver.ask("count"))["notified"] >= queued

        # The window closes when the last ticket's first notification is out, so that each ticket's
        # whole first round of work (tiers, notifier) is inside it.
        notified = await until(all_notified, NOTIFIED_WAIT_S, interval_s=0.05)
        wall_s = time.monotonic() - began
        processes = watch.usage(wall_s)
        await receiver.result(30, stop=True)
    finally:
        await events.stop()
        receiver.kill()
    return rep.lone_section(opts.lone, seen, processes, wall_s, all_notified=notified)
