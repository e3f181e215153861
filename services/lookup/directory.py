"""The lookup directory in Redis: GTIN, else GS1 company prefix, to owner and route.

``dir:gtin:<gtin14>`` and ``dir:prefix:<digits>`` are hashes with the entry's fields; a GTIN
entry wins over any prefix, and the longest prefix wins among prefixes; an expired entry is
skipped as if absent. ``dir:remotes`` is the set of entries (``gtin:<key>``/``prefix:<key>``)
whose route is remote, so the remote endpoints can be probed without scanning the directory.
``dir:version`` is bumped after every change so route caches can tell they are stale.
An entry written by an admin is ``trusted``: its remote URL may point anywhere. Any other
entry's URL is held to the outbound policy when it is written and at every connection.

Every key lives in its own cluster slot: an entry is written with one HSET (all fields), and
the index and the version are updated after it, in the same pipeline but not atomically. A
reader never needs two keys to agree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from verinet.errors import InvalidInput, VerinetError
from verinet.identifiers import check_digit, validate_gln, validate_gtin
from verinet.store import reply_bytes, reply_fields, reply_text_fields

VERSION_KEY = "dir:version"
REMOTES_KEY = "dir:remotes"
KINDS = ("gtin", "prefix")
ROUTES = ("hosted", "remote")
# GS1 company prefixes are 4 to 12 digits; inside a GTIN-14 they start after the indicator.
PREFIX_LENGTHS = range(12, 3, -1)
MAX_URL_LENGTH = 2048
MAX_CREDENTIAL_LENGTH = 4096
MAX_OWNER_LENGTH = 64


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
    #: Written by an admin: the outbound policy does not apply to its URL.
    trusted: bool = False
    network: str = ""  # remote: the name of the remote-network profile it uses

    @property
    def member(self) -> str:
        """The entry's name in ``dir:remotes`` and in reports: ``prefix:0614141``."""
        return f"{self.kind}:{self.key}"

    def is_expired(self, now: dt.datetime) -> bool:
        if not self.expires_at:
            return False
        return dt.datetime.fromisoformat(self.expires_at) <= now

    def seconds_left(self, now: dt.datetime) -> float:
        """Seconds until the record expires; infinity without an expiry."""
        if not self.expires_at:
            return math.inf
        return (dt.datetime.fromisoformat(self.expires_at) - now).total_seconds()

    def public(self) -> DirectoryEntry:
        """The entry without its credential, for answers."""
        return replace(self, remote_credential="")

    def sample_gtin(self) -> str:
        """A GTIN-14 this entry covers: the key itself, or the prefix padded with zeros."""
        if self.kind == "gtin":
            return self.key
        body = ("0" + self.key).ljust(13, "0")
        return body + str(check_digit(body))


def entry_key(kind: str, key: str) -> str:
    return f"dir:{kind}:{key}"


def _invalid(message: str, code: str, field: str) -> InvalidInput:
    return InvalidInput(message, code=code, field=field)


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and value == value.strip()


def redacted(url: str) -> str:
    """A URL fit for messages and logs: ``user:password@``, query and fragment (where tokens
    hide) are replaced, and it is cut short.

    >>> redacted("https://alice:s3cret@vrs.example.net/lms?token=abc")
    'https://***@vrs.example.net/lms?***'
    """
    for mark in ("?", "#"):
        if mark in url:
            url = url.partition(mark)[0] + mark + "***"
            break
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            rest = "***@" + authority.rpartition("@")[2] + slash + path
        url = scheme + sep + rest
    elif "@" in url:
        url = "***@" + url.rpartition("@")[2]
    return url[:200]


