"""A reference OCI digital wallet: a real HTTP server written for the tests.

It implements the part of the OCI Digital Wallet API v2 verinet uses, with ES256K JWTs
(PyJWT, its ES256K done by libsecp256k1 through ``coincurve``: the same signatures as PyJWT's own
over OpenSSL, about ten times faster to make and to check, see :class:`Es256k`):

- ``POST /oauth/token``: OAuth2 client credentials for the API below.
- ``POST /api/v1/verifiablePresentation/generate`` ``{corrUUID, holderDID, credentialType}``:
  a presentation (VP JWT, ``nonce`` = corrUUID, lifetime 5 minutes) of the holder's ATP
  credential, signed with the holder's key. Holders are the identities this wallet manages.
- ``POST /api/v1/verifiablePresentation/verify`` ``{verifiablePresentation, verifierDID}``:
  ``{"verified": true, "holderDID", "nonce"}``, or ``{"verified": false, "errorCode", "message"}``
  with one of the OCI error codes (``vp_nonce_invalid`` is the caller's check: it compares the
  returned nonce with its corrUUID).
- ``GET /<name>/did.json``: the ``did:web`` documents of its identities. ``did:web`` names an
  https URL; on one test machine the documents are served over http.
- ``GET /trusted-issuers``: the issuers whose credentials this wallet trusts (when verifying).
- ``GET /revocations``: the credential ids its issuer identity has revoked.

DID documents and revocation lists it fetches are cached for ``cache_seconds`` (60), as
wallets do; tests that revoke a credential later set ``fetched`` empty. A credential (VC) is the
same in every presentation of one holder, so its issuer's signature is checked once per
``cache_seconds`` too (``proven``: the key it was checked with comes from a DID document that old
at most); everything else about it (trusted issuer, expiry, revocation against the current list)
and everything about the presentation (signature, ``iat``, lifetime; the caller compares the
nonce) is checked on every verify. So a revocation is seen within ``cache_seconds`` of being
listed, as without the cache. Keys are turned into libsecp256k1's form once: an identity's
signing key when it first signs, a DID document's public key once per fetched document.

``presentation()`` and ``credential()`` build good and bad JWTs for the tests.
"""

from __future__ import annotations

import binascii
import contextlib
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import aiohttp
import coincurve
import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from jwt.algorithms import Algorithm, ECAlgorithm
from jwt.utils import base64url_decode

from tests.lookup.fake_serving import serve, served, served_in_thread

