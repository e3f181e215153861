"""Remote-network profiles against a real HTTP server that behaves like QU4RTET VRS
(tests/lookup/fake_quartet.py): each profile setting does its job, answers are checked
against LMS before they are relayed, and credentials are never answered or logged.

One verinet network A; the fake QU4RTET is another network. Each test routes GTINs of the
fake to a profile of its own (its own base path, so its own circuit breaker).
"""

from __future__ import annotations

import itertools
import json
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Client, RunningNetwork, own_network
from tests.lookup.fake_quartet import (
    BASIC_PASSWORD,
    BASIC_USER,
    BUSY_GTIN,
    CLIENT_ID,
    CLIENT_SECRET,
    KNOWN_GTIN,
    QUARTET_GLN,
    SLOW_GTIN,
    TOKEN_KEY,
    FakeQuartet,
    quartet_in_thread,
)
from verinet.identifiers import check_digit
from verinet.internal_tls import ensure_certificates

UNKNOWN_GTIN = "00614141888047"
MARGIN = 1.5  # a busy 2-core machine
SECRETS = (TOKEN_KEY, BASIC_PASSWORD, CLIENT_SECRET)
_bases = itertools.count(1)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return ensure_certificates(tmp_path_factory.mktemp("mtls"), ["localhost", "verinet-a"])


@pytest.fixture(scope="module")
def quartet(certificates: dict[str, Any]) -> Iterator[FakeQuartet]:
    server = certificates["localhost"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(server.ca))
    context.load_cert_chain(str(server.cert), str(server.key))
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no TLS session
    with quartet_in_thread(context) as remote:
        yield remote


a = own_network()


@pytest.fixture(scope="module")
def wholesaler(a: RunningNetwork) -> tuple[str, Client]:
    partner, client = a.add_partner(["wholesaler"])
    return partner["glns"][0], client


def new_base() -> str:
    return f"q{next(_bases)}"


def put_profile(a: RunningNetwork, name: str, body: dict[str, Any], expected: int = 201) -> dict[str, Any]:
    answer = a.admin.put(f"/v1/directory/networks/{name}", json=body)
    assert answer.status_code == expected, answer.text
    return answer.json()  # type: ignore[no-any-return]


def route_through(a: RunningNetwork, gtin: str, network: str) -> None:
    answer = a.admin.put(f"/v1/directory/gtins/{gtin}", json={"route": "remote", "network": network, "responder_gln": QUARTET_GLN})
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["network"] == network


def ask(wholesaler: tuple[str, Client], gtin: str, corr: str | None = None) -> requests.Response:
    gln, client = wholesaler
    params = {"exp": "301231", "linkType": "verificationService", "reqGLN": gln, "corrUUID": corr or str(uuid.uuid4())}
    return client.get(f"/verify/gtin/{gtin}/lot/L1/ser/S1", params=params)


def profile(quartet: FakeQuartet, base: str, **settings: Any) -> dict[str, Any]:
    return {"url": quartet.url(base), "auth": {"scheme": "token", "token": TOKEN_KEY}, **settings}


# -- auth schemes ---------------------------------------------------------------------------------


def test_a_token_profile_is_accepted_by_quartet_and_its_unsigned_answer_is_relayed_signed_by_us(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    base = new_base()
    put_profile(a, "quartet-token", profile(quartet, base))
    route_through(a, KNOWN_GTIN, "quartet-token")
    answer = ask(wholesaler, KNOWN_GTIN, corr="c-token")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True} and answer.json()["responderGLN"] == QUARTET_GLN
    assert answer.headers["Verinet-Responder-Network"] == quartet.url(base)
    assert "Signature" in answer.headers and "Verinet-Remote-Signature" not in answer.headers
    assert "Verinet-Remote-Conformance" not in answer.headers
    (asked,) = quartet.asked(base)
    assert asked.headers["Authorization"] == f"Token {TOKEN_KEY}"
    assert asked.headers["GS1US-Version"] == "1.3.0"


