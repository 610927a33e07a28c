"""`escalier stats --plot`: the KPIs as charts (matplotlib, the optional `bench` extra)."""

from __future__ import annotations

from pathlib import Path


def draw(path: Path, report: dict) -> None:
    """Four panels: escalation rate per tier, MTTR per level, deflection per article, satisfaction per path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    fig, ((esc, mttr), (defl, sat)) = plt.subplots(2, 2, figsize=(12, 8))
    escalation = report["escalation_by_tier"]
    esc.bar([f"tier {k}" for k in escalation], [100 * (v["rate"] or 0) for v in escalation.values()])
    esc.set(title="Escalation rate per tier", ylabel="%")
    levels = [k for k in report["mttr"] if k != "all"]
    mttr.bar([f"level {k}" for k in levels], [(report["mttr"][k]["all"]["mean_s"] or 0) / 3600 for k in levels])
    mttr.set(title="MTTR by resolving level", ylabel="hours")
    articles = list(report["deflection_by_article"].items())[:15]
    defl.barh([a for a, _ in articles], [100 * (v["rate"] or 0) for _, v in articles])
    defl.set(title="Deflection rate per article (top 15)", xlabel="%")
    defl.invert_yaxis()
    paths = report["satisfaction_by_path"]
    sat.bar(list(paths), [v["mean"] for v in paths.values()])
    sat.set(title="Satisfaction per escalation path", ylabel="mean score (1-5)", ylim=(0, 5))
    fcr = report["first_contact_resolution"]["rate"]
    fig.suptitle(f"Escalier KPIs: {report['tickets']['submitted']} tickets, first-contact resolution "
                 f"{'-' if fcr is None else f'{fcr * 100:.1f}%'}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
