"""The `escalier bench` command: options, the run, the printed summary, JSON and plot."""

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

from escalier_cli.bench import plot, report as rep
from escalier_cli.bench.procstat import ProcessWatch
from escalier_cli.bench.run import measure_system, reference_bus, reference_http
from escalier_cli.bench.target import Target, running_system, started_system


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_parser(sub) -> None:
    """Register `bench` on the `escalier` command's subparsers."""
    p = sub.add_parser("bench", help="load the pipeline and measure it against bare HTTP and bare-bus references")
    p.add_argument("--tickets", type=int, default=1000, help="tickets to submit (default 1000)")
    p.add_argument("--rate", type=float, help="submit at this many tickets/s (open loop); default: as fast as accepted")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most (default 64)")
    p.add_argument("--requesters", type=int, default=500, help="distinct requester e-mails (default 500)")
    p.add_argument("--agents", type=int, default=0, help="simulated agents per tier that claim, escalate, resolve")
    p.add_argument("--url", type=_pair, action="append", default=[], metavar="NAME=URL",
                   help="bench a running system: intake=http://..., tier1=... (others default to escalier up's ports)")
    p.add_argument("--bootstrap", help="its broker (default KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)")
    p.add_argument("--pid", type=_pair, action="append", default=[], metavar="NAME=PID",
                   help="a running system's processes, for their CPU and memory (repeatable)")
    p.add_argument("--no-references", dest="references", action="store_false", help="skip the bare HTTP and bus runs")
    p.add_argument("--bus-rate", type=float, help="bare-bus messages/s (default: --rate, else 1000)")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--settle", type=float, default=5.0, help="seconds idle before measuring idle memory")
    p.add_argument("--idle-window", type=float, default=5.0, help="seconds over which idle CPU and memory are read")
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
        else started_system(partitions=args.partitions, keep=args.keep_data)
    with opening as target:
        report, series = asyncio.run(run(args, target))
    report["command"] = _command(args)
    report["targets"] = rep.targets(report)
    report["timeline"] = rep.timeline(series)
    print_summary(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.plot:
        plot.draw(args.plot, report, series)
    return 1 if report["pipeline"]["lost_count"] else 0


def _command(args: argparse.Namespace) -> str:
    """The options of this run as a command line, for the report."""
    words = ["escalier", "bench", "--tickets", str(args.tickets), "--concurrency", str(args.concurrency)]
    for flag in ("rate", "agents", "bus_rate", "bootstrap"):
        if getattr(args, flag):
            words += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    words += [f"--url={n}={u}" for n, u in args.url] + ([] if args.references else ["--no-references"])
    return shlex.join(words)


async def run(args: argparse.Namespace, target: Target) -> tuple[dict, dict]:
    """Idle memory, then references, then the system under load."""
    watch = ProcessWatch(dict(target.pids))
    watch.add("bench", os.getpid())
    report = {"mode": {"tickets": args.tickets, "rate": args.rate, "concurrency": args.concurrency,
                       "requesters": args.requesters, "agents": args.agents, "started_system": target.started},
              "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}}
    await asyncio.sleep(args.settle)  # the services finish starting up (imports, first fetches)
    watch.mark()
    await asyncio.sleep(args.idle_window)
    idle = watch.usage(args.idle_window)
    report["idle_rss_mb"] = {n: idle[n]["rss_mb"] for n in target.pids}
    report["idle_cpu_pct"] = {n: idle[n]["cpu_pct"] for n in target.pids}  # polling costs even with no load
    if args.references:
        report["reference_bus"] = await reference_bus(args, target)
        with tempfile.TemporaryDirectory(prefix="escalier-bench-ref-") as tmp:
            report["reference_http"] = await reference_http(args, Path(tmp))
    began = time.monotonic()
    sections, series = await measure_system(args, target, watch)
    report.update(sections, wall_s=round(time.monotonic() - began, 1))
    report["machine"]["loadavg_after"] = os.getloadavg()
    return report, series


def _ms(stats: dict) -> str:
    if not stats.get("n"):
        return "n/a"
    return f"p50 {stats['p50']}  p95 {stats['p95']}  p99 {stats['p99']}  max {stats['max']} ms (n={stats['n']})"


def print_summary(report: dict) -> None:
    """The figures that matter, on a terminal."""
    pipe, intake = report["pipeline"], report["intake"]
    print(f"\n{report['command']}\n  load average before/after: {report['machine']['loadavg_before'][0]:.2f} / "
          f"{report['machine']['loadavg_after'][0]:.2f} on {report['machine']['cpus']} CPUs")
    print(f"intake     accepted {intake['accepted']}/{intake['submitted']} refused {intake['refused'] or 0}  "
          f"{intake['throughput_per_s']}/s  response {_ms(intake['response_ms'])}")
    print(f"queued     routed {pipe['routed']} lost {pipe['lost_count']}  {pipe['throughput_to_queued_per_s']}/s  "
          f"{_ms(pipe['to_queued_ms'])}")
    for key, label in (("hop_submit_to_bus_ms", "hop 1   submission → on the bus"),
                       ("intake_decided_ms", "  intake: request → event stamped"),
                       ("intake_commit_relay_fetch_ms", "  intake: stamped → on the bus"),
                       ("hop_bus_to_routed_ms", "hop 2   on the bus → routed"),
                       ("triage_decided_ms", "  triage: on the bus → routing stamped"),
                       ("triage_commit_relay_fetch_ms", "  triage: stamped → on the bus")):
        print(f"  {label:<40}{_ms(pipe[key])}")
    print(f"notified   {pipe['notified']}/{intake['accepted']} within the drain ({pipe['drain_s']} s)  first notification {_ms(pipe['to_first_notification_ms'])}")
    if ref := report.get("reference_http"):
        print(f"ref (a)    bare HTTP {ref['throughput_per_s']}/s  response {_ms(ref['response_ms'])}")
    if bus := report.get("reference_bus"):
        print(f"ref (b)    bare bus at {bus['rate_per_s']}/s, {bus['message_bytes']} B  {_ms(bus['latency_ms'])}")
    print("process        cpu% load  cpu% all   cpu s  ms/ticket  rss MB  peak MB  idle MB  idle cpu%")
    for name, p in report["processes"].items():
        cells = [p.get(k) for k in ("cpu_pct_during_load", "cpu_pct", "cpu_s", "cpu_ms_per_ticket", "rss_mb", "peak_rss_mb")]
        cells += [report["idle_rss_mb"].get(name), report["idle_cpu_pct"].get(name)]
        print(f"  {name:<14}" + "".join(f"{'' if c is None else c:>{w}}" for c, w in zip(cells, (9, 10, 8, 11, 8, 9, 9, 11))))
    if "agents" in report:
        print(f"agents     {report['agents']['answers']}")
    for t in report["targets"]:
        verdict = {True: "MET", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"[{verdict:>6}] {t['target']}: {t['measured']} (goal {t['goal']})")
