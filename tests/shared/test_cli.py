"""`verinet up --demo`, as README's first command runs it: what it prints must work as printed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.signatures import jwks_verifier
from tests.verinet_up import run_verinet
from verinet.embedded_redis import free_port


def start_up(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    """Starts ``verinet up --demo`` and reads what it prints until it says how to stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "verinet.cli", "up", "--demo", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "REDIS_URL"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while not any(line.startswith("Ctrl-C stops") for line in lines):
        assert time.monotonic() < deadline, lines
        line = process.stdout.readline()
        assert line, f"verinet up exited early: {lines}"
        lines.append(line.strip())
    return process, lines


def run_curl_line(line: str) -> requests.Response:
    """Replays a printed ``curl -i -H 'Name: value' 'URL'`` line with requests, so the test does
    not depend on curl being installed; any other option fails the test."""
    words = shlex.split(line)
    assert words[0] == "curl"
    headers: dict[str, str] = {}
    url = ""
    rest = iter(words[1:])
    for word in rest:
        if word == "-i":
            continue
        if word == "-H":
            name, _, value = next(rest).partition(": ")
            headers[name] = value
        else:
            assert not url and not word.startswith("-"), f"unexpected curl option {word!r} in {line!r}"
            url = word
    return requests.get(url, headers=headers, timeout=30)


def test_the_printed_curl_line_verifies_a_demo_pack_with_a_signed_answer_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = free_port()
    process, printed = start_up(data_dir, port)
    try:
        curl = next(line for line in printed if line.startswith("curl "))
        answer = run_curl_line(curl)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {"verified": True}
        jwks = requests.get(f"http://127.0.0.1:{port}/.well-known/jwks.json", timeout=10).json()
        verifier = jwks_verifier(jwks)
        assert len(verifier.verify(answer, body=answer.content, require_components=("@status", "content-digest"))) == 1

        network_file = data_dir / "network.json"
        assert stat.S_IMODE(network_file.stat().st_mode) == 0o600
        info = json.loads(network_file.read_text())
        assert info["gateway_url"] == f"http://127.0.0.1:{port}"
        assert any(info["admin_token"] in line for line in printed)
        assert {"manufacturer", "wholesaler", "dispenser"} <= set(info["partners"])
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Stopped." in output


# -- commands that cannot reach a network ------------------------------------------------------

NETWORK_COMMANDS = [
    ("partners", "list"),
    ("audit", "verify"),
    ("directory", "get", "gtin", "09506000134352"),
]


@pytest.mark.parametrize("command", NETWORK_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_with_a_stale_network_file_says_in_one_line_what_failed_where_and_what_to_do(tmp_path: Path, command: tuple[str, ...]) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the network stopped
    (data_dir / "network.json").write_text(json.dumps({"gateway_url": url, "admin_token": "vn_stale"}))
    answer = run_verinet("--data-dir", str(data_dir), *command)
    assert answer.returncode != 0
    assert "Traceback" not in answer.stderr
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1, answer.stderr
    assert f"Failed to reach a verinet network at {url}" in lines[0]
    assert f"verinet up --data-dir {data_dir}" in lines[0]


def test_a_command_with_no_network_file_and_no_url_says_how_to_name_one(tmp_path: Path) -> None:
    answer = run_verinet("--data-dir", str(tmp_path / "nothing"), "partners", "list")
    assert answer.returncode != 0
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and "run 'verinet up' first" in lines[0] and "VERINET_URL" in lines[0], answer.stderr


def test_a_command_with_an_unreadable_network_file_names_it_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "network.json").write_text('{"gateway_url": "http://127.0.0.1:1", "admin_tok')
    answer = run_verinet("--data-dir", str(tmp_path), "partners", "list")
    assert answer.returncode != 0
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "network.json") in lines[0] and "verinet up" in lines[0], answer.stderr
