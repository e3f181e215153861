"""Checks verinet's signed answers the way a partner would: an independent RFC 9421 library
(http-message-signatures) with the keys of the served JWKS and nothing else."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms


class JwksResolver(HTTPSignatureKeyResolver):
    """Resolves a signature's key id to the Ed25519 public key of that id in a JWKS."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.keys = {key["kid"]: key for key in jwks["keys"]}

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        jwk = self.keys[key_id]
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)


def jwks_verifier(jwks: dict[str, Any]) -> HTTPMessageVerifier:
    return HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=JwksResolver(jwks))
