"""Chaos: under a steady load of decommissions and LMS checks, SIGKILL the embedded Redis and
each service of a real ``verinet up`` in turn. Nobody restarts anything: the network must
answer again within RECOVERY_SECONDS of each kill, and every decommission answered 200 ok must
still be decommissioned at the end.

Requests cut off by a kill may fail (a connection error, 502, 503 or 504); none may answer
wrongly: every 200 carries a result for each of its packs, and every LMS 200 says what is true.
The figures (recovery per killed process, answers by status) are printed as one JSON line for
bench/RESULTS.md (run with ``-s``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Client
from tests.verinet_up import VerinetUp
from verinet.embedded_redis import free_port
from verinet.network import with_check_digit

#: The order of the kills: Redis first, the gateway last.
VICTIMS = ("redis", "recall-status", "lookup", "verifier", "gateway")
RECOVERY_SECONDS = 30.0
LOAD_BETWEEN_KILLS_SECONDS = 2.0
DECOMMISSIONERS = 3
LMS_CLIENTS = 2
BATCH = 5
PACKS = 6_000
CONTROL_PACKS = 200
LOT, EXPIRY = "CHAOS1", "301231"
#: What a request cut off by a crash may answer (besides a connection error).
CUT_OFF = {502, 503, 504}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[VerinetUp]:
    network = VerinetUp(tmp_path / "var", free_port()).start()
    try:
        yield network
    finally:
        assert network.stop() == 0, network.stderr()[-3000:]


@dataclass
class Load:
    """The clients' shared record of what they sent and what they were told."""

    url: str
    gtin: str
    control_gtin: str
    decommissioners: list[dict[str, Any]]
    auditor: dict[str, Any]
    serials: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: set[str] = field(default_factory=set)
    decommission_answers: Counter[str] = field(default_factory=Counter)
    lms_answers: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def decommission(self, k: int) -> None:
        """Decommissions its share of the packs, BATCH at a time, each with its own
        transaction_id, until stopped or out of packs."""
        session = requests.Session()
        partner = self.decommissioners[k]
        mine = self.serials[k :: len(self.decommissioners)]
        for n, start in enumerate(range(0, len(mine), BATCH)):
            if self.stop.is_set():
                return
            batch = mine[start : start + BATCH]
            body = {
                "state": "supplied",
                "transaction_id": f"chaos-{k}-{n}",
                "packs": [{"gtin": self.gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in batch],
            }
            answer = self.attempt(
                self.decommission_answers,
                partial(
                    session.post,
                    self.url + "/v1/packs/decommission",
                    json=body,
                    headers={"Authorization": f"Bearer {partner['token']}"},
                    timeout=30,
                ),
            )
            if answer is None:
                session = requests.Session()
                continue
            if answer.status_code == 200:
                results = answer.json()["results"]
                if [r["serial"] for r in results] != batch or not all(r["ok"] for r in results):
                    self.wrong.append(f"decommission {batch}: {answer.text[:300]}")
                with self.lock:
                    self.acknowledged.update(r["serial"] for r in results if r["ok"])
            elif answer.status_code in CUT_OFF:
                time.sleep(0.2)
            else:
                self.wrong.append(f"decommission {batch}: {answer.status_code} {answer.text[:300]}")
            time.sleep(0.05)

    def check(self, seed: int) -> None:
        """Verifies active control packs (LMS) until stopped."""
        session = requests.Session()
        rng = random.Random(seed)
        while not self.stop.is_set():
            serial = f"K{rng.randrange(CONTROL_PACKS):05d}"
            answer = self.attempt(self.lms_answers, partial(self.verify, session, serial))
            if answer is None:
                session = requests.Session()
                continue
            if answer.status_code == 200:
                if answer.json()["data"] != {"verified": True}:
                    self.wrong.append(f"LMS {serial}: {answer.text[:300]}")
            elif answer.status_code not in CUT_OFF:
                self.wrong.append(f"LMS {serial}: {answer.status_code} {answer.text[:300]}")
            time.sleep(0.05)

    def verify(self, session: requests.Session, serial: str) -> requests.Response:
        return session.get(
            f"{self.url}/verify/gtin/{self.control_gtin}/lot/{LOT}/ser/{serial}",
            params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": self.auditor["glns"][0]},
            headers={"Authorization": f"Bearer {self.auditor['token']}"},
            timeout=10,
        )

    def attempt(self, answers: Counter[str], send: Callable[[], requests.Response]) -> requests.Response | None:
        """One request under the kills, its status or the error that cut it off tallied in
        ``answers``; None, after a pause, when no answer came (the caller opens a new session)."""
        try:
            answer = send()
        except requests.RequestException as error:
            self.note(answers, type(error).__name__)
            time.sleep(0.2)
            return None
        self.note(answers, str(answer.status_code))
        return answer

    def note(self, counter: Counter[str], outcome: str) -> None:
        with self.lock:
            counter[outcome] += 1


def prepare(up: VerinetUp) -> tuple[Load, Client]:
    """A manufacturer with a product to decommission and one whose packs stay active, the
    partners that decommission, and an auditor that checks."""
    admin = Client(up.url, up.info["admin_token"])

    def partner(n: int, roles: list[str], **extra: Any) -> dict[str, Any]:
        body = {"name": f"chaos {roles[0]} {n}", "roles": roles, "glns": [with_check_digit(f"06{n:05d}00001")], **extra}
        answer = admin.post("/v1/partners", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    prefix = "0812345"
    manufacturer = partner(0, ["manufacturer"], company_prefixes=[prefix])
    mclient = Client(up.url, manufacturer["token"])
    gtin, control_gtin = (with_check_digit("0" + prefix + f"{n:05d}") for n in (1, 2))
    serials = [f"X{n:06d}" for n in range(PACKS)]
    for product, numbers in ((gtin, serials), (control_gtin, [f"K{n:05d}" for n in range(CONTROL_PACKS)])):
        assert mclient.put(f"/v1/products/{product}", json={"name": "chaos"}).status_code == 201
        for start in range(0, len(numbers), 10_000):
            packs = [{"gtin": product, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in numbers[start : start + 10_000]]
            answer = mclient.post("/v1/packs/commission", json={"packs": packs})
            assert answer.status_code == 200 and answer.json()["stored"] == len(packs), answer.text[:500]
    decommissioners = [partner(1 + k, ["dispenser" if k % 2 else "wholesaler"]) for k in range(DECOMMISSIONERS)]
    auditor = partner(1 + DECOMMISSIONERS, ["wholesaler"])
    return Load(up.url, gtin, control_gtin, decommissioners, auditor, serials), mclient


def wait_answering(up: VerinetUp, load: Load, deadline: float) -> None:
    """Until the gateway is ready and an LMS check answers 200 (verified), or the deadline."""
    session = requests.Session()
    while time.monotonic() < deadline:
        try:
            if requests.get(up.url + "/readyz", timeout=2).status_code == 200 and load.verify(session, "K00000").status_code == 200:
                return
        except requests.RequestException:
            session = requests.Session()
        time.sleep(0.05)


def stored_states(mclient: Client, gtin: str, serials: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for start in range(0, len(serials), 1000):
        packs = [{"gtin": gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in serials[start : start + 1000]]
        answer = mclient.post("/v1/packs/verify", json={"packs": packs})
        assert answer.status_code == 200, answer.text[:500]
        states.update((r["serial"], r["state"]) for r in answer.json()["results"])
    return states


def test_every_process_killed_in_turn_under_load_comes_back_within_30_s_and_no_acknowledged_decommission_is_lost(up: VerinetUp) -> None:
    load, mclient = prepare(up)
    recovery: dict[str, float] = {}
    acknowledged_at_kill: dict[str, int] = {}
    threads = [threading.Thread(target=load.decommission, args=(k,)) for k in range(DECOMMISSIONERS)]
    threads += [threading.Thread(target=load.check, args=(k,)) for k in range(LMS_CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for victim in VICTIMS:
            time.sleep(LOAD_BETWEEN_KILLS_SECONDS)
            acknowledged_at_kill[victim] = len(load.acknowledged)
            killed_at = time.monotonic()
            old_pid = up.kill(victim)
            up.wait_restarted(victim, old_pid, timeout=RECOVERY_SECONDS)
            wait_answering(up, load, killed_at + RECOVERY_SECONDS)
            recovery[victim] = round(time.monotonic() - killed_at, 2)
            assert recovery[victim] < RECOVERY_SECONDS, f"{victim}: the network did not answer again within {RECOVERY_SECONDS}s"
        time.sleep(LOAD_BETWEEN_KILLS_SECONDS)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(60)
    load_seconds = round(time.monotonic() - started, 1)

    states = stored_states(mclient, load.gtin, load.serials)
    lost = sorted(s for s in load.acknowledged if states[s] != "supplied")
    figures = {
        "recovery_seconds": recovery,
        "load_seconds": load_seconds,
        "decommission_answers": dict(load.decommission_answers),
        "lms_answers": dict(load.lms_answers),
        "acknowledged_packs": len(load.acknowledged),
        "acknowledged_before_each_kill": acknowledged_at_kill,
        "supplied_packs": sum(1 for state in states.values() if state == "supplied"),
        "lost_acknowledged": len(lost),
    }
    print("chaos figures:", json.dumps(figures))
    assert lost[:20] == []
    assert load.wrong[:20] == []
    # the load went on through every kill: decommissions were acknowledged after the last one
    assert len(load.acknowledged) > acknowledged_at_kill["gateway"] > acknowledged_at_kill["redis"] > 0
    restarted = [e["child"] for e in up.log_entries() if e["message"].endswith("restarted")]
    assert sorted(restarted) == sorted(VICTIMS)
