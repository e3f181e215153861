"""Partners and their bearer tokens, in Redis.

A token is random (256 bits), shown once when created, and stored only as its SHA-256:
``token:<sha256 hex>`` points at the partner id; ``partner:<id>`` holds the partner;
``partners`` is the set of ids. Revoking deletes the token's key, so the very next request
with it is refused.

Identities are exclusive: a GS1 company prefix and a GLN belong to one active partner. A prefix
equal to, inside (``0614141`` then ``06141415``) or containing (``06141415`` then ``0614141``)
another partner's prefix is refused, since either way both would own the same GTINs. The
claims live in one cluster slot (hash tag ``{ids}``) and one script checks and takes them, so
two concurrent creates cannot both win:

``ids:{ids}:prefixes``  sorted set  ``<prefix>:<partner id>``, all scored 0: members starting
                                    with ``P`` are the claims equal to or under ``P``
``ids:{ids}:glns``      hash        GLN -> partner id
``ids:{ids}:admins``    set         ids of active admins (the last one is never revoked)
``ids:{ids}:ready``     string      set once the partners stored before claims were taken in

A revoked partner gives its prefixes and GLNs back, so the company can be onboarded again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from verinet.callers import ALL_ROLES, Role
from verinet.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from verinet.store import reply_bytes, reply_fields

#: The roles a partner may be stored with, as their wire spellings (``verinet.callers.Role``).
ROLES: tuple[str, ...] = tuple(role.value for role in ALL_ROLES)
TOKEN_PREFIX = "vn_"
PARTNERS_KEY = "partners"
#: A partner being created: stored, its identities not yet claimed, its token refused.
PENDING = "pending"
PREFIX_CLAIMS_KEY = "ids:{ids}:prefixes"
GLN_CLAIMS_KEY = "ids:{ids}:glns"
ADMINS_KEY = "ids:{ids}:admins"
CLAIMS_READY_KEY = "ids:{ids}:ready"
#: GS1 company prefixes are 4 to 12 digits.
MIN_PREFIX_LENGTH = 4

# Checks, then takes, a partner's identities in one step. KEYS: prefixes, glns, admins.
# ARGV: mode, partner id, is admin ("1"/"0"), then counts and lists: new prefixes, new GLNs,
# old prefixes, old GLNs. Modes: "claim" (refuse any overlap with another partner), "adopt"
# (take in partners stored before claims existed, without refusing), "release" (revoke).
# Answers {"ok"}, or {"prefix"|"gln", index} for the first refused item, or {"last_admin"}.
CLAIM_IDENTITIES_SCRIPT = """
local mode, pid, admin = ARGV[1], ARGV[2], ARGV[3]
local i = 4
local function list()
  local n = tonumber(ARGV[i]); local out = {}
  for k = 1, n do out[k] = ARGV[i + k] end
  i = i + n + 1
  return out
