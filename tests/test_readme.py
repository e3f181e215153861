"""README's shell examples run as written against a live demo network, so an example that
breaks fails CI.

What runs: every fenced block whose info string starts with ``sh``, ``bash`` or ``shell``,
found in README.md when the test runs, in README order, in ONE bash session (variables carry
from block to block, as in a reader's terminal), with ``set -e -o pipefail``.

Marker conventions (visible in the README source):

- A block that must not run here (``./run up`` itself, Kubernetes, anything that needs
  another machine) says so in its info string: ```` ```sh norun ````. The test runs every other
  shell block.
- A curl command that shows an error ends its last line with ``# answers NNN`` (for example
  ``# answers 400``); every other curl answer must be 2xx. Every other command must exit 0.

Working directory semantics: the blocks run from a scratch checkout (a directory of symlinks
to the repository's files, so ``./run`` and ``examples/`` work and files the examples write
stay out of the repository) in which ``var`` is the data directory of a demo network, as
``./run up --demo`` makes it, and ``var2`` that of a second network, as the README's
``./run up --port 8081 --data-dir var2`` makes it (on free ports here: the examples read URLs
from ``var*/network.json``).

Key fields: where the README's text promises an answer (a verified pack, a dispense that
worked), ``PROMISES`` names the call by a piece of its command line and checks the answer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from verinet.embedded_redis import free_port
from verinet.network import Network

SHELLS = ("sh", "bash", "shell")
NO_RUN = "norun"
EXPECT_COMMENT = re.compile(r"#\s*answers\s+(\d{3})\b")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    line: int
    info: str
    text: str

    @property
    def runs(self) -> bool:
        words = self.info.split()
        return bool(words) and words[0] in SHELLS and NO_RUN not in words[1:]


def readme_blocks(text: str) -> list[Block]:
    return [
        Block(text.count("\n", 0, match.start()) + 1, match.group(1).strip(), match.group(2))
        for match in FENCE.finditer(text)
    ]


def with_expectations(script: str) -> str:
    """Prefixes a curl command whose last line says ``# answers NNN`` with README_EXPECT=NNN,
    which the test's curl function reads."""
    lines = script.split("\n")
    start = 0
    for i, line in enumerate(lines):
        if i > 0 and not lines[i - 1].rstrip().endswith("\\"):
            start = i
        if line.rstrip().endswith("\\"):
            continue
        expected = EXPECT_COMMENT.search(line)
        if expected:
            assert lines[start].lstrip().startswith("curl "), f"'# answers' needs a curl command: {lines[start]!r}"
            lines[start] = f"README_EXPECT={expected.group(1)} {lines[start]}"
    return "\n".join(lines)


# Records each curl call: which block, the expected status, its arguments, headers and body.
CURL_FUNCTION = r"""
README_CALLS=0
curl() {
  README_CALLS=$((README_CALLS + 1))
  local n=$README_CALLS rc=0
  printf '%s\n%s\n%s\n' "$README_BLOCK" "${README_EXPECT:-2xx}" "$*" > "$README_LOG/$n.call"
  command curl "$@" --no-progress-meter --dump-header "$README_LOG/$n.head" --output "$README_LOG/$n.body" || rc=$?
  cat "$README_LOG/$n.body"
  return $rc
}
"""


@dataclass(frozen=True)
class Call:
    number: int
    block_line: int
    expected: str
    command: str
    status: int
    body: bytes

    def json(self) -> Any:
        body = self.body
        if body.startswith(b"HTTP/"):  # curl -i: the headers come first
            body = body.split(b"\r\n\r\n", 1)[1]
        return json.loads(body)


def read_calls(log: Path) -> list[Call]:
    calls = []
    for path in sorted(log.glob("*.call"), key=lambda p: int(p.stem)):
        block_line, expected, command = path.read_text().split("\n", 2)
        head = (log / f"{path.stem}.head").read_text() if (log / f"{path.stem}.head").exists() else ""
        statuses = re.findall(r"^HTTP/\S+ (\d{3})", head, re.MULTILINE)
        body_file = log / f"{path.stem}.body"
        calls.append(
            Call(
                int(path.stem),
                int(block_line),
                expected,
                command.strip(),
                int(statuses[-1]) if statuses else 0,
                body_file.read_bytes() if body_file.exists() else b"",
            )
        )
    return calls


def lms_data(call: Call) -> Any:
    return call.json()["data"]


def first_result(call: Call) -> Any:
    return call.json()["results"][0]


