"""The manifests and the services agree on the environment: every variable a manifest sets is
one the service's ``Settings.from_env`` reads, every variable without a default is set, the
values parse, and the ports and addresses they name are the ones the manifests serve."""

from __future__ import annotations

import re
from typing import Any

import pytest

SERVICES = ("gateway", "verifier", "lookup", "recall-status")
#: Secrets that are created outside git; their values cannot be read from the render.
OUT_OF_BAND = {"verinet-signing-keys", "verinet-webhook-keys", "verinet-redis"}
ADDRESS = re.compile(r"^dns:///(?P<host>[a-z0-9-]+):(?P<port>\d+)$")


def env_names(container: dict[str, Any]) -> set[str]:
    return {entry["name"] for entry in container.get("env", [])}


def resolved_env(manifests: Any, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment with references to rendered ConfigMaps and Secrets read."""
    environ = {}
    for entry in container.get("env", []):
        if "value" in entry:
            environ[entry["name"]] = entry["value"]
            continue
        source = entry["valueFrom"]
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            kind, ref = (
                ("Secret", source["secretKeyRef"])
                if "secretKeyRef" in source
                else ("ConfigMap", source["configMapKeyRef"])
            )
            data = manifests.data_of(kind, ref["name"])
            if data is None:
                base_name = re.sub(r"-[a-z0-9]{10}$", "", ref["name"])
                assert base_name in OUT_OF_BAND, (
                    f"{entry['name']} refers to a missing {kind} {ref['name']!r}"
                )
                environ[entry["name"]] = f"<{base_name}/{ref['key']}>"
            else:
                assert ref["key"] in data, (
                    f"{entry['name']}: {kind} {ref['name']} has no key {ref['key']!r}"
                )
                environ[entry["name"]] = data[ref["key"]]
        else:
            pytest.fail(f"{entry['name']}: unexpected valueFrom {source}")
    return environ


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_the_manifest_sets_is_read_by_the_service(
    manifests: Any, contracts: Any, service: str
) -> None:
    container = manifests.workload(service).container
    assert "envFrom" not in container, "name each variable: envFrom hides the contract"
    unread = env_names(container) - contracts[service].reads
    assert not unread, f"{service} sets variables its Settings never reads: {sorted(unread)}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_without_a_default_is_set(
    manifests: Any, contracts: Any, service: str
) -> None:
    missing = contracts[service].required - env_names(manifests.workload(service).container)
    assert not missing, f"{service} lacks required settings: {sorted(missing)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_values_parse_and_name_the_ports_the_pod_serves(
    manifests: Any, contracts: Any, service: str
) -> None:
    workload = manifests.workload(service)
    settings = contracts[service].parse(resolved_env(manifests, workload.container))
    ports = workload.ports()
    serving = "http" if service == "gateway" else "grpc"
    assert ports[serving][0] == settings.port
    assert settings.bind_host == "0.0.0.0"
    metrics_port = getattr(settings, "metrics_port", None)
    if metrics_port is not None:
        assert metrics_port, f"{service} has no METRICS_PORT: Prometheus would find nothing"
        assert ports["metrics"][0] == metrics_port
    assert int(workload.pod_annotations["prometheus.io/port"]) == (metrics_port or settings.port)


@pytest.mark.parametrize("service", SERVICES)
def test_addresses_name_headless_services_that_reach_the_callee(
    manifests: Any, contracts: Any, service: str
) -> None:
    environ = resolved_env(manifests, manifests.workload(service).container)
    addresses = {name: value for name, value in environ.items() if name.endswith("_ADDR")}
    for name, value in addresses.items():
        match = ADDRESS.match(value)
        assert match, (
            f"{name}={value!r}: expected dns:///<service>:<port> (client-side round robin)"
        )
        host, port = match["host"], int(match["port"])
        callee = manifests.workload(host)
        assert f"{callee.container['command'][-1].rsplit('.', 1)[-1].upper()}_ADDR" == name
        kube_service = manifests.one("Service", host)
        assert kube_service["spec"].get("clusterIP") == "None", f"Service {host} must be headless"
        service_port = next(p for p in kube_service["spec"]["ports"] if p["port"] == port)
        target = service_port["targetPort"]
        callee_ports = callee.ports()
        target_number = callee_ports[target][0] if isinstance(target, str) else target
        callee_settings = contracts[host].parse(resolved_env(manifests, callee.container))
        assert target_number == callee_settings.port == port
        selected = [
            other
            for other in manifests.workloads().values()
            if all(
                other.pod_labels.get(k) == v for k, v in kube_service["spec"]["selector"].items()
            )
        ]
        assert [w.name for w in selected] == [host]


def test_redis_url_names_the_redis_the_overlay_provides(manifests: Any) -> None:
    data = manifests.data_of("Secret", "verinet-redis")
    if manifests.overlay == "prod":
        assert data is None, "prod's Redis URL carries a password: it must not be committed"
        return
    assert data is not None
    match = re.fullmatch(r"redis://(?P<host>[a-z0-9-]+):(?P<port>\d+)/\d+", data["url"])
    assert match, data["url"]
    redis_service = manifests.one("Service", match["host"])
    assert int(match["port"]) in {port["port"] for port in redis_service["spec"]["ports"]}


def test_no_pod_gets_kubernetes_service_links(manifests: Any) -> None:
    """Service links would inject variables such as LOOKUP_PORT=tcp://... into every pod."""
    for workload in manifests.workloads().values():
        assert workload.pod.get("enableServiceLinks") is False, workload.name
