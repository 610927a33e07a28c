"""Each service's OpenAPI document: the committed copy under deploy/openapi/ current, and valid OpenAPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from openapi_spec_validator import validate

from escalier_cli.specs import OPENAPI_DIR, REGENERATE, ROOT, committed, openapi_text
from escalier_cli.system import SERVICES


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_committed_openapi_document_is_valid_openapi(name):
    text = committed(ROOT, OPENAPI_DIR / f"{name}.json")
    assert text is not None, f"{OPENAPI_DIR / name}.json is missing: run `{REGENERATE}`"
    validate(json.loads(text))  # raises naming the first violation


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_committed_openapi_document_is_the_one_the_service_serves(name):
    assert committed(ROOT, OPENAPI_DIR / f"{name}.json") == openapi_text(name), (
        f"{OPENAPI_DIR / name}.json is stale: run `{REGENERATE}` (.venv/bin/escalier) and commit the result"
    )


def test_export_specs_check_finds_every_document_current_from_a_fresh_process_whatever_the_shell_sets(tmp_path):
    # The documents come from the settings' defaults: a shell's own settings do not leak into them.
    env = {**os.environ, "ESCALIER_ENV": "production", "ESCALIER_INTAKE_PORT": "9999", "ESCALIER_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "escalier_cli.main", "export-specs", "--check"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list(tmp_path.iterdir())  # and nothing written where it ran
