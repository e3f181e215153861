"""The kernel scheduler's account of questions asked one at a time: ``perf sched record``
during the closed loop, ``perf sched timehist -w`` read into context switches and wake-ups, a
question delimited by the client waking the gateway and the gateway waking the client back,
and what ran or waited for a CPU inside it.

A line of ``perf sched timehist -w -M`` is one of three kinds (times in s, durations in ms)::

    888.369960 [0001]  sleep[8495]           0.282      0.025      1.318
    888.387420 [0001]  kworker/1:3-vir[3739]                        awakened: :95
    888.500985 [0001]  swapper                                      migrated: python[12689] cpu 0 => 1

a thread leaving a CPU (wait time, sch delay, run time), a wake-up, a thread moved to another
CPU's run queue (at its wake-up, or pulled by an idle CPU). perf
names a thread ``comm[tid/pid]``, ``comm[tid]`` when it is its process's main thread, and a
bare ``comm`` when it knows no process for it (``<idle>``, ``swapper``, ``:95``); a comm may
hold spaces, brackets and slashes, so a line is read from its ends inwards.
"""

from __future__ import annotations

import bisect
import functools
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TRACEFS = Path("/sys/kernel/tracing")

#: What counts inside a slow question: a run this long, or a wait for a CPU this long.
LONG_RUN_SECONDS = 0.4e-3
LONG_CPU_WAIT_SECONDS = 0.3e-3

IDLE = "<idle>"

_TASK = re.compile(r"(?P<comm>.*)\[(?P<tid>-?\d+)(?:/(?P<pid>-?\d+))?\]")
_SWITCH = re.compile(
    r"\s*(?P<time>\d+\.\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<task>.+?)"
    r"\s+(?P<wait>\d+\.\d+)\s+(?P<sch_delay>\d+\.\d+)\s+(?P<run>\d+\.\d+)\s*"
)
_WAKEUP = re.compile(
    r"\s*(?P<time>\d+\.\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<waker>.+?)\s+awakened: (?P<wakee>.+?)\s*"
)
_MIGRATION = re.compile(
    r"\s*(?P<time>\d+\.\d+)\s+\[(?P<cpu>\d+)\]\s+.+?\s+migrated: (?P<task>.+?)"
    r" cpu (?P<source>\d+) => (?P<dest>\d+)\s*"
)


class TraceUnavailable(Exception):
    """No scheduler trace this time; the message says why."""


# -- what perf prints ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    """A thread as perf names it; ``pid`` is its process (``None`` when perf printed none)."""

    comm: str
    tid: int | None
    pid: int | None

    @classmethod
    def parse(cls, text: str) -> Task:
        """
        >>> Task.parse("event_engine[6773/6768]")
        Task(comm='event_engine', tid=6773, pid=6768)
        >>> Task.parse("kworker/1:1H-kb[88]")
        Task(comm='kworker/1:1H-kb', tid=88, pid=88)
        >>> Task.parse("<idle>")
        Task(comm='<idle>', tid=None, pid=None)
        """
        match = _TASK.fullmatch(text)
        if match is None:
            return cls(text, None, None)
        tid = int(match["tid"])
        return cls(match["comm"], tid, int(match["pid"]) if match["pid"] else tid)


# A trace names the same few hundred threads a million times: parse each name once.
_task = functools.lru_cache(maxsize=4096)(Task.parse)


@dataclass(frozen=True, slots=True)
class Switch:
    """A thread leaving a CPU at ``time``, after waiting ``sch_delay`` for it and running
    ``run`` (seconds all)."""

    time: float
    cpu: int
    task: Task
    sch_delay: float
    run: float

    @property
    def run_start(self) -> float:
        return self.time - self.run

    @property
    def wait_start(self) -> float:
        return self.run_start - self.sch_delay


@dataclass(frozen=True, slots=True)
class Wakeup:
    """``waker``, running on ``cpu``, woke ``wakee`` at ``time``."""

    time: float
    cpu: int
    waker: Task
    wakee: Task


@dataclass(frozen=True, slots=True)
class Migration:
    """``task`` moved to CPU ``dest``'s run queue at ``time``."""

    time: float
    task: Task
    source: int
    dest: int


Event = Switch | Wakeup | Migration


