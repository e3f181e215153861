"""The embedded Redis crashes like a real one when killed: with the children it forked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from verinet.embedded_redis import EmbeddedRedis, children_of


def test_children_of_names_the_processes_a_process_forked() -> None:
    sleeper = "import time; time.sleep(30)"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {sleeper!r}])"]
    )
    try:
        deadline = time.monotonic() + 10
        while not children_of(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        [child] = children_of(parent.pid)
        assert children_of(child) == []
    finally:
        for child in children_of(parent.pid):
            os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()


def alive(pid: int) -> bool:
    """Running, neither gone nor a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_redis_during_an_aof_rewrite_leaves_no_rewrite_running(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        # Enough data that the rewrite child lives a moment, made inside Redis to be quick.
        fill = "for i = 1, 300000 do redis.call('HSET', 'h' .. (i % 1000), i, string.rep('x', 30)) end"
        client.eval(fill, 0)
        client.bgrewriteaof()
        assert server.process is not None
        deadline = time.monotonic() + 5
        while not (forked := children_of(server.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert forked, "the rewrite child was not seen"
        server.kill()
        time.sleep(0.2)
        assert not any(alive(pid) for pid in forked)
    finally:
        server.stop()


def test_the_embedded_redis_keeps_every_write_on_disk_and_rewrites_its_log_rarely_and_cheaply(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as server, redis.Redis(port=server.port, socket_timeout=5) as client:
        config = {
            **client.config_get("append*"),
            **client.config_get("auto-aof-*"),
            **client.config_get("rdbcompression"),
            **client.config_get("save"),
            **client.config_get("maxmemory-policy"),
        }
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"
    assert config["auto-aof-rewrite-percentage"] == "200"
    assert config["auto-aof-rewrite-min-size"] == str(64 * 1024 * 1024)
    assert config["rdbcompression"] == "no"
    assert config["save"] == ""  # no RDB snapshots beside the AOF
    assert config["maxmemory-policy"] == "noeviction"  # a full Redis refuses, never drops packs
