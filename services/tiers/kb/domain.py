"""Knowledge-base rules at a tier: who writes articles, the version an edit makes, the draft from a ticket.

Plain Python, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict
from shared.messages.common import CommentSnapshot, TicketSnapshot

# Second-line engineers and specialists write and maintain articles; first line uses them.
WRITING_TIERS = frozenset({2, 3})


class StaleEdit(Conflict):
    """The edit replaces an older version than the one this tier last wrote."""


class VersionNeeded(Conflict):
    """An article written elsewhere is edited without saying which version is replaced."""


class TicketNotResolved(Conflict):
    """An article is asked for from a ticket that is not resolved."""


class NothingToStartFrom(Conflict):
    """The ticket's resolution is no longer on record and no body was given."""


def next_version(article_id: str, *, held: int | None, replacing: int | None) -> int:
    """The version an edit produces, given the one this tier holds and the one the editor replaces.

    `replacing` may be newer than `held` (another tier edited since); older is a stale edit.
    Without `replacing`, the edit follows the version held here.
    """
    if replacing is None:
        if held is None:
            raise VersionNeeded(
                f"article {article_id} was not written here: give the `version` you are replacing "
                f"(GET /kb/articles/{article_id} on triage shows it)"
            )
        return held + 1
    if held is not None and replacing < held:
        raise StaleEdit(f"article {article_id} is at version {held}, not {replacing}: reload it and edit that version")
    return replacing + 1


def clean_tags(tags: list[str]) -> list[str]:
    """Tags trimmed, lower-cased, without repeats, in the order given."""
    return list(dict.fromkeys(t.strip().casefold() for t in tags if t.strip()))


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    category: str
    language: str
    tags: list[str]


def draft_from_ticket(
    snapshot: TicketSnapshot, comments: list[CommentSnapshot], resolution: str | None, *, body_given: bool
) -> Draft:
    """An article's starting point from a resolved ticket: the problem as reported, the public
    notes, and the resolution as the agent wrote it. Internal notes stay out: articles are public."""
    if resolution is None and not body_given:
        raise NothingToStartFrom(
            f"the resolution of ticket {snapshot.ticket_id} is no longer on record here: write the body"
        )
    notes = [c for c in [*snapshot.comments, *comments] if not c.internal]
    parts = ["## Problem", snapshot.description.strip()]
    if notes:
        parts += ["## What we checked", "\n".join(f"- {c.body.strip()}" for c in notes)]
    parts += ["## Resolution", (resolution or "").strip()]
    return Draft(
        title=snapshot.title,
        body="\n\n".join(parts),
        category=snapshot.category,
        language=snapshot.requester.language,
        tags=[snapshot.category],
    )
