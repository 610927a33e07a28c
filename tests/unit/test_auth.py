"""Bearer tokens: verified signature, issuer, audience and expiry; roles and tenancy."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import InsecureSecret, Principal, Role, TokenVerifier, mint_token
from shared.config import ServiceSettings

DEV = ServiceSettings()


def test_a_minted_token_names_the_caller():
    token = mint_token(DEV, sub="bob", role=Role.AGENT, orgs=["acme"], tier=2, specialties=["network"])
    principal = TokenVerifier(DEV).verify(token)
    assert (principal.sub, principal.role, principal.tier, principal.orgs) == ("bob", Role.AGENT, 2, ["acme"])


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"exp": int(time.time()) - 10}, jwt.ExpiredSignatureError),
        ({"aud": "someone-else"}, jwt.InvalidAudienceError),
        ({"iss": "evil"}, jwt.InvalidIssuerError),
    ],
)
def test_expired_foreign_or_misaddressed_tokens_are_refused(change, error):
    claims = jwt.decode(mint_token(DEV, sub="ann", role=Role.REQUESTER, org="acme"), options={"verify_signature": False})
    forged = jwt.encode({**claims, **change}, DEV.jwt_secret, algorithm="HS256")
    with pytest.raises(error):
        TokenVerifier(DEV).verify(forged)


def test_a_verified_token_is_remembered_only_until_it_expires(monkeypatch):
    verifier = TokenVerifier(DEV)
    token = mint_token(DEV, sub="ann", role=Role.REQUESTER, org="acme")
    first = verifier.verify(token)
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("a remembered token is decoded again"))
    assert verifier.verify(token) is first
    monkeypatch.undo()

    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, DEV.jwt_secret, algorithm="HS256")
    verifier._verified[expired] = (first, time.time() - 10)  # remembered from when it was valid
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(expired)


def test_a_token_signed_with_another_secret_is_refused():
    other = ServiceSettings(jwt_secret="another-secret-of-at-least-32-bytes!!")
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(DEV).verify(mint_token(other, sub="ann", role=Role.OPS))


def test_the_placeholder_secret_refuses_to_start_outside_development():
    with pytest.raises(InsecureSecret):
        TokenVerifier(ServiceSettings(environment="production"))
    TokenVerifier(ServiceSettings(environment="production", jwt_secret="a-real-secret-from-the-vault-0123456789"))


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_rs256_tokens_verify_with_a_public_key_file(tmp_path, rsa_key):
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "key.pem").write_bytes(pem)
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_public_key_file=tmp_path / "key.pem", environment="production")
    token = jwt.encode(
        {"sub": "ops1", "role": "ops", "iss": "escalier", "aud": "escalier", "iat": int(time.time()), "exp": int(time.time()) + 60},
        rsa_key,
        algorithm="RS256",
    )
    assert TokenVerifier(settings).verify(token).role == Role.OPS


def test_rs256_tokens_verify_with_a_jwks_file_by_key_id(tmp_path, rsa_key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_jwks_file=tmp_path / "jwks.json", environment="production")
    now = int(time.time())
    claims = {"sub": "lead1", "role": "lead", "orgs": ["*"], "iss": "escalier", "aud": "escalier", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert TokenVerifier(settings).verify(token).role == Role.LEAD


def test_requesters_see_only_their_own_tickets_and_agents_only_the_organizations_they_serve():
    ann = Principal(sub="ann@acme.example", role=Role.REQUESTER, org="acme")
    assert ann.sees_ticket(organization="acme", requester="ann@acme.example")
    assert not ann.sees_ticket(organization="acme", requester="bob@acme.example")
    admin = Principal(sub="it@acme.example", role=Role.ORG_ADMIN, org="acme")
    assert admin.sees_ticket(organization="acme", requester="bob@acme.example")
    assert not admin.sees_organization("globex")
    agent = Principal(sub="alice", role=Role.AGENT, orgs=["acme"], tier=1)
    assert agent.sees_organization("acme") and not agent.sees_organization("globex")
    assert Principal(sub="msp", role=Role.AGENT, orgs=["*"], tier=1).sees_organization("globex")
    assert Principal(sub="ops", role=Role.OPS).sees_organization("anything")
