"""The bench's phases against the system: idle, the two references, then the system under load."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

from shared.config import ServiceSettings
from shared.messages.envelope import encode, new_event
from shared.messages.tickets import TicketSubmitted

from escalier_cli.bench import report as rep
from escalier_cli.bench.load import ticket_body
from escalier_cli.bench.observer import EventWatch
from escalier_cli.bench.procs import Child, until
from escalier_cli.bench.procstat import ProcessWatch
from escalier_cli.bench.target import Target, free_port
from escalier_cli.broker import port_open

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


def load_spec(opts: Namespace, url: str, *, jwt_secret: str | None, callback_url: str | None = None) -> dict:
    """What the load process needs: where, how many, how fast, as whom."""
    return {"url": url, "tickets": opts.tickets, "rate": opts.rate, "concurrency": opts.concurrency,
            "requesters": opts.requesters, "jwt_secret": jwt_secret, "callback_url": callback_url}


async def _load(spec: dict, watch: ProcessWatch, timeout_s: float) -> dict:
    child = Child("escalier_cli.bench.load:run_load", spec).start()
    watch.add("bench-load", child.pid)
    return await child.result(timeout_s)


def _timeout(opts: Namespace) -> float:
    # Generous: a slow system is a finding to report, not a reason to abort the run.
    return 300 + opts.tickets / min(opts.rate or 10, 10)


def sample_event() -> tuple[list, int]:
    """Headers and value size of a real `ticket.submitted` record, for same-sized bare-bus messages."""
    body = ticket_body(0, 1, "http://127.0.0.1:65535/bench")
    data = TicketSubmitted(ticket_id=str(uuid.uuid4()), submitted_at=datetime.now(UTC), **body)
    headers, value = encode(new_event("intake", data))
    return headers, len(value)


async def measure_idle(opts: Namespace, watch: ProcessWatch) -> dict:
    """After `settle` seconds, every process's CPU, wake-ups and memory over `idle_window` seconds of no load."""
    await asyncio.sleep(opts.settle)  # the services finish starting up (imports, first fetches)
    watch.mark()
    began = time.monotonic()
    await asyncio.sleep(opts.idle_window)  # the phase is a length of time: nothing to wait for
    window_s = time.monotonic() - began
    return {"window_s": round(window_s, 1), "processes": watch.usage(window_s)}


async def reference_bus(opts: Namespace, target: Target) -> dict:
    """Reference (b): same-sized messages through the same broker, one hop, the services' fetch settings."""
    headers, size = sample_event()
    rate = opts.bus_rate or opts.rate or 1000
    spec = {"bootstrap": target.bootstrap, "rate": rate, "bytes": size, "headers": headers,
            "partitions": opts.partitions, "messages": min(opts.tickets, int(rate * 20))}
    result = await Child("escalier_cli.bench.bus:bare_bus", spec).start().result(spec["messages"] / rate + 90)
    return rep.bus_section({**spec, **result}) | {"process": result["process"]}


async def reference_http(opts: Namespace, data_dir: Path) -> dict:
    """Reference (a): intake's request model on the same server settings, no DB, no Kafka, loaded the same way."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "escalier_cli.bench.bare_app", str(port), str(data_dir / "bare")],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT_ROOT, os.environ.get("PYTHONPATH")]))},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare HTTP reference did not start")
            await asyncio.sleep(0.1)
        watch = ProcessWatch({"bare-http": server.pid})
        began = time.monotonic()
        load = await _load(load_spec(opts, f"http://127.0.0.1:{port}", jwt_secret=None), watch, _timeout(opts))
        return rep.http_section(load) | {"processes": watch.usage(time.monotonic() - began) | {"bench-load": load["process"]}}
    finally:
        server.terminate()
        server.wait(15)


async def _drain(opts: Namespace, load: dict, events: EventWatch, receiver: Child) -> float:
    """Wait until every accepted ticket is routed and notified (or the drain timeout); seconds waited."""
    began = time.monotonic()
    accepted = {r[1] for r in load["records"] if r[1]}

    async def all_routed() -> bool:
        return accepted <= events.routed.keys()

    async def all_notified() -> bool:
        return (await receiver.ask("count"))["notified"] >= len(accepted)

    await until(all_routed, opts.drain_timeout)
    await until(all_notified, max(5.0, opts.drain_timeout - (time.monotonic() - began)), interval_s=0.5)
    return time.monotonic() - began


async def measure_system(opts: Namespace, target: Target, watch: ProcessWatch) -> tuple[dict, dict]:
    """The system under load: the report's sections, and the raw series for the plot."""
    receiver = Child("escalier_cli.bench.receiver:receive_webhooks", {}).start()
    agents = Child("escalier_cli.bench.agents:run_agents", {"urls": target.urls, "jwt_secret": target.jwt_secret,
                                                             "agents": opts.agents}) if opts.agents else None
    events = EventWatch(target.bootstrap, ServiceSettings())
    try:
        callback = f"http://127.0.0.1:{(await asyncio.to_thread(receiver.recv, 30))['port']}/bench"
        watch.add("bench-receiver", receiver.pid)
        await events.start()
        if agents:
            agents.start().recv(30)
            watch.add("bench-agents", agents.pid)
        watch.mark()
        began = time.monotonic()
        spec = load_spec(opts, target.urls["intake"], jwt_secret=target.jwt_secret, callback_url=callback)
        load = await _load(spec, watch, _timeout(opts))
        during_load = watch.usage(time.monotonic() - began)
        drained = await _drain(opts, load, events, receiver)
        window_s = time.monotonic() - began
        processes = watch.usage(window_s)
        for name, figures in processes.items():
            figures["cpu_pct_during_load"] = during_load.get(name, {}).get("cpu_pct")
        webhooks = await receiver.result(30, stop=True)
        worked = await agents.result(60, stop=True) if agents else None
    finally:
        await events.stop()
        for child in (receiver, agents):
            if child:
                child.kill()
    return _sections(load, events, webhooks, worked, processes, drained, window_s)


def _sections(load, events, webhooks, worked, processes, drained, window_s) -> tuple[dict, dict]:
    pipeline, series = rep.pipeline_section(load, events.submitted, events.routed, webhooks["first"])
    pipeline.update(webhook_calls=webhooks["calls"], drain_s=round(drained, 1), window_s=round(window_s, 2))
    processes["bench-load"] = load["process"]
    # What one ticket costs each process, whole journey included: the sum bounds throughput per core.
    rep.per_ticket(processes, sum(1 for r in load["records"] if r[1]))
    for name, child in (("bench-receiver", webhooks), ("bench-agents", worked)):
        if child and name in processes:
            processes[name]["peak_rss_mb"] = child["process"]["peak_rss_mb"]
    sections = {"intake": rep.http_section(load), "pipeline": pipeline, "processes": processes}
    if worked:
        sections["agents"] = {"answers": worked["answers"],
                              "latency_ms": {a: rep.percentiles(v) for a, v in worked["latencies_ms"].items()}}
    return sections, series
