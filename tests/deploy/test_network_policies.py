"""The NetworkPolicies allow exactly the calls the code makes.

The calls come from the code, not from a list kept here: a service calls another when its
``Settings`` reads that service's ``<NAME>_ADDR``, and calls Redis when it reads
``REDIS_URL``. The policies are evaluated as Kubernetes does (policies add up; a pod
selected by a policy of a type accepts or sends only what some policy of that type allows;
a connection needs the sender's egress and the receiver's ingress) over the pods the
overlay renders, on every port they declare.
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.deploy.conftest import K8S_ROOT, Manifests, render, yaml_module

OUTSIDE_IP = "203.0.113.10"  # TEST-NET-3: any address outside the cluster
NODE_LOCAL_DNS = "169.254.20.10"
TENANT_EGRESS = ("lookup", "recall-status")  # the services that call URLs partners choose  # NodeLocal DNSCache's default address
SERVING_PORT = {"gateway": "http", "redis": "redis"}  # others serve on "grpc"


@dataclass(frozen=True)
class Pod:
    """A pod, in our namespace or elsewhere."""

    name: str
    namespace: str
    namespace_labels: dict[str, str]
    labels: dict[str, str]
    ports: dict[str, tuple[int, str]] = field(default_factory=dict)
    ip: str = "10.244.1.10"  # pod IPs come from a private (or CGNAT) range


@dataclass(frozen=True)
class Address:
    """An endpoint outside the cluster."""

    ip: str


Peer = Pod | Address


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        # Whether an ipBlock matches pod IPs depends on the network plugin: assume it does.
        address = ipaddress.ip_address(peer.ip)
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(
            address in ipaddress.ip_network(excluded)
            for excluded in block.get("except", [])
            if ipaddress.ip_network(excluded).version == address.version
        )
    if isinstance(peer, Address):
        return False
    if "namespaceSelector" in rule_peer:
        if not selector_matches(rule_peer["namespaceSelector"], peer.namespace_labels):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return selector_matches(rule_peer.get("podSelector"), peer.labels)


def port_matches(rule: dict[str, Any], destination: Peer, port: int, protocol: str) -> bool:
    entries = rule.get("ports")
    if not entries:
        return True
    for entry in entries:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if isinstance(destination, Pod) and destination.ports.get(wanted) == (port, protocol):
                return True
            continue
        if wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


class Policies:
    def __init__(self, manifests: Any) -> None:
        self.namespace = manifests.namespace
        self.policies = manifests.of_kind("NetworkPolicy")

    def _selecting(self, pod: Pod, kind: str) -> list[dict[str, Any]]:
        return [
            policy
            for policy in self.policies
            if policy["metadata"]["namespace"] == pod.namespace
            and kind in policy_types(policy)
            and selector_matches(policy["spec"]["podSelector"], pod.labels)
        ]

    def _allows(
        self, pod: Pod, kind: str, other: Peer, destination: Peer, port: int, protocol: str
    ) -> bool:
        selecting = self._selecting(pod, kind)
        if not selecting:
            return True
        rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        for policy in selecting:
            for rule in policy["spec"].get(rules_key, []):
                peers = rule.get(peers_key)
                if peers and not any(peer_matches(peer, other, self.namespace) for peer in peers):
                    continue
                if port_matches(rule, destination, port, protocol):
                    return True
        return False

    def allows(self, source: Peer, destination: Peer, port: int, protocol: str = "TCP") -> bool:
        """Whether a connection from source to destination:port gets through both ends."""
        if (
            isinstance(source, Pod)
            and source.namespace == self.namespace
            and not self._allows(source, "Egress", destination, destination, port, protocol)
        ):
            return False
        return not (
            isinstance(destination, Pod)
            and destination.namespace == self.namespace
            and not self._allows(destination, "Ingress", source, destination, port, protocol)
        )


def our_pods(manifests: Any, pod_ip: str = Pod.ip) -> dict[str, Pod]:
    return {
        name: Pod(
            name,
            manifests.namespace,
            manifests.namespace_labels,
            workload.pod_labels,
            workload.ports(),
            pod_ip,
        )
        for name, workload in manifests.workloads().items()
    }


def elsewhere(namespace: str, **labels: str) -> Pod:
    return Pod(f"{namespace}-pod", namespace, {"kubernetes.io/metadata.name": namespace}, labels)


def allowed_edges(manifests: Any, pod_ip: str = Pod.ip) -> set[tuple[str, str, str]]:
    policies = Policies(manifests)
    pods = our_pods(manifests, pod_ip)
    return {
        (source.name, destination.name, port_name)
        for source in pods.values()
        for destination in pods.values()
        for port_name, (port, protocol) in destination.ports.items()
        if policies.allows(source, destination, port, protocol)
    }


#: Pod networks: private (most plugins) and CGNAT (for example EKS custom networking).
POD_IPS = ["10.244.1.10", "100.64.3.4", "192.168.7.8"]


@pytest.mark.parametrize("pod_ip", POD_IPS)
def test_pods_talk_to_each_other_exactly_as_the_code_calls(manifests: Any, contracts: Any, pod_ip: str) -> None:
    pods = our_pods(manifests)
    expected = {
        (caller, callee, SERVING_PORT.get(callee, "grpc"))
        for caller, contract in contracts.items()
        for callee in contract.callees()
        if callee in pods  # Redis runs in the cluster only in dev
    }
    assert allowed_edges(manifests, pod_ip) == expected


def test_every_pod_is_under_default_deny(manifests: Any) -> None:
    policies = Policies(manifests)
    for pod in our_pods(manifests).values():
        for kind in ("Ingress", "Egress"):
            assert policies._selecting(pod, kind), f"{pod.name} has no {kind} policy"


@pytest.mark.parametrize(
    "source",
    [
        Address(OUTSIDE_IP),
        elsewhere("ingress-nginx", **{"app.kubernetes.io/name": "ingress-nginx"}),
    ],
    ids=["internet", "ingress-controller"],
)
def test_only_the_gateway_accepts_traffic_from_outside(manifests: Any, source: Peer) -> None:
    policies = Policies(manifests)
    reachable = {
        (pod.name, port_name)
        for pod in our_pods(manifests).values()
        for port_name, (port, protocol) in pod.ports.items()
        if policies.allows(source, pod, port, protocol)
    }
    assert reachable == {("gateway", "http")}


def test_prometheus_reaches_the_metrics_ports_and_nothing_else(manifests: Any) -> None:
    """Besides the gateway's public port, which anyone reaches (and which serves no metrics:
    the gateway's METRICS_PORT moves them, test_env_contract checks it is set)."""
    policies = Policies(manifests)
    prometheus = elsewhere("monitoring", **{"app.kubernetes.io/name": "prometheus"})
    pods = our_pods(manifests)
    reachable = {
        (pod.name, port_name)
        for pod in pods.values()
        for port_name, (port, protocol) in pod.ports.items()
        if policies.allows(prometheus, pod, port, protocol)
    }
    scraped = set()
    for name, workload in manifests.workloads().items():
        annotations = workload.pod_annotations
        if annotations.get("prometheus.io/scrape") == "true":
            port = int(annotations["prometheus.io/port"])
            scraped |= {
                (name, port_name)
                for port_name, (number, _) in pods[name].ports.items()
                if number == port
            }
    assert scraped == reachable - {("gateway", "http")}
    assert ("gateway", "metrics") in scraped


