"""The starter knowledge base shipped with triage, and when it is written."""

from collections import Counter
from datetime import UTC, datetime

from shared.messages.kb import ArticleContent

from services.triage.knowledge.starter import STARTER_AUTHOR, load_starter, to_write
from services.triage.routing.rulebook import load_rules

STARTER = load_starter()


def test_the_starter_has_at_least_thirty_articles_in_each_of_french_and_english_overall():
    languages = Counter(a.language for a in STARTER)
    assert len(STARTER) >= 30 and languages["fr"] >= 15 and languages["en"] >= 15


def test_every_starter_article_has_a_category_the_rules_know_and_tags():
    categories = set(load_rules().categories)
    assert all(a.category in categories and a.tags and a.author == STARTER_AUTHOR for a in STARTER)


def test_the_everyday_level_1_problems_are_covered_in_both_languages():
    topics = {
        "password": ("password", "mot de passe"), "locked": ("unlock", "verrouill"), "mfa": ("mfa", "mfa"),
        "vpn": ("vpn", "vpn"), "wifi": ("wi-fi", "wi-fi"), "internet": ("internet", "internet"),
        "printer": ("printer", "imprimante"), "screen": ("screen", "écran"), "outlook": ("outlook", "outlook"),
        "full mailbox": ("mailbox is full", "boîte mail est pleine"),
        "shared mailbox": ("shared mailbox", "boîte aux lettres partagée"), "teams": ("teams", "teams"),
        "software": ("software", "logiciel"), "disk": ("disk", "disque"), "slow": ("slow", "lent"),
        "phishing": ("phishing", "hameçonnage"),
    }
    for topic, (en, fr) in topics.items():
        assert any(en in a.title.lower() for a in STARTER if a.language == "en"), topic
        assert any(fr in a.title.lower() for a in STARTER if a.language == "fr"), topic


def _article(article_id: str, version: int) -> ArticleContent:
    return ArticleContent(article_id=article_id, title="t", body="b", language="en", category="other",
                          version=version, author=STARTER_AUTHOR, updated_at=datetime(2025, 1, 1, tzinfo=UTC))


def test_a_new_starter_article_is_written():
    assert [a.article_id for a in to_write([_article("kb-en-a", 1)], {})] == ["kb-en-a"]


def test_a_starter_article_already_stored_at_its_version_is_not_written_again():
    assert to_write([_article("kb-en-a", 1)], {"kb-en-a": (1, STARTER_AUTHOR)}) == []


def test_a_newer_shipped_version_replaces_an_unedited_starter_article():
    assert len(to_write([_article("kb-en-a", 2)], {"kb-en-a": (1, STARTER_AUTHOR)})) == 1


def test_an_engineers_edit_is_never_overwritten_by_a_newer_shipped_version():
    assert to_write([_article("kb-en-a", 5)], {"kb-en-a": (2, "alice")}) == []
