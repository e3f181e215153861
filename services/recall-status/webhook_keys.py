"""recall-status's own webhook signing keys: it signs every delivery itself.

Webhook deliveries are signed with keys of recall-status's own key directory
(``WEBHOOK_KEY_DIR``, the same ``signing-<kid>.pem`` files and machinery as the verifier's
verdict keys, :mod:`verinet.signing`); the gateway publishes their public keys in the
network's JWKS beside the verifier's (``GetWebhookKeys``). So recall-status never calls the
verifier: calls between the two go one way, verifier -> recall-status (pack state).
"""

from __future__ import annotations

from verinet.signing import KeyRing, ResponseSigner


class WebhookKeys:
    """The current key ring and its signer; :meth:`use_keys` swaps both after a rotation."""

    def __init__(self, keys: KeyRing) -> None:
        self.use_keys(keys)

    def use_keys(self, keys: KeyRing) -> None:
        self.keys = keys
        self._signer = ResponseSigner(keys)

    async def sign(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """The signature headers of one webhook request (a ``notifications.Sign``)."""
        return self._signer.sign_request(method, url, body)
