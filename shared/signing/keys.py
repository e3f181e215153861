"""Signing keys: one Ed25519 key per file of a key directory, the key ring they make, and its
JWKS (the file layout is described in ``verinet.signing``)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verinet.errors import ConfigError, InvalidInput

_KEY_GLOB: Final = "signing-*.pem"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_KEY_NAME = re.compile(r"signing-([A-Za-z0-9_-]{43})\.pem")
_CREATED_PREFIX: Final = "Created: "
_CREATED_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
# Group read is tolerated because Kubernetes adds it to Secret files when fsGroup is set.
_FORBIDDEN_KEY_MODE: Final = 0o037


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise ValueError(f"expected unpadded base64url text, got {text!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


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
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


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
