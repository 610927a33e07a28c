"""The bench's printed summary: each phase's figures, CPU a ticket per process, then the targets table."""

from __future__ import annotations

from escalier_cli.bench.targets import per_ticket_total, system_total


def _ms(stats: dict) -> str:
    if not stats.get("n"):
        return "n/a"
    return f"p50 {stats['p50']}  p95 {stats['p95']}  p99 {stats['p99']}  max {stats['max']} ms (n={stats['n']})"


def _row(name: str, cells: list, widths: tuple[int, ...]) -> str:
    # A packed process's name (triage+tier1+tier2+tier3) gets a line of its own, the columns stay aligned.
    head = f"  {name:<14}" if len(name) <= 14 else f"  {name}\n{'':16}"
    return head + "".join(f"{'' if c is None else c:>{w}}" for c, w in zip(cells, widths))


def _line(label: str, total: float | None, why: str | None, unit: str) -> str:
    return f"  {label}: {'n/a' if total is None else f'{total} {unit}'}{f'  ({why})' if why else ''}"


def _system_line(label: str, processes: dict, names: list[str], key: str, unit: str) -> str:
    return _line(label, *system_total(processes, names, key), unit)


def print_idle(report: dict) -> None:
    """Every process with no load: CPU, wake-ups and involuntary switches a second, threads, memory."""
    idle, names = report["idle"], report["system_processes"]
    print(f"idle       over {idle['window_s']} s")
    print("  process        cpu%  wake-ups/s  preempted/s  threads  rss MB")
    for name, p in idle["processes"].items():
        keys = ("cpu_pct", "wakeups_per_s", "involuntary_switches_per_s", "threads", "rss_mb")
        print(_row(name, [p.get(k) for k in keys], (6, 12, 13, 9, 8)))
    print(_system_line("whole system (services and broker) CPU", idle["processes"], names, "cpu_pct", "% of a core"))
    print(_system_line("whole system wake-ups", idle["processes"], names, "wakeups_per_s", "/s"))


def print_lone(report: dict) -> None:
    """Lone tickets: how many were queued, how fast, and what one cost each process."""
    lone, names = report["lone"], report["system_processes"]
    print(f"lone       queued {lone['queued']}/{lone['tickets']} one at a time, lost {lone['lost_count']}, refused "
          f"{lone['refused'] or 0}  to queued {_ms(lone['to_queued_ms'])}")
    print("  process        cpu ms/ticket  wake-ups/s")
    for name, p in lone["processes"].items():
        print(_row(name, [p.get("cpu_ms_per_ticket"), p.get("wakeups_per_s")], (15, 12)))
    total = per_ticket_total(lone["processes"], names, lone["queued"])
    print(_line("all processes (services and broker)", *total, "ms a ticket")
          + f"; above idle {lone['above_idle_cpu_ms_per_ticket']} ms")


def print_load(report: dict) -> None:
    """The system under load: intake, the way to queued hop by hop, references, every process's cost."""
    pipe, intake = report["pipeline"], report["intake"]
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
    print(f"notified   {pipe['notified']}/{intake['accepted']} within the drain ({pipe['drain_s']} s)  "
          f"first notification {_ms(pipe['to_first_notification_ms'])}")
    if ref := report.get("reference_http"):
        print(f"ref (a)    bare HTTP {ref['throughput_per_s']}/s  response {_ms(ref['response_ms'])}")
    if bus := report.get("reference_bus"):
        print(f"ref (b)    bare bus at {bus['rate_per_s']}/s, {bus['message_bytes']} B  {_ms(bus['latency_ms'])}")
    print("process        cpu% load  cpu% all   cpu s  ms/ticket  wake-ups/s  rss MB  peak MB  idle MB  idle cpu%")
    for name, p in report["processes"].items():
        keys = ("cpu_pct_during_load", "cpu_pct", "cpu_s", "cpu_ms_per_ticket", "wakeups_per_s", "rss_mb", "peak_rss_mb")
        cells = [p.get(k) for k in keys] + [report["idle_rss_mb"].get(name), report["idle_cpu_pct"].get(name)]
        print(_row(name, cells, (9, 10, 8, 11, 12, 8, 9, 9, 11)))
    total = per_ticket_total(report["processes"], report["system_processes"], intake["accepted"])
    print(_line("all processes (services and broker)", *total, "ms a ticket")
          + f"; above idle {pipe['above_idle_cpu_ms_per_ticket']} ms")


def _figure(target: dict) -> str:
    value, threshold = ("-" if v is None else v for v in (target["value"], target["threshold"]))
    return f"{value} / {threshold} {target['unit']}"


def print_targets(targets: list[dict]) -> None:
    """One line a target: verdict, name, figure / threshold, the target in words, why it was not measured."""
    print("targets    figure / threshold")
    width = max(len(t["name"]) for t in targets)
    figures = [_figure(t) for t in targets]
    size = max(map(len, figures))
    for t, figure in zip(targets, figures):
        note = f"  ({t['note']})" if t["note"] else ""
        print(f"  [{t['verdict']:>6}] {t['name']:<{width}}  {figure:>{size}}  {t['goal']}{note}")


def print_summary(report: dict) -> None:
    """The figures that matter, on a terminal."""
    machine = report["machine"]
    print(f"\n{report['command']}\n  load average before/after: {machine['loadavg_before'][0]:.2f} / "
          f"{machine['loadavg_after'][0]:.2f} on {machine['cpus']} CPUs")
    print_idle(report)
    if "lone" in report:
        print_lone(report)
    print_load(report)
    if "agents" in report:
        print(f"agents     {report['agents']['answers']}")
    print_targets(report["targets"])
