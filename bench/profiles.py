"""Profiles: py-spy per process (Python frames) and perf (native CPU by shared object),
summarised into RESULTS.md tables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness import OUT, ROOT
from report import Report

# -- py-spy -------------------------------------------------------------------------------------


def py_spy() -> str:
    """py-spy from PATH, else from a tools venv of its own (~/.cache/verinet/bench-tools): the
    project's venv holds exactly requirements.lock (tests/test_lock.py checks it)."""
    found = shutil.which("py-spy")
    if found:
        return found
    tools = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "verinet" / "bench-tools"
    exe = tools / "bin" / "py-spy"
    if not exe.exists():
        print(f"bench: installing py-spy into {tools} for profiling", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
        subprocess.run([str(tools / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "py-spy"], check=True)
    return str(exe)


#: py-spy samples per second: off the timer's harmonics, and light enough for the run it watches.
PROFILE_RATE = 97


def start_profiles(pids: dict[str, int], seconds: float | None, tag: str, rate: int = PROFILE_RATE, native: bool = False) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    """Starts one ``py-spy record`` per process (raw collapsed stacks, non-blocking sampling);
    with ``seconds`` None it runs until ``interrupt`` is called."""
    exe = py_spy()
    out: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, pid in pids.items():
        path = OUT / f"profile-{tag}-{name}.txt"
        command = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(path)]
        if seconds is not None:
            command += ["--duration", str(max(1, int(seconds)))]
        command.append("--native" if native else "--nonblocking")
        out[name] = (subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path)
    return out


def interrupt(running: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> None:
    """Stops open-ended py-spy or perf recordings (SIGINT: both write their output)."""
    import signal

    time.sleep(0.3)
    for process, _ in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)


def finish_profiles(running: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Path]:
    done = {}
    for name, (process, path) in running.items():
        _, err = process.communicate(timeout=600)
        if process.returncode != 0 or not path.exists():
            print(f"py-spy for {name} failed: {err.decode(errors='replace')[-500:]}", flush=True)
            continue
        done[name] = path
    return done


def _short(frame: str) -> str:
    """'func (/long/path/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py:12)'."""
    if "(" not in frame:
        return frame
    func, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{func} ({where})"


def _strip_line(frame: str) -> str:
    head, sep, tail = frame.rpartition(":")
    return head + ")" if sep and tail.rstrip(")").isdigit() else frame


def summarize_profile(path: Path, top: int = 12) -> dict[str, Any]:
    """Self and inclusive shares of a py-spy raw (collapsed) profile, by function and file."""
    self_counts: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    self_lines: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";") if f]
        # py-spy's first frame of a raw line is the thread name ("process 1:..." / "thread ..." )
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        self_lines[frames[-1]] += n
        self_counts[_strip_line(frames[-1])] += n
        for f in {_strip_line(f) for f in frames}:
            incl[f] += n
    return {
        "samples": total,
        "self": self_counts.most_common(top),
        "self_lines": self_lines.most_common(top),
        "inclusive": incl.most_common(400),
    }


LEAF_LABELS = {
    "Runner.run (asyncio/runners.py)": "[C under the event loop: uvloop, grpc cython callbacks, syscalls] (Runner.run)",
    "Thread.run (threading.py)": "[C in a Python thread: grpc aio poller _poll_wrapper] (Thread.run)",
    "run_app (aiohttp/web.py)": "[C under the event loop: uvloop, grpc cython callbacks, syscalls] (run_app)",
}


def label(frame: str) -> str:
    return LEAF_LABELS.get(frame, frame)


# -- perf (native CPU by shared object) ---------------------------------------------------------


def start_perf(pids: dict[str, int], seconds: float | None, tag: str, frequency: int = 499) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    """One ``perf record`` (cpu-clock, no call graphs, all threads) per process, if perf is
    installed (Debian: apt-get install linux-perf)."""
    exe = shutil.which("perf")
    if not exe:
        return {}
    running = {}
    for name, pid in pids.items():
        path = OUT / f"perf-{tag}-{name}.data"
        command = [exe, "record", "-q", "-F", str(frequency), "-p", str(pid), "-o", str(path)]
        if seconds is not None:
            command += ["--", "sleep", str(seconds)]
        running[name] = (subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path)
    return running


