"""The audit (.ci/audit.py) judges a lock file by what an advisory server answers.

Each test starts a real HTTP server on a free port that plays PyPI's JSON API and OSV, writes a
lock and an ignore file, and runs the auditor as CI does: a process, judged by its exit code
(0 clean, 1 a known vulnerability unexplained, 2 incomplete, 3 cannot run) and what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AUDIT = REPO_ROOT / ".ci" / "audit.py"


def vulnerability(
    vuln_id: str, *aliases: str, fixed_in: tuple[str, ...] = (), withdrawn: str | None = None
) -> dict[str, Any]:
    """An entry of PyPI's ``vulnerabilities``, as the JSON API writes it."""
    return {
        "id": vuln_id,
        "aliases": list(aliases),
        "fixed_in": list(fixed_in),
        "withdrawn": withdrawn,
        "details": "...",
        "link": f"https://osv.dev/vulnerability/{vuln_id}",
        "source": "osv",
        "summary": None,
    }


def project(
    latest: str,
    *,
    vulnerabilities: list[dict[str, Any]] | None = None,
    releases: tuple[str, ...] = (),
    requires_dist: list[str] | None = None,
) -> dict[str, Any]:
    """PyPI's project JSON: ``vulnerabilities`` are those of ``latest``."""
    return {
        "info": {"version": latest, "requires_dist": requires_dist},
        "releases": {v: [{"yanked": False}] for v in (*releases, latest)},
        "urls": [],
        "vulnerabilities": vulnerabilities or [],
    }


