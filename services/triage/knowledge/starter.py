"""The starter knowledge base shipped with triage: everyday level-1 answers, in French and English.

The articles live in `kb_starter_en.yaml` and `kb_starter_fr.yaml` beside this module.
They are loaded at every start; an article is written only when it is new or when the
shipped version is newer and nobody has edited it since (an engineer's edit wins).
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

import yaml
from pydantic import BaseModel, ConfigDict, Field

from shared.messages.kb import ArticleContent

STARTER_FILES = ("kb_starter_en.yaml", "kb_starter_fr.yaml")
STARTER_AUTHOR = "escalier-starter"


class _StarterArticle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^kb-(en|fr)-[a-z0-9-]+$")
    version: int = Field(default=1, ge=1)
    category: str
    tags: list[str] = []
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)


class _StarterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str
    updated_at: datetime
    articles: list[_StarterArticle]


def load_starter(names: tuple[str, ...] = STARTER_FILES) -> list[ArticleContent]:
    """Every shipped article, validated; ValueError naming the file and the fault otherwise."""
    articles: list[ArticleContent] = []
    for name in names:
        raw = yaml.safe_load(files("services.triage.knowledge").joinpath(name).read_text(encoding="utf-8"))
        try:
            shipped = _StarterFile.model_validate(raw)
            articles += [_content(a, shipped) for a in shipped.articles]
        except ValueError as exc:
            raise ValueError(f"starter knowledge base {name}: {exc}") from exc
    ids = [a.article_id for a in articles]
    if len(ids) != len(set(ids)):
        raise ValueError("starter knowledge base: an article id is used twice")
    return articles


def _content(article: _StarterArticle, shipped: _StarterFile) -> ArticleContent:
    return ArticleContent(
        article_id=article.id,
        title=article.title,
        body=article.body.strip(),
        language=shipped.language,
        category=article.category,
        tags=article.tags,
        version=article.version,
        author=STARTER_AUTHOR,
        updated_at=shipped.updated_at,
    )


def to_write(starter: list[ArticleContent], stored: dict[str, tuple[int, str]]) -> list[ArticleContent]:
    """The shipped articles to write, given the stored (version, author) of each id."""
    return [
        article
        for article in starter
        if article.article_id not in stored
        or (stored[article.article_id][1] == STARTER_AUTHOR and stored[article.article_id][0] < article.version)
    ]
