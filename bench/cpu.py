"""CPU accounting: what each process of a run used (``/proc``), what the rest of the machine
used meanwhile, and waiting for a quiet machine before a run (and running again when it was not)."""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")

# -- CPU accounting -----------------------------------------------------------------------------


def proc_cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process (all its threads), in seconds: its CPU in user space and in
    the kernel (system calls, and waking other processes on a write)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    return sum(proc_cpu_times(pid))


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a process (threads of one name summed)."""
    out: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if task.name == str(pid):
                name += " (main)"
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return dict(out)


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies of the whole machine, read at one instant from /proc/stat.
    Steal (its 8th field; 0 on bare metal) is what the hypervisor gave this VM's vCPUs to
    others while they wanted to run; busy counts it too."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values)
    return total - values[3] - values[4], total, values[7] if len(values) > 7 else 0


class CpuMeter:
    """CPU seconds of each named process between start() and stop(): ``seconds`` in all,
    ``kernel_seconds`` the part spent in the kernel."""

    def __init__(self, pids: dict[str, int], threads: bool = False) -> None:
        self.pids = pids
        self.threads = threads

    def start(self) -> CpuMeter:
        self.before = {name: proc_cpu_times(pid) for name, pid in self.pids.items()}
        self.before_threads = {name: thread_cpu(pid) for name, pid in self.pids.items()} if self.threads else {}
        self.busy0, self.total0, self.steal0 = machine_jiffies()
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.t0 = time.perf_counter()
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.perf_counter() - self.t0
        after = {name: proc_cpu_times(pid) for name, pid in self.pids.items()}
        self.seconds = {name: sum(after[name]) - sum(self.before[name]) for name in self.pids}
        self.kernel_seconds = {name: after[name][1] - self.before[name][1] for name in self.pids}
        if self.threads:
            self.thread_seconds = {}
            for name, pid in self.pids.items():
                threads = thread_cpu(pid)
                self.thread_seconds[name] = {t: threads[t] - self.before_threads[name].get(t, 0.0) for t in threads}
        busy1, total1, steal1 = machine_jiffies()
        self.machine_util = (busy1 - self.busy0) / max(1, total1 - self.total0)
        self.machine_busy_seconds = (busy1 - self.busy0) / CLK_TCK
        self.steal_seconds = (steal1 - self.steal0) / CLK_TCK
        s1 = resource.getrusage(resource.RUSAGE_SELF)
        self.seconds["bench driver (this python)"] = (s1.ru_utime - self.self0.ru_utime) + (s1.ru_stime - self.self0.ru_stime)
        return self


    def other_load(self) -> float:
        """CPU seconds per wall second used on this machine by processes not measured here
        (other people's tests and benchmarks share the 2 cores), or taken by the hypervisor
        (``steal_load``)."""
        ours = sum(self.seconds.values())
        return max(0.0, self.machine_busy_seconds - ours) / self.wall

    def steal_load(self) -> float:
        """Cores the hypervisor took from this VM meanwhile (steal: other VMs ran on its cores
        while it wanted them). It shows in ``other_load`` too, as far as the processes' own
        accounting leaves it out."""
        return self.steal_seconds / self.wall


#: How long ``wait_quiet`` waits at most; scripts lower it with ``--max-wait`` for quick looks.
QUIET_MAX_WAIT = 300.0
_quiet_max_wait = [QUIET_MAX_WAIT]


def set_quiet_max_wait(seconds: float) -> None:
    """The longest ``wait_quiet`` waits for a quiet machine from now on (a script's --max-wait)."""
    _quiet_max_wait[0] = seconds


def add_max_wait_option(parser: argparse.ArgumentParser) -> None:
    """``--max-wait SECONDS``, for the script to pass to ``set_quiet_max_wait`` once parsed."""
    parser.add_argument("--max-wait", type=float, default=QUIET_MAX_WAIT,
                        help="seconds to wait at most for a quiet machine before each run (0 for quick looks)")  # fmt: skip


def wait_quiet(own_pids: Sequence[int], max_wait: float | None = None, threshold: float = 0.15) -> float:
    """Waits until processes other than ours use under ``threshold`` cores (1 s samples), at
    most ``max_wait`` seconds; returns the last foreign load seen (cores)."""
    own = [*own_pids, os.getpid()]
    deadline = time.monotonic() + (_quiet_max_wait[0] if max_wait is None else max_wait)
    warned = False
    while True:
        b0, c0 = machine_jiffies()[0], sum(_safe_cpu(p) for p in own)
        time.sleep(1.0)
        b1, c1 = machine_jiffies()[0], sum(_safe_cpu(p) for p in own)
        foreign = max(0.0, (b1 - b0) / CLK_TCK - (c1 - c0))
        if foreign < threshold or time.monotonic() > deadline:
            if warned:
                print(f"  other load now {foreign:.2f} cores; going on", flush=True)
            return foreign
        if not warned:
            print(f"  waiting for the machine to quiet down: other processes use {foreign:.2f} cores", flush=True)
            warned = True


OTHER_LOAD_LIMIT = 0.25  # cores used by others during a run above which it is run again


def quiet_run(run: Callable[[], Any], own_pids: Sequence[int], meter: Callable[[Any], CpuMeter], tries: int = 3) -> Any:
    """Runs ``run`` when the machine is quiet; when other processes took more than
    OTHER_LOAD_LIMIT cores meanwhile, runs it again (at most ``tries`` times) and keeps the
    run disturbed least. Its 'other load' is reported with the figures either way."""
    best = None
    for attempt in range(tries):
        wait_quiet(own_pids)
        result = run()
        load = meter(result).other_load()
        if best is None or load < meter(best).other_load():
            best = result
        if load <= OTHER_LOAD_LIMIT:
            break
        print(f"  other processes used {load:.2f} cores during the run; running it again ({attempt + 2}/{tries})" if attempt + 1 < tries
              else f"  other processes used {load:.2f} cores during the run; keeping the least disturbed run", flush=True)
    return best


def _safe_cpu(pid: int) -> float:
    try:
        return proc_cpu_seconds(pid)
    except OSError:
        return 0.0

def cpu_rows(meter: CpuMeter, per: float, unit: str) -> list[list[str]]:
    """Table rows: process, CPU seconds, share of the wall time, CPU µs per ``unit``."""
    rows = []
    total = 0.0
    for name, seconds in meter.seconds.items():
        rows.append([name, f"{seconds:.2f}", f"{seconds / meter.wall:.0%}", f"{seconds / per * 1e6:,.1f}" if per else "n/a"])
        if not name.startswith("bench driver"):
            total += seconds
    rows.append(["**network total**", f"{total:.2f}", f"{total / meter.wall:.0%}", f"{total / per * 1e6:,.1f}" if per else "n/a"])
    return rows
