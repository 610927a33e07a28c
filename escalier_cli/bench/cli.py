"""The `escalier bench` command: options, the phases in order, then the summary, JSON and plot."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from escalier_cli.bench import plot, report as rep, targets
from escalier_cli.bench.lone import measure_lone
from escalier_cli.bench.procstat import ProcessWatch
from escalier_cli.bench.run import measure_idle, measure_system, reference_bus, reference_http
from escalier_cli.bench.summary import print_summary
from escalier_cli.bench.target import Target, running_system, started_system


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_parser(sub) -> None:
    """Register `bench` on the `escalier` command's subparsers."""
    p = sub.add_parser("bench", help="load the pipeline and measure it against bare HTTP and bare-bus references",
                       description="Phases, in order: idle (--settle, --idle-window), lone tickets (--lone), the "
                                   "bare bus and bare HTTP references, then the load (--tickets with --rate or "
                                   "--concurrency). The summary ends with the targets, each MET, MISSED or n/a "
                                   "(the run did not measure it); --json carries each with value, threshold "
                                   "and verdict, so a run can be compared with the last.")
    p.add_argument("--tickets", type=int, default=1000, help="tickets to submit (default 1000)")
    p.add_argument("--rate", type=float, help="submit at this many tickets/s (open loop); default: as fast as accepted")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most (default 64)")
    p.add_argument("--requesters", type=int, default=500, help="distinct requester e-mails (default 500)")
    p.add_argument("--agents", type=int, default=0, help="simulated agents per tier that claim, escalate, resolve")
    p.add_argument("--url", type=_pair, action="append", default=[], metavar="NAME=URL",
                   help="bench a running system: intake=http://..., tier1=... (others default to escalier up's ports)")
    p.add_argument("--bootstrap", help="its broker (default KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)")
    p.add_argument("--pid", type=_pair, action="append", default=[], metavar="NAME=PID",
                   help="a running system's processes, for their CPU and memory (repeatable); those not named "
                        "are looked for by the loopback port they listen on (the broker's is --bootstrap)")
    p.add_argument("--no-references", dest="references", action="store_false", help="skip the bare HTTP and bus runs")
    p.add_argument("--bus-rate", type=float, help="bare-bus messages/s (default: --rate, else 1000)")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--processes", type=int, choices=range(1, 7), metavar="N",
                   help="the started system's six services in N processes, as escalier up --processes (default 6)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds idle before the idle phase (default 5)")
    p.add_argument("--idle-window", type=float, default=60.0,
                   help="length of the idle phase, in seconds: every process's CPU, wake-ups (voluntary context "
                        "switches, all threads) and memory with no load (default 60, the idle target's window)")
    p.add_argument("--lone", type=int, default=20, metavar="N",
                   help="after the idle phase, submit N tickets one at a time, each waited for until queued, and "
                        "report the CPU a ticket costs every process, broker included (default 20; 0 skips it)")
    p.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for the last routings")
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw latency CDF and throughput (needs extra 'bench')")
    p.add_argument("--keep-data", action="store_true", help="keep the started system's data and logs")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the bench, print the summary, write JSON and plot; exit 1 if a ticket was lost."""
    if args.plot and not plot.available():
        print("--plot needs matplotlib: pip install 'escalier[bench]'", file=sys.stderr)
        return 2
    urls = dict(args.url)
    opening = nullcontext(running_system(urls, args.bootstrap, {n: int(p) for n, p in args.pid})) if urls or args.bootstrap \
        else started_system(partitions=args.partitions, keep=args.keep_data, processes=args.processes)
    with opening as target:
        report, series = asyncio.run(run(args, target))
    report["command"] = _command(args)
    report["targets"] = targets.evaluate(report)
    report["timeline"] = rep.timeline(series)
    print_summary(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.plot:
        plot.draw(args.plot, report, series)
    return 1 if report["pipeline"]["lost_count"] or report.get("lone", {}).get("lost_count") else 0


def _command(args: argparse.Namespace) -> str:
    """The options of this run as a command line, for the report."""
    words = ["escalier", "bench", "--tickets", str(args.tickets), "--concurrency", str(args.concurrency)]
    words += ["--lone", str(args.lone), "--settle", f"{args.settle:g}", "--idle-window", f"{args.idle_window:g}"]
    for flag in ("rate", "agents", "bus_rate", "bootstrap", "processes"):
        if getattr(args, flag):
            words += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    words += [f"--url={n}={u}" for n, u in args.url] + ([] if args.references else ["--no-references"])
    return shlex.join(words)


async def run(args: argparse.Namespace, target: Target) -> tuple[dict, dict]:
    """Idle, lone tickets, references, then the system under load."""
    watch = ProcessWatch(dict(target.pids))
    watch.add("bench", os.getpid())
    names = sorted(target.pids)
    report = {"mode": {"tickets": args.tickets, "rate": args.rate, "concurrency": args.concurrency,
                       "requesters": args.requesters, "agents": args.agents, "lone": args.lone,
                       "idle_window_s": args.idle_window, "started_system": target.started,
                       "processes": (args.processes or 6) if target.started else None,  # the services'
                       "pids_found_by_port": target.found},
              "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}, "system_processes": names}
    idle = report["idle"] = await measure_idle(args, watch)
    report["idle_rss_mb"] = {n: idle["processes"][n]["rss_mb"] for n in names}
    report["idle_cpu_pct"] = {n: idle["processes"][n]["cpu_pct"] for n in names}  # polling costs even with no load
    if args.lone > 0:
        lone = report["lone"] = await measure_lone(args, target)
        lone["above_idle_cpu_ms_per_ticket"] = rep.above_idle(lone["processes"], lone["wall_s"], idle, names,
                                                              lone["queued"])
    if args.references:
        report["reference_bus"] = await reference_bus(args, target)
        with tempfile.TemporaryDirectory(prefix="escalier-bench-ref-") as tmp:
            report["reference_http"] = await reference_http(args, Path(tmp))
    began = time.monotonic()
    sections, series = await measure_system(args, target, watch)
    report.update(sections, wall_s=round(time.monotonic() - began, 1))
    pipe = report["pipeline"]
    pipe["above_idle_cpu_ms_per_ticket"] = rep.above_idle(report["processes"], pipe["window_s"], idle, names,
                                                          report["intake"]["accepted"])
    report["machine"]["loadavg_after"] = os.getloadavg()
    return report, series
