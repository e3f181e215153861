"""Benchmark what hostile bodies cost the gateway at its default limits: for each family
(deep, wide, long lines, long keys, many small events, broken encodings, oversized), the
answer and its time on a few routes, and the gateway's peak resident memory (VmHWM, reset
before each family through /proc/<pid>/clear_refs); then the pre-scan itself in-process, in
MB/s, beside orjson parsing the same bytes.

    python bench/hostile_bodies.py              # print and append to bench/RESULTS.md
    python bench/hostile_bodies.py --no-write

The network runs with the default settings (MAX_BODY_BYTES 64 MiB, MAX_JSON_VALUES 5,000,000,
MAX_JSON_LINE_BYTES 4 MiB, MAX_JSON_STRING_BYTES 1 MiB, MAX_JSON_DEPTH 64). Target: every answer within 2 s, and one
request's peak within 2 x MAX_BODY_BYTES + 100 bytes x MAX_JSON_VALUES + 64 MiB (the bound
tests/gateway/test_hostile_bodies.py asserts at smaller limits).
"""

from __future__ import annotations

import argparse
import http.client
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import harness  # noqa: F401  (first: re-runs this benchmark under the project's venv when needed)
import orjson
from harness import RESULTS, running_network
from report import Report

from verinet.gateway.jsonscan import BodyLimits, JsonScanner
from verinet.network import with_check_digit

MIB = 1024 * 1024
MAX_BODY = 64 * MIB
MAX_VALUES = 5_000_000
MAX_LINE = 4 * MIB
BOUND = 2 * MAX_BODY + 100 * MAX_VALUES + 64 * MIB
DOCUMENT = b'{"@context": "x", "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-12-06T00:00:00Z", "epcisBody": {"eventList": ['


def chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 1 << 20):
        yield data[start : start + (1 << 20)]


