"""The tiers schema: every table of both rooms, as alembic's env migrates them.

At the top because the schema is the service's, not one room's; the rooms keep their own tables.
"""

from __future__ import annotations

from services.tiers.kb.models import TierArticle
from services.tiers.work.models import TierTicket

MODELS = (TierTicket, TierArticle)
