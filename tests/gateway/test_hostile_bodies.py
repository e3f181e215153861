"""Hostile bodies cost the gateway little: a family of them (deep, wide, long lines, long keys
and values, many small events, broken encodings, truncated) goes to every route that takes a
body, as listed by the live /openapi.json, so a new route is covered the day it is added.

Each answer is asserted (status and problem code), arrives within 2 seconds, and the
gateway's resident memory (VmHWM, its peak, from /proc) stays under the documented bound: one
request costs at most about 2 x MAX_BODY_BYTES (the body as it arrives, then joined) and
100 bytes a value for at most MAX_JSON_VALUES values, plus 64 MiB of slack for buffers and the
allocator. Figures for the default limits come from ``bench/hostile_bodies.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import requests

from tests.conftest import RunningNetwork
from verinet.network import with_check_digit

MIB = 1024 * 1024
MAX_BODY = 4 * MIB
MAX_VALUES = 200_000
MAX_LINE = 256 * 1024
MAX_DEPTH = 64
NETWORK_ENV = {
    "MAX_BODY_BYTES": str(MAX_BODY),
    "MAX_JSON_VALUES": str(MAX_VALUES),
    "MAX_JSON_LINE_BYTES": str(MAX_LINE),
    "MAX_JSON_DEPTH": str(MAX_DEPTH),
    "AUTH_FAILURES_PER_MINUTE": "1000000",
}
ANSWER_SECONDS = 2.0
#: The documented bound on what one request may add to the gateway's resident memory.
MEMORY_BOUND = 2 * MAX_BODY + 100 * MAX_VALUES + 64 * MIB
#: The longest detail a problem may carry: errors echo input cut to 1,000 characters.
MAX_DETAIL = 1100


@dataclass(frozen=True)
class Family:
    """One kind of hostile body: how to make it, and what every route answers (None: any
    answer but a server error or a 429, with a short detail; the body passes the scan and
    the route judges it)."""

    name: str
    body: Callable[[], bytes | Iterator[bytes]]
    status: int | None = None
    codes: tuple[str, ...] = ()
    content_type: str = "application/json"


def chunked(data: bytes) -> Iterator[bytes]:
    """The body without a Content-Length, so the gateway finds out its size by reading."""
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


LONG_FIELDS = ("name", "reason", "url", "data", "confirm", "state", "transaction_id", "route", "action", "depth", "class", "line")

FAMILIES = [
    Family("deep arrays", lambda: b"[" * 100_000, 400, ("body.too_deep",)),
    Family("deep objects", lambda: b'{"a":' * 50_000, 400, ("body.too_deep",)),
    Family("one level too deep, closed", lambda: b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", 400, ("body.too_deep",)),
    Family("wide array", lambda: b'{"packs": [' + b"0," * (MAX_VALUES + 10) + b"0]}", 413, ("body.too_many_values",)),
    Family("wide object", lambda: b"{" + b",".join(b'"k%d":0' % n for n in range(MAX_VALUES // 2 + 10)) + b"}", 413, ("body.too_many_values",)),
    Family("wide, just under the values limit", lambda: b"[" + b",".join([b"{}"] * (MAX_VALUES - 10)) + b"]"),
    Family("a long NDJSON line", lambda: b'{"a": 1}\n{"a": "' + b"x" * (MAX_LINE + 1) + b'"}\n', 413, ("body.line_too_long",), "application/x-ndjson"),
    Family("a long key", lambda: b'{"' + b"k" * (3 * MIB) + b'": 1}', 413, ("body.string_too_long",)),
    Family("a long value with escapes", lambda: b'{"name": "' + b'\\"' * MIB + b'"}', 413, ("body.string_too_long",)),
    Family("a key just under the string limit", lambda: b'{"' + b"k" * (MIB - 10) + b'": 1}'),
    Family("long values", lambda: orjson.dumps({name: "v" * 200_000 for name in LONG_FIELDS})),
    Family("many small events", lambda: orjson.dumps({"@context": "x", "type": "EPCISDocument", "epcisBody": {"eventList": [{}] * 30_000}})),
    Family("a lone high surrogate", lambda: b'{"name": "a\\ud800", "data": "b"}', 400, ("body.surrogate",)),
    Family("a lone low surrogate", lambda: b'{"name": "\\udc00"}', 400, ("body.surrogate",)),
    Family("a high surrogate before another escape", lambda: b'{"name": "\\ud83d\\u0041"}', 400, ("body.surrogate",)),
    Family("invalid UTF-8", lambda: b'{"name": "\xff\xfe"}', 400, ("body.encoding",)),
    Family("a surrogate encoded in UTF-8", lambda: b'{"name": "\xed\xa0\x80"}', 400, ("body.encoding",)),
    Family("a raw NUL", lambda: b'{"name": "a\x00b"}', 400, ("body.nul",)),
    Family("an escaped NUL", lambda: b'{"name": "a\\u0000b"}', 400, ("body.nul",)),
    Family("a UTF-8 byte order mark", lambda: b"\xef\xbb\xbf{}", 400, ("body.encoding",)),
    Family("UTF-16", lambda: '{"name": "a"}'.encode("utf-16"), 400, ("body.encoding",)),
    Family("truncated inside a string", lambda: b'{"name": "abc', 400, ("body.json",)),
    Family("truncated between values", lambda: b'{"name": "abc", "packs": [1, 2', 400, ("body.json",)),
    # /v1/events streams up to 2 GiB: there the member's values run out first.
    Family("larger than MAX_BODY_BYTES", lambda: chunked(b'{"packs": [' + b'"0123456789",' * (MAX_BODY // 13) + b'""]}'), 413, ("body.too_large", "body.too_many_values")),
]
SCANNER_CODES = {"body.too_deep", "body.surrogate", "body.encoding", "body.nul", "body.line_too_long", "body.string_too_long", "body.too_many_values"}


@dataclass
class Target:
    method: str
    path: str
    token: str


@pytest.fixture(scope="module")
def targets(network: RunningNetwork) -> list[Target]:
    """Every operation /openapi.json says takes a body, with a caller of one of its roles."""
    tokens = {"admin": network.network.info["admin_token"]}
    for role in ("manufacturer", "wholesaler", "dispenser", "network"):
        tokens[role] = network.add_partner([role])[0]["token"]
    manufacturer = network.client(tokens["manufacturer"])
    prefix = manufacturer.get("/v1/partners/me").json()["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "1".rjust(12 - len(prefix), "0"))
    assert manufacturer.put(f"/v1/products/{gtin}", json={"name": "hostile"}).status_code == 201
    values = {"id": "x_0000000000000000", "gtin": gtin, "kind": "prefixes", "key": prefix, "name": "hostile", "network": "hostile"}
    document = requests.get(network.url + "/openapi.json", timeout=10).json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            role = next(r for r in operation["x-verinet-roles"] if r in tokens)
            try:
                concrete = path.format(**values)
            except KeyError as missing:
                raise AssertionError(f"{method.upper()} {path}: give the path parameter {missing} a value in this test") from None
            found.append(Target(method.upper(), concrete, tokens[role]))
    assert len(found) >= 20  # every write route of the API
    return found


def gateway_memory_kib(network: RunningNetwork) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak so far) of the gateway process."""
    out = {}
    with open(f"/proc/{network.network.processes['gateway'].pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    return out


def reset_peak(network: RunningNetwork) -> int:
    """Resets the gateway's VmHWM to its VmRSS (Linux, /proc/<pid>/clear_refs) and returns
    the resident bytes it starts from; where the kernel refuses, the peak runs on from the
    process's start and the bound is checked against the RSS at the module's start."""
    try:
        with open(f"/proc/{network.network.processes['gateway'].pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    return gateway_memory_kib(network)["VmRSS"] * 1024


@pytest.fixture(scope="module")
def resident_at_start(network: RunningNetwork, targets: list[Target]) -> int:
    """The gateway's resident memory once warm, before the first hostile body."""
    requests.get(network.url + "/openapi.json", timeout=10)
    return gateway_memory_kib(network)["VmRSS"] * 1024


def send(network: RunningNetwork, target: Target, family: Family) -> tuple[requests.Response, float]:
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": family.content_type}
    started = time.monotonic()
    try:
        answer = requests.request(target.method, network.url + target.path, data=family.body(), headers=headers, timeout=60)
    except requests.ConnectionError as error:
        raise AssertionError(f"{target.method} {target.path}: no answer to {family.name} ({error})") from None
    return answer, time.monotonic() - started


def faults(answer: requests.Response, seconds: float, family: Family) -> list[str]:
    found = []
    if seconds > ANSWER_SECONDS:
        found.append(f"answered in {seconds:.2f} s")
    problem: dict[str, Any] = {}
    if answer.status_code >= 400:
        if answer.headers.get("Content-Type", "").split(";")[0] != "application/problem+json":
            return [*found, f"{answer.status_code} without a problem document: {answer.text[:200]}"]
        problem = answer.json()
        if len(problem.get("detail", "")) > MAX_DETAIL:
            found.append(f"a detail of {len(problem['detail'])} characters")
    if family.status is None:
        if answer.status_code >= 500 or answer.status_code == 429:
            found.append(f"{answer.status_code} {answer.text[:300]}")
        return found
    if answer.status_code != family.status or problem.get("code") not in family.codes:
        found.append(f"expected {family.status} {'/'.join(family.codes)}, got {answer.status_code} {answer.text[:300]}")
    elif problem["code"] in SCANNER_CODES - {"body.too_many_values"} and not {"position", "line", "column"} <= problem.keys():
        found.append(f"no position in {problem}")
    return found


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_every_route_that_takes_a_body_answers_a_hostile_one_at_once_within_the_memory_bound(
    network: RunningNetwork, targets: list[Target], resident_at_start: int, family: Family
) -> None:
    resident = max(reset_peak(network), resident_at_start)
    failures = []
    for target in targets:
        answer, seconds = send(network, target, family)
        failures += [f"{target.method} {target.path}: {fault}" for fault in faults(answer, seconds, family)]
    peak = gateway_memory_kib(network)["VmHWM"] * 1024
    print(f"{family.name}: the gateway's peak RSS {peak / MIB:.0f} MiB, {(peak - resident) / MIB:+.0f} MiB")
    assert failures == []
    assert peak <= resident + MEMORY_BOUND, f"peak {peak / MIB:.0f} MiB, over {resident / MIB:.0f} + {MEMORY_BOUND / MIB:.0f} MiB"
    assert requests.get(network.url + "/readyz", timeout=10).status_code == 200
