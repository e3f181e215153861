"""Who asks: roles, the caller as a value object, and the one prefix-ownership rule.

Every service decides "may this caller do that?" from the same few facts: the partner's roles,
its GLNs and, for a manufacturer, its GS1 company prefixes. They live here once, so that the
gateway, the verifier, lookup and recall-status cannot disagree on what "admin" or "owns this
GTIN" means.

``Role`` is a ``StrEnum``: a role compares equal to its wire spelling, so roles read from Redis,
JSON or protos (plain strings) and ``Role`` members mix freely.

>>> caller = Caller("p1", roles=("manufacturer",), company_prefixes=("0614141",))
>>> caller.owns_gtin("00614141123452"), caller.owns_gtin("00714141123452")
(True, False)
>>> caller.is_admin, caller.has_role(Role.MANUFACTURER, Role.ADMIN)
(False, True)
>>> Role("wholesaler") is Role.WHOLESALER and Role.WHOLESALER == "wholesaler"
True
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALL_ROLES",
    "HOLDER_ROLES",
    "TRADING_ROLES",
    "Caller",
    "Role",
    "owning_prefix",
    "owns_key",
]


class Role(enum.StrEnum):
    """A partner's role on the network (ARCHITECTURE.md, "Public HTTP API")."""

    MANUFACTURER = "manufacturer"
    WHOLESALER = "wholesaler"
    DISPENSER = "dispenser"
    NETWORK = "network"
    ADMIN = "admin"


#: Every role, in the order the API documents them.
ALL_ROLES: tuple[Role, ...] = tuple(Role)
#: Partners that trade packs and ask verification questions (everyone but an admin).
TRADING_ROLES: tuple[Role, ...] = (Role.MANUFACTURER, Role.WHOLESALER, Role.DISPENSER, Role.NETWORK)
#: Partners that physically hold packs: they capture events and answer recall tasks.
HOLDER_ROLES: tuple[Role, ...] = (Role.MANUFACTURER, Role.WHOLESALER, Role.DISPENSER)


def owning_prefix(prefixes: Iterable[str], gtin: str) -> str | None:
    """The company prefix among ``prefixes`` that a GTIN-14 falls under, or None.

    A GTIN-14's first digit is the indicator (packaging level); the company prefix starts at
    the second digit, so ``00614141123452`` and ``50614141123457`` both fall under ``0614141``.

    >>> owning_prefix(["0614141", "0700000"], "50614141123457")
    '0614141'
    >>> owning_prefix(["0614141"], "00714141123452") is None
    True
    """
    return owns_key(prefixes, gtin[1:])


def owns_key(prefixes: Iterable[str], digits: str) -> str | None:
    """The prefix that ``digits`` (a company-prefix-led key, no indicator digit) starts with.

    Used for keys that are already prefix-led: a directory prefix entry, an EPC's company part.

    >>> owns_key(["0614141"], "06141415")
    '0614141'
    >>> owns_key(["06141415"], "0614141") is None
    True
    """
    return next((prefix for prefix in prefixes if digits.startswith(prefix)), None)


@dataclass(frozen=True, slots=True)
class Caller:
    """The partner behind a request, with what the rules ask about it.

    ``location_gln`` is the location a request is made for (FMD operations are made at a
    location); empty where the question has none.
    """

    partner_id: str
    roles: tuple[str, ...] = ()
    glns: tuple[str, ...] = ()
    company_prefixes: tuple[str, ...] = ()
    location_gln: str = ""

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def has_role(self, *roles: str) -> bool:
        """Whether the caller has any of ``roles``."""
        return any(role in self.roles for role in roles)

    def owns_gtin(self, gtin: str) -> bool:
        """Whether a GTIN-14 falls under one of the caller's company prefixes (admins own none)."""
        return owning_prefix(self.company_prefixes, gtin) is not None

    def holds_gln(self, gln: str) -> bool:
        """Whether a GLN is one of the caller's own locations."""
        return gln in self.glns
