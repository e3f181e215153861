"""Exact input, exact output (issue 20), played as the attacks they prevent.

LMS: a repeated query parameter is refused before any check; a path segment with malformed
percent-encoding is a 400, never a verdict; a question forwarded to another network is rebuilt
from the validated values, which a real HTTP server standing in for that network records
exactly as received. Stored free text (names, reasons, lots) is validated. CSV reports never
carry a cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import http.client
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

from tests.conftest import RunningNetwork
from tests.lookup.fake_remote import FAKE_GLN, FakeRemote, serving_in_thread
from verinet.csv_cells import FORMULA_STARTS
from verinet.network import with_check_digit

LOT, EXPIRY = "A1/B2", "301231"
REMOTE_PREFIX = "7610001"
CORR = "21EC2020-3AEA-4069-A2DD-08002B30309D"


def gtin_under(prefix: str, item: int = 1) -> str:
    return with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRemote]:
    with serving_in_thread() as remote:
        yield remote


@pytest.fixture(scope="module")
def world(network: RunningNetwork, fake: FakeRemote) -> dict[str, Any]:
    """A hosted product with a pack, a GTIN routed to the fake remote, a wholesaler asking and
    a pharmacy whose GLN the wholesaler would like to ask with."""
    manufacturer, mclient = network.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    assert mclient.put(f"/v1/products/{gtin}", json={"name": "Exact 5 mg"}).status_code == 201
    stored = mclient.post("/v1/packs/commission", json={"packs": [{"gtin": gtin, "serial": "S-1", "lot": LOT, "expiry": EXPIRY}]})
    assert stored.status_code == 200 and stored.json()["stored"] == 1, stored.text
    route = network.admin.put(
        f"/v1/directory/prefixes/{REMOTE_PREFIX}",
        json={"route": "remote", "url": fake.url("ok"), "responder_gln": FAKE_GLN, "credential": "cred"},
    )
    assert route.status_code in (200, 201), route.text
    wholesaler, wclient = network.add_partner(["wholesaler"])
    victim, _ = network.add_partner(["dispenser"])
    return {
        "hosted_gtin": gtin,
        "remote_gtin": gtin_under(REMOTE_PREFIX),
        "manufacturer": mclient,
        "wholesaler": wclient,
        "token": wholesaler["token"],
        "gln": wholesaler["glns"][0],
        "victim_gln": victim["glns"][0],
    }


def raw_get(network: RunningNetwork, token: str, target: str) -> tuple[int, str]:
    """GET with the request target sent byte for byte (an HTTP library would re-encode it)."""
    parts = urlsplit(network.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def alpha(gtin: str, lot: str = quote(LOT, safe=""), serial: str = "S-1") -> str:
    return f"/verify/gtin/{gtin}/lot/{lot}/ser/{serial}"


def numeric(gtin: str, lot: str = quote(LOT, safe=""), serial: str = "S-1") -> str:
    return f"/01/{gtin}/10/{lot}/21/{serial}"


def query(world: dict[str, Any], exp_name: str = "exp", **extra: str) -> list[tuple[str, str]]:
    pairs = [(exp_name, EXPIRY), ("linkType", "verificationService"), ("context", "dscsaSaleableReturn"), ("reqGLN", world["gln"])]
    return pairs + list(extra.items())


def target(path: str, pairs: list[tuple[str, str]]) -> str:
    return path + "?" + urlencode(pairs, quote_via=quote, safe="")


# -- repeated parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("victim_first", [False, True], ids=["mine-then-victim", "victim-then-mine"])
@pytest.mark.parametrize("form", ["alpha", "numeric", "checkConnectivity"])
def test_a_repeated_reqGLN_is_refused_before_any_check(
    network: RunningNetwork, world: dict[str, Any], fake: FakeRemote, form: str, victim_first: bool
) -> None:
    glns = [world["gln"], world["victim_gln"]]
    if victim_first:
        glns.reverse()
    if form == "checkConnectivity":
        pairs = [("gtin", world["remote_gtin"]), *(("reqGLN", gln) for gln in glns)]
        path = "/checkConnectivity"
    else:
        exp_name = "exp" if form == "alpha" else "17"
        pairs = [*(p for p in query(world, exp_name) if p[0] != "reqGLN"), *(("reqGLN", gln) for gln in glns)]
        path = alpha(world["remote_gtin"]) if form == "alpha" else numeric(world["remote_gtin"])
    before = len(fake.requests)
    status, text = raw_get(network, world["token"], target(path, pairs))
    assert status == 400, text
    assert "reqGLN is given 2 times" in text
    assert len(fake.requests) == before, "nothing may be forwarded"


@pytest.mark.parametrize("name", ["exp", "linkType", "context", "corrUUID", "ctrlPossessAtt", "email", "unknownParam"])
def test_any_repeated_lms_parameter_is_a_400_and_nothing_is_forwarded(
    network: RunningNetwork, world: dict[str, Any], fake: FakeRemote, name: str
) -> None:
    values = {"exp": EXPIRY, "linkType": "verificationService", "context": "dscsaSaleableReturn", "ctrlPossessAtt": "true"}
    value = values.get(name, "x")
    pairs = [p for p in query(world) if p[0] != name] + [(name, value), (name, value)]  # even the same value twice
    before = len(fake.requests)
    status, text = raw_get(network, world["token"], target(alpha(world["remote_gtin"]), pairs))
    assert status == 400, text
    assert f"{name} is given 2 times" in text
    assert len(fake.requests) == before


def test_a_numeric_question_giving_its_expiry_as_17_and_as_exp_is_refused(network: RunningNetwork, world: dict[str, Any], fake: FakeRemote) -> None:
    before = len(fake.requests)
    pairs = [*query(world, "17"), ("exp", "391231")]
    status, text = raw_get(network, world["token"], target(numeric(world["remote_gtin"]), pairs))
    assert status == 400, text
    assert "both give the expiry" in text
    assert len(fake.requests) == before


# -- percent-encoding ----------------------------------------------------------------------------

MALFORMED = ["%G1", "%2", "A%", "%FF", "%C3", "%ED%A0%80", "%C0%AF"]


@pytest.mark.parametrize("segment", MALFORMED)
@pytest.mark.parametrize("where", ["lot", "serial"])
@pytest.mark.parametrize("form", ["alpha", "numeric"])
def test_malformed_percent_encoding_in_a_path_segment_is_a_400_never_a_verdict(
    network: RunningNetwork, world: dict[str, Any], form: str, where: str, segment: str
) -> None:
    build = alpha if form == "alpha" else numeric
    path = build(world["hosted_gtin"], lot=segment) if where == "lot" else build(world["hosted_gtin"], serial=segment)
    status, text = raw_get(network, world["token"], target(path, query(world, "exp" if form == "alpha" else "17")))
    assert status == 400, text
    assert "verified" not in text
    assert f"Failed to decode {where}" in text
    # the same text as a Digital Link is refused by the parse endpoint too
    parsed = world["wholesaler"].post("/v1/identifiers/parse", json={"data": f"https://id.example{numeric(world['hosted_gtin'], serial=segment)}"})
    assert parsed.status_code == 400 and parsed.json()["code"] == "dl.encoding"


@pytest.mark.parametrize("pair", ["corrUUID=%FF", "corrUUID=%G1", "context=a%2", "%ZZ=1"])
def test_malformed_percent_encoding_in_the_query_is_a_400(network: RunningNetwork, world: dict[str, Any], fake: FakeRemote, pair: str) -> None:
    before = len(fake.requests)
    status, text = raw_get(network, world["token"], target(alpha(world["remote_gtin"]), query(world)) + "&" + pair)
    assert status == 400, text
    assert "Failed to decode query parameter" in text
    assert len(fake.requests) == before


def test_a_well_encoded_lot_and_serial_still_get_their_verdict(network: RunningNetwork, world: dict[str, Any]) -> None:
    for path, exp_name in ((alpha(world["hosted_gtin"]), "exp"), (numeric(world["hosted_gtin"], lot="A1%2fB2"), "17")):
        status, text = raw_get(network, world["token"], target(path, query(world, exp_name)))
        assert status == 200, text
        assert '"verified":true' in text


# -- the forwarded question ----------------------------------------------------------------------


def test_a_forwarded_question_is_rebuilt_from_the_validated_values_only(network: RunningNetwork, world: dict[str, Any], fake: FakeRemote) -> None:
    pairs = [
        ("telephone", "+1 555 0100"),
        *query(world, "17"),
        ("corrUUID", CORR),
        ("ctrlPossessAtt", "TRUE"),
        ("reqgln", world["victim_gln"]),  # not an LMS parameter: dropped, not relayed
        ("extra", "x&reqGLN=" + world["victim_gln"]),
    ]
    status, text = raw_get(network, world["token"], target(numeric(world["remote_gtin"], serial="S%2F1%25%26"), pairs))
    assert status == 200, text
    seen = fake.seen("ok")[-1]
    assert seen.raw_target == (
        f"/ok/verify/gtin/{world['remote_gtin']}/lot/A1%2FB2/ser/S%2F1%25%26"
        f"?exp={EXPIRY}&linkType=verificationService&context=dscsaSaleableReturn&reqGLN={world['gln']}"
        f"&corrUUID={CORR}&ctrlPossessAtt=true&telephone=%2B1%20555%200100"
    )


def test_a_forwarded_connectivity_check_carries_only_the_validated_values(network: RunningNetwork, world: dict[str, Any], fake: FakeRemote) -> None:
    pairs = [("reqGLN", world["gln"]), ("gtin", world["remote_gtin"]), ("context", "dscsaSaleableReturn"), ("callback", "http://169.254.169.254/")]
    status, text = raw_get(network, world["token"], target("/checkConnectivity", pairs))
    assert status == 200, text
    seen = fake.seen("ok")[-1]
    assert seen.raw_target == f"/ok/checkConnectivity?gtin={world['remote_gtin']}&context=dscsaSaleableReturn&reqGLN={world['gln']}"


@pytest.mark.parametrize(
    ("name", "value"),
    [("corrUUID", "a\r\nX-Injected: 1"), ("context", "dscsa\x00"), ("email", "qa@example.com\u202e"), ("ctrlPossessAtt", "maybe")],
)
def test_a_parameter_that_would_travel_on_is_validated_before_anything_is_forwarded(
    network: RunningNetwork, world: dict[str, Any], fake: FakeRemote, name: str, value: str
) -> None:
    before = len(fake.requests)
    status, text = raw_get(network, world["token"], target(alpha(world["remote_gtin"]), [*query(world), (name, value)]))
    assert status == 400, text
    assert name in text
    assert len(fake.requests) == before


# -- stored free text ----------------------------------------------------------------------------


def problem_of(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    return problem


@pytest.mark.parametrize(
    ("value", "code", "got"),
    [
        ("Acme\x07", "text.control", "U+0007 (a control character)"),
        ("Acme\u202eamrahP", "text.control", "U+202E (a bidirectional override)"),
        ("Line one\nline two", "text.control", "U+000A (a control character)"),
        ("Acme\x85", "text.control", "U+0085 (a control character)"),
        ("x" * 201, "text.too_long", "201 characters"),
    ],
)
def test_a_product_name_that_would_corrupt_a_screen_or_report_is_refused_naming_the_field(
    world: dict[str, Any], value: str, code: str, got: str
) -> None:
    problem = problem_of(world["manufacturer"].put(f"/v1/products/{world['hosted_gtin']}", json={"name": value}))
    assert (problem["code"], problem["field"], problem["got"]) == (code, "name", got)
    assert problem["expected"]


def test_a_partner_name_with_a_bidi_override_is_refused(network: RunningNetwork) -> None:
    problem = problem_of(network.admin.post("/v1/partners", json={"name": "Good Pharma\u202e", "roles": ["dispenser"]}))
    assert (problem["code"], problem["field"]) == ("text.control", "name")


def test_renaming_a_partner_to_a_name_with_a_control_character_is_refused_and_changes_nothing(network: RunningNetwork) -> None:
    partner, _ = network.add_partner(["dispenser"])
    problem = problem_of(network.admin.request("PATCH", f"/v1/partners/{partner['id']}", json={"name": "Good Pharma\x1b[2J"}))
    assert (problem["code"], problem["field"]) == ("text.control", "name")
    listed = {p["id"]: p for p in network.admin.get("/v1/partners").json()["partners"]}
    assert listed[partner["id"]]["name"] == partner["name"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"lots": ["LOT 1"]}, "lots[0]", "value.charset"),
        ({"lots": ["L1", "L" * 21]}, "lots[1]", "value.too_long"),
        ({"lots": [""]}, "lots[0]", "value.too_short"),
        ({"lots": ["L1"], "reason": "Recalled\r\n=cmd"}, "reason", "text.control"),
        ({"lots": ["L1"], "reason": " "}, "reason", "text.empty"),
        ({"lots": ["L1"], "reason": "r" * 1001}, "reason", "text.too_long"),
    ],
)
def test_a_recall_with_a_lot_that_is_not_a_gs1_lot_or_a_bad_reason_is_refused(
    world: dict[str, Any], body: dict[str, Any], field: str, code: str
) -> None:
    full = {"gtins": [world["hosted_gtin"]], "class": "II", "reason": "Out of specification", **body}
    for path in ("/v1/recalls", "/v1/recalls/preview"):
        problem = problem_of(world["manufacturer"].post(path, json=full))
        assert problem["field"] == field, problem
        assert problem["code"].startswith(code.split(".")[0]), problem


def test_a_withdrawal_reason_with_control_characters_is_refused_before_the_irreversible_step(world: dict[str, Any]) -> None:
    gtin = world["hosted_gtin"]
    problem = problem_of(world["manufacturer"].post(f"/v1/products/{gtin}/withdraw", json={"confirm": gtin, "reason": "gone\x1b[2J"}))
    assert (problem["code"], problem["field"]) == ("text.control", "reason")
    still = world["wholesaler"].get(alpha(gtin) + "?" + urlencode(query(world)))
    assert still.json()["data"] == {"verified": True}


# -- CSV -----------------------------------------------------------------------------------------


def test_a_recall_report_csv_cannot_run_a_formula_in_a_spreadsheet(world: dict[str, Any]) -> None:
    gtin = world["hosted_gtin"]
    hostile = ["=1+2", "+SUM(A1)", "-2+3", "'quoted"]  # all valid GS1 serials (CSET 82)
    packs = [{"gtin": gtin, "serial": serial, "lot": "=LOT", "expiry": EXPIRY} for serial in hostile]
    assert world["manufacturer"].post("/v1/packs/commission", json={"packs": packs}).json()["stored"] == len(packs)
    recall = world["manufacturer"].post("/v1/recalls", json={"gtins": [gtin], "lots": ["=LOT"], "class": "III", "reason": "CSV check", "mock": True})
    assert recall.status_code == 201, recall.text
    report = world["manufacturer"].get(f"/v1/recalls/{recall.json()['id']}/report", params={"format": "csv"})
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert sorted(row["serial"] for row in rows) == sorted("'" + serial for serial in hostile)
    assert {row["lot"] for row in rows} == {"'=LOT"}
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in FORMULA_STARTS - {"'"} and not cell.startswith("'''"), row


def test_a_directory_import_report_cannot_run_a_formula_in_a_spreadsheet(
    network: RunningNetwork, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from verinet.cli import main

    monkeypatch.setenv("VERINET_URL", network.url)
    monkeypatch.setenv("VERINET_TOKEN", network.network.info["admin_token"])
    source = tmp_path / "entries.csv"
    source.write_text('kind,key,route\n"=HYPERLINK(""http://evil.example"",""x"")",7610002,hosted\n@SUM(1),7610003,hosted\n')
    report = tmp_path / "report.csv"
    assert main(["directory", "import", str(source), "--no-progress", "--report", str(report)]) == 1
    capsys.readouterr()
    rows = list(csv.reader(report.open()))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","x") 7610002'
    assert rows[2][1] == "'@SUM(1) 7610003"
    for row in rows:
        assert all(cell[:1] not in FORMULA_STARTS - {"'"} for cell in row), row


# -- acknowledgements ----------------------------------------------------------------------------


def test_a_unit_named_twice_in_an_acknowledgement_is_refused_so_it_cannot_count_twice(network: RunningNetwork, world: dict[str, Any]) -> None:
    gtin = world["hosted_gtin"]
    pack = {"gtin": gtin, "serial": "ACK-1", "lot": "ACK-LOT", "expiry": EXPIRY}
    assert world["manufacturer"].post("/v1/packs/commission", json={"packs": [pack]}).json()["stored"] == 1
    # the wholesaler has the unit in hand: an attested verification makes it a holder
    held = world["wholesaler"].post("/v1/packs/verify", json={"packs": [pack], "possession_attested": True})
    assert held.status_code == 200 and held.json()["results"][0]["ok"], held.text
    recall = world["manufacturer"].post("/v1/recalls", json={"gtins": [gtin], "lots": ["ACK-LOT"], "class": "II", "reason": "Acknowledgement check"})
    assert recall.status_code == 201, recall.text
    path = f"/v1/recalls/{recall.json()['id']}/acknowledgements"
    unit = {"gtin": gtin, "serial": "ACK-1"}
    twice = world["wholesaler"].post(path, json={"units": [unit, {"scan": f"01{gtin}21ACK-1"}], "action": "quarantined"})
    problem = problem_of(twice)
    assert (problem["code"], problem["field"]) == ("recall.duplicate_unit", "units[1]")
    once = world["wholesaler"].post(path, json={"units": [unit], "action": "quarantined"})
    assert once.status_code == 200 and once.json()["acknowledged"] == 1, once.text


def test_an_acknowledgement_over_its_documented_limit_is_refused_before_any_unit_is_read(world: dict[str, Any]) -> None:
    from verinet.gateway.recalls import MAX_ACKNOWLEDGED_UNITS

    units = [{"gtin": world["hosted_gtin"], "serial": f"S{n}"} for n in range(MAX_ACKNOWLEDGED_UNITS + 1)]
    problem = problem_of(world["wholesaler"].post("/v1/recalls/rc_unknown/acknowledgements", json={"units": units, "action": "quarantined"}))
    assert problem["code"] == "recall.too_many"
    assert str(MAX_ACKNOWLEDGED_UNITS) in problem["detail"]
