"""`python -m services.triage.evaluation.evaluate`: how well triage classifies, routes, and finds articles.

Runs the rules in force (or `--rules FILE`) with the starter knowledge base, in a
throwaway SQLite database (or `--database-url`), over the labelled tickets and the
search questions of tests/data, and prints category and tier accuracy for the tuned
and the held-out tickets separately, the confusion matrix, and the share of search
questions whose article comes back in the top 3.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml

from shared.db import Database

from services.triage.evaluation.domain import (
    LabelledSet,
    LabelledTicket,
    SearchQuestion,
    Verdict,
    confusion,
    format_confusion,
    scores,
    top_k_share,
)
from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.handlers import KnowledgeBase
from services.triage.knowledge.index import index_for
from services.triage.knowledge.starter import load_starter
from services.triage.routing.domain import RuleSet
from services.triage.routing.handlers import Triage, decide
from services.triage.routing.rulebook import load_rules

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
DEFAULT_TICKETS = DATA / "labelled_tickets.yaml"
DEFAULT_QUESTIONS = DATA / "kb_questions.yaml"


def load_labelled(path: Path = DEFAULT_TICKETS) -> list[LabelledTicket]:
    """The labelled tickets of `path`."""
    return LabelledSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).tickets


def load_questions(path: Path = DEFAULT_QUESTIONS) -> dict[str, SearchQuestion]:
    """Article id -> the question that should find it."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return {article_id: SearchQuestion.model_validate(q) for article_id, q in raw.items()}


@asynccontextmanager
async def starter_triage(rules: RuleSet, database_url: str | None = None) -> AsyncIterator[Triage]:
    """Triage with `rules` and the starter knowledge base, in a throwaway SQLite file unless a URL is given."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(database_url or f"sqlite+aiosqlite:///{tmp}/evaluate.db")
        try:
            kb = KnowledgeBase(db=db, index=index_for(db))
            await knowledge.prepare(kb, load_starter())
            yield Triage(rules=rules, kb=kb)
        finally:
            await db.dispose()


async def judge(triage: Triage, tickets: list[LabelledTicket]) -> list[Verdict]:
    """Triage's decision on every labelled ticket (a dry run: nothing is counted)."""
    verdicts = []
    async with triage.kb.db.read() as session:
        for t in tickets:
            outcome = await decide(
                session, triage, title=t.title, description=t.description, language=t.language, category_hint=t.hint
            )
            d = outcome.decision
            verdicts.append(Verdict(ticket=t, category=d.category, tier=d.tier, specialty=d.specialty))
    return verdicts


async def search_ranks(
    kb: KnowledgeBase, questions: dict[str, SearchQuestion], limit: int = 10
) -> dict[str, int | None]:
    """Article id -> the rank its question finds it at (1 is first), None when not in the first `limit`."""
    ranks: dict[str, int | None] = {}
    for article_id, question in questions.items():
        hits = await knowledge.search(kb, question=question.q, language=question.language, limit=limit)
        found = [h.article.article_id for h in hits]
        ranks[article_id] = found.index(article_id) + 1 if article_id in found else None
    return ranks


def report(
    verdicts: list[Verdict], ranks: dict[str, int | None], *, errors: bool, holdout_errors: bool = False
) -> str:
    """The evaluation as text."""
    tuned = [v for v in verdicts if not v.ticket.holdout]
    held = [v for v in verdicts if v.ticket.holdout]
    lines = [f"labelled tickets: {len(verdicts)} ({len(tuned)} tuned on, {len(held)} held out)", ""]
    lines.append(f"{'':<12}{'tickets':>8}{'category':>10}{'tier':>8}{'tier+specialty':>16}")
    for name, part in (("tuned", tuned), ("held out", held), ("all", verdicts)):
        s = scores(part)
        lines.append(f"{name:<12}{s.count:>8}{s.category:>10.1%}{s.tier:>8.1%}{s.route:>16.1%}")
    for name, part in (("held out", held), ("all", verdicts)):
        lines += ["", f"confusion matrix, {name} (rows: expected, columns: decided)", format_confusion(confusion(part))]
    if errors or holdout_errors:
        # Held-out mistakes stay hidden unless asked for: reading them invites tuning on them.
        shown = [v for v in verdicts if holdout_errors or not v.ticket.holdout]
        lines += ["", "mistakes:", *[_mistake(v) for v in shown if not (v.category_ok and v.route_ok)]]
    found = sum(1 for r in ranks.values() if r is not None and r <= 3)
    lines += ["", f"search: {found}/{len(ranks)} starter articles found in the top 3 by their question "
              f"({top_k_share(ranks):.1%})"]
    lines += [f"  missed: {article_id} (rank {rank})" for article_id, rank in ranks.items() if rank is None or rank > 3]
    return "\n".join(lines)


def _mistake(v: Verdict) -> str:
    part = "held out" if v.ticket.holdout else "tuned"
    expected = f"{v.ticket.category}/{v.ticket.tier}{'/' + v.ticket.specialty if v.ticket.specialty else ''}"
    decided = f"{v.category}/{v.tier}{'/' + v.specialty if v.specialty else ''}"
    return f"  [{part}] {v.ticket.title!r}: expected {expected}, decided {decided}"


async def evaluate(args: argparse.Namespace) -> str:
    rules = load_rules(args.rules)
    if args.no_kb:
        rules = rules.model_copy(update={"knowledge_base": rules.knowledge_base.model_copy(update={"weight": 0.0})})
    async with starter_triage(rules, args.database_url) as triage:
        verdicts = await judge(triage, load_labelled(args.tickets))
        ranks = await search_ranks(triage.kb, load_questions(args.questions))
    return report(verdicts, ranks, errors=args.errors, holdout_errors=args.holdout_errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.triage.evaluation.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tickets", type=Path, default=DEFAULT_TICKETS, help="labelled tickets (YAML)")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="search questions (YAML)")
    parser.add_argument("--rules", type=Path, default=None, help="a rule file instead of the packaged rules.yaml")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy async URL (default: a throwaway SQLite)")
    parser.add_argument("--no-kb", action="store_true", help="leave knowledge-base similarity out of classification")
    parser.add_argument("--errors", action="store_true", help="list the tuned tickets decided wrongly")
    parser.add_argument(
        "--holdout-errors", action="store_true", help="also list the held-out mistakes (not for tuning)"
    )
    print(asyncio.run(evaluate(parser.parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
