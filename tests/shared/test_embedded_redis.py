"""The embedded Redis crashes like a real one when killed: with the children it forked."""

from __future__ import annotations

import doctest
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

import verinet.embedded_redis
from verinet.embedded_redis import (
    EmbeddedRedis,
    EmbeddedRedisCluster,
    children_of,
    cluster_port_range,
    free_cluster_port,
    free_ports,
)
from verinet.errors import Unavailable


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


def listening_on(port: int) -> socket.socket:
    """Another program's socket bound to ``port`` (and listening), as a race would leave it."""
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", port))
    taken.listen()
    return taken


def test_a_chosen_port_taken_before_the_start_is_chosen_again(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    chosen = server.port
    with listening_on(chosen):
        server.start()
        try:
            assert server.port != chosen
            assert redis.Redis(port=server.port).ping()
        finally:
            server.stop()


def test_a_port_given_by_the_caller_that_is_taken_fails_the_start_and_says_where_to_look(tmp_path: Path) -> None:
    port = EmbeddedRedis(tmp_path / "probe").port
    with listening_on(port):
        server = EmbeddedRedis(tmp_path / "redis", port)
        with pytest.raises(Unavailable, match=r"redis\.log"):
            server.start(timeout=5)
    assert server.port == port
    assert "Address already in use" in (tmp_path / "redis" / "redis.log").read_text()


def test_a_cluster_node_whose_port_was_taken_starts_on_another_pair_of_ports(tmp_path: Path) -> None:
    cluster = EmbeddedRedisCluster(tmp_path / "cluster")
    chosen = cluster.nodes[1].port
    with listening_on(chosen):
        cluster.start()
        try:
            assert cluster.nodes[1].port != chosen
            info = redis.Redis(port=cluster.nodes[1].port).cluster("INFO")
            assert info["cluster_state"] == "ok"
        finally:
            cluster.stop()


def test_cluster_ports_and_their_bus_ports_stay_below_the_range_outgoing_connections_take(tmp_path: Path) -> None:
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text("32768\t60999\n")
    assert cluster_port_range(ephemeral) == (20_000, 22_767)
    ephemeral.write_text("25000 60999\n")  # too low to leave room below it: the old wide range
    assert cluster_port_range(ephemeral) == (20_000, 45_000)
    assert cluster_port_range(tmp_path / "absent") == (20_000, 45_000)
    low, high = cluster_port_range()
    port = free_cluster_port()
    assert low <= port <= high
    assert doctest.testmod(verinet.embedded_redis).failed == 0


def test_the_embedded_redis_also_answers_on_a_unix_socket_only_its_owner_may_open(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data #1 ?50%")  # characters a URL's path must have escaped
    server.start()
    try:
        assert server.socket_path == tmp_path.resolve() / "data #1 ?50%" / "redis.sock"
        client = redis.Redis.from_url(server.local_url)
        client.set("written-on-the-socket", "1")
        assert redis.Redis(port=server.port).get("written-on-the-socket") == b"1"
        client.close()
        assert stat.S_IMODE(os.stat(server.socket_path).st_mode) == 0o700
    finally:
        server.stop()


def test_a_data_directory_too_deep_for_a_socket_path_leaves_clients_on_tcp(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedRedis(deep)
    assert server.socket_path is None
    assert "--unixsocket" not in server.command_line()
    server.start()
    try:
        assert server.local_url == server.url == f"redis://127.0.0.1:{server.port}/0"
        assert redis.Redis.from_url(server.local_url).ping()
    finally:
        server.stop()


def test_free_ports_are_distinct_and_never_one_already_taken() -> None:
    taken = set(free_ports(20))
    chosen = free_ports(300, taken)
    assert len(set(chosen)) == len(chosen) == 300
    assert not taken & set(chosen)