FAMILIES: list[tuple[str, Callable[[], bytes], str]] = [
    ("40 KB of [ (the issue's case)", lambda: DOCUMENT + b"[" * 40_000, "application/json"),
    ("1 MB of {\"a\":", lambda: b'{"a":' * 200_000, "application/json"),
    ("wide: 5,000,001 values", lambda: b'{"packs": [' + b"0," * MAX_VALUES + b"0]}", "application/json"),
    ("wide, under the limit: 2,400,000 objects", lambda: b'{"packs": [' + b",".join([b"{}"] * 2_400_000) + b"]}", "application/json"),
    ("an NDJSON line of 5 MiB", lambda: b'{"a": [' + b'"0123456789",' * (5 * MIB // 13) + b'""]}\n', "application/x-ndjson"),
    ("a key of 32 MiB", lambda: b'{"' + b"k" * (32 * MIB) + b'": 1}', "application/json"),
    ("a key just under 1 MiB (the string limit)", lambda: b'{"' + b"k" * (MIB - 10) + b'": 1}', "application/json"),
    ("200,000 small events", lambda: DOCUMENT + b",".join([b"{}"] * 200_000) + b"]}}", "application/json"),
    ("a lone surrogate", lambda: DOCUMENT + b'{"eventID": "urn:uuid:\\udc00"}]}}', "application/json"),
    ("invalid UTF-8", lambda: DOCUMENT + b'{"eventID": "\xff"}]}}', "application/json"),
    ("NUL", lambda: DOCUMENT + b'{"eventID": "\\u0000"}]}}', "application/json"),
    ("80 MiB, chunked", lambda: b'{"packs": [' + b'"0123456789",' * (80 * MIB // 13) + b'""]}', "application/json"),
]


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def post(port: int, path: str, token: str, body: bytes, content_type: str) -> tuple[int, str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        conn.putrequest("POST", path)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for piece in chunked(body):
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered before the whole body was sent
        answer = conn.getresponse()
        payload = answer.read()
    except (http.client.HTTPException, OSError) as error:
        return 0, f"no answer ({type(error).__name__})", time.perf_counter() - started
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    try:
        code = orjson.loads(payload).get("code", "")
    except (orjson.JSONDecodeError, AttributeError):
        code = ""
    return answer.status, code, seconds


def scan_rate(data: bytes, **options: int) -> float:
    limits = BodyLimits(max_bytes=1 << 40, max_depth=64, max_line_bytes=1 << 40, max_values=1 << 40)
    best = float("inf")
    for _ in range(3):
        scanner = JsonScanner(limits, **options)  # type: ignore[arg-type]
        started = time.perf_counter()
        for start in range(0, len(data), 65536):
            scanner.feed(data[start : start + 65536])
        scanner.finish()
        best = min(best, time.perf_counter() - started)
    return len(data) / best / 1e6


def parse_rate(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        orjson.loads(data)
        best = min(best, time.perf_counter() - started)
    return len(data) / best / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    report = Report("hostile bodies: answer times and the gateway's peak memory")
    rows = []
    slowest = 0.0
    worst_peak = 0
    with running_network() as bench:
        manufacturer = bench.add_partner(["manufacturer"])
        wholesaler = bench.add_partner(["wholesaler"])
        prefix = manufacturer["company_prefixes"][0]
        bench.must("PUT", f"/v1/products/{with_check_digit('0' + prefix + '1'.rjust(12 - len(prefix), '0'))}", manufacturer["token"], {"name": "x"})
        routes = [
            ("/v1/events", wholesaler["token"]),
            ("/v1/packs/verify", wholesaler["token"]),
            ("/v1/packs/commission", manufacturer["token"]),
            ("/v1/partners", bench.admin),
        ]
        pid = bench.pids()["gateway"]
        start_rss = memory_kib(pid)["VmRSS"] * 1024
        report.add(f"- the gateway's RSS once warm: {start_rss / MIB:.0f} MiB; bound per request: {BOUND / MIB:.0f} MiB above it")
        for name, make, content_type in FAMILIES:
            body = make()
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
            answers = []
            for path, token in routes:
                status, code, seconds = post(bench.port, path, token, body, content_type)
                slowest = max(slowest, seconds)
                answers.append(f"{status} {code} {seconds * 1000:.0f} ms")
            peak = memory_kib(pid)["VmHWM"] * 1024
            worst_peak = max(worst_peak, peak - start_rss)
            rows.append([name, f"{len(body) / MIB:.2f}", *answers, f"{(peak - start_rss) / MIB:+.0f}"])
            del body
        report.table(["family", "MiB", *(path for path, _ in routes), "peak RSS vs warm, MiB"], rows, "lr" + "l" * len(routes) + "r")
    report.add(
        f"- slowest answer: {slowest * 1000:.0f} ms (target < 2,000 ms: {'met' if slowest < 2 else 'NOT met'}); "
        f"highest peak above the warm RSS: {worst_peak / MIB:.0f} MiB (bound {BOUND / MIB:.0f} MiB: {'met' if worst_peak <= BOUND else 'NOT met'})"
    )

    packs = orjson.dumps({"packs": [{"gtin": "00614141000012", "serial": f"SN{n:08d}", "lot": "LOT2026A", "expiry": "281231", "line": "L3", "commissioned_at": "2026-11-25T08:00:00Z"} for n in range(200_000)]})
    events = DOCUMENT + b",".join(
        orjson.dumps({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "eventTime": "2026-12-06T10:00:00.000+01:00", "eventTimeZoneOffset": "+01:00", "epcList": [f"urn:epc:id:sgtin:0614141.107346.{n}"], "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}})
        for n in range(100_000)
    ) + b"]}}"
    wide = b"[" + b"0," * 4_000_000 + b"0]"
    pairs = b"[" + b",".join([b'"' + b"\\ud83d\\ude00" * 1000 + b'"'] * 1000) + b"]"
    scan_rows = [
        ["200,000 packs to commission (JSON)", f"{len(packs) / MIB:.1f}", f"{scan_rate(packs):.0f}", f"{parse_rate(packs):.0f}"],
        ["the same, as one unit per event (unit_depth 4)", f"{len(packs) / MIB:.1f}", f"{scan_rate(packs, unit_depth=4):.0f}", ""],
        ["100,000 EPCIS events (unit_depth 4)", f"{len(events) / MIB:.1f}", f"{scan_rate(events, unit_depth=4):.0f}", f"{parse_rate(events):.0f}"],
        ["4,000,000 values of 0 (wide)", f"{len(wide) / MIB:.1f}", f"{scan_rate(wide):.0f}", f"{parse_rate(wide):.0f}"],
        ["1,000,000 surrogate pairs, 1,000 a string", f"{len(pairs) / MIB:.1f}", f"{scan_rate(pairs):.0f}", f"{parse_rate(pairs):.0f}"],
    ]
    report.add("", "The pre-scan in-process, 64 KiB chunks, best of 3 (MB/s; orjson parses the same bytes at once):")
    report.table(["body", "MiB", "scan MB/s", "orjson MB/s"], scan_rows)
    report.write(args.results, enabled=not args.no_write)


if __name__ == "__main__":
    main()
