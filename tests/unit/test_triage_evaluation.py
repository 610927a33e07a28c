"""Measuring triage: the labelled set itself, accuracies and the confusion matrix."""

from collections import Counter

from services.triage.evaluation.domain import CATEGORIES, Verdict, confusion, format_confusion, scores, top_k_share
from services.triage.evaluation.evaluate import load_labelled, load_questions
from services.triage.knowledge.starter import load_starter

TICKETS = load_labelled()


def test_the_labelled_set_has_150_tickets_in_both_languages_over_every_category():
    assert len(TICKETS) >= 150
    assert set(Counter(t.language for t in TICKETS)) == {"fr", "en"}
    assert set(t.category for t in TICKETS) == set(CATEGORIES)


def test_a_held_out_part_covers_every_category_and_some_tickets_are_ambiguous():
    held = [t for t in TICKETS if t.holdout]
    assert len(held) >= 50 and set(t.category for t in held) == set(CATEGORIES)
    assert sum(t.ambiguous for t in TICKETS) >= 5


def test_every_tier_3_ticket_names_its_specialty_and_no_other_does():
    assert all((t.tier == 3) == (t.specialty is not None) for t in TICKETS)


def test_every_starter_article_has_a_search_question():
    assert set(load_questions()) == {a.article_id for a in load_starter()}


def _verdict(expected: str, decided: str, tier: int = 1) -> Verdict:
    ticket = TICKETS[0].model_copy(update={"category": expected, "tier": 1, "specialty": None})
    return Verdict(ticket=ticket, category=decided, tier=tier, specialty=None)


def test_accuracy_counts_category_and_tier_separately():
    s = scores([_verdict("email", "email"), _verdict("email", "account"), _verdict("email", "email", tier=2)])
    assert (s.count, round(s.category, 3), round(s.tier, 3)) == (3, 0.667, 0.667)


def test_the_confusion_matrix_counts_expected_against_decided():
    matrix = confusion([_verdict("email", "email"), _verdict("email", "account"), _verdict("email", "account")])
    assert matrix == {("email", "email"): 1, ("email", "account"): 2}
    text = format_confusion(matrix)
    assert text.splitlines()[2].split() == ["email", "2", "1"]


def test_the_top_3_share_counts_questions_answered_in_the_first_three():
    assert top_k_share({"a": 1, "b": 3, "c": 4, "d": None}) == 0.5
