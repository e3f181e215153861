"""Signed answers: Ed25519 keys, JWKS, RFC 9421 message signatures, RFC 9530 digests.

Every verdict body leaves the verifier signed over its exact bytes, and every webhook
delivery is signed the same way, so a partner can check either with any RFC 9421
implementation and our JWKS alone.

Keys
    A key directory holds one file per key, ``signing-<kid>.pem``: an unencrypted PKCS#8
    PEM Ed25519 private key, mode 0600, in a directory of mode 0700. The ``kid`` is the
    RFC 7638 JWK thumbprint of the public key, and loading checks that the file name
    matches the key inside. The file starts with one line of RFC 7468 explanatory text
    before the PEM block::

        Created: 2025-06-01T12:00:00Z
        -----BEGIN PRIVATE KEY-----
        ...

    The newest ``Created`` (ties broken by kid) is the active signing key. Keeping the
    timestamp inside the key file rather than in a sidecar means one file per key (one
    entry per key in a Kubernetes Secret) and a timestamp that cannot drift from its key;
    OpenSSL and ``cryptography`` both skip text before ``-----BEGIN``. Older keys stay in
    the JWKS so that answers signed before a rotation still verify; retire a key by
    deleting its file once nothing signed with it needs verifying.

Signatures
    One signature, label ``sig1``, with parameters ``created``, ``keyid`` and
    ``alg="ed25519"``. A response covers ``"@status" "content-type" "content-digest"``; a
    webhook request covers ``"@method" "@target-uri" "content-type" "content-digest"``;
    both add any extra headers the caller passes (for example ``verinet-responder``).
    ``Content-Digest`` is ``sha-256=:<base64>:`` over the body bytes as sent.

>>> jwk_thumbprint({"kty": "OKP", "crv": "Ed25519",
...                 "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'

Past 500 lines, three ideas: keys and the JWKS (``SigningKey``, ``KeyRing``), signing
(``ResponseSigner``), and verifying with its structured-field parser (``verify_response``,
``verify_request``, ``_SFParser``). It would be cut there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verinet.errors import ConfigError, InvalidInput

__all__ = [
    "ALGORITHM",
    "LABEL",
    "KeyRing",
    "ResponseSigner",
    "SigningKey",
    "content_digest",
    "jwk_thumbprint",
    "verify_request",
    "verify_response",
]

#: The signature label used in ``Signature-Input`` and ``Signature``.
LABEL: Final = "sig1"
#: The RFC 9421 algorithm name, sent as the ``alg`` parameter.
ALGORITHM: Final = "ed25519"

_KEY_GLOB: Final = "signing-*.pem"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_KEY_NAME = re.compile(r"signing-([A-Za-z0-9_-]{43})\.pem")
_CREATED_PREFIX: Final = "Created: "
_CREATED_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
# Group read is tolerated because Kubernetes adds it to Secret files when fsGroup is set.
_FORBIDDEN_KEY_MODE: Final = 0o037
_RESERVED_FIELDS: Final = frozenset(
    {"content-type", "content-digest", "signature", "signature-input"}
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_METHOD = re.compile(r"[A-Z]+")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# How far in the future a signature's ``created`` may lie before it is refused.
_CLOCK_SKEW: Final = 60.0
_DIGESTS: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


# --- keys ------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise ValueError(f"expected unpadded base64url text, got {text!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint (base64url SHA-256) of an Ed25519 OKP JWK (RFC 8037).

    Only the required members ``crv``, ``kty`` and ``x`` count, in that order.
    """
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise InvalidInput(
            f"Failed to compute a JWK thumbprint of {dict(jwk)!r}: "
            "expected an OKP Ed25519 key with an 'x' member.",
            code="signature.unknown_key",
        )
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 key of a :class:`KeyRing`; ``created`` is in Unix seconds."""

    kid: str
    created: int
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def generate(cls, created: int) -> SigningKey:
        private_key = Ed25519PrivateKey.generate()
        return cls(jwk_thumbprint(_public_jwk(private_key.public_key())), created, private_key)

    def jwk(self) -> dict[str, str]:
        """The public key as a JWK with ``kid``, ``use`` and ``alg``."""
        jwk = _public_jwk(self.private_key.public_key())
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def to_pem(self) -> bytes:
        """The key file's bytes: the ``Created`` line, then PKCS#8 PEM."""
        created = dt.datetime.fromtimestamp(self.created, dt.UTC).strftime(_CREATED_FORMAT)
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return f"{_CREATED_PREFIX}{created}\n".encode("ascii") + pem

    @classmethod
    def from_file(cls, path: Path) -> SigningKey:
        """Load and check one ``signing-<kid>.pem`` file."""
        match = _KEY_NAME.fullmatch(path.name)
        if match is None:
            raise ConfigError(
                f"Failed to load signing key {str(path)!r}: expected a file name "
                f"'signing-<kid>.pem' with a 43-character base64url kid, got {path.name!r}."
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & _FORBIDDEN_KEY_MODE:
            raise ConfigError(
                f"Failed to load signing key {str(path)!r}: expected mode 0600 (or 0400/0440), "
                f"got {mode:04o}; run 'chmod 600 {path}'."
            )
        data = path.read_bytes()
        created = _parse_created(path, data)
        try:
            private_key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"Failed to load signing key {str(path)!r}: expected an unencrypted PKCS#8 PEM "
                f"private key, got an unreadable file ({exc})."
            ) from exc
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ConfigError(
                f"Failed to load signing key {str(path)!r}: expected an Ed25519 key, "
                f"got {type(private_key).__name__}."
            )
        kid = jwk_thumbprint(_public_jwk(private_key.public_key()))
        if kid != match.group(1):
            raise ConfigError(
                f"Failed to load signing key {str(path)!r}: expected the file name to carry the "
                f"key's thumbprint {kid!r}, got {match.group(1)!r}."
            )
        return cls(kid, created, private_key)


