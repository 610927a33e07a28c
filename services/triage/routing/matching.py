"""Keywords compiled once: the phrases of a rule set found in a ticket's words by table look-ups.

Plain Python, no I/O. A phrase is words in normal form (see `text.normalize`); it matches
whole words of normalized text, its last word also with a plural or feminine ending
("imprimante" finds "imprimantes", "bloqué" finds "bloquée"). This is what a regular
expression per keyword, `(?<!\\w)words(?:e|s|es|x)?(?!\\w)`, found, scanned left to right
with non-overlapping matches, but the words of a ticket are looked up once each in a
table built at load time (keyed by every form a phrase's first word can take), rather
than every keyword of the rule set tested against the text.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.triage.text import normalize

ENDINGS = ("", "e", "s", "es", "x")

Span = tuple[int, int]  # word positions: first, one past the last


class _Entry:
    __slots__ = ("phrase", "middle", "last_forms")

    def __init__(self, phrase: int, words: tuple[str, ...]) -> None:
        self.phrase = phrase
        self.middle = words[1:-1]  # words between the first and the last, matched exactly
        self.last_forms = frozenset(words[-1] + ending for ending in ENDINGS)


class PhraseTable:
    """The phrases of a rule set, each with an id, found together in one pass over a ticket's words."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, ...], int] = {}
        self._lengths: list[int] = []
        self._by_first: dict[str, list[_Entry]] = {}  # a form of a phrase's first word -> its entries

    def add(self, phrase: str) -> int:
        """The id of `phrase`, written in any form; ValueError when it has no letters or digits."""
        words = tuple(normalize(phrase).split())
        if not words:
            raise ValueError(f"keyword {phrase!r} has no letters or digits")
        if words in self._ids:
            return self._ids[words]
        phrase_id = self._ids[words] = len(self._lengths)
        self._lengths.append(len(words))
        entry = _Entry(phrase_id, words)
        firsts = entry.last_forms if len(words) == 1 else (words[0],)
        for form in firsts:
            self._by_first.setdefault(form, []).append(entry)
        return phrase_id

    def find(self, words: Sequence[str]) -> dict[int, list[Span]]:
        """Every phrase found in `words` (a normalized text split), with the spans of its matches:
        leftmost first, none overlapping another of the same phrase."""
        found: dict[int, list[Span]] = {}
        free_from: dict[int, int] = {}  # a phrase's next match starts after its previous one
        by_first, lengths, count = self._by_first, self._lengths, len(words)
        for start, word in enumerate(words):
            entries = by_first.get(word)
            if entries is None:
                continue
            for entry in entries:
                phrase = entry.phrase
                end = start + lengths[phrase]
                if end > count or start < free_from.get(phrase, 0) or not _follows(entry, words, start, end):
                    continue
                found.setdefault(phrase, []).append((start, end))
                free_from[phrase] = end
        return found


def _follows(entry: _Entry, words: Sequence[str], start: int, end: int) -> bool:
    # The first word matched the table's key; for one word that was the whole phrase.
    if end - start == 1:
        return True
    middle = entry.middle
    for offset, word in enumerate(middle, start=start + 1):
        if words[offset] != word:
            return False
    return words[end - 1] in entry.last_forms


def outermost(spans: dict[str, list[Span]]) -> set[str]:
    """The keys with at least one span not strictly inside another key's span (or another of its own)."""
    every = [span for matches in spans.values() for span in matches]
    if len(every) == 1:
        return set(spans)
    return {key for key, matches in spans.items() if any(not _inside(span, every) for span in matches)}


def _inside(span: Span, others: list[Span]) -> bool:
    start, end = span
    return any(s <= start and end <= e and (s, e) != span for s, e in others)
