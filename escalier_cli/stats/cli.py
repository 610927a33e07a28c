"""`escalier stats`: replay `tickets.events` from the beginning and print the KPIs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from shared.messaging.replay import replay
from shared.reports import KpiBuilder
from shared.topics import TICKETS_EVENTS

from escalier_cli.stats.table import render


def add_parser(sub) -> None:
    p = sub.add_parser("stats", help="replay tickets.events from the beginning into support KPIs")
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    p.add_argument("--organization", action="append", help="only these organizations' tickets (repeatable)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write the figures as JSON (to stdout without FILE)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw charts (needs matplotlib: pip install 'escalier[bench]')")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    p.set_defaults(func=cmd_stats)


async def compute(bootstrap: str, organizations: list[str] | None = None, *, timeout_s: float = 300.0) -> dict:
    """The KPIs of every ticket on `tickets.events` up to now (optionally some organizations only)."""
    builder = KpiBuilder(include=(lambda org: org in organizations) if organizations else (lambda _org: True))
    replayed = await replay(bootstrap, TICKETS_EVENTS, builder.add, timeout_s=timeout_s)
    return {"events_replayed": replayed, **builder.report()}


def cmd_stats(args: argparse.Namespace) -> int:
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("--plot needs matplotlib: pip install 'escalier[bench]'", file=sys.stderr)
            return 2
    report = asyncio.run(compute(args.bootstrap, args.organization, timeout_s=args.timeout))
    if args.json == "-":
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['events_replayed']} events replayed from {TICKETS_EVENTS} on {args.bootstrap}")
        print(render(report))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    if args.plot:
        from escalier_cli.stats.plot import draw

        draw(args.plot, report)
        print(f"charts written to {args.plot}", file=sys.stderr)
    return 0
