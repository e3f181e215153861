"""The directory routes and the ``verinet directory`` CLI: who may write which entry, what is
stored and answered (never a credential), validation, bulk import with a per-line report."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Client, RunningNetwork
from verinet.network import with_check_digit

REDIS_BACKENDS = ("standalone", "cluster")
REMOTE_GLN = "0614141000005"
SECRET = "vn_secret-credential-of-the-remote"


def gtin_under(prefix: str, item: int = 1) -> str:
    return with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))


def remote(url: str = "https://vrs.example.net", **extra: Any) -> dict[str, Any]:
    return {"route": "remote", "url": url, "responder_gln": REMOTE_GLN, "credential": SECRET, **extra}


@pytest.fixture(scope="module")
def parties(network: RunningNetwork) -> dict[str, Any]:
    out: dict[str, Any] = {"admin": network.admin}
    for role in ("wholesaler", "dispenser", "network"):
        out[role] = network.add_partner([role])[1]
    mine, out["manufacturer"] = network.add_partner(["manufacturer"])
    other, out["other_manufacturer"] = network.add_partner(["manufacturer"])
    out["prefix"] = mine["company_prefixes"][0]
    out["id"] = mine["id"]
    out["other_prefix"] = other["company_prefixes"][0]
    out["no_token"] = network.client(None)
    return out


def routes(prefix: str) -> list[tuple[str, str, Any]]:
    """Every directory route, aimed at entries under ``prefix``."""
    gtin = gtin_under(prefix)
    return [
        ("PUT", f"/v1/directory/gtins/{gtin}", remote()),
        ("GET", f"/v1/directory/gtins/{gtin}", None),
        ("DELETE", f"/v1/directory/gtins/{gtin}", None),
        ("PUT", f"/v1/directory/prefixes/{prefix}", remote()),
        ("GET", f"/v1/directory/prefixes/{prefix}", None),
        ("DELETE", f"/v1/directory/prefixes/{prefix}", None),
        ("POST", "/v1/directory/import", {"entries": [{"key": prefix, **remote()}]}),
        ("POST", "/v1/directory/check", {}),
    ]


def send(client: Client, method: str, path: str, body: Any) -> Any:
    return client.request(method, path, json=body) if body is not None else client.request(method, path)


# -- authorization ------------------------------------------------------------------------------


def test_every_directory_route_refuses_a_request_without_a_token_with_401(parties: dict[str, Any]) -> None:
    for method, path, body in routes(parties["prefix"]):
        answer = send(parties["no_token"], method, path, body)
        assert answer.status_code == 401, (method, path)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["wholesaler", "dispenser", "network"])
def test_every_directory_route_refuses_trading_roles_with_403(parties: dict[str, Any], role: str) -> None:
    for method, path, body in routes(parties["prefix"]):
        answer = send(parties[role], method, path, body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["code"] == "auth.role"


def test_a_manufacturer_may_not_run_the_endpoint_check(parties: dict[str, Any]) -> None:
    answer = parties["manufacturer"].post("/v1/directory/check", json={})
    assert answer.status_code == 403
    assert answer.json()["code"] == "auth.role"


def test_a_manufacturer_is_refused_entries_under_a_foreign_prefix_with_403(parties: dict[str, Any]) -> None:
    foreign = parties["other_prefix"]
    for method, path, body in routes(foreign):
        if path.endswith(("/import", "/check")):
            continue
        answer = send(parties["manufacturer"], method, path, body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["code"] == "directory.foreign_prefix"
    # a shorter prefix would cover other manufacturers' GTINs too
    answer = parties["manufacturer"].put(f"/v1/directory/prefixes/{parties['prefix'][:4]}", json=remote())
    assert answer.status_code == 403


def test_a_manufacturer_writes_reads_and_deletes_entries_under_its_own_prefix(parties: dict[str, Any]) -> None:
    mfr = parties["manufacturer"]
    prefix = parties["prefix"]
    for path in (f"/v1/directory/prefixes/{prefix}", f"/v1/directory/prefixes/{prefix}9", f"/v1/directory/gtins/{gtin_under(prefix, 7)}"):
        put = mfr.put(path, json=remote())
        assert put.status_code == 201, put.text
        assert put.json()["owner"] == parties["id"]
        assert mfr.put(path, json=remote()).status_code == 200  # replaced
        assert mfr.get(path).status_code == 200
        assert mfr.delete(path).status_code == 204
        assert mfr.get(path).status_code == 404
        assert mfr.delete(path).status_code == 404


def test_an_admin_edits_any_entry_and_may_name_its_owner(parties: dict[str, Any]) -> None:
    admin = parties["admin"]
    path = f"/v1/directory/prefixes/{parties['other_prefix']}"
    answer = admin.put(path, json=remote(owner=parties["id"]))
    assert answer.status_code == 201, answer.text
    assert answer.json()["owner"] == parties["id"]
    unknown = admin.put(path, json=remote(owner="p_0000000000000000"))
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "owner"
    assert admin.delete(path).status_code == 204


def test_a_manufacturer_may_not_name_another_owner(parties: dict[str, Any]) -> None:
    answer = parties["manufacturer"].put(f"/v1/directory/prefixes/{parties['prefix']}", json=remote(owner="p_someone_else"))
    assert answer.status_code == 403
    assert answer.json()["code"] == "directory.owner"


# -- what is stored and answered ------------------------------------------------------------------


def test_the_credential_is_stored_but_never_answered(parties: dict[str, Any]) -> None:
    admin = parties["admin"]
    path = f"/v1/directory/prefixes/{parties['prefix']}5"
    put = admin.put(path, json=remote(expires_at="2031-01-01T00:00:00Z"))
    got = admin.get(path)
    for answer in (put, got):
        assert SECRET not in answer.text
        assert answer.json() == {
            "kind": "prefix",
            "key": parties["prefix"] + "5",
            "owner": parties["admin"].request("GET", "/v1/partners/me").json()["id"],
            "route": "remote",
            "url": "https://vrs.example.net",
            "responder_gln": REMOTE_GLN,
            "credential_set": True,
            "expires_at": "2031-01-01T00:00:00Z",
            "updated_at": answer.json()["updated_at"],
        }
    without = admin.put(path, json={"route": "remote", "url": "https://vrs.example.net/lms/", "responder_gln": REMOTE_GLN})
    assert without.json()["credential_set"] is False
    assert without.json()["url"] == "https://vrs.example.net/lms"  # one trailing slash less, no double slash later
    hosted = admin.put(path, json={"route": "hosted", "responder_gln": REMOTE_GLN})
    assert hosted.json()["route"] == "hosted" and "url" not in hosted.json()
    assert admin.delete(path).status_code == 204


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"route": "sideways"}, "route", "route.invalid"),
        ({"route": ["remote"]}, "route", "body.field_type"),
        ({"route": "remote", "url": {"a": 1}, "responder_gln": REMOTE_GLN}, "url", "body.field_type"),
        ({"route": "remote", "url": [[[[[]]]]], "responder_gln": REMOTE_GLN}, "url", "body.field_type"),
        ({"route": "remote", "credential": 7, "url": "https://x.example", "responder_gln": REMOTE_GLN}, "credential", "body.field_type"),
        ({"route": "remote", "responder_gln": REMOTE_GLN}, "url", "route.url"),
        ({"route": "remote", "url": "ftp://x.example", "responder_gln": REMOTE_GLN}, "url", "route.url"),
        ({"route": "remote", "url": "https://user:pw@x.example", "responder_gln": REMOTE_GLN}, "url", "route.url"),
        ({"route": "remote", "url": "https://x.example/?a=1", "responder_gln": REMOTE_GLN}, "url", "route.url"),
        ({"route": "remote", "url": "https://x.example"}, "responder_gln", "gln.missing"),
        ({"route": "remote", "url": "https://x.example", "responder_gln": "0614141000006"}, "responder_gln", "gln.check_digit"),
        ({"route": "remote", "url": "https://x.example", "responder_gln": REMOTE_GLN, "credential": "two words"}, "credential", "route.credential"),
        ({"route": "remote", "url": "https://x.example", "responder_gln": REMOTE_GLN, "expires_at": "2031-01-01T00:00:00"}, "expires_at", "time.format"),
        ({"route": "remote", "url": "https://x.example", "responder_gln": REMOTE_GLN, "expires_at": "soon"}, "expires_at", "time.format"),
        ({"route": "hosted", "url": "https://x.example"}, "url", "route.hosted_with_url"),
        ({"route": "hosted", "responderGLN": REMOTE_GLN}, "responderGLN", "body.unknown_field"),
    ],
)
def test_a_malformed_entry_is_refused_with_400_naming_the_field(parties: dict[str, Any], body: dict[str, Any], field: str, code: str) -> None:
    answer = parties["admin"].put(f"/v1/directory/prefixes/{parties['prefix']}3", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == code
    assert answer.json()["field"] == field


@pytest.mark.parametrize("url", ["https://alice:s3cret-pw@vrs.example.net", "https://vrs.example.net/?token=s3cret-pw", "https://vrs.example.net/#s3cret-pw"])
def test_a_refused_url_is_not_echoed_with_the_secret_it_carries(parties: dict[str, Any], url: str) -> None:
    answer = parties["admin"].put(f"/v1/directory/prefixes/{parties['prefix']}3", json={"route": "remote", "url": url, "responder_gln": REMOTE_GLN})
    assert answer.status_code == 400
    assert answer.json()["code"] == "route.url"
    assert "s3cret-pw" not in answer.text


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/directory/gtins/00614141000013", "gtin"), ("/v1/directory/gtins/123", "gtin"), ("/v1/directory/prefixes/12a4", "prefix"), ("/v1/directory/prefixes/123", "prefix")],
)
def test_a_malformed_key_is_refused_with_400(parties: dict[str, Any], path: str, field: str) -> None:
    answer = parties["admin"].get(path)
    assert answer.status_code == 400
    assert answer.json()["field"] == field


# -- bulk import ---------------------------------------------------------------------------------


def test_an_import_judges_each_entry_on_its_own(parties: dict[str, Any]) -> None:
    prefix = parties["prefix"]
    entries = [
        {"key": prefix + "71", **remote()},
        {"kind": "gtin", "key": gtin_under(prefix, 71), "route": "hosted", "responder_gln": REMOTE_GLN},
        {"key": parties["other_prefix"] + "1", **remote()},  # foreign
        {"key": prefix + "72", "route": "remote", "url": "nope", "responder_gln": REMOTE_GLN},
        "not an object",
        {"key": prefix + "71", **remote(url="https://other.example")},  # again: replaced
    ]
    answer = parties["manufacturer"].post("/v1/directory/import", json={"entries": entries})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert {k: report[k] for k in ("received", "stored", "created", "replaced", "refused")} == {
        "received": 6, "stored": 3, "created": 2, "replaced": 1, "refused": 3,
    }
    results = report["results"]
    assert [r["ok"] for r in results] == [True, True, False, False, False, True]
    assert results[2]["code"] == "directory.foreign_prefix"
    assert results[3]["code"] == "route.url" and results[3]["field"] == "entries[3].url"
    assert results[4]["code"] == "body.shape"
    assert SECRET not in answer.text
    assert parties["manufacturer"].get(f"/v1/directory/prefixes/{prefix}71").json()["url"] == "https://other.example"


def test_an_ndjson_import_refuses_a_line_that_is_not_json_and_keeps_the_others(parties: dict[str, Any]) -> None:
    prefix = parties["prefix"]
    lines = [json.dumps({"key": prefix + "81", **remote()}), "", "{broken", json.dumps({"key": prefix + "82", **remote()})]
    answer = parties["manufacturer"].post(
        "/v1/directory/import", data="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["field"] == "line 3"


@pytest.mark.parametrize("body", [{}, {"entries": []}, {"entries": "x"}, {"packs": [1]}])
def test_an_import_without_entries_is_400(parties: dict[str, Any], body: Any) -> None:
    assert parties["admin"].post("/v1/directory/import", json=body).status_code == 400


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def as_admin(network: RunningNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERINET_URL", network.url)
    monkeypatch.setenv("VERINET_TOKEN", network.network.info["admin_token"])


def test_the_cli_puts_gets_and_deletes_an_entry_with_a_credential_from_the_environment(
    parties: dict[str, Any], as_admin: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from verinet.cli import main

    prefix = parties["prefix"] + "91"
    monkeypatch.setenv("REMOTE_TOKEN", SECRET)
    assert main(["directory", "put", "prefix", prefix, "--route", "remote", "--url", "https://vrs.example.net", "--responder-gln", REMOTE_GLN, "--credential-env", "REMOTE_TOKEN"]) == 0
    put = json.loads(capsys.readouterr().out)
    assert put["credential_set"] is True and put["key"] == prefix
    assert main(["directory", "get", "prefix", prefix]) == 0
    shown = capsys.readouterr().out
    assert json.loads(shown)["url"] == "https://vrs.example.net" and SECRET not in shown
    assert main(["directory", "delete", "prefix", prefix]) == 0
    assert f"Deleted prefix {prefix}" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="404"):
        main(["directory", "get", "prefix", prefix])


def test_the_cli_imports_a_csv_file_in_chunks_with_a_progress_bar_and_a_line_report(
    parties: dict[str, Any], as_admin: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from verinet.cli import main

    prefix = parties["prefix"]
    path = tmp_path / "directory.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "key", "route", "url", "responder_gln", "credential", "expires_at"])
        for n in range(25):
            writer.writerow(["prefix", f"{prefix}{n:02d}", "remote", f"https://vrs{n}.example.net", REMOTE_GLN, SECRET, ""])
        writer.writerow(["gtin", gtin_under(prefix, 5), "hosted", "", REMOTE_GLN, "", ""])
        writer.writerow([])
        writer.writerow(["prefix", "12", "remote", "https://x.example", REMOTE_GLN, "", ""])  # line 29: too short
        writer.writerow(["prefix", f"{prefix}99", "remote", "https://x.example", "0614141000006", "", ""])  # bad GLN
    report = tmp_path / "report.csv"
    code = main(["directory", "import", str(path), "--chunk", "10", "--report", str(report)])
    captured = capsys.readouterr()
    assert code == 1
    assert "28 entries: 26 stored, 2 refused." in captured.err
    assert "entries" in captured.err  # the progress bar (tqdm writes to stderr)
    assert "line 29: prefix 12: refused: prefix.format" in captured.out
    rows = list(csv.DictReader(report.open()))
    assert len(rows) == 28
    assert rows[0] == {"line": "2", "entry": f"prefix {prefix}00", "ok": "yes", "outcome": "created"}
    assert rows[-1]["line"] == "30" and rows[-1]["ok"] == "no" and "gln.check_digit" in rows[-1]["outcome"]
    assert parties["admin"].get(f"/v1/directory/prefixes/{prefix}24").json()["credential_set"] is True


def test_the_cli_imports_json_lines_and_reports_every_line_without_a_report_file(
    parties: dict[str, Any], as_admin: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from verinet.cli import main

    prefix = parties["prefix"]
    path = tmp_path / "directory.jsonl"
    path.write_text(
        json.dumps({"key": prefix + "61", **remote()}) + "\n"
        + "[1, 2]\n"
        + "\n"
        + json.dumps({"key": prefix + "61", **remote()}) + "\n"
    )
    assert main(["directory", "import", str(path), "--no-progress"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"line 1: prefix {prefix}61: created",
        "line 2: -: refused: expected a JSON object, got list",
        f"line 4: prefix {prefix}61: replaced",
    ]
