"""A benchmark's record in bench/RESULTS.md: the section (``Report``), the commit, the
machine and its speed, the command, and the formatting of figures against their targets."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import RESULTS, ROOT

# -- results ------------------------------------------------------------------------------------


def git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def commit_label() -> str:
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    return commit


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    return f"{platform.machine()}, {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


# The machines this runs on (virtual, 2 cores) change speed between sessions by 2x or more and
# drift by a fifth within minutes, with no steal time shown. Every record carries this reference
# so its figures can be read against the machine they came from.
SPEED_LOOP = 300_000
SPEED_LOOP_CODE = f"""
import sys, time
def loop():
    total = 0
    for i in range({SPEED_LOOP}):
        total += i * i
    return total
def timed():
    started = time.process_time()
    loop()
    return time.process_time() - started
"""
SPEED_PROBE = SPEED_LOOP_CODE + "print(min(timed() for _ in range(5)))\n"
# One timing for each line read: a process started once, so that probing during a load costs
# it one loop (about 30 ms of one core), not an interpreter start-up as well.
SPEED_PROBE_SERVER = SPEED_LOOP_CODE + "for _ in sys.stdin:\n    print(timed(), flush=True)\n"


def machine_speed_ms() -> float:
    """CPU milliseconds a fixed pure-Python loop takes here (best of 5, in a fresh process):
    smaller is faster. CPU time, not wall time, so waiting for a busy core does not count."""
    out = subprocess.run([sys.executable, "-c", SPEED_PROBE], capture_output=True, text=True, check=True, timeout=60)
    return float(out.stdout) * 1000


def machine_speed_line(speed_ms: float | None = None) -> str:
    speed_ms = machine_speed_ms() if speed_ms is None else speed_ms
    return (f"- machine speed: a fixed Python loop ({SPEED_LOOP:,} iterations) takes {speed_ms:.1f} ms of CPU, "
            "best of 5 (smaller is faster; the fastest machine recorded here took about 9 ms, 2026-12-08)")


def command_line() -> str:
    return "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


@dataclass
class Report:
    """One section of RESULTS.md, printed as it grows and appended at the end."""

    title: str
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = dt.datetime.now(dt.UTC)
        header = [
            f"## {self.started:%Y-%m-%d %H:%M} UTC: {self.title}",
            "",
            f"- commit: `{commit_label()}`",
            f"- machine: {machine()}",
            machine_speed_line(),
            f"- command: `{command_line()}`",
        ]
        self.lines.extend(header)
        print("\n".join(header), flush=True)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)
        print("\n".join(lines), flush=True)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> None:
        align = align or ("l" + "r" * (len(head) - 1))
        sep = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
        self.add("", "| " + " | ".join(head) + " |", sep, *("| " + " | ".join(str(c) for c in row) + " |" for row in rows), "")

    def write(self, path: Path = RESULTS, enabled: bool = True) -> None:
        if not enabled:
            return
        if not path.exists():
            path.write_text("# Benchmark results\n\nNewest last. Appended by the scripts in bench/.\n\n")
        elapsed = dt.datetime.now(dt.UTC) - self.started
        text = "\n".join([*self.lines, f"- wall time of the benchmark: {elapsed.total_seconds():.0f} s", ""]) + "\n"
        with path.open("a", encoding="utf-8") as out:
            if not path.read_text(encoding="utf-8").endswith("\n\n"):
                out.write("\n")
            out.write(text)
        print(f"appended to {os.path.relpath(path, ROOT)}", flush=True)


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    if met:
        return "met"
    ratio = value / target if higher_is_better else target / value if value else float("inf")
    return f"NOT met ({ratio:.0%} of target)" if higher_is_better else f"NOT met ({value / target:.1f}x the limit)"


def fmt_ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f}"


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]

