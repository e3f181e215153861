"""The outbound policy: which addresses a URL set by a tenant may reach.

Partners set URLs that verinet then calls from inside the network (webhook receivers,
remote routes of their directory entries). Left open, a partner could make verinet call
``http://169.254.169.254/`` (cloud metadata), Redis on loopback, or any private service, and
read the answers back in delivery logs or forwarded verdicts. So such URLs must reach public
unicast addresses only:

* when the URL is set, its host is read the way the C resolver reads it (``2130706433``,
  ``0x7f.1``, ``017700000001`` and ``127.1`` are all 127.0.0.1) and refused when it is not a
  dotted-decimal or IPv6 literal of a public address, or when its name resolves to a
  refused address;
* when verinet connects, every address the name resolves to *then* is checked again and the
  connection goes to a checked address (a name can resolve differently a second time).

The operator widens the policy with ``OUTBOUND_ALLOW_CIDRS`` (on-premise partners, tests);
URLs an admin sets are trusted and not checked. This module is transport-free: the aiohttp
adapter is :mod:`verinet.outbound_http`.

>>> policy = OutboundPolicy()
>>> policy.refusal(ipaddress.ip_address("169.254.169.254"))
'a link-local address (169.254.0.0/16, where cloud metadata services answer)'
>>> policy.refusal(ipaddress.ip_address("::ffff:10.0.0.1"))
'an IPv4-mapped IPv6 form of a private address (RFC 1918, 10.0.0.0/8)'
>>> policy.refusal(ipaddress.ip_address("93.184.215.14")) is None
True
>>> OutboundPolicy.from_text("127.0.0.0/8").refusal(ipaddress.ip_address("127.0.0.1")) is None
True
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from verinet.errors import ConfigError, InvalidInput

__all__ = [
    "ALLOW_CIDRS_VARIABLE",
    "IPAddress",
    "IPNetwork",
    "OutboundPolicy",
    "OutboundRefused",
    "Resolve",
    "host_address",
    "remembering",
    "system_resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Resolves (host, port) to the addresses a connection could go to.
Resolve = Callable[[str, int], Awaitable[list[IPAddress]]]

ALLOW_CIDRS_VARIABLE = "OUTBOUND_ALLOW_CIDRS"
#: How long a URL check waits for DNS when the URL is set.
SET_TIME_RESOLVE_SECONDS = 2.0

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: IPv4 ranges that are not public unicast, with why, most specific first.
REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified or 'this network' address (0.0.0.0/8)"),
    (_V4("10.0.0.0/8"), "a private address (RFC 1918, 10.0.0.0/8)"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"),
    (_V4("127.0.0.0/8"), "a loopback address (127.0.0.0/8)"),
    (
        _V4("169.254.0.0/16"),
        "a link-local address (169.254.0.0/16, where cloud metadata services answer)",
    ),
    (_V4("172.16.0.0/12"), "a private address (RFC 1918, 172.16.0.0/12)"),
    (_V4("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"),
    (_V4("192.0.2.0/24"), "a documentation address (192.0.2.0/24)"),
    (_V4("192.88.99.0/24"), "a 6to4 relay anycast address (192.88.99.0/24)"),
    (_V4("192.168.0.0/16"), "a private address (RFC 1918, 192.168.0.0/16)"),
    (_V4("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"),
    (_V4("198.51.100.0/24"), "a documentation address (198.51.100.0/24)"),
    (_V4("203.0.113.0/24"), "a documentation address (203.0.113.0/24)"),
    (_V4("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"),
    (_V4("240.0.0.0/4"), "a reserved or broadcast address (240.0.0.0/4)"),
)

#: IPv6 ranges that carry an IPv4 address in their last 32 bits: judged by that address.
EMBEDDING_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::ffff:0:0/96"), "IPv4-mapped IPv6"),
    (_V6("::ffff:0:0:0/96"), "IPv4-translated IPv6"),
    (_V6("64:ff9b::/96"), "NAT64 IPv6"),
    (_V6("::/96"), "IPv4-compatible IPv6"),
)

#: IPv6 ranges refused outright; anything else outside 2000::/3 is refused too.
REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "the unspecified address (::)"),
    (_V6("::1/128"), "the loopback address (::1)"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"),
    (_V6("100::/64"), "a discard-only address (100::/64)"),
    (_V6("2001::/32"), "a Teredo tunnel address (2001::/32)"),
    (_V6("2001:2::/48"), "a benchmarking address (2001:2::/48)"),
    (_V6("2001:10::/28"), "a deprecated ORCHID address (2001:10::/28)"),
    (_V6("2001:20::/28"), "an ORCHIDv2 address (2001:20::/28)"),
    (_V6("2001:db8::/32"), "a documentation address (2001:db8::/32)"),
    (_V6("3fff::/20"), "a documentation address (3fff::/20)"),
    (_V6("fc00::/7"), "a unique local address (fc00::/7)"),
    (_V6("fe80::/10"), "a link-local address (fe80::/10)"),
    (_V6("fec0::/10"), "a site-local address (fec0::/10)"),
    (_V6("ff00::/8"), "a multicast address (ff00::/8)"),
)
GLOBAL_UNICAST_V6 = _V6("2000::/3")
SIX_TO_FOUR = _V6("2002::/16")

#: Names that always mean this machine (RFC 6761), refused without asking DNS.
_LOCAL_NAME = re.compile(r"(?:.*\.)?localhost\.?", re.IGNORECASE)
#: One part of a numeric IPv4 spelling as inet_aton reads it: hex, octal or decimal.
_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


class OutboundRefused(OSError):
    """A connection verinet will not open: the address is not allowed by the policy.

    An ``OSError`` so that HTTP clients treat it as a failed connection.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def host_address(host: str) -> tuple[IPAddress | None, bool]:
    """The address a host names when it is a numeric spelling, and whether the spelling is
    the canonical one (dotted decimal for IPv4, any RFC 4291 text for IPv6).

    The C resolver reads ``127.1``, ``0x7f.0.0.1``, ``017700000001`` and ``2130706433`` as
    127.0.0.1, so they are read the same way here.

    >>> host_address("0x7f.1")
    (IPv4Address('127.0.0.1'), False)
    >>> host_address("10.0.0.1")
    (IPv4Address('10.0.0.1'), True)
    >>> host_address("vrs.example.net")
    (None, False)
    """
    if ":" in host:
        literal = host.strip("[]")
        if "%" in literal:  # a zone id only makes sense for link-local addresses
            literal = literal.partition("%")[0]
        try:
            return ipaddress.IPv6Address(literal), "%" not in host
        except ValueError:
            return None, False
    name = host[:-1] if host.endswith(".") else host
    parts = name.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_PART.fullmatch(p) for p in parts):
        return None, False
    values = [_number(p) for p in parts]
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (5 - len(parts)):
        return None, False  # the resolver refuses it too; DNS will not find it either
    number = 0
    for value in leading:
        number = number * 256 + value
    number = number * 256 ** (5 - len(parts)) + last
    address = ipaddress.IPv4Address(number)
    return address, name == host and str(address) == host