def _perf_rows(path: Path, sort: str, top: int) -> list[tuple[str, float]]:
    text = subprocess.run(["perf", "report", "-i", str(path), "--no-children", "--sort", sort, "--stdio", "-q"],
                          check=False, capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%"):
            rest = [p for p in parts[1:] if p not in ("[.]", "[k]")]
            rows.append((" ".join(rest), float(parts[0].rstrip("%"))))
    return rows[:top]


def finish_perf(running: dict[str, tuple[subprocess.Popen[bytes], Path]], top: int = 10) -> dict[str, list[tuple[str, float]]]:
    """Per process: the top shared objects, and the top symbols, by share of its CPU samples."""
    out: dict[str, list[tuple[str, float]]] = {}
    for name, (process, path) in running.items():
        process.communicate(timeout=600)
        if not path.exists():
            continue
        out[name] = _perf_rows(path, "dso", top)
        out[name + " symbols"] = _perf_rows(path, "dso,sym", top)
    return out


ROOT_FRAMES = ("<module>", "_run_module_as_main", "_run_code", "run (", "Runner.run", "run_app", "BaseEventLoop.", "Handle._run",
               "Thread.", "main (", "serve (", "_bootstrap", "run_forever", "run_until_complete")


def profile_tables(report: Report, path: Path, top: int = 12) -> int:
    """Self-time table, then inclusive tables for verinet code and for libraries."""
    summary = summarize_profile(path, top=top)
    total = summary["samples"]
    if not total:
        report.add("(no samples: the process was idle)", "")
        return 0
    report.add("Top self time:", "")
    report.table(["self", "function"], [[percent(n, total), f"`{label(f)}`"] for f, n in summary["self"]], align="rl")
    ours = [(f, n) for f, n in summary["inclusive"] if ("services/" in f or "shared/" in f) and "translate_errors" not in f]
    libs = [(f, n) for f, n in summary["inclusive"]
            if not ("services/" in f or "shared/" in f) and not any(r in f for r in ROOT_FRAMES) and "asyncio/" not in f]
    report.add("Inclusive time, verinet code:", "")
    report.table(["incl.", "function"], [[percent(n, total), f"`{f}`"] for f, n in ours[:top]], align="rl")
    report.add("Inclusive time, libraries:", "")
    report.table(["incl.", "function"], [[percent(n, total), f"`{f}`"] for f, n in libs[:top]], align="rl")
    return total


def process_profiles(report: Report, profiles: dict[str, Path], perf: dict[str, Any], top: int = 12, heading: Any = None) -> None:
    """Each process's profile tables with its perf split by shared object, then Redis's top
    symbols: the profile section every throughput bench ends with. ``heading(name)`` titles a
    process (default ``#### name``)."""
    for name, path in profiles.items():
        report.add(heading(name) if heading else f"#### {name}", "")
        profile_tables(report, path, top=top)
        if perf.get(name):
            report.add("perf by shared object: " + ", ".join(f"{d} {v:.1f}%" for d, v in perf[name]), "")
    if perf.get("redis"):
        report.add("redis, perf top symbols: " + ", ".join(f"`{s}` {v:.1f}%" for s, v in perf.get("redis symbols", [])[:8]))


def report_profiles(
    report: Report,
    title: str,
    running: dict[str, tuple[subprocess.Popen[bytes], Path]],
    perf_running: dict[str, tuple[subprocess.Popen[bytes], Path]],
    top: int = 12,
    heading: Any = None,
) -> None:
    """Stops the py-spy and perf runs, then adds their tables (``process_profiles``) under the
    section ``### title``."""
    perf = finish_perf(perf_running)
    profiles = finish_profiles(running)
    report.add("", f"### {title}", "")
    process_profiles(report, profiles, perf, top=top, heading=heading)


def percent(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "n/a"
