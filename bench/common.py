"""Shared helpers of the network benchmarks in bench/: bootstrap, a network of our own,
partners and products through the API, pack data, commissioning, CPU accounting, wrk,
py-spy, and appending to bench/RESULTS.md.

Every benchmark starts its own network exactly as ``verinet up`` does (``Network.start``:
embedded Redis with ``appendfsync always``, the four services as child processes), in a
temporary data directory that is removed afterwards (``--keep`` keeps it).
"""

from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import os
import platform
import random
import resource
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"  # git-ignored: wrk scripts, path files, profiles
RESULTS = BENCH / "RESULTS.md"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


# -- bootstrap ----------------------------------------------------------------------------------


def _bootstrap() -> None:
    """Re-runs the benchmark with the project's venv (installing it as ``./run up`` does when it
    is missing), so ``python bench/x.py`` works from a clean checkout with any python3."""
    try:
        import verinet.network  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("VERINET_BENCH_BOOTSTRAPPED"):
        raise SystemExit("verinet is not importable even in .venv: see the pip output above")
    if not VENV_PYTHON.exists():
        print("bench: creating .venv and installing verinet[runtime] (as ./run up does)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ROOT / ".venv")], check=True)
    stamp = ROOT / ".venv" / ".installed-runtime"
    if not stamp.exists():
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", "requirements.lock", "-e", ".[runtime]"], cwd=ROOT, check=True)
        stamp.touch()
    os.environ["VERINET_BENCH_BOOTSTRAPPED"] = "1"
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


_bootstrap()

import orjson  # noqa: E402  (installed with verinet)

from verinet.embedded_redis import free_port  # noqa: E402
from verinet.network import Network, with_check_digit  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


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
            "best of 5 (smaller is faster; the fastest machine recorded here took about 15 ms)")


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


# -- the network --------------------------------------------------------------------------------


SERVICE_NAMES = ("gateway", "verifier", "lookup", "recall-status")


class BenchNetwork:
    """A network of our own plus a keep-alive HTTP client to its gateway."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.admin = network.info["admin_token"]
        self._local = threading.local()
        self._counter = itertools.count(1)

    @property
    def url(self) -> str:
        return self.network.gateway_url

    @property
    def port(self) -> int:
        return self.network.ports["gateway"]

    def pids(self) -> dict[str, int]:
        pids = {name: self.network.processes[name].pid for name in SERVICE_NAMES}
        # with --workers, every further process of a service too ("gateway.2", ...)
        pids.update((name, process.pid) for name, process in self.network.processes.items() if name not in pids)
        assert self.network.redis is not None and self.network.redis.process is not None
        pids["redis"] = self.network.redis.process.pid
        return pids

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.network.redis_url or "")

    # HTTP: one keep-alive connection per thread.
    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        return conn

    def request(self, method: str, path: str, token: str, body: Any = None, *, raw: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, Any, float]:
        """(status, parsed JSON or text, seconds)."""
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            conn = self._conn()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - started
            try:
                parsed = orjson.loads(payload) if payload else None
            except orjson.JSONDecodeError:
                parsed = payload.decode(errors="replace")
            return answer.status, parsed, elapsed
        raise AssertionError("unreachable")

    def must(self, method: str, path: str, token: str, body: Any = None, ok: Sequence[int] = (200, 201), **kw: Any) -> Any:
        status, parsed, _ = self.request(method, path, token, body, **kw)
        if status not in ok:
            raise RuntimeError(f"{method} {path} answered {status}: {str(parsed)[:500]}")
        return parsed

    # -- partners and products --------------------------------------------------------------

    def add_partner(self, roles: Sequence[str], name: str | None = None) -> dict[str, Any]:
        """Like tests/conftest.py's RunningNetwork.add_partner: a company prefix for
        manufacturers, one GLN each."""
        n = next(self._counter)
        body: dict[str, Any] = {"name": name or f"bench {roles[0]} {n}", "roles": list(roles)}
        if "manufacturer" in roles:
            body["company_prefixes"] = [f"08{n:05d}"]
        body["glns"] = [with_check_digit(f"09{n:05d}{len(roles):05d}")]
        return self.must("POST", "/v1/partners", self.admin, body, ok=(201,))

    def add_products(self, manufacturer: dict[str, Any], count: int) -> list[str]:
        prefix = manufacturer["company_prefixes"][0]
        gtins = []
        for item in range(1, count + 1):
            gtin = with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))
            self.must("PUT", f"/v1/products/{gtin}", manufacturer["token"], {"name": f"Bench product {item}"})
            gtins.append(gtin)
        return gtins


@contextmanager
def running_network(keep: bool = False, extra_env: dict[str, str] | None = None, workers: int = 1) -> Iterator[BenchNetwork]:
    """Starts Redis and the four services like ``verinet up`` (no demo data), stops them after."""
    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="verinet-bench-"))
    env = {"LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
    env.update(extra_env or {})
    network = Network(data_dir, gateway_port=free_port(), extra_env=env, workers=workers)
    started = time.perf_counter()
    network.start(demo=False)
    print(f"network up in {time.perf_counter() - started:.1f} s at {network.gateway_url} (data {data_dir})", flush=True)
    try:
        yield BenchNetwork(network)
    finally:
        network.stop()
        if keep:
            print(f"kept the network's data in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def check_logs(bench: BenchNetwork, report: Report | None = None) -> Counter[str]:
    """Warnings and errors the services logged during the run, counted by service, level,
    message and exception type; the logs are copied to bench/out/logs-<time>/ first (the
    network's data directory is removed afterwards)."""
    keep = OUT / f"logs-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    found: Counter[str] = Counter()
    for name in SERVICE_NAMES:
        path = bench.network.log_dir / f"{name}.log"
        if not path.exists():
            continue
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep / path.name)
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    found[f"{name}: {line[:200]}"] += 1
                continue
            level = str(entry.get("level", "")).lower()
            if level not in ("warning", "error", "critical"):
                continue
            exception = str(entry.get("exception", "")).strip().splitlines()
            found[f"{name} {level}: {entry.get('message', '')[:160]}" + (f" -- {exception[-1][:200]}" if exception else "")] += 1
    if found and report is not None:
        report.add(f"- service log warnings/errors during the benchmark (logs kept in {os.path.relpath(keep, ROOT)}/):")
        report.add(*(f"  - {n:,} x `{text}`" for text, n in found.most_common(8)))
    return found


