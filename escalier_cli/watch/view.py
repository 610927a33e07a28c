"""`escalier watch`'s screen: the tiers' queues above, the latest events below (Rich)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table

from escalier_cli.watch.state import QUEUE_STATUSES, WatchState

_STYLE = {"ticket.escalated": "yellow", "ticket.sla_warning": "yellow", "ticket.sla_breached": "bold red",
          "ticket.resolved": "green", "ticket.closed": "dim", "ticket.reopened": "magenta"}


def render(state: WatchState, *, caught_up: bool, source: str) -> Group:
    """The whole screen for the state as it is."""
    queues = Table(title="Queues (open tickets)", expand=True)
    queues.add_column("tier")
    for status in QUEUE_STATUSES:
        queues.add_column(status.replace("_", " "), justify="right")
    queues.add_column("open", justify="right")
    for tier, counts in state.queues().items():
        queues.add_row(str(tier), *(str(counts[s]) for s in QUEUE_STATUSES), str(sum(counts.values())))
    events = Table(title=f"Latest events on {source}" + ("" if caught_up else " (catching up...)"), expand=True)
    for name, justify in (("time", "left"), ("type", "left"), ("ticket", "left"), ("org", "left"),
                          ("tier", "right"), ("what", "left")):
        events.add_column(name, justify=justify, overflow="ellipsis", no_wrap=True)
    for row in reversed(state.recent):
        events.add_row(row.time.strftime("%H:%M:%S"), row.type.removeprefix("ticket."), row.ticket_id[:12],
                       row.organization, str(row.tier or ""), row.what, style=_STYLE.get(row.type))
    seen = ", ".join(f"{t.removeprefix('ticket.')} {n}" for t, n in state.seen.most_common(6))
    return Group(queues, events, f"[dim]{len(state.tickets)} tickets followed; {seen}[/dim]")
