#!/usr/bin/env python3
"""Audits the locked dependencies (requirements.lock) for known vulnerabilities.

Run through .ci/audit.sh, which documents the exit codes, or directly:

    python3 .ci/audit.py [--lock requirements.lock] [--ignore .ci/audit-ignore.txt]

For each locked package the sources are, in order:

1. PyPI's project JSON (``https://pypi.org/pypi/NAME/json``). Its ``vulnerabilities`` are
   those of the project's latest release, so they apply when the lock holds that release.
2. For a locked version that is not the latest: PyPI's per-version JSON
   (``https://pypi.org/pypi/NAME/VERSION/json``), then OSV (``https://api.osv.dev/v1/query``).
   Where neither answers, the package is not audited and the audit is incomplete.

Why not pip-audit: its sources are exactly those of step 2, and the machines CI runs on reach
neither (the per-version JSON answers 404 through their proxy; api.osv.dev does not resolve),
so pip-audit skips every package there. Step 1 does answer, and it covers every package the
lock holds at its latest release, which is what ``./run lock`` writes. This script asks step 2
itself wherever that answers, and needs nothing but the standard library.

Settings, from the environment:
    AUDIT_PYPI_URL          PyPI's JSON API (default https://pypi.org/pypi)
    AUDIT_OSV_URL           OSV's query endpoint (default https://api.osv.dev/v1/query)
    AUDIT_TIMEOUT_SECONDS   each request, retried once when it fails (default 10)
    AUDIT_DEADLINE_SECONDS  the whole audit (default 60)
    AUDIT_JOBS              requests in flight at once (default 4)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import sys
import threading
import time
import tomllib
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Exit codes, as documented in .ci/audit.sh.
OK, VULNERABLE, INCOMPLETE, UNUSABLE = 0, 1, 2, 3

LOCK_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;@]+)$")
REQUIREMENT_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
VERSION_SPECIFIER = re.compile(r"[<>=!~]")


class AuditError(Exception):
    """The audit cannot run: a setting, the lock or the ignore file is malformed (exit 3)."""


def canonical_name(name: str) -> str:
    """A name as PEP 503 compares it: ``Typing_Extensions`` -> ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- settings and inputs -------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    pypi_url: str = "https://pypi.org/pypi"
    osv_url: str = "https://api.osv.dev/v1/query"
    timeout: float = 10.0
    deadline: float = 60.0
    jobs: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        defaults = cls()
        return cls(
            pypi_url=environ.get("AUDIT_PYPI_URL", defaults.pypi_url).rstrip("/"),
            osv_url=environ.get("AUDIT_OSV_URL", defaults.osv_url),
            timeout=_positive(environ, "AUDIT_TIMEOUT_SECONDS", defaults.timeout, "10"),
            deadline=_positive(environ, "AUDIT_DEADLINE_SECONDS", defaults.deadline, "60"),
            jobs=int(_positive(environ, "AUDIT_JOBS", defaults.jobs, "4", whole=True)),
        )


def _positive(
    environ: Mapping[str, str], name: str, default: float, example: str, whole: bool = False
) -> float:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = 0
    if not value > 0:
        kind = "a positive whole number" if whole else "a positive number"
        raise AuditError(f"Failed to read {name}={raw!r}: expected {kind}, e.g. {name}={example}.")
    return value


@dataclass(frozen=True)
class Pin:
    """One locked package: ``name==version``."""

    name: str
    version: str


def parse_lock(text: str, path: Path) -> list[Pin]:
    pins: list[Pin] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = LOCK_LINE.match(line)
        if match is None:
            raise AuditError(
                f"Failed to read {path} line {number} {line!r}: expected name==version."
            )
        pins.append(Pin(canonical_name(match["name"]), match["version"]))
    if not pins:
        raise AuditError(f"Failed to read {path}: it pins no package (write it with ./run lock).")
    return pins


def parse_ignores(text: str, path: Path) -> dict[str, str]:
    """``VULN-ID reason`` lines -> {ID (upper case): reason}."""
    ignores: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        vuln_id, reason = [*line.split(None, 1), "", ""][:2]
        if not vuln_id or vuln_id.startswith("#"):
            continue
        if not reason.strip():
            raise AuditError(
                f"Failed to read {path} line {number} {line.strip()!r}: expected an id and the "
                "reason it is accepted, e.g. "
                "'GHSA-xxxx-xxxx-xxxx  only the CLI uses it, until 2027-01'."
            )
        ignores[vuln_id.upper()] = reason.strip()
    return ignores


