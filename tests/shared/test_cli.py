"""`verinet up --demo`, as README's first command runs it: what it prints must work as printed."""

from __future__ import annotations

import http.server
import json
import os
import shlex
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.signatures import jwks_verifier
from tests.verinet_up import VerinetUp, run_verinet
from verinet.cli import build_parser
from verinet.embedded_redis import free_port


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
    up = VerinetUp(data_dir, port).start("--demo")
    try:
        printed = [line.strip() for line in up.lines]
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
        assert f"console: http://127.0.0.1:{port}/console" in printed
        assert f"network file (mode 0600): {network_file.resolve()}" in printed
        assert f"logs: {(data_dir / 'logs').resolve()}" in printed
        assert {"manufacturer", "wholesaler", "dispenser"} <= set(info["partners"])
    finally:
        stopped = up.stop()
    assert stopped == 0, (up.lines, up.stderr())
    assert "Stopped." in up.lines


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
@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "elsewhere", "partners", "list"],
        ["partners", "list", "--data-dir", "elsewhere"],
        ["partners", "--data-dir", "elsewhere", "list"],
        ["up", "--data-dir", "elsewhere", "--demo"],
        ["--data-dir", "elsewhere", "up", "--demo"],
        ["directory", "get", "prefix", "0614141", "--data-dir", "elsewhere"],
    ],
    ids=" ".join,
)
def test_the_data_dir_option_works_before_or_after_the_subcommand(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).data_dir == "elsewhere"


def test_without_a_data_dir_option_every_subcommand_uses_var() -> None:
    for argv in (["partners", "list"], ["up"], ["audit", "verify"], ["directory", "check"]):
        assert build_parser().parse_args(argv).data_dir == "./var"


def test_a_subcommand_group_option_works_after_the_subcommand_too() -> None:
    parsed = build_parser().parse_args(["directory", "get", "prefix", "0614141", "--timeout", "5"])
    assert parsed.timeout == 5.0
    assert build_parser().parse_args(["directory", "--timeout", "7", "get", "prefix", "0614141"]).timeout == 7.0
    assert build_parser().parse_args(["directory", "get", "prefix", "0614141"]).timeout == 60.0


def test_a_cli_call_with_no_network_says_so_on_one_stderr_line_and_exits_non_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VERINET_URL", "VERINET_TOKEN")}
    run = subprocess.run(
        [sys.executable, "-m", "verinet.cli", "partners", "list", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("No network to talk to")


def test_a_cli_call_to_a_network_that_does_not_answer_says_so_on_one_stderr_line(tmp_path: Path) -> None:
    (tmp_path / "network.json").write_text(json.dumps({"gateway_url": "http://127.0.0.1:9", "admin_token": "t"}))
    run = subprocess.run(
        [sys.executable, "-m", "verinet.cli", "--data-dir", str(tmp_path), "partners", "list"],
        capture_output=True, text=True, timeout=60, check=False,
        env={k: v for k, v in os.environ.items() if k not in ("VERINET_URL", "VERINET_TOKEN")},
    )
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.count("\n") == 1 and "http://127.0.0.1:9" in run.stderr


def test_a_refused_cli_call_prints_the_problem_detail_and_code_on_one_stderr_line(tmp_path: Path) -> None:
    problem = {"type": "about:blank", "title": "Forbidden", "status": 403, "code": "auth.role",
               "detail": "Your roles (wholesaler) may not\nlist partners."}

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(problem).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("VERINET_URL", "VERINET_TOKEN")}
        env.update(VERINET_URL=f"http://127.0.0.1:{server.server_port}", VERINET_TOKEN="t")
        run = subprocess.run(
            [sys.executable, "-m", "verinet.cli", "partners", "list", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "GET /v1/partners failed with 403: Your roles (wholesaler) may not list partners. (auth.role)\n"
