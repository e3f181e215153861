"""LMS 1.3 verification end to end: HTTP -> gateway -> verifier -> lookup/recall-status -> Redis."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from verinet.network import with_check_digit

REDIS_BACKENDS = ("standalone", "cluster")

LOT = "A1/B2"  # a "/" must travel percent-encoded
EXPIRY = "281231"
DAY00_EXPIRY = "281100"  # stored with day 00
GS1_LMS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def hosted(network: Any) -> dict[str, Any]:
    manufacturer, mclient = network.add_partner(["manufacturer"])
    wholesaler, wclient = network.add_partner(["wholesaler"])
    prefix = manufacturer["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "0001".rjust(12 - len(prefix), "0"))
    assert mclient.put(f"/v1/products/{gtin}", json={"name": "Test 10 mg"}).status_code == 201
    packs = [
        {"gtin": gtin, "serial": "SER-1", "lot": LOT, "expiry": EXPIRY},
        {"gtin": gtin, "serial": "SER-2", "lot": LOT, "expiry": DAY00_EXPIRY},
    ]
    answer = mclient.post("/v1/packs/commission", json={"packs": packs})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 2
    return {
        "gtin": gtin,
        "manufacturer": manufacturer,
        "wholesaler": wholesaler,
        "client": wclient,
        "gln": wholesaler["glns"][0],
    }


def verify_path(gtin: str, lot: str, serial: str) -> str:
    from urllib.parse import quote

    return f"/verify/gtin/{gtin}/lot/{quote(lot, safe='')}/ser/{quote(serial, safe='')}"


def lms_query(hosted: dict[str, Any], exp: str, **extra: str) -> dict[str, str]:
    return {
        "exp": exp,
        "linkType": "verificationService",
        "context": "dscsaSaleableReturn",
        "reqGLN": hosted["gln"],
        **extra,
    }


def verify(hosted: dict[str, Any], serial: str, lot: str = LOT, exp: str = EXPIRY, **extra: str) -> Any:
    return hosted["client"].get(verify_path(hosted["gtin"], lot, serial), params=lms_query(hosted, exp, **extra))


def test_a_commissioned_pack_verifies_with_every_lms_field(hosted: dict[str, Any]) -> None:
    corr = str(uuid.uuid4()).upper()
    answer = verify(hosted, "SER-1", corrUUID=corr)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert list(body) == ["verificationTimestamp", "responderGLN", "data", "corrUUID"]
    assert GS1_LMS_TIMESTAMP.match(body["verificationTimestamp"])
    assert body["responderGLN"] == hosted["manufacturer"]["glns"][0]
    assert body["data"] == {"verified": True}
    assert body["corrUUID"] == corr
    for header in ("Content-Digest", "Signature-Input", "Signature"):
        assert header in answer.headers


def test_the_numeric_digital_link_form_gives_the_same_verdict(hosted: dict[str, Any]) -> None:
    query = lms_query(hosted, "")
    del query["exp"]
    query["17"] = EXPIRY
    answer = hosted["client"].get(f"/01/{hosted['gtin']}/10/A1%2FB2/21/SER-1", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}


@pytest.mark.parametrize(
    ("serial", "lot", "exp", "reason"),
    [
        ("NOPE-1", LOT, EXPIRY, "No_match_GTIN_Serial"),
        ("SER-1", "OTHER", EXPIRY, "No_match_GTIN_Serial_Lot"),
        ("SER-1", LOT, "281130", "No_match_GTIN_Serial_Expiry"),
        ("SER-1", "OTHER", "281130", "No_match_GTIN_Serial_Lot_Expiry"),
    ],
)
def test_a_mismatch_answers_not_verified_with_its_lms_reason(
    hosted: dict[str, Any], serial: str, lot: str, exp: str, reason: str
) -> None:
    answer = verify(hosted, serial, lot=lot, exp=exp, corrUUID="c-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"] == {"verified": False, "verificationFailureReason": reason}
    assert body["corrUUID"] == "c-1"


@pytest.mark.parametrize(("serial", "exp"), [("SER-1", "281200"), ("SER-2", "281130"), ("SER-2", "281100")])
def test_expiry_day_00_matches_the_end_of_the_month(hosted: dict[str, Any], serial: str, exp: str) -> None:
    answer = verify(hosted, serial, exp=exp)
    assert answer.json()["data"] == {"verified": True}


def test_a_gtin_without_a_route_is_404(hosted: dict[str, Any]) -> None:
    unknown = with_check_digit("0999999900001")
    answer = hosted["client"].get(verify_path(unknown, LOT, "SER-1"), params=lms_query(hosted, EXPIRY))
    assert answer.status_code == 404
    assert unknown in answer.text


@pytest.mark.parametrize(
    ("gtin", "lot", "serial", "exp", "link_type", "needle"),
    [
        ("0061414100001", LOT, "S", EXPIRY, "verificationService", "14 digits"),
        ("GTIN", LOT, "S", EXPIRY, "verificationService", "14 digits"),
        ("bad-check-digit", LOT, "S", EXPIRY, "verificationService", "check digit"),
        (None, "L" * 21, "S", EXPIRY, "verificationService", "20"),
        (None, LOT, "S" * 21, EXPIRY, "verificationService", "20"),
        (None, LOT, "S N", EXPIRY, "verificationService", "' '"),
        (None, LOT, "S", "2812", "verificationService", "YYMMDD"),
        (None, LOT, "S", "281331", "verificationService", "month"),
        (None, LOT, "S", EXPIRY, "somethingElse", "linkType"),
    ],
)
def test_a_malformed_request_is_400_with_a_precise_reason(
    hosted: dict[str, Any], gtin: str | None, lot: str, serial: str, exp: str, link_type: str, needle: str
) -> None:
    if gtin == "bad-check-digit":
        gtin = hosted["gtin"][:-1] + str((int(hosted["gtin"][-1]) + 1) % 10)
    path = verify_path(gtin or hosted["gtin"], lot, serial)
    answer = hosted["client"].get(path, params=lms_query(hosted, exp, linkType=link_type))
    assert answer.status_code == 400
    assert needle in answer.text


def test_an_empty_serial_is_400(hosted: dict[str, Any]) -> None:
    answer = hosted["client"].get(
        f"/verify/gtin/{hosted['gtin']}/lot/L/ser/%20", params=lms_query(hosted, EXPIRY)
    )
    assert answer.status_code == 400


def test_a_missing_token_is_401_and_an_unknown_one_too(network: Any, hosted: dict[str, Any]) -> None:
    path = verify_path(hosted["gtin"], LOT, "SER-1")
    assert network.client(None).get(path, params=lms_query(hosted, EXPIRY)).status_code == 401
    assert network.client("vn_forged").get(path, params=lms_query(hosted, EXPIRY)).status_code == 401


def test_a_requestor_gln_that_is_not_the_callers_is_403(hosted: dict[str, Any]) -> None:
    answer = verify(hosted, "SER-1", reqGLN=hosted["manufacturer"]["glns"][0])
    assert answer.status_code == 403


def test_an_admin_token_may_not_ask_lms_questions(network: Any, hosted: dict[str, Any]) -> None:
    answer = network.admin.get(verify_path(hosted["gtin"], LOT, "SER-1"), params=lms_query(hosted, EXPIRY))
    assert answer.status_code == 403


def test_check_connectivity_names_the_responder(hosted: dict[str, Any]) -> None:
    answer = hosted["client"].get(
        "/checkConnectivity", params={"gtin": hosted["gtin"], "reqGLN": hosted["gln"]}
    )
    assert answer.status_code == 200
    assert answer.json() == {"responderGLN": hosted["manufacturer"]["glns"][0]}
    assert "Signature" in answer.headers


def test_check_connectivity_for_an_unrouted_gtin_is_404(hosted: dict[str, Any]) -> None:
    answer = hosted["client"].get(
        "/checkConnectivity", params={"gtin": with_check_digit("0999999900001"), "reqGLN": hosted["gln"]}
    )
    assert answer.status_code == 404
