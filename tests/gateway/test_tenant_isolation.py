"""Tenant isolation, generated from /openapi.json: every route x every role (and no token) x
own and foreign resources, against the expected outcomes kept as data in
``isolation_expectations.json``. A route in /openapi.json without an entry there fails.

The world: two manufacturers M1 and M2 with a product each (G1, G2); partners of every
trading role in pairs (W1/W2, D1/D2, N1/N2). W1 and D1 hold packs of G1 (verified, and
possession attested over LMS), W2 and D2 packs of G2; M1 recalls the lot W1 and D1 hold, M2
the lot W2 and D2 hold; everyone subscribed to recalls before, and each pack partner raised
an alert. For a caller of role r, "own" resources are r1's (or those r1 took part in) and
"foreign" ones are r2's; admins take M1's as own and M2's as foreign.

Besides its status, every answer is searched for identifiers of partners the caller has no
business with (id, name, GLN, subscription URL) and for any partner's token: the partners of
a caller's circle (a manufacturer and the partners holding its units) may appear, nobody
else, unless the caller put the identifier in its own request. Admins see everything.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Client, RunningNetwork, gtin_under
from tests.gateway.test_authorization_matrix import operations
from verinet.epc import Gln

EXPECTATIONS = Path(__file__).with_name("isolation_expectations.json")
CALLERS = ("manufacturer", "wholesaler", "dispenser", "network", "admin", "none")
OWNERSHIPS = ("own", "foreign")
LOT_1, LOT_2, EXPIRY = "ISO-L1", "ISO-L2", "301231"
#: The letter of each caller's partners in the world (admins and anonymous callers use M's).
ROLE_LETTERS = {"manufacturer": "M", "wholesaler": "W", "dispenser": "D", "network": "N", "admin": "A", "none": "X"}
PLACEHOLDER = re.compile(r"\{((?:mine\.)?[a-z_]+)\}")


@dataclass
class Party:
    """One partner of the world, with what must not leak to strangers."""

    label: str
    id: str = ""
    name: str = ""
    glns: list[str] = field(default_factory=list)
    token: str = ""
    subscription_url: str = ""
    client: Client | None = None

    def secrets(self) -> list[str]:
        out = [self.id, self.name, *self.glns, self.subscription_url]
        return [s for s in out if s]


#: The module's network (tests/conftest.py): hundreds of refused requests, which the sign-in
#: throttle would slow.
NETWORK_ENV = {"AUTH_FAILURES_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def expectations() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXPECTATIONS.read_text())
    return data


def ok(answer: requests.Response, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200,)), answer.text
    return answer.json() if answer.content else None


def wait_for_deliveries(client: Client, recall_id: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get(f"/v1/recalls/{recall_id}/deliveries")
        if answer.status_code == 200 and answer.json()["deliveries"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"no delivery of recall {recall_id} was logged within {seconds:g} s")


class World:
    """The partners and resources every cell of the table is played against."""

    def __init__(self, network: RunningNetwork) -> None:
        self.network = network
        self.parties: dict[str, Party] = {}
        self.resources: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, label: str, role: str) -> Party:
        name = f"Isolation {label} {role.title()} Ltd"
        created, client = self.network.add_partner([role], name=name)
        party = Party(label, created["id"], name, list(created["glns"]), created["token"], client=client)
        self.parties[label] = party
        return party

    def client(self, label: str) -> Client:
        client = self.parties[label].client
        assert client is not None
        return client

    def build(self) -> World:
        network = self.network
        for n in ("1", "2"):
            for role in ("manufacturer", "wholesaler", "dispenser", "network"):
                self.add(ROLE_LETTERS[role] + n, role)
        admin_me = ok(network.admin.get("/v1/partners/me"))
        self.parties["A"] = Party("A", admin_me["id"], admin_me["name"], list(admin_me["glns"]), network.network.info["admin_token"], client=network.admin)
        for label, party in self.parties.items():
            if label[0] in "MWDN":  # every partner subscribes before any recall is published
                party.subscription_url = f"https://hooks-{label.lower()}.isolation.example.net/recalls"
                body = {"url": party.subscription_url, "events": ["recall.published"]}
                ok(self.client(label).put(f"/v1/subscriptions/hooks-{label.lower()}", json=body), 200, 201)
        for n, lot in (("1", LOT_1), ("2", LOT_2)):
            self.build_half(n, lot)
        return self

    def build_half(self, n: str, lot: str) -> None:
        """M<n>'s products, packs, alerts, recalls; W<n> and D<n> hold packs; subscriptions."""
        m = self.client("M" + n)
        prefix = ok(m.get("/v1/partners/me"))["company_prefixes"][0]
        gtin, spare_gtin = gtin_under(prefix, 1), gtin_under(prefix, 2)
        for g in (gtin, spare_gtin):
            ok(m.put(f"/v1/products/{g}", json={"name": f"Isolation product {n}"}), 200, 201)
        free_lot = f"ISO-F{n}"
        held = [{"gtin": gtin, "serial": f"{letter}{n}-1", "lot": lot, "expiry": EXPIRY} for letter in ("W", "D")]
        free = [{"gtin": gtin, "serial": f"F{n}-{letter}", "lot": free_lot, "expiry": EXPIRY} for letter in ROLE_LETTERS.values()]
        ok(m.post("/v1/packs/commission", json={"packs": held + free}))
        for pack in held:
            letter = pack["serial"][0]
            holder = self.parties[letter + n]
            # in hand: the attested FMD verification makes the holder at once (an LMS sighting
            # is recorded up to PACK_EVENT_DELAY_SECONDS later, after the recall below)
            ok(self.client(letter + n).post("/v1/packs/verify", json={"packs": [pack], "possession_attested": True}))
            query = {"exp": EXPIRY, "linkType": "verificationService", "reqGLN": holder.glns[0], "ctrlPossessAtt": "true"}
            ok(self.client(letter + n).get(f"/verify/gtin/{gtin}/lot/{lot}/ser/{pack['serial']}", params=query))
        alerts = {}
        for letter in ("M", "W", "D", "A"):
            unknown = {"gtin": gtin, "serial": f"NOPE-{letter}{n}", "lot": lot, "expiry": EXPIRY}
            by = self.client(("M" if letter == "A" else letter) + n)
            alerts[letter] = ok(by.post("/v1/packs/verify", json={"packs": [unknown]}))["results"][0]["alert_id"]
        recall = ok(m.post("/v1/recalls", json={"gtins": [gtin], "lots": [lot], "class": "II", "reason": f"Isolation recall {n}"}), 201)
        closable = ok(m.post("/v1/recalls", json={"gtins": [gtin], "lots": [lot], "class": "III", "reason": "to close", "mock": True}), 201)
        for letter in ("M", "W", "D"):  # deliveries are asynchronous: wait until they are logged
            wait_for_deliveries(self.client(letter + n), recall["id"])
        spare = self.add(f"S{n}", "wholesaler")  # for an admin to revoke
        for role, letter in ROLE_LETTERS.items():
            party = self.parties["M" + n if role in ("admin", "none") else letter + n]
            self.resources[(role, "own" if n == "1" else "foreign")] = {
                "gtin": gtin,
                "spare_gtin": spare_gtin,
                "lot": lot,
                "expiry": EXPIRY,
                "serial": f"D{n}-1" if letter == "D" else f"W{n}-1",
                "free_lot": free_lot,
                "free_serial": f"F{n}-{letter}",
                "recall": recall["id"],
                "closable_recall": closable["id"],
                "holder": self.parties["W" + n].id,  # a consignee of the recall
                "alert": alerts.get(letter, alerts["W"]),
                "partner": spare.id if role == "admin" else party.id,
                "gln": party.glns[0],
                "sgln": Gln(party.glns[0]).as_urn(7),
                "pgln": Gln(party.glns[0], party=True).as_urn(7),
                "subscription": f"hooks-{party.label.lower()}",
                "subscription_url": party.subscription_url,
                "directory_key": prefix + ("9" if role == "admin" else "8"),
            }

    def caller_party(self, caller: str) -> Party | None:
        label = {"manufacturer": "M1", "wholesaler": "W1", "dispenser": "D1", "network": "N1", "admin": "A"}.get(caller)
        return self.parties[label] if label else None

    def fill(self, template: Any, caller: str, ownership: str) -> Any:
        """A request template with its placeholders resolved: ``{x}`` to the caller's own or
        foreign resource x, ``{mine.x}`` to its own whatever the cell."""
        own = self.resources[(caller, "own")]
        chosen = self.resources[(caller, ownership)]
        if isinstance(template, str):
            return PLACEHOLDER.sub(lambda m: own[m.group(1)[5:]] if m.group(1).startswith("mine.") else chosen[m.group(1)], template)
        if isinstance(template, list):
            return [self.fill(item, caller, ownership) for item in template]
        if isinstance(template, dict):
            return {key: self.fill(value, caller, ownership) for key, value in template.items()}
        return template


