"""The ticket lifecycle of DESIGN.md."""

import pytest

from shared.lifecycle import Action, IllegalTransition, Status, next_status


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (Status.NEW, Action.ROUTE, Status.QUEUED),
        (Status.QUEUED, Action.CLAIM, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Action.REQUEST_INFO, Status.WAITING_ON_REQUESTER),
        (Status.WAITING_ON_REQUESTER, Action.REQUESTER_REPLY, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Action.RESOLVE, Status.RESOLVED),
        (Status.IN_PROGRESS, Action.ESCALATE, Status.QUEUED),
        (Status.QUEUED, Action.ESCALATE, Status.QUEUED),
        (Status.QUEUED, Action.SELF_RESOLVE, Status.RESOLVED),
        (Status.RESOLVED, Action.REOPEN, Status.IN_PROGRESS),
        (Status.RESOLVED, Action.CLOSE, Status.CLOSED),
        (Status.IN_PROGRESS, Action.COMMENT, Status.IN_PROGRESS),
    ],
)
def test_legal_moves_reach_the_documented_status(status, action, expected):
    assert next_status(status, action) == expected


def test_resolving_a_ticket_nobody_claimed_is_refused_with_the_reason():
    with pytest.raises(IllegalTransition, match="nobody has claimed"):
        next_status(Status.QUEUED, Action.RESOLVE)


def test_claiming_a_resolved_ticket_is_refused():
    with pytest.raises(IllegalTransition, match="cannot claim a ticket that is resolved"):
        next_status(Status.RESOLVED, Action.CLAIM)


def test_a_closed_ticket_cannot_be_reopened():
    with pytest.raises(IllegalTransition, match="closed"):
        next_status(Status.CLOSED, Action.REOPEN)


@pytest.mark.parametrize("action", [Action.CLAIM, Action.COMMENT, Action.ESCALATE, Action.RESOLVE])
def test_nothing_but_reopen_close_moves_a_resolved_ticket(action):
    with pytest.raises(IllegalTransition):
        next_status(Status.RESOLVED, action)