def validate_url(url: str) -> str:
    """A remote base URL: absolute http(s), a host, no credentials, query or fragment.
    Messages never repeat a ``user:password`` the URL carried.

    >>> validate_url("https://vrs.example.net/lms/")
    'https://vrs.example.net/lms'
    """
    if not url:
        raise _invalid(
            "Failed to read remote URL '': a remote route needs the base URL of the other "
            "network's LMS endpoint, for example 'https://vrs.example.net'.",
            "route.url",
            "url",
        )
    if len(url) > MAX_URL_LENGTH or not _header_safe(url) or " " in url:
        raise _invalid(
            f"Failed to read remote URL {redacted(url)!r}: expected printable ASCII without spaces, "
            f"at most {MAX_URL_LENGTH} characters.",
            "route.url",
            "url",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port, parts = -1, None
    if parts is None or port == -1 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(
            f"Failed to read remote URL {redacted(url)!r}: expected an absolute http(s) URL with a host.",
            "route.url",
            "url",
        )
    if parts.username is not None or parts.password is not None:
        raise _invalid(
            f"Failed to read remote URL {redacted(url)!r}: expected no user or password in the URL; "
            "put the credential in 'credential'.",
            "route.url",
            "url",
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _invalid(
            f"Failed to read remote URL {redacted(url)!r}: expected a base URL without query or fragment "
            "(verinet appends /verify/gtin/... and the LMS query itself).",
            "route.url",
            "url",
        )
    return url.rstrip("/")


def validate_entry(entry: DirectoryEntry) -> DirectoryEntry:
    """Checks every field and returns the entry in its stored form (normalized URL, GTIN-14)."""
    if entry.kind not in KINDS:
        raise _invalid(
            f"Unknown directory entry kind {entry.kind!r}: expected gtin or prefix.",
            "directory.kind",
            "kind",
        )
    key = entry.key
    if entry.kind == "prefix" and not (key.isascii() and key.isdigit() and 4 <= len(key) <= 12):
        raise _invalid(
            f"Failed to parse {key[:40]!r} as a GS1 company prefix: expected 4 to 12 digits.",
            "prefix.format",
            "prefix",
        )
    if entry.kind == "gtin":
        try:
            key = validate_gtin(key)
        except VerinetError as error:
            raise _invalid(error.message, error.code, "gtin") from None
    if entry.route not in ROUTES:
        raise _invalid(
            f"Failed to read route {entry.route[:40]!r}: expected 'hosted' or 'remote'.",
            "route.invalid",
            "route",
        )
    if not entry.owner_partner_id or len(entry.owner_partner_id) > MAX_OWNER_LENGTH:
        raise _invalid(
            f"Failed to read owner {entry.owner_partner_id[:80]!r}: expected a partner id.",
            "directory.owner",
            "owner",
        )
    responder_gln = entry.responder_gln
    if responder_gln:
        try:
            responder_gln = validate_gln(responder_gln)
        except VerinetError as error:
            raise _invalid(error.message, error.code, "responder_gln") from None
    url = entry.remote_base_url
    credential = entry.remote_credential
    if entry.route == "remote" and not responder_gln:
        raise _invalid(
            "Failed to read responder_gln '': a remote route needs the GLN of the party "
            "that answers there, for example '0614141000005'.",
            "gln.missing",
            "responder_gln",
        )
    if entry.route == "remote" and entry.network:
        if url or credential:
            raise _invalid(
                f"A remote route naming network {entry.network[:64]!r} takes no url or credential: "
                "the profile has them.",
                "route.network_with_url",
                "url" if url else "credential",
            )
    elif entry.route == "remote":
        url = validate_url(url)
        if credential and (
            len(credential) > MAX_CREDENTIAL_LENGTH or not _header_safe(credential) or " " in credential
        ):
            raise _invalid(
                "Failed to read credential: expected a bearer token of printable ASCII without "
                f"spaces, at most {MAX_CREDENTIAL_LENGTH} characters.",
                "route.credential",
                "credential",
            )
    elif url or credential or entry.network:
        raise _invalid(
            "A hosted route takes no url, credential or network: those are for remote routes.",
            "route.hosted_with_url",
            "url" if url else "credential" if credential else "network",
        )
    if entry.expires_at:
        try:
            parsed = dt.datetime.fromisoformat(entry.expires_at)
        except ValueError:
            raise _invalid(
                f"Failed to parse expires_at {entry.expires_at[:60]!r}: expected an RFC 3339 "
                "time such as '2030-01-01T00:00:00Z'.",
                "time.format",
                "expires_at",
            ) from None
        if parsed.tzinfo is None:
            raise _invalid(
                f"Failed to parse expires_at {entry.expires_at!r}: expected a time zone offset.",
                "time.format",
                "expires_at",
            )
    return replace(
        entry, key=key, responder_gln=responder_gln, remote_base_url=url, remote_credential=credential
    )


class Directory:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put(self, entry: DirectoryEntry, now: dt.datetime) -> tuple[DirectoryEntry, bool, int]:
        """Stores an entry; returns it as stored, whether it is new, and the new version."""
        [(stored, created)], version = await self.put_many([entry], now)
        return stored, created, version

    async def put_many(
        self, entries: Sequence[DirectoryEntry], now: dt.datetime
    ) -> tuple[list[tuple[DirectoryEntry, bool]], int]:
        """Stores validated entries in one round trip; bumps the version once."""
        stored = [replace(validate_entry(e), updated_at=now.isoformat()) for e in entries]
        pipe = self.redis.pipeline(transaction=False)
        for entry in stored:
            key = entry_key(entry.kind, entry.key)
            pipe.exists(key)
            # One HSET writes every field, so the entry is replaced atomically without MULTI.
            pipe.hset(
                key,
                mapping={
                    "owner": entry.owner_partner_id,
                    "route": entry.route,
                    "url": entry.remote_base_url,
                    "responder_gln": entry.responder_gln,
                    "credential": entry.remote_credential,
                    "expires_at": entry.expires_at,
                    "updated_at": entry.updated_at,
                    "trusted": "1" if entry.trusted else "",
                    "network": entry.network,
                },
            )
            if entry.route == "remote":
                pipe.sadd(REMOTES_KEY, entry.member)
            else:
                pipe.srem(REMOTES_KEY, entry.member)
        pipe.incr(VERSION_KEY)
        answers = await pipe.execute()
        existed = answers[0:-1:3]
        return [(e, not x) for e, x in zip(stored, existed, strict=True)], int(answers[-1])

    async def get(self, kind: str, key: str) -> DirectoryEntry | None:
        raw = reply_fields(await self.redis.hgetall(entry_key(kind, key)))
        return _entry(kind, key, raw) if raw else None

    async def delete(self, kind: str, key: str) -> tuple[bool, int]:
        """Removes an entry; returns whether one existed and the version after."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(entry_key(kind, key))
        pipe.srem(REMOTES_KEY, f"{kind}:{key}")
        answers = await pipe.execute()
        deleted = bool(answers[0])
        if not deleted:
            return False, await self.version()
        return True, int(await self.redis.incr(VERSION_KEY))

    async def version(self) -> int:
        raw = await self.redis.get(VERSION_KEY)
        return int(raw) if raw else 0

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

    async def remote_entries(self) -> list[DirectoryEntry]:
        """Every entry with a remote route (credentials included: for probing only)."""
        members = sorted(reply_bytes(m).decode() for m in await self.redis.smembers(REMOTES_KEY))
        pipe = self.redis.pipeline(transaction=False)
        for member in members:
            kind, _, key = member.partition(":")
            pipe.hgetall(entry_key(kind, key))
        entries = []
        for member, raw in zip(members, await pipe.execute(), strict=True):
            kind, _, key = member.partition(":")
            if raw:
                entry = _entry(kind, key, raw)
                if entry.route == "remote":
                    entries.append(entry)
        return entries


def _entry(kind: str, key: str, raw: dict[bytes, bytes]) -> DirectoryEntry:
    fields = reply_text_fields(raw)
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
        # Entries from before the field existed are not trusted: the safe reading.
        trusted=fields.get("trusted", "") == "1",
        network=fields.get("network", ""),
    )