def parse_line(line: str) -> Event | None:
    """One line of ``perf sched timehist -w -M``; ``None`` for headers and anything else.

    >>> switch = parse_line("  888.369960 [0001]  Web Content[8495/8490]   0.282   0.025   1.318 ")
    >>> switch.task, switch.cpu, round(switch.sch_delay * 1e3, 3), round(switch.run * 1e3, 3)
    (Task(comm='Web Content', tid=8495, pid=8490), 1, 0.025, 1.318)
    >>> parse_line(" 888.387420 [0001]  swapper    awakened: grpc_global_tim[61/58]").wakee
    Task(comm='grpc_global_tim', tid=61, pid=58)
    >>> parse_line(" 888.500985 [0001]  swapper    migrated: python[12689] cpu 0 => 1")
    Migration(time=888.500985, task=Task(comm='python', tid=12689, pid=12689), source=0, dest=1)
    """
    if (match := _WAKEUP.fullmatch(line)) is not None:
        return Wakeup(
            float(match["time"]), int(match["cpu"]), _task(match["waker"]), _task(match["wakee"])
        )
    if (match := _MIGRATION.fullmatch(line)) is not None:
        return Migration(
            float(match["time"]), _task(match["task"]), int(match["source"]), int(match["dest"])
        )
    if (match := _SWITCH.fullmatch(line)) is not None:
        return Switch(
            float(match["time"]),
            int(match["cpu"]),
            _task(match["task"]),
            float(match["sch_delay"]) / 1e3,
            float(match["run"]) / 1e3,
        )
    return None


# -- recording ----------------------------------------------------------------------------------