@dataclass
class FakeIndex:
    """What the server answers; anything not listed is a 404, like the proxy CI runs behind."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    osv: dict[tuple[str, str], dict[str, Any]] | None = None
    #: Projects whose JSON never comes: the server accepts the request and says nothing.
    silent: set[str] = field(default_factory=set)
    #: Projects whose JSON comes a byte at a time, one every 0.2 s.
    trickling: set[str] = field(default_factory=set)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def answer(self, document: dict[str, Any] | None, trickle: bool = False) -> None:
            if document is None:
                self.send_error(404)
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if trickle:
                for byte in body:
                    if fake.release.wait(0.2):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(body)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "pypi" and parts[1] in fake.silent:
                fake.release.wait()
                return
            if parts[0] == "pypi" and len(parts) == 3 and parts[2] == "json":
                self.answer(fake.projects.get(parts[1]), trickle=parts[1] in fake.trickling)
            elif parts[0] == "pypi" and len(parts) == 4 and parts[3] == "json":
                self.answer(fake.versions.get((parts[1], parts[2])))
            else:
                self.answer(None)

        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/osv" or fake.osv is None:
                self.answer(None)
                return
            self.answer(fake.osv.get((query["package"]["name"], query["version"]), {}))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Audit:
    code: int
    output: str
    seconds: float


def assert_ended(audit: Audit, code: int, *printed: str) -> None:
    """The audit exited with ``code`` and printed each of ``printed``."""
    assert audit.code == code, audit.output
    for text in printed:
        assert text in audit.output, audit.output


def assert_incomplete_without(audit: Audit, package: str, *printed: str) -> None:
    """The audit ended incomplete (exit 2), naming ``package`` ("name version") as not audited,
    and printed each of ``printed``."""
    assert_ended(audit, 2, f"not audited {package}", *printed)


def run_audit(
    index: FakeIndex,
    tmp_path: Path,
    lock: list[str],
    ignore: list[str] | None = None,
    **settings: str,
) -> Audit:
    (tmp_path / "requirements.lock").write_text("# a lock\n" + "\n".join(lock) + "\n")
    (tmp_path / "audit-ignore.txt").write_text("\n".join(ignore or []) + "\n")
    environ = {
        **os.environ,
        "NO_PROXY": "127.0.0.1",
        "AUDIT_PYPI_URL": f"{index.url}/pypi",
        "AUDIT_OSV_URL": f"{index.url}/osv",
        "AUDIT_TIMEOUT_SECONDS": "5",
        "AUDIT_DEADLINE_SECONDS": "20",
        **settings,
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            str(AUDIT),
            "--lock",
            str(tmp_path / "requirements.lock"),
            "--ignore",
            str(tmp_path / "audit-ignore.txt"),
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Audit(result.returncode, result.stdout + result.stderr, time.monotonic() - started)


def test_a_clean_lock_passes(index: FakeIndex, tmp_path: Path) -> None:
    index.projects["aiohttp"] = project("3.14.5", releases=("3.13.2",))
    index.projects["idna"] = project("3.20")

    audit = run_audit(index, tmp_path, ["aiohttp==3.14.5", "idna==3.20"])

    assert_ended(audit, 0, "2 packages, 2 audited", "audit: OK")


def test_a_package_at_its_latest_release_with_a_known_vulnerability_fails_and_names_it(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["ecdsa"] = project(
        "0.19.2",
        vulnerabilities=[
            vulnerability("PYSEC-2026-1325", "CVE-2024-23342", "GHSA-wj6h-64fc-37mp"),
            vulnerability("GHSA-wj6h-64fc-37mp", "CVE-2024-23342", "PYSEC-2026-1325"),
        ],
    )
    index.projects["idna"] = project(
        "3.20", vulnerabilities=[vulnerability("GHSA-aaaa-bbbb-cccc", fixed_in=("3.21",))]
    )

    audit = run_audit(index, tmp_path, ["ecdsa==0.19.2", "idna==3.20"])

    assert_ended(
        audit,
        1,
        "VULNERABLE  ecdsa 0.19.2: PYSEC-2026-1325 (CVE-2024-23342, GHSA-wj6h-64fc-37mp), "
        "fixed in no fixed release yet",
        "VULNERABLE  idna 3.20: GHSA-aaaa-bbbb-cccc, fixed in 3.21",
        "2 unexplained",
        "audit: FAILED",
    )
    assert audit.output.count("CVE-2024-23342") == 1, (
        "the PYSEC and GHSA records are one vulnerability"
    )


@pytest.mark.parametrize("listed", ["PYSEC-2026-1325", "CVE-2024-23342", "ghsa-wj6h-64fc-37mp"])
def test_a_vulnerability_explained_in_the_ignore_file_by_any_of_its_ids_passes(
    index: FakeIndex, tmp_path: Path, listed: str
) -> None:
    index.projects["ecdsa"] = project(
        "0.19.2",
        vulnerabilities=[vulnerability("PYSEC-2026-1325", "CVE-2024-23342", "GHSA-wj6h-64fc-37mp")],
    )

    audit = run_audit(
        index, tmp_path, ["ecdsa==0.19.2"], [f"{listed}  we never sign with P-256; until 2027-06"]
    )

    assert_ended(
        audit,
        0,
        "explained   ecdsa 0.19.2: PYSEC-2026-1325",
        "we never sign with P-256; until 2027-06",
        "0 unexplained, 1 explained",
    )


def test_a_withdrawn_vulnerability_passes(index: FakeIndex, tmp_path: Path) -> None:
    index.projects["idna"] = project(
        "3.20", vulnerabilities=[vulnerability("PYSEC-2026-7", withdrawn="2026-11-02T10:00:00Z")]
    )

    audit = run_audit(index, tmp_path, ["idna==3.20"])

    assert_ended(audit, 0, "1 withdrawn")
    assert "PYSEC-2026-7" not in audit.output


def test_an_ignore_entry_that_matches_nothing_is_noted_for_removal(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["idna"] = project("3.20")

    audit = run_audit(index, tmp_path, ["idna==3.20"], ["GHSA-old0-old0-old0  fixed long ago"])

    assert_ended(
        audit, 0, "GHSA-OLD0-OLD0-OLD0 matches no known vulnerability of the lock: remove it"
    )


def test_a_package_behind_its_latest_release_that_no_source_answers_for_leaves_the_audit_incomplete(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["jsonschema-rs"] = project("0.61.2", releases=("0.60.3",))
    index.projects["schemathesis"] = project(
        "4.32.5", requires_dist=["jsonschema-rs<0.61.0,>=0.60.3", "pytest>=8"]
    )

    audit = run_audit(index, tmp_path, ["jsonschema-rs==0.60.3", "schemathesis==4.32.5"])

    assert_incomplete_without(
        audit,
        "jsonschema-rs 0.60.3",
        "PyPI's latest release is 0.61.2 and no source answers for 0.60.3",
        "PyPI's per-version JSON: HTTP 404; OSV: HTTP 404",
        "schemathesis 4.32.5 requires 'jsonschema-rs<0.61.0,>=0.60.3'",
        "run ./run lock to move to 0.61.2, which this machine can audit",
        "audit: INCOMPLETE: 1 of 2 packages not audited",
    )


def test_a_package_behind_its_latest_release_is_audited_by_the_per_version_json_where_it_answers(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["urllib3"] = project("2.8.0", releases=("2.5.0",))
    index.versions["urllib3", "2.5.0"] = {
        "info": {"version": "2.5.0"},
        "vulnerabilities": [vulnerability("GHSA-pq67-6m6q-mj2v", fixed_in=("2.6.0",))],
    }

    audit = run_audit(index, tmp_path, ["urllib3==2.5.0"])

    assert_ended(
        audit,
        1,
        "VULNERABLE  urllib3 2.5.0: GHSA-pq67-6m6q-mj2v, fixed in 2.6.0",
        "1 by PyPI's per-version advisories",
    )


def test_a_package_behind_its_latest_release_is_audited_by_osv_where_it_answers(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["urllib3"] = project("2.8.0", releases=("2.5.0", "2.6.0"))
    index.projects["idna"] = project("3.20", releases=("3.10",))
    index.osv = {
        ("urllib3", "2.5.0"): {
            "vulns": [
                {
                    "id": "GHSA-pq67-6m6q-mj2v",
                    "aliases": ["CVE-2025-66418"],
                    "affected": [
                        {
                            "package": {"name": "urllib3", "ecosystem": "PyPI"},
                            "ranges": [
                                {
                                    "type": "ECOSYSTEM",
                                    "events": [{"introduced": "1.24"}, {"fixed": "2.6.0"}],
                                }
                            ],
                        }
                    ],
                }
            ]
        },
    }

    audit = run_audit(index, tmp_path, ["urllib3==2.5.0", "idna==3.10"])

    assert_ended(
        audit, 1, "VULNERABLE  urllib3 2.5.0: GHSA-pq67-6m6q-mj2v (CVE-2025-66418), fixed in 2.6.0"
    )
    assert "2 by OSV" in audit.output, "idna 3.10: OSV answers that it knows of nothing"


def test_a_server_that_never_answers_makes_the_audit_incomplete_within_the_request_deadline(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.projects["idna"] = project("3.20")
    index.silent.add("aiohttp")

    audit = run_audit(index, tmp_path, ["aiohttp==3.14.5", "idna==3.20"], AUDIT_TIMEOUT_SECONDS="1")

    assert_incomplete_without(audit, "aiohttp 3.14.5", "PyPI's project JSON: timed out")
    assert audit.seconds < 10, "one request and one retry of 1 s each"


def test_an_answer_that_never_ends_is_cut_off_by_the_audit_deadline(
    index: FakeIndex, tmp_path: Path
) -> None:
    """Bytes keep coming, so no read times out: the deadline on the whole audit ends it."""
    index.projects["idna"] = project("3.20")
    index.projects["aiohttp"] = project("3.14.5")
    index.trickling.add("aiohttp")

    audit = run_audit(
        index,
        tmp_path,
        ["aiohttp==3.14.5", "idna==3.20"],
        AUDIT_TIMEOUT_SECONDS="30",
        AUDIT_DEADLINE_SECONDS="2",
    )

    assert_incomplete_without(audit, "aiohttp 3.14.5", "1 not audited")
    assert audit.seconds < 10, "the deadline is 2 s"


def test_a_lock_line_that_is_not_name_equals_version_stops_the_audit(
    index: FakeIndex, tmp_path: Path
) -> None:
    audit = run_audit(index, tmp_path, ["idna==3.20", "aiohttp>=3.11"])

    assert_ended(audit, 3, "line 3 'aiohttp>=3.11': expected name==version")


def test_an_ignore_entry_without_a_reason_stops_the_audit(index: FakeIndex, tmp_path: Path) -> None:
    index.projects["idna"] = project("3.20")

    audit = run_audit(index, tmp_path, ["idna==3.20"], ["GHSA-aaaa-bbbb-cccc"])

    assert_ended(audit, 3, "expected an id and the reason it is accepted")
