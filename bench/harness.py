"""The benchmarks' harness: re-running with the project's venv, the paths of bench/, and a
network of our own started exactly as ``verinet up`` does (``Network.start``: embedded Redis
with ``appendfsync always``, the four services as child processes) in a temporary data
directory that is removed afterwards (``--keep`` keeps it), its partners and products made
through the API, and the check of its logs afterwards.

Imported first by every benchmark: importing it re-runs the script with ``.venv/bin/python``
when verinet is not importable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from report import Report

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
from verinet.placement import PLACEMENTS  # noqa: E402

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


def network_bench_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a bench that starts a network, described by the first line of its
    ``doc``: ``--no-write`` (no entry in RESULTS.md), ``--keep`` (keep the network's data
    directory) and ``--placement`` (``verinet up``'s), then the bench's own options."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--placement", choices=PLACEMENTS, default="auto", help="verinet up --placement (default auto)")
    return parser


def add_run_options(parser: argparse.ArgumentParser, *, clients: str, clients_are: str, profile_seconds: float, profiled: str) -> None:
    """``--clients``, counts of concurrent ``clients_are`` (comma-separated, one run each), and
    ``--profile-seconds``, how long py-spy and perf watch ``profiled`` (0 skips the profile)."""
    parser.add_argument("--clients", default=clients, help=f"concurrent {clients_are}, one run each")
    parser.add_argument("--profile-seconds", type=float, default=profile_seconds, help=f"py-spy/perf {profiled}; 0 to skip")


@contextmanager
def running_network(keep: bool = False, extra_env: dict[str, str] | None = None, workers: int = 1,
                    placement: str = "auto") -> Iterator[BenchNetwork]:
    """Starts Redis and the four services like ``verinet up`` (no demo data; ``placement`` as
    its ``--placement``), stops them after."""
    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="verinet-bench-"))
    env = {"LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
    env.update(extra_env or {})
    network = Network(data_dir, gateway_port=free_port(), extra_env=env, workers=workers, placement=placement)
    started = time.perf_counter()
    network.start(demo=False)
    placed = network.placed.describe() if network.placed else "processes where the kernel puts them"
    print(f"network up in {time.perf_counter() - started:.1f} s at {network.gateway_url} (data {data_dir}; {placed})", flush=True)
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

