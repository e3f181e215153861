"""Remote-network profiles: how this network talks to one other network.

A profile is admin-managed and reused by every directory route that names it: base URL, auth
scheme and credentials, per-hop deadline, attempts, static headers, the LMS version spoken,
whether non-conforming answers are relayed (``lenient``) and how ATP credentials travel.
Credentials are stored here (Redis, lookup only) and never answered: :meth:`RemoteProfile.public`
blanks them and says only which are set.

``dir:network:<name>`` is a hash of the profile's fields; ``dir:networks`` the set of names.

Auth schemes:

=======  ==========================================================================
none     no Authorization header
bearer   ``Authorization: Bearer <token>``
token    ``Authorization: Token <token>`` (QU4RTET VRS, Django REST framework)
basic    ``Authorization: Basic base64(username:password)``
oauth2   client credentials grant at ``oauth_token_url``; the access token is cached
         and renewed before it expires, then sent as a bearer token
mtls     a client certificate only (``client_cert_pem`` and ``client_key_pem``); a
         client certificate may also accompany any other scheme
=======  ==========================================================================

ATP credential carriage (OCI; no standard fixes it): ``header`` (default) sends and reads
the presentation JWT in the header ``atp_name`` (default ``ATP-Presentation``); ``body``
reads it from the answer's JSON member ``atp_name`` and sends it as the query parameter of
that name (an LMS question is a GET and has no body).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields, replace

import orjson
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from verinet.errors import InvalidInput
from verinet.lookup.directory import MAX_CREDENTIAL_LENGTH, VERSION_KEY, redacted, validate_url
from verinet.remote_networks import ATP_HEADER, DEFAULT_HOP_SECONDS, MAX_HOP_SECONDS
from verinet.store import reply_bytes, reply_text_fields

NETWORKS_KEY = "dir:networks"
AUTH_SCHEMES = ("none", "bearer", "token", "basic", "oauth2", "mtls")
LMS_VERSIONS = ("1.0.2", "1.1.0", "1.2.0", "1.3.0")
ATP_CARRIAGES = ("header", "body")
DEFAULT_ATP_NAME = ATP_HEADER
MAX_ATTEMPTS = 10
MAX_HEADERS = 20
MAX_PEM_LENGTH = 16384
#: Headers a profile may not set: verinet sets them, or they would change the request's meaning.
RESERVED_HEADERS = frozenset(
    {"authorization", "host", "content-length", "transfer-encoding", "connection", "via", "gs1us-version", "accept"}
)
#: The secret fields: stored, never answered, never logged.
SECRET_FIELDS = ("token", "password", "oauth_client_secret", "client_key_pem")


def network_key(name: str) -> str:
    return f"dir:network:{name}"


@dataclass(frozen=True, slots=True)
class RemoteProfile:
    name: str
    base_url: str
    auth_scheme: str = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    oauth_token_url: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_scope: str = ""
    client_cert_pem: str = ""
    client_key_pem: str = ""
    ca_pem: str = ""
    timeout_seconds: float = DEFAULT_HOP_SECONDS
    attempts: int = 3
    headers: tuple[tuple[str, str], ...] = ()
    lms_version: str = "1.3.0"
    lenient: bool = False
    atp_carriage: str = "header"
    atp_name: str = DEFAULT_ATP_NAME
    updated_at: str = field(default="", compare=False)

    def public(self) -> RemoteProfile:
        """The profile for answers: every secret blanked (see :meth:`secrets_set`)."""
        return replace(self, token="", password="", oauth_client_secret="", client_key_pem="")

    def secrets_set(self) -> list[str]:
        """Which secrets are stored, by field name."""
        return [name for name in SECRET_FIELDS if getattr(self, name)]

    def __repr__(self) -> str:
        # Secrets never reach a log line or a traceback through repr.
        shown = ", ".join(
            f"{f.name}={'***' if f.name in SECRET_FIELDS and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"RemoteProfile({shown})"


def _invalid(message: str, code: str, field_name: str) -> InvalidInput:
    return InvalidInput(message, code=code, field=field_name)


def _header_text(value: str, what: str, field_name: str, limit: int = MAX_CREDENTIAL_LENGTH) -> str:
    if len(value) > limit or not value.isascii() or not value.isprintable() or value != value.strip():
        raise _invalid(
            f"Failed to read {what}: expected printable ASCII without surrounding spaces, at most "
            f"{limit} characters.",
            "network.field",
            field_name,
        )
    return value


def validate_name(name: str) -> str:
    """A profile name: 1 to 64 of a-z, 0-9, '-', '_' and '.'.

    >>> validate_name("quartet-prod")
    'quartet-prod'
    """
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
    if not name or len(name) > 64 or not set(name) <= allowed:
        raise _invalid(
            f"Failed to read network name {name[:80]!r}: expected 1 to 64 characters of a-z, 0-9, "
            "'-', '_' and '.', for example 'quartet-prod'.",
            "network.name",
            "name",
        )
    return name


def validate_profile(profile: RemoteProfile) -> RemoteProfile:
    """Checks every field; returns the profile in its stored form (normalized URLs)."""
    validate_name(profile.name)
    base_url = validate_url(profile.base_url)
    scheme = profile.auth_scheme
    if scheme not in AUTH_SCHEMES:
        raise _invalid(
            f"Failed to read auth scheme {scheme[:40]!r}: expected one of {', '.join(AUTH_SCHEMES)}.",
            "network.auth_scheme",
            "auth.scheme",
        )
    needed = {
        "bearer": ("token",),
        "token": ("token",),
        "basic": ("username", "password"),
        "oauth2": ("oauth_token_url", "oauth_client_id", "oauth_client_secret"),
        "mtls": ("client_cert_pem", "client_key_pem"),
    }.get(scheme, ())
    for name in needed:
        if not getattr(profile, name):
            raise _invalid(
                f"Failed to read auth: scheme {scheme!r} needs {name!r}.", "network.credential_missing", f"auth.{name}"
            )
    for name in ("token", "username", "password", "oauth_client_id", "oauth_client_secret", "oauth_scope"):
        value = getattr(profile, name)
        if value:
            _header_text(value, f"auth.{name}", f"auth.{name}")
    if profile.token and " " in profile.token:
        raise _invalid("Failed to read auth.token: expected no spaces.", "network.field", "auth.token")
    if ":" in profile.username:
        raise _invalid("Failed to read auth.username: expected no ':' (Basic auth splits on it).", "network.field", "auth.username")
    token_url = validate_url(profile.oauth_token_url) if profile.oauth_token_url else ""
    for name in ("client_cert_pem", "client_key_pem", "ca_pem"):
        value = getattr(profile, name)
        if value and (len(value) > MAX_PEM_LENGTH or "-----BEGIN " not in value):
            raise _invalid(
                f"Failed to read auth.{name}: expected PEM text ('-----BEGIN ...'), at most {MAX_PEM_LENGTH} characters.",
                "network.pem",
                f"auth.{name}",
            )
    if bool(profile.client_cert_pem) != bool(profile.client_key_pem):
        raise _invalid(
            "Failed to read auth: a client certificate needs both client_cert_pem and client_key_pem.",
            "network.credential_missing",
            "auth.client_key_pem" if profile.client_cert_pem else "auth.client_cert_pem",
        )
    timeout = profile.timeout_seconds
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and 0.05 <= timeout <= MAX_HOP_SECONDS):
        raise _invalid(
            f"Failed to read deadline_seconds {timeout!r}: expected 0.05 to {MAX_HOP_SECONDS:g} seconds.",
            "network.deadline",
            "deadline_seconds",
        )
    if not (isinstance(profile.attempts, int) and 1 <= profile.attempts <= MAX_ATTEMPTS):
        raise _invalid(
            f"Failed to read attempts {profile.attempts!r}: expected 1 to {MAX_ATTEMPTS}.", "network.attempts", "attempts"
        )
    if len(profile.headers) > MAX_HEADERS:
        raise _invalid(f"Failed to read headers: expected at most {MAX_HEADERS}, got {len(profile.headers)}.", "network.headers", "headers")
    for name, value in profile.headers:
        if not name or not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
            raise _invalid(f"Failed to read header name {name[:40]!r}: expected letters, digits, '-' and '_'.", "network.headers", f"headers.{name[:40]}")
        if name.lower() in RESERVED_HEADERS:
            raise _invalid(
                f"Failed to read header {name!r}: verinet sets it itself (set credentials under 'auth').",
                "network.headers",
                f"headers.{name}",
            )
        _header_text(value, f"header {name}", f"headers.{name}")
    if profile.lms_version not in LMS_VERSIONS:
        raise _invalid(
            f"Failed to read lms_version {profile.lms_version[:20]!r}: expected one of {', '.join(LMS_VERSIONS)}.",
            "network.lms_version",
            "lms_version",
        )
    if profile.atp_carriage not in ATP_CARRIAGES:
        raise _invalid(
            f"Failed to read atp.carriage {profile.atp_carriage[:20]!r}: expected 'header' or 'body'.",
            "network.atp",
            "atp.carriage",
        )
    atp_name = profile.atp_name or DEFAULT_ATP_NAME
    if len(atp_name) > 64 or not all(c.isalnum() or c in "-_" for c in atp_name) or not atp_name.isascii():
        raise _invalid(f"Failed to read atp.name {atp_name[:40]!r}: expected letters, digits, '-' and '_'.", "network.atp", "atp.name")
    return replace(profile, base_url=base_url, oauth_token_url=token_url, atp_name=atp_name, timeout_seconds=float(timeout))


def default_profile(base_url: str, credential: str, timeout: float, attempts: int) -> RemoteProfile:
    """The profile of a directory route that names none: a bearer credential (if any) and
    the service-wide deadline and attempts, strict."""
    return RemoteProfile(
        name="",
        base_url=base_url,
        auth_scheme="bearer" if credential else "none",
        token=credential,
        timeout_seconds=timeout,
        attempts=attempts,
    )


def describe(profile: RemoteProfile) -> str:
    """A profile for log lines and messages: its name and redacted URL, never a secret."""
    return f"{profile.name or 'directory route'} ({redacted(profile.base_url)})"


_STRING_FIELDS = tuple(
    f.name for f in fields(RemoteProfile) if f.type == "str" and f.name != "name"
)


class ProfileStore:
    """Profiles in Redis; every write bumps ``dir:version`` so route caches refresh."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put(self, profile: RemoteProfile, now: dt.datetime) -> tuple[RemoteProfile, bool, int]:
        stored = replace(validate_profile(profile), updated_at=now.isoformat())
        mapping: dict[FieldT, EncodableT] = {name: getattr(stored, name) for name in _STRING_FIELDS}
        mapping["timeout_seconds"] = repr(stored.timeout_seconds)
        mapping["attempts"] = str(stored.attempts)
        mapping["lenient"] = "1" if stored.lenient else ""
        mapping["headers"] = orjson.dumps(list(stored.headers)).decode()
        key = network_key(stored.name)
        # One key, replaced atomically (MULTI): fields of an earlier auth scheme must not
        # linger, and no reader may see the profile half-written or missing.
        replace_profile = self.redis.pipeline(transaction=True)
        replace_profile.exists(key)
        replace_profile.delete(key)
        replace_profile.hset(key, mapping=mapping)
        existed = (await replace_profile.execute())[0]
        # Then the index and the version, in their own slots, as the directory does.
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(NETWORKS_KEY, stored.name)
        pipe.incr(VERSION_KEY)
        answers = await pipe.execute()
        return stored, not existed, int(answers[-1])

    async def get(self, name: str) -> RemoteProfile | None:
        values = reply_text_fields(await self.redis.hgetall(network_key(name)))
        if not values:
            return None
        return RemoteProfile(
            name=name,
            **{n: values.get(n, "") for n in _STRING_FIELDS},
            timeout_seconds=float(values.get("timeout_seconds") or DEFAULT_HOP_SECONDS),
            attempts=int(values.get("attempts") or 3),
            lenient=values.get("lenient") == "1",
            headers=tuple((str(k), str(v)) for k, v in orjson.loads(values.get("headers") or "[]")),
        )

    async def delete(self, name: str) -> int | None:
        """Deletes a profile; the directory version after it, or None when there was none.
        (The caller checks first that no route names it.)"""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(network_key(name))
        pipe.srem(NETWORKS_KEY, name)
        deleted, _ = await pipe.execute()
        if not deleted:
            return None
        return int(await self.redis.incr(VERSION_KEY))

    async def names(self) -> list[str]:
        return sorted(reply_bytes(m).decode() for m in await self.redis.smembers(NETWORKS_KEY))
