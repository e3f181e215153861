"""Durability under crashes: SIGKILL Redis, then each service, while clients stream bulk
decommissions; afterwards every acknowledged change is there, nothing is half-applied, and
retries of the same transaction_id converge.

Each scenario gets its own GTIN (so its own audit chain) and its own partners. Clients send
bulk decommissions of ``BATCH`` packs, each with a transaction_id, from ``CLIENTS`` threads;
when about a third of the batches are acknowledged the fault thread kills one process with
SIGKILL and starts it again (Redis on the same port and data directory; a service with
``Network._spawn``, same environment and port). A light LMS client runs alongside and checks
that every answer it gets is right.

What "half-applied" means here: a pack's state, its last-decommission record (``pd:``) and its
audit entry are written together by one Lua script in recall-status. A pack is consistent
when it is either supplied with exactly one decommission audit entry and a decommission
record, or active with neither.

A gateway killed mid-request (or Redis killed between a request's claim and its answer) leaves
the request's transaction_id claimed as ``pending`` until its lease runs out (the gateway's
LEASE_SECONDS, 10 s, renewed only while its runner lives):
retries in that time wait and answer 504. Those retries are checked in the last test, after
the claims have expired, so the module runs the scenarios while it waits.

``VERINET_DURABILITY_PACKS`` sets the decommissions per scenario (default 20,000, sized for
CI on two cores); ``VERINET_DURABILITY_PACKS=50000`` is the issue's full run.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import RunningNetwork, gtin_under, running_network, sync_redis
from verinet.network import with_check_digit
from verinet.recall_status.pack_keys import decommission_key

PACKS = int(os.environ.get("VERINET_DURABILITY_PACKS", "20000"))
BATCH = 500
CLIENTS = 4
LOT, EXPIRY = "DUR1", "301231"
FAULT_AT = 0.3  # share of batches acknowledged before the fault
READY_SECONDS = 90.0
PENDING_CLAIM_SECONDS = 120  # services/gateway/idempotency.py PENDING_SECONDS
CLEAN_ERRORS = {502, 503, 504}  # what a client should get for a request cut off by a crash
# Today a Redis outage answers 500 "internal" (redis.exceptions.ConnectionError is not mapped to
# Unavailable in shared/rpc.py translate_errors nor in services/gateway/routing.py); the
# scenarios tolerate it so they check durability, and the xfail test below pins the bug.
TOLERATED_ERRORS = CLEAN_ERRORS | {500}

FIGURES: list[dict[str, Any]] = []  # printed at the end (pytest -s) for the record


# -- the network and its partners ---------------------------------------------------------------


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    try:
        with running_network(tmp_path_factory.mktemp("durability")) as network:
            yield network
    finally:
        for figures in FIGURES:
            print(json.dumps(figures))


_gtin_counter = itertools.count(1)
_gln_counter = itertools.count(1)


@dataclass
class Scenario:
    name: str
    gtin: str
    partners: list[dict[str, Any]]  # the CLIENTS partners that decommission, batch k -> k % CLIENTS
    batches: list[list[str]]  # serials of each batch
    first: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # batch -> (status|error, body)
    deferred: list[int] = field(default_factory=list)  # batches whose transaction is still claimed


SCENARIOS: dict[str, Scenario] = {}


@pytest.fixture(scope="module")
def control(network: RunningNetwork) -> dict[str, Any]:
    """A manufacturer, an auditing wholesaler and a product whose packs stay active, for the
    LMS client that runs beside each load."""
    packs = [(f"C{n:05d}", LOT, EXPIRY) for n in range(200)]
    manufacturer, mclient, gtin = network.add_product_with_packs(packs, item=0)
    auditor, _ = network.add_partner(["wholesaler"])
    prefix = manufacturer["company_prefixes"][0]
    return {"manufacturer": manufacturer, "mclient": mclient, "prefix": prefix, "gtin": gtin, "auditor": auditor}


def until_answered(send: Callable[[], requests.Response], attempts: int = 40) -> requests.Response:
    """Setup and inspection calls ride out the error burst that follows a Redis restart (see
    the xfail test on stale pooled connections): retried while they answer a 5xx."""
    for _ in range(attempts):
        answer = send()
        if answer.status_code not in TOLERATED_ERRORS:
            return answer
        time.sleep(0.5)
    return answer


def new_scenario(network: RunningNetwork, control: dict[str, Any], name: str) -> Scenario:
    prefix = control["prefix"]
    gtin = gtin_under(prefix, next(_gtin_counter))
    mclient = control["mclient"]
    assert until_answered(lambda: mclient.put(f"/v1/products/{gtin}", json={"name": f"durability {name}"})).status_code in (200, 201)
    serials = [f"{name[:3].upper()}{n:07d}" for n in range(PACKS)]
    for start in range(0, PACKS, 10_000):
        packs = [{"gtin": gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in serials[start : start + 10_000]]
        answer = until_answered(lambda: mclient.post("/v1/packs/commission", json={"packs": packs}))  # noqa: B023
        assert answer.status_code == 200, answer.text
        assert answer.json()["stored"] == len(packs)
    partners = []
    for k in range(CLIENTS):
        body = {"name": f"{name} client {k}", "roles": ["wholesaler" if k % 2 else "dispenser"], "glns": [with_check_digit(f"07{next(_gln_counter):05d}{k:05d}")]}
        answer = until_answered(lambda: network.admin.post("/v1/partners", json=body))  # noqa: B023
        assert answer.status_code == 201, answer.text
        partners.append(answer.json())
    batches = [serials[start : start + BATCH] for start in range(0, PACKS, BATCH)]
    scenario = Scenario(name, gtin, partners, batches)
    SCENARIOS[name] = scenario
    return scenario


# -- load ---------------------------------------------------------------------------------------


def transaction_id(scenario: Scenario, batch: int) -> str:
    return f"dur-{scenario.name}-{batch:05d}"


def decommission(network: RunningNetwork, scenario: Scenario, batch: int, session: requests.Session, timeout: float = 60) -> tuple[Any, Any]:
    """POSTs one batch; answers (status, body) or (exception class name, None)."""
    partner = scenario.partners[batch % CLIENTS]
    body = {
        "state": "supplied",
        "transaction_id": transaction_id(scenario, batch),
        "packs": [{"gtin": scenario.gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in scenario.batches[batch]],
    }
    try:
        answer = session.post(
            network.url + "/v1/packs/decommission",
            json=body,
            headers={"Authorization": f"Bearer {partner['token']}"},
            timeout=timeout,
        )
    except requests.RequestException as error:
        return type(error).__name__, None
    return answer.status_code, answer.content


def acknowledged_serials(body: bytes) -> set[str]:
    return {r["serial"] for r in json.loads(body)["results"] if r["ok"]}


def wait_ready(network: RunningNetwork, timeout: float = READY_SECONDS) -> float:
    """Seconds until /readyz answers 200 (Redis and every service reachable from the gateway)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(network.url + "/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"The network was not ready {timeout}s after the restart")


def kill_redis(network: RunningNetwork) -> None:
    redis = network.network.redis
    assert redis is not None
    redis.kill()
    time.sleep(0.5)
    redis.start()


def kill_service(name: str) -> Callable[[RunningNetwork], None]:
    def fault(network: RunningNetwork) -> None:
        process = network.network.processes[name]
        process.kill()  # SIGKILL
        process.wait()
        time.sleep(0.3)
        network.network._spawn(name)

    return fault


def lms_client(network: RunningNetwork, control: dict[str, Any], stop: threading.Event, seen: Counter[str], wrong: list[str]) -> None:
    """Verifies active control packs until stopped; every 200 must say verified, every other
    answer must be a clean 5xx from the list above or a connection error."""
    session = requests.Session()
    auditor = control["auditor"]
    rng = random.Random(7)
    while not stop.is_set():
        serial = f"C{rng.randrange(200):05d}"
        try:
            answer = session.get(
                f"{network.url}/verify/gtin/{control['gtin']}/lot/{LOT}/ser/{serial}",
                params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": auditor["glns"][0]},
                headers={"Authorization": f"Bearer {auditor['token']}"},
                timeout=30,
            )
        except requests.RequestException as error:
            seen[type(error).__name__] += 1
            time.sleep(0.05)
            continue
        seen[str(answer.status_code)] += 1
        if answer.status_code == 200:
            if answer.json()["data"] != {"verified": True}:
                wrong.append(f"LMS {serial}: {answer.text}")
        elif answer.status_code not in TOLERATED_ERRORS:
            wrong.append(f"LMS {serial}: {answer.status_code} {answer.text[:200]}")
        time.sleep(0.02)


def run_with_fault(
    network: RunningNetwork, control: dict[str, Any], scenario: Scenario, fault: Callable[[RunningNetwork], None]
) -> dict[str, Any]:
    """Streams every batch once from CLIENTS threads, with the fault a third of the way in."""
    acknowledged = [0]
    lock = threading.Lock()
    fault_done = threading.Event()
    figures: dict[str, Any] = {"scenario": scenario.name, "packs": PACKS}

    def client(k: int) -> None:
        session = requests.Session()
        for batch in range(k, len(scenario.batches), CLIENTS):
            status, body = decommission(network, scenario, batch, session)
            scenario.first[batch] = (status, body)
            if status == 200:
                with lock:
                    acknowledged[0] += 1
            else:
                if not isinstance(status, int):
                    session = requests.Session()
                time.sleep(0.3)  # an outage: keep load going past the restart, not through it

    def faulter() -> None:
        deadline = time.monotonic() + 120
        while acknowledged[0] < FAULT_AT * len(scenario.batches) and time.monotonic() < deadline:
            time.sleep(0.01)
        killed = time.monotonic()
        fault(network)
        figures["restart_seconds"] = round(time.monotonic() - killed, 2)
        figures["ready_after_restart_seconds"] = round(wait_ready(network), 2)
        figures["fault_wall_time"] = time.time()
        fault_done.set()

    stop = threading.Event()
    lms_seen: Counter[str] = Counter()
    wrong: list[str] = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS + 2) as pool:
        lms = pool.submit(lms_client, network, control, stop, lms_seen, wrong)
        fault_future = pool.submit(faulter)
        for future in [pool.submit(client, k) for k in range(CLIENTS)]:
            future.result()
        fault_future.result()
        stop.set()
        lms.result()
    figures["load_seconds"] = round(time.monotonic() - started, 1)
    statuses = Counter(str(status) for status, _ in scenario.first.values())
    figures["first_attempts"] = dict(statuses)
    figures["lms"] = dict(lms_seen)
    FIGURES.append(figures)
    assert wrong == []
    assert len(scenario.first) == len(scenario.batches)
    for batch, (status, body) in scenario.first.items():
        assert status == 200 or status in TOLERATED_ERRORS or not isinstance(status, int), (
            f"batch {batch} of {scenario.name}: {status} {body[:300] if body else body}"
        )
        if status == 200:
            results = json.loads(body)["results"]
            assert [r["code"] for r in results] == ["OK"] * len(scenario.batches[batch]), body[:300]
    return figures


