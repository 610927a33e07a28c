"""What the knowledge-base routes read and answer: an article to publish, its new content, the article."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.messages.common import Body, Category, Language, Tag, Title

# The version an edit replaces: the next one (+1) must still fit a 64-bit integer (the event's JSON, the
# columns); a larger one was a 500, now a 422 naming `version`.
MAX_REPLACED_VERSION = 2**63 - 2


class ArticleCreate(BaseModel):
    """A new article; from a resolved ticket, every field defaults from the ticket. The author is the caller."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    category: Category | None = None
    tags: list[Tag] = Field(default=[], max_length=20)
    from_ticket_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _complete(self):
        missing = [f for f in ("title", "body", "language", "category") if getattr(self, f) is None]
        if self.from_ticket_id is None and missing:
            raise ValueError(f"without from_ticket_id, give {', '.join(missing)}")
        return self


class ArticleUpdate(BaseModel):
    """The article's new content, whole; `version` is the one being replaced. The author is the caller."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body
    language: Language
    category: Category
    tags: list[Tag] = Field(default=[], max_length=20)
    version: int | None = Field(default=None, ge=1, le=MAX_REPLACED_VERSION)


class ArticleOut(BaseModel):
    article_id: str
    title: str
    body: str
    language: Language
    category: Category
    tags: list[str]
    version: int
    status: str
    author: str
    from_ticket_id: str | None
    updated_at: datetime
