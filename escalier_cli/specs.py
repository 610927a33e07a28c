"""`escalier export-specs`: the committed AsyncAPI and OpenAPI documents under deploy/, regenerated.

deploy/asyncapi.json comes from `shared.asyncapi` and what every service declares it publishes and
consumes (its app's runtime wiring); deploy/openapi/<service>.json is the document of the app that
`python -m services.<service>` serves, built with its default settings.
tests/unit/test_asyncapi.py and tests/unit/test_openapi.py fail while a committed copy differs from what this
writes.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from unittest import mock

from escalier_cli.system import SERVICES

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "escalier export-specs"
ASYNCAPI = Path("deploy/asyncapi.json")
OPENAPI_DIR = Path("deploy/openapi")


def render(document: dict) -> str:
    """A document as committed: two-space JSON, keys in the generator's order, one final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def system_asyncapi() -> dict:
    """The whole system's AsyncAPI document: every service's declared publications and subscriptions."""
    from shared.asyncapi import document

    return document([service_app(name).state.runtime.wiring for name in SERVICES])


def asyncapi_text() -> str:
    return render(system_asyncapi())


@contextmanager
def _default_environment() -> Iterator[None]:
    """The settings' defaults, whatever this shell exports; databases (which create folders) in a temp dir."""
    scrubbed = {k: v for k, v in os.environ.items() if not k.startswith(("ESCALIER_", "KAFKA_", "OTEL_"))}
    with tempfile.TemporaryDirectory(prefix="escalier-specs-") as data_dir:
        with mock.patch.dict(os.environ, {**scrubbed, "ESCALIER_DATA_DIR": data_dir}, clear=True):
            yield


@cache
def service_app(name: str):
    """The FastAPI app `python -m services.<name>` would serve: its entry point run with `serve` captured."""
    import shared.serve

    built = []
    with _default_environment(), mock.patch.object(shared.serve, "serve", lambda create, settings: built.append(create(settings))):
        runpy.run_module(f"services.{name}", run_name="__main__", alter_sys=False)
    if len(built) != 1:
        raise RuntimeError(f"services.{name}'s entry point did not call shared.serve.serve(create_app, settings) once")
    return built[0]


def openapi_text(name: str) -> str:
    return render(service_app(name).openapi())


def documents() -> dict[Path, str]:
    """Every committed document's path (relative to the project) and its current text."""
    out = {ASYNCAPI: asyncapi_text()}
    out.update({OPENAPI_DIR / f"{name}.json": openapi_text(name) for name in SERVICES})
    return out


def committed(root: Path, path: Path) -> str | None:
    """The text of a committed document, None if there is none."""
    return (root / path).read_text(encoding="utf-8") if (root / path).is_file() else None


def stale(root: Path, fresh: dict[Path, str]) -> list[Path]:
    """The documents of `fresh` that are missing under `root` or differ from it."""
    return [path for path, text in fresh.items() if committed(root, path) != text]


def cmd_export_specs(args: argparse.Namespace) -> int:
    root = Path(args.root)
    fresh = documents()
    changed = stale(root, fresh)
    if args.check:
        for path in changed:
            print(f"stale: {path}")
        return 1 if changed else 0
    for path in changed:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(fresh[path], encoding="utf-8")
        print(f"wrote {path}")
    print(f"{len(fresh) - len(changed)} of {len(fresh)} documents were already current")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("export-specs", help="regenerate deploy/asyncapi.json and deploy/openapi/<service>.json")
    parser.add_argument("--root", default=str(ROOT), help="the project folder that holds deploy/ (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale document")
    parser.set_defaults(func=cmd_export_specs)
