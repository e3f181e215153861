"""The outbound policy for aiohttp clients: a connector that connects only to allowed
addresses.

:class:`GuardedConnector` checks every address a host resolves to, at the moment a connection
is opened, and hands aiohttp only the allowed ones, so the socket goes to an address that was
checked (a name that answered a public address when the URL was set and a loopback one now is
not connected). IP literals, which aiohttp never sends to a resolver, are checked the same
way. TLS still verifies the certificate against the URL's host name. Redirects are not
followed by the clients that use it (``allow_redirects=False``), so a public receiver cannot
bounce a request inside.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import ResolveResult

from verinet.outbound import OutboundPolicy, OutboundRefused

if TYPE_CHECKING:
    from aiohttp.tracing import Trace

__all__ = ["GuardedConnector", "connect_failure", "refusal_of"]


class GuardedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that drops resolved addresses the policy refuses."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        resolved = await super()._resolve_host(host, port, traces=traces)
        addresses = []
        for result in resolved:
            try:
                addresses.append(ipaddress.ip_address(result["host"].partition("%")[0]))
            except ValueError:
                raise OutboundRefused(f"{host!r} resolved to something that is not an address") from None
        allowed = set(self.policy.check_addresses(host, addresses))
        kept = [r for r, a in zip(resolved, addresses, strict=True) if a in allowed]
        if not kept:
            raise OutboundRefused(f"{host!r} resolved to no address")
        return kept


def refusal_of(error: BaseException) -> OutboundRefused | None:
    """The policy refusal behind an aiohttp error, if that is what it is."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OutboundRefused):
            return seen
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(seen.os_error, OutboundRefused):
            return seen.os_error
        seen = seen.__cause__ or seen.__context__
    return None


def connect_failure(error: BaseException) -> str:
    """What failed, in words fit for a tenant: no addresses, ports or raw system errors, so
    the answers cannot be used to map what listens where."""
    if refusal_of(error) is not None:
        return "refused by the outbound policy: the URL's host is not a public internet address"
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "the host name did not resolve"
    if isinstance(error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "the TLS handshake or certificate check failed"
    if isinstance(error, aiohttp.ClientConnectorError):
        return "could not connect"
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return "the connection failed or was closed before an answer"
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return "the answer was not valid HTTP"
    if isinstance(error, aiohttp.InvalidURL):
        return "the URL is not one verinet can call"
    return "the request failed"
