"""Reference (a), the bare HTTP path: intake's request model and server settings, no database, no Kafka.

Run as its own process: `python -m escalier_cli.bench.bare_app PORT DATA_DIR`.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, Response

from shared.config import ServiceSettings
from shared.serve import serve

from services.intake.submission.schemas import TicketAccepted, TicketCreate


def create_app(settings: ServiceSettings) -> FastAPI:
    """One route: validate a TicketCreate, answer 202 as intake does."""
    app = FastAPI(title="Escalier bench reference")

    @app.post("/tickets", status_code=202, response_model=TicketAccepted)
    async def submit_ticket(body: TicketCreate, response: Response) -> TicketAccepted:
        ticket_id = str(uuid.uuid4())
        response.headers["Location"] = f"/tickets/{ticket_id}"
        return TicketAccepted(id=ticket_id, status="new", submitted_at=datetime.now(UTC),
                              links={"self": f"/tickets/{ticket_id}"})

    return app


if __name__ == "__main__":
    port, data_dir = int(sys.argv[1]), sys.argv[2]
    serve(create_app, ServiceSettings(service_name="bench-reference", port=port, data_dir=data_dir))
