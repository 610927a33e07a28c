"""Identities and permissions: bearer tokens (JWT) verified by every service.

HS256 with a shared secret for the embedded default; RS256 with a public key or a
JWKS file for production. Issuer, audience and expiry are always checked. Each
service declares, in one place, which roles hold each permission; routes name
the permission they need.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import jwt
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.config import PLACEHOLDER_JWT_SECRET


class Role(StrEnum):
    REQUESTER = "requester"  # their own tickets
    ORG_ADMIN = "org_admin"  # their organization's tickets and subscriptions
    AGENT = "agent"  # a tier, optional specialties, the organizations they serve
    LEAD = "lead"  # an agent who may reassign and see reports
    OPS = "ops"  # reads everything, streams, metrics
    INTEGRATION = "integration"  # a monitoring system of one organization, by API key only (never a JWT)


# An integration's API key (intake's integrations room) starts with this, so a request tells a key from a
# JWT without trying to decode it, and a leaked key is recognisable to secret scanners.
API_KEY_PREFIX = "escalier_ik_"


class Principal(BaseModel):
    """Who is calling, from the verified token's claims."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str
    role: Role
    org: str | None = None  # requester and org_admin: their organization
    orgs: list[str] = []  # agent and lead: the organizations they serve ("*": all)
    tier: int | None = None
    specialties: list[str] = []

    def sees_organization(self, organization: str) -> bool:
        """Whether this caller may know about tickets of `organization` at all."""
        if self.role == Role.OPS:
            return True
        if self.role in (Role.AGENT, Role.LEAD):
            return "*" in self.orgs or organization in self.orgs
        return self.org == organization

    def sees_ticket(self, *, organization: str, requester: str | None) -> bool:
        """Whether this caller may see a ticket (requesters: only their own)."""
        if not self.sees_organization(organization):
            return False
        return self.role != Role.REQUESTER or (requester or "").lower() == self.sub.lower()


class InsecureSecret(RuntimeError):
    """The placeholder secret outside development mode."""


_VERIFIED_TOKENS_KEPT = 10_000


class TokenVerifier:
    """Verifies bearer tokens with the configured key; built once per service."""

    def __init__(self, settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._jwks: jwt.PyJWKSet | None = None
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (caller, expiry), oldest first
        if self.algorithm == "HS256":
            if settings.jwt_secret == PLACEHOLDER_JWT_SECRET and settings.environment != "development":
                raise InsecureSecret(
                    "ESCALIER_JWT_SECRET is the development placeholder; set a secret (or ESCALIER_ENV=development)"
                )
            self._key = settings.jwt_secret
        elif settings.jwt_jwks_file:
            self._jwks = jwt.PyJWKSet.from_json(Path(settings.jwt_jwks_file).read_text())
        elif settings.jwt_public_key_file:
            self._key = Path(settings.jwt_public_key_file).read_text()
        else:
            raise ValueError("RS256 needs ESCALIER_JWT_PUBLIC_KEY_FILE or ESCALIER_JWT_JWKS_FILE")

    def _key_for(self, token: str):
        if self._jwks is None:
            return self._key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError(f"no key {kid!r} in the JWKS")

    def verify(self, token: str) -> Principal:
        """The caller behind `token`; jwt.InvalidTokenError or ValidationError if it is not valid.

        A token verified once is remembered until it expires (a bounded cache): clients send the
        same token with every request, and its decoding showed as a sixth of a request's time."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at:
                return principal
            del self._verified[token]
        claims = jwt.decode(
            token,
            self._key_for(token),
            algorithms=[self.algorithm],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        principal = Principal.model_validate(claims)  # frozen: safe to hand out again
        if principal.role == Role.INTEGRATION:
            raise jwt.InvalidTokenError("the integration role comes with an integration's API key, not a token")
        if len(self._verified) >= _VERIFIED_TOKENS_KEPT:
            self._verified.pop(next(iter(self._verified)))  # the oldest
        self._verified[token] = (principal, float(claims["exp"]))
        return principal


def mint_token(settings, *, sub: str, role: Role, org: str | None = None, orgs: list[str] = (),
               tier: int | None = None, specialties: list[str] = (), ttl_s: int = 12 * 3600) -> str:
    """A signed HS256 token for development and tests."""
    now = int(time.time())
    claims = {
        "sub": sub, "role": str(role), "org": org, "orgs": list(orgs), "tier": tier,
        "specialties": list(specialties), "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
        "iat": now, "exp": now + ttl_s,
    }
    return jwt.encode({k: v for k, v in claims.items() if v not in (None, [])}, settings.jwt_secret, algorithm="HS256")


_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from your identity provider, or `escalier token`; at intake, an integration's API key",
)


async def _verified(request: Request, token: str) -> Principal:
    """The caller behind a bearer credential: an API key where the service knows keys
    (`app.state.api_keys`, an async key -> Principal | None), a JWT otherwise; 401 if neither."""
    api_keys = getattr(request.app.state, "api_keys", None)
    if api_keys is not None and token.startswith(API_KEY_PREFIX):
        principal = await api_keys(token)
        if principal is None:
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        return principal
    try:
        return request.app.state.verifier.verify(token)
    except (jwt.InvalidTokenError, ValidationError) as exc:
        raise HTTPException(401, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from None


class Permissions:
    """One service's permission table: permission name -> the roles that hold it."""

    def __init__(self, table: Mapping[str, frozenset[Role] | set[Role]]) -> None:
        self.table = {name: frozenset(roles) for name, roles in table.items()}

    def require(self, permission: str):
        """A FastAPI dependency: the verified caller, if their role holds `permission` (401/403 otherwise)."""
        roles = self.table[permission]  # KeyError at import time: a route named an unknown permission

        async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(_bearer)) -> Principal:
            if credentials is None:
                raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
            principal = await _verified(request, credentials.credentials)
            if principal.role not in roles:
                raise HTTPException(403, f"role {principal.role.value} may not {permission.replace(':', ' ')}")
            return principal

        caller.permission, caller.roles = permission, roles  # read by the permission-matrix test
        return Depends(caller)
