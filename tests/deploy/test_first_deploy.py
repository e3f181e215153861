"""The README's first-deploy steps work in order on a fresh cluster, for every overlay.

The block runs as written in bash, with ``kubectl`` being tests/deploy/offline_kubectl.py: the
real kubectl as a client-side dry run, over an empty cluster that refuses what a real one
would (a Secret in a namespace that does not exist, a wait for pods whose Secret is missing).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import K8S_ROOT, OVERLAYS, REPO_ROOT, SIGNING_KEYS_SECRET, Manifests

STEPS_MARKER = "<!-- first-deploy-steps:"
OFFLINE_KUBECTL = Path(__file__).with_name("offline_kubectl.py")
EXTERNAL_REDIS_URL = "rediss-cluster://verinet:secret@redis-0.example.internal:6379,redis-1.example.internal:6379"


def first_deploy_steps() -> tuple[str, str]:
    """The README block: its first line (overlay and namespace) and the steps after it."""
    text = (K8S_ROOT / "README.md").read_text()
    assert STEPS_MARKER in text, f"deploy/k8s/README.md: expected a block after {STEPS_MARKER!r}"
    block = text.split(STEPS_MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    first, _, steps = block.partition("\n")
    return first, steps


def namespaces_named_in(first_line: str) -> dict[str, str]:
    return dict(re.findall(r"OVERLAY=([\w-]+) NS=([\w-]+)", first_line))


@dataclass(frozen=True)
class OfflineCluster:
    """A PATH whose kubectl is the offline one, and the state it keeps."""

    bin_dir: Path
    state: Path

    def environ(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            "OFFLINE_KUBECTL_STATE": str(self.state),
            **extra,
        }

    def objects(self) -> list[dict[str, Any]]:
        if not self.state.exists():  # nothing was ever created
            return []
        return [json.loads(line) for line in self.state.read_text().splitlines() if line]

    def find(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        for item in self.objects():
            meta = item["metadata"]
            if (item["kind"], meta.get("namespace", ""), meta["name"]) == (kind, namespace, name):
                return item
        return None


def offline_cluster(tmp_path: Path, kubectl: Path) -> OfflineCluster:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kubectl"
    shim.write_text(
        "#!/bin/sh\n"
        f"OFFLINE_KUBECTL_REAL='{kubectl}' exec '{sys.executable}' '{OFFLINE_KUBECTL}' \"$@\"\n"
    )
    shim.chmod(0o755)
    return OfflineCluster(bin_dir, tmp_path / "cluster.jsonl")


@pytest.fixture
def cluster(tmp_path: Path, kubectl: Path) -> OfflineCluster:
    return offline_cluster(tmp_path, kubectl)


def run_steps(cluster: OfflineCluster, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO_ROOT,
        env=cluster.environ(**extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_readme_names_each_overlay_with_the_namespace_it_renders(rendered: dict[str, Manifests]) -> None:
    first, _ = first_deploy_steps()
    assert namespaces_named_in(first) == {overlay: rendered[overlay].namespace for overlay in OVERLAYS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_readme_steps_deploy_each_overlay_in_order_on_a_fresh_cluster(
    cluster: OfflineCluster, rendered: dict[str, Manifests], overlay: str
) -> None:
    _, steps = first_deploy_steps()
    namespace = rendered[overlay].namespace
    answer = run_steps(cluster, f"OVERLAY={overlay} NS={namespace}\n{steps}", REDIS_URL=EXTERNAL_REDIS_URL)
    assert answer.returncode == 0, answer.stderr
    # Everything the overlay renders is there, and every Deployment was waited for and found
    # startable (the offline wait refuses otherwise).
    for item in rendered[overlay].objects:
        meta = item["metadata"]
        assert cluster.find(item["kind"], meta.get("namespace", ""), meta["name"]) is not None
    assert answer.stdout.count("condition met") == len(rendered[overlay].of_kind("Deployment")) + len(
        rendered[overlay].of_kind("StatefulSet")
    )
    for secret in (SIGNING_KEYS_SECRET, "verinet-webhook-keys"):
        keys = cluster.find("Secret", namespace, secret)
        assert keys is not None and keys["data"], f"the key Secret {secret} holds no key"
        assert all(re.fullmatch(r"signing-[\w-]+\.pem", name) for name in keys["data"]), sorted(keys["data"])
    redis_secret = cluster.find("Secret", namespace, "verinet-redis")
    if overlay == "dev":
        assert redis_secret is None  # the overlay generates its own, under a hashed name
    else:
        assert redis_secret is not None and "url" in redis_secret["data"]


def test_a_secret_before_its_namespace_fails_as_on_a_real_cluster(cluster: OfflineCluster) -> None:
    """Guards the test above: the old README order (Secret first, in a namespace that the
    apply creates later) is refused at the step that needs the namespace."""
    answer = run_steps(
        cluster,
        "kubectl -n verinet create secret generic verinet-signing-keys --from-literal=signing-1.pem=x\n"
        "kubectl apply -k deploy/k8s/overlays/prod\n",
    )
    assert answer.returncode != 0
    assert 'namespaces "verinet" not found' in answer.stderr
    assert cluster.find("Secret", "verinet", SIGNING_KEYS_SECRET) is None


def test_waiting_for_pods_whose_secret_is_in_another_namespace_fails(cluster: OfflineCluster) -> None:
    """Guards the test above: the signing keys created in prod's namespace do not start the
    dev verifier (or recall-status), which wait for them in verinet-dev."""
    answer = run_steps(
        cluster,
        "kubectl create namespace verinet\n"
        "kubectl -n verinet create secret generic verinet-signing-keys --from-literal=signing-1.pem=x\n"
        "kubectl -n verinet create secret generic verinet-webhook-keys --from-literal=signing-1.pem=x\n"
        "kubectl apply -k deploy/k8s/overlays/dev\n"
        "kubectl -n verinet-dev wait --for=condition=Available deployment --all --timeout=5m\n",
    )
    assert answer.returncode != 0
    waits = re.search(r"deployment/(\S+) in verinet-dev would wait forever: expected Secret '([\w-]+)'", answer.stderr)
    assert waits, answer.stderr
    assert (waits[1], waits[2]) in {("verifier", SIGNING_KEYS_SECRET), ("recall-status", "verinet-webhook-keys")}


def test_a_name_is_created_once(cluster: OfflineCluster) -> None:
    answer = run_steps(cluster, "kubectl create namespace verinet\nkubectl create namespace verinet\n")
    assert answer.returncode != 0
    assert "AlreadyExists" in answer.stderr
