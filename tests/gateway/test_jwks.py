"""The network's JWKS: verdict keys and webhook keys, and the verdict keys even while recall-status is down."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import requests

from verinet.gateway.system import JWKS_PARTIAL_SECONDS


def jwks(network: Any) -> requests.Response:
    answer = requests.get(network.url + "/.well-known/jwks.json", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


def max_age(answer: requests.Response) -> int:
    return int(answer.headers["Cache-Control"].split("max-age=")[1])


def test_verdict_keys_are_served_while_recall_status_is_unreachable_and_the_webhook_keys_follow(network: Any) -> None:
    recall_status = network.network.processes["recall-status"].pid
    os.kill(recall_status, signal.SIGSTOP)
    try:
        partial = jwks(network)
    finally:
        os.kill(recall_status, signal.SIGCONT)
    assert max_age(partial) <= JWKS_PARTIAL_SECONDS
    verdict_keys = {key["kid"] for key in partial.json()["keys"]}
    assert verdict_keys, "the verifier's keys are missing"

    time.sleep(JWKS_PARTIAL_SECONDS + 0.5)
    whole = jwks(network)
    all_keys = {key["kid"] for key in whole.json()["keys"]}
    assert verdict_keys < all_keys, "recall-status's webhook keys did not come back"
    assert max_age(whole) > JWKS_PARTIAL_SECONDS
