"""`python -m escalier_cli.packed intake notifier`: several services in one process (`escalier up --processes`).

Each service is built as its `python -m services.<name>` builds it, with its own settings (its own
environment prefix, port, database, consumer group), and served by its own uvicorn server; they share
the process's event loop, and one SIGINT or SIGTERM stops them all (shared.serve.serve_together).
"""

from __future__ import annotations

import importlib
import sys

from shared.serve import serve_together

# Each service's composition root and settings: what its services/<name>/__main__.py serves.
ENTRY_POINTS: dict[str, tuple[str, str]] = {
    "intake": ("services.intake.main:create_app", "services.intake.settings:IntakeSettings"),
    "triage": ("services.triage.main:create_app", "services.triage.settings:TriageSettings"),
    "tier1": ("services.tiers.main:create_app", "services.tier1.settings:Tier1Settings"),
    "tier2": ("services.tiers.main:create_app", "services.tier2.settings:Tier2Settings"),
    "tier3": ("services.tiers.main:create_app", "services.tier3.settings:Tier3Settings"),
    "notifier": ("services.notifier.main:create_app", "services.notifier.settings:NotifierSettings"),
}


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def entry_point(name: str):
    """(create_app, settings) of service `name`, its settings read from the environment."""
    create_app, settings = ENTRY_POINTS[name]
    return _load(create_app), _load(settings)()


def main(argv: list[str]) -> int:
    unknown = [n for n in argv if n not in ENTRY_POINTS]
    if not argv or unknown or len(set(argv)) != len(argv):
        names = ", ".join(ENTRY_POINTS)
        print(f"usage: python -m escalier_cli.packed SERVICE... (each once, of {names})", file=sys.stderr)
        return 2
    return serve_together([entry_point(name) for name in argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
