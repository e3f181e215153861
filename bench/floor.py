"""Calibration: what the frameworks cost on this machine with no verinet code at all, so the
LMS figures can be read against a floor.

    python bench/floor.py            # appends to RESULTS.md
    python bench/floor.py --no-write

1. aiohttp on uvloop answering a fixed 120-byte JSON body (no middleware), under wrk at 64
   connections: CPU per request of the server process.
2. grpc.aio unary calls between two processes (client and server on uvloop, the options
   verinet uses), 64 concurrent callers: CPU per call of each side, for single calls and for
   calls that carry 32 items each (what coalescing would send).
3. The shape of an LMS question at one connection, with nothing else (issue 25): one process
   (aiohttp, one Redis GET, a fixed body) against a chain of three (aiohttp, then two relays
   on Unix sockets, the last doing the Redis GET), measured in turn. Their CPU ratio is what
   the service split costs by its shape alone, before any verinet code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from cpu import CpuMeter, wait_quiet
from harness import OUT
from load import require_wrk, run_wrk
from report import Report

AIOHTTP_SERVER = textwrap.dedent("""
    import asyncio, sys, uvloop
    from aiohttp import web
    BODY = b'{"verificationTimestamp":"2026-11-25T10:00:00.000Z","responderGLN":"0614141000005","data":{"verified":true}}'
    async def handler(request):
        return web.Response(body=BODY, content_type="application/json")
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
""")

GRPC_PEER = textwrap.dedent("""
    import asyncio, sys, time, os, resource, uvloop, grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    # a generic unary method with bytes in and out (no generated code needed)
    METHOD = "/bench.Echo/Call"
    ident = lambda b: b
    OPTIONS = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]

    async def serve(port):
        async def call(request, context):
            return request
        handler = grpc.method_handlers_generic_handler("bench.Echo", {"Call": grpc.unary_unary_rpc_method_handler(call, ident, ident)})
        server = grpc.aio.server(options=OPTIONS)
        server.add_generic_rpc_handlers((handler,))
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        print("ready", flush=True)
        await server.wait_for_termination()

    async def client(port, seconds, concurrency, payload):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS)
        stub = channel.unary_unary(METHOD, request_serializer=ident, response_deserializer=ident)
        await stub(payload)
        done = 0
        stop = time.perf_counter() + seconds
        async def worker():
            nonlocal done
            while time.perf_counter() < stop:
                await stub(payload, timeout=5)
                done += 1
        u0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        u1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
        print(f"RESULT {done} {wall} {cpu}", flush=True)

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if sys.argv[1] == "serve":
        asyncio.run(serve(int(sys.argv[2])))
    else:
        asyncio.run(client(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), b"x" * int(sys.argv[5])))