def pyproject_requirements(path: Path) -> list[str]:
    """Every requirement of the project next to the lock, extras included ([] without one)."""
    try:
        project = tomllib.loads(path.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return requirements


# --- advisories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Advisory:
    """One known vulnerability; ``ids`` holds its id first, then its aliases."""

    ids: tuple[str, ...]
    fixed_in: tuple[str, ...]

    def describe(self) -> str:
        aliases = f" ({', '.join(self.ids[1:])})" if len(self.ids) > 1 else ""
        fixes = ", ".join(self.fixed_in) or "no fixed release yet"
        return f"{self.ids[0]}{aliases}, fixed in {fixes}"


def pypi_advisories(entries: Iterable[Mapping[str, Any]]) -> tuple[list[Advisory], int]:
    """PyPI's ``vulnerabilities`` -> (advisories, withdrawn count)."""
    advisories, withdrawn = [], 0
    for entry in entries:
        if entry.get("withdrawn"):
            withdrawn += 1
            continue
        ids = (str(entry["id"]), *(str(a) for a in entry.get("aliases") or ()))
        advisories.append(Advisory(ids, tuple(str(v) for v in entry.get("fixed_in") or ())))
    return merge(advisories), withdrawn


def osv_advisories(entries: Iterable[Mapping[str, Any]], name: str) -> tuple[list[Advisory], int]:
    """OSV's ``vulns`` for a PyPI package -> (advisories, withdrawn count)."""
    advisories, withdrawn = [], 0
    for entry in entries:
        if entry.get("withdrawn"):
            withdrawn += 1
            continue
        fixed = [
            event["fixed"]
            for affected in entry.get("affected") or ()
            if canonical_name(affected.get("package", {}).get("name", "")) == name
            for version_range in affected.get("ranges") or ()
            for event in version_range.get("events") or ()
            if "fixed" in event
        ]
        ids = (str(entry["id"]), *(str(a) for a in entry.get("aliases") or ()))
        advisories.append(Advisory(ids, tuple(dict.fromkeys(fixed))))
    return merge(advisories), withdrawn


def merge(advisories: Sequence[Advisory]) -> list[Advisory]:
    """One advisory per vulnerability: PyPI may list one twice (PYSEC and GHSA)."""
    merged: list[Advisory] = []
    for advisory in advisories:
        same = [m for m in merged if {i.upper() for i in m.ids} & {i.upper() for i in advisory.ids}]
        for m in same:
            merged.remove(m)
        ids = [i for m in [*same, advisory] for i in m.ids]
        fixes = [f for m in [*same, advisory] for f in m.fixed_in]
        merged.append(Advisory(tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(fixes))))
    return merged


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A JSON document, or why there is none (``data is None``)."""

    data: Any = None
    problem: str = ""
    #: Worth one more try: a timeout, a lost connection or a 5xx (not a 404).
    transient: bool = False


def fetch_json(url: str, settings: Settings, stop_at: float, body: bytes | None = None) -> Answer:
    """GET (or POST ``body`` to) ``url`` and parse JSON, retrying once; never past ``stop_at``."""
    answer = Answer(problem="not asked: the audit's deadline had passed")
    for _attempt in range(2):
        if time.monotonic() >= stop_at:
            break
        answer = _fetch_once(url, settings, stop_at, body)
        if answer.data is not None or not answer.transient:
            break
    return answer


def _fetch_once(url: str, settings: Settings, stop_at: float, body: bytes | None) -> Answer:
    ends = min(time.monotonic() + settings.timeout, stop_at)
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Accept": "application/json", "User-Agent": "verinet-audit"}
        | ({"Content-Type": "application/json"} if body is not None else {}),
    )
    chunks = []
    try:
        with urllib.request.urlopen(
            request, timeout=max(ends - time.monotonic(), 0.05)
        ) as response:
            while chunk := response.read(1 << 16):
                if time.monotonic() > ends:
                    raise TimeoutError
                chunks.append(chunk)
    except urllib.error.HTTPError as error:
        error.close()
        return Answer(
            problem=f"HTTP {error.code}", transient=error.code >= 500 or error.code == 429
        )
    except TimeoutError:
        return Answer(problem="timed out", transient=True)
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return Answer(problem="timed out", transient=True)
        return Answer(problem=f"unreachable ({error.reason})", transient=True)
    except (OSError, http.client.HTTPException) as error:
        return Answer(problem=f"connection failed ({error!r})", transient=True)
    try:
        return Answer(json.loads(b"".join(chunks)))
    except ValueError:
        return Answer(problem="the answer is not JSON", transient=True)


# --- auditing one package ------------------------------------------------------------------


@dataclass
class Outcome:
    pin: Pin
    #: Which source audited the package; empty when none did (``why_not`` says why).
    source: str = ""
    why_not: list[str] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)
    withdrawn: int = 0
    latest: str = ""
    #: The latest release's requirements (to explain a package the lock cannot move).
    requires_dist: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def audit_package(pin: Pin, settings: Settings, stop_at: float) -> Outcome:
    outcome = Outcome(pin)
    project = fetch_json(f"{settings.pypi_url}/{pin.name}/json", settings, stop_at)
    if not isinstance(project.data, dict):
        outcome.why_not = [f"PyPI's project JSON: {project.problem or 'not a JSON object'}"]
        return outcome
    info = project.data.get("info") or {}
    outcome.latest = str(info.get("version", ""))
    releases = project.data.get("releases") or {}
    files = releases.get(pin.version)
    if files is None:
        outcome.notes.append(
            f"{pin.version} is not a release on PyPI: a fresh machine cannot install the lock"
        )
    elif files and all(f.get("yanked") for f in files):
        reason = files[0].get("yanked_reason") or "no reason given"
        outcome.notes.append(f"{pin.version} is yanked on PyPI ({reason}): run ./run lock")

    if pin.version == outcome.latest:
        outcome.requires_dist = [str(r) for r in info.get("requires_dist") or ()]
        outcome.advisories, outcome.withdrawn = pypi_advisories(
            project.data.get("vulnerabilities") or ()
        )
        outcome.source = "PyPI's advisories for the latest release"
        return outcome

    per_version = fetch_json(
        f"{settings.pypi_url}/{pin.name}/{pin.version}/json", settings, stop_at
    )
    if isinstance(per_version.data, dict):
        outcome.advisories, outcome.withdrawn = pypi_advisories(
            per_version.data.get("vulnerabilities") or ()
        )
        outcome.source = "PyPI's per-version advisories"
        return outcome
    query = {"package": {"name": pin.name, "ecosystem": "PyPI"}, "version": pin.version}
    osv = fetch_json(settings.osv_url, settings, stop_at, json.dumps(query).encode())
    if isinstance(osv.data, dict):
        outcome.advisories, outcome.withdrawn = osv_advisories(
            osv.data.get("vulns") or (), pin.name
        )
        outcome.source = "OSV"
        return outcome
    outcome.why_not = [
        f"PyPI's latest release is {outcome.latest} and no source answers for {pin.version}",
        f"PyPI's per-version JSON: {per_version.problem}; OSV: {osv.problem}",
    ]
    return outcome


def audit_all(pins: Sequence[Pin], settings: Settings) -> list[Outcome]:
    """Audits ``pins`` on ``settings.jobs`` threads; whatever the deadline cuts off is not audited.

    The threads are daemons: one stuck in a read the socket timeout has not ended yet cannot keep
    the process alive past the deadline.
    """
    stop_at = time.monotonic() + settings.deadline
    todo: queue.SimpleQueue[Pin] = queue.SimpleQueue()
    for pin in pins:
        todo.put(pin)
    done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()

    def work() -> None:
        while True:
            try:
                pin = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(audit_package(pin, settings, stop_at))
            except Exception as error:  # noqa: BLE001 - a bug must not stall the others
                traceback.print_exc()
                done.put(Outcome(pin, why_not=[f"the auditor failed: {error!r}"]))

    for _ in range(min(settings.jobs, len(pins))):
        threading.Thread(target=work, name="audit", daemon=True).start()
    outcomes: dict[Pin, Outcome] = {}
    while len(outcomes) < len(pins):
        try:
            outcome = done.get(timeout=max(stop_at - time.monotonic(), 0) + 0.5)
        except queue.Empty:
            break
        outcomes[outcome.pin] = outcome
    late = (
        f"no answer within the audit's deadline ({settings.deadline:g} s, AUDIT_DEADLINE_SECONDS)"
    )
    return [outcomes.get(pin) or Outcome(pin, why_not=[late]) for pin in pins]


def explain_held_back(outcomes: Sequence[Outcome], project_requirements: Sequence[str]) -> None:
    """Adds to each package not audited for being behind the latest what requires it, and how.

    The lock holds the latest release that satisfies every requirement, so a package behind its
    latest is capped by one of these (or the lock is older than that release).
    """
    constraints: dict[str, list[str]] = {}
    for requirer, requirements in [
        ("verinet (pyproject.toml)", project_requirements),
        *((f"{o.pin.name} {o.pin.version}", o.requires_dist) for o in outcomes),
    ]:
        for requirement in requirements:
            match = REQUIREMENT_NAME.match(requirement)
            if match and VERSION_SPECIFIER.search(requirement.partition(";")[0][match.end() :]):
                constraints.setdefault(canonical_name(match["name"]), []).append(
                    f"{requirer} requires {requirement.strip()!r}"
                )
    for outcome in outcomes:
        if outcome.source or not outcome.latest or outcome.pin.version == outcome.latest:
            continue
        outcome.why_not += [
            *constraints.get(outcome.pin.name, []),
            f"run ./run lock to move to {outcome.latest}, which this machine can audit; a "
            "requirement above that excludes it holds the lock back until its requirer moves",
        ]


# --- the report ----------------------------------------------------------------------------


def report(
    outcomes: Sequence[Outcome], ignores: Mapping[str, str], ignore_path: Path, seconds: float
) -> int:
    """Prints what the audit found and returns the exit code."""
    unexplained = explained = withdrawn = 0
    used: set[str] = set()
    for outcome in outcomes:
        withdrawn += outcome.withdrawn
        for advisory in outcome.advisories:
            where = f"{outcome.pin.name} {outcome.pin.version}: {advisory.describe()}"
            reasons = [
                (i.upper(), ignores[i.upper()]) for i in advisory.ids if i.upper() in ignores
            ]
            if reasons:
                explained += 1
                used.update(i for i, _ in reasons)
                say(f"  explained   {where}\n                ({reasons[0][0]}: {reasons[0][1]})")
            else:
                unexplained += 1
                say(f"  VULNERABLE  {where}")
    missing = [o for o in outcomes if not o.source]
    # One paragraph per reason: with the network down, every package has the same one.
    by_reason: dict[tuple[str, ...], list[Pin]] = {}
    for outcome in missing:
        by_reason.setdefault(tuple(outcome.why_not), []).append(outcome.pin)
    for why_not, pins in by_reason.items():
        names = [f"{pin.name} {pin.version}" for pin in pins]
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        say(f"  not audited {', '.join(names[:5])}{more}")
        for line in why_not:
            say(f"                {line}")
    for outcome in outcomes:
        for note in outcome.notes:
            say(f"  note        {outcome.pin.name}: {note}")
    if not missing:
        for vuln_id in sorted(set(ignores) - used):
            say(
                f"  note        {ignore_path.name}: {vuln_id} matches no known vulnerability "
                "of the lock: remove it"
            )

    by_source: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.source:
            by_source[outcome.source] = by_source.get(outcome.source, 0) + 1
    sources = ", ".join(f"{count} by {source}" for source, count in by_source.items())
    say(
        f"audit: {len(outcomes)} packages, {len(outcomes) - len(missing)} audited"
        f"{f' ({sources})' if sources else ''}, {len(missing)} not audited; known vulnerabilities: "
        f"{unexplained} unexplained, {explained} explained in {ignore_path.name}, "
        f"{withdrawn} withdrawn (ignored); {seconds:.1f} s"
    )
    if unexplained:
        say(
            "audit: FAILED: known vulnerabilities above; upgrade (./run lock), or explain each "
            f"in {ignore_path}"
        )
        return VULNERABLE
    if missing:
        say(
            f"audit: INCOMPLETE: {len(missing)} of {len(outcomes)} packages not audited (above): "
            "nothing is known about their vulnerabilities"
        )
        return INCOMPLETE
    say("audit: OK: every locked package audited, no known vulnerability left unexplained")
    return OK


def say(line: str) -> None:
    print(line, flush=True)


class _Arguments(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise AuditError(f"{self.prog}: {message}")


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    parser = _Arguments(prog="audit.py", description=__doc__.partition("\n")[0])
    parser.add_argument("--lock", type=Path, default=REPO_ROOT / "requirements.lock")
    parser.add_argument("--ignore", type=Path, default=REPO_ROOT / ".ci" / "audit-ignore.txt")
    arguments = parser.parse_args(argv)
    settings = Settings.from_env(environ)
    try:
        pins = parse_lock(arguments.lock.read_text(), arguments.lock)
        ignores = (
            parse_ignores(arguments.ignore.read_text(), arguments.ignore)
            if arguments.ignore.exists()
            else {}
        )
    except OSError as error:
        raise AuditError(f"Failed to read {error.filename}: {error.strerror}.") from error
    say(
        f"audit: {arguments.lock.name}: {len(pins)} packages against {settings.pypi_url} (OSV: "
        f"{settings.osv_url}); {settings.timeout:g} s a request, {settings.deadline:g} s in all"
    )
    started = time.monotonic()
    outcomes = audit_all(pins, settings)
    explain_held_back(outcomes, pyproject_requirements(arguments.lock.parent / "pyproject.toml"))
    return report(outcomes, ignores, arguments.ignore, time.monotonic() - started)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], os.environ))
    except AuditError as failure:
        print(f"audit: cannot audit: {failure}", file=sys.stderr)
        sys.exit(UNUSABLE)
    except Exception:  # noqa: BLE001 - exit 1 would read as "vulnerable"
        traceback.print_exc()
        print("audit: cannot audit: the auditor failed (above)", file=sys.stderr)
        sys.exit(UNUSABLE)
