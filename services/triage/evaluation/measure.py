"""`python -m services.triage.evaluation.measure`: what triage's decision costs a ticket, by component.

Routes N tickets (the labelled set, cycled, each under a fresh id, impact and urgency varied)
through the handler's own steps, against a throwaway SQLite database migrated as the service
migrates it and holding the starter knowledge base, one transaction per batch as the consumer
runs a fetch, and prints ms per ticket for text analysis, knowledge-base search, rules and
statements (the batch's preload, the decision's writes, BEGIN and COMMIT), then the handler
itself (`route_ticket` once per event) for comparison.

`--instructions` runs the same under `valgrind --tool=callgrind` and prints instructions per
ticket per component: repeatable where the clock is not on a shared machine. A call to
`os.getppid()` (nothing else here calls it) marks the end of each component; callgrind dumps
its counters there (`--dump-before=getppid`), and the dumps are summed per component.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from shared.db import Database
from shared.messages import Envelope, new_event
from shared.messages.common import Level, Requester
from shared.messages.tickets import TicketSubmitted
from shared.messaging import preload
from shared.migrations import upgrade

from services.triage.evaluation.evaluate import DEFAULT_TICKETS, load_labelled
from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.handlers import KnowledgeBase
from services.triage.knowledge.index import index_for
from services.triage.knowledge.starter import load_starter
from services.triage.routing.handlers import Triage, conclude, record, route_ticket, route_tickets
from services.triage.routing.rulebook import load_rules
from services.triage.subscribers import PRELOAD
from services.triage.text import analyse

COMPONENTS = ("text analysis", "knowledge base", "rules", "statements")
KB_BATCHED = "knowledge base, one round"
HANDLER = "handler, per event"
BATCH_HANDLER = "handler, per batch"
RUNS = (*COMPONENTS, KB_BATCHED, HANDLER, BATCH_HANDLER)
_LEVELS: tuple[Level, ...] = get_args(Level)


class Laps:
    """Time spent per component, lap by lap; each lap ends with the callgrind marker."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.order: list[str] = []
        self._last = time.perf_counter()

    def lap(self, component: str) -> None:
        """Charge the time since the previous lap to `component`."""
        os.getppid()  # the marker: callgrind dumps the instructions counted since the last one
        now = time.perf_counter()
        self.seconds[component] += now - self._last
        self.order.append(component)
        self._last = now


