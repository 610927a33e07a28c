"""Tools from outside the project that some tests run: promtool, Alertmanager, docker-compose, the AsyncAPI CLI.

Where one is missing, its tests skip and say how to install it, so `./dev test` runs on any
machine; `.ci/run` installs them (`.ci/install-tools`) and sets ESCALIER_REQUIRE_TOOLS=1, under
which a missing tool fails its tests instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where .ci/install-tools puts the npm packages (ignored by git).
NODE_BIN = ROOT / ".tools" / "node_modules" / ".bin"

INSTALL = {
    "promtool": "apt-get install prometheus",
    "prometheus-alertmanager": "apt-get install prometheus-alertmanager",
    "amtool": "apt-get install prometheus-alertmanager",
    "docker-compose": "apt-get install docker-compose",
    "asyncapi": "npm install --prefix .tools @asyncapi/cli (the version .ci/install-tools pins)",
}


def required() -> bool:
    """Whether a missing tool fails (CI) rather than skips."""
    return os.environ.get("ESCALIER_REQUIRE_TOOLS", "") not in ("", "0")


def find(name: str) -> str | None:
    """The tool's path: on PATH, else in .tools/."""
    return shutil.which(name) or shutil.which(name, path=str(NODE_BIN))


def tool(name: str) -> str:
    """The tool's path; skip (or, with ESCALIER_REQUIRE_TOOLS=1, fail) naming how to install it."""
    if path := find(name):
        return path
    message = f"{name} is not installed: {INSTALL[name]}, or run .ci/install-tools"
    if required():
        pytest.fail(f"{message} (ESCALIER_REQUIRE_TOOLS is set: CI needs every validator)", pytrace=False)
    pytest.skip(message)