end
local new_prefixes, new_glns, old_prefixes, old_glns = list(), list(), list(), list()
local function foreign(members)
  for _, member in ipairs(members) do
    if string.sub(member, -(#pid + 1)) ~= ':' .. pid then return true end
  end
  return false
end
local kept = {}  -- identities the partner already has are not checked again
for _, value in ipairs(old_prefixes) do kept['p' .. value] = true end
for _, value in ipairs(old_glns) do kept['g' .. value] = true end
local function overlaps(prefix)
  -- equal to or containing another partner's prefix: members that start with it
  if foreign(redis.call('ZRANGEBYLEX', KEYS[1], '[' .. prefix, '(' .. prefix .. ';')) then
    return true
  end
  -- inside another partner's prefix: a claim on one of its shorter beginnings
  for n = 4, #prefix - 1 do
    local head = string.sub(prefix, 1, n)
    if foreign(redis.call('ZRANGEBYLEX', KEYS[1], '[' .. head .. ':', '(' .. head .. ';')) then
      return true
    end
  end
  return false
end
if mode == 'claim' then
  for k, prefix in ipairs(new_prefixes) do
    if not kept['p' .. prefix] and overlaps(prefix) then return {'prefix', k} end
  end
  for k, gln in ipairs(new_glns) do
    local holder = redis.call('HGET', KEYS[2], gln)
    if holder and holder ~= pid and not kept['g' .. gln] then return {'gln', k} end
  end
end
if (mode == 'release' or admin == '0') and redis.call('SISMEMBER', KEYS[3], pid) == 1
    and redis.call('SCARD', KEYS[3]) == 1 then
  return {'last_admin'}
end
for _, prefix in ipairs(old_prefixes) do redis.call('ZREM', KEYS[1], prefix .. ':' .. pid) end
for _, gln in ipairs(old_glns) do
  if redis.call('HGET', KEYS[2], gln) == pid then redis.call('HDEL', KEYS[2], gln) end
end
if mode == 'release' then
  redis.call('SREM', KEYS[3], pid)
  return {'ok'}
end
for _, prefix in ipairs(new_prefixes) do redis.call('ZADD', KEYS[1], 0, prefix .. ':' .. pid) end
-- NX: a GLN another partner already held before claims existed stays with it
for _, gln in ipairs(new_glns) do redis.call('HSETNX', KEYS[2], gln, pid) end
if admin == '1' then redis.call('SADD', KEYS[3], pid) else redis.call('SREM', KEYS[3], pid) end
return {'ok'}
"""


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


@dataclass(frozen=True, slots=True)
class PartnerChanges:
    """What an update replaces; None keeps the stored value."""

    name: str | None = None
    roles: Sequence[str] | None = None
    glns: Sequence[str] | None = None
    company_prefixes: Sequence[str] | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def is_revoked(redis: aioredis.Redis, partner_id: str) -> bool:
    """Whether the partner was revoked (an unknown partner is not): services that act for a
    partner later, such as webhook deliveries, stop once it is."""
    return reply_bytes(await redis.hget(f"partner:{partner_id}", "status")) == b"revoked"


async def partner_names(redis: aioredis.Redis, partner_ids: Sequence[str]) -> dict[str, str]:
    """The names of ``partner_ids`` that exist, read in one round trip (for reports that name
    partners rather than show their ids)."""
    pipe = redis.pipeline(transaction=False)
    for partner_id in partner_ids:
        pipe.hget(f"partner:{partner_id}", "name")
    return {pid: name.decode() for pid, raw in zip(partner_ids, await pipe.execute(), strict=True) if (name := reply_bytes(raw))}


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
    if Role.MANUFACTURER in new.roles and not new.company_prefixes:
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
        self._claim_script = redis.register_script(CLAIM_IDENTITIES_SCRIPT)
        self._claims_ready = False

    # -- exclusive identities ----------------------------------------------------------------

    async def _ensure_claims(self) -> None:
        """Takes in the identities of partners stored before claims existed (once per store)."""
        if self._claims_ready:
            return
        if not await self.redis.exists(CLAIMS_READY_KEY):
            for partner in await self.list():
                if partner.status == "active":
                    await self._claim("adopt", partner, None)
            await self.redis.set(CLAIMS_READY_KEY, "1")
        self._claims_ready = True

    async def _claim(
        self,
        mode: str,
        partner: Partner,
        old: Partner | None,
        asked: NewPartner | PartnerChanges | None = None,
    ) -> None:
        """Runs the claim script; a refusal becomes a Conflict naming the field at fault (as
        the request ``asked`` it) and never the partner that holds the identity."""
        old_prefixes = old.company_prefixes if old else ()
        old_glns = old.glns if old else ()
        answer = await self._claim_script(
            keys=[PREFIX_CLAIMS_KEY, GLN_CLAIMS_KEY, ADMINS_KEY],
            args=[
                mode,
                partner.id,
                "1" if partner.has_role(Role.ADMIN) and mode != "release" else "0",
                len(partner.company_prefixes),
                *partner.company_prefixes,
                len(partner.glns),
                *partner.glns,
                len(old_prefixes),
                *old_prefixes,
                len(old_glns),
                *old_glns,
            ],
        )
        outcome = reply_bytes(answer[0]).decode()
        if outcome == "ok":
            return
        if outcome == "last_admin":
            raise Conflict(
                f"Failed to {'revoke' if mode == 'release' else 'update'} partner {partner.id!r}: "
                "it is the last active admin, and a network without one cannot be administered; "
                "create another admin first.",
                code="partner.last_admin",
                field=None if mode == "release" else "roles",
            )
        index = int(answer[1]) - 1
        if outcome == "prefix":
            prefix = partner.company_prefixes[index]
            raise Conflict(
                f"Failed to assign company prefix {prefix!r}: it is equal to, inside or contains "
                "a prefix another partner holds; a company prefix, and every GTIN under it, "
                "belongs to one partner.",
                code="partner.prefix_taken",
                field=f"company_prefixes[{_asked_index(asked, 'company_prefixes', prefix, index)}]",
            )
        gln = partner.glns[index]
        raise Conflict(
            f"Failed to assign GLN {gln!r}: another partner holds it; a GLN belongs to one partner.",
            code="partner.gln_taken",
            field=f"glns[{_asked_index(asked, 'glns', gln, index)}]",
        )

    async def create(self, new: NewPartner, now: dt.datetime) -> tuple[Partner, str]:
        """Stores a partner and returns it with its token (the only time the token exists);
        a Conflict when another partner holds one of its prefixes or GLNs.

        The partner is written ``pending`` (its token does not authenticate), then its
        identities are claimed, then it is made ``active``. A refused claim deletes what was
        written. A crash in between leaves a pending partner whose token nobody was given;
        revoking it gives back whatever it claimed, so the company can be created again."""
        validate_new_partner(new)
        await self._ensure_claims()
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
                "status": PENDING,
                "created_at": partner.created_at,
                "token": token_hash(token),
            },
        )
        pipe.set(f"token:{token_hash(token)}", partner.id)
        pipe.sadd(PARTNERS_KEY, partner.id)
        await pipe.execute()
        try:
            await self._claim("claim", partner, None, new)
        except Conflict:
            undo = self.redis.pipeline(transaction=False)
            undo.srem(PARTNERS_KEY, partner.id)
            undo.delete(f"token:{token_hash(token)}")
            undo.delete(f"partner:{partner.id}")
            await undo.execute()
            raise
        await self.redis.hset(f"partner:{partner.id}", "status", partner.status)
        return partner, token

    async def update(self, partner_id: str, changes: PartnerChanges) -> Partner:
        """Replaces a partner's name, roles, GLNs or prefixes; new identities are claimed and
        dropped ones given back in one step (a Conflict when another partner holds one)."""
        raw = reply_fields(await self.redis.hgetall(f"partner:{partner_id}"))
        if not raw:
            raise NotFound(f"No partner with id {partner_id!r}.", code="partner.not_found")
        current = _partner(partner_id, raw)
        if current.status != "active":
            raise Conflict(
                f"Failed to update partner {partner_id!r}: it is {current.status}, not active"
                + ("; create a new partner." if current.status == "revoked" else "."),
                code="partner.revoked" if current.status == "revoked" else "partner.not_active",
            )
        wanted = NewPartner(
            name=current.name if changes.name is None else changes.name,
            roles=current.roles if changes.roles is None else changes.roles,
            glns=current.glns if changes.glns is None else changes.glns,
            company_prefixes=(
                current.company_prefixes if changes.company_prefixes is None else changes.company_prefixes
            ),
        )
        validate_new_partner(wanted)
        updated = dataclasses.replace(
            current,
            name=wanted.name,
            roles=tuple(dict.fromkeys(wanted.roles)),
            glns=tuple(dict.fromkeys(wanted.glns)),
            company_prefixes=tuple(dict.fromkeys(wanted.company_prefixes)),
        )
        await self._ensure_claims()
        await self._claim("claim", updated, current, changes)
        await self.redis.hset(
            f"partner:{partner_id}",
            mapping={
                "name": updated.name,
                "roles": _join(updated.roles),
                "glns": _join(updated.glns),
                "prefixes": _join(updated.company_prefixes),
            },
        )
        self._cache.pop(raw[b"token"].decode(), None)
        return updated

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
        """Revokes a partner and gives its identities back. Revoking a revoked partner
        changes nothing and answers the same; the last active admin is never revoked."""
        raw = reply_fields(await self.redis.hgetall(f"partner:{partner_id}"))
        if not raw:
            raise NotFound(f"No partner with id {partner_id!r}.", code="partner.not_found")
        partner = _partner(partner_id, raw)
        if partner.status == "revoked":
            return partner
        await self._ensure_claims()
        # Claims first: the script refuses the last admin atomically; a failure after it
        # leaves the partner active and a retry finishes the revocation.
        await self._claim("release", partner, partner)
        # Status first: authenticate() refuses a revoked partner even while its token key lives.
        await self.redis.hset(f"partner:{partner_id}", mapping={"status": "revoked", "revoked_at": now.isoformat()})
        await self.redis.delete(f"token:{raw[b'token'].decode()}")
        self._cache.pop(raw[b"token"].decode(), None)
        return await self.get(partner_id)


def _asked_index(
    asked: NewPartner | PartnerChanges | None, name: str, value: str, default: int
) -> int:
    """Where ``value`` was in the request's list ``name`` (before duplicates were dropped)."""
    values = getattr(asked, name, None) if asked is not None else None
    if values is not None and value in values:
        return list(values).index(value)
    return default


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
