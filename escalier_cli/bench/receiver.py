"""The requesters' webhook endpoint: the time of the first notification of each ticket."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

import orjson

from escalier_cli.bench import httpio
from escalier_cli.bench.procs import wait_for_stop


async def receive_webhooks(spec: dict, conn: Connection) -> dict:
    """Listen on a free loopback port (told to the parent) until stopped; first call per ticket."""
    first: dict[str, tuple[float, str]] = {}
    counts = {"calls": 0, "unreadable": 0}

    def on_request(head: bytes, body: bytes) -> None:
        now = time.time()
        counts["calls"] += 1
        try:
            call = orjson.loads(body)
            ticket_id = call["ticket_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            counts["unreadable"] += 1
            return
        if ticket_id not in first:
            first[ticket_id] = (now, call.get("type", "?"))

    server = await httpio.serve(0, on_request)
    conn.send({"port": server.sockets[0].getsockname()[1]})
    await wait_for_stop(conn, lambda _question: {"notified": len(first)})
    server.close()
    return {"first": first, **counts}
