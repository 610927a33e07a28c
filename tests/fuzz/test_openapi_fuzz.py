"""API fuzzing: schemathesis generates requests from each running service's /openapi.json.

Every operation of every service gets ESCALIER_FUZZ_EXAMPLES generated cases (default 25,
which keeps this module well under 90 s); no answer may be a 5xx, and every 2xx answer must
match the schema it is documented with. The callers are real bearer tokens: ops reads,
a lead (every tier, every organization) works and writes at the tiers, an organization
admin submits for the organization its request names, a requester acts on tickets.

The two SSE endpoints (GET /stream, GET /tickets/{id}/stream) never end: they are left out.

A longer run:  ESCALIER_FUZZ_EXAMPLES=500 ./dev test tests/fuzz -s
(-s prints each service's figures.) Runs are derandomized (the same cases each time) unless
ESCALIER_FUZZ_SEED=<int> asks for other ones.
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from escalier_cli.system import SERVICES
from tests.helpers import OPS, bearer

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ESCALIER_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("ESCALIER_FUZZ_SEED")
NEVER_ENDING = {("GET", "/stream"), ("GET", "/tickets/{ticket_id}/stream")}
TIERS = {"tier1", "tier2", "tier3"}
LEAD = bearer("lead@msp.example", "lead", orgs=["*"])
REQUESTER = bearer("fuzz@acme.example", "requester", org="acme")


def caller(service: str, method: str, path: str, case: schemathesis.Case, base_url: str) -> dict[str, str]:
    """The bearer token of a caller allowed to make this call (then the rules of the service decide)."""
    if method in ("GET", "HEAD"):
        return OPS
    if service in TIERS:
        return LEAD
    if service == "intake" and path in ("/events", "/integrations/alertmanager"):
        return _integration_key(base_url)
    if service == "intake" and path in ("/tickets", "/integrations"):
        body = case.body if isinstance(case.body, dict) else {}
        organization = body.get("organization") if isinstance(body.get("organization"), str) else "acme"
        return bearer("admin@fuzz.example", "org_admin", org=organization)
    if service == "intake":
        return REQUESTER
    return OPS


@functools.cache
def _integration_key(intake: str) -> dict[str, str]:
    """An integration's key, made once per intake: the only caller `POST /events` takes."""
    body = {"name": "fuzz", "organization": "acme", "contact": {"email": "noc@acme.example", "name": "NOC"}}
    admin = bearer("admin@fuzz.example", "org_admin", org="acme")
    created = httpx.post(f"{intake.rstrip('/')}/integrations", json=body, headers=admin, timeout=10)
    created.raise_for_status()
    return {"Authorization": f"Bearer {created.json()['api_key']}"}


def fuzz_operation(service: str, base_url: str, operation, failures: list[str], statuses: Counter) -> None:
    method, path = operation.method.upper(), operation.path

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(base_url=base_url, headers=caller(service, method, path, case, base_url), timeout=10)
        statuses[f"{response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    if SEED is not None:
        run = seed(int(SEED))(run)
    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # the shrunk case, with a curl command to reproduce it
        failures.append(f"{service} {method} {path}:\n{exc}")


@pytest.mark.parametrize("service", list(SERVICES))
def test_no_operation_answers_a_server_error(system, service):
    base_url = system.services[service].url
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    statuses: Counter[str] = Counter()
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in NEVER_ENDING]
    for operation in operations:
        started = time.monotonic()
        fuzz_operation(service, base_url, operation, failures, statuses)
        if os.environ.get("ESCALIER_FUZZ_TIMES"):
            print(f"  {operation.method.upper()} {operation.path}: {time.monotonic() - started:.1f}s")
    print(f"\n{service}: {len(operations)} operations, {sum(statuses.values())} calls, {dict(sorted(statuses.items()))}")
    assert operations and statuses["2xx"], f"nothing at {service} was fuzzed through to a success"
    assert not failures, "\n\n".join(failures)
