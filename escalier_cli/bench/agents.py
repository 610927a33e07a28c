"""Simulated agents: each tier's agents claim what is queued, then escalate some tickets and resolve the rest."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import Counter
from multiprocessing.connection import Connection

import orjson

from shared.auth import Role, mint_token
from shared.config import ServiceSettings

from escalier_cli.bench.httpio import Connection as HttpConnection
from escalier_cli.bench.procs import wait_for_stop

ESCALATE_PERCENT = 30  # of the tickets claimed below tier 3


class Agent:
    """One agent at one tier, on its own connection, with its own token."""

    def __init__(self, spec: dict, tier: int, index: int, stats: dict) -> None:
        self.name, self.tier, self.stats = f"bench-agent-t{tier}-{index}", tier, stats
        self.index = index
        self.conn = HttpConnection(spec["urls"][f"tier{tier}"])
        self.headers = {"content-type": "application/json"}
        if spec.get("jwt_secret"):
            settings = ServiceSettings(jwt_secret=spec["jwt_secret"])
            token = mint_token(settings, sub=self.name, role=Role.AGENT, orgs=["*"], tier=tier)
            self.headers["authorization"] = f"Bearer {token}"
        self.named = True  # until auth lands, tiers want the agent named in the body

    async def call(self, action: str, ticket_id: str, fields: dict) -> int:
        body = {"agent": self.name, **fields} if self.named else fields
        start = time.monotonic()
        status, payload = await self.conn.request("POST", f"/tickets/{ticket_id}/{action}", orjson.dumps(body), self.headers)
        if status == 422 and self.named and b"agent" in payload:
            self.named = False  # the token names the agent now: the body must not
            return await self.call(action, ticket_id, fields)
        self.stats["latencies_ms"].setdefault(action, []).append((time.monotonic() - start) * 1000)
        self.stats["answers"][f"{action} {status}"] += 1
        return status

    async def work_one(self) -> bool:
        """Claim one queued ticket and finish it; False when the queue is empty."""
        status, payload = await self.conn.request("GET", f"/queue?status=queued&limit=20&offset={self.index % 4}", b"", self.headers)
        items = orjson.loads(payload).get("items", []) if status == 200 else []
        if not items:
            return False
        ticket_id = items[0]["id"]
        if await self.call("claim", ticket_id, {}) != 200:
            return True  # another agent took it first: try the next
        if self.tier < 3 and zlib.crc32(ticket_id.encode()) % 100 < ESCALATE_PERCENT:
            await self.call("escalate", ticket_id, {"reason": "bench: needs the next tier"})
        else:
            await self.call("resolve", ticket_id, {"resolution": "bench: done"})
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                busy = await self.work_one()
            except Exception as exc:  # a refused connection or a reset: counted, then carry on
                self.stats["answers"][f"error {type(exc).__name__}"] += 1
                busy = False
            if not busy:
                await asyncio.sleep(0.2)
        self.conn.close()


async def run_agents(spec: dict, conn: Connection) -> dict:
    """`agents` agents per tier until the parent says stop; answers by action and status, latencies."""
    stats: dict = {"answers": Counter(), "latencies_ms": {}}
    stopping = asyncio.Event()
    agents = [Agent(spec, tier, i, stats) for tier in (1, 2, 3) for i in range(spec["agents"])]
    tasks = [asyncio.create_task(a.run(stopping)) for a in agents]
    conn.send({"started": len(agents)})
    await wait_for_stop(conn)
    stopping.set()
    await asyncio.gather(*tasks)
    return {"answers": dict(stats["answers"]), "latencies_ms": stats["latencies_ms"]}