# -- what is stored -----------------------------------------------------------------------------


def stored_states(network: RunningNetwork, control: dict[str, Any], scenario: Scenario) -> dict[str, str]:
    """Each pack's state as EU FMD verify reports it."""
    auditor = network.client(control["auditor"]["token"])
    serials = [s for batch in scenario.batches for s in batch]
    states: dict[str, str] = {}
    for start in range(0, len(serials), 1000):
        packs = [{"gtin": scenario.gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in serials[start : start + 1000]]
        answer = until_answered(lambda: auditor.post("/v1/packs/verify", json={"packs": packs}))  # noqa: B023
        assert answer.status_code == 200, answer.text
        for result in answer.json()["results"]:
            states[result["serial"]] = result["state"]
    return states


def audit_entries(network: RunningNetwork, gtin: str) -> list[dict[str, Any]]:
    """The GTIN's audit chain, with every link recomputed here."""
    client = sync_redis(network.network.redis_url)
    try:
        entries: list[dict[str, Any]] = []
        previous = b""
        start = "-"
        while True:
            chunk = client.xrange(f"audit:{{{gtin}}}", min=start, count=5000)
            for entry_id, fields in chunk:
                if entry_id.decode() == start:
                    continue
                assert fields[b"prev"] == previous, f"broken link at {entry_id!r}"
                assert fields[b"hash"] == hashlib.sha1(previous + b"\n" + fields[b"entry"]).hexdigest().encode()
                previous = fields[b"hash"]
                entries.append(json.loads(fields[b"entry"]))
            if len(chunk) < 5000:
                break
            start = chunk[-1][0].decode()
        assert (client.get(f"audithead:{{{gtin}}}") or b"") == previous
        return entries
    finally:
        client.close()


def decommission_records(network: RunningNetwork, gtin: str, serials: list[str]) -> dict[str, bool]:
    client = sync_redis(network.network.redis_url)
    try:
        pipe = client.pipeline(transaction=False)
        for serial in serials:
            pipe.hexists(decommission_key(gtin, serial), serial)
        return dict(zip(serials, pipe.execute(), strict=True))
    finally:
        client.close()


def check_consistency(network: RunningNetwork, control: dict[str, Any], scenario: Scenario, *, converged: bool) -> dict[str, int]:
    """Every acknowledged pack is supplied; every pack is wholly supplied or wholly untouched."""
    states = stored_states(network, control, scenario)
    serials = [s for batch in scenario.batches for s in batch]
    entries = audit_entries(network, scenario.gtin)
    records = decommission_records(network, scenario.gtin, serials)
    decommissions = Counter(e["serial"] for e in entries if e["action"] == "decommission")
    assert all(e["action"] == "decommission" and (e["from"], e["to"]) == ("active", "supplied") for e in entries)
    by_serial = {e["serial"]: e for e in entries}
    batch_of = {s: b for b, batch in enumerate(scenario.batches) for s in batch}
    for serial, entry in by_serial.items():
        batch = batch_of[serial]
        assert entry["transaction_id"] == transaction_id(scenario, batch)
        assert entry["partner"] == scenario.partners[batch % CLIENTS]["id"]

    acknowledged: set[str] = set()
    for status, body in scenario.first.values():
        if status == 200:
            acknowledged |= acknowledged_serials(body)
    problems = []
    for serial in serials:
        state, audited, record = states[serial], decommissions[serial], records[serial]
        if serial in acknowledged and state != "supplied":
            problems.append(f"{serial}: acknowledged but {state}")
        if (state, audited, record) not in (("supplied", 1, True), ("active", 0, False)):
            problems.append(f"{serial}: half-applied: state {state}, {audited} audit entries, decommission record {record}")
        if converged and state != "supplied":
            problems.append(f"{serial}: still {state} after every retry converged")
    assert problems[:20] == []
    return {
        "acknowledged": len(acknowledged),
        "supplied": sum(1 for s in states.values() if s == "supplied"),
        "unacknowledged_but_applied": sum(1 for s in serials if states[s] == "supplied" and s not in acknowledged),
    }


def claim_ttl(network: RunningNetwork, scenario: Scenario, batch: int) -> int:
    """Seconds left on a transaction's pending claim (-2 when none, -1 when done forever)."""
    client = sync_redis(network.network.redis_url)
    try:
        key = f"txn:{scenario.partners[batch % CLIENTS]['id']}:{transaction_id(scenario, batch)}"
        value = client.get(key)
        if value is None:
            return -2
        return int(client.ttl(key)) if value.startswith(b"pending|") else -1
    finally:
        client.close()


def retry_until_converged(network: RunningNetwork, scenario: Scenario, batches: list[int], deadline: float) -> dict[int, tuple[Any, Any]]:
    """Retries each batch with its transaction_id until a 200 or the deadline."""

    def one(batch: int) -> tuple[Any, Any]:
        session = requests.Session()
        status: Any = None
        body: Any = None
        while time.monotonic() < deadline:
            status, body = decommission(network, scenario, batch, session, timeout=45)
            if status == 200:
                return status, body
            assert status in TOLERATED_ERRORS or not isinstance(status, int), f"{status} {body}"
            time.sleep(1)
        return status, body

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(zip(batches, pool.map(one, batches), strict=True))


def retry_now(network: RunningNetwork, control: dict[str, Any], scenario: Scenario, figures: dict[str, Any]) -> None:
    """Retries every unacknowledged batch whose transaction is not claimed; batches still
    claimed by a request the crash cut off are left to the last test."""
    failed = sorted(b for b, (status, _) in scenario.first.items() if status != 200)
    claims = {b: claim_ttl(network, scenario, b) for b in failed}
    assert all(ttl <= PENDING_CLAIM_SECONDS for ttl in claims.values())
    scenario.deferred = [b for b, ttl in claims.items() if ttl >= 0]
    now_batches = [b for b in failed if b not in scenario.deferred]
    figures["unacknowledged_batches"] = len(failed)
    figures["claimed_batches_deferred"] = len(scenario.deferred)
    retried = retry_until_converged(network, scenario, now_batches, time.monotonic() + 60)
    converge(scenario, retried)


def converge(scenario: Scenario, retried: dict[int, tuple[Any, Any]]) -> None:
    for batch, (status, body) in retried.items():
        assert status == 200, f"batch {batch} of {scenario.name} did not converge: {status} {body}"
        results = json.loads(body)["results"]
        assert all(r["ok"] for r in results), body[:500]
        # packs the cut-off attempt had applied answer as a repeat scan of the same till
        assert {r["code"] for r in results} <= {"OK", "NMVS_NC_PCK_30"}
        assert all(r.get("warning") for r in results if r["code"] == "NMVS_NC_PCK_30")
        scenario.first[batch] = (status, body)


def replay_is_identical(network: RunningNetwork, scenario: Scenario, sample: int = 3) -> None:
    """A retry of an acknowledged transaction gets the first answer, byte for byte."""
    session = requests.Session()
    acknowledged = [b for b, (status, _) in scenario.first.items() if status == 200]
    for batch in random.Random(1).sample(acknowledged, min(sample, len(acknowledged))):
        status, body = decommission(network, scenario, batch, session)
        assert (status, body) == scenario.first[batch]


# -- the scenarios ------------------------------------------------------------------------------


def scenario_test(network: RunningNetwork, control: dict[str, Any], name: str, fault: Callable[[RunningNetwork], None]) -> None:
    scenario = new_scenario(network, control, name)
    figures = run_with_fault(network, control, scenario, fault)
    figures["after_fault"] = check_consistency(network, control, scenario, converged=False)
    retry_now(network, control, scenario, figures)
    replay_is_identical(network, scenario)
    assert requests.get(network.url + "/readyz", timeout=10).status_code == 200
    if not scenario.deferred:
        figures["converged"] = check_consistency(network, control, scenario, converged=True)


def test_redis_killed_with_sigkill_mid_load_loses_no_acknowledged_decommission(network: RunningNetwork, control: dict[str, Any]) -> None:
    scenario_test(network, control, "redis", kill_redis)


def test_the_gateway_killed_mid_load_cuts_off_in_flight_requests_only_and_serves_again(network: RunningNetwork, control: dict[str, Any]) -> None:
    scenario_test(network, control, "gateway", kill_service("gateway"))


@pytest.mark.parametrize("service", ["verifier", "lookup", "recall-status"])
def test_a_service_killed_mid_load_corrupts_nothing_and_serves_again(network: RunningNetwork, control: dict[str, Any], service: str) -> None:
    scenario_test(network, control, service, kill_service(service))


def redis_down_answers(network: RunningNetwork, control: dict[str, Any]) -> dict[str, Any]:
    """Answers to a readiness probe, an LMS verify and a decommission while Redis is down."""
    auditor = control["auditor"]
    headers = {"Authorization": f"Bearer {auditor['token']}"}
    redis = network.network.redis
    assert redis is not None
    redis.kill()
    try:
        ready = requests.get(network.url + "/readyz", timeout=30)
        lms = requests.get(
            f"{network.url}/verify/gtin/{control['gtin']}/lot/{LOT}/ser/C00001",
            params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": auditor["glns"][0]},
            headers=headers,
            timeout=30,
        )
        packs = requests.post(
            network.url + "/v1/packs/verify",
            json={"packs": [{"gtin": control["gtin"], "serial": "C00001"}]},
            headers=headers,
            timeout=30,
        )
        return {"ready": ready.status_code, "lms": lms.status_code, "packs": packs.status_code, "packs_headers": dict(packs.headers)}
    finally:
        redis.start()
        wait_ready(network)


def test_while_redis_is_down_the_gateway_is_not_ready_and_serves_again_after_its_restart(network: RunningNetwork, control: dict[str, Any]) -> None:
    answers = redis_down_answers(network, control)
    assert answers["ready"] == 503
    assert answers["lms"] != 200 and answers["packs"] != 200
    auditor = network.client(control["auditor"]["token"])
    answer = until_answered(lambda: auditor.post("/v1/packs/verify", json={"packs": [{"gtin": control["gtin"], "serial": "C00001"}]}))
    assert answer.status_code == 200


def test_right_after_a_redis_restart_every_request_succeeds(network: RunningNetwork, control: dict[str, Any]) -> None:
    auditor = control["auditor"]
    body = {"packs": [{"gtin": control["gtin"], "serial": f"C{n:05d}"} for n in range(50)]}

    def verify(_: int) -> int:
        return requests.post(
            network.url + "/v1/packs/verify", json=body, headers={"Authorization": f"Bearer {auditor['token']}"}, timeout=30
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(verify, range(32))) == {200}  # the pools now hold several connections
        redis = network.network.redis
        assert redis is not None
        redis.kill()
        redis.start()
        statuses = Counter(pool.map(verify, range(64)))
    wait_ready(network)
    assert statuses == Counter({200: 64})


def test_while_redis_is_down_requests_answer_503_with_retry_after_not_500(network: RunningNetwork, control: dict[str, Any]) -> None:
    answers = redis_down_answers(network, control)
    assert (answers["lms"], answers["packs"]) == (503, 503)
    assert "Retry-After" in answers["packs_headers"]


def test_retries_of_transactions_cut_off_by_a_crash_converge_once_their_claim_expires(network: RunningNetwork, control: dict[str, Any]) -> None:
    deferred = [(s, b) for s in SCENARIOS.values() for b in s.deferred]
    if deferred:
        ttl = max(claim_ttl(network, s, b) for s, b in deferred)
        assert ttl <= PENDING_CLAIM_SECONDS
        # While the claim lasts a retry waits, then answers 504 (or 200 if the claim ran out).
        scenario, batch = deferred[0]
        status, _ = decommission(network, scenario, batch, requests.Session(), timeout=60)
        assert status in (200, 504)
        time.sleep(max(0, claim_ttl(network, scenario, batch)))
        for scenario in SCENARIOS.values():
            if scenario.deferred:
                ttl = max(claim_ttl(network, scenario, b) for b in scenario.deferred)
                time.sleep(max(0, ttl) + 0.5)
                converge(scenario, retry_until_converged(network, scenario, scenario.deferred, time.monotonic() + 90))
    for scenario in SCENARIOS.values():
        check_consistency(network, control, scenario, converged=True)
        replay_is_identical(network, scenario)
    verdict = until_answered(lambda: network.admin.post("/v1/audit/verify"))
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["ok"] is True, verdict.text[:1000]
