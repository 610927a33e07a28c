"""The load process: submits tickets through `POST /tickets` at a fixed rate or with bounded concurrency."""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection

import orjson

from shared.auth import Role, mint_token
from shared.config import ServiceSettings

from escalier_cli.bench.httpio import Connection as HttpConnection

# A mix that triage routes to every tier (keywords from services/triage/routing/rules.yaml).
SAMPLES = [
    ("I forgot my password", "Locked out of my laptop since this morning, please reset it.", "medium", "high"),
    ("Printer on floor 3 jams", "The printer near the kitchen jams on every page.", "low", "medium"),
    ("VPN connection drops", "The VPN disconnects every ten minutes from home.", "medium", "medium"),
    ("Server outage in Lyon", "The file server is down, the whole site cannot work.", "high", "high"),
    ("Suspected phishing e-mail", "I received a mail asking for my credentials, I clicked the link.", "medium", "high"),
    ("Ransomware on the accounting share", "Files are encrypted and a ransom note appeared.", "high", "high"),
    ("Outlook crashes at startup", "Outlook closes as soon as it opens since the update.", "low", "low"),
]
ORGANIZATIONS = ("acme", "globex", "initech")


def requester(index: int) -> tuple[str, str]:
    """(e-mail, organization) of bench requester `index`."""
    org = ORGANIZATIONS[index % len(ORGANIZATIONS)]
    return f"bench-user{index}@{org}.example", org


def ticket_body(seq: int, requesters: int, callback_url: str | None) -> dict:
    """The JSON body of ticket number `seq`."""
    title, description, impact, urgency = SAMPLES[seq % len(SAMPLES)]
    email, org = requester(seq % requesters)
    body = {"title": f"{title} #{seq}", "description": description, "organization": org,
            "requester": {"email": email, "name": f"Bench user {seq % requesters}", "language": "en"},
            "impact": impact, "urgency": urgency}
    if callback_url:
        body["callback_url"] = callback_url
    return body


def mint_requester_tokens(secret: str | None, count: int) -> list[str]:
    """A requester token for each bench requester (none without a secret: a reference without auth)."""
    if secret is None:
        return []
    settings = ServiceSettings(jwt_secret=secret)
    return [mint_token(settings, sub=email, role=Role.REQUESTER, org=org) for email, org in map(requester, range(count))]


async def _submit(conn: HttpConnection, spec: dict, seq: int, out: dict) -> None:
    body = orjson.dumps(ticket_body(seq, spec["requesters"], spec.get("callback_url")))
    headers = {"content-type": "application/json"}
    if spec["tokens"]:
        headers["authorization"] = f"Bearer {spec['tokens'][seq % spec['requesters']]}"
    start = time.time()
    try:
        status, payload = await conn.request("POST", "/tickets", body, headers)
    except Exception as exc:  # counted as refused: the load goes on, the report says how many
        status, payload = 0, repr(exc).encode()
    end = time.time()
    ticket_id = orjson.loads(payload).get("id") if status in (200, 201, 202) else None
    out["records"].append((seq, ticket_id, start, end, status))
    if ticket_id is None and len(out["errors"]) < 5:
        out["errors"].append(f"{status}: {payload[:300].decode(errors='replace')}")


async def _closed_loop(spec: dict, out: dict) -> None:
    """`concurrency` workers, each on its own connection, take the next ticket as soon as they are free."""
    counter = iter(range(spec["tickets"]))

    async def worker() -> None:
        conn = HttpConnection(spec["url"])
        for seq in counter:
            await _submit(conn, spec, seq, out)
        conn.close()

    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))


async def _open_loop(spec: dict, out: dict) -> None:
    """One ticket every 1/rate seconds, whatever the answers; at most `concurrency` in flight."""
    idle: list[HttpConnection] = []
    slots = asyncio.Semaphore(spec["concurrency"])
    start, tasks = time.monotonic(), []

    async def one(seq: int) -> None:
        conn = idle.pop() if idle else HttpConnection(spec["url"])
        try:
            await _submit(conn, spec, seq, out)
        finally:
            idle.append(conn)
            slots.release()

    for seq in range(spec["tickets"]):
        delay = start + seq / spec["rate"] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            out["late"] += 1  # the load process fell behind its schedule (CPU starved)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(seq)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()


async def run_load(spec: dict, conn: Connection) -> dict:
    """Submit `spec['tickets']` tickets; every submission's (seq, id, start, end, status)."""
    spec = {**spec, "tokens": mint_requester_tokens(spec.get("jwt_secret"), spec["requesters"])}
    out: dict = {"records": [], "errors": [], "late": 0}
    began = time.time()
    await (_open_loop(spec, out) if spec.get("rate") else _closed_loop(spec, out))
    out.update(began=began, ended=time.time())
    return out
