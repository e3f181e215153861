"""A kubectl for scripts run offline: an empty cluster that remembers what it was given.

The deploy tests put this program first on PATH (as ``kubectl``) and run the README's steps
and ``deploy/k8s/smoke.sh`` with it. Each command runs through the real kubectl as a
client-side dry run (``create``), or through ``kubectl kustomize`` (``apply -k``); the objects
land in a JSON-lines state file and are checked the way an API server and the kubelet would:
a namespaced object needs its namespace, a name is created once, every object is valid
against the Kubernetes schemas, and a workload is only waited for when every Secret,
ConfigMap and ServiceAccount its pods need exists. A step that needs something not yet
created fails, naming it.

Environment: OFFLINE_KUBECTL_STATE (the state file), OFFLINE_KUBECTL_REAL (the real kubectl),
OFFLINE_KUBECTL_EXEC_ENV (optional, a JSON object: the environment ``kubectl exec`` runs its
command with, on this machine, in place of a pod).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

#: Namespaces a fresh cluster has.
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
SCHEMA_VERSION = "1.30.0"


class Refused(Exception):
    """What the API server (or the kubelet, for a wait) would answer instead."""


def load_state(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in BUILT_IN_NAMESPACES]
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def save_state(path: Path, objects: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in objects))


def key_of(item: dict[str, Any]) -> tuple[str, str, str]:
    meta = item["metadata"]
    return item["kind"], meta.get("namespace", ""), meta["name"]


def find(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    for item in objects:
        if key_of(item) == (kind, namespace, name):
            return item
    return None


def admit(objects: list[dict[str, Any]], new: list[dict[str, Any]], *, replace: bool) -> list[dict[str, Any]]:
    """The state after creating (or applying, ``replace``) ``new``, or Refused."""
    # kubectl apply sends a rendered list in kustomize's order, Namespaces first.
    namespaces = {item["metadata"]["name"] for item in objects + new if item["kind"] == "Namespace"}
    result = list(objects)
    for item in new:
        kind, namespace, name = key_of(item)
        if kind not in CLUSTER_SCOPED:
            if not namespace:
                raise Refused(f"{kind}/{name}: expected a namespace (-n, or metadata.namespace), got none")
            if namespace not in namespaces:
                raise Refused(f'Error from server (NotFound): namespaces "{namespace}" not found (creating {kind}/{name})')
        try:
            kubernetes_validate.validate(item, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise Refused(f"{kind}/{name} is invalid: {error.message}") from error
        existing = find(result, kind, namespace, name)
        if existing is not None:
            if not replace:
                raise Refused(f'Error from server (AlreadyExists): {kind.lower()}s "{name}" already exists')
            result.remove(existing)
        result.append(item)
    return result


def needs_of(workload: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (kind, name) of every object a workload's pods cannot start without."""
    pod = workload["spec"]["template"]["spec"]
    if pod.get("serviceAccountName"):
        yield "ServiceAccount", pod["serviceAccountName"]
    for volume in pod.get("volumes", []):
        if "secret" in volume and not volume["secret"].get("optional"):
            yield "Secret", volume["secret"]["secretName"]
        if "configMap" in volume and not volume["configMap"].get("optional"):
            yield "ConfigMap", volume["configMap"]["name"]
    for container in pod.get("initContainers", []) + pod["containers"]:
        for variable in container.get("env", []):
            source = variable.get("valueFrom", {})
            for ref, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if ref in source and not source[ref].get("optional"):
                    yield kind, source[ref]["name"]
        for source in container.get("envFrom", []):
            for ref, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if ref in source and not source[ref].get("optional"):
                    yield kind, source[ref]["name"]


def check_startable(objects: list[dict[str, Any]], workload: dict[str, Any]) -> None:
    kind, namespace, name = key_of(workload)
    for needed_kind, needed_name in needs_of(workload):
        if find(objects, needed_kind, namespace, needed_name) is None:
            raise Refused(
                f"{kind.lower()}/{name} in {namespace} would wait forever: "
                f"expected {needed_kind} {needed_name!r} in {namespace}, got none"
            )


