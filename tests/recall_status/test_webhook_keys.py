"""recall-status signs webhook deliveries with its own keys, and a rotated key signs from then on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from verinet.recall_status.webhook_keys import WebhookKeys
from verinet.signing import KeyRing, verify_request

URL = "https://partner.example/hooks/recalls"
BODY = b'{"id":"nt_1","event":"recall.published"}'


def test_a_delivery_is_signed_with_the_active_webhook_key_and_verifies_with_its_jwks(tmp_path: Path) -> None:
    keys = WebhookKeys(KeyRing.load_or_create(tmp_path / "webhook-keys"))
    headers = asyncio.run(keys.sign("POST", URL, BODY))
    assert verify_request("POST", URL, headers, BODY, keys.keys.jwks()) == keys.keys.active.kid


def test_after_a_rotation_the_new_key_signs_and_the_old_one_stays_published(tmp_path: Path) -> None:
    directory = tmp_path / "webhook-keys"
    keys = WebhookKeys(KeyRing.load_or_create(directory))
    before = keys.keys.active.kid
    rotated = KeyRing.rotate(directory)
    keys.use_keys(KeyRing.load(directory))
    headers = asyncio.run(keys.sign("POST", URL, BODY))
    assert verify_request("POST", URL, headers, BODY, keys.keys.jwks()) == rotated != before
    assert before in keys.keys.kids
