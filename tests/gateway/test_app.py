"""The gateway application: what no route takes, and bodies refused before anything reads them,
answer as problem documents (RFC 9457) like every other refusal."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests

from tests.conftest import RunningNetwork

PROBLEM = "application/problem+json"


def test_a_path_no_route_takes_is_a_404_problem(network: RunningNetwork) -> None:
    answer = requests.get(network.url + "/v1/no-such-thing", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    assert answer.json()["code"] == "route.not_found"


def test_a_known_path_asked_with_another_method_is_a_405_problem_naming_the_allowed_methods(network: RunningNetwork) -> None:
    answer = requests.delete(network.url + "/healthz", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    assert answer.json()["code"] == "method.not_allowed"
    assert answer.headers["Allow"] == "GET"
    both = requests.put(network.url + "/v1/partners", timeout=10)
    assert both.status_code == 405 and set(both.headers["Allow"].split(",")) == {"GET", "POST"}


def test_an_lms_path_missing_a_segment_is_a_404_problem(network: RunningNetwork) -> None:
    answer = requests.get(network.url + "/verify/gtin/00614141000012/lot/L1/ser/", timeout=10)
    assert answer.status_code == 404 and answer.json()["code"] == "route.not_found"


def test_a_declared_body_past_the_limit_is_refused_413_before_authentication_or_reading(network: RunningNetwork) -> None:
    # Only the head is sent: the refusal must come without the gateway waiting for the body.
    where = urlsplit(network.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 999999999999\r\n\r\n"
        )
        head = conn.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head[:200]
    assert PROBLEM in head and '"body.too_large"' in head