def test_only_the_monitoring_namespace_reaches_the_gateway_metrics_port(manifests: Any) -> None:
    policies = Policies(manifests)
    gateway = our_pods(manifests)["gateway"]
    port, protocol = gateway.ports["metrics"]
    assert policies.allows(elsewhere("monitoring", app="prometheus"), gateway, port, protocol)
    for outsider in (Address(OUTSIDE_IP), elsewhere("ingress-nginx", app="ingress-nginx"), *our_pods(manifests).values()):
        assert not policies.allows(outsider, gateway, port, protocol), outsider


def test_every_pod_resolves_names_through_the_cluster_dns_only(manifests: Any) -> None:
    policies = Policies(manifests)
    kube_dns = elsewhere("kube-system", **{"k8s-app": "kube-dns"})
    other_system_pod = elsewhere("kube-system", **{"k8s-app": "metrics-server"})
    for pod in our_pods(manifests).values():
        for protocol in ("UDP", "TCP"):
            assert policies.allows(pod, kube_dns, 53, protocol), f"{pod.name} cannot resolve names"
            assert not policies.allows(pod, other_system_pod, 53, protocol)
            if protocol == "UDP" or pod.name not in TENANT_EGRESS:
                # (a partner's URL may name TCP port 53 of a public address: the code accepts it)
                assert not policies.allows(pod, Address(OUTSIDE_IP), 53, protocol)


@pytest.mark.parametrize("protocol", ["UDP", "TCP"])
def test_every_pod_resolves_names_through_a_node_local_dns_cache(manifests: Any, protocol: str) -> None:
    """NodeLocal DNSCache answers on a link-local address of each node, not from a kube-dns
    pod: port 53 there is open, the rest of link-local (the metadata service) is not."""
    policies = Policies(manifests)
    for pod in our_pods(manifests).values():
        assert policies.allows(pod, Address(NODE_LOCAL_DNS), 53, protocol), pod.name
        assert not policies.allows(pod, Address(NODE_LOCAL_DNS), 8080, protocol), pod.name
        assert not policies.allows(pod, Address("169.254.169.254"), 53, protocol), pod.name


def test_every_pod_resolves_names_through_openshift_dns(manifests: Any) -> None:
    policies = Policies(manifests)
    openshift_dns = elsewhere("openshift-dns", **{"dns.operator.openshift.io/daemonset-dns": "default"})
    for pod in our_pods(manifests).values():
        for protocol in ("UDP", "TCP"):
            assert policies.allows(pod, openshift_dns, 5353, protocol), pod.name
            assert not policies.allows(pod, openshift_dns, 22, protocol), pod.name