# -- pack data ----------------------------------------------------------------------------------

SERIAL_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class Lot:
    gtin: str
    lot: str
    expiry: str


def make_lots(gtins: Sequence[str], lots_per_gtin: int, seed: int = 7) -> list[Lot]:
    """A few lots per GTIN, each with its own expiry 2028-2030 (YYMMDD, day 00 on some)."""
    rng = random.Random(seed)
    lots = []
    for g, gtin in enumerate(gtins):
        for n in range(lots_per_gtin):
            year = 28 + rng.randrange(3)
            month = 1 + rng.randrange(12)
            day = rng.choice(["00", "28", "30" if month != 2 else "28"])
            lots.append(Lot(gtin, f"L{g:02d}{n:02d}{rng.randrange(10**6):06d}", f"{year:02d}{month:02d}{day}"))
    return lots


def random_serials(count: int, seed: int, lo: int = 12, hi: int = 20) -> list[str]:
    """Realistic serials: 12 to 20 uppercase alphanumerics (GS1 CSET 82), deterministic."""
    rng = random.Random(seed)
    alphabet = SERIAL_ALPHABET
    lengths = [rng.randint(lo, hi) for _ in range(count)]
    pool = "".join(rng.choices(alphabet, k=sum(lengths)))
    out, pos = [], 0
    for n in lengths:
        out.append(pool[pos : pos + n])
        pos += n
    return out


