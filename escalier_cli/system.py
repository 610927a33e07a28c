"""The six services as supervised processes: started, watched, restarted, stopped.

One process a service by default; `processes` below six packs several services into a process
(`python -m escalier_cli.packed`), each still with its own port, database, settings and group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES: dict[str, int] = {
    "intake": 8000,
    "triage": 8001,
    "tier1": 8002,
    "tier2": 8003,
    "tier3": 8004,
    "notifier": 8005,
}
# What a ticket costs each service's process, in ms of CPU under load (issue 16's profile: triage 2.1,
# intake 1.6, notifier 1.3, the tiers 0.85 together, most of it tier 1's): packing spreads this evenly.
# Two processes thus pack triage, the pipeline's narrowest step, with the light tiers. The bench's own
# December figures (intake 2.04, notifier 1.73, triage 1.62) would put triage with notifier instead:
# measured, that routed 235 tickets/s against 320 (docs/performance.md), so these stay.
WEIGHTS = {"triage": 2.1, "intake": 1.6, "notifier": 1.3, "tier1": 0.55, "tier2": 0.15, "tier3": 0.15}


def pack(names: list[str], processes: int) -> list[list[str]]:
    """`names` spread over at most `processes` processes, the heaviest first, each into the lightest so far;
    each process lists its services in `names`' order."""
    if processes < 1:
        raise ValueError("at least one process")
    groups: list[list[str]] = [[] for _ in range(min(processes, len(names)))]
    load = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: -WEIGHTS.get(n, 1.0)):
        lightest = load.index(min(load))
        groups[lightest].append(name)
        load[lightest] += WEIGHTS.get(name, 1.0)
    order = {name: i for i, name in enumerate(names)}
    return sorted((sorted(g, key=order.get) for g in groups), key=lambda g: order[g[0]])


@dataclass
class ServiceProcess:
    """A process serving service `name` on `port`, or, packed, the services `packed` (`name` first)."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    restarts: int = 0
    packed: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        """The process's name: its service's, or its services' joined by `+`."""
        return "+".join(self.packed) if self.packed else self.name

    def command(self) -> list[str]:
        if self.packed:
            return [sys.executable, "-m", "escalier_cli.packed", *self.packed]
        return [sys.executable, "-m", f"services.{self.name}"]

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.process.send_signal(sig)


@dataclass
class PackedService:
    """One service of a packed process: its own name and port, the process it shares."""

    name: str
    port: int
    host: ServiceProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.host.log_path

    @property
    def process(self) -> subprocess.Popen | None:
        return self.host.process

    def alive(self) -> bool:
        return self.host.alive()


@dataclass
class System:
    """Escalier's six services on one machine, sharing a broker and a data folder, in `processes` processes."""

    bootstrap: str
    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess | PackedService] = field(default_factory=dict)
    processes: int | None = None  # None: one a service

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        project_root = str(Path(__file__).resolve().parent.parent)
        base = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")])),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "ESCALIER_DATA_DIR": str(self.data_dir),
            **self.extra_env,
        }
        groups = pack(list(self.ports), self.processes) if self.processes else [[name] for name in self.ports]
        for group in groups:
            env = {**base, **{f"ESCALIER_{name.upper()}_PORT": str(self.ports[name]) for name in group}}
            first, label = group[0], "+".join(group)
            host = ServiceProcess(first, self.ports[first], env, self.data_dir / "logs" / f"{label}.log",
                                  packed=tuple(group) if len(group) > 1 else ())
            for name in group:
                self.services[name] = host if len(group) == 1 else PackedService(name, self.ports[name], host)
        self.services = {name: self.services[name] for name in self.ports}  # in the order of the ports

    def urls(self) -> dict[str, str]:
        return {name: svc.url for name, svc in self.services.items()}

    def hosts(self) -> list[ServiceProcess]:
        """The system's processes, each once."""
        seen: dict[int, ServiceProcess] = {}
        for svc in self.services.values():
            host = svc.host if isinstance(svc, PackedService) else svc
            seen.setdefault(id(host), host)
        return list(seen.values())

    def start(self) -> None:
        for host in self.hosts():
            host.start()

    def not_ready(self) -> list[str]:
        """Names of the services whose /readyz does not answer 200 yet."""
        waiting = []
        for name, svc in self.services.items():
            try:
                ok = httpx.get(f"{svc.url}/readyz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                ok = False
            if not ok:
                waiting.append(name)
        return waiting

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Return when every service is ready; raise with the laggards' log tails otherwise."""
        deadline = time.monotonic() + timeout_s
        while waiting := self.not_ready():
            dead = [n for n in waiting if not self.services[n].alive()]
            if dead or time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.log_tail(n)}" for n in dead or waiting)
                raise RuntimeError(f"services not ready: {', '.join(dead or waiting)}\n{tails}")
            time.sleep(0.2)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.services[name].log_path
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def restart_crashed(self) -> list[str]:
        """Start again any process that died; their names."""
        crashed = [host for host in self.hosts() if not host.alive()]
        for host in crashed:
            host.restarts += 1
            host.start()
        return [host.label for host in crashed]

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every process (they finish what is in flight), then kill what lingers."""
        for svc in self.hosts():
            svc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for svc in self.hosts():
            if svc.process is None:
                continue
            try:
                svc.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                svc.process.kill()
                svc.process.wait()
