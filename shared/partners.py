"""Partners and their bearer tokens, in Redis.

A token is random (256 bits), shown once when created, and stored only as its SHA-256:
``token:<sha256 hex>`` points at the partner id; ``partner:<id>`` holds the partner;
``partners`` is the set of ids. Revoking deletes the token's key, so the very next request
with it is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from verinet.errors import InvalidInput, NotFound, Unauthenticated
from verinet.store import reply_bytes, reply_fields

ROLES = ("manufacturer", "wholesaler", "dispenser", "network", "admin")
TOKEN_PREFIX = "vn_"
PARTNERS_KEY = "partners"


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    roles: tuple[str, ...]
    glns: tuple[str, ...] = ()
    company_prefixes: tuple[str, ...] = ()
    status: str = "active"
    created_at: str = ""
    revoked_at: str = ""

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "roles": list(self.roles),
            "glns": list(self.glns),
            "company_prefixes": list(self.company_prefixes),
            "status": self.status,
            "created_at": self.created_at,
        }
        if self.revoked_at:
            out["revoked_at"] = self.revoked_at
        return out


@dataclass(frozen=True, slots=True)
class NewPartner:
    name: str
    roles: Sequence[str]
    glns: Sequence[str] = field(default_factory=tuple)
    company_prefixes: Sequence[str] = field(default_factory=tuple)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def is_revoked(redis: aioredis.Redis, partner_id: str) -> bool:
    """Whether the partner was revoked (an unknown partner is not): services that act for a
    partner later, such as webhook deliveries, stop once it is."""
    return reply_bytes(await redis.hget(f"partner:{partner_id}", "status")) == b"revoked"


def validate_new_partner(new: NewPartner) -> None:
    """Checks names, roles and prefixes; GLN check digits are checked by the caller's parser."""
    if not new.name or len(new.name) > 200:
        raise InvalidInput(
            f"Failed to read partner name {new.name!r}: expected 1 to 200 characters.",
            code="partner.name",
            field="name",
        )
    if not new.roles:
        raise InvalidInput(
            "Failed to read roles: expected at least one of " + ", ".join(ROLES) + ".",
            code="partner.roles",
            field="roles",
        )
    for role in new.roles:
        if role not in ROLES:
            raise InvalidInput(
                f"Unknown role {role!r}: expected one of {', '.join(ROLES)}.",
                code="partner.role",
                field="roles",
            )
    for prefix in new.company_prefixes:
        if not (prefix.isdigit() and 4 <= len(prefix) <= 12):
            raise InvalidInput(
                f"Failed to parse {prefix!r} as a GS1 company prefix: expected 4 to 12 digits.",
                code="prefix.format",
                field="company_prefixes",
            )
    if "manufacturer" in new.roles and not new.company_prefixes:
        raise InvalidInput(
            "A manufacturer needs at least one GS1 company prefix.",
            code="partner.prefixes",
            field="company_prefixes",
        )


def _join(values: Iterable[str]) -> str:
    return ",".join(values)


def _split(value: bytes | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(value.decode().split(","))


class PartnerStore:
    """Partners in Redis, with a short in-process cache of authenticated tokens.

    The cache keeps the hot path off Redis; it lives ``cache_seconds`` (default 2 s), so a
    revocation made through another gateway takes effect within that time, and at once on the
    gateway that revoked.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        cache_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, tuple[Partner, float]] = {}

    async def create(self, new: NewPartner, now: dt.datetime) -> tuple[Partner, str]:
        """Stores a partner and returns it with its token (the only time the token exists)."""
        validate_new_partner(new)
        partner = Partner(
            id="p_" + secrets.token_hex(8),
            name=new.name,
            roles=tuple(dict.fromkeys(new.roles)),
            glns=tuple(dict.fromkeys(new.glns)),
            company_prefixes=tuple(dict.fromkeys(new.company_prefixes)),
            created_at=now.isoformat(),
        )
        token = new_token()
        # Three keys in three cluster slots: the partner first, so a token never points at
        # nothing; a crash in between leaves at most a partner without a token.
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(
            f"partner:{partner.id}",
            mapping={
                "name": partner.name,
                "roles": _join(partner.roles),
                "glns": _join(partner.glns),
                "prefixes": _join(partner.company_prefixes),
                "status": partner.status,
                "created_at": partner.created_at,
                "token": token_hash(token),
            },
        )
        pipe.set(f"token:{token_hash(token)}", partner.id)
        pipe.sadd(PARTNERS_KEY, partner.id)
        await pipe.execute()
        return partner, token

    async def get(self, partner_id: str) -> Partner:
        raw = reply_fields(await self.redis.hgetall(f"partner:{partner_id}"))
        if not raw:
            raise NotFound(f"No partner with id {partner_id!r}.", code="partner.not_found")
        return _partner(partner_id, raw)

    async def list(self) -> list[Partner]:
        ids = sorted(reply_bytes(m).decode() for m in await self.redis.smembers(PARTNERS_KEY))
        pipe = self.redis.pipeline(transaction=False)
        for partner_id in ids:
            pipe.hgetall(f"partner:{partner_id}")
        return [_partner(pid, raw) for pid, raw in zip(ids, await pipe.execute(), strict=True) if raw]

    async def authenticate(self, token: str) -> Partner:
        if not token.startswith(TOKEN_PREFIX):
            raise Unauthenticated("The bearer token is not a verinet token.", code="auth.token")
        digest = token_hash(token)
        cached = self._cache.get(digest)
        now = self.clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        partner = await self._authenticate(digest)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[digest] = (partner, now + self.cache_seconds)
        return partner

    async def _authenticate(self, digest: str) -> Partner:
        partner_id = reply_bytes(await self.redis.get(f"token:{digest}"))
        if partner_id is None:
            raise Unauthenticated("The bearer token is unknown or revoked.", code="auth.token")
        partner = await self.get(partner_id.decode())
        if partner.status != "active":
            raise Unauthenticated("The bearer token is unknown or revoked.", code="auth.token")
        return partner

    async def revoke(self, partner_id: str, now: dt.datetime) -> Partner:
        raw = reply_fields(await self.redis.hgetall(f"partner:{partner_id}"))
        if not raw:
            raise NotFound(f"No partner with id {partner_id!r}.", code="partner.not_found")
        # Status first: authenticate() refuses a revoked partner even while its token key lives.
        await self.redis.hset(f"partner:{partner_id}", mapping={"status": "revoked", "revoked_at": now.isoformat()})
        await self.redis.delete(f"token:{raw[b'token'].decode()}")
        self._cache.pop(raw[b"token"].decode(), None)
        return await self.get(partner_id)


def _partner(partner_id: str, raw: dict[bytes, bytes]) -> Partner:
    def text(name: str) -> str:
        value = raw.get(name.encode())
        return value.decode() if value else ""

    return Partner(
        id=partner_id,
        name=text("name"),
        roles=_split(raw.get(b"roles")),
        glns=_split(raw.get(b"glns")),
        company_prefixes=_split(raw.get(b"prefixes")),
        status=text("status") or "active",
        created_at=text("created_at"),
        revoked_at=text("revoked_at"),
    )
