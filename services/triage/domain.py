"""Triage's rules: keyword scores per category, overrides, and the impact × urgency priority matrix.

Plain Python (pydantic only for the rule schema): no framework, no I/O. Text and
keywords are compared in one normal form (lower case, no accents, punctuation as
spaces), so "Mot de passe expiré" and "mot de passe expire" are the same words.
"""

from __future__ import annotations

import re
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PrivateAttr, model_validator

from shared.messages.common import Category, Level, Priority, Specialty, TierNumber

from services.triage.text import normalize

# A keyword matches whole words, plus a plural or feminine ending: "imprimante" finds
# "imprimantes", "bloqué" finds "bloquée"; other inflections are listed as keywords.
_ENDINGS = r"(?:e|s|es|x)?"

Term = str | list[str]  # a phrase, or words that must all appear (in any order)


class _Phrase:
    """A keyword's pattern, and the plain text every match contains: a substring test (fast)
    rules most keywords out before the regular expression runs (slow, one per keyword)."""

    __slots__ = ("words", "pattern")

    def __init__(self, phrase: str) -> None:
        self.words = normalize(phrase)
        if not self.words:
            raise ValueError(f"keyword {phrase!r} has no letters or digits")
        self.pattern = re.compile(rf"(?<!\w){re.escape(self.words)}{_ENDINGS}(?!\w)")


def _label(term: Term) -> str:
    return term if isinstance(term, str) else " + ".join(term)


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: TierNumber = 1
    specialty: Specialty | None = None

    @model_validator(mode="after")
    def _specialty_only_at_tier_3(self):
        if self.specialty is not None and self.tier != 3:
            raise ValueError("a specialty is only meaningful at tier 3")
        return self


class CategoryRule(_Rule):
    """A category's keywords (each with its weight) and the tier its tickets go to."""

    keywords: dict[str, PositiveFloat] = {}
    _patterns: list[tuple[str, float, _Phrase]] = PrivateAttr(default_factory=list)

    def model_post_init(self, _context) -> None:
        self._patterns = [(kw, weight, _Phrase(kw)) for kw, weight in self.keywords.items()]

    def hits(self, text: str) -> list[tuple[str, float]]:
        """The keywords found in normalized `text`, each counted once, with their weights.

        A keyword found only inside a longer one of the same category is not counted again:
        "e-mail" scores as "e-mail", not also as "mail".
        """
        spans: dict[str, list[tuple[int, int]]] = {}
        for kw, _, phrase in self._patterns:  # most keywords are ruled out by the substring test
            if phrase.words in text and (matched := [m.span() for m in phrase.pattern.finditer(text)]):
                spans[kw] = matched
        if not spans:
            return []
        found = [span for matches in spans.values() for span in matches]
        return [
            (kw, weight)
            for kw, weight, _ in self._patterns
            if kw in spans and any(not _inside(span, found) for span in spans[kw])
        ]