@pytest.fixture(scope="module")
def world(network: RunningNetwork) -> World:
    return World(network).build()


@pytest.fixture(scope="module")
def openapi(network: RunningNetwork) -> dict[str, Any]:
    answer = requests.get(network.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200
    spec: dict[str, Any] = answer.json()
    return spec


def route_key(method: str, path: str) -> str:
    return f"{method} {path}"


def test_every_route_of_openapi_has_an_entry_in_the_table_and_every_entry_a_route(openapi: dict[str, Any], expectations: dict[str, Any]) -> None:
    routes = {route_key(method, path) for method, path, _ in operations(openapi)}
    table = set(expectations["routes"])
    assert sorted(routes - table) == [], "routes without an expected outcome: add them to isolation_expectations.json"
    assert sorted(table - routes) == [], "entries for routes that no longer exist"
    for key, entry in expectations["routes"].items():
        for ownership in OWNERSHIPS:
            missing = [c for c in CALLERS if c not in entry["expect"][ownership] and "*" not in entry["expect"][ownership]]
            assert missing == [], f"{key} {ownership}: no expected status for {missing}"


def expected_status(entry: dict[str, Any], ownership: str, caller: str) -> int:
    table = entry["expect"][ownership]
    status: int = table.get(caller, table.get("*"))
    return status


def strangers(world: World, caller: str, ownership: str, expectations: dict[str, Any]) -> list[Party]:
    """The partners whose identifiers must not reach this caller."""
    if caller == "admin":
        return []
    me = world.caller_party(caller)
    circle = set(expectations["circles"].get(me.label if me else "", []))
    return [p for label, p in world.parties.items() if label not in circle and p is not me and label != "A"]


def play(world: World, entry: dict[str, Any], method: str, path: str, caller: str, ownership: str) -> tuple[requests.Response, str]:
    request = entry.get("request", {})
    filled_path = world.fill(request.get("path", path), caller, ownership)
    query = world.fill(request.get("query"), caller, ownership)
    body = world.fill(request.get("body"), caller, ownership)
    me = world.caller_party(caller)
    headers = {"Authorization": f"Bearer {me.token}"} if me else {}
    answer = requests.request(method, world.network.url + filled_path, headers=headers, params=query, json=body, timeout=60)
    sent = json.dumps([filled_path, query, body])
    return answer, sent


def test_every_route_every_role_own_and_foreign_gets_its_expected_status_and_leaks_nothing(
    world: World, openapi: dict[str, Any], expectations: dict[str, Any]
) -> None:
    tokens = [p.token for p in world.parties.values() if p.token and p.label != "A"]
    failures: list[str] = []
    for method, path, _ in operations(openapi):
        key = route_key(method, path)
        entry = expectations["routes"].get(key)
        if entry is None:
            continue  # reported by the coverage test
        for caller in CALLERS:
            for ownership in OWNERSHIPS:
                cell = f"{key} | {caller} | {ownership}"
                answer, sent = play(world, entry, method, path, caller, ownership)
                problems = []
                expected = expected_status(entry, ownership, caller)
                if answer.status_code != expected:
                    problems.append(f"status {answer.status_code}, expected {expected}: {answer.text[:160]!r}")
                seen = answer.text + " " + " ".join(answer.headers.values())
                for token in tokens:
                    if token in seen or token[3:19] in seen:
                        problems.append("answer carries a partner's token")
                for stranger in strangers(world, caller, ownership, expectations):
                    leaked = [s for s in stranger.secrets() if s not in sent and re.search(rf"(?<![0-9A-Za-z_-]){re.escape(s)}(?![0-9A-Za-z_-])", seen)]
                    if leaked:
                        problems.append(f"leaks {stranger.label}'s {leaked}")
                if problems:
                    failures.append(f"{cell}: {'; '.join(problems)}")
    assert failures == [], "\n" + "\n".join(failures)
