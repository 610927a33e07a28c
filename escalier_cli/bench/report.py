"""Turns what the bench saw into figures: latency percentiles, throughput, per-phase sections."""

from __future__ import annotations

import math
from collections import Counter


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


def per_ticket(processes: dict, tickets: int) -> None:
    """Adds each process's CPU ms a ticket (its CPU over the phase / `tickets`) to its figures."""
    for figures in processes.values():
        cpu_s = figures.get("cpu_s")
        figures["cpu_ms_per_ticket"] = round(1000 * cpu_s / tickets, 2) if cpu_s is not None and tickets else None


def lone_section(asked: int, seen: dict, processes: dict, wall_s: float, *, all_notified: bool) -> dict:
    """Lone tickets: how many were queued, their latency, and the CPU each process spent on one."""
    queued = len(seen["to_queued_ms"])
    per_ticket(processes, queued)
    return {"tickets": asked, "submitted": queued + len(seen["refused"]) + len(seen["lost"]), "queued": queued,
            "refused": dict(Counter(str(s) for s in seen["refused"])), "lost": seen["lost"],
            "lost_count": len(seen["lost"]), "all_notified": all_notified, "wall_s": round(wall_s, 2),
            "to_queued_ms": percentiles(seen["to_queued_ms"]), "processes": processes}


def above_idle(processes: dict, wall_s: float, idle: dict, names: list[str], tickets: int) -> float | None:
    """The system's CPU ms a ticket beyond what its processes use idle in as long a time."""
    busy = [processes.get(n, {}).get("cpu_s") for n in names]
    rest = [idle["processes"].get(n, {}).get("cpu_pct") for n in names]
    if not tickets or not names or None in busy or None in rest:
        return None
    return round(1000 * (sum(busy) - sum(rest) / 100 * wall_s) / tickets, 2)


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
