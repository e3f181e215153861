"""Partners' ATP identities (DID and OCI wallet) and the audit of every generate/verify.

``oci:wallet:<partner id>`` is a hash of the partner's DID, wallet URL, OAuth2 client and
inbound policy; the client secret is stored here only and never answered. ``oci:audit:<corrUUID>``
is a list of JSON entries, kept for AUDIT_DAYS.

The credential exchange reads a partner's record on every forwarded or incoming question
(``current``): it is kept in this process for CACHE_SECONDS, and a write through this process
drops it at once, so a change made through another lookup replica is seen within
CACHE_SECONDS. Reads for answers (``get``) always go to Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
import redis.asyncio as aioredis

from verinet.errors import InvalidInput
from verinet.lookup.directory import validate_url
from verinet.lookup.oci import Wallet
from verinet.store import reply_bytes, reply_text_fields

POLICIES = ("required", "optional", "off")
CARRIAGES = ("header", "body")
AUDIT_DAYS = 30
MAX_AUDIT_ENTRIES = 200
#: How long the exchange trusts a partner's wallet record read from Redis (another replica's
#: write is seen within this time; this process's own at once).
CACHE_SECONDS = 5.0
#: At most this many partners' records are kept (then all are dropped and read again).
MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class PartnerWallet:
    partner_id: str
    wallet: Wallet
    inbound_policy: str = "optional"
    inbound_carriage: str = "header"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    partner_id: str
    action: str  # generate, verify
    outcome: str  # ok, refused, error
    code: str
    corr_uuid: str
    counterparty: str


def validate_wallet(entry: PartnerWallet) -> PartnerWallet:
    wallet = entry.wallet
    if not wallet.did.startswith(("did:web:", "did:ethr:")) or len(wallet.did) > 512 or not wallet.did.isprintable():
        raise InvalidInput(
            f"Failed to read did {wallet.did[:80]!r}: expected a did:web or did:ethr DID.", code="wallet.did", field="did"
        )
    url = validate_url(wallet.url)
    token_url = validate_url(wallet.token_url) if wallet.token_url else ""
    for name in ("client_id", "client_secret"):
        value = getattr(wallet, name)
        if not value or len(value) > 4096 or not value.isascii() or not value.isprintable():
            raise InvalidInput(f"Failed to read {name}: expected the wallet's OAuth2 {name}, printable ASCII.", code="wallet.client", field=name)
    if entry.inbound_policy not in POLICIES:
        raise InvalidInput(
            f"Failed to read inbound_policy {entry.inbound_policy[:20]!r}: expected required, optional or off.",
            code="wallet.policy",
            field="inbound_policy",
        )
    if entry.inbound_carriage not in CARRIAGES:
        raise InvalidInput(
            f"Failed to read inbound_carriage {entry.inbound_carriage[:20]!r}: expected header or body.",
            code="wallet.carriage",
            field="inbound_carriage",
        )
    return replace(entry, wallet=replace(wallet, url=url, token_url=token_url))


class WalletStore:
    def __init__(self, redis: aioredis.Redis, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.clock = clock
        self.cached: dict[str, tuple[float, PartnerWallet | None]] = {}
        #: Writes through this process so far: a read that a write overtook is not kept.
        self.writes = 0

    async def put(self, entry: PartnerWallet) -> PartnerWallet:
        stored = validate_wallet(entry)
        w = stored.wallet
        key = f"oci:wallet:{stored.partner_id}"
        pipe = self.redis.pipeline(transaction=True)  # one key, never seen half-written
        pipe.delete(key)
        pipe.hset(
            key,
            mapping={
                "did": w.did, "url": w.url, "client_id": w.client_id, "client_secret": w.client_secret,
                "token_url": w.token_url, "inbound_policy": stored.inbound_policy, "inbound_carriage": stored.inbound_carriage,
            },
        )
        try:
            await pipe.execute()
        finally:
            self._forget(stored.partner_id)
        return stored

    async def current(self, partner_id: str) -> PartnerWallet | None:
        """The partner's record as the credential exchange uses it: read at most CACHE_SECONDS ago."""
        now = self.clock()
        known = self.cached.get(partner_id)
        if known is not None and now - known[0] < CACHE_SECONDS:
            return known[1]
        writes = self.writes
        record = await self.get(partner_id)
        if writes == self.writes:
            if len(self.cached) >= MAX_CACHED:
                self.cached.clear()
            self.cached[partner_id] = (now, record)
        return record

    async def get(self, partner_id: str) -> PartnerWallet | None:
        f = reply_text_fields(await self.redis.hgetall(f"oci:wallet:{partner_id}"))
        if not f:
            return None
        wallet = Wallet(did=f["did"], url=f["url"], client_id=f["client_id"], client_secret=f["client_secret"], token_url=f.get("token_url", ""))
        return PartnerWallet(partner_id, wallet, f.get("inbound_policy", "optional"), f.get("inbound_carriage", "header"))

    async def delete(self, partner_id: str) -> bool:
        try:
            return bool(await self.redis.delete(f"oci:wallet:{partner_id}"))
        finally:
            self._forget(partner_id)

    def _forget(self, partner_id: str) -> None:
        self.writes += 1
        self.cached.pop(partner_id, None)

    async def audit(self, *entries: AuditEntry) -> None:
        """Appends entries (those of one question, usually) in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for key in dict.fromkeys(f"oci:audit:{entry.corr_uuid}" for entry in entries):
            pipe.rpush(key, *(orjson.dumps(_as_dict(e)) for e in entries if f"oci:audit:{e.corr_uuid}" == key))
            pipe.ltrim(key, -MAX_AUDIT_ENTRIES, -1)
            pipe.expire(key, AUDIT_DAYS * 86400)
        await pipe.execute()

    async def audit_of(self, corr_uuid: str) -> list[AuditEntry]:
        raw = await self.redis.lrange(f"oci:audit:{corr_uuid}", 0, -1)
        return [AuditEntry(**orjson.loads(reply_bytes(item))) for item in raw]


def _as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in AuditEntry.__slots__}
