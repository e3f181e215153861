"""EU FMD pack operations end to end: verify, decommission, undo, alerts, idempotency, audit."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
from typing import Any

import pytest

from tests.conftest import gtin_under, sync_redis

REDIS_BACKENDS = ("standalone", "cluster")

LOT, EXPIRY = "B1", "301231"


@pytest.fixture(scope="module")
def world(network: Any) -> dict[str, Any]:
    _, mclient, gtin = network.add_product_with_packs([(f"P{n:05d}", LOT, EXPIRY) for n in range(3000)])
    _pharmacy, pclient = network.add_partner(["dispenser"])
    _other_pharmacy, oclient = network.add_partner(["dispenser"])
    wholesaler, wclient = network.add_partner(["wholesaler"])
    return {
        "gtin": gtin,
        "manufacturer": mclient,
        "pharmacy": pclient,
        "other_pharmacy": oclient,
        "wholesaler": wclient,
        "wholesaler_gln": wholesaler["glns"][0],
        "serials": iter(f"P{n:05d}" for n in range(3000)),
    }


def pack(world: dict[str, Any], serial: str | None = None) -> dict[str, str]:
    return {"gtin": world["gtin"], "serial": serial or next(world["serials"]), "lot": LOT, "expiry": EXPIRY}


def operate(client: Any, operation: str, packs: list[dict[str, str]], **extra: Any) -> Any:
    answer = client.post(f"/v1/packs/{operation}", json={"packs": packs, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def lms(world: dict[str, Any], serial: str) -> dict[str, Any]:
    answer = world["wholesaler"].get(
        f"/verify/gtin/{world['gtin']}/lot/{LOT}/ser/{serial}",
        params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": world["wholesaler_gln"]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_a_pharmacy_dispenses_a_pack_and_the_networks_see_it_inactive(world: dict[str, Any]) -> None:
    p = pack(world)
    assert operate(world["pharmacy"], "verify", [p])["results"][0]["code"] == "OK"
    result = operate(world["pharmacy"], "decommission", [p], state="supplied")["results"][0]
    assert (result["ok"], result["state"], result["code"]) == (True, "supplied", "OK")
    assert lms(world, p["serial"]) == {"verified": False, "verificationFailureReason": "Not_for_re-distribution"}
    again = operate(world["wholesaler"], "verify", [p])["results"][0]
    assert (again["ok"], again["state"]) == (False, "supplied")


def test_dispensing_a_pack_twice_elsewhere_raises_an_alert_only_the_parties_see(world: dict[str, Any], network: Any) -> None:
    p = pack(world)
    operate(world["pharmacy"], "decommission", [p], state="supplied")
    second = operate(world["other_pharmacy"], "decommission", [p], state="supplied")["results"][0]
    assert (second["ok"], second["code"]) == (False, "NMVS_NC_PCK_22")
    alert_id = second["alert_id"]
    for viewer in ("other_pharmacy", "manufacturer"):
        listed = world[viewer].get("/v1/alerts", params={"gtin": world["gtin"], "code": "NMVS_NC_PCK_22"}).json()["alerts"]
        assert alert_id in {a["id"] for a in listed}
    outsider = world["pharmacy"].get("/v1/alerts").json()["alerts"]
    assert alert_id not in {a["id"] for a in outsider}
    assert world["pharmacy"].post(f"/v1/alerts/{alert_id}/close", json={"reason": "x"}).status_code == 404
    closed = world["manufacturer"].post(f"/v1/alerts/{alert_id}/close", json={"reason": "06b End User - technical error"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert network.admin.get("/v1/alerts", params={"status": "closed"}).status_code == 200


def test_a_repeated_scan_at_the_same_till_is_a_warning_not_an_alert(world: dict[str, Any]) -> None:
    p = pack(world)
    operate(world["pharmacy"], "decommission", [p], state="supplied")
    repeat = operate(world["pharmacy"], "decommission", [p], state="supplied")["results"][0]
    assert repeat["warning"] is True
    assert "alert_id" not in repeat


def test_an_unknown_serial_raises_the_a3_alert_that_the_manufacturer_sees(world: dict[str, Any]) -> None:
    result = operate(world["pharmacy"], "verify", [pack(world, "NOT-THERE")])["results"][0]
    assert (result["ok"], result["code"]) == (False, "NMVS_NC_PC_02")
    assert result["alert_id"]
    seen = world["manufacturer"].get("/v1/alerts", params={"code": "NMVS_NC_PC_02"}).json()["alerts"]
    assert result["alert_id"] in {a["id"] for a in seen}


def test_undo_works_for_the_same_pharmacy_and_is_refused_to_another(world: dict[str, Any]) -> None:
    p = pack(world)
    operate(world["pharmacy"], "decommission", [p], state="supplied")
    refused = operate(world["other_pharmacy"], "reactivate", [p])["results"][0]
    assert (refused["ok"], refused["code"]) == (False, "NMVS_NC_PCK_21")
    undone = operate(world["pharmacy"], "reactivate", [p])["results"][0]
    assert (undone["ok"], undone["state"]) == (True, "active")
    assert lms(world, p["serial"]) == {"verified": True}


def test_a_wholesaler_reports_a_stolen_pack_and_lms_answers_suspect(world: dict[str, Any]) -> None:
    p = pack(world)
    assert operate(world["wholesaler"], "decommission", [p], state="stolen")["results"][0]["ok"]
    assert lms(world, p["serial"]) == {
        "verified": False,
        "verificationFailureReason": "Not_for_re-distribution",
        "additionalInfo": "Suspect",
    }
    refused = operate(world["wholesaler"], "reactivate", [p])["results"][0]
    assert (refused["ok"], refused["code"]) == (False, "NMVS_NC_PCK_06")


def test_a_pharmacy_may_not_set_states_reserved_to_wholesalers(world: dict[str, Any]) -> None:
    p = pack(world)
    result = operate(world["pharmacy"], "decommission", [p], state="exported")["results"][0]
    assert (result["ok"], result["code"]) == (False, "VERINET_ROLE_STATE")
    assert lms(world, p["serial"]) == {"verified": True}


DECOMMISSION_TARGETS = ("supplied", "destroyed", "stolen", "sample", "free_sample", "exported", "locked", "checked_out")


def test_any_partner_reads_the_role_matrix_and_the_verifier_enforces_exactly_it(network: Any, world: dict[str, Any]) -> None:
    """The console offers the states this table lists: each listed one is accepted, the others refused."""
    _, networker = network.add_partner(["network"])
    tables = [client.get("/v1/packs/roles") for client in (world["pharmacy"], world["manufacturer"], networker, network.admin)]
    assert [answer.status_code for answer in tables] == [200, 200, 200, 200]
    assert all(answer.json() == tables[0].json() for answer in tables)
    matrix = tables[0].json()["roles"]
    assert sorted(matrix) == ["admin", "dispenser", "manufacturer", "network", "wholesaler"]
    assert matrix["admin"] == {"operations": [], "states": []}
    assert matrix["network"] == {"operations": ["verify"], "states": []}
    assert matrix["dispenser"]["operations"] == ["verify", "decommission", "reactivate"]
    for state in DECOMMISSION_TARGETS:
        result = operate(world["pharmacy"], "decommission", [pack(world)], state=state)["results"][0]
        if state in matrix["dispenser"]["states"]:
            assert result["ok"], (state, result)
        else:
            assert (result["ok"], result["code"]) == (False, "VERINET_ROLE_STATE"), state
    assert network.client(None).get("/v1/packs/roles").status_code == 401


@pytest.mark.parametrize("role", ["admin", "network"])
def test_admins_and_networks_may_not_operate_on_packs(network: Any, world: dict[str, Any], role: str) -> None:
    client = network.admin if role == "admin" else network.add_partner([role])[1]
    for operation in ("verify", "decommission", "reactivate"):
        answer = client.post(f"/v1/packs/{operation}", json={"packs": [pack(world)], "state": "supplied"})
        assert answer.status_code == 403


def test_a_bulk_request_of_1000_mixed_packs_gets_1000_precise_results(world: dict[str, Any]) -> None:
    packs: list[dict[str, Any]] = []
    for n in range(1000):
        if n % 4 == 0:
            packs.append(pack(world, f"UNKNOWN{n}"))
        elif n % 4 == 1:
            packs.append({"gtin": world["gtin"], "serial": "bad serial"})
        elif n % 4 == 2:
            packs.append({**pack(world), "lot": "WRONG"})
        else:
            packs.append(pack(world))
    body = operate(world["wholesaler"], "decommission", packs, state="supplied")
    results = body["results"]
    assert [r["index"] for r in results] == list(range(1000))
    codes = [r["code"] for r in results]
    assert codes[0::4] == ["NMVS_NC_PC_02"] * 250
    assert all(c.startswith("value.") for c in codes[1::4])
    assert codes[2::4] == ["NMVS_FE_LOT_13"] * 250
    assert codes[3::4] == ["OK"] * 250
    assert body["ok"] == 250


def test_more_than_1000_packs_is_a_400(world: dict[str, Any]) -> None:
    answer = world["wholesaler"].post("/v1/packs/verify", json={"packs": [pack(world, "X")] * 1001})
    assert answer.status_code == 400
    assert answer.json()["code"] == "packs.too_many"


def test_an_unknown_target_state_is_a_400(world: dict[str, Any]) -> None:
    answer = world["wholesaler"].post("/v1/packs/decommission", json={"packs": [pack(world)], "state": "vanished"})
    assert answer.status_code == 400
    assert answer.json()["field"] == "state"


def test_a_repeated_transaction_id_returns_the_first_answer_and_changes_state_once(world: dict[str, Any]) -> None:
    p = pack(world)
    body = {"packs": [p], "state": "supplied", "transaction_id": "tx-seq-1"}
    first = world["pharmacy"].post("/v1/packs/decommission", json=body)
    second = world["pharmacy"].post("/v1/packs/decommission", json=body)
    assert first.content == second.content
    assert first.json()["results"][0]["code"] == "OK"
    reused = world["pharmacy"].post("/v1/packs/decommission", json={**body, "state": "destroyed"})
    assert reused.status_code == 409


def test_concurrent_duplicates_change_state_once(world: dict[str, Any]) -> None:
    packs = [pack(world) for _ in range(50)]
    body = {"packs": packs, "state": "supplied", "transaction_id": "tx-concurrent-1"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: world["wholesaler"].post("/v1/packs/decommission", json=body), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["ok"] == 50


def test_concurrent_dispenses_of_one_pack_without_transaction_ids_succeed_once(world: dict[str, Any]) -> None:
    p = pack(world)
    clients = [world["pharmacy"], world["other_pharmacy"]] * 4
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: operate(c, "decommission", [p], state="supplied"), clients))
    oks = [a["results"][0] for a in answers if a["results"][0]["code"] == "OK"]
    assert len(oks) == 1


def test_a_dispensed_pack_whose_lot_is_then_recalled_stays_not_for_redistribution(world: dict[str, Any]) -> None:
    gtin, maker = world["gtin"], world["manufacturer"]
    dispensed, held = ({"gtin": gtin, "serial": f"DRC{n}", "lot": "DRC", "expiry": EXPIRY} for n in range(2))
    assert maker.post("/v1/packs/commission", json={"packs": [dispensed, held]}).json()["stored"] == 2
    assert operate(world["pharmacy"], "decommission", [dispensed], state="supplied")["results"][0]["ok"]
    recall = {"gtins": [gtin], "lots": ["DRC"], "class": "II", "reason": "stability"}
    assert maker.post("/v1/recalls", json=recall).status_code == 201

    answer = world["wholesaler"].get(
        f"/verify/gtin/{gtin}/lot/DRC/ser/{dispensed['serial']}",
        params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": world["wholesaler_gln"]},
    ).json()["data"]
    assert answer == {"verified": False, "verificationFailureReason": "Not_for_re-distribution", "additionalInfo": "Recalled"}
    fmd = operate(world["wholesaler"], "verify", [dispensed])["results"][0]
    assert (fmd["ok"], fmd["state"], fmd["batch_status"], fmd["code"]) == (False, "supplied", "recalled", "VERINET_PACK_INACTIVE")
    again = operate(world["other_pharmacy"], "decommission", [dispensed], state="supplied")["results"][0]
    assert (again["code"], "alert_id" in again) == ("NMVS_NC_PCK_22", True)

    refused = operate(world["wholesaler"], "decommission", [held], state="supplied")["results"][0]
    assert (refused["ok"], refused["state"], refused["batch_status"], refused["code"]) == (False, "active", "recalled", "NMVS_FE_LOT_01")
    destroyed = operate(world["wholesaler"], "decommission", [held], state="destroyed")["results"][0]
    assert (destroyed["ok"], destroyed["state"], destroyed["batch_status"]) == (True, "destroyed", "recalled")


def test_a_scan_whose_serial_hides_in_the_lot_says_that_a_gs_separator_is_missing(world: dict[str, Any]) -> None:
    serial = next(world["serials"])
    scan = f"]d201{world['gtin']}17{EXPIRY}\u001d10{LOT}21{serial}"
    result = operate(world["pharmacy"], "verify", [{"scan": scan}])["results"][0]
    assert (result["ok"], result["code"]) == (False, "pack.incomplete")
    assert "no GTIN (01) and serial (21)" in result["message"]
    assert f"separator after (10) seems to be missing: '{LOT}' followed by (21) '{serial}'" in result["message"]


def test_a_withdrawn_product_verifies_as_recalled_and_cannot_be_supplied(network: Any) -> None:
    manufacturer, mclient = network.add_partner(["manufacturer"])
    _, pclient = network.add_partner(["dispenser"])
    prefix = manufacturer["company_prefixes"][0]
    gtin = gtin_under(prefix, 2)
    mclient.put(f"/v1/products/{gtin}", json={})
    mclient.post("/v1/packs/commission", json={"packs": [{"gtin": gtin, "serial": "W1", "lot": LOT, "expiry": EXPIRY}]})
    unconfirmed = mclient.post(f"/v1/products/{gtin}/withdraw", json={"reason": "quality"})
    assert unconfirmed.status_code == 400
    assert pclient.post(f"/v1/products/{gtin}/withdraw", json={"confirm": gtin, "reason": "x"}).status_code == 403
    done = mclient.post(f"/v1/products/{gtin}/withdraw", json={"confirm": gtin, "reason": "quality"})
    assert done.status_code == 200
    assert mclient.post(f"/v1/products/{gtin}/withdraw", json={"confirm": gtin, "reason": "again"}).status_code == 409
    result = operate(pclient, "decommission", [{"gtin": gtin, "serial": "W1", "lot": LOT, "expiry": EXPIRY}], state="supplied")["results"][0]
    assert (result["ok"], result["state"], result["batch_status"], result["code"]) == (False, "active", "withdrawn", "NMVS_FE_LOT_08")
    assert "alert_id" not in result


def test_every_state_change_is_on_a_hash_chained_audit_stream(network: Any, world: dict[str, Any]) -> None:
    p = pack(world)
    operate(world["pharmacy"], "decommission", [p], state="supplied")
    operate(world["pharmacy"], "reactivate", [p])
    client = sync_redis(network.network.redis_url)
    entries = client.xrange(f"audit:{{{world['gtin']}}}")
    previous = b""
    for _, fields in entries:
        assert fields[b"prev"] == previous
        expected = hashlib.sha1(previous + b"\n" + fields[b"entry"]).hexdigest().encode()
        assert fields[b"hash"] == expected
        previous = fields[b"hash"]
    mine = [json.loads(f[b"entry"]) for _, f in entries if json.loads(f[b"entry"])["serial"] == p["serial"]]
    assert [(e["action"], e["from"], e["to"]) for e in mine] == [
        ("decommission", "active", "supplied"),
        ("reactivate", "supplied", "active"),
    ]
    assert all(e["partner"] and e["location"] and e["at"] for e in mine)


def test_a_bulk_verify_answers_each_pack_exactly_as_a_verify_of_that_pack_alone(world: dict[str, Any]) -> None:
    gtin, maker = world["gtin"], world["manufacturer"]
    old = [{"gtin": gtin, "serial": f"OLD{n}", "lot": "OLD", "expiry": "200131"} for n in range(2)]
    recalled = [{"gtin": gtin, "serial": f"RCL{n}", "lot": "RCL", "expiry": EXPIRY} for n in range(2)]
    assert maker.post("/v1/packs/commission", json={"packs": old + recalled}).json()["stored"] == 4
    recall = {"gtins": [gtin], "lots": ["RCL"], "class": "II", "reason": "stability"}
    assert maker.post("/v1/recalls", json=recall).status_code == 201
    supplied = [pack(world) for _ in range(2)]
    operate(world["pharmacy"], "decommission", supplied, state="supplied")
    valid = [pack(world) for _ in range(3)]
    packs: list[Any] = [
        *valid,
        pack(world, "NEVER1"),
        {**pack(world), "lot": "WRONG"},
        {**pack(world), "expiry": "301130"},
        {**pack(world), "expiry": "301200"},  # day 00 is the end of the month: matches
        {"gtin": gtin, "serial": next(world["serials"])},  # lot and expiry left out
        *old,
        *supplied,
        *recalled,
        {"gtin": gtin, "serial": "bad serial"},
        {"gtin": "12345", "serial": "S1"},
        "not a pack",
        {"scan": f"(01){gtin}(17){EXPIRY}(10){LOT}(21){next(world['serials'])}"},
        valid[0],  # twice in one request
    ]
    bulk = operate(world["wholesaler"], "verify", packs)
    alone = [operate(world["wholesaler"], "verify", [p])["results"][0] for p in packs]

    def as_if_alone(result: dict[str, Any]) -> dict[str, Any]:
        index = result["index"]
        text = json.dumps({**result, "index": 0}).replace(f"packs[{index}]", "packs[0]").replace(f"pack {index}", "pack 0")
        answer = json.loads(text)
        if "alert_id" in answer:
            answer["alert_id"] = "an alert"
        return answer

    assert [as_if_alone(r) for r in bulk["results"]] == [as_if_alone(r) for r in alone]
    codes = {r["code"] for r in bulk["results"]}
    assert {"OK", "NMVS_NC_PC_02", "NMVS_FE_LOT_13", "NMVS_FE_LOT_12", "NMVS_NC_PCK_02", "VERINET_PACK_INACTIVE", "NMVS_FE_LOT_01"} <= codes
    assert "NMVS_NC_PCK_30" not in codes  # only a repeated decommission says that
    assert bulk["ok"] == sum(r["ok"] for r in alone) == 7


def test_a_bulk_decommission_changes_and_audits_each_pack_once_even_when_listed_twice(network: Any, world: dict[str, Any]) -> None:
    packs = [pack(world) for _ in range(600)]  # more than one script call's chunk
    body = operate(world["wholesaler"], "decommission", [*packs, packs[0]], state="supplied")
    twice = [(r["ok"], r["code"], r["state"], r.get("warning", False)) for r in (body["results"][0], body["results"][600])]
    # Which of the two goes first is up to Redis Cluster, whose script calls run concurrently.
    assert sorted(twice) == [(True, "NMVS_NC_PCK_30", "supplied", True), (True, "OK", "supplied", False)]
    assert body["ok"] == 601
    client = sync_redis(network.network.redis_url)
    entries = [(fields, json.loads(fields[b"entry"])) for _, fields in client.xrange(f"audit:{{{world['gtin']}}}")]
    serials = {p["serial"] for p in packs}
    mine = [entry["serial"] for _, entry in entries if entry["serial"] in serials]
    assert sorted(mine) == sorted(serials)
    previous = b""
    for fields, _ in entries:
        assert fields[b"prev"] == previous
        assert fields[b"hash"] == hashlib.sha1(previous + b"\n" + fields[b"entry"]).hexdigest().encode()
        previous = fields[b"hash"]
    assert client.get(f"audithead:{{{world['gtin']}}}") == previous
