"""Partners, products and commissioning through the gateway, with their authorization rules."""

from __future__ import annotations

from typing import Any

import pytest

from verinet.gateway.api import COMMISSION_CHUNK
from verinet.network import with_check_digit


def gtin_under(prefix: str, item: int = 1) -> str:
    return with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))


def test_an_admin_creates_a_partner_whose_token_works_at_once(network: Any) -> None:
    created, client = network.add_partner(["dispenser"])
    assert created["token"].startswith("vn_")
    me = client.get("/v1/partners/me")
    assert me.status_code == 200
    assert me.json()["id"] == created["id"]
    assert "token" not in me.json()


def test_the_partner_list_never_shows_tokens(network: Any) -> None:
    created, _ = network.add_partner(["wholesaler"])
    listing = network.admin.get("/v1/partners")
    assert listing.status_code == 200
    assert created["id"] in {p["id"] for p in listing.json()["partners"]}
    assert created["token"] not in listing.text


@pytest.mark.parametrize("role", ["manufacturer", "wholesaler", "dispenser", "network"])
def test_only_an_admin_may_create_list_or_revoke_partners(network: Any, role: str) -> None:
    created, client = network.add_partner([role])
    assert client.post("/v1/partners", json={"name": "x", "roles": ["admin"]}).status_code == 403
    assert client.get("/v1/partners").status_code == 403
    assert client.post(f"/v1/partners/{created['id']}/revoke").status_code == 403


@pytest.mark.parametrize("role", ["wholesaler", "dispenser", "network", "admin"])
def test_only_a_manufacturer_may_register_products_or_commission(network: Any, role: str) -> None:
    client = network.admin if role == "admin" else network.add_partner([role])[1]
    gtin = gtin_under("0614141")
    assert client.put(f"/v1/products/{gtin}", json={}).status_code == 403
    pack = {"gtin": gtin, "serial": "S1", "lot": "L1", "expiry": "290101"}
    assert client.post("/v1/packs/commission", json={"packs": [pack]}).status_code == 403


