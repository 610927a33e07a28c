"""Which tier this process is: the handle every use case of both rooms (work, kb) takes.

At the top because both rooms need it and neither owns it; built once in `main.create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.db import Database
from shared.sla.contracts import Contracts


@dataclass(frozen=True)
class Tier:
    """Which tier this process is, its database, and the organizations' SLA contracts."""

    number: int
    db: Database
    contracts: Contracts

    @property
    def source(self) -> str:
        return f"tier{self.number}"
