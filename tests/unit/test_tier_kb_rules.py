"""Knowledge-base rules at a tier: who writes, the version an edit makes, the draft from a ticket."""

from datetime import UTC, datetime

import pytest

from shared.messages.common import CommentSnapshot, Requester, TicketSnapshot

from services.tiers.kb.domain import (
    WRITING_TIERS,
    NothingToStartFrom,
    StaleEdit,
    VersionNeeded,
    clean_tags,
    draft_from_ticket,
    next_version,
)

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


def test_second_and_third_line_write_articles_first_line_does_not():
    assert WRITING_TIERS == {2, 3}


def test_an_edit_of_an_article_written_here_makes_the_next_version():
    assert next_version("kb-1", held=3, replacing=None) == 4
    assert next_version("kb-1", held=3, replacing=3) == 4


def test_an_edit_may_replace_a_newer_version_written_at_another_tier():
    assert next_version("kb-1", held=2, replacing=5) == 6


def test_an_edit_of_an_older_version_than_the_one_written_here_is_refused():
    with pytest.raises(StaleEdit, match="version 3, not 2"):
        next_version("kb-1", held=3, replacing=2)


def test_an_article_written_elsewhere_needs_the_version_being_replaced():
    with pytest.raises(VersionNeeded, match="give the `version`"):
        next_version("kb-en-vpn", held=None, replacing=None)
    assert next_version("kb-en-vpn", held=None, replacing=1) == 2


def test_tags_are_trimmed_lower_cased_and_unique():
    assert clean_tags([" VPN ", "vpn", "Remote", ""]) == ["vpn", "remote"]


def _ticket(**overrides) -> TicketSnapshot:
    fields = dict(
        ticket_id="t-1", title="SQL server unreachable", description="The warehouse database does not answer.",
        requester=Requester(email="ann@acme.example", name="Ann", language="fr"), organization="acme",
        impact="high", urgency="high", priority="P1", category="server", submitted_at=NOW,
        comments=[CommentSnapshot(author="alice", body="Checked the network: fine.", internal=False, tier=1, at=NOW)],
    )
    return TicketSnapshot(**{**fields, **overrides})


def test_a_draft_from_a_ticket_starts_from_its_problem_public_notes_and_resolution():
    secret = CommentSnapshot(author="bob", body="root password is hunter2", internal=True, tier=2, at=NOW)
    draft = draft_from_ticket(_ticket(), [secret], "Restarted the SQL service and grew the log disk.", body_given=False)
    assert draft.title == "SQL server unreachable"
    assert (draft.category, draft.language, draft.tags) == ("server", "fr", ["server"])
    assert "The warehouse database does not answer." in draft.body
    assert "- Checked the network: fine." in draft.body
    assert draft.body.endswith("## Resolution\n\nRestarted the SQL service and grew the log disk.")
    assert "hunter2" not in draft.body


def test_without_the_resolution_on_record_the_engineer_must_write_the_body():
    with pytest.raises(NothingToStartFrom, match="write the body"):
        draft_from_ticket(_ticket(), [], None, body_given=False)
    assert draft_from_ticket(_ticket(), [], None, body_given=True).title == "SQL server unreachable"
