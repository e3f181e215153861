"""EPCIS 2.0 capture through the gateway, with documents modelled on the GS1 EPCIS 2.0
standard's own examples (gs1/EPCIS JSON/Example_9.6.1-ObjectEvent and
Example_9.6.3-AggregationEvent): commissioning, packing into cases and a pallet, shipping the
pallet, receiving it, unpacking; refusals are whole and precise; repeats are ignored."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from typing import Any

import orjson
import pytest

from tests.conftest import Client
from verinet.epc import Gln, Sgtin, Sscc
from verinet.network import with_check_digit

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
LOT = "LOT-E1"
EXPIRY_DATE = "2030-06-30"
EXPIRY = "300630"

_serials = itertools.count(1)
_sscc_refs = itertools.count(1)


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T08:00:00.000Z",
        "epcisBody": {"eventList": list(events)},
    }


def event(kind: str, action: str, at: str, **members: Any) -> dict[str, Any]:
    return {"type": kind, "action": action, "eventTime": at, "eventTimeZoneOffset": "+01:00", **members}


def sgln(gln: str) -> str:
    return Gln(gln).as_urn(7)


def pgln(gln: str) -> str:
    return Gln(gln, party=True).as_urn(7)


class Party:
    """A partner of the test with its client, GLN and (manufacturers) company prefix."""

    def __init__(self, info: dict[str, Any], client: Client) -> None:
        self.info = info
        self.client = client
        self.id: str = info["id"]
        self.gln: str = info["glns"][0]
        self.prefix: str = (info.get("company_prefixes") or [""])[0]

    def post(self, body: Any, content_type: str = "application/ld+json") -> Any:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.client.post("/v1/events", data=data, headers={"Content-Type": content_type})

    def location(self) -> dict[str, Any]:
        return {"readPoint": {"id": sgln(self.gln)}, "bizLocation": {"id": sgln(self.gln)}}


def add_parties(network: Any, roles: dict[str, str], product_name: str) -> dict[str, Party]:
    """A partner for each name with its role; the one named "maker" registers the product."""
    out = {name: Party(*network.add_partner([role])) for name, role in roles.items()}
    maker = out["maker"]
    assert maker.client.put(f"/v1/products/{product_gtin(maker.prefix)}", json={"name": product_name}).status_code == 201
    return out


def product_gtin(prefix: str) -> str:
    return with_check_digit("0" + prefix + "1".rjust(12 - len(prefix), "0"))


def new_units(maker: Party, n: int) -> list[Sgtin]:
    gtin = product_gtin(maker.prefix)
    return [Sgtin(gtin, f"E{next(_serials):05d}/x", len(maker.prefix)) for _ in range(n)]


def new_sscc(maker: Party, extension: str = "3") -> Sscc:
    body = extension + maker.prefix + f"{next(_sscc_refs):09d}"
    return Sscc(with_check_digit(body), len(maker.prefix))


def commissioning(maker: Party, units: list[Sgtin], at: str = "2026-11-25T09:00:00.000+01:00") -> dict[str, Any]:
    # Half the EPCs as URNs, half as Digital Links: both name the same units exactly.
    epcs = [u.as_urn() if i % 2 == 0 else u.as_digital_link() for i, u in enumerate(units)]
    return event(
        "ObjectEvent",
        "ADD",
        at,
        epcList=epcs,
        bizStep="commissioning",
        disposition="active",
        **maker.location(),
        ilmd={"cbvmda:lotNumber": LOT, "cbvmda:itemExpirationDate": EXPIRY_DATE},
    )


def packing(party: Party, parent: Sscc, children: list[Any], at: str = "2026-11-25T09:30:00.000+01:00") -> dict[str, Any]:
    return event(
        "AggregationEvent",
        "ADD",
        at,
        parentID=parent.as_urn(),
        childEPCs=[c.as_urn() for c in children],
        bizStep="urn:epcglobal:cbv:bizstep:packing",
        disposition="urn:epcglobal:cbv:disp:in_progress",
        **party.location(),
    )


def observed(party: Party, epcs: list[Any], at: str, step: str, disposition: str, **members: Any) -> dict[str, Any]:
    """An ObjectEvent in which ``party`` observes ``epcs`` at its GLN."""
    epc_list = [e.as_urn() for e in epcs]
    return event("ObjectEvent", "OBSERVE", at, epcList=epc_list, bizStep=step, disposition=disposition, **party.location(), **members)


def shipping(sender: Party, receiver: Party, epcs: list[Any], at: str = "2026-11-25T10:00:00.000+01:00", **extra: Any) -> dict[str, Any]:
    return observed(
        sender,
        epcs,
        at,
        "shipping",
        "in_transit",
        bizTransactionList=[
            {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
            {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
        ],
        sourceList=[
            {"type": "owning_party", "source": pgln(sender.gln)},
            {"type": "location", "source": sgln(sender.gln)},
        ],
        destinationList=[
            {"type": "owning_party", "destination": pgln(receiver.gln)},
            {"type": "location", "destination": sgln(receiver.gln)},
        ],
        **extra,
    )


def receiving(receiver: Party, epcs: list[Any], at: str = "2026-11-26T08:00:00.000+01:00") -> dict[str, Any]:
    return observed(
        receiver,
        epcs,
        at,
        "receiving",
        "in_progress",
        bizTransactionList=[{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
        destinationList=[{"type": "location", "destination": sgln(receiver.gln)}],
    )


def unpacking(party: Party, parent: Sscc, children: list[Any] = (), at: str = "2026-11-26T09:00:00.000+01:00") -> dict[str, Any]:  # type: ignore[assignment]
    members: dict[str, Any] = {"childEPCs": [c.as_urn() for c in children]} if children else {}
    return event(
        "AggregationEvent",
        "DELETE",
        at,
        parentID=parent.as_urn(),
        bizStep="unpacking",
        **members,
        **party.location(),
    )


def history(client: Client, unit: Sgtin) -> dict[str, Any]:
    answer = client.get(f"/v1/packs/{unit.gtin}/{unit.serial.replace('/', '%2F')}/history")
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def journey(parties: dict[str, Party]) -> dict[str, Any]:
    """Commission 24 units, pack 12 into each of two cases, both cases onto a pallet, ship the
    pallet; the wholesaler receives it and unpacks the pallet."""
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units = new_units(maker, 24)
    case_a, case_b, pallet = new_sscc(maker), new_sscc(maker), new_sscc(maker)
    shipped = maker.post(
        document(
            commissioning(maker, units),
            packing(maker, case_a, units[:12]),
            packing(maker, case_b, units[12:]),
            packing(maker, pallet, [case_a, case_b], at="2026-11-25T09:40:00.000+01:00"),
            shipping(maker, wholesaler, [pallet], eventID="urn:uuid:5e3f3c39-1d0f-4a1e-9d0b-aa0000000001"),
        )
    )
    assert shipped.status_code == 200, shipped.text
    received = wholesaler.post(document(receiving(wholesaler, [pallet]), unpacking(wholesaler, pallet)))
    assert received.status_code == 200, received.text
    return {
        "units": units,
        "cases": (case_a, case_b),
        "pallet": pallet,
        "shipped": shipped.json(),
        "received": received.json(),
    }


def test_a_gs1_journey_is_applied_and_counts_unit_events(journey: dict[str, Any]) -> None:
    assert journey["shipped"] == {
        "applied": True,
        "events": 5,
        "duplicates": 0,
        "unit_events": 24 + 24 + 24 + 24,  # commissioned, packed into cases, cases onto the pallet, shipped
        "commissioned": 24,
        "state_changes": 0,
    }
    assert journey["received"]["unit_events"] == 24 + 24  # received and unpacked from the pallet


def test_after_receiving_every_unit_inside_the_pallet_is_at_the_receivers_gln(
    parties: dict[str, Party], journey: dict[str, Any]
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    for unit in journey["units"]:
        seen = history(maker.client, unit)
        steps = [(e["event"], e["gln"]) for e in seen["events"]]
        assert steps == [
            ("commissioning", ""),  # from the pack record, as for /v1/packs/commission
            ("packing", maker.gln),  # into its case
            ("packing", maker.gln),  # the case onto the pallet
            ("shipping", maker.gln),
            ("receiving", wholesaler.gln),
            ("unpacking", wholesaler.gln),  # the pallet; the unit stays in its case
        ], steps
        assert seen["lot"] == LOT and seen["expiry"] == EXPIRY
        received = next(e for e in seen["events"] if e["event"] == "receiving")
        assert received["partner"] == wholesaler.id and "po http://transaction.acme.com/po/12345678" in received["detail"]
        shipped = next(e for e in seen["events"] if e["event"] == "shipping")
        assert shipped["to"] == [wholesaler.gln] and "desadv" in shipped["detail"]
        assert received["from"] == [maker.gln] and received["from_partners"] == [maker.id]
    # The receiver handled the units, so it may read their history too: its own part of it.
    own = history(wholesaler.client, journey["units"][0])
    assert own["serial"] == journey["units"][0].serial
    assert [(e["event"], e["partner"]) for e in own["events"]] == [
        ("shipping", ""),  # the shipment to it, without the shipper
        ("receiving", wholesaler.id),
        ("unpacking", wholesaler.id),
    ]
    assert maker.id not in str(own) and maker.gln not in str(own)


def test_a_recall_scope_finds_every_unit_at_the_receiver(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units = journey["units"]
    preview = maker.client.post(
        "/v1/recalls/preview", json={"units": [{"gtin": u.gtin, "serial": u.serial} for u in units]}
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["units_by_location"] == [{"gln": wholesaler.gln, "partner": wholesaler.id, "units": 24}]


def test_a_repeated_document_is_ignored_event_by_event(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    wholesaler = parties["wholesaler"]
    again = wholesaler.post(document(receiving(wholesaler, [journey["pallet"]]), unpacking(wholesaler, journey["pallet"])))
    assert again.status_code == 200, again.text
    assert again.json() == {
        "applied": True, "events": 2, "duplicates": 2, "unit_events": 0, "commissioned": 0, "state_changes": 0
    }  # fmt: skip


def test_the_same_event_id_is_ignored_even_with_another_time(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    repeat = shipping(
        maker, wholesaler, [journey["pallet"]], at="2026-11-27T10:00:00.000+01:00",
        eventID="urn:uuid:5e3f3c39-1d0f-4a1e-9d0b-aa0000000001",
    )  # fmt: skip
    answer = maker.post(document(repeat))
    assert answer.status_code == 200 and answer.json()["duplicates"] == 1, answer.text


def test_cases_unpacked_by_name_leave_the_rest_packed(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    wholesaler = parties["wholesaler"]
    case_a, _ = journey["cases"]
    units = journey["units"]
    answer = wholesaler.post(document(unpacking(wholesaler, case_a, units[:2])))
    assert answer.status_code == 200 and answer.json()["unit_events"] == 2, answer.text
    again = wholesaler.post(document(unpacking(wholesaler, case_a, units[:1], at="2026-11-26T10:00:00.000+01:00")))
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["code"] == "aggregation.not_packed"


def test_shipping_on_to_a_pharmacy_then_dispensing_and_destroying_change_pack_states(
    parties: dict[str, Party], journey: dict[str, Any]
) -> None:
    wholesaler, pharmacy = parties["wholesaler"], parties["pharmacy"]
    _, case_b = journey["cases"]
    units = journey["units"][12:]
    sent = wholesaler.post(document(shipping(wholesaler, pharmacy, [case_b], at="2026-11-27T08:00:00.000+01:00")))
    assert sent.status_code == 200 and sent.json()["unit_events"] == 12, sent.text
    dispensed = event(
        "ObjectEvent", "OBSERVE", "2026-11-28T12:00:00.000+01:00",
        epcList=[units[0].as_digital_link()], bizStep="dispensing", disposition="dispensed", **pharmacy.location(),
    )  # fmt: skip
    destroyed = event(
        "ObjectEvent", "DELETE", "2026-11-28T12:05:00.000+01:00",
        epcList=[units[1].as_urn()], bizStep="decommissioning", disposition="destroyed", **pharmacy.location(),
    )  # fmt: skip
    got = pharmacy.post(document(receiving(pharmacy, [case_b], at="2026-11-28T08:00:00.000+01:00"), dispensed, destroyed))
    assert got.status_code == 200, got.text
    assert got.json()["state_changes"] == 2
    verify = pharmacy.client.post(
        "/v1/packs/verify", json={"packs": [{"gtin": u.gtin, "serial": u.serial} for u in units[:3]]}
    )
    assert [r["state"] for r in verify.json()["results"]] == ["supplied", "destroyed", "active"]
    assert [e["event"] for e in history(pharmacy.client, units[0])["events"]][-2:] == ["dispensing", "verify"]
    # The same rules as the pack API: the same partner repeating the scan at once is a
    # repeated scan (no change, no refusal); anyone else finds the pack already inactive.
    def destroying(party: Party, at: str) -> dict[str, Any]:
        return event(
            "ObjectEvent", "OBSERVE", at, epcList=[units[1].as_urn()], bizStep="destroying",
            disposition="destroyed", **party.location(),
        )  # fmt: skip

    repeated = pharmacy.post(document(destroying(pharmacy, "2026-11-28T13:00:00.000+01:00")))
    assert repeated.status_code == 200 and repeated.json()["state_changes"] == 0, repeated.text
    refused = wholesaler.post(document(destroying(wholesaler, "2026-11-28T13:05:00.000+01:00")))
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "NMVS_NC_PCK_22"
    assert "already inactive (destroyed)" in refused.json()["errors"][0]["message"]


# -- refusals: whole, precise, nothing written ----------------------------------------------------


def assert_refused(answer: Any, status: int, index: int, code: str, words: str = "") -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "epcis.refused"
    first = body["errors"][0]
    assert (first["index"], first["code"]) == (index, code), body
    assert words in first["message"], first["message"]
    return body


def assert_not_commissioned(parties: dict[str, Party], units: list[Sgtin]) -> None:
    for unit in units:
        answer = parties["maker"].client.get(f"/v1/packs/{unit.gtin}/{unit.serial.replace('/', '%2F')}/history")
        assert answer.status_code == 404, answer.text


def test_a_schema_error_refuses_the_whole_document_with_the_events_index(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 3)
    broken = commissioning(maker, units[2:])
    del broken["eventTime"]
    answer = maker.post(document(commissioning(maker, units[:2]), broken))
    body = assert_refused(answer, 400, 1, "epcis.schema", '"eventTime" is a required property')
    assert body["refused"] == 1 and body["events"] == 2
    assert_not_commissioned(parties, units)


def test_an_unknown_epc_scheme_is_refused_with_its_position(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 2)
    bad = commissioning(maker, units)
    bad["epcList"].append("urn:epc:id:grai:0614141.12345.400")
    answer = maker.post(document(bad))
    body = assert_refused(answer, 400, 0, "epc.scheme", "urn:epc:id:grai")
    assert body["errors"][0]["field"] == "epcisBody.eventList[0].epcList[2]"
    assert_not_commissioned(parties, units)


def test_receiving_a_unit_never_shipped_is_refused_and_nothing_of_the_document_is_written(
    parties: dict[str, Party],
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units = new_units(maker, 2)
    assert maker.post(document(commissioning(maker, units))).status_code == 200
    case = new_sscc(maker)
    answer = wholesaler.post(document(packing(wholesaler, case, units[:1]), receiving(wholesaler, units)))
    # The packing is refused too: the wholesaler does not hold units still at the manufacturer.
    body = assert_refused(answer, 409, 0, "custody.not_held")
    assert [e["code"] for e in body["errors"]] == ["custody.not_held", "custody.not_shipped"]
    assert "was never shipped" in body["errors"][1]["message"]
    assert all(e["event"] != "packing" for e in history(maker.client, units[0])["events"])


def test_an_event_at_a_foreign_location_is_refused_and_earlier_events_are_not_written(parties: dict[str, Party]) -> None:
    maker, other = parties["maker"], parties["other"]
    units = new_units(maker, 2)
    foreign = commissioning(maker, units[1:])
    foreign["bizLocation"] = {"id": sgln(other.gln)}
    answer = maker.post(document(commissioning(maker, units[:1]), foreign))
    assert_refused(answer, 403, 1, "epcis.foreign_location", other.gln)
    assert_not_commissioned(parties, units)


def test_shipping_from_someone_elses_source_location_is_refused(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    wholesaler, other, pharmacy = parties["wholesaler"], parties["other"], parties["pharmacy"]
    sent = shipping(wholesaler, pharmacy, [journey["units"][5]])
    sent["sourceList"][1] = {"type": "location", "source": sgln(other.gln)}
    assert_refused(wholesaler.post(document(sent)), 403, 0, "epcis.foreign_location", "source must be yours")


def test_receiving_goods_shipped_to_another_partner_is_refused(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    other = parties["other"]
    unit = journey["units"][2]  # unpacked, at the wholesaler: not in transit
    assert_refused(other.post(document(receiving(other, [unit]))), 409, 0, "custody.not_shipped")


def test_commissioning_someone_elses_gtin_is_forbidden(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    foreign = [Sgtin(with_check_digit("0061414100001"), "X1", 7)]
    assert_refused(maker.post(document(commissioning(maker, foreign))), 403, 0, "product.foreign_prefix")


def test_decommissioning_needs_a_disposition_naming_the_state(parties: dict[str, Party], journey: dict[str, Any]) -> None:
    wholesaler = parties["wholesaler"]
    inactive = event(
        "ObjectEvent", "DELETE", "2026-11-28T12:00:00.000+01:00",
        epcList=[journey["units"][3].as_urn()], bizStep="decommissioning", disposition="inactive", **wholesaler.location(),
    )  # fmt: skip
    assert_refused(wholesaler.post(document(inactive)), 400, 0, "epcis.disposition", "dispensed")


def test_every_bad_event_is_listed(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 3)
    first, second = commissioning(maker, units[:1]), commissioning(maker, units[1:2])
    first["action"] = "CREATE"
    second["ilmd"] = {}
    answer = maker.post(document(first, second, commissioning(maker, units[2:])))
    body = assert_refused(answer, 400, 0, "epcis.schema", "CREATE")
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(0, "epcis.schema"), (1, "epcis.ilmd")]
    assert_not_commissioned(parties, units)


def test_a_document_that_is_not_an_epcis_document_is_refused(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    wrong = document(commissioning(maker, new_units(maker, 1)))
    wrong["type"] = "EPCISQueryDocument"
    answer = maker.post(wrong)
    assert answer.status_code == 400 and answer.json()["code"] == "epcis.schema", answer.text
    assert "EPCISDocument" in answer.json()["detail"]
    broken = maker.post(b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"type": ')
    assert broken.status_code == 400 and broken.json()["code"] == "body.json", broken.text
    assert maker.client.post("/v1/events", data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415


# -- NDJSON, authorization ------------------------------------------------------------------------


def test_ndjson_of_events_is_the_streaming_alternative(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 4)
    lines = b"\n".join(orjson.dumps(e) for e in (commissioning(maker, units), packing(maker, new_sscc(maker), units)))
    answer = maker.post(lines + b"\n", "application/x-ndjson")
    assert answer.status_code == 200, answer.text
    assert answer.json()["unit_events"] == 8


def test_capture_needs_a_token_and_a_trading_role(network: Any, parties: dict[str, Party]) -> None:
    body = orjson.dumps(document())
    anonymous = network.client(None).post("/v1/events", data=body, headers={"Content-Type": "application/ld+json"})
    assert anonymous.status_code == 401
    for name in ("network",):
        answer = parties[name].post(document())
        assert answer.status_code == 403 and answer.json()["code"] == "auth.role", answer.text
    admin = network.admin.post("/v1/events", data=body, headers={"Content-Type": "application/ld+json"})
    assert admin.status_code == 403


def test_an_empty_document_is_applied_with_nothing_to_do(parties: dict[str, Party]) -> None:
    answer = parties["pharmacy"].post(document())
    assert answer.status_code == 200 and answer.json()["events"] == 0, answer.text


def test_header_members_after_the_events_are_read_too(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 2)
    body = orjson.dumps({"epcisBody": {"eventList": [commissioning(maker, units)]}, **{k: v for k, v in document().items() if k != "epcisBody"}})
    assert body.startswith(b'{"epcisBody"')
    answer = maker.post(body)
    assert answer.status_code == 200 and answer.json()["commissioned"] == 2, answer.text
    headless = maker.post(orjson.dumps({"epcisBody": {"eventList": []}, "type": "EPCISDocument"}))
    assert headless.status_code == 400 and headless.json()["code"] == "epcis.schema", headless.text
    assert "@context" in headless.json()["detail"]
    assert maker.post(b"[]").json()["code"] == "epcis.schema"


def run_cli(network: Any, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERINET_URL": network.url, "VERINET_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "verinet.cli", "events", "import", *args],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_the_cli_streams_a_document_across_many_chunks_with_a_progress_bar(
    network: Any, parties: dict[str, Party], tmp_path: Any
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units = new_units(maker, 2_100)  # more events than one chunk to recall-status (2,000)
    events = [commissioning(maker, [u]) for u in units]
    events.append(shipping(maker, wholesaler, units, at="2026-11-25T11:00:00.000+01:00"))
    path = tmp_path / "journey.jsonld"
    path.write_bytes(orjson.dumps(document(*events)))
    done = run_cli(network, maker.client.token or "", str(path))
    assert done.returncode == 0, done.stderr
    assert "[##############################] 100%" in done.stderr and "Applied: 2,101 events" in done.stderr
    assert orjson.loads(done.stdout)["unit_events"] == 2 * 2_100
    assert history(maker.client, units[-1])["events"][-1]["event"] == "shipping"
    again = run_cli(network, wholesaler.client.token or "", "--no-progress", str(path))
    assert again.returncode == 1, again.stderr
    assert "event 0 [epcis.foreign_location]" in again.stderr or "event 0 [auth.role]" in again.stderr


def test_hostile_values_are_refused_with_400_not_500(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    deep = b"[" * 5000 + b"]" * 5000
    bad = commissioning(maker, new_units(maker, 1))
    raw = orjson.dumps(document(dict(bad, bizStep="__deep__"))).replace(b'"__deep__"', deep)
    answer = maker.post(raw)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "body.too_deep"  # refused while reading, before an event is built
    huge_serial = commissioning(maker, [Sgtin(product_gtin(maker.prefix), "S" * 5000, 7)])
    assert maker.post(document(huge_serial)).status_code == 400


def test_a_wholesaler_sees_no_other_partners_shipments_in_a_pack_history(parties: dict[str, Party]) -> None:
    maker, wholesaler, pharmacy, other = parties["maker"], parties["wholesaler"], parties["pharmacy"], parties["other"]
    units = new_units(maker, 2)
    assert maker.post(document(commissioning(maker, units), shipping(maker, wholesaler, units))).status_code == 200
    assert wholesaler.post(document(receiving(wholesaler, units))).status_code == 200
    onward = shipping(wholesaler, pharmacy, units, at="2026-11-27T08:00:00.000+01:00")
    assert wholesaler.post(document(onward)).status_code == 200
    assert pharmacy.post(document(receiving(pharmacy, units, at="2026-11-28T08:00:00.000+01:00"))).status_code == 200
    # another wholesaler verifies a unit, twice, and once with a wrong lot
    other.client.post("/v1/packs/verify", json={"packs": [{"gtin": units[0].gtin, "serial": units[0].serial}] * 2})
    other.client.post("/v1/packs/verify", json={"packs": [{"gtin": units[0].gtin, "serial": units[0].serial, "lot": "WRONG"}]})

    def others(viewer: Party) -> list[str]:
        return [p.id for p in parties.values() if p is not viewer] + [p.gln for p in parties.values() if p is not viewer]

    middle = history(wholesaler.client, units[0])
    assert [(e["event"], e["partner"]) for e in middle["events"]] == [
        ("shipping", ""),  # to it, shipper not named
        ("receiving", wholesaler.id),
        ("shipping", wholesaler.id),  # its own shipment, destination not named
        ("receiving", ""),  # the receipt of its shipment, receiver not named
    ]
    assert not [name for name in others(wholesaler) if name in str(middle)]
    last = history(pharmacy.client, units[0])
    assert [(e["event"], e["partner"]) for e in last["events"]] == [("shipping", ""), ("receiving", pharmacy.id)]
    assert not [name for name in others(pharmacy) if name in str(last)]
    # the stranger sees its own checks (pack operations record them before answering), and only those
    seen = history(other.client, units[0])
    assert [(e["partner"], bool(e.get("attempt"))) for e in seen["events"]] == [(other.id, False), (other.id, False), (other.id, True)]
    assert not [name for name in others(other) if name in str(seen)]
    # a partner whose only entries are failed checks learns nothing, not even the lot
    other.client.post("/v1/packs/verify", json={"packs": [{"gtin": units[1].gtin, "serial": units[1].serial, "lot": "GUESS"}]})
    assert other.client.get(f"/v1/packs/{units[1].gtin}/{units[1].serial.replace('/', '%2F')}/history").status_code == 404
    # the manufacturer sees everyone
    full = history(maker.client, units[0])
    assert {wholesaler.id, pharmacy.id, other.id} <= {e["partner"] for e in full["events"]}
