"""Calibration: what the frameworks cost on this machine with no verinet code at all, so the
LMS figures can be read against a floor.

    python bench/floor.py            # appends to RESULTS.md
    python bench/floor.py --no-write

1. aiohttp on uvloop answering a fixed 120-byte JSON body (no middleware), under wrk at 64
   connections: CPU per request of the server process.
2. grpc.aio unary calls between two processes (client and server on uvloop, the options
   verinet uses), 64 concurrent callers: CPU per call of each side, for single calls and for
   calls that carry 32 items each (what coalescing would send).
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

            class Fake:
                url = f"http://127.0.0.1:{port}"

                def pids(self) -> dict[str, int]:
                    return {"aiohttp server": server.pid}

            wait_quiet([server.pid])
            run = run_wrk(Fake(), paths, 64, seconds, 2)  # type: ignore[arg-type]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    require_wrk()
    report = Report("framework floor (no verinet code)")
    rows = [aiohttp_floor(args.seconds)]
    rows.append(grpc_floor(args.seconds, 64, 200, "grpc.aio unary, 200-byte message, 64 concurrent callers"))
    rows.append(grpc_floor(args.seconds, 64, 200 * 32, "grpc.aio unary, 6.4 KB message (32 items of 200 B), 64 callers"))
    rows.append(grpc_floor(args.seconds, 1, 200, "grpc.aio unary, 200-byte message, 1 caller"))
    report.table(["what", "rate", "server CPU µs per request/call", "client CPU µs per call", "p99 ms", "other load"], rows)
    report.add("- reading: an LMS verification crosses aiohttp once and grpc.aio twice (gateway->verifier, verifier->recall-status), "
               "each time paying a client and a server side; the events RPC is batched.")
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
