"""Calibration: what one hand-off between two processes costs on this machine (issue 25).

    python bench/handoff.py            # prints; nothing written
    python bench/handoff.py --rounds 5

A hand-off is one process writing a small message to a Unix socket and another, asleep in
``recv``, waking to read it: the step an LMS question takes eight times in verinet (wrk,
gateway, verifier, recall-status, Redis and back) and four times in the one-process reference
(wrk, reference, Redis and back). Two processes pass a message back and forth; each does
``--work-us`` of busy work before answering, so the other has been asleep that long when the
message comes, as a service in the chain has. The CPU both spend beyond that work, per
message, is the price of a hand-off: once with the two on different vCPUs (what the kernel
does with an idle vCPU at hand), once with both on one vCPU.

On a virtual machine the price depends on the hypervisor: waking a sleeping vCPU may exit to
the host. ``lms.py --reference`` prints it beside its figures, so that runs on different VMs
can be read together (it does not set the ratio alone: bench/RESULTS.md, 2026-12-07 22:45).
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from dataclasses import dataclass

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)

MESSAGE = b"x" * 64


def _busy(microseconds: float) -> None:
    """Spends ``microseconds`` of this process's CPU: counted in CPU time, not wall time, so a
    preemption meanwhile neither shortens the work nor makes the price come out below it."""
    until = time.process_time() + microseconds / 1e6
    while time.process_time() < until:
        pass


def _pass_back_and_forth(sock: socket.socket, messages: int, work_us: float, first: bool) -> float:
    """CPU seconds this side used beyond its busy work over ``messages`` round trips."""
    started = time.process_time()
    for _ in range(messages):
        if first:
            _busy(work_us)
            sock.sendall(MESSAGE)
            sock.recv(len(MESSAGE))
        else:
            sock.recv(len(MESSAGE))
            _busy(work_us)
            sock.sendall(MESSAGE)
    return time.process_time() - started - messages * work_us / 1e6


@dataclass(frozen=True)
class HandoffPrice:
    """Microseconds of CPU (both processes together) one hand-off costs, beyond the work."""

    other_vcpu: float
    same_vcpu: float


def _price(cpus: tuple[int, int], messages: int, work_us: float) -> float:
    here, there = socket.socketpair()
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:
            here.close()
            os.sched_setaffinity(0, {cpus[1]})
            spent = _pass_back_and_forth(there, messages, work_us, first=False)
            os.write(report_write, repr(spent).encode())
        finally:
            os._exit(0)
    there.close()
    os.close(report_write)
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpus[0]})
        spent = _pass_back_and_forth(here, messages, work_us, first=True)
    finally:
        os.sched_setaffinity(0, allowed)
        here.close()
    child_spent = float(os.read(report_read, 100).decode())
    os.close(report_read)
    os.waitpid(child, 0)
    # Each round trip is two hand-offs.
    return (spent + child_spent) / (2 * messages) * 1e6


def handoff_price(messages: int = 2000, work_us: float = 150.0) -> HandoffPrice | None:
    """The price of a hand-off here, or None on a machine with one usable CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return HandoffPrice(
        other_vcpu=_price((cpus[0], cpus[1]), messages, work_us),
        same_vcpu=_price((cpus[1], cpus[1]), messages, work_us),
    )


def handoff_line(price: HandoffPrice | None) -> str:
    if price is None:
        return "- hand-off price (`bench/handoff.py`): not measured (one usable CPU)"
    return (f"- hand-off price (`bench/handoff.py`): {price.other_vcpu:.1f} µs of CPU (both processes) to a process asleep "
            f"on the other vCPU, {price.same_vcpu:.1f} µs on the same vCPU; an LMS question makes eight hand-offs in "
            "verinet, four in the reference")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="round trips per measurement")
    parser.add_argument("--work-us", type=float, default=150.0, help="busy work before each answer (the other side sleeps meanwhile)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for round_number in range(1, args.rounds + 1):
        price = handoff_price(args.messages, args.work_us)
        print(f"round {round_number}: " + handoff_line(price).removeprefix("- "), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
