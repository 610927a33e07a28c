"""The six services as supervised processes: started, watched, restarted, stopped."""

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


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
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
class System:
    """Escalier's six services on one machine, sharing a broker and a data folder."""

    bootstrap: str
    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)

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
        for name, port in self.ports.items():
            env = {**base, f"ESCALIER_{name.upper()}_PORT": str(port)}
            self.services[name] = ServiceProcess(name, port, env, self.data_dir / "logs" / f"{name}.log")

    def urls(self) -> dict[str, str]:
        return {name: svc.url for name, svc in self.services.items()}

    def start(self) -> None:
        for svc in self.services.values():
            svc.start()

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
        """Start again any service that died; their names."""
        crashed = [svc for svc in self.services.values() if not svc.alive()]
        for svc in crashed:
            svc.restarts += 1
            svc.start()
        return [svc.name for svc in crashed]

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every service (they finish what is in flight), then kill what lingers."""
        for svc in self.services.values():
            svc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for svc in self.services.values():
            if svc.process is None:
                continue
            try:
                svc.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                svc.process.kill()
                svc.process.wait()
