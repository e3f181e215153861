"""Where ``verinet up`` runs its processes on this machine's CPUs (``--placement``).

A question at one connection travels gateway -> verifier -> recall-status -> Redis and back:
each step wakes the next process. Left to the kernel, each wake-up tends to land on the
other CPU, with a cross-CPU wake-up's price and a process that runs with cold caches.
``auto`` therefore splits the CPUs this process may use into two groups: the front (the
gateway, and lookup, idle on the hot path) and the back end (verifier, recall-status and the
embedded Redis), whose chain of wake-ups then stays on the back end's own CPUs. On a 2-core
VM this cut the CPU a question by 14% at one connection and raised throughput at 64
connections by 16% (``bench/ab.py --b-placement none``, bench/RESULTS.md 2026-12-08 01:15).
A load heavy on the back end (bulk verify) would find the back end's CPUs full while the
front's idle, so while it lasts the back end runs on every CPU (:class:`AdaptivePlacement`).
``none`` leaves placement to the kernel: for a machine busy with other work, which pinned
processes could not move away from.

In Kubernetes each service is its own pod and the kubelet's CPU manager places it: nothing here.

Transport-free: Linux's affinity calls and /proc, nothing else.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verinet.errors import ConfigError

log = logging.getLogger(__name__)

#: ``--placement`` values: ``auto`` (front and back end apart, where there are 2 CPUs or
#: more) and ``none`` (the kernel places every process).
PLACEMENTS = ("auto", "none")
#: The services on the front group's CPUs; every other one (and the embedded Redis) is the back end's.
FRONT = frozenset({"gateway", "lookup"})


@dataclass(frozen=True)
class Placement:
    """The CPUs of each group (disjoint, neither empty)."""

    front: tuple[int, ...]
    back: tuple[int, ...]

    def cpus_of(self, service: str) -> tuple[int, ...]:
        """The CPUs ``service`` (a service's name, or ``redis``) runs on."""
        return self.front if service in FRONT else self.back

    def describe(self) -> str:
        """One line for a person: which processes run where.

        >>> Placement((0,), (1,)).describe()
        'gateway and lookup on CPU 0; verifier, recall-status and Redis on CPU 1'
        """
        return f"gateway and lookup on {_cpu_list(self.front)}; verifier, recall-status and Redis on {_cpu_list(self.back)}"


def _cpu_list(cpus: Sequence[int]) -> str:
    return ("CPU " if len(cpus) == 1 else "CPUs ") + ",".join(str(cpu) for cpu in cpus)


def plan_placement(mode: str, cpus: Sequence[int]) -> Placement | None:
    """The placement ``mode`` gives on ``cpus`` (those this process may use), or None when the
    kernel places everything: mode ``none``, or fewer than 2 CPUs to split. The back end,
    three processes of the hot path, gets the larger half of an odd count.

    >>> plan_placement("auto", [0, 1]), plan_placement("auto", [0]), plan_placement("none", [0, 1])
    (Placement(front=(0,), back=(1,)), None, None)
    >>> plan_placement("auto", [2, 3, 5])
    Placement(front=(2,), back=(3, 5))
    """
    if mode not in PLACEMENTS:
        raise ConfigError(
            f"Failed to read placement {mode!r}: expected one of {', '.join(PLACEMENTS)}.",
            code="network.placement",
            field="placement",
        )
    ordered = sorted(set(cpus))
    if mode == "none" or len(ordered) < 2:
        return None
    split = len(ordered) // 2
    return Placement(front=tuple(ordered[:split]), back=tuple(ordered[split:]))


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its cgroup's and affinity's), or [] where the
    platform cannot say or place (no sched_getaffinity: not Linux)."""
    if not hasattr(os, "sched_getaffinity") or not hasattr(os, "sched_setaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def pin_process(pid: int, cpus: Sequence[int]) -> bool:
    """Puts every thread of process ``pid`` on ``cpus`` (threads it starts later inherit it).
    Placement only saves CPU, so a process it cannot place (gone, or refused by the system)
    is logged and left where it is: False then."""
    try:
        threads = [int(tid) for tid in os.listdir(Path("/proc") / str(pid) / "task")]
    except OSError:
        threads = [pid]
    placed = False
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
            placed = True
        except ProcessLookupError:
            continue  # a thread that ended meanwhile
        except OSError as error:
            log.warning("Failed to place process %d on CPUs %s: %s", pid, list(cpus), error)
            return False
    return placed


class AdaptivePlacement:
    """Whether the back end keeps to its own CPUs, decided anew each interval from what it used.

    Kept apart, the back end's chain of wake-ups stays close, which is what a stream of
    single questions needs; but a load heavy on the back end (bulk verify: four fifths of its
    CPU there) would then find the back end's CPUs full while the front's idle. So the back end
    is spread over every CPU once it has used at least ``widen_at`` of its CPUs for
    ``widen_after`` intervals in a row while the machine had ``idle_at_least`` cores idle
    (where nothing idles, as under a full LMS load, keeping it apart still answers more), and
    kept apart again once it has used at most ``narrow_at`` of them for ``narrow_after``
    intervals. Between the two it stays as it is: spread, it uses a tenth more CPU for the same
    work, so the band keeps it from going back and forth.
    """

    def __init__(
        self,
        back_cpus: int,
        *,
        widen_at: float = 0.9,
        idle_at_least: float = 0.3,
        narrow_at: float = 0.65,
        widen_after: int = 1,
        narrow_after: int = 25,
    ) -> None:
        self.back_cpus = back_cpus
        self.widen_at, self.idle_at_least, self.narrow_at = widen_at, idle_at_least, narrow_at
        self.widen_after, self.narrow_after = widen_after, narrow_after
        self.spread = False
        self._streak = 0

    def step(self, back_cores: float, idle_cores: float) -> bool:
        """One interval's use: cores the back end used, cores the machine left idle. Answers
        whether the back end is spread over every CPU from now on."""
        if self.spread:
            wants_change = back_cores <= self.narrow_at * self.back_cpus
            needed = self.narrow_after
        else:
            wants_change = back_cores >= self.widen_at * self.back_cpus and idle_cores >= self.idle_at_least
            needed = self.widen_after
        self._streak = self._streak + 1 if wants_change else 0
        if self._streak >= needed:
            self.spread, self._streak = not self.spread, 0
        return self.spread


def process_cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` has used, all its threads (0 when it is gone: Linux's /proc)."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_seconds(cpus: Sequence[int]) -> float:
    """Idle time of ``cpus`` since boot (Linux's /proc/stat: idle and iowait)."""
    wanted = {f"cpu{cpu}" for cpu in cpus}
    total = 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        fields = line.split()
        if fields and fields[0] in wanted:
            total += int(fields[4]) + int(fields[5])
    return total / os.sysconf("SC_CLK_TCK")


class PlacementKeeper:
    """Keeps a network's processes where ``placed`` and the load say: places each process as
    it starts (:meth:`place`), and from :meth:`start` to :meth:`stop` watches, every
    ``interval`` seconds, what the back end uses, spreading it over every CPU and back as
    :class:`AdaptivePlacement` decides. ``processes()`` lists the running (service, pid) pairs."""

    def __init__(
        self,
        placed: Placement,
        processes: Callable[[], list[tuple[str, int]]],
        *,
        interval: float = 0.2,
        adaptive: AdaptivePlacement | None = None,
    ) -> None:
        self.placed = placed
        self.processes = processes
        self.interval = interval
        self.adaptive = adaptive or AdaptivePlacement(len(placed.back))
        self.every_cpu = tuple(sorted({*placed.front, *placed.back}))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: How many times the back end was spread or brought back.
        self.changes = 0

    @property
    def running(self) -> bool:
        """Between :meth:`start` and :meth:`stop`."""
        return self._thread is not None

    @property
    def spread(self) -> bool:
        """Whether the back end runs on every CPU now (it needed more than its own)."""
        return self.adaptive.spread

    def cpus_of(self, service: str) -> tuple[int, ...]:
        if self.adaptive.spread and service not in FRONT:
            return self.every_cpu
        return self.placed.cpus_of(service)

    def place(self, service: str, pid: int) -> None:
        with self._lock:
            pin_process(pid, self.cpus_of(service))

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="placement", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _back_end(self) -> dict[int, str]:
        return {pid: service for service, pid in self.processes() if service not in FRONT}

    def _watch(self) -> None:
        used = {pid: process_cpu_seconds(pid) for pid in self._back_end()}
        idle, then = idle_cpu_seconds(self.every_cpu), time.monotonic()
        while not self._stop.wait(self.interval):
            back = self._back_end()
            now_used = {pid: process_cpu_seconds(pid) for pid in back}
            now_idle, now = idle_cpu_seconds(self.every_cpu), time.monotonic()
            elapsed = max(now - then, 1e-3)
            # A process started meanwhile counts from its first reading.
            back_cores = sum(max(0.0, seconds - used.get(pid, seconds)) for pid, seconds in now_used.items()) / elapsed
            was_spread = self.adaptive.spread
            spread = self.adaptive.step(back_cores, (now_idle - idle) / elapsed)
            used, idle, then = now_used, now_idle, now
            if spread != was_spread:
                self.changes += 1
                with self._lock:
                    for pid, service in back.items():
                        pin_process(pid, self.cpus_of(service))
                log.info(
                    "The back end now runs on %s: it used %.2f cores of its %d",
                    "every CPU" if spread else "its own CPUs again",
                    back_cores,
                    len(self.placed.back),
                    extra={"back_end_cores": round(back_cores, 2), "spread": spread},
                )
