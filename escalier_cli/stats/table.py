"""The KPI report as plain-text tables."""

from __future__ import annotations


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return ["", title, line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render(report: dict) -> str:
    """Every KPI of `shared.reports.KpiBuilder.report()` as text tables."""
    t, fcr = report["tickets"], report["first_contact_resolution"]
    out = [
        f"tickets: {t['submitted']} submitted, {t['resolved']} resolved ({t['resolved_at_level_0']} at level 0), {t['open']} open",
        f"first-contact resolution: {_pct(fcr['rate'])} ({fcr['first_contact']} of {fcr['resolved_by_agents']} resolved by agents)",
    ]
    escalation = report["escalation_by_tier"]
    out += _table("escalation by tier", ["tier", "arrived", "escalated", "automatic", "manual", "rate"],
                  [[k, v["arrived"], v["escalated"], v["automatic"], v["manual"], _pct(v["rate"])] for k, v in escalation.items()])
    out += _table("time at each tier (open time)", ["tier", "tickets", "mean", "median"],
                  [[k, v["count"], _dur(v["mean_s"]), _dur(v["median_s"])] for k, v in report["time_at_tier"].items()])
    mttr = report["mttr"]
    priorities = sorted({p for row in mttr.values() for p in row if p != "all"}) + ["all"]
    out += _table("MTTR (submission to resolution) by resolving level and priority", ["level", *priorities],
                  [[level, *(f"{_dur(row[p]['mean_s'])} ({row[p]['count']})" if p in row else "-" for p in priorities)]
                   for level, row in mttr.items()])
    out += _table("SLA compliance (resolved tickets)", ["clock", "met", "resolved", "rate"],
                  [[k, v["met"], v["resolved"], _pct(v["rate"])] for k, v in report["sla_compliance"].items()])
    out += _table("deflection by article", ["article", "suggested", "deflected", "rate"],
                  [[k, v["suggested"], v["deflected"], _pct(v["rate"])] for k, v in report["deflection_by_article"].items()])
    out += _table("satisfaction by escalation path", ["path", "ratings", "mean score"],
                  [[k, v["ratings"], f"{v['mean']:.2f}"] for k, v in report["satisfaction_by_path"].items()])
    out += _table("integrations (monitoring systems)", ["integration", "tickets", "occurrences", "resolved by source"],
                  [[k, v["tickets"], v["occurrences"], v["resolved_by_source"]]
                   for k, v in report.get("integrations", {}).items()])
    return "\n".join(out)