ATP_CREDENTIAL = "DSCSAATPCredential"
VP_LIFETIME = 300
#: The order of secp256k1's group: an ECDSA signature (r, s) holds as well as (r, n - s).
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: At most this many credentials' proven signatures are remembered (then the oldest go).
MAX_PROVEN = 10_000
#: A compact JWS is three base64url segments (no padding), separated by dots.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class Es256k(Algorithm):
    """PyJWT's ES256K (ECDSA over secp256k1 with SHA-256, RFC 8812) computed by libsecp256k1.

    Keys may be ``cryptography`` secp256k1 keys (as the identities hold) or coincurve keys.
    libsecp256k1 accepts only low-S signatures; a high-S one (which OpenSSL may make, and which
    is as valid) is turned to its low-S twin before checking, so any valid ES256K JWS verifies.
    """

    def prepare_key(self, key: Any) -> coincurve.PrivateKey | coincurve.PublicKey:
        if isinstance(key, coincurve.PrivateKey | coincurve.PublicKey):
            return key
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256K1):
            return coincurve.PrivateKey.from_int(key.private_numbers().private_value)
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256K1):
            return coincurve.PublicKey(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        raise jwt.InvalidKeyError(f"expected a secp256k1 key, got {type(key).__name__}")

    def sign(self, msg: bytes, key: Any) -> bytes:
        r, s = decode_dss_signature(key.sign(msg))  # DER, SHA-256 of msg
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if len(sig) != 64:
            return False
        public = key.public_key if isinstance(key, coincurve.PrivateKey) else key
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        if not (0 < r < SECP256K1_ORDER and 0 < s < SECP256K1_ORDER):
            return False
        s = min(s, SECP256K1_ORDER - s)
        try:
            return bool(public.verify(encode_dss_signature(r, s), msg))
        except ValueError:
            return False

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:  # keys are published by ECAlgorithm
        raise NotImplementedError

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError


def es256k_jwt() -> jwt.PyJWT:
    """A PyJWT whose ES256K is :class:`Es256k`."""
    codec = jwt.PyJWT()
    codec._jws.unregister_algorithm("ES256K")
    codec._jws.register_algorithm("ES256K", Es256k())
    return codec


@dataclass
class Identity:
    name: str
    did: str
    key: ec.EllipticCurvePrivateKey
    credential: str = ""  # the holder's ATP credential (VC JWT), issued by some issuer

    @property
    def kid(self) -> str:
        return f"{self.did}#key-1"

    @cached_property
    def signer(self) -> coincurve.PrivateKey:
        """``key`` as libsecp256k1 takes it (made once: every presentation is signed with it)."""
        return coincurve.PrivateKey.from_int(self.key.private_numbers().private_value)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def did_web(host: str, port: int, name: str) -> str:
    return f"did:web:{host}%3A{port}:{name}"


def did_document_url(did: str) -> str | None:
    """Where a did:web document is served (http: one test machine)."""
    if not did.startswith("did:web:"):
        return None
    parts = did[len("did:web:"):].split(":")
    host = urllib.parse.unquote(parts[0])
    return f"http://{host}/{'/'.join(parts[1:])}/did.json"


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ReferenceWallet:
    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = field(default_factory=lambda: "wallet-client-" + secrets.token_hex(4))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    identities: dict[str, Identity] = field(default_factory=dict)
    trusted_issuers: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None
    runner: web.AppRunner | None = None
    #: DID documents and revocation lists fetched, by URL, with when (as a wallet caches them).
    fetched: dict[str, tuple[float, Any]] = field(default_factory=dict)
    cache_seconds: float = 60.0
    #: Credentials (VC JWTs) whose issuer's signature was checked: when, and their header and claims.
    proven: dict[str, tuple[float, dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    codec: jwt.PyJWT = field(default_factory=es256k_jwt)
    #: Public keys read from DID documents, by document URL and key id, with the document they
    #: came from: one is used only while that very document is the cached one in ``fetched``.
    keys: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)
    es256k: Es256k = field(default_factory=Es256k)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def identity(self, name: str) -> Identity:
        """A new identity (key and did:web) managed by this wallet."""
        ident = Identity(name, did_web(self.host, self.port, name), ec.generate_private_key(ec.SECP256K1()))
        self.identities[ident.did] = ident
        return ident

    def credential(
        self,
        issuer: Identity,
        holder_did: str,
        *,
        lifetime: float = 365 * 86400,
        credential_id: str | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        types: tuple[str, ...] = ("VerifiableCredential", ATP_CREDENTIAL),
    ) -> str:
        """An ATP credential (VC JWT) ``issuer`` issues to ``holder_did``."""
        now = time.time()
        claims = {
            "iss": issuer.did,
            "sub": holder_did,
            "nbf": int(now) - 60,
            "exp": int(now + lifetime),
            "jti": credential_id or f"urn:uuid:{secrets.token_hex(16)}",
            "vc": {
                "type": list(types),
                "credentialSubject": {"id": holder_did},
                "credentialStatus": {"id": f"{self.url}/revocations", "type": "RevocationList"},
            },
        }
        return self.codec.encode(claims, sign_with or issuer.signer, algorithm="ES256K", headers={"kid": issuer.kid})

    def presentation(
        self,
        holder: Identity,
        nonce: str,
        *,
        credentials: list[str] | None = None,
        issued_ago: float = 0.0,
        lifetime: float = VP_LIFETIME,
        iss: str | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """A VP JWT of ``holder`` (its own credential unless ``credentials`` says otherwise)."""
        iat = int(time.time() - issued_ago)
        claims = {
            "iss": iss or holder.did,
            "nonce": nonce,
            "iat": iat,
            "exp": int(iat + lifetime),
            "jti": f"urn:uuid:{secrets.token_hex(16)}",
            "vp": {
                "type": ["VerifiablePresentation"],
                "verifiableCredential": [holder.credential] if credentials is None else credentials,
            },
        }
        return self.codec.encode(claims, sign_with or holder.signer, algorithm="ES256K", headers={"kid": f"{iss or holder.did}#key-1"})

    # -- HTTP ----------------------------------------------------------------------------------

    def authorized(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and value in self.tokens

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        import base64

        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def did_json(self, request: web.Request) -> web.Response:
        did = did_web(self.host, self.port, request.match_info["name"])
        ident = self.identities.get(did)
        if ident is None:
            return json_response({"error": "notFound"}, status=404)
        jwk = ECAlgorithm.to_jwk(ident.key.public_key(), as_dict=True)
        return json_response(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "verificationMethod": [{"id": ident.kid, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}],
                "assertionMethod": [ident.kid],
                "authentication": [ident.kid],
            }
        )

    async def trusted(self, request: web.Request) -> web.Response:
        return json_response({"issuers": sorted(self.trusted_issuers)})

    async def revocations(self, request: web.Request) -> web.Response:
        return json_response({"revoked": sorted(self.revoked)})

    async def generate(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return json_response({"error": "unauthorized"}, status=401)
        body = orjson.loads(await request.read())
        self.calls.append(("generate", body))
        holder = self.identities.get(str(body.get("holderDID", "")))
        if holder is None or not holder.credential or body.get("credentialType") != ATP_CREDENTIAL:
            return json_response({"errorCode": "vc_not_found", "message": "no such credential for that holder"}, status=404)
        return json_response({"verifiablePresentation": self.presentation(holder, str(body.get("corrUUID", "")))})

    async def verify(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return json_response({"error": "unauthorized"}, status=401)
        body = orjson.loads(await request.read())
        self.calls.append(("verify", body))
        try:
            holder, nonce = await self._verify(str(body.get("verifiablePresentation", "")))
        except Refused as refused:
            return json_response({"verified": False, "errorCode": refused.code, "message": refused.message})
        return json_response({"verified": True, "holderDID": holder, "nonce": nonce})

    async def _fetch(self, url: str) -> Any:
        """A JSON document, from the cache when fetched within ``cache_seconds``; None when
        it cannot be had."""
        cached = self.fetched.get(url)
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        assert self.session is not None
        try:
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                doc = await answer.json() if answer.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            doc = None
        if doc is not None:
            self.fetched[url] = (time.monotonic(), doc)
        return doc

    async def _key_of(self, did: str, kid: str, code: str) -> Any:
        url = did_document_url(did)
        if url is None:
            raise Refused(code, f"{did[:60]!r} is not a resolvable did:web")
        doc = await self._fetch(url)
        if not isinstance(doc, dict):
            raise Refused(code, f"{did} did not resolve")
        known = self.keys.get((url, kid))
        if known is not None and known[0] is doc:
            return known[1]
        for method in doc.get("verificationMethod", []):
            if method.get("id") == kid:
                key = ECAlgorithm.from_jwk(method["publicKeyJwk"])
                with contextlib.suppress(jwt.InvalidKeyError):
                    key = self.es256k.prepare_key(key)  # once per document, not per signature
                self.keys[(url, kid)] = (doc, key)
                return key
        raise Refused(code, f"{did} has no key {kid}")

    def _parse(self, token: str, code: str, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The header and claims of a compact JWS whose header and payload are JSON objects,
        its signature not yet checked."""
        if not isinstance(token, str) or not COMPACT_JWS.fullmatch(token):
            raise Refused(code, f"the {what} is not a JWT")
        encoded_header, encoded_claims, _ = token.split(".")
        try:
            header, claims = orjson.loads(base64url_decode(encoded_header)), orjson.loads(base64url_decode(encoded_claims))
        except (binascii.Error, orjson.JSONDecodeError, ValueError):
            raise Refused(code, f"the {what} is not a JWT") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise Refused(code, f"the {what} is not a JWT")
        return header, claims

    def _signed_by(self, token: str, key: Any) -> bool:
        """Whether ES256K ``token`` (already parsed) is signed by ``key``."""
        signing_input, _, signature = token.rpartition(".")
        try:
            return self.es256k.verify(signing_input.encode(), self.es256k.prepare_key(key), base64url_decode(signature))
        except (binascii.Error, jwt.InvalidKeyError):
            return False

    async def _verify(self, vp: str) -> tuple[str, str]:
        header, claims = self._parse(vp, "jwt_invalid", "presentation")
        if header.get("alg") != "ES256K":
            raise Refused("jwt_invalid", f"expected ES256K, got {header.get('alg')!r}")
        holder = str(claims.get("iss", ""))
        if not holder.startswith(("did:web:", "did:ethr:")) or not str(header.get("kid", "")).startswith(holder + "#"):
            raise Refused("vp_iss_invalid", f"iss {holder[:60]!r} is not a did:web or did:ethr with this key")
        key = await self._key_of(holder, header["kid"], "vp_iss_invalid")
        if not self._signed_by(vp, key):
            raise Refused("jwt_invalid", "the presentation's signature does not verify")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > VP_LIFETIME or now - iat > VP_LIFETIME or exp < now:
            raise Refused("vp_iat_expired", "the presentation is older than 5 minutes or lives longer")
        credentials = (claims.get("vp") or {}).get("verifiableCredential") or []
        if not credentials:
            raise Refused("vc_not_found", "the presentation carries no credential")
        await self._check_credential(credentials[0], holder, now)
        return holder, str(claims.get("nonce", ""))

    async def _check_credential(self, vc: Any, holder: str, now: float) -> None:
        proven = self.proven.get(vc) if isinstance(vc, str) else None
        fresh = proven is not None and time.monotonic() - proven[0] < self.cache_seconds
        header, claims = proven[1:] if proven is not None and fresh else self._parse(vc, "vc_invalid", "credential")
        types = (claims.get("vc") or {}).get("type") or []
        if ATP_CREDENTIAL not in types or claims.get("sub") != holder:
            raise Refused("vc_invalid", "not an ATP credential of the presentation's holder")
        issuer = str(claims.get("iss", ""))
        if issuer not in self.trusted_issuers:
            raise Refused("vc_non_trusted_issuer", f"{issuer[:80]} is not a trusted issuer")
        if not fresh:
            if header.get("alg") != "ES256K" or not self._signed_by(vc, await self._key_of(issuer, str(header.get("kid", "")), "vc_proof_invalid")):
                raise Refused("vc_proof_invalid", "the credential's signature does not verify")
            self._remember(vc, header, claims)
        if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
            raise Refused("vc_exp_expired", "the credential has expired")
        status_url = ((claims.get("vc") or {}).get("credentialStatus") or {}).get("id", "")
        listing = await self._fetch(status_url) if isinstance(status_url, str) and status_url.startswith("http") else None
        if not isinstance(listing, dict):
            raise Refused("vc_invalid", "the credential's revocation list cannot be read")
        if claims.get("jti") in listing.get("revoked", []):
            raise Refused("vc_revoked", "the credential is revoked")

    def _remember(self, vc: str, header: dict[str, Any], claims: dict[str, Any]) -> None:
        """Remembers a credential whose issuer's signature holds (at most MAX_PROVEN, the oldest go)."""
        now = time.monotonic()
        if len(self.proven) >= MAX_PROVEN:
            self.proven = {k: v for k, v in self.proven.items() if now - v[0] < self.cache_seconds}
            while len(self.proven) >= MAX_PROVEN:
                del self.proven[next(iter(self.proven))]
        self.proven[vc] = (now, header, claims)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/trusted-issuers", self.trusted)
        app.router.add_get("/revocations", self.revocations)
        app.router.add_get("/{name}/did.json", self.did_json)
        app.router.add_post("/api/v1/verifiablePresentation/generate", self.generate)
        app.router.add_post("/api/v1/verifiablePresentation/verify", self.verify)
        return app

    async def start(self) -> None:
        self.session = aiohttp.ClientSession()
        # The port is known before identities are made: their DIDs name it.
        self.runner, self.port = await serve(self.app(), self.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()


#: Each OCI error code, as a case of :func:`wrong_presentation`.
WRONG_CASES = (
    "jwt_invalid",
    "vp_iss_invalid",
    "vp_iat_expired",
    "vp_nonce_invalid",
    "vc_not_found",
    "vc_invalid",
    "vc_non_trusted_issuer",
    "vc_proof_invalid",
    "vc_exp_expired",
    "vc_revoked",
)


def wrong_presentation(wallet: ReferenceWallet, holder: Identity, issuer: Identity, case: str, nonce: str) -> str:
    """A real presentation of ``holder`` for the question ``nonce``, wrong in the way the OCI
    error code ``case`` names (a wallet that trusts ``issuer`` refuses it with that code)."""
    other_key = ec.generate_private_key(ec.SECP256K1())
    if case == "jwt_invalid":
        return wallet.presentation(holder, nonce, sign_with=other_key)
    if case == "vp_iss_invalid":
        return wallet.presentation(holder, nonce, iss="did:web:127.0.0.1%3A1:nobody")
    if case == "vp_iat_expired":
        return wallet.presentation(holder, nonce, issued_ago=301)
    if case == "vp_nonce_invalid":
        return wallet.presentation(holder, "another-question")
    if case == "vc_not_found":
        return wallet.presentation(holder, nonce, credentials=[])
    if case == "vc_invalid":
        someone = wallet.identities.get(did_web(wallet.host, wallet.port, "someone")) or wallet.identity("someone")
        return wallet.presentation(holder, nonce, credentials=[wallet.credential(issuer, someone.did)])
    if case == "vc_non_trusted_issuer":
        rogue = wallet.identities.get(did_web(wallet.host, wallet.port, "rogue-issuer")) or wallet.identity("rogue-issuer")
        return wallet.presentation(holder, nonce, credentials=[wallet.credential(rogue, holder.did)])
    if case == "vc_proof_invalid":
        return wallet.presentation(holder, nonce, credentials=[wallet.credential(issuer, holder.did, sign_with=other_key)])
    if case == "vc_exp_expired":
        return wallet.presentation(holder, nonce, credentials=[wallet.credential(issuer, holder.did, lifetime=-60)])
    if case == "vc_revoked":
        wallet.revoked.add("urn:uuid:revoked-1")
        wallet.fetched.clear()  # its cached revocation list predates the revocation
        return wallet.presentation(holder, nonce, credentials=[wallet.credential(issuer, holder.did, credential_id="urn:uuid:revoked-1")])
    raise AssertionError(f"unknown case {case!r}")


def wallet_serving() -> contextlib.AbstractAsyncContextManager[ReferenceWallet]:
    """A wallet in the running loop (for in-process tests)."""
    return served(ReferenceWallet())


def wallets_in_thread(count: int) -> contextlib.AbstractContextManager[list[ReferenceWallet]]:
    """``count`` wallets on one loop in a thread (for tests that drive verinet over HTTP)."""
    return served_in_thread("oci-wallets", [ReferenceWallet() for _ in range(count)])