@dataclass
class PackSet:
    """Packs as parallel lists (cheap at a million)."""

    serials: list[str]
    lot_index: list[int]
    lots: list[Lot]
    line: str = ""
    times: list[float] | None = None  # commissioned_at, Unix seconds

    def __len__(self) -> int:
        return len(self.serials)

    def pack(self, i: int) -> dict[str, Any]:
        lot = self.lots[self.lot_index[i]]
        out: dict[str, Any] = {"gtin": lot.gtin, "serial": self.serials[i], "lot": lot.lot, "expiry": lot.expiry}
        if self.line:
            out["line"] = self.line
        if self.times is not None:
            out["commissioned_at"] = dt.datetime.fromtimestamp(self.times[i], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def ident(self, i: int) -> dict[str, str]:
        lot = self.lots[self.lot_index[i]]
        return {"gtin": lot.gtin, "serial": self.serials[i], "lot": lot.lot, "expiry": lot.expiry}


def make_packs(lots: Sequence[Lot], count: int, seed: int = 11, line: str = "", window: tuple[float, float] | None = None) -> PackSet:
    rng = random.Random(seed + 1)
    serials = list(dict.fromkeys(random_serials(count, seed)))  # collisions are ~impossible; be exact anyway
    lot_index = [rng.randrange(len(lots)) for _ in serials]
    times = None
    if window is not None:
        start, end = window
        times = [start + (end - start) * k / len(serials) for k in range(len(serials))]
    return PackSet(serials, lot_index, list(lots), line, times)


# -- CPU accounting -----------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


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


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU seconds of each named process between start() and stop()."""

    def __init__(self, pids: dict[str, int], threads: bool = False) -> None:
        self.pids = pids
        self.threads = threads

    def start(self) -> CpuMeter:
        self.before = {name: proc_cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before_threads = {name: thread_cpu(pid) for name, pid in self.pids.items()} if self.threads else {}
        self.busy0 = machine_busy()
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.t0 = time.perf_counter()
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.perf_counter() - self.t0
        self.seconds = {name: proc_cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        if self.threads:
            self.thread_seconds = {}
            for name, pid in self.pids.items():
                after = thread_cpu(pid)
                self.thread_seconds[name] = {t: after[t] - self.before_threads[name].get(t, 0.0) for t in after}
        busy1 = machine_busy()
        self.machine_util = (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1])
        self.machine_busy_seconds = (busy1[0] - self.busy0[0]) / CLK_TCK
        s1 = resource.getrusage(resource.RUSAGE_SELF)
        self.seconds["bench driver (this python)"] = (s1.ru_utime - self.self0.ru_utime) + (s1.ru_stime - self.self0.ru_stime)
        return self


    def other_load(self) -> float:
        """CPU seconds per wall second used on this machine by processes not measured here
        (other people's tests and benchmarks share the 2 cores)."""
        ours = sum(self.seconds.values())
        return max(0.0, self.machine_busy_seconds - ours) / self.wall


#: How long ``wait_quiet`` waits at most; scripts lower it with ``--max-wait`` for quick looks.
QUIET_MAX_WAIT = 300.0


def wait_quiet(own_pids: Sequence[int], max_wait: float | None = None, threshold: float = 0.15) -> float:
    """Waits until processes other than ours use under ``threshold`` cores (1 s samples), at
    most ``max_wait`` seconds; returns the last foreign load seen (cores)."""
    own = [*own_pids, os.getpid()]
    deadline = time.monotonic() + (QUIET_MAX_WAIT if max_wait is None else max_wait)
    warned = False
    while True:
        b0, c0 = machine_busy()[0], sum(_safe_cpu(p) for p in own)
        time.sleep(1.0)
        b1, c1 = machine_busy()[0], sum(_safe_cpu(p) for p in own)
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


# -- commissioning ------------------------------------------------------------------------------


def ndjson_bodies(packs: PackSet, chunk: int) -> list[tuple[int, bytes]]:
    bodies = []
    dumps = orjson.dumps
    for start in range(0, len(packs), chunk):
        end = min(start + chunk, len(packs))
        bodies.append((end - start, b"\n".join(dumps(packs.pack(i)) for i in range(start, end))))
    return bodies


@dataclass
class CommissionResult:
    packs: int
    stored: int
    unchanged: int
    refused: int
    seconds: float
    request_seconds: list[float]
    cpu: CpuMeter
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def commission(bench: BenchNetwork, token: str, packs: PackSet, chunk: int = 50_000, clients: int = 1,
               progress: bool = True) -> CommissionResult:
    """Commissions ``packs`` with NDJSON uploads of ``chunk`` packs, ``clients`` at a time. The
    bodies are encoded before the clock starts, so the timed part is the network's work."""
    bodies = ndjson_bodies(packs, chunk)
    totals = Counter()
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    queue = iter(range(len(bodies)))

    def worker() -> None:
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            count, body = bodies[index]
            status, answer, seconds = bench.request("POST", "/v1/packs/commission", token, raw=body, content_type="application/x-ndjson")
            with lock:
                times.append(seconds)
                if status != 200:
                    errors.append(f"HTTP {status}: {str(answer)[:300]}")
                    totals["refused"] += count
                    continue
                totals["stored"] += answer["stored"]
                totals["unchanged"] += answer["unchanged"]
                totals["refused"] += answer["refused"]
                if answer["refused"] and not errors:
                    errors.append(str(answer["errors"][:2]))
                done = totals["stored"] + totals["unchanged"] + totals["refused"]
            if progress:
                print(f"  commissioned {done:,}/{len(packs):,} ({seconds:.2f} s for {count:,})", flush=True)

    meter = CpuMeter(bench.pids()).start()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    meter.stop()
    return CommissionResult(len(packs), totals["stored"], totals["unchanged"], totals["refused"], elapsed, sorted(times), meter,
                            errors[0] if errors else "")


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


def commission_report(report: Report, result: CommissionResult, chunk: int, clients: int, target: float = 100_000) -> None:
    times = result.request_seconds
    report.add(
        f"- commissioned {result.packs:,} packs in NDJSON requests of {chunk:,}, {clients} client(s): "
        f"stored {result.stored:,}, unchanged {result.unchanged:,}, refused {result.refused:,} in {result.seconds:.1f} s",
        f"- **commission: {result.rate:,.0f} packs/s** (target 100,000/s: {verdict(result.rate, target)}); "
        f"per request p50 {percentile(times, 50):.2f} s, max {times[-1]:.2f} s; machine CPU busy {result.cpu.machine_util:.0%}",
    )
    if result.first_error:
        report.add(f"- first refusal/error: `{result.first_error[:300]}`")
    report.table(["process", "CPU s", "CPU/wall", "CPU µs per pack"], cpu_rows(result.cpu, result.stored or 1, "pack"))


# -- wrk ----------------------------------------------------------------------------------------

WRK_LUA = r"""
-- Generated by bench/common.py. Each line of the paths file is "<token>\t<path>".
local paths, auths, n, i = {}, {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local tok, p = line:match("^(%S+)\t(.+)$")
    n = n + 1
    paths[n] = p
    auths[n] = "Bearer " .. tok
  end
  i = ((tonumber(args[2]) or 0) * 104729 + (id or 0) * 7919) % n
end
local thread_count = 0
function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end
function request()
  i = i % n + 1
  return wrk.format("GET", paths[i], {["Authorization"] = auths[i]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit(
            "wrk is not installed. On Debian/Ubuntu: apt-get install -y wrk (as root; run apt-get update first)."
        )
    return path


@dataclass
class WrkResult:
    connections: int
    threads: int
    seconds: float
    requests: int
    errors: dict[str, int]
    latency_us: dict[str, float]
    cpu: CpuMeter
    wrk_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(bench: BenchNetwork, paths_file: Path, connections: int, seconds: float, threads: int = 2,
            offset: int = 0, during: Callable[[], None] | None = None, thread_cpu_detail: bool = False) -> WrkResult:
    """Closed loop: ``connections`` keep-alive connections, each sends its next request when the
    previous one is answered. ``during`` runs (in a thread) while wrk does."""
    wrk = require_wrk()
    script = OUT / "lms.lua"
    script.write_text(WRK_LUA)
    threads = max(1, min(threads, connections))
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
               "-s", str(script), bench.url + "/", "--", str(paths_file), str(offset)]
    meter = CpuMeter(bench.pids(), threads=thread_cpu_detail).start()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    helper = None
    if during is not None:
        helper = threading.Thread(target=during)
        helper.start()
    _, status, usage = os.wait4(process.pid, 0)
    meter.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.communicate()
    if helper is not None:
        helper.join()
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {out[-2000:]} {err[-2000:]}")
    data = json.loads(line[len("WRK_JSON "):])
    wrk_cpu = usage.ru_utime + usage.ru_stime
    meter.seconds["wrk (load generator)"] = wrk_cpu
    return WrkResult(
        connections, threads, data["duration_us"] / 1e6, data["requests"],
        {k: data[k] for k in ("connect", "read", "write", "status", "timeout")},
        {k: data[k] for k in ("p50", "p90", "p99", "p999", "max", "mean")}, meter, wrk_cpu,
    )


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


def start_profiles(pids: dict[str, int], seconds: float | None, tag: str, rate: int = 97, native: bool = False) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
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


def percent(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "n/a"
