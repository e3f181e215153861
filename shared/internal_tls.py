"""A private certificate authority for mutual TLS between the services of one machine.

``verinet up --internal-mtls`` keeps it under the data directory: the CA and one certificate
per service, keys mode 0600, reused on the next start (and renewed when close to expiry). In
a cluster the certificates come from your own CA or cert-manager instead (deploy/k8s/README.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = dt.timedelta(days=3650)
LEAF_LIFETIME = dt.timedelta(days=397)
#: A certificate closer than this to its end is replaced at start.
RENEW_BEFORE = dt.timedelta(days=30)
#: Names every service answers to on one machine; its own name covers a cluster's DNS.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServiceFiles:
    """The three files a service's INTERNAL_TLS_* settings name."""

    ca: Path
    cert: Path
    key: Path

    def as_env(self) -> dict[str, str]:
        return {
            "INTERNAL_TLS_CA_FILE": str(self.ca),
            "INTERNAL_TLS_CERT_FILE": str(self.cert),
            "INTERNAL_TLS_KEY_FILE": str(self.key),
        }


def ensure_certificates(directory: Path, services: Iterable[str]) -> dict[str, ServiceFiles]:
    """The CA and a certificate for each service, created when missing or near expiry."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.UTC)
    ca_cert_file, ca_key_file = directory / "ca.crt", directory / "ca.key"
    ca = _load(ca_cert_file, ca_key_file, now)
    renewed_ca = ca is None
    if ca is None:
        ca = _new_ca(now)
        _write(ca_cert_file, ca_key_file, *ca)
    ca_cert, ca_key = ca
    files: dict[str, ServiceFiles] = {}
    for service in services:
        cert_file, key_file = directory / f"{service}.crt", directory / f"{service}.key"
        leaf = None if renewed_ca else _load(cert_file, key_file, now)
        if leaf is None:
            _write(cert_file, key_file, *_new_leaf(service, ca_cert, ca_key, now))
        files[service] = ServiceFiles(ca=ca_cert_file, cert=cert_file, key=key_file)
    return files


def _load(
    cert_file: Path, key_file: Path, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    if not (cert_file.exists() and key_file.exists()):
        return None
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.not_valid_after_utc - now < RENEW_BEFORE:
        return None
    return cert, key


def _write(cert_file: Path, key_file: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created 0600 and replaced atomically: the key is never readable by others, even briefly.
    tmp = key_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.replace(tmp, key_file)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _new_ca(now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "verinet internal CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_leaf(
    service: str, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(service)]
    for name in LOCAL_NAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Each service is a server to its callers and a client of its callees.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key
