"""`escalier up`, `escalier broker`: the whole system on one machine, or the embedded broker alone."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from shared.auth import Role, mint_token
from shared.config import ServiceSettings
from shared.messaging.broker import ensure_topics, wait_for_broker

from escalier_cli.bench.cli import add_parser as add_bench_parser
from escalier_cli.broker import EmbeddedBroker
from escalier_cli.specs import add_parser as add_specs_parser
from escalier_cli.stats.cli import add_parser as add_stats_parser
from escalier_cli.watch.cli import add_parser as add_watch_parser
from escalier_cli.system import System
from escalier_cli.verify import add_parser as add_verify_parser


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
        bootstrap=bootstrap, data_dir=data_dir, extra_env={"ESCALIER_TOPIC_PARTITIONS": str(args.partitions)},
        processes=args.processes,
    )
    try:
        asyncio.run(wait_for_broker(bootstrap, timeout_s=30))
        asyncio.run(ensure_topics(bootstrap, partitions=args.partitions))
        print(f"broker   {bootstrap}" + (" (embedded Tansu, memory storage)" if broker else ""), flush=True)
        system.start()
        system.wait_ready(timeout_s=args.ready_timeout)
        for name, url in system.urls().items():
            print(f"{name:<9}{url}   docs: {url}/docs", flush=True)
        _print_demo_tokens()
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


DEMO_IDENTITIES = [
    {"sub": "ann@acme.example", "role": Role.REQUESTER, "org": "acme"},
    {"sub": "it-admin@acme.example", "role": Role.ORG_ADMIN, "org": "acme"},
    {"sub": "alice", "role": Role.AGENT, "orgs": ["acme", "globex"], "tier": 1},
    {"sub": "bob", "role": Role.AGENT, "orgs": ["acme", "globex"], "tier": 2},
    {"sub": "carol", "role": Role.AGENT, "orgs": ["acme", "globex"], "tier": 3, "specialties": ["security"]},
    {"sub": "lead", "role": Role.LEAD, "orgs": ["*"], "tier": 2},
    {"sub": "ops", "role": Role.OPS},
]


def cmd_token(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    role, orgs = Role(args.role), args.org or []
    serves = role in (Role.AGENT, Role.LEAD)  # agents serve organizations; requesters belong to one
    print(
        mint_token(
            settings,
            sub=args.sub,
            role=role,
            org=None if serves or not orgs else orgs[0],
            orgs=orgs if serves else [],
            tier=args.tier,
            specialties=args.specialty or [],
            ttl_s=args.ttl,
        )
    )
    return 0


def _print_demo_tokens() -> None:
    settings = ServiceSettings()
    print("demo tokens (Authorization: Bearer ...), valid 12 h:", flush=True)
    for identity in DEMO_IDENTITIES:
        label = f"{identity['role'].value} {identity['sub']}" + (f" tier {identity['tier']}" if "tier" in identity else "")
        print(f"  {label:<34}{mint_token(settings, **identity)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="escalier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole system on the embedded defaults")
    up.add_argument("--data-dir", default=os.environ.get("ESCALIER_DATA_DIR", ".escalier-data"))
    up.add_argument("--broker-port", type=int, default=9092)
    up.add_argument("--partitions", type=int, default=6)
    up.add_argument("--ready-timeout", type=float, default=120.0)
    up.add_argument("--processes", type=int, choices=range(1, 7), metavar="N",
                    default=os.environ.get("ESCALIER_PROCESSES", "6"),
                    help="run the six services in N processes, 1 to 6 (default 6, one a service; ESCALIER_PROCESSES)")
    up.set_defaults(func=cmd_up)

    broker = sub.add_parser("broker", help="run the embedded Tansu broker alone")
    broker.add_argument("--port", type=int, default=9092)
    broker.add_argument("--partitions", type=int, default=6)
    broker.set_defaults(func=cmd_broker)

    token = sub.add_parser("token", help="mint a development token (HS256, ESCALIER_JWT_SECRET)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role if r != Role.INTEGRATION])
    token.add_argument("--sub", required=True, help="the caller: a requester's e-mail, an agent's name")
    token.add_argument(
        "--org", action="append", help="requester, org_admin: their organization; agent, lead: one served (repeatable, '*' for all)"
    )
    token.add_argument("--tier", type=int, choices=[1, 2, 3])
    token.add_argument("--specialty", action="append", help="tier 3 specialties (repeatable)")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds of validity")
    token.set_defaults(func=cmd_token)

    add_bench_parser(sub)
    add_stats_parser(sub)
    add_watch_parser(sub)
    add_verify_parser(sub)
    add_specs_parser(sub)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