def _inside(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    start, end = span
    return any(s <= start and end <= e and (s, e) != span for s, e in others)


class Override(_Rule):
    """A phrase that decides the routing outright (severe cases that keywords would under-rate)."""

    name: str = Field(min_length=1)
    match: list[Term] = Field(min_length=1)
    category: Category | None = None  # None: keep the category the keywords chose
    when_category: Category | None = None  # apply only when the keywords chose this category
    _patterns: list[tuple[str, list[_Phrase]]] = PrivateAttr(default_factory=list)

    def model_post_init(self, _context) -> None:
        terms = [[t] if isinstance(t, str) else t for t in self.match]
        self._patterns = [(_label(t), [_Phrase(word) for word in t]) for t in terms]

    def first_match(self, text: str, scored_category: str) -> str | None:
        """The first of this override's terms found in normalized `text`, if it applies."""
        if self.when_category is not None and self.when_category != scored_category:
            return None
        for label, phrases in self._patterns:
            if all(p.words in text for p in phrases) and all(p.pattern.search(text) for p in phrases):
                return label
        return None


class KnowledgeBaseRules(BaseModel):
    """How the knowledge base takes part in triage: suggestions offered, and their weight in the category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suggestions: int = Field(default=3, ge=0, le=10)  # articles offered on a ticket, at most
    min_matched_terms: int = Field(default=2, ge=1)  # terms an article shares with the ticket to be offered
    weight: float = Field(default=1.0, ge=0)  # added to a suggested article's category: ×1, ×1/2, ×1/3 by rank


class RuleSet(BaseModel):
    """The routing rules in force."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    fallback_category: Category = "other"
    hint_weight: float = Field(default=2.0, ge=0)
    knowledge_base: KnowledgeBaseRules = KnowledgeBaseRules()
    categories: dict[Category, CategoryRule]
    overrides: list[Override] = []
    priority: dict[Level, dict[Level, Priority]]

    @model_validator(mode="after")
    def _consistent(self):
        named = {self.fallback_category}
        named |= {o.category for o in self.overrides} | {o.when_category for o in self.overrides}
        unknown = sorted(c for c in named - {None} if c not in self.categories)
        if unknown:
            raise ValueError(f"categories used but not defined: {', '.join(unknown)}")
        levels = get_args(Level)
        if any(set(self.priority.get(i, {})) != set(levels) for i in levels):
            raise ValueError("the priority matrix needs a priority for every impact × urgency pair")
        return self


class Decision(BaseModel):
    """Where a ticket goes, how urgent it is, and why."""

    model_config = ConfigDict(frozen=True)

    category: Category
    tier: TierNumber
    specialty: Specialty | None
    priority: Priority
    explanation: str
    scores: dict[str, float]


def priority_of(rules: RuleSet, impact: Level, urgency: Level) -> Priority:
    """The priority of the impact × urgency matrix."""
    return rules.priority[impact][urgency]


def classify(
    rules: RuleSet,
    *,
    title: str,
    description: str,
    impact: Level = "medium",
    urgency: Level = "medium",
    category_hint: str | None = None,
    kb_votes: dict[str, float] | None = None,
) -> Decision:
    """Category, tier, specialty and priority of a ticket, with the reasons.

    `kb_votes` are the categories of the knowledge-base articles found for the ticket,
    best first worth 1 (see `ranking.category_votes`); the rules' knowledge_base.weight scales them.
    """
    text = normalize(f"{title}\n{description}")
    scores, reasons = _category_scores(rules, text, category_hint, kb_votes or {})
    scored = _best_category(rules, scores)
    override, term = _strongest_override(rules, text, scored)
    rule = override or rules.categories[scored]
    category = (override.category if override else None) or scored
    priority = priority_of(rules, impact, urgency)
    reasons.append(f"best category {scored}" if scores else f"fallback category {scored}")
    if override is not None:
        reasons.append(f"override '{override.name}' matched '{term}'")
    reasons.append(_routing(category, rule.tier, rule.specialty))
    reasons.append(f"priority {priority} (impact {impact} × urgency {urgency})")
    return Decision(
        category=category,
        tier=rule.tier,
        specialty=rule.specialty,
        priority=priority,
        explanation="; ".join(reasons),
        scores={name: round(score, 3) for name, score in sorted(scores.items(), key=lambda kv: -kv[1])},
    )


def _category_scores(
    rules: RuleSet, text: str, hint: str | None, kb_votes: dict[str, float]
) -> tuple[dict[str, float], list[str]]:
    # Keywords, then the submitter's hint, then the categories of similar articles, each said.
    hits = {name: found for name, rule in rules.categories.items() if (found := rule.hits(text))}
    scores = {name: sum(weight for _, weight in found) for name, found in hits.items()}
    reasons = [_keyword_reason(hits)]
    if hint in rules.categories and rules.hint_weight > 0:
        scores[hint] = scores.get(hint, 0.0) + rules.hint_weight
        reasons.append(f"hint {hint} +{rules.hint_weight:g}")
    if kb := _kb_weights(rules, kb_votes):
        for name, weight in kb.items():
            scores[name] = scores.get(name, 0.0) + weight
        reasons.append("similar articles: " + ", ".join(f"{name} +{weight:.2g}" for name, weight in kb.items()))
    return scores, reasons


def _kb_weights(rules: RuleSet, votes: dict[str, float]) -> dict[str, float]:
    weight = rules.knowledge_base.weight
    return {name: vote * weight for name, vote in votes.items() if name in rules.categories and vote * weight > 0}


def _best_category(rules: RuleSet, scores: dict[str, float]) -> str:
    # max() keeps the first of equal scores: ties go to the category listed first in the rules.
    best = max(rules.categories, key=lambda name: scores.get(name, 0.0))
    return best if scores.get(best, 0.0) > 0 else rules.fallback_category


def _strongest_override(rules: RuleSet, text: str, scored: str) -> tuple[Override | None, str | None]:
    # The highest tier wins ("ransomware" beats an outage); among equals, the first listed.
    found = [(o, term) for o in rules.overrides if (term := o.first_match(text, scored))]
    if not found:
        return None, None
    return max(found, key=lambda pair: pair[0].tier)


def _keyword_reason(hits: dict[str, list[tuple[str, float]]]) -> str:
    if not hits:
        return "no keyword matched"
    parts = [f"{name} ({', '.join(_weighed(kw, weight) for kw, weight in found)})" for name, found in hits.items()]
    return "keywords: " + ", ".join(parts)


def _weighed(keyword: str, weight: float) -> str:
    return f"'{keyword}' {weight:g}"


def _routing(category: str, tier: int, specialty: str | None) -> str:
    return f"→ {category}, tier {tier}" + (f", specialty {specialty}" if specialty else "")
