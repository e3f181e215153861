"""What one status read costs recall-status alone, and inside the one-connection LMS loop.

    python bench/status_read.py              # appends to RESULTS.md
    python bench/status_read.py --no-write --seconds 5

The same network answers both ways in turn, ``--rounds`` times. Alone: a client in this
process sends recall-status one ``StreamPackStatuses`` call at a time on its Unix socket, as the
verifier does, so recall-status and Redis are the only busy processes. In the loop: wrk asks
the gateway one LMS question at a time, and each question makes the same call from the
verifier. Each figure is recall-status's CPU (utime + stime from /proc) per read; a read in
the loop also pays its share of the sightings' batches (a few µs). The difference is what
the same code costs when three Python processes and Redis take turns on two cores, each
finding its caches filled by the others (issue 25).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import lms
from cpu import proc_cpu_seconds, wait_quiet
from data import commission, make_lots, make_packs
from harness import running_network
from load import run_wrk
from report import Report

from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.socket_calls import socket_stream_opener
from verinet.streamed_calls import StreamedCalls
from verinet.verifier.servicer import STREAM_PACK_STATUSES


async def read_alone(socket_path: str, keys: list[tuple[str, str]], seconds: float, pid: int) -> tuple[int, float]:
    """Status reads one at a time for ``seconds``: how many, and recall-status's CPU seconds."""
    calls: StreamedCalls[rs_pb.GetPackStatusRequest, rs_pb.GetPackStatusResponse] = StreamedCalls(
        socket_stream_opener([socket_path], STREAM_PACK_STATUSES, rs_pb.GetPackStatusResponse.FromString),
        name="bench",
    )

    async def read(n: int) -> None:
        request = rs_pb.GetPackStatusRequest()
        gtin, serial = keys[n % len(keys)]
        request.packs.add(gtin=gtin, serial=serial)
        answer = await calls.call(request, 5.0)
        if len(answer.statuses) != 1:
            raise RuntimeError(f"recall-status answered {len(answer.statuses)} statuses for one pack")

    try:
        for n in range(2000):  # warm up
            await read(n)
        done, cpu = 0, proc_cpu_seconds(pid)
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            await read(done)
            done += 1
        return done, proc_cpu_seconds(pid) - cpu
    finally:
        await calls.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    report = Report("one status read in recall-status, alone and inside the one-connection LMS loop")
    report.add(f"- data: {args.packs:,} packs, 80% known serials in the loop; {args.seconds:g} s a run, {args.rounds} rounds")
    rows: list[list[str]] = []
    totals = {"alone": [0.0, 0], "in the loop": [0.0, 0]}
    with running_network() as bench:
        maker = bench.add_partner(["manufacturer"])
        traders = [bench.add_partner(["wholesaler"]) for _ in range(2)] + [bench.add_partner(["dispenser"]) for _ in range(2)]
        packs = make_packs(make_lots(bench.add_products(maker, 4), 2), args.packs)
        commission(bench, maker["token"], packs, progress=False)
        paths, _ = lms.write_paths(packs, traders, args.packs, 0.8)
        keys = [(packs.ident(i)["gtin"], packs.ident(i)["serial"]) for i in range(min(len(packs), 5000))]
        socket_path = bench.network.call_socket("recall-status")
        if not socket_path:
            print("recall-status has no call socket here (data directory path too long)", file=sys.stderr)
            return 1
        pids = bench.pids()
        status_pid = pids["recall-status"]
        run_wrk(bench, paths, 64, 2, 2)  # warm up
        for round_number in range(1, args.rounds + 1):
            wait_quiet(list(pids.values()))
            done, cpu = asyncio.run(read_alone(socket_path, keys, args.seconds, status_pid))
            totals["alone"][0] += cpu
            totals["alone"][1] += done
            rows.append([str(round_number), "alone (a client on its socket)", f"{done / args.seconds:,.0f}", f"{cpu / done * 1e6:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
            wait_quiet(list(pids.values()))
            run = run_wrk(bench, paths, 1, args.seconds, 1)
            cpu = run.cpu.seconds["recall-status"]
            totals["in the loop"][0] += cpu
            totals["in the loop"][1] += run.requests
            rows.append([str(round_number), "in the LMS loop (wrk, 1 connection)", f"{run.rate:,.0f}", f"{cpu / run.requests * 1e6:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    report.table(["round", "status reads", "per second", "recall-status CPU µs per read"], rows)
    alone, looped = (totals[k][0] / max(1, int(totals[k][1])) * 1e6 for k in ("alone", "in the loop"))
    report.add(f"- over all rounds: alone {alone:.0f} µs, in the loop {looped:.0f} µs a read (**{looped / alone:.2f}x**)")
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