def _parse_created(path: Path, data: bytes) -> int:
    head = data.split(b"-----BEGIN", 1)[0].decode("ascii", "replace")
    for line in head.splitlines():
        if line.startswith(_CREATED_PREFIX):
            value = line[len(_CREATED_PREFIX) :].strip()
            try:
                when = dt.datetime.strptime(value, _CREATED_FORMAT).replace(tzinfo=dt.UTC)
            except ValueError:
                break
            return int(when.timestamp())
    raise ConfigError(
        f"Failed to load signing key {str(path)!r}: expected a line like "
        "'Created: 2025-06-01T12:00:00Z' before the PEM block, got none."
    )


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_key(directory: Path, key: SigningKey) -> None:
    final = directory / f"signing-{key.kid}.pem"
    temporary = directory / f".signing-{key.kid}.pem.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # exact, whatever the umask
            os.write(fd, key.to_pem())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class KeyRing:
    """Every signing key of a directory; the newest is active, all are published.

    Immutable: after :meth:`rotate`, load the directory again and build a new signer.
    """

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        ordered = tuple(sorted(keys, key=lambda k: (k.created, k.kid), reverse=True))
        if not ordered:
            raise ConfigError("Failed to build a key ring: expected at least one key, got none.")
        kids = [key.kid for key in ordered]
        if len(set(kids)) != len(kids):
            raise ConfigError(f"Failed to build a key ring: expected distinct kids, got {kids!r}.")
        self._keys = ordered
        self._jwks: tuple[dict[str, str], ...] = tuple(key.jwk() for key in ordered)
        self._jwks_json = json.dumps({"keys": list(self._jwks)}, separators=(",", ":")).encode()

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active.kid!r}, kids={self.kids!r})"

    @property
    def active(self) -> SigningKey:
        """The key new signatures use: the newest."""
        return self._keys[0]

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """All keys, newest first."""
        return self._keys

    @property
    def kids(self) -> tuple[str, ...]:
        """All kids, newest first."""
        return tuple(key.kid for key in self._keys)

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWKS, newest first (a fresh copy each call)."""
        return {"keys": [dict(jwk) for jwk in self._jwks]}

    def jwks_json(self) -> bytes:
        """The JWKS as compact JSON bytes, computed once."""
        return self._jwks_json

    @classmethod
    def load(cls, directory: Path) -> KeyRing:
        """Load every ``signing-<kid>.pem`` of ``directory``; fail if there is none."""
        if not directory.is_dir():
            raise ConfigError(
                f"Failed to load signing keys from {str(directory)!r}: expected a directory, "
                "got nothing there."
            )
        paths = sorted(directory.glob(_KEY_GLOB))
        if not paths:
            raise ConfigError(
                f"Failed to load signing keys from {str(directory)!r}: expected at least one "
                "'signing-<kid>.pem', got none."
            )
        return cls(SigningKey.from_file(path) for path in paths)

    @classmethod
    def load_or_create(cls, directory: Path, *, now: Callable[[], float] = time.time) -> KeyRing:
        """Load ``directory``, first creating it (mode 0700) and a key when it has none.

        Creation is serialized with an ``flock`` on ``<directory>/.lock``, so processes
        starting together agree on one first key.
        """
        try:
            directory.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            pass
        else:
            os.chmod(directory, 0o700)  # exact, whatever the umask
        if not directory.is_dir():
            raise ConfigError(
                f"Failed to create signing keys in {str(directory)!r}: expected a directory, "
                "got a file."
            )
        if not any(directory.glob(_KEY_GLOB)):
            with _directory_lock(directory):
                if not any(directory.glob(_KEY_GLOB)):  # another process may have won
                    _write_key(directory, SigningKey.generate(int(now())))
        return cls.load(directory)

    @classmethod
    def rotate(cls, directory: Path, *, now: Callable[[], float] = time.time) -> str:
        """Add a key that becomes active, keep the others published; return its kid.

        The new key's ``created`` is later than every existing key's even if the clock
        runs behind, so it is always the one that loads as active.
        """
        with _directory_lock(directory):
            newest = cls.load(directory).active
            key = SigningKey.generate(max(int(now()), newest.created + 1))
            _write_key(directory, key)
        return key.kid


# --- signing ---------------------------------------------------------------------------


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of ``body``: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _check_field_value(name: str, value: str) -> None:
    # A value must survive a verifier's whitespace trimming and fit the ASCII signature base.
    if (
        not isinstance(value, str)
        or not value.isascii()
        or not value.isprintable()
        or value != value.strip(" ")
    ):
        raise InvalidInput(
            f"Failed to sign header {name!r}: expected printable ASCII without surrounding "
            f"spaces, got {value!r}.",
            code="signature.header_invalid",
            field=name,
        )


class ResponseSigner:
    """Signs verdict responses and webhook requests with a key ring's active key.

    The private key object and the fixed parts of ``Signature-Input`` are prepared once;
    each call hashes the body, formats the signature base by hand and signs it.
    """

    def __init__(self, keyring: KeyRing, *, now: Callable[[], float] = time.time) -> None:
        active = keyring.active
        self.keyring = keyring
        self.kid = active.kid
        self._sign_bytes = active.private_key.sign
        self._now = now
        self._param_tail = f';keyid="{active.kid}";alg="{ALGORITHM}"'
        # extra header names as passed -> (lowercase names, their covered-component ids)
        self._extra_names: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}

    def sign(
        self,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/json",
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Headers to send with ``body``: Content-Type, Content-Digest, any extra headers,
        Signature-Input and Signature, covering ``@status``, ``content-type``,
        ``content-digest`` and every extra header."""
        if type(status) is not int or not 100 <= status <= 999:
            raise InvalidInput(
                f"Failed to sign a response with status {status!r}: "
                "expected a three-digit integer.",
                code="signature.header_invalid",
                field="status",
            )
        return self._sign('"@status"', f'"@status": {status}\n', body, content_type, extra_headers)

    def sign_request(
        self,
        method: str,
        target_uri: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Headers for an outbound request (a webhook POST), covering ``@method``,
        ``@target-uri``, ``content-type``, ``content-digest`` and every extra header.

        The target URI is normalized as a receiver rebuilds it: lowercase scheme and host,
        no default port, no userinfo or fragment, ``/`` for an empty path.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise InvalidInput(
                f"Failed to sign a request with method {method!r}: "
                "expected an uppercase token such as 'POST'.",
                code="signature.header_invalid",
                field="method",
            )
        uri = _normalize_target_uri(target_uri)
        return self._sign(
            '"@method" "@target-uri"',
            f'"@method": {method}\n"@target-uri": {uri}\n',
            body,
            content_type,
            extra_headers,
        )

    def _sign(
        self,
        derived_ids: str,
        derived_lines: str,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None,
    ) -> dict[str, str]:
        _check_field_value("Content-Type", content_type)
        digest = content_digest(body)
        created = int(self._now())
        headers = {"Content-Type": content_type, "Content-Digest": digest}
        if extra_headers:
            lowered, extra_ids = self._covered_extra(tuple(extra_headers))
            lines = []
            for (name, value), low in zip(extra_headers.items(), lowered, strict=True):
                _check_field_value(name, value)
                headers[name] = value
                lines.append(f'"{low}": {value}\n')
            params = (
                f'({derived_ids} "content-type" "content-digest"{extra_ids})'
                f";created={created}{self._param_tail}"
            )
            base = (
                f'{derived_lines}"content-type": {content_type}\n'
                f'"content-digest": {digest}\n{"".join(lines)}"@signature-params": {params}'
            )
        else:
            params = (
                f'({derived_ids} "content-type" "content-digest")'
                f";created={created}{self._param_tail}"
            )
            base = (
                f'{derived_lines}"content-type": {content_type}\n'
                f'"content-digest": {digest}\n"@signature-params": {params}'
            )
        signature = base64.b64encode(self._sign_bytes(base.encode("ascii"))).decode("ascii")
        headers["Signature-Input"] = f"{LABEL}={params}"
        headers["Signature"] = f"{LABEL}=:{signature}:"
        return headers

    def _covered_extra(self, names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        cached = self._extra_names.get(names)
        if cached is not None:
            return cached
        lowered = tuple(name.lower() for name in names)
        for name, low in zip(names, lowered, strict=True):
            if not isinstance(name, str) or not _TOKEN.fullmatch(name) or low in _RESERVED_FIELDS:
                raise InvalidInput(
                    f"Failed to sign extra header {name!r}: expected a header name token other "
                    f"than {sorted(_RESERVED_FIELDS)!r}.",
                    code="signature.header_invalid",
                    field=str(name),
                )
        if len(set(lowered)) != len(lowered):
            raise InvalidInput(
                f"Failed to sign extra headers {list(names)!r}: expected distinct names "
                "ignoring case.",
                code="signature.header_invalid",
            )
        entry = (lowered, "".join(f' "{low}"' for low in lowered))
        if len(self._extra_names) < 64:  # names come from code, not input; bound it anyway
            self._extra_names[names] = entry
        return entry


def _normalize_target_uri(target_uri: str) -> str:
    def fail(expected: str) -> NoReturn:
        raise InvalidInput(
            f"Failed to use {target_uri!r} as a target URI: expected {expected}.",
            code="signature.header_invalid",
            field="target_uri",
        )

    if not isinstance(target_uri, str) or not target_uri.isascii() or not target_uri.isprintable():
        fail("printable ASCII")
    if " " in target_uri:
        fail("no spaces (percent-encode them)")
    parts = urlsplit(target_uri)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        fail("an absolute http or https URL with a host")
    host = parts.hostname  # already lowercase, brackets removed
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        fail("a numeric port")
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    has_query = "?" in target_uri.partition("#")[0]
    query = f"?{parts.query}" if has_query else ""
    return f"{scheme}://{authority}{parts.path or '/'}{query}"


# --- verification ----------------------------------------------------------------------


def verify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    label: str = LABEL,
    max_age: float | None = None,
    now: Callable[[], float] = time.time,
) -> str:
    """Check a signed response against a JWKS; return the kid that signed it.

    The signature must cover ``@status``, ``content-type`` and ``content-digest``, and the
    digest must match ``body``. ``headers`` may be any mapping (repeated field lines from a
    multidict are joined). ``max_age`` (seconds) refuses old signatures; by default archived
    answers verify forever. Raises :class:`~verinet.errors.InvalidInput` with code
    ``signature.invalid``, ``signature.digest_mismatch`` or ``signature.unknown_key``.
    """
    derived = {"@status": str(status)}
    required = ("@status", "content-type", "content-digest")
    return _verify(
        "response", derived, required, headers, body, jwks, label=label, max_age=max_age, now=now
    )


def verify_request(
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    label: str = LABEL,
    max_age: float | None = 300.0,
    now: Callable[[], float] = time.time,
) -> str:
    """Check a signed request (a webhook delivery) against a JWKS; return the kid.

    Like :func:`verify_response`, covering ``@method``, ``@target-uri``, ``content-type``
    and ``content-digest``; ``target_uri`` is the URL the request was received at. By
    default a delivery older than five minutes is refused (replays).
    """
    derived = {"@method": method, "@target-uri": _normalize_target_uri(target_uri)}
    required = ("@method", "@target-uri", "content-type", "content-digest")
    return _verify(
        "request", derived, required, headers, body, jwks, label=label, max_age=max_age, now=now
    )


def _verify(
    what: str,
    derived: Mapping[str, str],
    required: tuple[str, ...],
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    label: str,
    max_age: float | None,
    now: Callable[[], float],
) -> str:
    def fail(expected: str, got: str, code: str = "signature.invalid") -> NoReturn:
        raise InvalidInput(
            f"Failed to verify the {what} signature {label!r}: expected {expected}, got {got}.",
            code=code,
        )

    fields: dict[str, str] = {}
    for name, raw in headers.items():
        low = name.lower()
        value = raw.strip(" \t")
        fields[low] = f"{fields[low]}, {value}" if low in fields else value

    inputs = _parse_signature_header(fields, "signature-input", fail)
    signatures = _parse_signature_header(fields, "signature", fail)
    if label not in inputs or label not in signatures:
        fail(f"a {label!r} member in Signature-Input and Signature", repr(sorted(inputs)))
    covered, params = inputs[label]
    signature, _ = signatures[label]
    if not isinstance(covered, list):
        fail("Signature-Input to hold an inner list", repr(covered))
    if not isinstance(signature, bytes):
        fail("Signature to hold a byte sequence", repr(signature))

    created = params.get("created")
    keyid = params.get("keyid")
    if type(created) is not int:
        fail("an integer 'created' parameter", repr(created))
    if not isinstance(keyid, str):
        fail("a string 'keyid' parameter", repr(keyid))
    if "alg" in params and params["alg"] != ALGORITHM:
        fail(f"alg {ALGORITHM!r}", repr(params["alg"]))

    lines = []
    seen: list[str] = []
    for item, item_params in covered:
        if type(item) is not str or item_params or item in seen:
            fail("distinct plain component names", repr(_serialize_inner_list(covered, {})))
        seen.append(item)
        if item.startswith("@"):
            if item not in derived:
                fail(f"components among {sorted(derived)} or header fields", repr(item))
            value = derived[item]
        elif item in fields:
            value = fields[item]
        else:
            fail(f"a {item!r} header, as the signature covers it", "none")
        lines.append(f'"{item}": {value}\n')
    missing = [name for name in required if name not in seen]
    if missing:
        fail(f"coverage of {list(required)!r}", f"{seen!r} (missing {missing!r})")
    base = "".join(lines) + '"@signature-params": ' + _serialize_inner_list(covered, params)

    public_key = _find_key(jwks, keyid)
    if public_key is None:
        kids = [jwk.get("kid") for jwk in jwks.get("keys", ()) if isinstance(jwk, Mapping)]
        fail(f"a JWKS key with kid {keyid!r}", f"kids {kids!r}", "signature.unknown_key")
    try:
        public_key.verify(signature, base.encode("ascii"))
    except (InvalidSignature, UnicodeEncodeError):
        fail(f"a signature by {keyid!r} over the covered components", "a mismatch")

    moment = now()
    if created > moment + _CLOCK_SKEW:
        fail(f"'created' no later than {int(moment)}", str(created))
    expires = params.get("expires")
    if type(expires) is int and expires < moment:
        fail(f"'expires' no earlier than {int(moment)}", str(expires))
    if max_age is not None and created + max_age < moment:
        fail(f"a signature at most {max_age:g} s old", f"one created at {created}")

    _check_digest(fields["content-digest"], body, fail)
    return keyid


def _parse_signature_header(
    fields: Mapping[str, str], name: str, fail: Callable[[str, str], NoReturn]
) -> dict[str, _Member]:
    if name not in fields:
        fail(f"a {name.title()} header", "none")
    try:
        return _SFParser(fields[name]).dictionary()
    except _SFError as exc:
        fail(f"{name.title()} to be a structured dictionary ({exc})", repr(fields[name]))


def _find_key(jwks: Mapping[str, Any], kid: str) -> Ed25519PublicKey | None:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        return None
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            if (jwk["kid"] if "kid" in jwk else jwk_thumbprint(jwk)) != kid:
                continue
            return Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
        except (InvalidInput, ValueError, binascii.Error):
            continue
    return None


def _check_digest(value: str, body: bytes, fail: Callable[[str, str, str], NoReturn]) -> None:
    try:
        members = _SFParser(value).dictionary()
    except _SFError as exc:
        fail(
            f"Content-Digest to be a structured dictionary ({exc})",
            repr(value),
            "signature.invalid",
        )
    checked = 0
    for algorithm, (digest, _) in members.items():
        if algorithm not in _DIGESTS:
            continue
        if not isinstance(digest, bytes) or not hmac.compare_digest(
            digest, _DIGESTS[algorithm](body).digest()
        ):
            fail(
                f"a Content-Digest matching the body ({content_digest(body)!r})",
                repr(value),
                "signature.digest_mismatch",
            )
        checked += 1
    if not checked:
        fail(f"a Content-Digest using one of {sorted(_DIGESTS)}", repr(value), "signature.invalid")


# --- RFC 8941 structured fields, just enough for signatures and digests ----------------


class _Token(str):
    """An RFC 8941 Token, kept apart from a String."""

    __slots__ = ()


_BareItem = int | float | str | bytes | bool
_Params = dict[str, _BareItem]
_InnerList = list[tuple[_BareItem, _Params]]
_Member = tuple[_BareItem | _InnerList, _Params]


class _SFError(ValueError):
    pass


_SF_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_SF_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_SF_STRING = re.compile(r'"((?:[ !#-\[\]-~]|\\["\\])*)"')
_SF_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_SF_NUMBER = re.compile(r"-?([0-9]{1,15})(?:\.([0-9]{1,3}))?")
_SF_ESCAPE = re.compile(r'\\(["\\])')


class _SFParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> NoReturn:
        raise _SFError(f"expected {expected} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def dictionary(self) -> dict[str, _Member]:
        out: dict[str, _Member] = {}
        self.skip(" ")
        while self.pos < len(self.text):
            key = self.key()
            if key in out:
                self.fail(f"no second member {key!r}")
            if self.peek() == "=":
                self.pos += 1
                out[key] = self.inner_list() if self.peek() == "(" else self.item()
            else:
                out[key] = (True, self.parameters())
            self.skip(" \t")
            if self.pos == len(self.text):
                break
            if self.peek() != ",":
                self.fail("','")
            self.pos += 1
            self.skip(" \t")
            if self.pos == len(self.text):
                self.fail("a member after ','")
        return out

    def item(self) -> _Member:
        return self.bare_item(), self.parameters()

    def inner_list(self) -> _Member:
        self.pos += 1
        items: _InnerList = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return items, self.parameters()
            items.append((self.bare_item(), self.parameters()))
            if self.peek() not in (" ", ")"):
                self.fail("' ' or ')'")

    def parameters(self) -> _Params:
        params: _Params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.key()
            value: _BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        match = _SF_KEY.match(self.text, self.pos)
        if match is None:
            self.fail("a key")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> _BareItem:
        char = self.peek()
        if char == '"':
            match = _SF_STRING.match(self.text, self.pos)
            if match is None:
                self.fail("a string")
            self.pos = match.end()
            return _SF_ESCAPE.sub(r"\1", match.group(1))
        if char == ":":
            match = _SF_BYTES.match(self.text, self.pos)
            if match is None:
                self.fail("a byte sequence")
            try:
                decoded = base64.b64decode(match.group(1), validate=True)
            except binascii.Error:
                self.fail("base64 in the byte sequence")
            self.pos = match.end()
            return decoded
        if char == "?":
            if self.text[self.pos + 1 : self.pos + 2] not in ("0", "1"):
                self.fail("?0 or ?1")
            self.pos += 2
            return self.text[self.pos - 1] == "1"
        if char == "-" or "0" <= char <= "9":
            match = _SF_NUMBER.match(self.text, self.pos)
            if match is None or (match.group(2) is not None and len(match.group(1)) > 12):
                self.fail("a number")
            self.pos = match.end()
            return int(match.group()) if match.group(2) is None else float(match.group())
        match = _SF_TOKEN.match(self.text, self.pos)
        if match is None:
            self.fail("an item")
        self.pos = match.end()
        return _Token(match.group())


def _serialize_bare(value: _BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, _Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def _serialize_params(params: _Params) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}"
        for key, value in params.items()
    )


def _serialize_inner_list(items: _InnerList, params: _Params) -> str:
    inner = " ".join(_serialize_bare(value) + _serialize_params(p) for value, p in items)
    return f"({inner}){_serialize_params(params)}"
