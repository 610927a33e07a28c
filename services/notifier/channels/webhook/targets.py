"""Which webhook targets the notifier may call: a guard against server-side request forgery.

A URL given by a client must not make the notifier call into its own network (cloud metadata,
databases, admin consoles). Every address a target's host resolves to must be public, unless
configuration allows it. Checked when a subscription is created and again before each call,
since DNS answers change.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """A webhook target the notifier will not call: 422 when subscribing, a dead delivery later."""


class TargetUnresolvable(Exception):
    """The target's host does not resolve now (may be transient)."""


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allow_private: bool, cidrs: Iterable[str]) -> TargetPolicy:
        """The policy of the notifier's settings."""
        return cls(allow_private, tuple(ipaddress.ip_network(c, strict=False) for c in cidrs))


def split_target(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, or TargetRefused saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"only http and https targets are allowed, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_address(address: Address, policy: TargetPolicy) -> None:
    """Refuse an address that is not public, unless the policy allows it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if policy.allow_private or any(address in net for net in policy.allowed_networks):
        return
    if address.is_global and not address.is_multicast:
        return
    kind = next(
        (name for name, flag in _KINDS if getattr(address, flag)),
        "non-public",
    )
    raise TargetRefused(
        f"{address} is a {kind} address; webhook targets must be public "
        "(allow it with ESCALIER_NOTIFIER_ALLOWED_TARGET_CIDRS or ESCALIER_NOTIFIER_ALLOW_PRIVATE_TARGETS)"
    )


_KINDS = (  # most telling first: 127.0.0.1 and 0.0.0.0 are "private" too
    ("loopback", "is_loopback"),
    ("unspecified", "is_unspecified"),
    ("link-local", "is_link_local"),
    ("multicast", "is_multicast"),
    ("private", "is_private"),
    ("reserved", "is_reserved"),
)


def check_addresses(addresses: Iterable[Address], policy: TargetPolicy) -> None:
    """Refuse if any address is refused: a host with one private answer could be steered to it."""
    for address in addresses:
        check_address(address, policy)


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal is its own answer)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetUnresolvable(f"{host} does not resolve: {exc}") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def check_target(url: str, policy: TargetPolicy) -> list[Address]:
    """TargetRefused unless `url` is http(s) and every address of its host is allowed.

    The addresses checked, for the call to connect to (none when the policy allows every address).
    """
    host, port = split_target(url)
    if policy.allow_private:
        return []
    addresses = await resolve(host, port)
    check_addresses(addresses, policy)
    return addresses
