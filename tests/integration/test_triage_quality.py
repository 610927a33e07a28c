"""Triage's measured quality, on both databases: floors that make a regression fail.

`python -m services.triage.evaluation.evaluate` prints the full report; these floors sit a little
below what it measures so that noise does not fail the build, but a real regression does.
"""

from __future__ import annotations

import pytest

from services.triage.evaluation.domain import scores, top_k_share
from services.triage.evaluation.evaluate import judge, load_labelled, load_questions, search_ranks, starter_triage
from services.triage.routing.rulebook import load_rules


@pytest.fixture
async def triage(database_url):
    async with starter_triage(load_rules(), database_url) as running:
        yield running


async def test_held_out_tickets_get_their_category_and_tier_right_at_least_85_percent_of_the_time(triage):
    verdicts = await judge(triage, [t for t in load_labelled() if t.holdout])
    held = scores(verdicts)
    assert held.category >= 0.85 and held.tier >= 0.85, held


async def test_tuned_tickets_stay_at_least_95_percent_right(triage):
    tuned = scores(await judge(triage, [t for t in load_labelled() if not t.holdout]))
    assert tuned.category >= 0.95 and tuned.tier >= 0.95, tuned


async def test_at_least_90_percent_of_starter_articles_are_found_in_the_top_3_by_their_question(triage):
    ranks = await search_ranks(triage.kb, load_questions())
    assert top_k_share(ranks) >= 0.9, {a: r for a, r in ranks.items() if r is None or r > 3}
