"""Renewed certificates and keys, taken while serving (mTLS files, signing key directories).

cert-manager renews a certificate well before it expires and rewrites its Secret; Kubernetes
then swaps the files of the mounted volume at once (a symlink flip), and ``verinet up`` renews
its own the same way. A service that read its files once would present the old certificate
until expiry and then fail every handshake. :class:`TlsFiles` notices a change (checked at
most every ``interval`` seconds, so the hot path pays a clock read) and hands out the new
material only once it is whole: the certificate matches the key and the CA parses, so a
half-written set never replaces a good one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from verinet.config import InternalTls
from verinet.errors import ConfigError
from verinet.signing import KeyRing

log = logging.getLogger(__name__)

#: How often the files are looked at: renewals come days before expiry, so seconds are plenty.
DEFAULT_CHECK_SECONDS = 5.0

Fingerprint = tuple[tuple[int, int, int], ...]


def fingerprint(paths: tuple[Path, ...]) -> Fingerprint | None:
    """What identifies the files' current contents (inode, size, mtime), None if one is
    missing (a swap in progress)."""
    try:
        stats = [os.stat(path) for path in paths]  # follows the volume's symlinks
    except OSError:
        return None
    return tuple((stat.st_ino, stat.st_size, stat.st_mtime_ns) for stat in stats)


def read_whole(current: InternalTls) -> InternalTls:
    """The files of ``current`` read again; ValueError unless they form a usable set."""
    assert current.files is not None
    ca, cert, key = (path.read_bytes() for path in current.files)
    x509.load_pem_x509_certificates(ca)
    leaf = x509.load_pem_x509_certificates(cert)[0]
    private = serialization.load_pem_private_key(key, password=None)
    public_of_key = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_of_cert = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public_of_key != public_of_cert:
        raise ValueError("the certificate does not belong to the key")
    return replace(current, ca=ca, cert=cert, key=key)


@dataclass
class TlsFiles:
    """The mTLS material of one service, renewed when its files change."""

    current: InternalTls
    interval: float = DEFAULT_CHECK_SECONDS
    clock: Callable[[], float] = time.monotonic
    _seen: Fingerprint | None = field(default=None, init=False)
    _next_check: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.current.files is not None:
            self._seen = fingerprint(self.current.files)
            self._next_check = self.clock() + self.interval

    def renewed(self) -> InternalTls | None:
        """The new material when the files changed since the last look and are whole; None
        otherwise (nothing new, not yet time to look, or a set not usable yet)."""
        files = self.current.files
        if files is None or self.clock() < self._next_check:
            return None
        self._next_check = self.clock() + self.interval
        seen = fingerprint(files)
        if seen is None or seen == self._seen:
            return None
        try:
            fresh = read_whole(self.current)
        except (OSError, ValueError) as error:
            # Looked at again next time: the rest of the set may still be on its way.
            log.warning("Ignoring renewed internal TLS files for now: %s", error)
            return None
        self._seen = seen
        if (fresh.ca, fresh.cert, fresh.key) == (self.current.ca, self.current.cert, self.current.key):
            return None
        self.current = fresh
        log.info("Internal TLS certificate renewed from %s", files[1])
        return fresh



def signing_keys_fingerprint(directory: Path, pattern: str = "signing-*.pem") -> tuple[tuple[str, int, int, int], ...]:
    """What identifies a key directory's keys: adding, replacing or removing one changes it."""
    found = []
    for path in sorted(directory.glob(pattern)):
        try:
            stat = os.stat(path)  # through the Secret volume's symlinks
        except OSError:
            continue  # removed while looking: the next look sees the new set
        found.append((path.name, stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


async def follow_signing_keys(
    directory: Path, use: Callable[[KeyRing], None], interval: float = DEFAULT_CHECK_SECONDS
) -> None:
    """Loads a key directory again whenever its keys change (a rotation written into the
    Secret, or KeyRing.rotate on the directory) and hands the new ring to ``use``: the newest
    key signs from then on, every key stays published. A set that does not load yet (a key
    half written) is retried. Runs until cancelled."""
    seen = signing_keys_fingerprint(directory)
    while True:
        await asyncio.sleep(interval)
        now_seen = signing_keys_fingerprint(directory)
        if now_seen == seen:
            continue
        try:
            keys = KeyRing.load(directory)
        except (ConfigError, ValueError, OSError) as error:
            log.warning("Ignoring changed signing keys in %s for now: %s", directory, error)
            continue
        seen = now_seen
        use(keys)
        log.info(
            "Signing keys reloaded",
            extra={"key_dir": str(directory), "active_kid": keys.active.kid, "kids": list(keys.kids)},
        )
