"""The system under test: one the bench starts on free ports and a temporary folder, or one already running."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shared.messaging.broker import ensure_topics, wait_for_broker

from escalier_cli.bench.procstat import listening_pid
from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import SERVICES, System

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UNLIMITED = str(10**9)
# The limiter is not what a throughput bench measures; bench requesters are many but few per second.
BENCH_ENV = {
    "ESCALIER_ENV": "bench",
    "ESCALIER_INTAKE_RATE_PER_REQUESTER_PER_MINUTE": UNLIMITED,
    "ESCALIER_INTAKE_BURST_PER_REQUESTER": UNLIMITED,
    "ESCALIER_INTAKE_RATE_PER_ORGANIZATION_PER_MINUTE": UNLIMITED,
    "ESCALIER_INTAKE_BURST_PER_ORGANIZATION": UNLIMITED,
    # The bench's webhook receiver listens on loopback, which notifier refuses unless allowed.
    "ESCALIER_NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
    "ESCALIER_NOTIFIER_ALLOWED_TARGET_CIDRS": "127.0.0.0/8",
}


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Target:
    """Where the services answer, the bus, the secret their tokens need, and their processes if known."""

    urls: dict[str, str]
    bootstrap: str
    jwt_secret: str | None
    pids: dict[str, int] = field(default_factory=dict)
    started: bool = False
    data_dir: Path | None = None
    found: list[str] = field(default_factory=list)  # the processes found by the port they listen on


@contextmanager
def started_system(*, partitions: int = 6, keep: bool = False, ready_timeout_s: float = 180.0,
                   processes: int | None = None) -> Iterator[Target]:
    """Broker and six services on free ports (in `processes` processes, else one each), data in a temporary
    folder; everything stopped on exit."""
    data_dir = Path(tempfile.mkdtemp(prefix="escalier-bench-"))
    secret = secrets.token_urlsafe(32)
    broker = EmbeddedBroker(free_port(), log_file=data_dir / "tansu.log").start()
    env = {**BENCH_ENV, "ESCALIER_JWT_SECRET": secret, "ESCALIER_TOPIC_PARTITIONS": str(partitions)}
    system = System(bootstrap=broker.bootstrap, data_dir=data_dir, ports={n: free_port() for n in SERVICES}, extra_env=env,
                    processes=processes)
    try:
        asyncio.run(wait_for_broker(broker.bootstrap, timeout_s=30))
        asyncio.run(ensure_topics(broker.bootstrap, partitions=partitions))
        system.start()
        system.wait_ready(timeout_s=ready_timeout_s)
        # By process: a packed one (intake+notifier) is counted once.
        pids = {"broker": broker.process.pid, **{h.label: h.process.pid for h in system.hosts()}}
        yield Target(system.urls(), broker.bootstrap, secret, pids, started=True, data_dir=data_dir)
    finally:
        system.stop()
        broker.stop()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def running_system(urls: dict[str, str], bootstrap: str | None, pids: dict[str, int]) -> Target:
    """A system someone else runs; tokens are signed with ESCALIER_JWT_SECRET as theirs are."""
    from shared.config import ServiceSettings

    urls = {n: f"http://127.0.0.1:{p}" for n, p in SERVICES.items()} | urls  # `escalier up`'s ports unless told
    bootstrap = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or ServiceSettings().kafka_bootstrap_servers
    found = find_pids({"broker": f"tcp://{bootstrap.split(',')[0]}", **urls}, skip=set(pids))
    return Target(urls, bootstrap, ServiceSettings().jwt_secret, dict(pids) | found, found=sorted(found))


def find_pids(addresses: dict[str, str], skip: set[str]) -> dict[str, int]:
    """The processes listening on these loopback addresses, by name, for those `--pid` did not name."""
    found = {}
    for name, address in addresses.items():
        parts = urlsplit(address)
        if name in skip or parts.hostname not in LOOPBACK or not parts.port:
            continue
        if (pid := listening_pid(parts.port)) is not None and pid not in found.values():
            found[name] = pid
    return found
