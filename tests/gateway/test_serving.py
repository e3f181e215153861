"""Request heads past the gateway's limits: 431 for header floods, 414 for an over-long request
line, each a problem document on a closed connection, and no one else notices."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import RunningNetwork, start_network
from verinet.gateway.serving import (
    MAX_FIELD_BYTES,
    MAX_HEADERS,
    MAX_REQUEST_LINE_BYTES,
    backlog_warning,
)


def raw_exchange(network: RunningNetwork, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes on a fresh connection and reads the whole answer, until the server closes
    (a socket timeout fails the test: a refused head must end its connection)."""
    port = int(network.url.rsplit(":", 1)[1])
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before reading all
            sock.sendall(data)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split(" ")[1]), headers, body


def get_me(network: RunningNetwork, *, extra_headers: bytes = b"", query: bytes = b"") -> bytes:
    token = network.network.info["admin_token"].encode()
    return (
        b"GET /v1/partners/me" + query + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: Bearer " + token + b"\r\n" + extra_headers + b"\r\n"
    )


def numbered_headers(count: int) -> bytes:
    return b"".join(b"X-F%d: v\r\n" % i for i in range(count))


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(numbered_headers(MAX_HEADERS), id="too-many-headers"),
        pytest.param(numbered_headers(20_000), id="twenty-thousand-headers"),
        pytest.param(b"X-Big: " + b"v" * (MAX_FIELD_BYTES + 1) + b"\r\n", id="long-value"),
        pytest.param(b"X-" + b"n" * (MAX_FIELD_BYTES - 1) + b": v\r\n", id="long-name"),
        pytest.param(b"X-Huge: " + b"v" * 1_000_000 + b"\r\n", id="megabyte-value"),
    ],
)
def test_header_floods_are_refused_with_431_as_a_problem_document(network: RunningNetwork, attack: bytes) -> None:
    status, headers, body = raw_exchange(network, get_me(network, extra_headers=attack))
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 431
    assert problem["code"] == "request.headers_too_large"
    assert problem["title"] == "Request Header Fields Too Large"


@pytest.mark.parametrize("length", [MAX_REQUEST_LINE_BYTES, 200_000])
def test_an_over_long_request_line_is_refused_with_414(network: RunningNetwork, length: int) -> None:
    status, headers, body = raw_exchange(network, get_me(network, query=b"?q=" + b"q" * length))
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "request.uri_too_long"


def test_heads_within_the_limits_are_served(network: RunningNetwork) -> None:
    # Host, Connection and Authorization count too: MAX_HEADERS in all.
    many, _, _ = raw_exchange(network, get_me(network, extra_headers=numbered_headers(MAX_HEADERS - 3)))
    long_value, _, _ = raw_exchange(network, get_me(network, extra_headers=b"X-Big: " + b"v" * (MAX_FIELD_BYTES - 7) + b"\r\n"))
    long_line, _, _ = raw_exchange(network, get_me(network, query=b"?q=" + b"q" * 8000))
    assert (many, long_value, long_line) == (200, 200, 200)


def test_other_clients_are_served_while_floods_are_refused(network: RunningNetwork) -> None:
    admin = network.admin  # one keep-alive connection, open before and during the floods
    assert admin.get("/v1/partners/me").status_code == 200
    floods = [get_me(network, extra_headers=numbered_headers(5_000))] * 20 + [get_me(network, query=b"?" + b"q" * 100_000)] * 20
    with ThreadPoolExecutor(8) as pool:
        refused = pool.map(lambda data: raw_exchange(network, data)[0], floods)
        served = [admin.get("/v1/partners/me").status_code for _ in range(20)]
        assert sorted(set(refused)) == [414, 431]
    assert served == [200] * 20
    assert admin.get("/readyz").status_code == 200


def connect_all(port: int, count: int, wait_seconds: float) -> tuple[list[socket.socket], int]:
    """Starts ``count`` connections at once; the sockets, and how many the kernel had not
    established after ``wait_seconds``."""
    sockets, pending = [], selectors.DefaultSelector()
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        assert sock.connect_ex(("127.0.0.1", port)) in (0, errno.EINPROGRESS)
        sockets.append(sock)
        pending.register(sock, selectors.EVENT_WRITE)
    deadline = time.monotonic() + wait_seconds
    while pending.get_map() and time.monotonic() < deadline:
        for key, _ in pending.select(timeout=0.1):
            assert key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0  # type: ignore[union-attr]
            pending.unregister(key.fileobj)
    not_established = len(pending.get_map())
    pending.close()
    return sockets, not_established


def test_a_burst_of_connections_waits_in_the_backlog_while_the_gateway_is_busy(tmp_path: Path) -> None:
    """A client opening hundreds of connections at once while the gateway cannot accept them
    (its event loop busy, here stopped outright) has every one established by the kernel and
    answered once the gateway gets to it. With aiohttp's backlog of 128, SYNs past it were
    dropped and retried a second later: the soak saw them as one-second answers."""
    burst = 600
    network = start_network(tmp_path)
    sockets: list[socket.socket] = []
    try:
        gateway = network.processes["gateway"]
        os.kill(gateway.pid, signal.SIGSTOP)
        try:
            # A dropped SYN is retried after 1 s, then 3 s more: 5 s is long enough to tell.
            sockets, not_established = connect_all(network.gateway_port, burst, wait_seconds=5.0)
        finally:
            os.kill(gateway.pid, signal.SIGCONT)
        assert not_established == 0, f"{not_established} of {burst} connections were not established while the gateway was busy"
        for sock in sockets:
            sock.setblocking(True)
            sock.settimeout(30)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        statuses = []
        for sock in sockets:
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            statuses.append(answer.split(b" ", 2)[1])
        assert statuses == [b"200"] * burst
    finally:
        for sock in sockets:
            sock.close()
        network.stop()


def test_the_operator_is_told_when_the_kernel_caps_the_listen_backlog_lower(tmp_path: Path) -> None:
    somaxconn = tmp_path / "somaxconn"
    somaxconn.write_text("128\n")
    warning = backlog_warning(4096, somaxconn)
    assert warning is not None
    assert "at 128 (net.core.somaxconn), below LISTEN_BACKLOG=4096" in warning
    assert "sysctl -w net.core.somaxconn=4096" in warning
    somaxconn.write_text("4096\n")
    assert backlog_warning(4096, somaxconn) is None
    assert backlog_warning(4096, tmp_path / "absent") is None  # not Linux: nothing to say
