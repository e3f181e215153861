"""An open-loop HTTP load generator: sends GETs at a fixed rate whatever the answers do, and
measures each latency from the request's *scheduled* send time, so a slow answer cannot hide
the requests that should have been sent meanwhile (no coordinated omission, as wrk2 does).

Debian has no wrk2 or vegeta; this is small, runs on uvloop with raw asyncio protocols (no
HTTP library on the hot path) and reports its own CPU cost. Used by bench/lms.py:

    python bench/openloop.py --port 8080 --paths bench/out/lms-paths.tsv --rate 2000 --seconds 15

Each line of the paths file is "<bearer token>\\t<path>". Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import resource
import time


class Connection(asyncio.Protocol):
    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.current: tuple[float, float] | None = None  # (scheduled, sent)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else len(head)]) if at >= 0 else 0
            total = end + 4 + length
            if len(buf) < total:
                return
            status = int(buf[9:12])
            del buf[:total]
            self.gen.answered(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)


class Generator:
    def __init__(self, args: argparse.Namespace, requests: list[bytes]) -> None:
        self.args = args
        self.requests = requests
        self.loop = asyncio.get_running_loop()
        self.idle: collections.deque[Connection] = collections.deque()
        self.pending: collections.deque[tuple[int, float]] = collections.deque()
        self.open = 0
        self.connecting = 0
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.lag: list[float] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.lost_requests = 0
        self.record_after = 0.0
        self.outstanding = 0

    async def connect(self) -> None:
        self.connecting += 1
        try:
            _, conn = await self.loop.create_connection(lambda: Connection(self), "127.0.0.1", self.args.port)
        finally:
            self.connecting -= 1
        self.open += 1
        self.release(conn)

    def send(self, conn: Connection, index: int, scheduled: float) -> None:
        now = time.perf_counter()
        conn.current = (scheduled, now)
        if scheduled >= self.record_after:
            self.lag.append(now - scheduled)
        assert conn.transport is not None
        conn.transport.write(self.requests[index % len(self.requests)])

    def issue(self, index: int, scheduled: float) -> None:
        self.outstanding += 1
        if self.idle:
            self.send(self.idle.pop(), index, scheduled)
            return
        self.pending.append((index, scheduled))
        if self.open + self.connecting < self.args.max_connections and self.connecting < len(self.pending):
            self.loop.create_task(self.connect())

    def release(self, conn: Connection) -> None:
        if self.pending:
            index, scheduled = self.pending.popleft()
            self.send(conn, index, scheduled)
        else:
            self.idle.append(conn)

    def answered(self, conn: Connection, status: int) -> None:
        now = time.perf_counter()
        assert conn.current is not None
        scheduled, sent = conn.current
        conn.current = None
        self.outstanding -= 1
        if scheduled >= self.record_after:
            self.latencies.append(now - scheduled)
            self.service.append(now - sent)
            self.statuses[status] += 1
        self.release(conn)

    def lost(self, conn: Connection) -> None:
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.current is not None:
            self.outstanding -= 1
            self.lost_requests += 1

    async def run(self) -> dict[str, object]:
        args = self.args
        await asyncio.gather(*(self.connect() for _ in range(min(args.preconnect, args.max_connections))))
        rate = args.rate
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter() + 0.05
        self.record_after = start + args.warmup
        stop = self.record_after + args.seconds
        k = 0
        offset = args.offset
        while True:
            now = time.perf_counter()
            while True:
                at = start + k / rate
                if at > now or at >= stop:
                    break
                self.issue(offset + k, at)
                k += 1
            if at >= stop:
                break
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
        drain_deadline = time.perf_counter() + args.drain
        while self.outstanding > 0 and time.perf_counter() < drain_deadline:
            await asyncio.sleep(0.01)
        unanswered = self.outstanding
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lat = sorted(self.latencies)
        svc = sorted(self.service)
        lag = sorted(self.lag)

        def pct(values: list[float], p: float) -> float | None:
            if not values:
                return None
            return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]

        ok = self.statuses.get(200, 0)
        return {
            "rate": rate,
            "seconds": args.seconds,
            "scheduled": sum(1 for i in range(k) if start + i / rate >= self.record_after),
            "answered": len(lat),
            "ok": ok,
            "statuses": {str(s): n for s, n in self.statuses.items()},
            "lost": self.lost_requests,
            "unanswered": unanswered,
            "connections_used": self.open,
            "latency": {p: pct(lat, float(p)) for p in ("50", "90", "99", "99.9")} | {"max": lat[-1] if lat else None},
            "service": {p: pct(svc, float(p)) for p in ("50", "99", "99.9")},
            "send_lag": {"50": pct(lag, 50), "99": pct(lag, 99), "max": lag[-1] if lag else None},
            # CPU of the sending and measuring itself (start-up and file loading excluded), over
            # warm-up + measured time + drain
            "cpu_seconds": (usage.ru_utime - usage0.ru_utime) + (usage.ru_stime - usage0.ru_stime),
            "cpu_wall_seconds": time.perf_counter() - start,
        }


def load_requests(path: str, port: int) -> list[bytes]:
    out = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            token, _, target = line.rstrip("\n").partition("\t")
            out.append(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests a second")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time")
    parser.add_argument("--warmup", type=float, default=2.0, help="sent, not measured")
    parser.add_argument("--drain", type=float, default=10.0, help="wait this long for late answers")
    parser.add_argument("--max-connections", type=int, default=512)
    parser.add_argument("--preconnect", type=int, default=16)
    parser.add_argument("--offset", type=int, default=0, help="first line of the paths file to use")
    args = parser.parse_args()
    requests = load_requests(args.paths, args.port)

    async def go() -> dict[str, object]:
        return await Generator(args, requests).run()

    try:
        import uvloop

        result = uvloop.run(go())
    except ImportError:
        result = asyncio.run(go())
    print("OPENLOOP_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