def test_a_revoked_token_gets_401(network: Any) -> None:
    created, client = network.add_partner(["wholesaler"])
    assert client.get("/v1/partners/me").status_code == 200
    revoked = network.admin.post(f"/v1/partners/{created['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    answer = client.get("/v1/partners/me")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "auth.token"


def test_partner_input_is_validated_with_a_code_per_field(network: Any) -> None:
    answer = network.admin.post("/v1/partners", json={"name": "x", "roles": ["pirate"]})
    assert answer.status_code == 400
    assert answer.json()["code"] == "partner.role"
    answer = network.admin.post("/v1/partners", json={"name": "x", "roles": ["wholesaler"], "glns": ["1234567890123"]})
    assert answer.status_code == 400
    assert (answer.json()["field"], answer.json()["code"]) == ("glns[0]", "gln.check_digit")
    answer = network.admin.post("/v1/partners", json={"name": "x", "roles": ["manufacturer"]})
    assert answer.status_code == 400
    assert answer.json()["code"] == "partner.prefixes"


def test_a_manufacturer_cannot_register_a_gtin_outside_its_prefixes(network: Any) -> None:
    _manufacturer, client = network.add_partner(["manufacturer"])
    other, _ = network.add_partner(["manufacturer"])
    answer = client.put(f"/v1/products/{gtin_under(other['company_prefixes'][0])}", json={})
    assert answer.status_code == 403
    assert answer.json()["code"] == "product.foreign_prefix"


def test_a_manufacturer_cannot_commission_a_gtin_outside_its_prefixes(network: Any) -> None:
    _, client = network.add_partner(["manufacturer"])
    other, other_client = network.add_partner(["manufacturer"])
    foreign = gtin_under(other["company_prefixes"][0])
    assert other_client.put(f"/v1/products/{foreign}", json={}).status_code == 201
    pack = {"gtin": foreign, "serial": "S1", "lot": "L1", "expiry": "290101"}
    answer = client.post("/v1/packs/commission", json={"packs": [pack]})
    assert answer.status_code == 403


def test_commissioning_is_idempotent_and_refuses_conflicts_per_pack(network: Any) -> None:
    manufacturer, client = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    assert client.put(f"/v1/products/{gtin}", json={"name": "P"}).status_code == 201
    assert client.put(f"/v1/products/{gtin}", json={"name": "P"}).status_code == 200
    packs = [{"gtin": gtin, "serial": f"S{n}", "lot": "L1", "expiry": "290101"} for n in range(5)]
    first = client.post("/v1/packs/commission", json={"packs": packs}).json()
    assert (first["stored"], first["unchanged"], first["refused"]) == (5, 0, 0)
    again = client.post("/v1/packs/commission", json={"packs": packs}).json()
    assert (again["stored"], again["unchanged"], again["refused"]) == (0, 5, 0)
    conflicting = [
        {"gtin": gtin, "serial": "S1", "lot": "L2", "expiry": "290101"},
        {"gtin": gtin, "serial": "S9", "lot": "L1", "expiry": "290101"},
    ]
    answer = client.post("/v1/packs/commission", json={"packs": conflicting}).json()
    assert (answer["stored"], answer["unchanged"], answer["refused"]) == (1, 0, 1)
    error = answer["errors"][0]
    assert error["index"] == 0
    assert error["code"] == "pack.conflict"
    assert "'L1'" in error["message"] and "'L2'" in error["message"]


def test_an_upload_of_many_chunks_stored_concurrently_decides_repeated_packs_in_line_order(network: Any) -> None:
    manufacturer, client = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0], 3)
    client.put(f"/v1/products/{gtin}", json={})
    count = 3 * COMMISSION_CHUNK + 7  # more chunks than are stored at once
    packs = [{"gtin": gtin, "serial": f"M{n}", "lot": "L1", "expiry": "290101"} for n in range(count)]
    # Repeats far apart land in different chunks: the first line of a pack wins, later lines
    # naming it are unchanged (same data) or conflicts with the first line's lot.
    packs.append({"gtin": gtin, "serial": "M5", "lot": "L2", "expiry": "290101"})
    packs.append({"gtin": gtin, "serial": "M6", "lot": "L1", "expiry": "290101"})
    packs.insert(0, {"gtin": gtin, "serial": f"M{count - 1}", "lot": "L3", "expiry": "290101"})
    packs.append({"gtin": gtin, "serial": "M5", "lot": "L1", "expiry": "290101"})
    answer = client.post("/v1/packs/commission", json={"packs": packs}).json()
    assert (answer["stored"], answer["unchanged"], answer["refused"]) == (count, 2, 2)
    assert [(e["index"], e["serial"], e["code"]) for e in answer["errors"]] == [
        (count, f"M{count - 1}", "pack.conflict"),  # the first line (index 0) said lot L3
        (count + 1, "M5", "pack.conflict"),
    ]
    assert "'L3'" in answer["errors"][0]["message"]


def test_a_bad_pack_is_refused_alone_with_its_field(network: Any) -> None:
    manufacturer, client = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    client.put(f"/v1/products/{gtin}", json={})
    packs = [
        {"gtin": gtin, "serial": "OK1", "lot": "L1", "expiry": "290101"},
        {"gtin": gtin, "serial": "BAD SERIAL", "lot": "L1", "expiry": "290101"},
        {"gtin": gtin, "serial": "OK2", "lot": "L1", "expiry": "291301"},
        {"gtin": gtin, "serial": "OK3"},
    ]
    answer = client.post("/v1/packs/commission", json={"packs": packs}).json()
    assert answer["stored"] == 1
    assert [e["index"] for e in answer["errors"]] == [1, 2, 3]
    assert all(e["field"].startswith(f"packs[{e['index']}]") for e in answer["errors"])


def test_commissioning_an_unregistered_product_is_refused_per_pack(network: Any) -> None:
    manufacturer, client = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0], 7)
    pack = {"gtin": gtin, "serial": "S1", "lot": "L1", "expiry": "290101"}
    answer = client.post("/v1/packs/commission", json={"packs": [pack]}).json()
    assert answer["refused"] == 1
    assert answer["errors"][0]["code"] == "product.not_registered"


