"""Runs a whole verinet network on one machine: Redis (embedded unless given), the four
services as child processes, first-start bootstrap (admin, keys, demo data).

``verinet up`` uses it, and so do the end-to-end tests, so what the tests prove is what a
user runs.

Past 500 lines, holding three ideas: the processes (start, workers, their CPUs as
verinet.placement decides, supervision hooks, drain and stop), the data directory (its lock
and network.json), and the first-start bootstrap (admin, demo partners and packs); the
bootstrap is where it would be cut first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verinet.embedded_redis import EmbeddedRedis, free_ports
from verinet.errors import ConfigError, Conflict, Unavailable
from verinet.gateway_http import send_json
from verinet.identifiers import check_digit
from verinet.internal_tls import ServiceFiles, ensure_certificates
from verinet.placement import Placement, PlacementKeeper, plan_placement, usable_cpus
from verinet.socket_calls import MAX_PATH_BYTES as MAX_SOCKET_PATH_BYTES

SERVICES = ("recall-status", "lookup", "verifier", "gateway")
STOP_ORDER = ("gateway", "verifier", "lookup", "recall-status")
NETWORK_FILE = "network.json"
#: Held (flock) by the one ``verinet up`` running on a data directory; names its process and URL.
LOCK_FILE = "verinet.lock"
#: The supervised name of the embedded Redis, beside the services' names.
REDIS = "redis"

#: ``verinet up --workers``: the most processes per service it starts.
MAX_WORKERS = 32

DEMO_PREFIX = "0614141"
DEMO_PACKS = 1000


def gs1_check_digit(digits: str) -> str:
    return str(check_digit(digits))


def with_check_digit(digits: str) -> str:
    return digits + gs1_check_digit(digits)


DEMO_GTIN = with_check_digit("0" + DEMO_PREFIX + "00001")
DEMO_LOT = "LOT2026A"
DEMO_EXPIRY = "281231"
DEMO_PARTNERS = {
    "manufacturer": {
        "name": "Demo Pharma Inc.",
        "roles": ["manufacturer"],
        "glns": [with_check_digit(DEMO_PREFIX + "00000")],
        "company_prefixes": [DEMO_PREFIX],
    },
    "wholesaler": {
        "name": "Demo Wholesale Co.",
        "roles": ["wholesaler"],
        "glns": [with_check_digit("0860000100001"[:12])],
        "company_prefixes": [],
    },
    "dispenser": {
        "name": "Demo Pharmacy",
        "roles": ["dispenser"],
        "glns": [with_check_digit("0860000200002"[:12])],
        "company_prefixes": [],
    },
}


def demo_serial(n: int) -> str:
    return f"DEMO{n:06d}"


def default_workers(cores: int | None = None) -> int:
    """Processes per service for ``--workers auto``: one set of the four services per 4 cores.
    Under an LMS load one set already keeps 2 cores busy (gateway, verifier and recall-status
    each a large part of a core, Redis and the kernel's loopback work the rest), so a second
    set pays only from 4 cores up, where it also leaves Redis a core of its own.

    >>> default_workers(2), default_workers(4), default_workers(8), default_workers(16)
    (1, 1, 2, 4)
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, cores // 4))


def gateway_listeners(port: int) -> int | None:
    """How many sockets listen on TCP ``port`` on this machine (each SO_REUSEPORT listener
    counts), from Linux's /proc; None where that is not available."""
    count = 0
    tables = [table for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")) if table.exists()]
    if not tables:
        return None
    for table in tables:
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def worker_name(service: str, index: int) -> str:
    """The supervised name of a service's ``index``-th process (0 is the service's own name,
    so one worker per service is named as before): ``gateway``, ``gateway.2``, ...

    >>> worker_name("gateway", 0), worker_name("recall-status", 1)
    ('gateway', 'recall-status.2')
    """
    return service if index == 0 else f"{service}.{index + 1}"


def service_of(worker: str) -> str:
    """The service a supervised process name belongs to.

    >>> service_of("gateway"), service_of("recall-status.2")
    ('gateway', 'recall-status')
    """
    return worker.partition(".")[0]


@dataclass
class Network:
    """One verinet network on this machine."""

    data_dir: Path
    gateway_port: int = 8080
    redis_url: str | None = None
    bind_host: str = "127.0.0.1"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: Mutual TLS between the services, with a private CA kept in the data directory.
    internal_mtls: bool = False
    #: Processes per service (``verinet up --workers``). The gateway's share one port
    #: (SO_REUSEPORT: the kernel spreads connections); every other one has a port of its own,
    #: and its callers list them all and spread their calls round robin.
    workers: int = 1
    #: ``verinet up --placement``: ``auto`` runs the gateway and the back end on CPUs of their
    #: own (verinet.placement), ``none`` leaves every process to the kernel.
    placement: str = "auto"
    #: Places each process as it starts, and spreads the back end over every CPU while it
    #: needs more than its own (verinet.placement.AdaptivePlacement); None without placement.
    placement_keeper: PlacementKeeper | None = None
    redis: EmbeddedRedis | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    #: The port of each process, by supervised name (``worker_name``).
    worker_ports: dict[str, int] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    internal_tls: dict[str, ServiceFiles] = field(default_factory=dict)
    lock_fd: int | None = None

    @property
    def gateway_url(self) -> str:
        scheme = "https" if self.extra_env.get("TLS_CERT_FILE") else "http"
        return f"{scheme}://127.0.0.1:{self.ports['gateway']}"

    @property
    def placed(self) -> Placement | None:
        """The CPUs each group runs on, once started (None: the kernel places every process)."""
        return self.placement_keeper.placed if self.placement_keeper is not None else None

    @property
    def network_file(self) -> Path:
        return self.data_dir / NETWORK_FILE

    @property
    def key_dir(self) -> Path:
        """The verifier's verdict signing keys."""
        return self.data_dir / "keys"

    @property
    def webhook_key_dir(self) -> Path:
        """recall-status's webhook signing keys."""
        return self.data_dir / "webhook-keys"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def internal_tls_dir(self) -> Path:
        return self.data_dir / "internal-tls"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, demo: bool = False, timeout: float = 60.0) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                f"Failed to read workers {self.workers!r}: expected 1 to {MAX_WORKERS} processes per service, or auto.",
                code="network.workers",
                field="workers",
            )
        placed = plan_placement(self.placement, usable_cpus())
        self.placement_keeper = PlacementKeeper(placed, self._running_processes) if placed else None
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_data_dir()
        try:
            if self.gateway_port:
                self._check_port_free(self.gateway_port)
            self.log_dir.mkdir(exist_ok=True)
            (self.data_dir / "sockets").mkdir(exist_ok=True, mode=0o700)
            if self.network_file.exists():
                self.info = json.loads(self.network_file.read_text())
            if self.redis_url is None:
                gateway = {self.gateway_port} if self.gateway_port else set()
                self.redis = EmbeddedRedis(self.data_dir / "redis", choose_port=lambda: free_ports(1, gateway)[0])
                self.redis.start()
                self.redis_url = self.redis.local_url
            # One probe for every port at once: chosen one by one, two could come out equal (free_ports).
            taken = {port for port in (self.gateway_port, self.redis.port if self.redis else 0) if port}
            extra_workers = (len(SERVICES) - 1) * (self.workers - 1)  # the gateway's share its port
            chosen = iter(free_ports(len(SERVICES) + extra_workers, taken))
            self.ports = {name: next(chosen) for name in SERVICES}
            if self.internal_mtls:
                self.internal_tls = ensure_certificates(self.internal_tls_dir, SERVICES)
            if self.gateway_port:
                self.ports["gateway"] = self.gateway_port
            self.worker_ports = {
                worker_name(name, i): self.ports[name] if i == 0 or name == "gateway" else next(chosen)
                for name in SERVICES
                for i in range(self.workers)
            }
            self._note_lock_holder()
            self._ensure_admin()
            for name in self.worker_ports:
                self._spawn(name)
            self.wait_ready(timeout)
            # Placed once every process is up, every thread of each: started all at once on half
            # the CPUs, the back end's processes came up slower than their callers expected.
            if self.placement_keeper is not None:
                self.placement_keeper.start()
                for name, process in self.processes.items():
                    self._place(name, process)
                self._place(REDIS, self.redis.process if self.redis is not None else None)
            self.info["gateway_url"] = self.gateway_url
            if demo:
                self._ensure_demo()
            self._write_network_file()
        except BaseException:
            self.stop()
            raise

    def _lock_data_dir(self) -> None:
        """Takes the data directory for this process's life: a second network on it would
        start a second Redis on the same append-only file and rewrite network.json."""
        path = self.data_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder: dict[str, Any] = {}
            with contextlib.suppress(OSError, ValueError):
                holder = json.loads(os.read(fd, 4096) or b"{}")
            os.close(fd)
            pid = holder.get("pid", "unknown")
            url = holder.get("gateway_url") or "still starting"
            raise Conflict(
                f"Failed to start verinet in {self.data_dir}: a network already runs on it "
                f"({url}, process {pid}); stop it (Ctrl-C, or kill -TERM {pid}) or pass another --data-dir",
                code="network.already_running",
            ) from None
        self.lock_fd = fd
        self._note_lock_holder()

    def _note_lock_holder(self) -> None:
        """Writes who holds the lock (process id, and the gateway's URL once its port is known)
        into the lock file, for the message a second ``verinet up`` shows."""
        if self.lock_fd is None:
            return
        holder: dict[str, Any] = {"pid": os.getpid()}
        if "gateway" in self.ports:
            holder["gateway_url"] = self.gateway_url
        os.ftruncate(self.lock_fd, 0)
        os.pwrite(self.lock_fd, json.dumps(holder).encode(), 0)

    def _unlock_data_dir(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing releases the flock
            self.lock_fd = None

    def _check_port_free(self, port: int) -> None:
        """Fails before anything starts when the gateway's port is taken: otherwise whatever
        holds it would answer the readiness check in the gateway's place."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the gateway binds: a port whose old connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.bind_host, port))
            except OSError as error:
                raise ConfigError(
                    f"Failed to start verinet: port {port} on {self.bind_host} is in use "
                    f"({error.strerror}); stop what holds it or pass --port <a free port>",
                    code="network.port_in_use",
                    field="port",
                ) from None

    def workers_of(self, service: str) -> list[str]:
        """The supervised names of a service's processes."""
        return [worker_name(service, i) for i in range(self.workers)]

    def address(self, service: str) -> str:
        """Where callers reach a service: its one process, or (``workers`` > 1) the list of
        them all, which gRPC's ipv4 resolver reads and its round_robin policy spreads over."""
        ports = [self.worker_ports.get(w, self.ports[service]) for w in self.workers_of(service)]
        if len(ports) == 1:
            return f"127.0.0.1:{ports[0]}"
        return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)

    def call_socket(self, worker: str) -> str:
        """The Unix socket on which a verifier or recall-status process also serves its LMS
        call stream (verinet.socket_calls); "" when the data directory's path is too long for
        one (the streams then stay gRPC)."""
        path = str(self.data_dir.resolve() / "sockets" / f"{worker}.sock")
        return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES else ""

    def call_sockets(self, service: str) -> str:
        """Every process's call socket of ``service``, as its callers' setting lists them."""
        paths = [self.call_socket(w) for w in self.workers_of(service)]
        return ",".join(paths) if all(paths) else ""

    def service_env(self, worker: str) -> dict[str, str]:
        """The environment of one process (by supervised name, or a service's name)."""
        name = service_of(worker)
        addr = {svc: self.address(svc) for svc in self.ports}
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "BIND_HOST": self.bind_host,
            "PORT": str(self.worker_ports.get(worker, self.ports[name])),
            "REDIS_URL": self.redis_url or "",
        }
        if name == "verifier":
            env.update(
                LOOKUP_ADDR=addr["lookup"],
                RECALL_STATUS_ADDR=addr["recall-status"],
                SIGNING_KEY_DIR=str(self.key_dir),
            )
            del env["REDIS_URL"]  # the verifier holds the key, not the data
        if name in ("verifier", "recall-status"):
            # The LMS hot path's call streams run on Unix sockets between these processes
            # (verinet.socket_calls); everything else, and Kubernetes, stays gRPC.
            env["CALL_SOCKET"] = self.call_socket(worker)
        if name == "verifier":
            env["RECALL_STATUS_CALL_SOCKETS"] = self.call_sockets("recall-status")
        if name == "recall-status":
            env.update(WEBHOOK_KEY_DIR=str(self.webhook_key_dir))  # it signs its webhooks itself
        if name in ("recall-status", "lookup") and os.environ.get("OUTBOUND_ALLOW_CIDRS"):
            # the operator's outbound allowance reaches the two services that call out
            env["OUTBOUND_ALLOW_CIDRS"] = os.environ["OUTBOUND_ALLOW_CIDRS"]
        if name == "gateway":
            env.update(
                VERIFIER_ADDR=addr["verifier"],
                LOOKUP_ADDR=addr["lookup"],
                RECALL_STATUS_ADDR=addr["recall-status"],
                VERIFIER_CALL_SOCKETS=self.call_sockets("verifier"),
            )
            if self.workers > 1:
                env["REUSE_PORT"] = "true"  # its processes share the one port
        if name in self.internal_tls:
            env.update(self.internal_tls[name].as_env())
        env.update(self.extra_env)
        return env

    def _spawn(self, worker: str) -> None:
        module = "verinet." + service_of(worker).replace("-", "_")
        log_file = open(self.log_dir / f"{worker}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[worker] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=self.service_env(worker),
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops children in order
        )
        log_file.close()
        self._place(worker, self.processes[worker])

    def _place(self, name: str, process: subprocess.Popen[bytes] | None) -> None:
        """Puts a process (by supervised name) on its group's CPUs, once placement has begun
        (after the network's start: a process restarted later is placed as it starts)."""
        if self.placement_keeper is not None and self.placement_keeper.running and process is not None:
            self.placement_keeper.place(service_of(name), process.pid)

    def _running_processes(self) -> list[tuple[str, int]]:
        """(service, process id) of every process started, the embedded Redis's as ``redis``."""
        running = [(service_of(name), process.pid) for name, process in list(self.processes.items())]
        redis = self.redis.process if self.redis is not None else None
        return running + ([(REDIS, redis.pid)] if redis is not None else [])

    # -- supervision (verinet.supervision) ---------------------------------------------------

    def exited(self) -> dict[str, int]:
        """Exit codes of the processes that are not running, by name (the embedded Redis as
        ``redis``)."""
        codes = {name: code for name, process in self.processes.items() if (code := process.poll()) is not None}
        if self.redis is not None and self.redis.process is not None:
            code = self.redis.process.poll()
            if code is not None:
                codes[REDIS] = code
        return codes

    def restart(self, name: str) -> int:
        """Starts a process that exited again, on its port and data; answers its process id."""
        if name == REDIS:
            assert self.redis is not None and self.redis.process is not None
            self.redis.spawn()
            self._place(REDIS, self.redis.process)
            return self.redis.process.pid
        self._spawn(name)
        return self.processes[name].pid

    def log_path(self, name: str) -> str:
        if name == REDIS and self.redis is not None:
            return str(self.redis.data_dir / "redis.log")
        return str(self.log_dir / f"{name}.log")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise Unavailable(
                        f"{name} exited with code {process.returncode}; see {self.log_dir / (name + '.log')}"
                    )
            try:
                with urllib.request.urlopen(self.gateway_url + "/readyz", timeout=2, context=self.tls_client_context()) as answer:
                    if answer.status == 200 and self._every_worker_listens():
                        return
            except urllib.error.HTTPError as error:
                last = error.read().decode(errors="replace")
            except OSError as error:
                last = str(error)
            time.sleep(0.1)
        raise Unavailable(f"The network was not ready within {timeout}s: {last}")

    def _every_worker_listens(self) -> bool:
        """With several processes per service, whether each one listens: the gateway's
        readiness speaks for whichever gateway process answered, and a caller's first call
        fails fast while none of a service's processes is up yet."""
        if self.workers == 1:
            return True
        for worker, port in self.worker_ports.items():
            if service_of(worker) == "gateway":
                continue
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return gateway_listeners(self.ports["gateway"]) in (None, self.workers)

    def tls_client_context(self) -> ssl.SSLContext | None:
        """Trusts the gateway's own certificate when TLS is on (a CA file in TLS_CA_FILE)."""
        if not self.extra_env.get("TLS_CERT_FILE"):
            return None
        return ssl.create_default_context(cafile=self.extra_env.get("TLS_CA_FILE") or None)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM each service (gateway first; all processes of a service at once), wait for
        them to drain, then stop Redis."""
        if self.placement_keeper is not None:
            self.placement_keeper.stop()
        for name in STOP_ORDER:
            running = [
                process
                for worker in self.workers_of(name)
                if (process := self.processes.get(worker)) is not None and process.poll() is None
            ]
            for process in running:
                process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for process in running:
                try:
                    process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
            self.redis_url = None
        self._unlock_data_dir()

    # -- bootstrap -------------------------------------------------------------------------

    def _ensure_admin(self) -> None:
        from verinet.partners import NewPartner, PartnerStore, token_hash
        from verinet.store import connect

        async def ensure() -> None:
            redis = connect(self.redis_url or "")
            try:
                token = self.info.get("admin_token", "")
                if token and await redis.exists(f"token:{token_hash(token)}"):
                    return
                partner, token = await PartnerStore(redis).create(
                    NewPartner(name="verinet admin", roles=["admin"]), dt.datetime.now(dt.UTC)
                )
                self.info["admin_token"] = token
                self.info["admin_partner_id"] = partner.id
                self.info.pop("partners", None)  # a new store: earlier demo tokens are gone
            finally:
                await redis.aclose()

        asyncio.run(ensure())

    def request(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        return send_json(self.gateway_url + path, token, method, body, timeout=60, tls=self.tls_client_context())

    def _ensure_demo(self) -> None:
        partners = self.info.setdefault("partners", {})
        if self.info.get("demo", {}).get("gtin") == DEMO_GTIN and len(partners) == len(DEMO_PARTNERS):
            status, _ = self.request("GET", "/v1/partners/me", partners["manufacturer"]["token"])
            if status == 200:
                return
        admin = self.info["admin_token"]
        for role, spec in DEMO_PARTNERS.items():
            status, created = self.request("POST", "/v1/partners", admin, spec)
            if status != 201:
                raise Unavailable(f"Failed to create the demo {role}: {status} {created}")
            partners[role] = {k: created[k] for k in ("id", "name", "token", "glns", "company_prefixes")}
        manufacturer = partners["manufacturer"]["token"]
        status, answer = self.request("PUT", f"/v1/products/{DEMO_GTIN}", manufacturer, {"name": "Demo tablets 10 mg"})
        if status not in (200, 201):
            raise Unavailable(f"Failed to register the demo product: {status} {answer}")
        packs = [
            {"gtin": DEMO_GTIN, "serial": demo_serial(n), "lot": DEMO_LOT, "expiry": DEMO_EXPIRY}
            for n in range(1, DEMO_PACKS + 1)
        ]
        status, answer = self.request("POST", "/v1/packs/commission", manufacturer, {"packs": packs})
        if status != 200 or answer["refused"]:
            raise Unavailable(f"Failed to commission the demo packs: {status} {answer}")
        self.info["demo"] = {
            "gtin": DEMO_GTIN,
            "lot": DEMO_LOT,
            "expiry": DEMO_EXPIRY,
            "serials": f"{demo_serial(1)}..{demo_serial(DEMO_PACKS)}",
        }

    def _write_network_file(self) -> None:
        self.info["redis_url"] = self.redis_url
        tmp = self.network_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.info, handle, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.network_file)

    def demo_curl(self) -> str:
        demo = self.info.get("demo")
        if not demo:
            return ""
        wholesaler = self.info["partners"]["wholesaler"]
        return (
            f"curl -i -H 'Authorization: Bearer {wholesaler['token']}' "
            f"'{self.gateway_url}/verify/gtin/{demo['gtin']}/lot/{demo['lot']}/ser/{demo_serial(1)}"
            f"?exp={demo['expiry']}&linkType=verificationService&context=dscsaSaleableReturn"
            f"&reqGLN={wholesaler['glns'][0]}&corrUUID=21EC2020-3AEA-4069-A2DD-08002B30309D'"
        )