#: Ports a tenant may put in a webhook or directory URL (http or https, any port).
TENANT_PORTS = [443, 80, 8443, 9000, 65535]


def test_only_lookup_and_webhooks_leave_the_cluster_on_the_ports_urls_may_name_and_for_an_external_redis(
    manifests: Any, contracts: Any
) -> None:
    policies = Policies(manifests)
    pods = our_pods(manifests)
    redis_in_cluster = "redis" in pods
    probes = [*TENANT_PORTS, 6379, 6380, 8080, 50051, 5432]
    expected = {(name, port) for name in ("lookup", "recall-status") for port in probes}
    if not redis_in_cluster:
        expected |= {
            (name, 6379) for name, contract in contracts.items() if "redis" in contract.callees()
        }
    leaving = {
        (pod.name, port)
        for pod in pods.values()
        for port in probes
        if policies.allows(pod, Address(OUTSIDE_IP), port)
    }
    assert leaving == expected
    assert not any(policies.allows(pod, Address(OUTSIDE_IP), 443, "UDP") for pod in pods.values())


def test_the_evaluator_sees_a_missing_egress_rule() -> None:
    """Guards the tests above: an ingress rule alone does not make a connection."""

    class Fake:
        namespace = "ns"
        namespace_labels: ClassVar[dict[str, str]] = {"kubernetes.io/metadata.name": "ns"}

        def of_kind(self, kind: str) -> list[dict[str, Any]]:
            deny = {
                "metadata": {"name": "deny", "namespace": "ns"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
            open_b = {
                "metadata": {"name": "b", "namespace": "ns"},
                "spec": {
                    "podSelector": {"matchLabels": {"app": "b"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                            "ports": [{"port": "grpc"}],
                        }
                    ],
                },
            }
            return [deny, open_b]

    policies = Policies(Fake())
    a = Pod("a", "ns", Fake.namespace_labels, {"app": "a"})
    b = Pod("b", "ns", Fake.namespace_labels, {"app": "b"}, {"grpc": (50051, "TCP")})
    assert not policies.allows(a, b, 50051)
    policies.policies.append(
        {
            "metadata": {"name": "a", "namespace": "ns"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}],
            },
        }
    )
    assert policies.allows(a, b, 50051)
    assert not policies.allows(a, b, 9090)


#: Addresses a partner's URL must never reach: private, CGNAT, loopback, link-local (cloud
#: metadata), special-purpose, and the IPv6 forms of them.
PRIVATE_ADDRESSES = [
    "10.1.2.3",
    "172.20.0.5",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "169.254.169.254",
    "0.0.0.1",
    "192.0.0.9",
    "198.18.0.1",
    "224.0.0.251",
    "255.255.255.255",
    "::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "fd00::1",
    "fe80::1",
    "ff02::1",
]


@pytest.mark.parametrize("service", ["lookup", "recall-status"])
@pytest.mark.parametrize("private_ip", PRIVATE_ADDRESSES)
def test_partner_chosen_urls_cannot_reach_private_networks(manifests: Any, service: str, private_ip: str) -> None:
    """Partners choose webhook URLs (recall-status) and the URLs of their directory entries
    (lookup): neither may reach the cloud metadata service or anything else on a private
    address through them, on any port the code accepts."""
    policies = Policies(manifests)
    pod = our_pods(manifests)[service]
    for port in TENANT_PORTS:
        assert policies.allows(pod, Address(OUTSIDE_IP), port)
        assert policies.allows(pod, Address("2001:4860:4860::8888"), port)
        assert not policies.allows(pod, Address(private_ip), port), f"{service} reaches {private_ip}:{port}"


def test_prod_redis_egress_follows_the_redis_endpoint_of_the_overlay(tmp_path: Path, kubectl: Path) -> None:
    """Providers differ (Azure's TLS port is 6380, Redis Cloud's are 1xxxx): the ports and
    ranges in overlays/prod/redis-endpoint.yaml are what the Redis clients may reach."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S_ROOT, copy)
    endpoint_file = copy / "overlays" / "prod" / "redis-endpoint.yaml"
    endpoint = yaml_module().safe_load(endpoint_file.read_text())
    endpoint["data"] = {"ipv4": "10.20.0.0/16", "ipv6": "fd12::/64", "port": "6380", "endPort": "6381"}
    endpoint_file.write_text(yaml_module().safe_dump(endpoint))
    manifests = Manifests("prod", render(kubectl, copy / "overlays" / "prod"))
    policies = Policies(manifests)
    pods = our_pods(manifests)
    for name in ("gateway", "lookup", "recall-status"):
        for address in ("10.20.3.4", "fd12::9"):
            assert policies.allows(pods[name], Address(address), 6380), (name, address)
            assert policies.allows(pods[name], Address(address), 6381), (name, address)
            assert not policies.allows(pods[name], Address(address), 6379), (name, address)
        assert not policies.allows(pods[name], Address("10.21.0.1"), 6380), name
    assert not policies.allows(pods["verifier"], Address("10.20.3.4"), 6380)
    assert manifests.get("ConfigMap", "redis-endpoint") is None  # kustomize-only, never applied