""")


CHAIN_PEER = textwrap.dedent("""
    # One role of the chain: 'front' (aiohttp; asks 'relay', or Redis itself when alone),
    # 'relay' (passes each message on to 'store' and the answer back), 'store' (one Redis GET).
    # Messages on Unix sockets: 4-byte length, 4-byte call id, payload.
    import asyncio, struct, sys, uvloop
    import redis.asyncio as aioredis
    from aiohttp import web
    HEAD = struct.Struct(">II")
    BODY = b'{"verificationTimestamp":"2026-11-25T10:00:00.000Z","responderGLN":"0614141000005","data":{"verified":true}}'

    class Framed(asyncio.Protocol):
        def __init__(self, on_message):
            self.on_message, self.buffer, self.transport = on_message, bytearray(), None
        def connection_made(self, transport):
            self.transport = transport
        def data_received(self, data):
            self.buffer += data
            while len(self.buffer) >= 8:
                length, call_id = HEAD.unpack_from(self.buffer)
                if len(self.buffer) < 8 + length:
                    return
                payload = bytes(self.buffer[8:8 + length])
                del self.buffer[:8 + length]
                self.on_message(self, call_id, payload)
        def send(self, call_id, payload):
            self.transport.write(HEAD.pack(len(payload), call_id) + payload)

    class Caller:
        # Calls on one connection, each answer matched to its future by call id.
        def __init__(self):
            self.pending, self.next_id, self.link = {}, 0, None
        async def connect(self, path):
            loop = asyncio.get_running_loop()
            _, self.link = await loop.create_unix_connection(lambda: Framed(self.answered), path)
        def answered(self, link, call_id, payload):
            self.pending.pop(call_id).set_result(payload)
        async def call(self, payload):
            self.next_id += 1
            future = self.pending[self.next_id] = asyncio.get_running_loop().create_future()
            self.link.send(self.next_id, payload)
            return await future

    async def serve_socket(path, handle):
        def received(link, call_id, payload):
            async def answer():
                link.send(call_id, await handle(payload))
            asyncio.get_running_loop().create_task(answer())
        await asyncio.get_running_loop().create_unix_server(lambda: Framed(received), path)

    async def main(role, where, redis_url):
        store = aioredis.from_url(redis_url)
        if role == "store":
            async def lookup(key):
                return (await store.get(key)) or b"-"
            await serve_socket(where, lookup)
        elif role == "relay":
            onward = Caller()
            await onward.connect(where.split(",")[1])
            await serve_socket(where.split(",")[0], onward.call)
        else:
            port, _, next_hop = where.partition(",")
            onward = Caller() if next_hop else None
            if onward is not None:
                await onward.connect(next_hop)
            async def handler(request):
                key = request.raw_path.rsplit("/", 1)[-1].partition("?")[0].encode()
                value = await (onward.call(key) if onward is not None else store.get(key))
                return web.Response(body=BODY if value else b"{}", content_type="application/json")
            app = web.Application()
            app.router.add_get("/{tail:.*}", handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", int(port)).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
""")


class _Target:
    """What ``run_wrk`` needs of a server: its URL and the processes to meter."""

    def __init__(self, url: str, pids: dict[str, int]) -> None:
        self.url = url
        self._pids = pids

    def pids(self) -> dict[str, int]:
        return dict(self._pids)


def aiohttp_floor(seconds: float) -> list[str]:
    from verinet.embedded_redis import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "server.py"
        script.write_text(AIOHTTP_SERVER)
        server = subprocess.Popen([sys.executable, str(script), str(port)])
        try:
            for _ in range(100):
                try:
                    import urllib.request

                    urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            paths = OUT / "floor-paths.tsv"
            paths.write_text("".join(f"vn_token_{n}\t/verify/gtin/00614141000012/lot/LOT/ser/S{n}?exp=281231&linkType=verificationService&reqGLN=0614141000005\n" for n in range(1000)))

            target = _Target(f"http://127.0.0.1:{port}", {"aiohttp server": server.pid})
            wait_quiet([server.pid])
            run = run_wrk(target, paths, 64, seconds, 2)  # type: ignore[arg-type]
        finally:
            server.terminate()
            server.wait()
    cpu = run.cpu.seconds["aiohttp server"]
    return ["aiohttp + uvloop, fixed body, wrk 64 conn", f"{run.rate:,.0f} req/s", f"{cpu / run.requests * 1e6:.0f}",
            f"{run.wrk_cpu / run.requests * 1e6:.0f} (wrk)", f"{run.latency_us['p99'] / 1000:.2f}", f"{run.cpu.other_load():.2f}"]


def grpc_floor(seconds: float, concurrency: int, payload: int, label: str) -> list[str]:
    from verinet.embedded_redis import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "peer.py"
        script.write_text(GRPC_PEER)
        server = subprocess.Popen([sys.executable, str(script), "serve", str(port)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            server.stdout.readline()
            wait_quiet([server.pid])
            meter = CpuMeter({"server": server.pid}).start()
            client = subprocess.run([sys.executable, str(script), "call", str(port), str(seconds), str(concurrency), str(payload)],
                                    capture_output=True, text=True, check=True)
            meter.stop()
        finally:
            server.terminate()
            server.wait()
    _, done, wall, client_cpu = next(line for line in client.stdout.splitlines() if line.startswith("RESULT")).split()
    done_n, client_s = int(done), float(client_cpu)
    server_s = meter.seconds["server"]
    return [label, f"{done_n / float(wall):,.0f} calls/s", f"{server_s / done_n * 1e6:.0f}", f"{client_s / done_n * 1e6:.0f}", "n/a", f"{max(0.0, meter.machine_busy_seconds - server_s - client_s - meter.seconds['bench driver (this python)']) / meter.wall:.2f}"]


def chain_floor(seconds: float, rounds: int) -> tuple[list[list[str]], float, float]:
    """One connection through one process, then through a chain of three, in turn, ``rounds``
    times: the rows, and the CPU per request of each summed over the rounds (µs)."""
    import redis

    from verinet.embedded_redis import EmbeddedRedis, free_port

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "peer.py"
        script.write_text(CHAIN_PEER)
        store = EmbeddedRedis(Path(tmp) / "redis")
        store.start()
        processes: list[subprocess.Popen[str]] = []

        def start(role: str, where: str) -> int:
            process = subprocess.Popen([sys.executable, str(script), role, where, store.url], stdout=subprocess.PIPE, text=True)
            processes.append(process)
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the chain's {role} process did not start")
            return process.pid

        try:
            assert store.process is not None
            client = redis.Redis(port=store.port)
            client.mset({f"S{n}": b"x" for n in range(1000)})
            client.close()
            alone_port, chain_port = free_port(), free_port()
            alone = _Target(f"http://127.0.0.1:{alone_port}", {"front": start("front", str(alone_port)), "redis": store.process.pid})
            store_socket, relay_socket = str(Path(tmp) / "store.sock"), str(Path(tmp) / "relay.sock")
            chain_pids = {"store": start("store", store_socket)}
            chain_pids["relay"] = start("relay", f"{relay_socket},{store_socket}")
            chain_pids["front"] = start("front", f"{chain_port},{relay_socket}")
            chain = _Target(f"http://127.0.0.1:{chain_port}", {**chain_pids, "redis": store.process.pid})
            paths = OUT / "floor-paths.tsv"
            paths.write_text("".join(f"vn_token_{n}\t/verify/gtin/00614141000012/lot/LOT/ser/S{n}?exp=281231\n" for n in range(1000)))
            for target in (alone, chain):
                run_wrk(target, paths, 4, 2, 1)  # type: ignore[arg-type]  # warm up
            rows: list[list[str]] = []
            totals = {"one process": [0.0, 0], "three processes": [0.0, 0]}
            for round_number in range(1, rounds + 1):
                for name, target in (("one process", alone), ("three processes", chain)):
                    wait_quiet(list(target.pids().values()))
                    run = run_wrk(target, paths, 1, seconds, 1)  # type: ignore[arg-type]
                    cpu = sum(run.cpu.seconds[p] for p in target.pids())
                    totals[name][0] += cpu
                    totals[name][1] += run.requests
                    each = ", ".join(f"{p} {run.cpu.seconds[p] / max(1, run.requests) * 1e6:.0f}" for p in target.pids())
                    rows.append([str(round_number), name, f"{run.rate:,.0f}", f"{run.latency_us['p50'] / 1000:.2f}",
                                 f"{run.latency_us['p99'] / 1000:.2f}", f"{cpu / max(1, run.requests) * 1e6:.0f}", each,
                                 f"{run.cpu.other_load():.2f}"])
                    print(" | ".join(rows[-1]), flush=True)
        finally:
            for process in processes:
                process.terminate()
                process.wait()
            store.stop()
    one, three = (totals[name][0] / max(1, int(totals[name][1])) * 1e6 for name in ("one process", "three processes"))
    return rows, one, three


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--chain-only", action="store_true", help="only the one-connection chain against one process (3.)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the chain comparison")
    args = parser.parse_args(argv)
    require_wrk()
    report = Report("framework floor (no verinet code)")
    chain_rows, one, three = chain_floor(args.seconds, args.rounds)
    report.add("", "### One connection: one process against a chain of three (the service split's shape, no verinet code)")
    report.table(["round", "target", "req/s", "p50 ms", "p99 ms", "CPU µs per request", "by process", "other load"], chain_rows)
    report.add(f"- CPU per request over all rounds: one process {one:.0f} µs, three processes {three:.0f} µs: **{three / one:.2f}x**. "
               "Each does one Redis GET and answers a fixed body; the chain adds two relays on Unix sockets "
               "(4 more messages and 4 more wake-ups of a Python process a request), as an LMS question crosses "
               "gateway, verifier and recall-status.")
    if args.chain_only:
        report.write(enabled=not args.no_write)
        return 0
    rows = [aiohttp_floor(args.seconds)]
    rows.append(grpc_floor(args.seconds, 64, 200, "grpc.aio unary, 200-byte message, 64 concurrent callers"))
    rows.append(grpc_floor(args.seconds, 64, 200 * 32, "grpc.aio unary, 6.4 KB message (32 items of 200 B), 64 callers"))
    rows.append(grpc_floor(args.seconds, 1, 200, "grpc.aio unary, 200-byte message, 1 caller"))
    report.table(["what", "rate", "server CPU µs per request/call", "client CPU µs per call", "p99 ms", "other load"], rows)
    report.add("- reading: an LMS verification crosses aiohttp once and two call streams (gateway->verifier, verifier->recall-status), "
               "each time paying a client and a server side: Unix sockets when the services share a machine (the chain above), "
               "grpc.aio streams between machines; the sightings travel batched.")
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