def _number(part: str) -> int:
    """One part of a numeric IPv4 host: ``0x`` hex, leading-zero octal, else decimal."""
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    return int(part, 8) if part.startswith("0") else int(part)


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    for network, form in EMBEDDING_V6:
        if address in network and address != network.network_address:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), form
    if address in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF), "6to4 IPv6"
    return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Public unicast addresses, plus the ranges the operator allows."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_text(cls, text: str, variable: str = ALLOW_CIDRS_VARIABLE) -> OutboundPolicy:
        """Reads comma-separated CIDRs such as ``10.20.0.0/16,fd00:1::/64``.

        >>> OutboundPolicy.from_text("10.20.0.0/16, ::1").allowed
        (IPv4Network('10.20.0.0/16'), IPv6Network('::1/128'))
        """
        networks: list[IPNetwork] = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=True))
            except ValueError as error:
                raise ConfigError(
                    f"Failed to read {variable}: {item!r} is not a CIDR range ({error}); expected "
                    f"comma-separated ranges, for example {variable}=10.20.0.0/16,fd00:1::/64"
                ) from None
        return cls(tuple(networks))

    def is_allowed_range(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed if network.version == address.version)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a connection to ``address`` is refused, or None when it may be opened."""
        if self.is_allowed_range(address):
            return None
        if isinstance(address, ipaddress.IPv4Address):
            for v4_range, reason in REFUSED_V4:
                if address in v4_range:
                    return reason
            return None
        for v6_range, reason in REFUSED_V6[:2]:  # :: and ::1 sit inside ::/96 too
            if address in v6_range:
                return reason
        embedded = _embedded_v4(address)
        if embedded is not None:
            inner, form = embedded
            if form == "IPv4-compatible IPv6":
                return f"a deprecated IPv4-compatible IPv6 address (::/96, here {inner})"
            why = self.refusal(inner)
            if why is None:
                return None
            article = "an" if form[0] in "AEIOU" else "a"
            return f"{article} {form} form of {why}"
        for v6_range, reason in REFUSED_V6:
            if address in v6_range:
                return reason
        if address not in GLOBAL_UNICAST_V6:
            return "not a global unicast IPv6 address (outside 2000::/3)"
        return None

    def check_addresses(self, host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
        """The addresses a connection may go to; raises when the name has none."""
        found = list(addresses)
        allowed = [a for a in found if self.refusal(a) is None]
        if found and not allowed:
            raise OutboundRefused(
                f"{host!r} resolves to {self.refusal(found[0])}, which verinet does not connect "
                "to for URLs that partners set"
            )
        return allowed

    def host_refusal(self, host: str) -> str | None:
        """Why a URL host is refused without asking DNS; None when only DNS can tell."""
        if _LOCAL_NAME.fullmatch(host):
            return "the name 'localhost', which always means the machine verinet runs on"
        address, canonical = host_address(host)
        if address is None:
            if host.replace(".", "").isdigit() or host.lower().startswith("0x"):
                return "a numeric host that is not an IPv4 address"
            return None
        why = self.refusal(address)
        if why is not None:
            return f"{why} (the host {host!r} means {address})"
        if not canonical:
            return f"an unusual spelling of {address}; write it as {address}"
        return None

    async def check_url(
        self,
        url: str,
        *,
        field: str = "url",
        code: str = "outbound.refused",
        resolve: Resolve | None = None,
    ) -> None:
        """Refuses, as invalid input naming ``field``, a URL whose host is not allowed: by its
        spelling, or by what its name resolves to now. A name that does not resolve (yet) is
        let through: it is checked again at every connection."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return  # the URL's own validation names this
        if not host:
            return

        def refused(why: str) -> InvalidInput:
            return InvalidInput(
                f"Failed to accept URL host {host!r}: expected a host on the public internet, "
                f"got {why}. verinet does not call private, loopback or link-local addresses "
                f"for URLs that partners set (an operator can allow ranges with {ALLOW_CIDRS_VARIABLE}).",
                code=code,
                field=field,
            )

        why = self.host_refusal(host)
        if why is not None:
            raise refused(why)
        if host_address(host)[0] is not None:
            return
        try:
            async with asyncio.timeout(SET_TIME_RESOLVE_SECONDS):
                addresses = await (resolve or system_resolve)(host, port)
        except (OSError, TimeoutError, UnicodeError):
            return
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise refused(f"a name that resolves to {reason}")


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses the system resolver gives for a TCP connection to ``host``."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    out: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
            if address not in out:
                out.append(address)
    return out


def remembering(resolve: Resolve) -> Resolve:
    """``resolve`` asked once per (host, port), failures included: for checking many URLs in
    one request (a directory import names the same host thousands of times)."""
    answers: dict[tuple[str, int], list[IPAddress] | BaseException] = {}

    async def remembered(host: str, port: int) -> list[IPAddress]:
        key = (host, port)
        if key not in answers:
            try:
                answers[key] = await resolve(host, port)
            except (OSError, UnicodeError) as error:
                answers[key] = error
        answer = answers[key]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return remembered
