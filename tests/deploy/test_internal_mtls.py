"""The prod overlay's optional mutual-TLS patch (deploy/k8s/overlays/prod/internal-mtls.yaml):
enabled as its comments say, it renders valid objects in which every service reads its
certificates from its own Secret, and probes reach a plain-text health-only port."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import K8S_ROOT, SERVICES, Manifests, render
from tests.deploy.test_render import KUBERNETES_VERSIONS, kubernetes_validate
from verinet.config import INTERNAL_TLS_VARIABLES

PROD = K8S_ROOT / "overlays" / "prod"
MOUNT = "/var/run/verinet/internal-tls"


@pytest.fixture(scope="module")
def with_mtls(kubectl: Path, tmp_path_factory: pytest.TempPathFactory) -> Manifests:
    """The prod overlay with the patch line uncommented, rendered from a scratch copy."""
    overlay = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S_ROOT, overlay)
    kustomization = overlay / "overlays" / "prod" / "kustomization.yaml"
    text = kustomization.read_text()
    assert "  # - path: internal-mtls.yaml\n" in text, "the patch line is no longer where the docs say"
    kustomization.write_text(text.replace("  # - path: internal-mtls.yaml\n", "  - path: internal-mtls.yaml\n"))
    return Manifests("prod+mtls", render(kubectl, overlay / "overlays" / "prod"))


def test_mtls_is_off_unless_the_patch_is_enabled(rendered: dict[str, Manifests]) -> None:
    for service in SERVICES:
        env = {entry["name"] for entry in rendered["prod"].workload(service).container.get("env", [])}
        assert not env & set(INTERNAL_TLS_VARIABLES), service


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_reads_its_own_certificate_secret(with_mtls: Manifests, contracts: Any, service: str) -> None:
    workload = with_mtls.workload(service)
    env = {entry["name"]: entry.get("value") for entry in workload.container["env"]}
    assert set(INTERNAL_TLS_VARIABLES) <= contracts[service].reads
    assert [env[name] for name in INTERNAL_TLS_VARIABLES] == [f"{MOUNT}/ca.crt", f"{MOUNT}/tls.crt", f"{MOUNT}/tls.key"]
    mount = next(m for m in workload.container["volumeMounts"] if m["name"] == "internal-tls")
    assert (mount["mountPath"], mount["readOnly"]) == (MOUNT, True)
    volume = next(v for v in workload.pod["volumes"] if v["name"] == "internal-tls")
    assert volume["secret"]["secretName"] == f"verinet-internal-tls-{service}"
    assert volume["secret"]["defaultMode"] == 0o400


@pytest.mark.parametrize("service", [name for name in SERVICES if name != "gateway"])
def test_probes_reach_the_plain_text_health_port(with_mtls: Manifests, contracts: Any, service: str) -> None:
    workload = with_mtls.workload(service)
    env = {entry["name"]: entry.get("value") for entry in workload.container["env"]}
    assert "HEALTH_PORT" in contracts[service].reads
    health_port = int(env["HEALTH_PORT"])
    assert workload.ports()["health"] == (health_port, "TCP")
    assert workload.ports()["grpc"][0] != health_port
    for probe in ("readinessProbe", "livenessProbe"):
        assert workload.container[probe]["grpc"]["port"] == health_port, probe
    # Readiness still names the service, which goes NOT_SERVING when the pod drains.
    assert workload.container["readinessProbe"]["grpc"]["service"].startswith("verinet.")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_patched_objects_are_valid(with_mtls: Manifests, version: str) -> None:
    validator = kubernetes_validate()
    for item in with_mtls.of_kind("Deployment"):
        validator.validate(item, version, strict=True)
