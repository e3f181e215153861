"""The Dockerfile builds one image for every service from the package's own modules.

No Docker engine runs on the machines the tests run on, so these tests read the Dockerfile
and .dockerignore, and build the project's wheel from exactly the files the builder stage
receives. Where an engine answers, the last test builds the image as well.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT, SERVICES

PINNED_PYTHON = re.compile(
    r"^python:(?P<major>\d+)\.(?P<minor>\d+)\.\d+-slim-(?P<debian>[a-z]+)(@sha256:[0-9a-f]{64})?$"
)
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|clang|build-essential|make|cmake|python3?-dev|libc6?-dev|apt-get|apk|pip\s+wheel)\b"
)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def of(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "ARG" and not stages:
            argument, _, default = rest.partition("=")
            arguments[argument] = default
        elif word == "FROM":
            parts = rest.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: arguments[m.group(1)], parts[0])
            stage_name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, stage_name))
        else:
            assert stages, f"{word} before the first FROM"
            stages[-1].instructions.append((word, rest))
    return arguments, stages


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"expected the exec form [...], got {arguments}"
    return [str(item) for item in value]


# --- .dockerignore, as Docker reads it (moby/patternmatcher) ------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


def dockerignore_excludes(rules: list[str], path: str) -> bool:
    """Whether the build context leaves ``path`` (relative, with /) out."""
    excluded = False
    parents = path.split("/")
    for rule in rules:
        negated = rule.startswith("!")
        pattern = rule[1:] if negated else rule
        pattern = pattern.strip().strip("/")
        regex = _pattern_regex(pattern)
        matched = bool(regex.match(path)) or any(
            regex.match("/".join(parents[:depth])) for depth in range(1, len(parents))
        )
        if matched:
            excluded = not negated
    return excluded


def dockerignore_rules() -> list[str]:
    text = (REPO_ROOT / ".dockerignore").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def build_context() -> list[Path]:
    """Every file of the work tree that Docker would send (ignoring git's own view)."""
    rules = dockerignore_rules()
    reincluded = [rule[1:].strip("/") for rule in rules if rule.startswith("!")]
    files = []
    for folder, subfolders, names in os.walk(REPO_ROOT):
        relative = Path(folder).relative_to(REPO_ROOT).as_posix()
        prefix = "" if relative == "." else relative + "/"
        # Skip a left-out folder (.venv, .git) unless a "!" rule could bring part of it back.
        subfolders[:] = [
            sub
            for sub in subfolders
            if not dockerignore_excludes(rules, prefix + sub)
            or any(pattern.startswith(("*", prefix + sub)) for pattern in reincluded)
        ]
        files += [
            Path(folder, name) for name in names if not dockerignore_excludes(rules, prefix + name)
        ]
    return files


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile((REPO_ROOT / "Dockerfile").read_text())


# --- stages -------------------------------------------------------------------------------


def test_the_image_is_built_in_stages_on_one_pinned_python_slim_base(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    assert len(stages) >= 2 and all(stage.name for stage in stages)
    bases = {stage.base for stage in stages}
    assert len(bases) == 1, "the venv built in one stage runs on the same Python in the next"
    (base,) = bases
    match = PINNED_PYTHON.match(base)
    assert match, f"expected python:<x.y.z>-slim-<debian release>, got {base!r}"
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    floor = tuple(int(part) for part in re.fullmatch(r">=\s*(\d+)\.(\d+)", requires).groups())  # type: ignore[union-attr]
    assert (int(match["major"]), int(match["minor"])) >= floor


def test_the_builder_stage_builds_the_project_as_wheels(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    builder = stages[0]
    runs = re.sub(r"\s+", " ", " ".join(builder.of("RUN")))
    assert re.search(r"pip wheel --require-hashes --no-deps .*-r requirements\.image\.lock", runs), (
        "the builder fetches every third-party wheel by the hash requirements.image.lock names"
    )
    assert re.search(r'pip wheel --no-deps --no-index --no-build-isolation .*"?\.\[runtime\]"?', runs), (
        "the builder wheels the project itself offline, with the hashed setuptools"
    )
    assert re.search(r'install --compile --no-index --find-links /wheels "verinet\[runtime\]"', runs), (
        "the image's venv gets nothing but those wheels"
    )


def test_the_final_stage_has_no_build_tools_and_runs_as_a_user(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    final = stages[-1]
    for run in final.of("RUN"):
        assert not BUILD_TOOLS.search(run), f"build tools in the final stage: {run}"
        assert "pip install" not in run
    for copy in final.of("COPY"):
        assert copy.startswith("--from="), f"the final stage copies only from the builder: {copy}"
    users = final.of("USER")
    assert users, "the final stage must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root USER lets runAsNonRoot verify it"


def test_the_default_command_runs_the_gateway(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    final = stages[-1]
    assert not final.of("ENTRYPOINT"), "Deployments set command; an ENTRYPOINT would prefix it"
    assert exec_form(final.of("CMD")[-1]) == ["python", "-m", "verinet.gateway"]


def test_every_service_module_runs_with_python_m_from_the_package(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    package_dirs = pyproject["tool"]["setuptools"]["package-dir"]
    _, stages = dockerfile
    builder_runs = " ".join(stages[0].of("RUN"))
    for service, module in SERVICES.items():
        folder = package_dirs[f"verinet.{module}"]
        assert folder == f"services/{service}"
        assert (REPO_ROOT / folder / "__main__.py").is_file()
        # The builder imports every entry point, so a broken one fails the build.
        assert f"verinet.{module}.__main__" in builder_runs


# --- build context ------------------------------------------------------------------------


def test_the_build_context_holds_what_the_builder_copies_and_nothing_secret(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    rules = dockerignore_rules()
    for stage in stages:
        for copy in stage.of("COPY"):
            if copy.startswith("--from="):
                continue
            *sources, _destination = shlex.split(copy)
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
                assert not dockerignore_excludes(rules, source.strip("/")), (
                    f".dockerignore drops {source}"
                )
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "tests/conftest.py",
        "var/keys/signing-x.pem",
        "deploy/k8s/base/gateway.yaml",
        "shared/__pycache__/rpc.cpython-311.pyc",
    ):
        assert dockerignore_excludes(rules, path), f"the build context would carry {path}"
    for path in (
        "pyproject.toml",
        "requirements.lock",
        "requirements.image.lock",
        "README.md",
        "shared/rpc.py",
        "services/recall-status/__main__.py",
    ):
        assert not dockerignore_excludes(rules, path), f"the build context would lack {path}"


def test_the_dockerignore_reader_follows_docker_rules() -> None:
    rules = ["*", "!src/", "**/__pycache__", "src/secret.txt"]
    assert dockerignore_excludes(rules, "notes.md")
    assert not dockerignore_excludes(rules, "src/a/b.py")
    assert dockerignore_excludes(rules, "src/a/__pycache__/b.pyc")
    assert dockerignore_excludes(rules, "src/secret.txt")


def test_the_wheel_built_from_the_build_context_carries_every_entry_point(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for path in build_context():
        target = context / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "wheels"),
            str(context),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert answer.returncode == 0, answer.stderr
    (wheel,) = (tmp_path / "wheels").glob("verinet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in SERVICES.values():
        assert f"verinet/{module}/__main__.py" in names
        assert f"verinet/{module}/settings.py" in names
    assert "verinet/rpc.py" in names and "verinet/signing/__init__.py" in names
