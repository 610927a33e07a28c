"""`escalier up`, `escalier broker`: the whole system on one machine, or the embedded broker alone."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from shared.messaging.broker import ensure_topics, wait_for_broker

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import System


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    while not stop:
        time.sleep(0.2)


def cmd_broker(args: argparse.Namespace) -> int:
    with EmbeddedBroker(args.port) as broker:
        asyncio.run(ensure_topics(broker.bootstrap, partitions=args.partitions))
        print(f"Tansu broker on {broker.bootstrap} (memory storage; topics created). Ctrl-C stops it.", flush=True)
        _wait_for_signal()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None
    if not bootstrap:
        broker = EmbeddedBroker(args.broker_port, log_file=data_dir / "tansu.log").start()
        bootstrap = broker.bootstrap
    system = System(
        bootstrap=bootstrap, data_dir=data_dir, extra_env={"ESCALIER_TOPIC_PARTITIONS": str(args.partitions)}
    )
    try:
        asyncio.run(wait_for_broker(bootstrap, timeout_s=30))
        asyncio.run(ensure_topics(bootstrap, partitions=args.partitions))
        print(f"broker   {bootstrap}" + (" (embedded Tansu, memory storage)" if broker else ""), flush=True)
        system.start()
        system.wait_ready(timeout_s=args.ready_timeout)
        for name, url in system.urls().items():
            print(f"{name:<9}{url}   docs: {url}/docs", flush=True)
        print(f"data and logs under {system.data_dir}. Ctrl-C stops everything.", flush=True)
        _supervise(system)
    finally:
        print("stopping...", flush=True)
        system.stop()
        if broker:
            broker.stop()
    return 0


def _supervise(system: System) -> None:
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    while not stop:
        for name in system.restart_crashed():
            print(f"{name} exited; restarted it", file=sys.stderr, flush=True)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="escalier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole system on the embedded defaults")
    up.add_argument("--data-dir", default=os.environ.get("ESCALIER_DATA_DIR", ".escalier-data"))
    up.add_argument("--broker-port", type=int, default=9092)
    up.add_argument("--partitions", type=int, default=6)
    up.add_argument("--ready-timeout", type=float, default=120.0)
    up.set_defaults(func=cmd_up)

    broker = sub.add_parser("broker", help="run the embedded Tansu broker alone")
    broker.add_argument("--port", type=int, default=9092)
    broker.add_argument("--partitions", type=int, default=6)
    broker.set_defaults(func=cmd_broker)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