def submissions(path: Path, count: int, prefix: str) -> list[Envelope[TicketSubmitted]]:
    """`count` submissions cycled from the labelled tickets of `path`, each with its own ticket id."""
    labelled = load_labelled(path)
    now = datetime.now(UTC)
    events = []
    for i in range(count):
        t = labelled[i % len(labelled)]
        requester = Requester(email="measure@example.org", name="Measure", language=t.language)
        ticket = TicketSubmitted(
            ticket_id=f"{prefix}-{i:06d}", title=t.title, description=t.description, requester=requester,
            organization="acme", impact=_LEVELS[i % 3], urgency=_LEVELS[(i // 3) % 3], category_hint=t.hint,
            submitted_at=now,
        )
        events.append(new_event("intake", ticket))
    return events


async def split_batch(triage: Triage, events: list[Envelope[TicketSubmitted]], laps: Laps) -> None:
    """One batch through the handler's steps, each step over the whole batch, timed apart; then the
    batch's searches again in one round (as `route_tickets` asks them), for comparison."""
    rules, kb = triage.rules, triage.kb
    async with kb.db.unit_of_work() as session:
        await preload.preload(session, PRELOAD, [e.subject for e in events])
        laps.lap("statements")
        tickets = [e.data for e in events]
        analyses = [analyse(f"{t.title}\n{t.description}", t.requester.language) for t in tickets]
        laps.lap("text analysis")
        found = [(await knowledge.suggest_all(session, kb, [a], rules.knowledge_base))[0] for a in analyses]
        laps.lap("knowledge base")
        outcomes = [
            conclude(rules, a, s, impact=t.impact, urgency=t.urgency, category_hint=t.category_hint)
            for t, a, s in zip(tickets, analyses, found)
        ]
        laps.lap("rules")
        await knowledge.suggest_all(session, kb, analyses, rules.knowledge_base)
        laps.lap(KB_BATCHED)
        for t, outcome in zip(tickets, outcomes):
            await record(session, t, outcome)
    laps.lap("statements")  # the writes, the staged inserts and the commit


async def handler_batch(triage: Triage, events: list[Envelope[TicketSubmitted]], laps: Laps) -> None:
    """One batch as the consumer runs it: preload, then the handler once per event, one commit."""
    async with triage.kb.db.unit_of_work() as session:
        await preload.preload(session, PRELOAD, [e.subject for e in events])
        for event in events:
            await route_ticket(session, event, triage=triage)
    laps.lap(HANDLER)


async def batch_handler_batch(triage: Triage, events: list[Envelope[TicketSubmitted]], laps: Laps) -> None:
    """One batch through the per-batch hook: preload, then `route_tickets` once, one commit."""
    async with triage.kb.db.unit_of_work() as session:
        await preload.preload(session, PRELOAD, [e.subject for e in events])
        await route_tickets(session, events, triage=triage)
    laps.lap(BATCH_HANDLER)


async def measure(args: argparse.Namespace) -> dict:
    """Seconds per component over all rounds, and what was run."""
    laps = Laps()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/measure.db")
        try:
            await upgrade(db, "triage")
            kb = KnowledgeBase(db=db, index=index_for(db))
            articles = await knowledge.prepare(kb, load_starter())
            triage = Triage(rules=load_rules(), kb=kb)
            warm = submissions(args.tickets, args.batch, "warm")
            await split_batch(triage, warm[: args.batch // 2], laps)
            await handler_batch(triage, warm[args.batch // 2 :], laps)
            await batch_handler_batch(triage, submissions(args.tickets, args.batch, "warm-batch"), laps)
            laps.lap("setup")
            measured_from = len(laps.order)
            per_round = []
            for r in range(args.rounds):
                before = dict(laps.seconds)
                runs = (("split", split_batch), ("event", handler_batch), ("batch", batch_handler_batch))
                for run, batch_of in runs:
                    events = submissions(args.tickets, args.count, f"{run}{r}")
                    for start in range(0, len(events), args.batch):
                        await batch_of(triage, events[start : start + args.batch], laps)
                per_round.append({c: laps.seconds[c] - before.get(c, 0.0) for c in RUNS})
        finally:
            await db.dispose()
    return {"rounds": per_round, "order": laps.order, "measured_from": measured_from, "articles": articles,
            "count": args.count}


def report_times(result: dict, args: argparse.Namespace) -> str:
    """Median ms per ticket of each component over the rounds."""
    n = result["count"]
    ms = {c: statistics.median(r.get(c, 0.0) for r in result["rounds"]) * 1000 / n for c in RUNS}
    return _table(result, args, "ms/ticket", {c: f"{v:.3f}" for c, v in ms.items()}, sum(ms[c] for c in COMPONENTS))


def _table(result: dict, args: argparse.Namespace, unit: str, cells: dict[str, str], total) -> str:
    lines = [_header(result, args), f"{'':<28}{unit:>20}"]
    lines += [f"{c:<28}{cells[c]:>20}" for c in COMPONENTS]
    lines.append(f"{'sum of components':<28}{total:>20{',.0f' if isinstance(total, int) else '.3f'}}")
    lines += [f"{c:<28}{cells[c]:>20}" for c in (KB_BATCHED, HANDLER, BATCH_HANDLER)]
    return "\n".join(lines)


def _header(result: dict, args: argparse.Namespace) -> str:
    return (
        f"{result['count']} tickets (from {args.tickets.name}), batches of {args.batch}, SQLite, "
        f"{result['articles']} starter articles"
    )


def count_instructions(args: argparse.Namespace) -> str:
    """Run one round under callgrind and report instructions per ticket per component."""
    with tempfile.TemporaryDirectory() as tmp:
        out, laps_file = Path(tmp) / "callgrind.out", Path(tmp) / "laps.json"
        child = [sys.executable, "-m", "services.triage.evaluation.measure", "--rounds", "1",
                 "--count", str(args.count), "--batch", str(args.batch), "--tickets", str(args.tickets),
                 "--laps-file", str(laps_file)]
        valgrind = ["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}"]
        subprocess.run(valgrind + child, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = json.loads(laps_file.read_text())
        counted: dict[str, int] = defaultdict(int)
        for number, component in enumerate(result["order"], start=1):
            if number > result["measured_from"]:
                counted[component] += _total(Path(f"{out}.{number}"))
    n = result["count"]
    cells = {c: f"{counted[c] // n:,}" for c in RUNS}
    total = sum(counted[c] for c in COMPONENTS) // n
    return _table(result, args, "instructions/ticket", cells, total).replace("\n", ", under callgrind\n", 1)


def _total(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.triage.evaluation.measure", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=1000, help="tickets per round and per run (default 1000)")
    parser.add_argument("--batch", type=int, default=100, help="tickets per transaction, as a fetch (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported (default 5)")
    parser.add_argument("--tickets", type=Path, default=DEFAULT_TICKETS, help="labelled tickets (YAML)")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--laps-file", type=Path, default=None, help=argparse.SUPPRESS)  # for --instructions
    args = parser.parse_args(argv)
    if args.instructions:
        print(count_instructions(args))
        return 0
    result = asyncio.run(measure(args))
    if args.laps_file is not None:
        args.laps_file.write_text(json.dumps(result))
    print(report_times(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
