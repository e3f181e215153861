"""A real ``verinet up`` process for tests: started as a user starts it, its processes found
by their command lines, its output kept for assertions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from verinet.embedded_redis import children_of
from verinet.network import DEMO_EXPIRY, DEMO_GTIN, DEMO_LOT

UP_LINE = "Ctrl-C stops"


def verinet_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "verinet.cli", *args]


def environment() -> dict[str, str]:
    """This environment without REDIS_URL, so that ``verinet up`` embeds its own Redis."""
    return {key: value for key, value in os.environ.items() if key != "REDIS_URL"}


def is_redis_server(pid: int) -> bool:
    # Redis rewrites its command line to "redis-server host:port"; its command name stays.
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server"
    except OSError:
        return False


def process_name(pid: int) -> str | None:
    """``redis`` or the service a child of ``verinet up`` runs; None for anything else."""
    if is_redis_server(pid):
        return "redis"
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"-m" in words:
        module = words[words.index(b"-m") + 1].decode()
        if module.startswith("verinet."):
            return module.removeprefix("verinet.").replace("_", "-")
    return None


def redis_servers_on(data_dir: Path) -> list[int]:
    """Process ids of every redis-server working in ``data_dir`` (Redis changes to its --dir)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if is_redis_server(int(proc.name)):
            try:
                if os.readlink(proc / "cwd").startswith(str(data_dir)):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@dataclass
class VerinetUp:
    """``verinet up`` on a data directory and port; stdout is read by a thread into ``lines``,
    stderr (the supervisor's JSON log lines) goes to a file."""

    data_dir: Path
    port: int
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-up-{self.port}.stderr"

    def start(self, *extra: str, timeout: float = 120.0) -> VerinetUp:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if "--workers" not in extra:
            # one process per service, whatever the cores: tests name and kill processes by service
            extra = ("--workers", "1", *extra)
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                verinet_command("up", "--port", str(self.port), "--data-dir", str(self.data_dir), *extra),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=environment(),
            )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + timeout
        while not any(line.startswith(UP_LINE) for line in self.lines):
            assert self.process.poll() is None, f"verinet up exited early: {self.lines} {self.stderr()}"
            assert time.monotonic() < deadline, f"verinet up did not come up: {self.lines} {self.stderr()}"
            time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def log_entries(self) -> list[dict[str, Any]]:
        """The structured log lines ``verinet up`` wrote to stderr."""
        return [json.loads(line) for line in self.stderr().splitlines() if line.startswith("{")]

    @property
    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "network.json").read_text()))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> dict[str, int]:
        """The process id of each supervised process (``redis`` and the four services)."""
        named = {}
        for pid in children_of(self.pid):
            name = process_name(pid)
            if name is not None:
                named[name] = pid
        return named

    def kill(self, name: str) -> int:
        """SIGKILLs the named process (Redis with any child it forked, as a crash would);
        answers the killed process id."""
        pid = self.children()[name]
        doomed = [pid, *(children_of(pid) if name == "redis" else [])]
        for victim in doomed:
            os.kill(victim, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float) -> int:
        """The new process id of ``name`` once the supervisor started it again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.children().get(name)
            if pid is not None and pid != old_pid:
                return pid
            time.sleep(0.05)
        raise AssertionError(f"{name} was not restarted within {timeout}s: {self.stderr()[-2000:]}")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.url} was not ready within {timeout}s")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a service manager stops it; answers the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self.reader is not None:
            self.reader.join(5)
        return code


def verify_demo_pack(
    url: str, info: dict[str, Any], serial: str, session: requests.Session | None = None
) -> requests.Response:
    """The demo wholesaler's LMS question about the demo pack ``serial`` to the network at ``url``
    (``info``: its network.json), on ``session`` when given."""
    wholesaler = info["partners"]["wholesaler"]
    return (session or requests.Session()).get(
        f"{url}/verify/gtin/{DEMO_GTIN}/lot/{DEMO_LOT}/ser/{serial}",
        params={"exp": DEMO_EXPIRY, "linkType": "verificationService", "reqGLN": wholesaler["glns"][0]},
        headers={"Authorization": f"Bearer {wholesaler['token']}"},
        timeout=10,
    )


def run_verinet(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs one ``verinet`` command to its end; its exit code is for the test to judge."""
    return subprocess.run(verinet_command(*args), capture_output=True, text=True, env=environment(), timeout=timeout, check=False)