def test_commissioning_accepts_ndjson_uploads(network: Any) -> None:
    manufacturer, client = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    client.put(f"/v1/products/{gtin}", json={})
    lines = "\n".join(
        f'{{"gtin": "{gtin}", "serial": "N{n}", "lot": "L1", "expiry": "290100"}}' for n in range(300)
    )
    answer = client.post(
        "/v1/packs/commission", data=lines, headers={"Content-Type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 300


def test_a_malformed_body_is_a_400_problem(network: Any) -> None:
    _, client = network.add_partner(["manufacturer"])
    answer = client.post("/v1/packs/commission", data="{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "body.json"


def test_unknown_routes_answer_with_a_problem_document(network: Any) -> None:
    answer = network.admin.get("/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["status"] == 404


# -- exclusive identities -----------------------------------------------------------------------


@pytest.mark.parametrize("relation", ["equal", "inside", "containing"])
def test_a_second_manufacturer_with_an_overlapping_prefix_is_refused_with_409_on_create_and_update(network: Any, relation: str) -> None:
    first, _ = network.add_partner(["manufacturer"])
    held = first["company_prefixes"][0]
    wanted = {"equal": held, "inside": held + "5", "containing": held[:-1]}[relation]
    answer = network.admin.post("/v1/partners", json={"name": "Rival Pharma", "roles": ["manufacturer"], "company_prefixes": [wanted]})
    assert answer.status_code == 409, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["code"], problem["field"]) == ("partner.prefix_taken", "company_prefixes[0]")
    assert first["id"] not in answer.text and first["name"] not in answer.text
    rival, _ = network.add_partner(["manufacturer"])
    answer = network.admin.request("PATCH", f"/v1/partners/{rival['id']}", json={"company_prefixes": [*rival["company_prefixes"], wanted]})
    assert answer.status_code == 409, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("partner.prefix_taken", "company_prefixes[1]")
    assert first["id"] not in answer.text and first["name"] not in answer.text


def test_a_gln_another_partner_holds_is_refused_with_409_on_create_and_update(network: Any) -> None:
    holder, _ = network.add_partner(["dispenser"])
    gln = holder["glns"][0]
    answer = network.admin.post("/v1/partners", json={"name": "Rival", "roles": ["dispenser"], "glns": [gln]})
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["field"]) == ("partner.gln_taken", "glns[0]")
    assert holder["id"] not in answer.text and holder["name"] not in answer.text
    other, _ = network.add_partner(["wholesaler"])
    answer = network.admin.request("PATCH", f"/v1/partners/{other['id']}", json={"glns": [gln]})
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["field"]) == ("partner.gln_taken", "glns[0]")


def test_an_admin_updates_a_partner_and_only_an_admin_may(network: Any) -> None:
    created, client = network.add_partner(["wholesaler"])
    answer = network.admin.request("PATCH", f"/v1/partners/{created['id']}", json={"name": "Renamed Wholesale", "roles": ["wholesaler", "dispenser"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Renamed Wholesale" and answer.json()["glns"] == created["glns"]
    assert client.get("/v1/partners/me").json()["roles"] == ["wholesaler", "dispenser"]
    assert client.request("PATCH", f"/v1/partners/{created['id']}", json={"name": "Mine now"}).status_code == 403
    answer = network.admin.request("PATCH", f"/v1/partners/{created['id']}", json={"token": "x"})
    assert (answer.status_code, answer.json()["code"]) == (400, "body.unknown_field")


def test_the_last_admin_cannot_be_revoked_or_demoted(network: Any) -> None:
    admin_id = network.network.info["admin_partner_id"]
    second, _ = network.add_partner(["admin"])
    assert network.admin.post(f"/v1/partners/{second['id']}/revoke").status_code == 200
    answer = network.admin.post(f"/v1/partners/{admin_id}/revoke")
    assert answer.status_code == 409
    assert answer.json()["code"] == "partner.last_admin"
    answer = network.admin.request("PATCH", f"/v1/partners/{admin_id}", json={"roles": ["wholesaler"]})
    assert (answer.status_code, answer.json()["code"]) == (409, "partner.last_admin")
    assert network.admin.get("/v1/partners/me").status_code == 200


def test_revoking_twice_changes_nothing_and_answers_the_same(network: Any) -> None:
    created, _ = network.add_partner(["manufacturer"])
    first = network.admin.post(f"/v1/partners/{created['id']}/revoke")
    second = network.admin.post(f"/v1/partners/{created['id']}/revoke")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() and first.json()["status"] == "revoked"
