"""Triage's rules: keyword scores per category, overrides, and the impact × urgency priority matrix.

Plain Python (pydantic only for the rule schema): no framework, no I/O. Text and
keywords are compared in one normal form (lower case, no accents, punctuation as
spaces), so "Mot de passe expiré" and "mot de passe expire" are the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PrivateAttr, model_validator

from shared.messages.common import Category, Level, Priority, Specialty, TierNumber

from services.triage.knowledge.domain import KnowledgeBaseRules
from services.triage.routing.matching import PhraseTable, Span, outermost
from services.triage.text import normalize

Term = str | list[str]  # a phrase, or words that must all appear (in any order)


def _label(term: Term) -> str:
    return term if isinstance(term, str) else " + ".join(term)


def _check_phrase(phrase: str) -> None:
    if not normalize(phrase).split():
        raise ValueError(f"keyword {phrase!r} has no letters or digits")


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
    """A category's keywords (each with its weight) and the tier its tickets go to.

    A keyword matches whole words, plus a plural or feminine ending: "imprimante" finds
    "imprimantes", "bloqué" finds "bloquée"; other inflections are listed as keywords.
    """

    keywords: dict[str, PositiveFloat] = {}

    def model_post_init(self, _context) -> None:
        for keyword in self.keywords:
            _check_phrase(keyword)


class Override(_Rule):
    """A phrase that decides the routing outright (severe cases that keywords would under-rate)."""

    name: str = Field(min_length=1)
    match: list[Term] = Field(min_length=1)
    category: Category | None = None  # None: keep the category the keywords chose
    when_category: Category | None = None  # apply only when the keywords chose this category

    def model_post_init(self, _context) -> None:
        for term in self.match:
            for word in [term] if isinstance(term, str) else term:
                _check_phrase(word)

    def terms(self) -> list[tuple[str, list[str]]]:
        """Each term's label, and the phrases that must all be found for it."""
        return [(_label(t), [t] if isinstance(t, str) else t) for t in self.match]


