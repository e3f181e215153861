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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

OUTSIDE_IP = "203.0.113.10"  # TEST-NET-3: any address outside the cluster
SERVING_PORT = {"gateway": "http", "redis": "redis"}  # others serve on "grpc"


@dataclass(frozen=True)
class Pod:
    """A pod, in our namespace or elsewhere."""

    name: str
    namespace: str
    namespace_labels: dict[str, str]
    labels: dict[str, str]
    ports: dict[str, tuple[int, str]] = field(default_factory=dict)


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
        if isinstance(peer, Pod):
            # Whether an ipBlock matches pod IPs depends on the network plugin: assume it does.
            return True
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


def our_pods(manifests: Any) -> dict[str, Pod]:
    return {
        name: Pod(
            name,
            manifests.namespace,
            manifests.namespace_labels,
            workload.pod_labels,
            workload.ports(),
        )
        for name, workload in manifests.workloads().items()
    }


def elsewhere(namespace: str, **labels: str) -> Pod:
    return Pod(f"{namespace}-pod", namespace, {"kubernetes.io/metadata.name": namespace}, labels)


def allowed_edges(manifests: Any) -> set[tuple[str, str, str]]:
    policies = Policies(manifests)
    pods = our_pods(manifests)
    return {
        (source.name, destination.name, port_name)
        for source in pods.values()
        for destination in pods.values()
        for port_name, (port, protocol) in destination.ports.items()
        if policies.allows(source, destination, port, protocol)
    }


def test_pods_talk_to_each_other_exactly_as_the_code_calls(manifests: Any, contracts: Any) -> None:
    pods = our_pods(manifests)
    expected = {
        (caller, callee, SERVING_PORT.get(callee, "grpc"))
        for caller, contract in contracts.items()
        for callee in contract.callees()
        if callee in pods  # Redis runs in the cluster only in dev
    }
    assert allowed_edges(manifests) == expected


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
    assert scraped == reachable


def test_every_pod_resolves_names_through_the_cluster_dns_only(manifests: Any) -> None:
    policies = Policies(manifests)
    kube_dns = elsewhere("kube-system", **{"k8s-app": "kube-dns"})
    other_system_pod = elsewhere("kube-system", **{"k8s-app": "metrics-server"})
    for pod in our_pods(manifests).values():
        for protocol in ("UDP", "TCP"):
            assert policies.allows(pod, kube_dns, 53, protocol), f"{pod.name} cannot resolve names"
            assert not policies.allows(pod, other_system_pod, 53, protocol)
            assert not policies.allows(pod, Address(OUTSIDE_IP), 53, protocol)


def test_only_lookup_and_webhooks_leave_the_cluster_and_only_for_https_and_an_external_redis(
    manifests: Any, contracts: Any
) -> None:
    policies = Policies(manifests)
    pods = our_pods(manifests)
    redis_in_cluster = "redis" in pods
    expected = {("lookup", 443), ("recall-status", 443)}
    if not redis_in_cluster:
        expected |= {
            (name, 6379) for name, contract in contracts.items() if "redis" in contract.callees()
        }
    probes = [443, 80, 6379, 6380, 8080, 50051, 5432]
    leaving = {
        (pod.name, port)
        for pod in pods.values()
        for port in probes
        if policies.allows(pod, Address(OUTSIDE_IP), port)
    }
    assert leaving == expected


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


@pytest.mark.parametrize("private_ip", ["10.1.2.3", "172.20.0.5", "192.168.1.1", "169.254.169.254", "fd00::1"])
def test_webhooks_cannot_be_pointed_into_private_networks(manifests: Any, private_ip: str) -> None:
    """Partners choose webhook URLs: recall-status must not reach the cloud metadata service
    or anything else on a private address through them."""
    policies = Policies(manifests)
    recall_status = our_pods(manifests)["recall-status"]
    assert policies.allows(recall_status, Address(OUTSIDE_IP), 443)
    assert not policies.allows(recall_status, Address(private_ip), 443)
