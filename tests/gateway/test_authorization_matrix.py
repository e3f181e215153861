"""Every route of /openapi.json, called with every role, no token, and a revoked token."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

ROLES = ("manufacturer", "wholesaler", "dispenser", "network", "admin")
SAMPLE_PARAMS = {
    "gtin": "00614141000012",
    "serial": "X1",
    "lot": "L1",
    "id": "unknown-id",
    "kind": "gtins",
    "key": "00614141000012",
    "name": "hooks",
    "network": "quartet",
    "epc": "urn:epc:id:sscc:0614141.1234567890",
}


def concrete(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], path)


#: The module's network (tests/conftest.py): it sends hundreds of refused requests on purpose,
#: which the failed sign-in throttle would otherwise answer with 429.
NETWORK_ENV = {"AUTH_FAILURES_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def openapi(network: Any) -> dict[str, Any]:
    answer = requests.get(network.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture(scope="module")
def tokens(network: Any) -> dict[str, str]:
    out = {"admin": network.network.info["admin_token"]}
    for role in ROLES[:-1]:
        created, _ = network.add_partner([role])
        out[role] = created["token"]
    revoked, _ = network.add_partner(["wholesaler"])
    assert network.admin.post(f"/v1/partners/{revoked['id']}/revoke").status_code == 200
    out["revoked"] = revoked["token"]
    return out


def operations(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [
        (method.upper(), path, op["x-verinet-roles"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def call(network: Any, method: str, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = {"exp": "300101", "linkType": "verificationService", "reqGLN": "0614141000005", "gtin": SAMPLE_PARAMS["gtin"]}
    body = {"packs": [{"gtin": SAMPLE_PARAMS["gtin"], "serial": "X1"}], "state": "supplied", "data": "x"}
    return requests.request(method, network.url + concrete(path), headers=headers, params=query, json=body if method in ("POST", "PUT") else None, timeout=30)


def is_role_refusal(answer: requests.Response) -> bool:
    if answer.status_code != 403:
        return False
    if answer.headers.get("Content-Type", "").startswith("application/problem+json"):
        return answer.json()["code"] == "auth.role"
    return "needs one of the roles" in answer.text


def test_every_route_declares_its_roles_and_public_ones_are_few(openapi: dict[str, Any]) -> None:
    ops = operations(openapi)
    assert len(ops) >= 30
    public = sorted(path for _, path, roles in ops if not roles)
    assert set(public) <= {"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/openapi.json", "/console", "/console/{asset}"}


def test_every_protected_route_refuses_no_token_and_a_revoked_token(network: Any, openapi: dict[str, Any], tokens: dict[str, str]) -> None:
    failures = []
    for method, path, roles in operations(openapi):
        if not roles:
            continue
        for label, token in (("no token", None), ("revoked", tokens["revoked"]), ("forged", "vn_forged")):
            answer = call(network, method, path, token)
            if answer.status_code != 401:
                failures.append(f"{method} {path} with {label}: {answer.status_code}")
    assert failures == []


def test_every_route_refuses_each_role_it_does_not_list_and_admits_those_it_does(network: Any, openapi: dict[str, Any], tokens: dict[str, str]) -> None:
    failures = []
    for method, path, roles in operations(openapi):
        if not roles:
            continue
        for role in ROLES:
            answer = call(network, method, path, tokens[role])
            refused = is_role_refusal(answer)
            if role in roles and (refused or answer.status_code == 401):
                failures.append(f"{method} {path}: {role} is listed but got {answer.status_code}")
            if role not in roles and not refused:
                failures.append(f"{method} {path}: {role} is not listed but got {answer.status_code}")
            if answer.status_code >= 500:
                failures.append(f"{method} {path}: {role} caused {answer.status_code}: {answer.text[:200]}")
    assert failures == []