#: (a piece of the curl command line, what the answer must hold, what the README text says).
PROMISES: list[tuple[str, Callable[[Call], Any], Any]] = [
    ("/verify/gtin/00614141000012/lot/LOT2026A/ser/DEMO000001", lms_data, {"verified": True}),
    ("/01/00614141000012/10/LOT2026A/21/DEMO000001", lms_data, {"verified": True}),
    ("/verify/gtin/00950600000019/lot/A1/ser/AC0001", lms_data, {"verified": True}),
    ("-d {\"state\":\"supplied\"", lambda c: (first_result(c)["ok"], first_result(c)["state"]), (True, "supplied")),
    ("/v1/packs/reactivate", lambda c: (first_result(c)["ok"], first_result(c)["state"]), (True, "active")),
    ("/v1/identifiers/parse", lambda c: (c.json()["serial"], c.json()["symbology"]), ("DEMO000002", "]d2")),
    ("/v1/recalls/preview", lambda c: c.json()["units"], 10),
    ("/acknowledgements", lambda c: c.json()["acknowledged"], 1),
    ("/v1/audit/verify", lambda c: c.json()["ok"], True),
    ("/v1/events", lambda c: c.json()["applied"], True),
    ('"serial":"SN1008"', lambda c: [first_result(c)[k] for k in ("ok", "state", "batch_status")], [True, "destroyed", "recalled"]),
]


def test_curl_is_there_for_the_readme_examples() -> None:
    assert shutil.which("curl"), "README's examples use curl: run tests/readme_tools.sh"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch checkout with a demo network in ``var`` and a second network in ``var2``."""
    work = tmp_path_factory.mktemp("readme")
    for entry in REPO_ROOT.iterdir():
        if entry.name not in ("var", "var2"):
            (work / entry.name).symlink_to(entry)
    first = Network(data_dir=work / "var", gateway_port=free_port())
    second = Network(data_dir=work / "var2", gateway_port=free_port())
    try:
        first.start(demo=True)
        second.start()
        yield work
    finally:
        first.stop()
        second.stop()


@pytest.fixture(scope="module")
def session(checkout: Path) -> tuple[subprocess.CompletedProcess[str], list[Block], list[Call]]:
    """Runs every runnable README shell block in one bash session."""
    blocks = [b for b in readme_blocks((REPO_ROOT / "README.md").read_text()) if b.runs]
    log = checkout / "readme-calls"
    log.mkdir()
    parts = ["set -e -o pipefail", CURL_FUNCTION]
    for block in blocks:
        script = checkout / f"readme-block-{block.line}.sh"
        script.write_text(with_expectations(block.text))
        parts.append(f"README_BLOCK={block.line}; echo {block.line} > {log}/current-block; source {script}")
    parts.append(f"echo done > {log}/current-block")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VERINET_URL", "VERINET_TOKEN", "NETWORK_FILE", "REDIS_URL", "REMOTE_TOKEN")
    }
    env["README_LOG"] = str(log)
    run = subprocess.run(
        ["bash", "-c", "\n".join(parts)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return run, blocks, read_calls(log)


def test_readme_has_runnable_shell_blocks_and_marks_the_others() -> None:
    blocks = readme_blocks((REPO_ROOT / "README.md").read_text())
    assert sum(b.runs for b in blocks) >= 8
    assert any(b.info.split()[:1] == ["sh"] and not b.runs for b in blocks), "./run up is marked norun"


def test_every_readme_shell_block_runs_to_the_end_without_a_failing_command(
    session: tuple[subprocess.CompletedProcess[str], list[Block], list[Call]], checkout: Path
) -> None:
    run, _blocks, _calls = session
    reached = (checkout / "readme-calls" / "current-block").read_text().strip()
    assert (run.returncode, reached) == (0, "done"), (
        f"README.md block at line {reached} failed with exit {run.returncode}\n"
        f"stderr:\n{run.stderr[-4000:]}\nstdout:\n{run.stdout[-3000:]}"
    )


def test_every_curl_example_answers_the_status_the_readme_gives(
    session: tuple[subprocess.CompletedProcess[str], list[Block], list[Call]],
) -> None:
    _run, _blocks, calls = session
    assert calls
    wrong = [
        f"README.md block at line {c.block_line}: {c.command} answered {c.status} (expected {c.expected}): "
        f"{c.body[:300]!r}"
        for c in calls
        if not (200 <= c.status < 300 if c.expected == "2xx" else c.status == int(c.expected))
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("piece", "read", "promised"), PROMISES, ids=[p[0] for p in PROMISES])
def test_the_answers_hold_what_the_readme_text_promises(
    session: tuple[subprocess.CompletedProcess[str], list[Block], list[Call]],
    piece: str,
    read: Callable[[Call], Any],
    promised: Any,
) -> None:
    _run, _blocks, calls = session
    matching = [c for c in calls if piece in c.command]
    assert matching, f"no README curl command contains {piece!r} any more"
    for call in matching:
        assert read(call) == promised, (call.command, call.body[:500])


def test_the_expectation_marker_prefixes_the_first_line_of_a_continued_curl_command() -> None:
    script = 'curl -s "$URL/x" \\\n  -H "A: b"  # answers 404\necho hi  # answers 200 is not a curl'
    with pytest.raises(AssertionError):
        with_expectations(script)
    assert with_expectations('curl -s "$URL/x" \\\n  -H "A: b"  # answers 404').startswith("README_EXPECT=404 curl")
