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

Three modules of one idea each: ``keys`` (key files, ``SigningKey``, ``KeyRing`` and the
JWKS), ``signer`` (``ResponseSigner``, the hot path: it formats the signature base by hand)
and ``verification`` (``verify_response``, ``verify_request``; structured fields are read
and written by the ``http-sf`` library). Import them from here.
"""

from __future__ import annotations

from verinet.signing.keys import KeyRing, SigningKey, jwk_thumbprint
from verinet.signing.signer import ALGORITHM, LABEL, ResponseSigner, content_digest
from verinet.signing.verification import verify_request, verify_response

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
