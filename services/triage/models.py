"""Every table of triage, each defined with its feature: what its migrations build (alembic's env
reads MODELS) and what `knowledge.handlers.prepare` creates."""

from services.triage.knowledge.models import KbArticle, KbDeflection
from services.triage.routing.models import TriageDecision

MODELS = (TriageDecision, KbArticle, KbDeflection)