class OfflineKubectl:
    def __init__(self, state_path: Path, real: str) -> None:
        self.state_path = state_path
        self.real = real
        self.objects = load_state(state_path)

    def run_real(self, *args: str) -> str:
        answer = subprocess.run(
            [self.real, *args], capture_output=True, text=True, check=False, env={**os.environ, "KUBECONFIG": os.devnull}
        )
        if answer.returncode != 0:
            raise Refused(answer.stderr.strip())
        return answer.stdout

    def main(self, argv: list[str]) -> int:
        namespace, rest = "", []
        arguments = iter(argv)
        for arg in arguments:
            if arg in ("-n", "--namespace"):
                namespace = next(arguments)
            elif arg.startswith("--namespace="):
                namespace = arg.split("=", 1)[1]
            elif arg == "--context":
                next(arguments)
            elif not arg.startswith("--context="):
                rest.append(arg)
        command = rest[:2]
        if command == ["create", "namespace"] or command == ["create", "secret"]:
            created = json.loads(self.run_real(*rest, *(["-n", namespace] if namespace else []), "--dry-run=client", "-o", "json"))
            if created["kind"] != "Namespace":
                created["metadata"]["namespace"] = namespace or "default"
            self.objects = admit(self.objects, [created], replace=False)
        elif command == ["apply", "-k"]:
            rendered = [item for item in yaml.safe_load_all(self.run_real("kustomize", rest[2])) if item]
            self.objects = admit(self.objects, rendered, replace=True)
            for item in rendered:
                print(f"{item['kind'].lower()}/{item['metadata']['name']} configured (offline)")
        elif command == ["get", "namespace"] or command == ["get", "secret"]:
            kind = "Namespace" if command[1] == "namespace" else "Secret"
            if find(self.objects, kind, "" if kind == "Namespace" else namespace or "default", rest[2]) is None:
                raise Refused(f'Error from server (NotFound): {command[1]}s "{rest[2]}" not found')
            print(rest[2])
        elif command[:1] == ["wait"] or command == ["rollout", "status"]:
            waited = [item for item in self.objects if item["kind"] in WORKLOAD_KINDS and item["metadata"].get("namespace") == namespace]
            if not waited:
                raise Refused(f"error: no matching resources found in namespace {namespace!r}")
            for item in waited:
                check_startable(self.objects, item)
                print(f"{item['kind'].lower()}/{item['metadata']['name']} condition met (offline)")
        elif command[:1] == ["exec"] and "--" in rest:
            return self.exec_in_pod(namespace, rest)
        else:
            raise Refused(f"The offline kubectl does not know 'kubectl {' '.join(argv)}'")
        save_state(self.state_path, self.objects)
        return 0

    def exec_in_pod(self, namespace: str, rest: list[str]) -> int:
        """``kubectl exec deploy/NAME -- CMD``: the workload must exist and be startable; the
        command then runs here, with OFFLINE_KUBECTL_EXEC_ENV as its environment."""
        target = rest[rest.index("--") - 1]
        kind, _, name = target.partition("/")
        workload = find(self.objects, {"deploy": "Deployment", "deployment": "Deployment"}.get(kind, kind), namespace, name)
        if workload is None:
            raise Refused(f'Error from server (NotFound): deployments.apps "{name}" not found in {namespace!r}')
        check_startable(self.objects, workload)
        environ = {**os.environ, **json.loads(os.environ.get("OFFLINE_KUBECTL_EXEC_ENV", "{}"))}
        return subprocess.run(rest[rest.index("--") + 1 :], env=environ, check=False).returncode


def main() -> int:
    kubectl = OfflineKubectl(Path(os.environ["OFFLINE_KUBECTL_STATE"]), os.environ["OFFLINE_KUBECTL_REAL"])
    try:
        return kubectl.main(sys.argv[1:])
    except Refused as refusal:
        print(refusal, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