class _Compiled:
    """A rule set's keywords and override terms in one phrase table, and where each phrase is
    used: built once, when the rules are loaded (a rule set is frozen)."""

    __slots__ = ("table", "keywords", "uses", "overrides", "term_uses")

    def __init__(self, rules: RuleSet) -> None:
        table = PhraseTable()
        self.keywords = {name: list(rule.keywords.items()) for name, rule in rules.categories.items()}
        self.uses: dict[int, list[tuple[str, int]]] = {}  # phrase -> (category, keyword's position)
        for name, rule in rules.categories.items():
            for position, keyword in enumerate(rule.keywords):
                self.uses.setdefault(table.add(keyword), []).append((name, position))
        self.overrides = [
            (o, [(label, [table.add(p) for p in phrases]) for label, phrases in o.terms()]) for o in rules.overrides
        ]
        self.term_uses: dict[int, list[tuple[int, int]]] = {}  # phrase -> (override's position, term's)
        for o, (_, terms) in enumerate(self.overrides):
            for t, (_, phrases) in enumerate(terms):
                for phrase in phrases:
                    self.term_uses.setdefault(phrase, []).append((o, t))
        self.table = table


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
    _compiled: _Compiled = PrivateAttr()

    def model_post_init(self, _context) -> None:
        self._compiled = _Compiled(self)

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
    best first worth 1 (see `knowledge.domain.category_votes`); the rules' knowledge_base.weight scales them.
    """
    words = normalize(f"{title}\n{description}").split()
    return classify_words(
        rules, words, impact=impact, urgency=urgency, category_hint=category_hint, kb_votes=kb_votes
    )


def classify_words(
    rules: RuleSet,
    words: Sequence[str],
    *,
    impact: Level = "medium",
    urgency: Level = "medium",
    category_hint: str | None = None,
    kb_votes: dict[str, float] | None = None,
) -> Decision:
    """`classify` of a ticket whose title and description are already normalized and split (`words`)."""
    found = rules._compiled.table.find(words)
    scores, reasons = _category_scores(rules, found, category_hint, kb_votes or {})
    scored = _best_category(rules, scores)
    override, term = _strongest_override(rules, found, scored)
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
    rules: RuleSet, found: dict[int, list[Span]], hint: str | None, kb_votes: dict[str, float]
) -> tuple[dict[str, float], list[str]]:
    # Keywords, then the submitter's hint, then the categories of similar articles, each said.
    hits = _keyword_hits(rules, found)
    scores = {name: sum(weight for _, weight in keywords) for name, keywords in hits.items()}
    reasons = [_keyword_reason(hits)]
    if hint in rules.categories and rules.hint_weight > 0:
        scores[hint] = scores.get(hint, 0.0) + rules.hint_weight
        reasons.append(f"hint {hint} +{rules.hint_weight:g}")
    if kb := _kb_weights(rules, kb_votes):
        for name, weight in kb.items():
            scores[name] = scores.get(name, 0.0) + weight
        reasons.append("similar articles: " + ", ".join(f"{name} +{weight:.2g}" for name, weight in kb.items()))
    return scores, reasons


def _keyword_hits(rules: RuleSet, found: dict[int, list[Span]]) -> dict[str, list[tuple[str, float]]]:
    # Per category, in the rules' order, its keywords found, each counted once; one found only
    # inside a longer one of the same category is not counted again: "e-mail" is not also "mail".
    compiled = rules._compiled
    spans: dict[str, dict[int, list[Span]]] = {}  # category -> keyword's position -> its matches
    for phrase, matches in found.items():
        for name, position in compiled.uses.get(phrase, ()):
            spans.setdefault(name, {})[position] = matches
    hits = {}
    for name in rules.categories:
        if name in spans:
            keywords = compiled.keywords[name]
            hits[name] = [keywords[position] for position in sorted(outermost(spans[name]))]
    return hits


def _kb_weights(rules: RuleSet, votes: dict[str, float]) -> dict[str, float]:
    weight = rules.knowledge_base.weight
    return {name: vote * weight for name, vote in votes.items() if name in rules.categories and vote * weight > 0}


def _best_category(rules: RuleSet, scores: dict[str, float]) -> str:
    # max() keeps the first of equal scores: ties go to the category listed first in the rules.
    best = max(rules.categories, key=lambda name: scores.get(name, 0.0))
    return best if scores.get(best, 0.0) > 0 else rules.fallback_category


def _strongest_override(
    rules: RuleSet, found: dict[int, list[Span]], scored: str
) -> tuple[Override | None, str | None]:
    # The highest tier wins ("ransomware" beats an outage); among equals, the first listed.
    # An override matched with its first term whose phrases are all found; only the terms
    # holding a phrase found are looked at.
    compiled = rules._compiled
    first_term: dict[int, int] = {}  # override's position -> its first term found whole
    for phrase in found:
        for o, t in compiled.term_uses.get(phrase, ()):
            if t < first_term.get(o, t + 1) and all(p in found for p in compiled.overrides[o][1][t][1]):
                first_term[o] = t
    matched = []
    for o in sorted(first_term):
        override, terms = compiled.overrides[o]
        if override.when_category is None or override.when_category == scored:
            matched.append((override, terms[first_term[o]][0]))
    if not matched:
        return None, None
    return max(matched, key=lambda pair: pair[0].tier)


def _keyword_reason(hits: dict[str, list[tuple[str, float]]]) -> str:
    if not hits:
        return "no keyword matched"
    parts = [f"{name} ({', '.join(_weighed(kw, weight) for kw, weight in found)})" for name, found in hits.items()]
    return "keywords: " + ", ".join(parts)


def _weighed(keyword: str, weight: float) -> str:
    return f"'{keyword}' {weight:g}"


def _routing(category: str, tier: int, specialty: str | None) -> str:
    return f"→ {category}, tier {tier}" + (f", specialty {specialty}" if specialty else "")