def _tracefs_ready() -> None:
    """perf reads the sched tracepoints through tracefs; mounts it when its mount point is empty."""
    if not TRACEFS.is_dir() or any(TRACEFS.iterdir()):
        return
    print(f"sched trace: {TRACEFS} is empty, mounting tracefs there", flush=True)
    mounted = subprocess.run(
        ["mount", "-t", "tracefs", "nodev", str(TRACEFS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        raise TraceUnavailable(f"mounting tracefs failed: {mounted.stderr.strip()}")


class Recording:
    """A ``perf sched record`` of the whole machine into ``path`` under way; ``read`` waits for
    its end."""

    def __init__(self, seconds: float, path: Path) -> None:
        self.path = path
        self.process: subprocess.Popen[str] | None = None
        self.unavailable: str | None = None
        self.perf = shutil.which("perf") or ""
        if not self.perf:
            self.unavailable = "perf is not installed (Debian: linux-perf)"
            return
        try:
            _tracefs_ready()
        except TraceUnavailable as error:
            self.unavailable = str(error)
            return
        command = [self.perf, "sched", "record", "-o", str(path), "--", "sleep", f"{seconds + 1:g}"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        time.sleep(0.5)  # perf opens its events per CPU before it records anything

    def read(self) -> Iterator[Event]:
        """Waits for the recording to end, then its switches, wake-ups and migrations."""
        if self.process is None:
            raise TraceUnavailable(self.unavailable or "not recorded")
        _, errors = self.process.communicate(timeout=60)
        if self.process.returncode != 0 or not self.path.exists():
            raise TraceUnavailable(f"perf sched record failed: {_last_line(errors)}")
        command = [self.perf, "sched", "timehist", "-i", str(self.path), "-w", "-M"]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as timehist:
            assert timehist.stdout is not None and timehist.stderr is not None
            for line in timehist.stdout:
                if (event := parse_line(line)) is not None:
                    yield event
            errors = timehist.stderr.read()
        if timehist.returncode != 0:
            raise TraceUnavailable(f"perf sched timehist failed: {_last_line(errors)}")

    def stop(self) -> None:
        """Ends a recording nobody read (the loop failed); SIGINT lets perf close its file."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


@contextmanager
def recording(seconds: float, path: Path) -> Iterator[Recording]:
    """A recording of ``seconds`` + 1 from now into ``path``, stopped if it outlives the block."""
    started = Recording(seconds, path)
    try:
        yield started
    finally:
        started.stop()


# -- questions and what happened in them --------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """From the client waking the gateway (or, when the gateway was already awake, the client
    going to sleep after asking) to the gateway waking the client."""

    start: float
    end: float
    woke_gateway: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Happening:
    """A run or a wait for a CPU inside a question, long enough to matter.

    ``seconds`` is the part inside the question, ``whole`` all of it; for a wait, ``holder`` is
    what ran longest on the CPU whose queue the thread waited in (who, process, as
    ``Trace.label`` names them), and ``idle_elsewhere`` how long another CPU was idle meanwhile
    (the scheduler left the thread queued behind the holder)."""

    who: str
    process: str
    ours: bool
    kind: Literal["ran", "waited"]
    seconds: float
    whole: float
    holder: tuple[str, str] = ("", "")
    idle_elsewhere: float = 0.0

    def cause(self) -> str:
        if self.kind == "waited":
            return f"waited for a CPU: {self.holder[1]}"
        return f"{self.process} busy" if self.ours else f"other task ran: {self.process}"

    def describe(self) -> str:
        part = f" (of {self.whole * 1e3:.2f})" if self.whole - self.seconds >= 0.01e-3 else ""
        if self.kind == "waited":
            idle = (
                f"; another CPU idle {self.idle_elsewhere * 1e3:.2f} ms of it"
                if self.idle_elsewhere >= 0.1e-3
                else ""
            )
            return f"{self.who} waited {self.seconds * 1e3:.2f} ms{part} for a CPU ({self.holder[0]}{idle})"
        return f"{self.who} ran {self.seconds * 1e3:.2f} ms{part}"


def _overlap(start: float, end: float, low: float, high: float) -> float:
    return max(0.0, min(end, high) - max(start, low))


class Trace:
    """The switches and wake-ups of a recording, with the network's processes named:
    ``names`` maps a pid to its service (the client, this script, among them)."""

    def __init__(self, events: Iterable[Event], names: Mapping[int, str]) -> None:
        self.names = dict(names)
        self.switches: list[Switch] = []
        self.wakeups: list[Wakeup] = []
        self.migrations: list[Migration] = []
        for event in events:
            if isinstance(event, Switch):
                self.switches.append(event)
            elif isinstance(event, Wakeup):
                self.wakeups.append(event)
            else:
                self.migrations.append(event)
        self.switches.sort(key=lambda switch: switch.time)
        self._ends = [switch.time for switch in self.switches]
        # each CPU's switches, idle ones included, tile its time: one after another
        self._by_cpu: dict[int, list[Switch]] = {}
        for switch in self.switches:
            self._by_cpu.setdefault(switch.cpu, []).append(switch)
        self._cpu_ends = {
            cpu: [switch.time for switch in on_cpu] for cpu, on_cpu in self._by_cpu.items()
        }
        # each thread's CPU from a time on: where it ran, or the queue a migration put it in
        placements: dict[int, list[tuple[float, int]]] = {}
        for switch in self.switches:
            if switch.task.tid is not None:
                placements.setdefault(switch.task.tid, []).append((switch.run_start, switch.cpu))
        for migration in self.migrations:
            if migration.task.tid is not None:
                placements.setdefault(migration.task.tid, []).append(
                    (migration.time, migration.dest)
                )
        self._placements = {tid: sorted(placed) for tid, placed in placements.items()}
        # how far before its line a switch's wait may begin: bounds the search for overlaps
        self._reach = max(
            (s.run + s.sch_delay for s in self.switches if s.task.comm != IDLE), default=0.0
        )

    def questions(self, client: int, gateway: int) -> list[Question]:
        """Each question the client (the thread ``client``) asked, ending when the gateway woke it.

        A question starts when the client wakes the gateway. A gateway still running its last
        answer's work is not woken; that question starts when the client, having asked, went
        to sleep (its last switch before the answer), a few µs after it asked."""
        events: list[Switch | Wakeup] = [
            switch for switch in self.switches if switch.task.tid == client
        ]
        events += self.wakeups
        events.sort(key=lambda event: event.time)
        found: list[Question] = []
        woke_gateway: float | None = None
        slept: float | None = None
        for event in events:
            if isinstance(event, Switch):
                slept = event.time
            elif event.waker.tid == client and event.wakee.pid == gateway:
                woke_gateway = event.time
            elif event.waker.pid == gateway and event.wakee.tid == client:
                start = woke_gateway if woke_gateway is not None else slept
                if start is not None:
                    found.append(Question(start, event.time, woke_gateway is not None))
                woke_gateway = slept = None
        return found

    def _around(self, start: float, end: float) -> Iterator[Switch]:
        """Switches whose wait or run may overlap ``start``..``end``."""
        first = bisect.bisect_left(self._ends, start)
        last = bisect.bisect_right(self._ends, end + self._reach)
        return (switch for switch in self.switches[first:last] if switch.task.comm != IDLE)

    def label(self, task: Task) -> tuple[str, str, bool]:
        """(who, process, ours): for the network's threads, the service (naming a thread other
        than the main one) twice; for any other task, ``comm[pid]`` and its comm."""
        name = self.names.get(task.pid) if task.pid is not None else None
        if name is None:
            return (task.comm if task.pid is None else f"{task.comm}[{task.pid}]"), task.comm, False
        return (name if task.tid == task.pid else f"{name} ({task.comm} thread)"), name, True

    def _on_cpu(self, cpu: int, start: float, end: float) -> Iterator[tuple[Switch, float]]:
        """The runs on ``cpu`` (idle included) overlapping ``start``..``end``, with the overlap."""
        on_cpu = self._by_cpu[cpu]
        for index in range(bisect.bisect_left(self._cpu_ends[cpu], start), len(on_cpu)):
            switch = on_cpu[index]
            if switch.run_start >= end:
                return
            yield switch, _overlap(switch.run_start, switch.time, start, end)

    def queues(self, waiting: Switch) -> list[tuple[int, float, float]]:
        """(cpu, start, end): the run queues ``waiting``'s thread waited in before it ran, in
        turn (an idle CPU may pull it from a busy one's)."""
        placed = self._placements.get(waiting.task.tid or 0, [])
        start, end = waiting.wait_start, waiting.run_start
        index = bisect.bisect_right(placed, (start, float("inf"))) - 1
        cpu = placed[index][1] if index >= 0 else waiting.cpu
        found: list[tuple[int, float, float]] = []
        for moved_at, moved_to in placed[index + 1 :]:
            if moved_at >= end:
                break
            found.append((cpu, start, moved_at))
            cpu, start = moved_to, moved_at
        found.append((cpu, start, end))
        return found

    def holder(self, queues: Iterable[tuple[int, float, float]]) -> tuple[str, str]:
        """(who, process) of what ran longest on the CPUs of ``queues`` while waited in."""
        longest: dict[tuple[str, str], float] = {}
        for cpu, start, end in queues:
            for switch, ran in self._on_cpu(cpu, start, end):
                if switch.task.comm != IDLE:
                    who, process, _ = self.label(switch.task)
                    longest[who, process] = longest.get((who, process), 0.0) + ran
        if not longest or max(longest.values()) <= 0:
            return "the CPU was idle", "the CPU was idle"
        return max(longest, key=lambda holder: longest[holder])

    def _idle(self, cpu: int, start: float, end: float) -> float:
        """How long ``cpu`` was idle between ``start`` and ``end``."""
        return sum(ran for switch, ran in self._on_cpu(cpu, start, end) if switch.task.comm == IDLE)

    def idle_elsewhere(self, queues: Iterable[tuple[int, float, float]]) -> float:
        """How long some CPU other than the one waited on was idle meanwhile (the idlest, for
        each queue waited in)."""
        total = 0.0
        for cpu, start, end in queues:
            others = [self._idle(other, start, end) for other in self._by_cpu if other != cpu]
            total += max(others, default=0.0)
        return total

    def happenings(self, question: Question) -> list[Happening]:
        """Runs (of any task) and waits for a CPU (of the network's processes) inside
        ``question`` over the thresholds, in time order."""
        found: list[tuple[float, Happening]] = []
        for switch in self._around(question.start, question.end):
            who, process, ours = self.label(switch.task)
            ran = _overlap(switch.run_start, switch.time, question.start, question.end)
            if ran >= LONG_RUN_SECONDS:
                found.append(
                    (switch.run_start, Happening(who, process, ours, "ran", ran, switch.run))
                )
            waited = _overlap(switch.wait_start, switch.run_start, question.start, question.end)
            if ours and waited >= LONG_CPU_WAIT_SECONDS:
                queues = self.queues(switch)
                holder, idle = self.holder(queues), self.idle_elsewhere(queues)
                found.append(
                    (
                        switch.wait_start,
                        Happening(
                            who, process, ours, "waited", waited, switch.sch_delay, holder, idle
                        ),
                    )
                )
        return [happening for _, happening in sorted(found, key=lambda pair: pair[0])]

    def scheduling(self, start: float, end: float) -> dict[str, tuple[list[float], list[float]]]:
        """Per process of the network, its scheduling delays and run lengths (seconds, sorted)
        of the switches between ``start`` and ``end``."""
        delays: dict[str, tuple[list[float], list[float]]] = {
            name: ([], []) for name in self.names.values()
        }
        for switch in self.switches[
            bisect.bisect_left(self._ends, start) : bisect.bisect_right(self._ends, end)
        ]:
            name = self.names.get(switch.task.pid) if switch.task.pid is not None else None
            if name is not None:
                delays[name][0].append(switch.sch_delay)
                delays[name][1].append(switch.run)
        for sch_delays, runs in delays.values():
            sch_delays.sort()
            runs.sort()
        return delays

    def busy_seconds(self, pid: int, start: float, end: float) -> float:
        """CPU seconds the process ``pid`` ran between ``start`` and ``end``."""
        return sum(
            _overlap(switch.run_start, switch.time, start, end)
            for switch in self._around(start, end)
            if switch.task.pid == pid
        )
