"""The fault suite's own system, its steady load, its agents, and the verdict after each fault.

A broker and six services of this module's own (not the session's): faults here kill, stop
and empty them. The load is a client that retries with the same Idempotency-Key until it
gets its 202, as a careful client would, so a crash between commit and answer shows up as
a second ticket if idempotency fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import SERVICES, System
from escalier_cli.verify import database_urls, verify
from tests.helpers import OPS, TEST_JWT_SECRET, agent_headers, eventually, requester_headers

FULL = os.environ.get("ESCALIER_FAULTS_FULL") == "1"
RATE_PER_S = float(os.environ.get("ESCALIER_FAULTS_RATE", "20" if FULL else "6"))
BROKER_OUTAGE_S = 30.0 if FULL else 8.0
# Generous: a system that does not converge fails at ROUTED_AFTER_BROKER_S, well before this.
SETTLE_TIMEOUT_S = 900.0 if FULL else 420.0
# Every ticket accepted is at its tier this long after the broker is back (issue 16).
ROUTED_AFTER_BROKER_S = 30.0
RESTART_PROBE = "readyz" if FULL else "healthz"

# Words that route to each tier (services/triage/routing/rules.yaml), so all three tiers hold tickets.
PROBLEMS = [
    ("I forgot my password", "Cannot log in to my laptop, my password is rejected since this morning."),
    ("Printer on floor 2 does not print", "The office printer shows an error and prints nothing."),
    ("The whole site network is down", "Outage: nobody in the building can reach any server."),
    ("Ransomware note on my screen", "Files are encrypted and a ransom note asks for bitcoin."),
    ("Outlook keeps asking for my password", "My mailbox does not sync since yesterday."),
]
ORGANIZATIONS = ("acme", "globex")


def fault_env(contracts: Path) -> dict[str, str]:
    return {
        "ESCALIER_LOG_LEVEL": "INFO",
        "ESCALIER_TOPIC_PARTITIONS": "6",
        "ESCALIER_SLA_CONTRACTS_FILE": str(contracts),
        "ESCALIER_ENV": "test",
        "ESCALIER_JWT_SECRET": TEST_JWT_SECRET,
        "ESCALIER_INTAKE_RATE_PER_REQUESTER_PER_MINUTE": "600000",
        "ESCALIER_INTAKE_BURST_PER_REQUESTER": "20000",
        "ESCALIER_INTAKE_RATE_PER_ORGANIZATION_PER_MINUTE": "600000",
        "ESCALIER_INTAKE_BURST_PER_ORGANIZATION": "50000",
    }


@dataclass
class FaultSystem:
    """A broker and the six services on free ports, with the means to hurt them."""

    broker: EmbeddedBroker
    system: System
    faults: Counter = field(default_factory=Counter)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def url(self, name: str) -> str:
        return self.system.services[name].url

    async def ready(self, name: str, timeout_s: float = 90.0, probe: str = "readyz") -> None:
        """Wait until `name` answers `probe`: /readyz (consumer assigned) or /healthz (serving)."""
        async def answers() -> bool:
            try:
                async with httpx.AsyncClient(timeout=1.0) as client:
                    return (await client.get(f"{self.url(name)}/{probe}")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(answers, timeout_s=timeout_s, interval_s=0.2)

    async def all_ready(self, timeout_s: float = 120.0) -> None:
        try:
            await asyncio.gather(*(self.ready(n, timeout_s) for n in self.system.services))
        except AssertionError:
            raise AssertionError(f"not all ready within {timeout_s}s: {await self.readiness()}") from None

    async def readiness(self) -> dict[str, object]:
        """Each service's /readyz answer (its checks), or the error asking for it."""
        answers: dict[str, object] = {}
        async with httpx.AsyncClient(timeout=2.0) as client:
            for name in self.system.services:
                try:
                    answers[name] = (await client.get(f"{self.url(name)}/readyz")).json()
                except (httpx.HTTPError, ValueError) as exc:
                    answers[name] = repr(exc)
        return answers

    async def kill9(self, name: str, down_s: float = 2.0) -> None:
        """kill -9 one service, leave it down `down_s`, start it again and wait until it serves.

        In the reduced form the next fault comes while its consumer group is still rebalancing
        (harsher, and quicker); in full, once it is ready again.
        """
        svc = self.system.services[name]
        svc.process.kill()
        await asyncio.to_thread(svc.process.wait)
        self.faults[f"kill -9 {name}"] += 1
        await asyncio.sleep(down_s)  # the outage itself, not a wait for a condition
        svc.start()
        await self.ready(name, probe=RESTART_PROBE)

    async def sigterm(self, name: str) -> float:
        """SIGTERM one service and return the seconds it took to exit; then start it again."""
        svc = self.system.services[name]
        started = time.monotonic()
        svc.signal(signal.SIGTERM)
        code = await asyncio.to_thread(svc.process.wait, 30)
        took = time.monotonic() - started
        self.faults[f"SIGTERM {name}"] += 1
        # uvicorn re-raises the signal once its shutdown is complete: -15 after a clean shutdown.
        tail = self.system.log_tail(name, lines=8)
        clean = code in (0, -signal.SIGTERM) and "Application shutdown complete" in tail
        assert clean, f"{name} exited with {code} after SIGTERM:\n{tail}"
        svc.start()
        await self.ready(name, probe=RESTART_PROBE)
        return took

    async def broker_down(self, outage_s: float) -> float:
        """Stop the broker for `outage_s`, then start it again, empty (memory storage).

        Returns when it listened again (monotonic).
        """
        await asyncio.to_thread(self.broker.stop)
        self.faults["broker stopped"] += 1
        await asyncio.sleep(outage_s)  # the outage itself
        await asyncio.to_thread(self.broker.start)
        return time.monotonic()

    async def held_by_a_tier(self, ticket_ids: set[str], client: httpx.AsyncClient) -> set[str]:
        """Which of `ticket_ids` a tier holds or held (the hand-off arrived), asked of all three."""
        async def held(ticket_id: str) -> bool:
            for tier in (1, 2, 3):
                try:
                    answer = await client.get(f"{self.url(f'tier{tier}')}/tickets/{ticket_id}")
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    return True
            return False

        found: set[str] = set()
        pending = sorted(ticket_ids)
        for start in range(0, len(pending), 20):  # a few at a time: the probe must not be the load
            chunk = pending[start : start + 20]
            found |= {t for t, yes in zip(chunk, await asyncio.gather(*map(held, chunk))) if yes}
        return found

    async def routed_by(self, load: Load, deadline: float) -> float:
        """Wait until every ticket `load` got accepted is held by a tier; fail at `deadline` (monotonic).

        Returns when the last one arrived (monotonic). Tickets still being accepted count as they come.
        """
        seen: set[str] = set()
        async with httpx.AsyncClient(timeout=5, headers=OPS) as client:
            while True:
                pending = set(load.accepted.values()) - seen
                if pending:
                    seen |= await self.held_by_a_tier(pending, client)
                    pending -= seen
                now = time.monotonic()
                if not pending and load.done:
                    return now
                if now >= deadline:
                    sample = sorted(pending)[:5]
                    raise AssertionError(
                        f"{len(pending)} of {len(load.accepted)} accepted tickets not at a tier by the deadline "
                        f"(e.g. {sample})"
                    )
                await asyncio.sleep(0.5)  # the probe's pace

    async def settle_and_verify(self, load: Load) -> None:
        """Wait until `escalier verify` passes, then run the command itself and assert on it and the load."""
        await self.all_ready()
        urls = database_urls(self.system.data_dir, {})

        async def consistent():
            report = await verify(self.bootstrap, urls)
            return report if report.ok else None

        started = time.monotonic()
        try:
            await eventually(consistent, timeout_s=SETTLE_TIMEOUT_S, interval_s=1.0)
        except AssertionError:
            report = await verify(self.bootstrap, urls)
            raise AssertionError("\n".join(report.lines(limit=30))) from None
        settled = time.monotonic()
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "escalier_cli.main", "verify", "--bootstrap", self.bootstrap,
             "--data-dir", str(self.system.data_dir)],
            capture_output=True, text=True, timeout=180,
        )
        print(f"settled in {settled - started:.1f}s; `escalier verify` took {time.monotonic() - settled:.1f}s")
        print(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        await load.check_against_intake(self)


@dataclass
class Load:
    """A steady stream of submissions at `rate` per second, each retried with its key until accepted."""

    intake_url: str
    rate: float = RATE_PER_S
    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> ticket id
    answers: Counter = field(default_factory=Counter)
    _tasks: set = field(default_factory=set)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: asyncio.Task | None = None

    def start(self) -> Load:
        self._runner = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            n = 0
            while not self._stopping.is_set():
                task = asyncio.create_task(self._submit(client, n))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                n += 1
                await asyncio.sleep(1 / self.rate)  # pacing of the offered load
            if self._tasks:
                await asyncio.gather(*self._tasks)

    async def _submit(self, client: httpx.AsyncClient, n: int) -> None:
        key = str(uuid.uuid4())
        title, description = PROBLEMS[n % len(PROBLEMS)]
        org = ORGANIZATIONS[n % len(ORGANIZATIONS)]
        email = f"user{n % 50}@{org}.example"
        body = {
            "title": title, "description": f"{description} (#{n})",
            "requester": {"email": email, "name": f"User {n % 50}", "language": "en"},
            "organization": org, "impact": "medium", "urgency": "high",
        }
        headers = {**requester_headers(email, org), "Idempotency-Key": key}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = await client.post(f"{self.intake_url}/tickets", json=body, headers=headers)
                self.answers[response.status_code] += 1
                if response.status_code == 202:
                    self.accepted[key] = response.json()["id"]
                    return
            except httpx.HTTPError as exc:
                self.answers[type(exc).__name__] += 1
            await asyncio.sleep(0.25)  # a client's back-off before retrying with the same key
        self.answers["gave up"] += 1

    @property
    def done(self) -> bool:
        """Stopped, and every submission got its answer."""
        return self._runner is not None and self._runner.done()

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner:
            await self._runner

    async def check_against_intake(self, faults: FaultSystem) -> None:
        """Every 202 is a ticket intake holds; no key made two tickets."""
        async with httpx.AsyncClient(timeout=30, headers=OPS) as client:
            held: set[str] = set()
            offset = 0
            while True:
                page = (await client.get(f"{faults.url('intake')}/tickets", params={"limit": 200, "offset": offset})).json()
                held |= {t["id"] for t in page["items"]}
                offset += 200
                if offset >= page["total"]:
                    break
        ids = list(self.accepted.values())
        lost = set(ids) - held
        assert not lost, f"{len(lost)} accepted tickets are not in intake"
        assert len(set(ids)) == len(ids), "two keys were answered with the same ticket"
        assert self.answers["gave up"] == 0, self.answers


@dataclass
class Agents:
    """A few agents per tier: claim what is queued, escalate some, resolve the rest; errors shrugged off."""

    faults: FaultSystem
    actions: Counter = field(default_factory=Counter)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list = field(default_factory=list)

    def start(self) -> Agents:
        self._tasks = [asyncio.create_task(self._work(tier)) for tier in (1, 2, 3)]
        return self

    async def _work(self, tier: int) -> None:
        url, headers = self.faults.url(f"tier{tier}"), agent_headers(f"agent-t{tier}", tier)
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            while not self._stopping.is_set():
                try:
                    queue = (await client.get(f"{url}/queue", params={"status": "queued", "limit": 5})).json()["items"]
                    for item in queue:
                        await self._finish(client, url, tier, item["id"])
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    self.actions[f"error {type(exc).__name__}"] += 1
                await asyncio.sleep(0.3)  # an agent's pace

    async def _finish(self, client: httpx.AsyncClient, url: str, tier: int, ticket_id: str) -> None:
        claim = await client.post(f"{url}/tickets/{ticket_id}/claim")
        self.actions[f"claim {claim.status_code}"] += 1
        if claim.status_code != 200:
            return
        roll = zlib.crc32(ticket_id.encode()) % 3
        if roll == 0:
            return  # left in progress
        if roll == 1 and tier < 3:
            answer = await client.post(f"{url}/tickets/{ticket_id}/escalate", json={"reason": "needs the next tier"})
            self.actions[f"escalate {answer.status_code}"] += 1
        else:
            answer = await client.post(f"{url}/tickets/{ticket_id}/resolve", json={"resolution": "fixed"})
            self.actions[f"resolve {answer.status_code}"] += 1

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self._tasks)


def start_fault_system(tmp: Path, free_port) -> FaultSystem:
    """Start a broker and the six services of the fault suite's own; block until all are ready."""
    from shared.messaging.broker import ensure_topics

    broker = EmbeddedBroker(free_port(), log_file=tmp / "tansu.log").start()
    contracts = Path(__file__).resolve().parent.parent / "data" / "contracts.yaml"
    system = System(
        bootstrap=broker.bootstrap, data_dir=tmp / "data", ports={n: free_port() for n in SERVICES},
        extra_env=fault_env(contracts),
    )
    asyncio.run(ensure_topics(broker.bootstrap, partitions=6))
    system.start()
    try:
        system.wait_ready(timeout_s=120)
    except Exception:
        system.stop()
        broker.stop()
        raise
    return FaultSystem(broker, system)
