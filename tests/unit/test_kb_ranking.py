"""Ranking helpers: the questions put to the engines, snippets, and which hits are worth suggesting."""

from services.triage.knowledge.domain import (
    article_terms,
    category_votes,
    fts5_query,
    plain_text,
    snippet,
    tsquery,
    worth_suggesting,
)
from services.triage.text import content_words, terms

BODY = """# Reset your password

If you forgot your password, open the **self-service portal** and follow [the wizard](https://example.test).

1. Enter your e-mail address.
2. Confirm with your phone

The new password needs 14 characters. Printers are not concerned <here>."""


def test_the_fts5_question_finds_any_term_once_each_and_quoted():
    assert fts5_query(["imprim", "bloqu", "imprim"]) == '"imprim" OR "bloqu"'


def test_nothing_to_ask_gives_no_fts5_question():
    assert fts5_query([]) is None
    assert tsquery([]) is None


def test_the_postgresql_question_finds_any_word():
    assert tsquery(content_words("Imprimante bloquée, imprimante !", "fr")) == "imprimante | bloquee"


def test_a_long_ticket_asks_with_its_first_distinct_terms_only():
    question = fts5_query([f"t{i}" for i in range(100)])
    assert question.count(" OR ") == 47 and '"t0"' in question and '"t99"' not in question


def test_plain_text_drops_markdown_and_ends_headings_and_items_as_sentences():
    text = plain_text(BODY)
    assert text.startswith("Reset your password. If you forgot your password, open the self-service portal")
    assert "the wizard." in text and "https://" not in text and "**" not in text and "#" not in text
    assert "Confirm with your phone." in text


def test_the_snippet_is_the_passage_richest_in_the_query_terms_with_matches_marked():
    cut = snippet(BODY, terms("printers", "en"), "en", length=12)
    assert "<mark>Printers</mark>" in cut and cut.startswith("…")


def test_the_snippet_escapes_html_from_the_article():
    cut = snippet(BODY, terms("concerned", "en"), "en", length=12)
    assert "&lt;here" in cut and "<here" not in cut


def test_the_snippet_marks_inflected_forms_and_compounds_written_apart():
    cut = snippet("Connect to the office Wi-Fi; it connected yesterday.", terms("wifi connecting", "en"), "en")
    assert cut.count("<mark>") == 4  # Connect, Wi, Fi, connected


def test_without_a_match_the_snippet_is_the_start_of_the_article():
    assert snippet(BODY, ["zzz"], "en", length=3) == "Reset your password.…"


def test_an_article_is_worth_suggesting_when_it_shares_enough_terms_one_in_its_heading():
    heading, everything = article_terms("Reset a forgotten password", ["password", "reset"], BODY, "en")
    ticket = set(terms("I forgot my password and need to reset it", "en"))
    assert worth_suggesting(ticket, heading, everything, min_matched=2)


def test_an_article_sharing_only_body_words_is_not_suggested():
    heading, everything = article_terms("Reset a forgotten password", [], BODY, "en")
    ticket = set(terms("phone characters", "en"))
    assert not worth_suggesting(ticket, heading, everything, min_matched=2)


def test_an_article_sharing_a_single_term_is_not_suggested():
    heading, everything = article_terms("Reset a forgotten password", [], BODY, "en")
    assert not worth_suggesting(set(terms("password", "en")), heading, everything, min_matched=2)


def test_suggested_articles_vote_for_their_category_by_rank():
    assert category_votes(["network", "account", "network"]) == {"network": 1 + 1 / 3, "account": 0.5}
