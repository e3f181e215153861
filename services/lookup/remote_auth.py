"""The credentials lookup presents to other networks, per remote-network profile.

Static schemes (bearer, token, basic) are a header. OAuth2 client credentials fetch an access
token from the profile's token endpoint, cache it per profile and renew it before it expires
(a tenth of its lifetime early, at least 5 s), so no question waits on a token that is about
to lapse; concurrent questions share one fetch. Client certificates (mTLS) become an SSL
context, built once per profile version. Secrets never reach a log line or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson

from verinet.errors import BadUpstream, Forbidden, UpstreamTimeout, VerinetError
from verinet.lookup.profiles import RemoteProfile, describe

log = logging.getLogger(__name__)

#: An access token is renewed this share of its lifetime before it expires ...
RENEW_SHARE = 0.1
#: ... and at least this many seconds before.
RENEW_MIN_SECONDS = 5.0
#: Lifetime assumed when a token endpoint names none.
DEFAULT_TOKEN_SECONDS = 300.0
MAX_TOKEN_BODY = 65536


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    renew_at: float  # monotonic


def renew_time(now: float, lifetime: float) -> float:
    """When a token with ``lifetime`` seconds, fetched at ``now``, is renewed.

    >>> renew_time(100.0, 3600.0)
    3340.0
    >>> renew_time(100.0, 20.0)
    115.0
    """
    return now + lifetime - max(lifetime * RENEW_SHARE, min(RENEW_MIN_SECONDS, lifetime / 2))


class RemoteAuth:
    """Authorization headers and TLS contexts for remote networks, one per lookup process."""

    def __init__(self, session: aiohttp.ClientSession, clock: Callable[[], float] = time.monotonic) -> None:
        self.session = session
        self.clock = clock
        self.tokens: dict[tuple[str, str, str, str], AccessToken] = {}
        self.fetching: dict[tuple[str, str, str, str], asyncio.Future[AccessToken]] = {}
        self.ssl_contexts: dict[tuple[str, str, str], ssl.SSLContext] = {}
        self.token_fetches = 0

    async def authorization(self, profile: RemoteProfile, deadline: float) -> str | None:
        """The Authorization header value for a question to ``profile``'s network."""
        scheme = profile.auth_scheme
        if scheme == "bearer":
            return f"Bearer {profile.token}"
        if scheme == "token":
            return f"Token {profile.token}"
        if scheme == "basic":
            pair = f"{profile.username}:{profile.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        if scheme == "oauth2":
            token = await self.access_token(profile, deadline)
            return f"Bearer {token.value}"
        return None

    def forget(self, profile: RemoteProfile) -> None:
        """Drops the cached access token (the remote refused it: fetch a new one next time)."""
        self.tokens.pop(_token_key(profile), None)

    async def access_token(self, profile: RemoteProfile, deadline: float) -> AccessToken:
        key = _token_key(profile)
        cached = self.tokens.get(key)
        if cached is not None and self.clock() < cached.renew_at:
            return cached
        pending = self.fetching.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self.fetching[key] = pending
            try:
                token = await self._fetch(profile, deadline)
            except BaseException as error:
                pending.set_exception(error)
                pending.exception()  # retrieved: no "never retrieved" warning when nobody waits
                raise
            finally:
                self.fetching.pop(key, None)
            self.tokens[key] = token
            pending.set_result(token)
            return token
        return await asyncio.shield(pending)

    async def _fetch(self, profile: RemoteProfile, deadline: float) -> AccessToken:
        self.token_fetches += 1
        form = {"grant_type": "client_credentials"}
        if profile.oauth_scope:
            form["scope"] = profile.oauth_scope
        pair = f"{profile.oauth_client_id}:{profile.oauth_client_secret}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode(), "Accept": "application/json"}
        remaining = deadline - self.clock()
        where = describe(profile)
        started = self.clock()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                async with self.session.post(
                    profile.oauth_token_url, data=form, headers=headers, allow_redirects=False,
                    ssl=self.ssl_context(profile) or True,
                ) as response:
                    body = await response.content.read(MAX_TOKEN_BODY + 1)
                    status = response.status
        except TimeoutError:
            raise UpstreamTimeout(
                f"Remote network {where}: its OAuth2 token endpoint did not answer within the per-hop deadline.",
                code="upstream.timeout",
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise BadUpstream(
                f"Remote network {where}: its OAuth2 token endpoint is unreachable ({type(error).__name__}).",
                code="upstream.credential_refused",
            ) from None
        if status != 200:
            raise BadUpstream(
                f"Remote network {where} refused this network's OAuth2 client credentials: its token "
                f"endpoint answered {status}.",
                code="upstream.credential_refused",
            )
        try:
            doc = orjson.loads(body)
            value = doc["access_token"]
            lifetime = float(doc.get("expires_in", DEFAULT_TOKEN_SECONDS))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            doc, value, lifetime = None, None, 0.0
        if not isinstance(value, str) or not value or not value.isascii() or not value.isprintable() or lifetime <= 0:
            raise BadUpstream(
                f"Remote network {where}: its OAuth2 token endpoint answered 200 without an access_token "
                "and a positive expires_in.",
                code="upstream.bad_response",
            )
        log.info(
            "OAuth2 token fetched for %s, valid %.0f s", where, lifetime,
            extra={"network": profile.name, "seconds": self.clock() - started},
        )
        return AccessToken(value, renew_time(started, lifetime))

    def ssl_context(self, profile: RemoteProfile) -> ssl.SSLContext | None:
        """The TLS context for a profile with a client certificate or its own CA; None (the
        session's default) otherwise. Built once per certificate."""
        if not (profile.client_cert_pem or profile.ca_pem):
            return None
        key = (profile.client_cert_pem, profile.client_key_pem, profile.ca_pem)
        context = self.ssl_contexts.get(key)
        if context is None:
            context = _build_ssl_context(profile)
            self.ssl_contexts[key] = context
        return context


def _token_key(profile: RemoteProfile) -> tuple[str, str, str, str]:
    return (profile.oauth_token_url, profile.oauth_client_id, profile.oauth_client_secret, profile.oauth_scope)


def _build_ssl_context(profile: RemoteProfile) -> ssl.SSLContext:
    if profile.ca_pem:
        context = ssl.create_default_context(cadata=profile.ca_pem)
    else:
        context = ssl.create_default_context()
    if profile.client_cert_pem:
        # The ssl module loads a certificate chain only from files: a private temporary
        # directory holds them for the moment of loading.
        with tempfile.TemporaryDirectory(prefix="verinet-mtls-") as folder:
            cert = os.path.join(folder, "cert.pem")
            key = os.path.join(folder, "key.pem")
            for path, text in ((cert, profile.client_cert_pem), (key, profile.client_key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
            context.load_cert_chain(cert, key)
    return context


def refusal(network: str, status: int, body: bytes) -> VerinetError:
    """The error for a remote network's 401 or 403: the other network refused this network's
    credential (or the question), which is not the requestor's token being bad. It names the
    network in ``responder_network`` (the gateway's ``Verinet-Responder-Network`` header)."""
    text = body[:200].decode(errors="replace").strip().replace("\n", " ")
    said = f" ({text!r})" if text else ""
    if status == 401:
        return BadUpstream(
            f"Remote network {network} refused this network's credential: it answered 401{said}. "
            "The requestor's own token was accepted here; this network's profile for that network "
            "needs a valid credential.",
            code="upstream.credential_refused",
            responder_network=network,
            remote_status=status,
        )
    return Forbidden(
        f"Remote network {network} refused the question: it answered 403{said}. The requestor's "
        "own token was accepted here; the other network does not accept this network's "
        "credential for this question (or the requestor GLN).",
        code="upstream.refused",
        responder_network=network,
        remote_status=status,
    )
