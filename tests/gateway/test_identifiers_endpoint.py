"""POST /v1/identifiers/parse and `verinet parse`: partners debugging their scanner setup."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

SCAN = "]d2010950600013435217261231\x1d10ABC123\x1d21SN0001"


def test_a_partner_parses_a_raw_scan_into_its_fields(network: Any) -> None:
    _, client = network.add_partner(["dispenser"])
    answer = client.post("/v1/identifiers/parse", json={"data": SCAN})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["gtin"], body["lot"], body["serial"], body["expiry"]) == ("09506000134352", "ABC123", "SN0001", "261231")
    assert body["symbology"] == "]d2"


def test_a_bad_scan_is_a_400_with_code_position_and_hint(network: Any) -> None:
    _, client = network.add_partner(["wholesaler"])
    answer = client.post("/v1/identifiers/parse", json={"data": "01095060001343551726123110ABC"})
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["code"] == "gtin.check_digit"
    assert problem["position"] == 15
    assert "09506000134355" in problem["detail"]
    missing_gs = client.post("/v1/identifiers/parse", json={"data": "010950600013435217261231" + "10ABC12321SN0001"})
    assert missing_gs.status_code in (200, 400)
    assert "hint" in missing_gs.text


def test_parsing_needs_a_token(network: Any) -> None:
    assert network.client(None).post("/v1/identifiers/parse", json={"data": SCAN}).status_code == 401


def test_the_cli_parses_a_scan_typed_with_spelled_separators() -> None:
    typed = SCAN.replace("\x1d", "<GS>")
    run = subprocess.run([sys.executable, "-m", "verinet.cli", "parse", typed], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["serial"] == "SN0001"
    bad = subprocess.run([sys.executable, "-m", "verinet.cli", "parse", "01123"], capture_output=True, text=True, timeout=60, check=False)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("verinet parse: Failed to parse '123' as GTIN (01)")
    assert "code gtin.length" in bad.stderr


def test_the_cli_counts_positions_in_the_text_as_typed_with_spelled_separators() -> None:
    typed = "]d2010950600013435217261231<GS>10AB C<GS>21SN1"
    run = subprocess.run([sys.executable, "-m", "verinet.cli", "parse", typed], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2
    assert f"got ' ' at position {typed.index(' ')}" in run.stderr
    assert f"position {typed.index(' ')})" in run.stderr