def test_a_basic_profile_is_accepted_and_a_bearer_route_is_refused_as_this_networks_credential(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    base = new_base()
    put_profile(a, "quartet-basic", {"url": quartet.url(base), "auth": {"scheme": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD}})
    route_through(a, KNOWN_GTIN, "quartet-basic")
    assert ask(wholesaler, KNOWN_GTIN).status_code == 200
    # A route without a profile sends its credential as a bearer token, which QU4RTET refuses.
    bearer_base = new_base()
    put = a.admin.put(f"/v1/directory/gtins/{KNOWN_GTIN}", json={"route": "remote", "url": quartet.url(bearer_base), "responder_gln": QUARTET_GLN, "credential": TOKEN_KEY})
    assert put.status_code == 200, put.text
    refused = ask(wholesaler, KNOWN_GTIN)
    assert refused.status_code == 502, refused.text
    assert "refused this network's credential: it answered 401" in refused.text
    assert "requestor's own token was accepted" in refused.text
    assert refused.headers["Verinet-Responder-Network"] == quartet.url(bearer_base)
    assert "WWW-Authenticate" not in refused.headers  # nothing tells the requestor to fix its token


def test_an_oauth2_profile_fetches_one_token_reuses_it_and_renews_it_before_it_expires(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    base = new_base()
    quartet.token_seconds = 2.0  # renewed 1 s early (half its lifetime, under 5 s)
    put_profile(
        a,
        "quartet-oauth",
        {"url": quartet.url(base), "auth": {"scheme": "oauth2", "token_url": f"http://127.0.0.1:{quartet.port}/oauth/token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}},
    )
    route_through(a, KNOWN_GTIN, "quartet-oauth")
    before = len(quartet.tokens_issued)
    for _ in range(3):
        assert ask(wholesaler, KNOWN_GTIN).status_code == 200
    assert len(quartet.tokens_issued) == before + 1
    assert {r.headers["Authorization"] for r in quartet.asked(base)} == {f"Bearer {quartet.tokens_issued[-1]}"}
    time.sleep(1.1)
    assert ask(wholesaler, KNOWN_GTIN).status_code == 200
    assert len(quartet.tokens_issued) == before + 2
    assert quartet.asked(base)[-1].headers["Authorization"] == f"Bearer {quartet.tokens_issued[-1]}"


def test_an_oauth2_profile_with_a_wrong_client_secret_is_this_networks_credential_refused(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    put_profile(
        a,
        "quartet-oauth-bad",
        {"url": quartet.url(new_base()), "auth": {"scheme": "oauth2", "token_url": f"http://127.0.0.1:{quartet.port}/oauth/token", "client_id": CLIENT_ID, "client_secret": "wrong"}},
    )
    route_through(a, KNOWN_GTIN, "quartet-oauth-bad")
    answer = ask(wholesaler, KNOWN_GTIN)
    assert answer.status_code == 502
    assert "refused this network's OAuth2 client credentials" in answer.text


def test_an_mtls_profile_presents_its_client_certificate_and_without_one_the_network_is_unreachable(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client], certificates: dict[str, Any]
) -> None:
    client = certificates["verinet-a"]
    ca_pem = Path(client.ca).read_text()
    base = new_base()
    put_profile(
        a,
        "quartet-mtls",
        {"url": quartet.tls_url(base), "auth": {"scheme": "mtls", "client_cert_pem": Path(client.cert).read_text(), "client_key_pem": Path(client.key).read_text(), "ca_pem": ca_pem}},
    )
    route_through(a, KNOWN_GTIN, "quartet-mtls")
    answer = ask(wholesaler, KNOWN_GTIN)
    assert answer.status_code == 200, answer.text
    assert [r.client_cert for r in quartet.asked(base)] == [True]
    put_profile(a, "quartet-no-cert", {"url": quartet.tls_url(new_base()), "auth": {"scheme": "none", "ca_pem": ca_pem}})
    route_through(a, KNOWN_GTIN, "quartet-no-cert")
    assert ask(wholesaler, KNOWN_GTIN).status_code == 502


# -- deadline and attempts --------------------------------------------------------------------------


def test_a_2_s_remote_answers_under_a_3_s_profile_and_is_504_under_the_default_deadline(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    put_profile(a, "quartet-slow-ok", profile(quartet, new_base(), deadline_seconds=3))
    route_through(a, SLOW_GTIN, "quartet-slow-ok")
    started = time.monotonic()
    answer = ask(wholesaler, SLOW_GTIN)
    assert answer.status_code == 200, answer.text
    assert 2.0 <= time.monotonic() - started < 3 + MARGIN
    put_profile(a, "quartet-slow-default", profile(quartet, new_base()))
    route_through(a, SLOW_GTIN, "quartet-slow-default")
    started = time.monotonic()
    answer = ask(wholesaler, SLOW_GTIN)
    assert answer.status_code == 504, answer.text
    assert "per-hop deadline 0.60 s" in answer.text
    assert time.monotonic() - started < 0.6 + MARGIN


def test_attempts_and_static_headers_follow_the_profile(a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]) -> None:
    once, thrice = new_base(), new_base()
    put_profile(a, "quartet-once", profile(quartet, once, attempts=1, headers={"X-Api-Tenant": "verinet-a"}, lms_version="1.2.0"))
    put_profile(a, "quartet-thrice", profile(quartet, thrice, attempts=3, deadline_seconds=2))
    route_through(a, BUSY_GTIN, "quartet-once")
    assert ask(wholesaler, BUSY_GTIN).status_code == 502
    (asked,) = quartet.asked(once)
    assert asked.headers["X-Api-Tenant"] == "verinet-a" and asked.headers["GS1US-Version"] == "1.2.0"
    route_through(a, BUSY_GTIN, "quartet-thrice")
    assert ask(wholesaler, BUSY_GTIN).status_code == 502
    assert len(quartet.asked(thrice)) == 3


# -- strict relay -------------------------------------------------------------------------------------


def test_quartets_unknown_gtin_answer_is_502_naming_each_deviation_under_a_strict_profile(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    put_profile(a, "quartet-strict", profile(quartet, new_base()))
    route_through(a, UNKNOWN_GTIN, "quartet-strict")
    answer = ask(wholesaler, UNKNOWN_GTIN)
    assert answer.status_code == 502, answer.text
    assert "not an LMS 1.3 answer" in answer.text
    assert "responderGLN '' is not a GLN-13" in answer.text
    assert "'GTIN_not_found' is not in LMS 1.3" in answer.text
    assert '"verified"' not in answer.text


def test_a_lenient_profile_relays_it_with_the_deviations_in_a_signed_header(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    put_profile(a, "quartet-lenient", profile(quartet, new_base(), lenient=True))
    route_through(a, UNKNOWN_GTIN, "quartet-lenient")
    answer = ask(wholesaler, UNKNOWN_GTIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": False, "verificationFailureReason": "GTIN_not_found"}
    assert answer.headers["Verinet-Remote-Conformance"] == "responder_gln.invalid, failure_reason.unknown"
    assert '"verinet-remote-conformance"' in answer.headers["Signature-Input"].lower()


def test_an_answer_from_another_responder_than_the_directory_names_is_flagged(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client]
) -> None:
    put_profile(a, "quartet-other-gln", profile(quartet, new_base()))
    put = a.admin.put(f"/v1/directory/gtins/{KNOWN_GTIN}", json={"route": "remote", "network": "quartet-other-gln", "responder_gln": "0614141999996"})
    assert put.status_code in (200, 201), put.text
    answer = ask(wholesaler, KNOWN_GTIN)
    assert answer.status_code == 502
    assert f"responderGLN '{QUARTET_GLN}' differs from the directory's responder GLN '0614141999996'" in answer.text


# -- administration -----------------------------------------------------------------------------------


def test_a_profile_is_answered_without_its_secrets_and_only_admins_name_one_in_a_route(
    a: RunningNetwork, quartet: FakeQuartet
) -> None:
    stored = put_profile(a, "quartet-secret", {"url": quartet.url(new_base()), "auth": {"scheme": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD}, "deadline_seconds": 1.5})
    again = a.admin.get("/v1/directory/networks/quartet-secret").json()
    listed = a.admin.get("/v1/directory/networks").json()["networks"]
    for shown in (stored, again, *listed):
        assert BASIC_PASSWORD not in str(shown) and TOKEN_KEY not in str(shown)
    assert again["auth"] == {"scheme": "basic", "username": BASIC_USER, "secrets_set": ["password"]}
    assert again["deadline_seconds"] == 1.5 and again["attempts"] == 3 and again["atp"] == {"carriage": "header", "name": "ATP-Presentation"}
    manufacturer, client = a.add_partner(["manufacturer"])
    gtin = "0" + manufacturer["company_prefixes"][0].ljust(12, "0")
    gtin += str(check_digit(gtin))
    refused = client.put(f"/v1/directory/gtins/{gtin}", json={"route": "remote", "network": "quartet-secret", "responder_gln": QUARTET_GLN})
    assert refused.status_code == 403 and refused.json()["code"] == "directory.network_admin_only"
    unknown = a.admin.put(f"/v1/directory/gtins/{KNOWN_GTIN}", json={"route": "remote", "network": "nowhere", "responder_gln": QUARTET_GLN})
    assert unknown.status_code == 400 and unknown.json()["code"] == "directory.network_unknown"


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"url": "ftp://x"}, "url", "absolute http(s) URL"),
        ({"url": "http://x", "deadline_seconds": 6}, "deadline_seconds", "expected 0.05 to 5 seconds"),
        ({"url": "http://x", "auth": {"scheme": "token"}}, "auth.token", "needs 'token'"),
        ({"url": "http://x", "auth": {"scheme": "kerberos"}}, "auth.scheme", "expected one of none, bearer, token, basic, oauth2, mtls"),
        ({"url": "http://x", "headers": {"Authorization": "x"}}, "headers.Authorization", "verinet sets it itself"),
        ({"url": "http://x", "lms_version": "2.0"}, "lms_version", "expected one of 1.0.2"),
        ({"url": "http://x", "atp": {"carriage": "cookie"}}, "atp.carriage", "expected 'header' or 'body'"),
        ({"url": "http://x", "secret": "x"}, "secret", "Unknown fields"),
    ],
)
def test_a_bad_profile_is_400_naming_the_field(a: RunningNetwork, body: dict[str, Any], field: str, needle: str) -> None:
    answer = a.admin.put("/v1/directory/networks/bad-profile", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field and needle in answer.json()["detail"]


def test_directory_check_reports_per_profile_reachability_auth_conformance_latency_and_breaker(
    a: RunningNetwork, quartet: FakeQuartet
) -> None:
    put_profile(a, "quartet-check-good", profile(quartet, new_base()))
    put_profile(a, "quartet-check-refused", {"url": quartet.url(new_base()), "auth": {"scheme": "bearer", "token": "not-quartet"}})
    route_through(a, KNOWN_GTIN, "quartet-check-good")
    route_through(a, SLOW_GTIN, "quartet-check-refused")
    answer = a.admin.post("/v1/directory/check", json={})
    assert answer.status_code == 200, answer.text
    by_network = {probe["network"]: probe for probe in answer.json()["endpoints"]}
    good, refused = by_network["quartet-check-good"], by_network["quartet-check-refused"]
    assert good["reachable"] and good["auth_accepted"] and good["outcome"] == "ok" and good["breaker"] == "closed"
    assert good["latency_ms"] > 0
    assert good["lms_conformant"] is False  # QU4RTET's answer for a serial it does not know
    assert any("GTIN_not_found" in d for d in good["conformance_deviations"])
    assert refused["reachable"] and refused["auth_accepted"] is False and refused["outcome"] == "refused"


def test_credentials_never_reach_the_logs(a: RunningNetwork) -> None:
    logs = "".join(path.read_text(errors="replace") for path in a.network.log_dir.glob("*.log"))
    assert logs, "the services wrote no logs"
    for secret in SECRETS:
        assert secret not in logs


def test_the_cli_puts_a_profile_from_a_file_with_its_secret_from_the_environment_and_lists_it(
    a: RunningNetwork, quartet: FakeQuartet, wholesaler: tuple[str, Client], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from verinet.cli import main

    monkeypatch.setenv("VERINET_URL", a.url)
    monkeypatch.setenv("VERINET_TOKEN", a.network.info["admin_token"])
    monkeypatch.setenv("QUARTET_KEY", TOKEN_KEY)
    file = tmp_path / "quartet-cli.json"
    file.write_text(json.dumps({"url": quartet.url(new_base()), "auth": {"scheme": "token", "token": {"env": "QUARTET_KEY"}}, "deadline_seconds": 2}))
    assert main(["directory", "networks", "put", "quartet-cli", "--file", str(file)]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["auth"] == {"scheme": "token", "secrets_set": ["token"]} and stored["deadline_seconds"] == 2
    assert main(["directory", "put", "gtin", KNOWN_GTIN, "--route", "remote", "--network", "quartet-cli", "--responder-gln", QUARTET_GLN]) == 0
    capsys.readouterr()
    assert ask(wholesaler, KNOWN_GTIN).status_code == 200
    assert main(["directory", "networks", "list"]) == 0
    listed = capsys.readouterr().out
    assert "quartet-cli" in listed and "auth token  deadline 2 s  attempts 3  strict" in listed
    assert TOKEN_KEY not in listed
    main(["directory", "check"])
    assert "network quartet-cli: auth accepted, probe answer responderGLN ''" in capsys.readouterr().out
    imported = tmp_path / "routes.csv"
    imported.write_text(f"key,route,network,responder_gln\n{SLOW_GTIN},remote,quartet-cli,{QUARTET_GLN}\n")
    assert main(["directory", "import", str(imported), "--no-progress"]) == 0
    capsys.readouterr()
    assert a.admin.get(f"/v1/directory/gtins/{SLOW_GTIN}").json()["network"] == "quartet-cli"


def test_a_profile_is_deleted_only_by_an_admin_and_only_once_no_route_names_it(a: RunningNetwork, quartet: FakeQuartet) -> None:
    put_profile(a, "quartet-gone", profile(quartet, new_base()))
    gtin = "00614141777778"
    route_through(a, gtin, "quartet-gone")
    _, wholesaler_client = a.add_partner(["wholesaler"])
    assert wholesaler_client.delete("/v1/directory/networks/quartet-gone").status_code == 403
    in_use = a.admin.delete("/v1/directory/networks/quartet-gone")
    assert in_use.status_code == 409 and in_use.json()["code"] == "network.in_use"
    assert f"gtin {gtin}" in in_use.json()["detail"]
    assert a.admin.get("/v1/directory/networks/quartet-gone").status_code == 200
    assert a.admin.delete(f"/v1/directory/gtins/{gtin}").status_code == 204
    assert a.admin.delete("/v1/directory/networks/quartet-gone").status_code == 204
    assert a.admin.get("/v1/directory/networks/quartet-gone").status_code == 404
    assert "quartet-gone" not in [n["name"] for n in a.admin.get("/v1/directory/networks").json()["networks"]]
    again = a.admin.delete("/v1/directory/networks/quartet-gone")
    assert again.status_code == 404 and again.json()["code"] == "network.not_found"


def test_an_import_file_stores_every_profile_or_none_and_names_each_wrong_entry(
    a: RunningNetwork, quartet: FakeQuartet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from verinet.cli import main

    monkeypatch.setenv("VERINET_URL", a.url)
    monkeypatch.setenv("VERINET_TOKEN", a.network.info["admin_token"])
    monkeypatch.setenv("QUARTET_KEY", TOKEN_KEY)
    good = f"""
- name: imported-one
  url: {quartet.url(new_base())}
  auth: {{scheme: token, token: {{env: QUARTET_KEY}}}}
  deadline_seconds: 2
- name: imported-two
  url: {quartet.url(new_base())}
  auth: {{scheme: basic, username: {BASIC_USER}, password: {BASIC_PASSWORD}}}
"""
    file = tmp_path / "networks.yaml"
    file.write_text(good + "- {name: imported-bad, url: 'ftp://x'}\n- {name: imported-slow, url: 'http://x', deadline_seconds: 6}\n")
    with pytest.raises(SystemExit) as refused:
        main(["directory", "networks", "import", str(file)])
    assert "Nothing imported: 2 of the profiles" in str(refused.value)
    printed = capsys.readouterr().out
    assert "networks[2] 'imported-bad' [url]" in printed and "absolute http(s) URL" in printed
    assert "networks[3] 'imported-slow' [deadline_seconds]" in printed and "expected 0.05 to 5 seconds" in printed
    assert a.admin.get("/v1/directory/networks/imported-one").status_code == 404  # none stored
    over_http = a.admin.post("/v1/directory/networks/import", json={"networks": [{"name": "x", "url": "ftp://x"}]})
    assert over_http.status_code == 400 and over_http.json()["code"] == "network.import_refused"
    assert over_http.json()["entries"][0]["field"] == "url"
    file.write_text(good)
    assert main(["directory", "networks", "import", str(file)]) == 0
    assert capsys.readouterr().out.split() == ["imported-one", "created", "imported-two", "created"]
    one = a.admin.get("/v1/directory/networks/imported-one").json()
    assert one["auth"] == {"scheme": "token", "secrets_set": ["token"]} and one["deadline_seconds"] == 2
    assert main(["directory", "networks", "delete", "imported-two"]) == 0
    assert a.admin.get("/v1/directory/networks/imported-two").status_code == 404


def test_the_cli_sets_shows_and_deletes_a_partners_wallet_never_printing_its_secret(
    a: RunningNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from verinet.cli import main

    monkeypatch.setenv("VERINET_URL", a.url)
    monkeypatch.setenv("VERINET_TOKEN", a.network.info["admin_token"])
    monkeypatch.setenv("WALLET_SECRET", "wallet-secret-from-env")
    partner, _ = a.add_partner(["wholesaler"])
    file = tmp_path / "wallet.json"
    file.write_text(json.dumps({"did": "did:web:wallet.example.net:acme", "url": "https://wallet.example.net", "client_id": "acme", "client_secret": {"env": "WALLET_SECRET"}}))
    assert main(["partners", "wallet", "set", partner["id"], "--file", str(file)]) == 0
    assert main(["partners", "wallet", "show", partner["id"]]) == 0
    printed = capsys.readouterr().out
    assert "wallet-secret-from-env" not in printed and '"client_secret_set": true' in printed and "did:web:wallet.example.net:acme" in printed
    assert main(["partners", "wallet", "delete", partner["id"]]) == 0
    with pytest.raises(SystemExit) as gone:
        main(["partners", "wallet", "show", partner["id"]])
    assert "failed with 404" in str(gone.value)
