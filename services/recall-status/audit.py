"""The tamper-evident audit chains: listing entries and recomputing every chain.

Each chain is a Redis stream ``audit:{<tag>}`` (``{<gtin>}`` for pack state changes,
``{rc:<recall id>}`` for a recall) whose entries hold ``entry`` (JSON), ``prev`` (the hash of
the entry before) and ``hash`` = SHA-1 hex of ``prev + "\\n" + entry``; ``audithead:{<tag>}``
holds the last hash. Changing, removing or reordering an entry breaks the chain at that link.
Entries are appended by Lua, in the same atomic step as the change they record
(``lua/audit_chain.lua``; ``lua/audit_append.lua`` appends one entry alone).
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis.asyncio as aioredis

from verinet.store import reply_bytes, reply_entries

CHUNK = 1000


def chain_key(gtin: str = "", recall_id: str = "") -> str:
    return f"audit:{{rc:{recall_id}}}" if recall_id else f"audit:{{{gtin}}}"


def link_hash(previous: bytes, entry: bytes) -> bytes:
    return hashlib.sha1(previous + b"\n" + entry).hexdigest().encode()


async def entries(redis: aioredis.Redis, key: str, limit: int) -> list[tuple[str, str, bytes]]:
    """The newest ``limit`` entries of a chain: id, hash, and the entry's JSON bytes as chained."""
    return [
        (entry_id.decode(), fields[b"hash"].decode(), fields[b"entry"])
        for entry_id, fields in reply_entries(await redis.xrevrange(key, count=limit))
    ]


async def verify_chain(redis: aioredis.Redis, key: str) -> dict[str, Any]:
    """Walks one chain from its start; names the first entry whose link does not hold."""
    previous = b""
    checked = 0
    start = "-"
    while True:
        batch = reply_entries(await redis.xrange(key, min=start, count=CHUNK))
        for entry_id, fields in batch:
            if entry_id.decode() == start:
                continue
            checked += 1
            problem = None
            if fields.get(b"prev", b"") != previous:
                problem = "its prev hash does not match the entry before it"
            elif fields.get(b"hash") != link_hash(previous, fields.get(b"entry", b"")):
                problem = "its hash does not match its content"
            if problem:
                return {"chain": key, "ok": False, "entries_checked": checked, "first_broken_entry": entry_id.decode(), "problem": problem}
            previous = fields[b"hash"]
        if len(batch) < CHUNK:
            break
        start = batch[-1][0].decode()
    head = reply_bytes(await redis.get(head_key(key))) or b""
    if head != previous:
        return {"chain": key, "ok": False, "entries_checked": checked, "first_broken_entry": None, "problem": "the chain's last entry is missing or its head was changed"}
    return {"chain": key, "ok": True, "entries_checked": checked}


async def verify_all(redis: aioredis.Redis) -> dict[str, Any]:
    chains = []
    async for key in redis.scan_iter(match="audit:*", count=1000):
        chains.append(await verify_chain(redis, key.decode()))
    chains.sort(key=lambda c: (c["ok"], c["chain"]))
    return {"ok": all(c["ok"] for c in chains), "chains": len(chains), "broken": [c for c in chains if not c["ok"]], "entries_checked": sum(c["entries_checked"] for c in chains)}


def head_key(key: str) -> str:
    return "audithead:" + key.split(":", 1)[1]
