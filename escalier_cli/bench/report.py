"""Turns what the bench saw into figures: latency percentiles, throughput, ratios, targets met or missed."""

from __future__ import annotations

import math
from collections import Counter

HOPS_TO_QUEUED = 2  # intake → tickets.submitted → triage → tickets.tierN / tickets.events


def percentiles(values: list[float]) -> dict:
    """n, mean, p50, p95, p99 and max (nearest rank), rounded to 0.1."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    rank = lambda q: ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]  # noqa: E731
    return {"n": len(ordered), "mean": round(sum(ordered) / len(ordered), 1),
            **{f"p{int(q * 100)}": round(rank(q), 1) for q in (0.5, 0.95, 0.99)}, "max": round(ordered[-1], 1)}


def _rate(count: int, start: float, end: float) -> float:
    return round(count / (end - start), 1) if end > start else 0.0


def http_section(load: dict) -> dict:
    """Submissions: accepted, refused by status, throughput and response times (ms)."""
    records = load["records"]
    accepted = [r for r in records if r[1]]
    return {
        "submitted": len(records), "accepted": len(accepted),
        "refused": dict(Counter(str(r[4]) for r in records if not r[1])), "errors": load["errors"],
        "throughput_per_s": _rate(len(accepted), min((r[2] for r in records), default=0), max((r[3] for r in records), default=0)),
        "response_ms": percentiles([(r[3] - r[2]) * 1000 for r in accepted]),
        "late_sends": load["late"],
    }


def _spans(start: dict, submitted: dict, routed: dict) -> dict:
    """Where the time goes, per ticket: each hop split at the moment the service stamped its event."""
    both = [t for t in start if t in submitted and t in routed]
    pairs = {
        "hop_submit_to_bus_ms": [(submitted[t][0] - start[t]) for t in start if t in submitted],
        "hop_bus_to_routed_ms": [(routed[t][0] - submitted[t][0]) for t in both],
        # intake: request → event stamped (HTTP, validation, waiting for the database) ...
        "intake_decided_ms": [(submitted[t][1] - start[t]) for t in start if t in submitted],
        # ... → seen on the bus (commit, outbox relay, broker, one fetch)
        "intake_commit_relay_fetch_ms": [(submitted[t][0] - submitted[t][1]) for t in start if t in submitted],
        # triage: seen on the bus → routed stamped (its fetch, inbox, rules, waiting for the database) ...
        "triage_decided_ms": [(routed[t][2] - submitted[t][0]) for t in both],
        # ... → seen on the bus (commit, offsets, outbox relay, broker, one fetch)
        "triage_commit_relay_fetch_ms": [(routed[t][0] - routed[t][2]) for t in both],
    }
    return {name: percentiles([v * 1000 for v in values]) for name, values in pairs.items()}


def pipeline_section(load: dict, submitted: dict, routed: dict, notified: dict) -> tuple[dict, dict]:
    """Submission → seen on the bus → routed (queued at its tier) → first notification; and raw series."""
    start = {r[1]: r[2] for r in load["records"] if r[1]}
    to_queued = {t: (routed[t][0] - s) * 1000 for t, s in start.items() if t in routed}
    notify = [(notified[t][0] - s) * 1000 for t, s in start.items() if t in notified]
    first_seen = min(start.values(), default=0)
    last_routed = max((routed[t][0] for t in to_queued), default=0)
    section = {
        "routed": len(to_queued), "lost": sorted(set(start) - set(to_queued))[:20],
        "lost_count": len(start) - len(to_queued),
        "throughput_to_queued_per_s": _rate(len(to_queued), first_seen, last_routed),
        "to_queued_ms": percentiles(list(to_queued.values())), **_spans(start, submitted, routed),
        "routed_by_tier": dict(Counter(str(routed[t][1]) for t in to_queued)),
        "notified": len(notify), "to_first_notification_ms": percentiles(notify),
        "first_notification_types": dict(Counter(notified[t][1] for t in start if t in notified)),
    }
    series = {"start": start, "to_queued": to_queued, "routed_at": {t: routed[t][0] for t in to_queued}}
    return section, series


def bus_section(bus: dict) -> dict:
    """The bare bus: one hop's latency at the same fetch settings, and anything it lost."""
    return {"messages": bus["messages"], "received": len(bus["latencies_ms"]), "rate_per_s": bus["rate"],
            "message_bytes": bus["bytes"], "fetch_max_wait_ms": bus["fetch_max_wait_ms"], "linger_ms": bus["linger_ms"],
            "latency_ms": percentiles(bus["latencies_ms"])}


def _target(name: str, goal: str, measured, met: bool | None) -> dict:
    return {"target": name, "goal": goal, "measured": measured, "met": met}


def targets(report: dict) -> list[dict]:
    """The issue's targets, each met, missed, or not measured by this run (None)."""
    pipe, http, mode = report["pipeline"], report["intake"], report["mode"]
    ref_http, ref_bus = report.get("reference_http"), report.get("reference_bus")
    closed = mode["rate"] is None
    out = [_target("nothing lost", "every accepted ticket routed", pipe["lost_count"], pipe["lost_count"] == 0),
           _target("throughput to queued", ">= 1000/s (closed loop)", pipe["throughput_to_queued_per_s"],
                   pipe["throughput_to_queued_per_s"] >= 1000 if closed else None)]
    if ref_http:
        ratio = round(http["throughput_per_s"] / max(ref_http["throughput_per_s"], 0.1), 2)
        out.append(_target("intake vs bare HTTP", ">= 0.5x throughput", ratio, ratio >= 0.5 if closed else None))
    p99 = pipe["to_queued_ms"].get("p99")
    if p99 is not None and not closed:
        out.append(_target("p99 submission → queued", "<= 250 ms at 100/s", p99, p99 <= 250))
        if ref_bus and ref_bus["latency_ms"].get("p99"):
            bound = round(2 * ref_bus["latency_ms"]["p99"] * HOPS_TO_QUEUED, 1)
            out.append(_target("p99 vs bare bus", f"<= 2 x bus p99 x {HOPS_TO_QUEUED} hops = {bound} ms", p99, p99 <= bound))
    idle = report.get("idle_rss_mb") or {}
    services = {n: v for n, v in idle.items() if n != "broker" and v}
    if services:
        worst = max(services, key=services.get)
        out.append(_target("service idle RSS", "< 150 MB each", f"{worst} {services[worst]} MB", services[worst] < 150))
        total = round(sum(v for v in idle.values() if v), 1)
        out.append(_target("whole system idle RSS", "< 1024 MB (services + broker)", total, total < 1024))
    return out


def timeline(series: dict, bucket_s: float = 1.0) -> list[dict]:
    """Tickets submitted and routed per second since the first submission."""
    if not series["start"]:
        return []
    t0 = min(series["start"].values())
    sub, routed = Counter(), Counter()
    for t in series["start"].values():
        sub[int((t - t0) // bucket_s)] += 1
    for t in series["routed_at"].values():
        routed[int((t - t0) // bucket_s)] += 1
    last = max([*sub, *routed])
    return [{"second": i, "submitted": sub[i], "routed": routed[i]} for i in range(last + 1)]
