"""The ticket lifecycle of DESIGN.md: statuses and the legal moves between them.

Plain Python, no I/O: the tier engine and intake's projection both follow it.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    WAITING_ON_REQUESTER = "waiting_on_requester"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    ROUTE = "route"
    CLAIM = "claim"
    COMMENT = "comment"
    REQUEST_INFO = "request_info"
    REQUESTER_REPLY = "requester_reply"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    SELF_RESOLVE = "self_resolve"
    REOPEN = "reopen"
    CLOSE = "close"


OPEN = frozenset({Status.NEW, Status.QUEUED, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER})
WORKABLE = frozenset({Status.QUEUED, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER})

# action -> {from status: to status}; None as target keeps the current status.
_MOVES: dict[Action, dict[Status, Status | None]] = {
    Action.ROUTE: {Status.NEW: Status.QUEUED},
    Action.CLAIM: {Status.QUEUED: Status.IN_PROGRESS},
    Action.COMMENT: {s: None for s in WORKABLE},
    Action.REQUEST_INFO: {Status.IN_PROGRESS: Status.WAITING_ON_REQUESTER},
    Action.REQUESTER_REPLY: {
        Status.WAITING_ON_REQUESTER: Status.IN_PROGRESS,
        Status.NEW: None,
        Status.QUEUED: None,
        Status.IN_PROGRESS: None,
    },
    Action.ESCALATE: {s: Status.QUEUED for s in WORKABLE},
    Action.RESOLVE: {Status.IN_PROGRESS: Status.RESOLVED, Status.WAITING_ON_REQUESTER: Status.RESOLVED},
    Action.SELF_RESOLVE: {s: Status.RESOLVED for s in OPEN},
    Action.REOPEN: {Status.RESOLVED: Status.IN_PROGRESS},
    Action.CLOSE: {Status.RESOLVED: Status.CLOSED},
}

# Why a move is refused, by the status it was tried from; the message a 409 carries.
_WHY: dict[tuple[Action, Status], str] = {
    (Action.RESOLVE, Status.QUEUED): "nobody has claimed this ticket yet: claim it before resolving",
    (Action.REQUEST_INFO, Status.QUEUED): "nobody has claimed this ticket yet: claim it before asking the requester",
    (Action.CLAIM, Status.IN_PROGRESS): "the ticket is already claimed",
    (Action.CLAIM, Status.WAITING_ON_REQUESTER): "the ticket is already claimed and waits on its requester",
    (Action.REQUEST_INFO, Status.WAITING_ON_REQUESTER): "the requester has already been asked and not yet replied",
    (Action.REOPEN, Status.CLOSED): "the ticket is closed; submit a new ticket",
}


class IllegalTransition(Exception):
    """A lifecycle move that the ticket's current status does not allow."""

    def __init__(self, action: Action, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.status = status
        self.reason = reason


def next_status(current: Status, action: Action) -> Status:
    """The status after `action`, or IllegalTransition saying why it is refused."""
    moves = _MOVES[action]
    if current not in moves:
        reason = _WHY.get((action, current)) or f"cannot {action.value.replace('_', ' ')} a ticket that is {current.value.replace('_', ' ')}"
        raise IllegalTransition(action, current, reason)
    target = moves[current]
    return current if target is None else target
