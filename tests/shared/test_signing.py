"""verinet.signing with real Ed25519 keys, checked against an independent RFC 9421 verifier.

The independent side is the ``http-message-signatures`` package. Its verifier only ever sees
public keys rebuilt here from the JWKS ``x`` members, as a partner would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from requests.structures import CaseInsensitiveDict

from verinet.errors import ConfigError, InvalidInput
from verinet.signing import (
    KeyRing,
    ResponseSigner,
    jwk_thumbprint,
    verify_request,
    verify_response,
)

BODY = b'{"verified":true,"gtin":"00312345678906","serialNumber":"ABC123"}'
RESPONSE_COMPONENTS = ("@status", "content-type", "content-digest")
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest")
# A fixed moment in the past: 2025-06-15T15:06:40Z.
PAST = 1_750_000_000.0


def fixed_clock(moment: float) -> Callable[[], float]:
    return lambda: moment


def independent_verifier(jwks: Mapping[str, Any]) -> HTTPMessageVerifier:
    """An http-message-signatures verifier that knows only the JWKS's public keys."""
    public_keys = {
        jwk["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "="))
        for jwk in jwks["keys"]
    }
    return HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys=public_keys, private_keys={}),
    )


def as_response(status: int, headers: Mapping[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers)
    return response


def flip_signature(headers: Mapping[str, str]) -> dict[str, str]:
    label, _, value = headers["Signature"].partition("=")
    raw = bytearray(base64.b64decode(value.strip(":")))
    raw[0] ^= 0x01
    return {**headers, "Signature": f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"}


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def ring(key_dir: Path) -> KeyRing:
    return KeyRing.load_or_create(key_dir)


# --- keys ------------------------------------------------------------------------------


def test_kid_is_the_rfc_7638_thumbprint_of_the_rfc_8037_example_key() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_load_or_create_makes_a_private_directory_with_one_private_key_file(
    key_dir: Path,
) -> None:
    ring = KeyRing.load_or_create(key_dir)

    [key_file] = key_dir.glob("signing-*.pem")
    assert key_file.name == f"signing-{ring.active.kid}.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert key_file.read_bytes().startswith(b"Created: ")
    assert b"-----BEGIN PRIVATE KEY-----" in key_file.read_bytes()


def test_load_or_create_twice_reuses_the_key(key_dir: Path) -> None:
    first = KeyRing.load_or_create(key_dir)
    second = KeyRing.load_or_create(key_dir)

    assert second.kids == first.kids
    assert len(list(key_dir.glob("signing-*.pem"))) == 1


def test_jwks_publishes_each_key_as_an_ed25519_signing_jwk_whose_kid_is_its_thumbprint(
    ring: KeyRing,
) -> None:
    [jwk] = ring.jwks()["keys"]

    assert jwk.keys() == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")
    assert jwk["kid"] == ring.active.kid == jwk_thumbprint(jwk)
    assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32


def test_jwks_json_is_the_jwks_as_cached_bytes(ring: KeyRing) -> None:
    assert json.loads(ring.jwks_json()) == ring.jwks()
    assert ring.jwks_json() is ring.jwks_json()


def test_key_files_readable_by_others_are_refused(key_dir: Path, ring: KeyRing) -> None:
    [key_file] = key_dir.glob("signing-*.pem")
    key_file.chmod(0o644)

    with pytest.raises(ConfigError, match="expected mode 0600"):
        KeyRing.load(key_dir)


def test_a_key_file_named_for_another_kid_is_refused(key_dir: Path, ring: KeyRing) -> None:
    [key_file] = key_dir.glob("signing-*.pem")
    key_file.rename(key_dir / f"signing-{'A' * 43}.pem")

    with pytest.raises(ConfigError, match="thumbprint"):
        KeyRing.load(key_dir)


def test_loading_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        KeyRing.load(tmp_path)


# --- responses -------------------------------------------------------------------------


def test_a_signed_response_verifies_with_http_message_signatures_from_the_jwks_alone(
    ring: KeyRing,
) -> None:
    headers = ResponseSigner(ring).sign(BODY)

    [result] = independent_verifier(ring.jwks()).verify(
        as_response(200, headers), body=BODY, require_components=RESPONSE_COMPONENTS
    )

    assert result.label == "sig1"
    assert result.parameters["keyid"] == ring.active.kid
    assert result.parameters["alg"] == "ed25519"
    assert result.body == BODY


def test_a_signed_response_carries_the_rfc_9530_digest_and_the_rfc_9421_fields(
    ring: KeyRing,
) -> None:
    headers = ResponseSigner(ring, now=fixed_clock(PAST)).sign(BODY, status=404)

    digest = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Digest"] == f"sha-256=:{digest}:"
    assert headers["Signature-Input"] == (
        'sig1=("@status" "content-type" "content-digest")'
        f';created={int(PAST)};keyid="{ring.active.kid}";alg="ed25519"'
    )
    assert headers["Signature"].startswith("sig1=:")


def test_our_verifier_returns_the_kid_of_a_signed_response(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign(BODY, status=409, content_type="application/problem+json")

    assert verify_response(409, headers, BODY, ring.jwks()) == ring.active.kid


def refused_by_both_verifiers(
    ring: KeyRing, status: int, headers: Mapping[str, str], body: bytes, library_says: str = ""
) -> str:
    """Asserts that http-message-signatures and ours both refuse the response; returns our code."""
    with pytest.raises(InvalidSignature, match=library_says or None):
        independent_verifier(ring.jwks()).verify(as_response(status, headers), body=body)
    with pytest.raises(InvalidInput) as caught:
        verify_response(status, headers, body, ring.jwks())
    return caught.value.code


def test_a_tampered_body_fails_the_digest_check_in_both_verifiers(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign(BODY)
    tampered = BODY.replace(b"true", b"fals")

    code = refused_by_both_verifiers(ring, 200, headers, tampered, library_says="Content-Digest")
    assert code == "signature.digest_mismatch"


def test_a_tampered_signature_fails_in_both_verifiers(ring: KeyRing) -> None:
    headers = flip_signature(ResponseSigner(ring).sign(BODY))

    assert refused_by_both_verifiers(ring, 200, headers, BODY) == "signature.invalid"


def test_a_changed_status_fails_in_both_verifiers(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign(BODY, status=200)

    assert refused_by_both_verifiers(ring, 500, headers, BODY) == "signature.invalid"


def test_extra_headers_are_returned_covered_and_protected(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign(BODY, extra_headers={"Verinet-Responder": "urn:gln:1"})
    verifier = independent_verifier(ring.jwks())

    assert headers["Verinet-Responder"] == "urn:gln:1"
    verifier.verify(
        as_response(200, headers),
        body=BODY,
        require_components=(*RESPONSE_COMPONENTS, "verinet-responder"),
    )
    assert verify_response(200, headers, BODY, ring.jwks()) == ring.active.kid
    forged = {**headers, "Verinet-Responder": "urn:gln:2"}
    with pytest.raises(InvalidSignature):
        verifier.verify(as_response(200, forged), body=BODY)
    with pytest.raises(InvalidInput, match="signature by"):
        verify_response(200, forged, BODY, ring.jwks())


def test_a_signature_by_a_key_missing_from_the_jwks_is_an_unknown_key(
    ring: KeyRing, tmp_path: Path
) -> None:
    other = KeyRing.load_or_create(tmp_path / "other")
    headers = ResponseSigner(other).sign(BODY)

    with pytest.raises(InvalidInput) as caught:
        verify_response(200, headers, BODY, ring.jwks())
    assert caught.value.code == "signature.unknown_key"


def signed_by_the_library(
    ring: KeyRing, covered: tuple[str, ...], body: bytes | None
) -> dict[str, str]:
    """The headers of a JSON 200 response that http-message-signatures signed with the ring's
    active key over ``covered``; given a ``body``, it also adds and covers its Content-Digest."""
    response = as_response(200, {"Content-Type": "application/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={ring.active.kid: ring.active.private_key}
        ),
    )
    signer.sign(
        response, key_id=ring.active.kid, label="sig1", covered_component_ids=covered, body=body
    )
    return dict(response.headers)


def test_our_verifier_accepts_a_response_signed_by_http_message_signatures(
    ring: KeyRing,
) -> None:
    headers = signed_by_the_library(ring, ("content-type", "@status"), BODY)

    assert verify_response(200, headers, BODY, ring.jwks()) == ring.active.kid


def test_our_verifier_refuses_a_signature_that_does_not_cover_the_digest(ring: KeyRing) -> None:
    headers = signed_by_the_library(ring, ("@status", "content-type"), None)

    with pytest.raises(InvalidInput, match="missing \\['content-digest'\\]"):
        verify_response(200, headers, BODY, ring.jwks())


def test_max_age_refuses_a_signature_older_than_allowed(ring: KeyRing) -> None:
    headers = ResponseSigner(ring, now=fixed_clock(PAST)).sign(BODY)

    assert verify_response(200, headers, BODY, ring.jwks(), now=fixed_clock(PAST + 3600)) == (
        ring.active.kid
    )
    with pytest.raises(InvalidInput, match="at most 60 s old"):
        verify_response(200, headers, BODY, ring.jwks(), max_age=60, now=fixed_clock(PAST + 3600))


def test_header_values_that_would_change_the_signature_base_are_refused(ring: KeyRing) -> None:
    signer = ResponseSigner(ring)

    with pytest.raises(InvalidInput, match="printable ASCII"):
        signer.sign(BODY, content_type="application/json\r\nX-Evil: 1")
    with pytest.raises(InvalidInput, match="printable ASCII"):
        signer.sign(BODY, extra_headers={"Verinet-Responder": " padded"})
    with pytest.raises(InvalidInput, match="header name token"):
        signer.sign(BODY, extra_headers={"Content-Digest": "sha-256=:AAAA:"})
    with pytest.raises(InvalidInput, match="three-digit"):
        signer.sign(BODY, status=42)


# --- rotation --------------------------------------------------------------------------


def test_after_rotation_old_responses_still_verify_and_new_ones_use_the_new_kid(
    key_dir: Path,
) -> None:
    old_ring = KeyRing.load_or_create(key_dir, now=fixed_clock(PAST))
    old_headers = ResponseSigner(old_ring, now=fixed_clock(PAST)).sign(BODY)

    new_kid = KeyRing.rotate(key_dir, now=fixed_clock(PAST + 86400))
    new_ring = KeyRing.load(key_dir)
    new_headers = ResponseSigner(new_ring).sign(BODY)

    assert new_ring.active.kid == new_kid != old_ring.active.kid
    assert new_ring.kids == (new_kid, old_ring.active.kid)
    assert stat.S_IMODE((key_dir / f"signing-{new_kid}.pem").stat().st_mode) == 0o600
    verifier = independent_verifier(new_ring.jwks())
    [old_result] = verifier.verify(as_response(200, old_headers), body=BODY, max_age=None)
    [new_result] = verifier.verify(as_response(200, new_headers), body=BODY)
    assert old_result.parameters["keyid"] == old_ring.active.kid
    assert new_result.parameters["keyid"] == new_kid
    assert verify_response(200, old_headers, BODY, new_ring.jwks()) == old_ring.active.kid
    assert verify_response(200, new_headers, BODY, new_ring.jwks()) == new_kid


def test_rotation_makes_the_new_key_active_even_when_the_clock_runs_behind(
    key_dir: Path,
) -> None:
    KeyRing.load_or_create(key_dir, now=fixed_clock(PAST))

    new_kid = KeyRing.rotate(key_dir, now=fixed_clock(PAST - 3600))

    assert KeyRing.load(key_dir).active.kid == new_kid


# --- webhook requests ------------------------------------------------------------------


def test_a_signed_webhook_request_verifies_with_http_message_signatures(ring: KeyRing) -> None:
    url = "https://partner.example/hooks/recalls?tenant=7"
    headers = ResponseSigner(ring).sign_request("POST", url, BODY)
    request = requests.Request("POST", url, headers=headers, data=BODY).prepare()

    [result] = independent_verifier(ring.jwks()).verify(
        request, body=BODY, require_components=REQUEST_COMPONENTS
    )

    assert result.parameters["keyid"] == ring.active.kid
    assert result.covered_components['"@target-uri"'] == url


def test_a_signed_webhook_request_covers_the_normalized_target_uri(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign_request(
        "POST", "HTTPS://user:pw@Partner.Example:443?x=1#top", BODY
    )

    assert verify_request("POST", "https://partner.example/?x=1", headers, BODY, ring.jwks()) == (
        ring.active.kid
    )


def test_a_webhook_request_replayed_to_another_target_fails_in_both_verifiers(
    ring: KeyRing,
) -> None:
    headers = ResponseSigner(ring).sign_request("POST", "https://partner.example/hooks/a", BODY)
    replayed = requests.Request(
        "POST", "https://partner.example/hooks/b", headers=headers, data=BODY
    ).prepare()

    with pytest.raises(InvalidSignature):
        independent_verifier(ring.jwks()).verify(replayed, body=BODY)
    with pytest.raises(InvalidInput) as caught:
        verify_request("POST", "https://partner.example/hooks/b", headers, BODY, ring.jwks())
    assert caught.value.code == "signature.invalid"


def test_a_webhook_request_with_a_tampered_body_fails_the_digest_check(ring: KeyRing) -> None:
    url = "https://partner.example/hooks"
    headers = ResponseSigner(ring).sign_request("POST", url, BODY)

    with pytest.raises(InvalidInput) as caught:
        verify_request("POST", url, headers, BODY + b" ", ring.jwks())
    assert caught.value.code == "signature.digest_mismatch"


def test_a_signature_input_naming_a_label_twice_is_refused_not_read_last_wins(ring: KeyRing) -> None:
    headers = ResponseSigner(ring).sign(BODY)
    doubled = {**headers, "Signature-Input": f"{headers['Signature-Input']}, {headers['Signature-Input']}"}

    with pytest.raises(InvalidInput, match="no second member 'sig1'") as caught:
        verify_response(200, doubled, BODY, ring.jwks())
    assert caught.value.code == "signature.invalid"
