"""Session fixtures that start real processes: the broker, PostgreSQL databases, the whole system.

Broker, in this order: KAFKA_BOOTSTRAP_SERVERS; a testcontainers Kafka where a Docker
engine answers; the embedded Tansu on a free port. Never a mock.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path
from collections.abc import AsyncIterator, Iterator

import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import SERVICES, System
from shared.messaging.broker import ensure_topics
from tests.helpers import OPS, TEST_JWT_SECRET
from tests.channels import NOTIFIER_TEST_ENV, ReceiverControl, SmtpSink

POSTGRES_ADMIN_DSN = os.environ.get("ESCALIER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> Iterator[str]:
    """A real Kafka-protocol broker for the whole session."""
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield bootstrap
    elif _docker_answers():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
    else:
        log = tmp_path_factory.mktemp("tansu") / "tansu.log"
        with EmbeddedBroker(free_port(), log_file=log) as broker:
            yield broker.bootstrap


async def _postgres_answers() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
        await conn.close()
        return True
    except Exception:
        return False


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return asyncio.run(_postgres_answers())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path, postgres_available) -> AsyncIterator[str]:
    """Each database-layer test runs on SQLite, and on a fresh PostgreSQL database where one answers."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not postgres_available:
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    name = f"escalier_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def system(kafka_bootstrap, tmp_path_factory, smtp_server) -> Iterator[System]:
    """The six services as processes on free ports, once per session, sharing the test broker."""
    ports = {name: free_port() for name in SERVICES}
    running = System(
        bootstrap=kafka_bootstrap,
        data_dir=tmp_path_factory.mktemp("escalier"),
        ports=ports,
        extra_env={
            "ESCALIER_LOG_LEVEL": "INFO",
            "ESCALIER_TOPIC_PARTITIONS": "6",
            "ESCALIER_SLA_CONTRACTS_FILE": str(Path(__file__).parent / "data" / "contracts.yaml"),
            "ESCALIER_ENV": "test",
            "ESCALIER_JWT_SECRET": TEST_JWT_SECRET,
            # Room for every test's submissions (the limiter itself is unit-tested).
            "ESCALIER_INTAKE_RATE_PER_REQUESTER_PER_MINUTE": "60000",
            "ESCALIER_INTAKE_BURST_PER_REQUESTER": "2000",
            "ESCALIER_INTAKE_RATE_PER_ORGANIZATION_PER_MINUTE": "60000",
            "ESCALIER_INTAKE_BURST_PER_ORGANIZATION": "5000",
            **NOTIFIER_TEST_ENV,
            "ESCALIER_NOTIFIER_SMTP_PORT": str(smtp_server.port),
        },
    )
    asyncio.run(ensure_topics(kafka_bootstrap, partitions=6))
    running.start()
    try:
        running.wait_ready(timeout_s=120)
        yield running
    finally:
        running.stop()


@pytest.fixture
async def http():
    """An HTTP client that reads as ops unless a request brings its own Authorization."""
    async with httpx.AsyncClient(timeout=10, headers=OPS) as client:
        yield client


class WebhookReceiver:
    """A real HTTP server that records every call it receives."""

    def __init__(self) -> None:
        self.calls: list[dict] = []  # the calls it took (2xx)
        self.refused: list[dict] = []  # the calls it answered with an error (see `control`)
        self.control = ReceiverControl()
        self.port = free_port()

        async def record(request: Request) -> Response:
            body = await request.body()
            call = {"path": request.url.path, "headers": dict(request.headers), "json": json.loads(body), "body": body}
            status = await self.control.answer(request.url.path)
            (self.calls if status < 300 else self.refused).append(call)
            return Response(status_code=status)

        app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def calls_to(self, path: str) -> list[dict]:
        return [c for c in list(self.calls) if c["path"] == "/" + path.lstrip("/")]


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    deadline = time.monotonic() + 10
    while not receiver.server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("webhook receiver did not start")
        time.sleep(0.02)
    yield receiver
    receiver.server.should_exit = True
    receiver.thread.join(5)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free port, for the session; notifier sends its e-mail there."""
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


class Alertmanagers:
    """Real Alertmanager processes (Debian's prometheus-alertmanager) on loopback, each with its own config."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root
        self.processes: list = []

    def start(self, config: str) -> str:
        """Start one with `config` (YAML text); its base URL once it answers /-/ready."""
        import subprocess

        home = self.root / uuid.uuid4().hex[:8]
        (home / "data").mkdir(parents=True)
        (home / "alertmanager.yml").write_text(config)
        port = free_port()
        log = open(home / "alertmanager.log", "wb")
        process = subprocess.Popen(
            [self.binary, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {(home / 'alertmanager.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling readiness, with the deadline above
        raise RuntimeError("alertmanager did not become ready within 30 s")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except Exception:
                process.kill()


@pytest.fixture
def alertmanagers(tmp_path) -> Iterator[Alertmanagers]:
    """Starts real Alertmanagers for a test (skips, naming the install, where the binary is missing)."""
    from tests.tools import tool

    running = Alertmanagers(tool("prometheus-alertmanager"), tmp_path)
    try:
        yield running
    finally:
        running.stop()
