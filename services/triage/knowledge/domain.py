"""The knowledge base's rules: which articles are worth offering on a ticket, how the full-text
engines are asked, and the snippet cut from a hit.

Plain Python (pydantic only for the rules' schema), no I/O. The database finds and orders the
articles; these functions phrase the question for it, decide which hits are worth suggesting on
a ticket, and cut a highlighted snippet from the winners.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.common import Language

from services.triage.text import content_words, normalize, stem, words

# A ticket's description can be long; the first distinct terms carry the subject.
MAX_QUERY_TERMS = 48
SNIPPET_WORDS = 32

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_CODE_FENCE = re.compile(r"^```.*$", re.MULTILINE)
_MD_MARKUP = re.compile(r"(^\s{0,3}#{1,6}\s*|^\s*(?:[-*+]|\d+[.)])\s+|^\s*>\s?|[*_`~|]+)", re.MULTILINE)
_WORD = re.compile(r"\w+")


# The `knowledge_base` section of the routing rules (`RuleSet.knowledge_base`), kept with the rules it sets.
class KnowledgeBaseRules(BaseModel):
    """How the knowledge base takes part in triage: suggestions offered, and their weight in the category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suggestions: int = Field(default=3, ge=0, le=10)  # articles offered on a ticket, at most
    min_matched_terms: int = Field(default=2, ge=1)  # terms an article shares with the ticket to be offered
    weight: float = Field(default=1.0, ge=0)  # added to a suggested article's category: ×1, ×1/2, ×1/3 by rank


def distinct(terms: list[str], limit: int = MAX_QUERY_TERMS) -> list[str]:
    """The terms without repeats, in first-seen order, at most `limit`."""
    return list(dict.fromkeys(terms))[:limit]


def fts5_query(terms: list[str]) -> str | None:
    """An FTS5 MATCH expression that finds any of `terms` (None when there is nothing to ask)."""
    chosen = distinct([t for t in terms if t.isalnum()])
    return " OR ".join(f'"{t}"' for t in chosen) or None


def tsquery(words: list[str]) -> str | None:
    """A PostgreSQL `to_tsquery` text that finds any of `words` (None when there is nothing to ask)."""
    chosen = distinct([w for w in words if w.isalnum()])
    return " | ".join(chosen) or None


def plain_text(markdown: str) -> str:
    """The readable text of a Markdown body: links as their words, markup and fences removed."""
    text = _MD_CODE_FENCE.sub("", _MD_LINK.sub(r"\1", markdown))
    lines = [" ".join(_MD_MARKUP.sub("", line).split()) for line in text.splitlines()]
    # A heading or list item ends its sentence even without a full stop.
    return " ".join(line if line[-1] in ".!?:;," else line + "." for line in lines if line)


def snippet(body: str, query_terms: list[str], language: Language, length: int = SNIPPET_WORDS) -> str:
    """The passage of `body` richest in the query's terms, HTML-escaped, matches in <mark>."""
    text = plain_text(body)
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return ""
    stems, hits = _matches([t.group() for t in tokens], set(query_terms), language)
    start = _best_window(stems, hits, length)
    window = tokens[start : start + length]
    out, cursor = [], window[0].start()
    for token, hit in zip(window, hits[start : start + length]):
        word = html.escape(token.group(), quote=False)
        out.append(html.escape(text[cursor : token.start()], quote=False))
        out.append(f"<mark>{word}</mark>" if hit else word)
        cursor = token.end()
    end = window[-1].end()
    if end < len(text) and text[end] in ".!?":
        out.append(text[end])
        end += 1
    prefix = "…" if window[0].start() > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + "".join(out) + suffix


def _matches(tokens: list[str], wanted: set[str], language: Language) -> tuple[list[str], list[bool]]:
    stems = [stem(normalize(t), language) for t in tokens]
    hits = [s in wanted for s in stems]
    for i in range(len(tokens) - 1):  # a compound written in two parts: "Wi-Fi" for "wifi"
        joined = words(f"{tokens[i]} {tokens[i + 1]}")
        if not hits[i] and len(joined) == 1 and stem(joined[0], language) in wanted:
            hits[i] = hits[i + 1] = True
            stems[i] = stems[i + 1] = joined[0]
    return stems, hits


def _best_window(stems: list[str], hits: list[bool], size: int) -> int:
    # The window with the most distinct matched terms wins; the earliest among equals.
    best, best_count = 0, 0
    for start in range(0, max(1, len(stems) - size + 1)):
        found = {s for s, hit in zip(stems[start : start + size], hits[start : start + size]) if hit}
        if len(found) > best_count:
            best, best_count = start, len(found)
    if not best_count:
        return 0
    # Start a little before the first match so the passage reads as a sentence.
    return max(0, hits.index(True, best) - 3)


def article_terms(
    title: str, tags: list[str], body: str, language: Language
) -> tuple[frozenset[str], frozenset[str]]:
    """The stemmed terms of an article: (title and tags, everything)."""
    return _article_terms(title, tuple(tags), body, language)


@lru_cache(maxsize=2048)  # articles change rarely and every ticket looks at a few of them
def _article_terms(
    title: str, tags: tuple[str, ...], body: str, language: Language
) -> tuple[frozenset[str], frozenset[str]]:
    heading = frozenset(stem(w, language) for w in content_words(" ".join([title, *tags]), language))
    return heading, heading | {stem(w, language) for w in content_words(plain_text(body), language)}


def worth_suggesting(query: set[str], heading: set[str], everything: set[str], *, min_matched: int) -> bool:
    """Whether an article found for a ticket is close enough to offer: it shares at least
    `min_matched` terms with the ticket, one of them in its title or tags."""
    return len(query & everything) >= min_matched and bool(query & heading)


def category_votes(categories: list[str]) -> dict[str, float]:
    """The weight each category gets from the articles suggested, best first: 1, 1/2, 1/3…"""
    votes: dict[str, float] = {}
    for rank, category in enumerate(categories, start=1):
        votes[category] = votes.get(category, 0.0) + 1.0 / rank
    return votes
