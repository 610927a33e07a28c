"""`--plot`: the latency distribution and throughput over time, if matplotlib is installed (extra `bench`)."""

from __future__ import annotations

from pathlib import Path


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(path: Path, report: dict, series: dict) -> None:
    """Two panels: the CDF of submission → queued, and tickets submitted and routed per second."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    fig, (cdf, rate) = plt.subplots(1, 2, figsize=(12, 4.5))
    latencies = sorted(series["to_queued"].values())
    if latencies:
        cdf.plot(latencies, [(i + 1) / len(latencies) for i in range(len(latencies))], label="submission → queued")
    bus_p99 = (report.get("reference_bus") or {}).get("latency_ms", {}).get("p99")
    if bus_p99:
        cdf.axvline(bus_p99, linestyle="--", color="grey", label=f"bare bus p99 ({bus_p99} ms)")
    cdf.set(xscale="log", xlabel="ms", ylabel="share of tickets", title="Latency distribution")
    cdf.grid(True, which="both", alpha=0.3)
    cdf.legend()
    seconds = [b["second"] for b in report["timeline"]]
    rate.plot(seconds, [b["submitted"] for b in report["timeline"]], label="submitted")
    rate.plot(seconds, [b["routed"] for b in report["timeline"]], label="routed (queued at tier)")
    rate.set(xlabel="s since first submission", ylabel="tickets/s", title="Throughput over time")
    rate.grid(True, alpha=0.3)
    rate.legend()
    fig.suptitle(report["command"], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
