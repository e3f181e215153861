"""Verifying RFC 9421 signatures (responses and webhook requests) against a JWKS, with
precise errors: what was expected, what came. Structured fields (``Signature-Input``,
``Signature``, ``Content-Digest``) are parsed and serialized by the ``http-sf`` library
(RFC 9651); the tests check the same answers with the independent http-message-signatures
verifier too."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_sf.innerlist import ser_innerlist

from verinet.errors import InvalidInput
from verinet.signing.keys import b64url_decode, jwk_thumbprint
from verinet.signing.signer import ALGORITHM, LABEL, content_digest, normalize_target_uri

# How far in the future a signature's ``created`` may lie before it is refused.
_CLOCK_SKEW: Final = 60.0
_DIGESTS: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


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
    derived = {"@method": method, "@target-uri": normalize_target_uri(target_uri)}
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
            fail("distinct plain component names", repr(ser_innerlist((covered, {}))))
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
    base = "".join(lines) + '"@signature-params": ' + ser_innerlist((covered, params))

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
) -> dict[str, Any]:
    if name not in fields:
        fail(f"a {name.title()} header", "none")
    try:
        return _dictionary(fields[name])
    except (http_sf.StructuredFieldError, UnicodeEncodeError) as exc:
        fail(f"{name.title()} to be a structured dictionary ({exc})", repr(fields[name]))


def _dictionary(value: str) -> dict[str, Any]:
    """``value`` as an RFC 9651 dictionary of ``(value, parameters)`` members; a key given
    twice is refused rather than the last one winning, so one label cannot hide another."""

    def refuse_repeated(key: str, context: str) -> None:
        if context == "dictionary":
            raise http_sf.StructuredFieldError(f"no second member {key!r}")

    parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary", on_duplicate_key=refuse_repeated)
    assert isinstance(parsed, dict)
    return parsed


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
            return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        except (InvalidInput, ValueError, binascii.Error):
            continue
    return None


def _check_digest(value: str, body: bytes, fail: Callable[[str, str, str], NoReturn]) -> None:
    try:
        members = _dictionary(value)
    except (http_sf.StructuredFieldError, UnicodeEncodeError) as exc:
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
