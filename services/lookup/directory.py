"""The lookup directory in Redis: GTIN, else GS1 company prefix, to owner and route.

``dir:gtin:<gtin14>`` and ``dir:prefix:<digits>`` are hashes with the entry's fields; a GTIN
entry wins over any prefix, and the longest prefix wins among prefixes. ``dir:version`` is
bumped on every change so route caches can tell they are stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from verinet.errors import InvalidInput

VERSION_KEY = "dir:version"
KINDS = ("gtin", "prefix")
# GS1 company prefixes are 4 to 12 digits; inside a GTIN-14 they start after the indicator.
PREFIX_LENGTHS = range(12, 3, -1)


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    kind: str  # "gtin" or "prefix"
    key: str
    owner_partner_id: str
    route: str  # "hosted" or "remote"
    remote_base_url: str = ""
    responder_gln: str = ""
    remote_credential: str = ""
    expires_at: str = ""
    updated_at: str = ""

    def is_expired(self, now: dt.datetime) -> bool:
        if not self.expires_at:
            return False
        return dt.datetime.fromisoformat(self.expires_at) <= now

    def public(self) -> DirectoryEntry:
        """The entry without its credential, for answers."""
        return replace(self, remote_credential="")


def entry_key(kind: str, key: str) -> str:
    return f"dir:{kind}:{key}"


def validate_entry(entry: DirectoryEntry) -> None:
    if entry.kind not in KINDS:
        raise InvalidInput(f"Unknown directory entry kind {entry.kind!r}: expected gtin or prefix.")
    if entry.kind == "prefix" and not (entry.key.isdigit() and 4 <= len(entry.key) <= 12):
        raise InvalidInput(
            f"Failed to parse {entry.key!r} as a GS1 company prefix: expected 4 to 12 digits.",
            code="prefix.format",
            field="prefix",
        )
    if entry.route not in ("hosted", "remote"):
        raise InvalidInput(
            f"Failed to read route {entry.route!r}: expected 'hosted' or 'remote'.",
            code="route.invalid",
            field="route",
        )
    if entry.route == "remote" and not entry.remote_base_url.startswith(("https://", "http://")):
        raise InvalidInput(
            f"Failed to read remote URL {entry.remote_base_url!r}: expected an http(s) URL.",
            code="route.url",
            field="url",
        )
    if entry.expires_at:
        try:
            parsed = dt.datetime.fromisoformat(entry.expires_at)
        except ValueError:
            raise InvalidInput(
                f"Failed to parse expires_at {entry.expires_at!r}: expected RFC 3339 time.",
                code="time.format",
                field="expires_at",
            ) from None
        if parsed.tzinfo is None:
            raise InvalidInput(
                f"Failed to parse expires_at {entry.expires_at!r}: expected a time zone offset.",
                code="time.format",
                field="expires_at",
            )


class Directory:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put(self, entry: DirectoryEntry, now: dt.datetime) -> tuple[DirectoryEntry, bool]:
        validate_entry(entry)
        stored = replace(entry, updated_at=now.isoformat())
        key = entry_key(entry.kind, entry.key)
        # One HSET writes every field, so the entry is replaced atomically without MULTI (the
        # version counter lives in another cluster slot).
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(key)
        pipe.hset(
            key,
            mapping={
                "owner": stored.owner_partner_id,
                "route": stored.route,
                "url": stored.remote_base_url,
                "responder_gln": stored.responder_gln,
                "credential": stored.remote_credential,
                "expires_at": stored.expires_at,
                "updated_at": stored.updated_at,
            },
        )
        pipe.incr(VERSION_KEY)
        existed, *_ = await pipe.execute()
        return stored, not existed

    async def get(self, kind: str, key: str) -> DirectoryEntry | None:
        raw = await self.redis.hgetall(entry_key(kind, key))
        return _entry(kind, key, raw) if raw else None

    async def delete(self, kind: str, key: str) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(entry_key(kind, key))
        pipe.incr(VERSION_KEY)
        deleted, _ = await pipe.execute()
        return bool(deleted)

    async def resolve(self, gtin: str, now: dt.datetime) -> DirectoryEntry | None:
        """The live entry for a GTIN-14: its own entry, else the longest matching prefix."""
        candidates = [("gtin", gtin)] + [("prefix", gtin[1 : 1 + n]) for n in PREFIX_LENGTHS]
        pipe = self.redis.pipeline(transaction=False)
        for kind, key in candidates:
            pipe.hgetall(entry_key(kind, key))
        for (kind, key), raw in zip(candidates, await pipe.execute(), strict=True):
            if raw:
                entry = _entry(kind, key, raw)
                if not entry.is_expired(now):
                    return entry
        return None


def _entry(kind: str, key: str, raw: dict[bytes, bytes]) -> DirectoryEntry:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    return DirectoryEntry(
        kind=kind,
        key=key,
        owner_partner_id=fields.get("owner", ""),
        route=fields.get("route", ""),
        remote_base_url=fields.get("url", ""),
        responder_gln=fields.get("responder_gln", ""),
        remote_credential=fields.get("credential", ""),
        expires_at=fields.get("expires_at", ""),
        updated_at=fields.get("updated_at", ""),
    )
