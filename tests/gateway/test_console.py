"""The web console in real headless Chromium (Debian's package, driven by Playwright) against a
real network: a pharmacy scans and dispenses, a wholesaler runs a tote and acknowledges a recall
task, a manufacturer uploads packs and runs a recall drill. Screenshots of every page go to
test-artifacts/console/ (README shows a copy from docs/console/)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import REPO_ROOT
from tests.gateway.test_epcis_xml import XML, location_element, master_data, xml_document
from verinet.network import with_check_digit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000

LOT, RECALLED_LOT, EXPIRY = "LOT-A", "LOT-R", "301231"
DAY = dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC)


def playwright_or_skip() -> Any:
    """Playwright's sync API, or a skip outside CI when the browser tools are missing (CI installs
    them: tests/gateway/console_tools.sh and the dev extra); in CI a missing tool is a failure."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the Python package playwright")
        sync_playwright = None
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (run tests/gateway/console_tools.sh)")
    if missing:
        message = "Browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def browser(network: Any) -> Iterator[Any]:
    """Chromium, started after the network: Playwright's sync API keeps an event loop running,
    and the network's start-up runs one of its own."""
    sync_playwright = playwright_or_skip()
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        # launch() gives Chromium a new, empty user-data-dir of its own.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def gtin_of(prefix: str, item: int) -> str:
    return with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))


def element_string(gtin: str, lot: str, serial: str) -> str:
    return f"]d201{gtin}17{EXPIRY}10{lot}\x1d21{serial}"


@pytest.fixture(scope="module")
def world(network: Any) -> dict[str, Any]:
    """A manufacturer with one product and 60 packs, a pharmacy and a wholesaler holding some of
    them, and a recalled lot."""
    manufacturer, mclient = network.add_partner(["manufacturer"], name="Acme Pharma")
    gtin = gtin_of(manufacturer["company_prefixes"][0], 1)
    assert mclient.put(f"/v1/products/{gtin}", json={"name": "Amoxicillin 500 mg capsules"}).status_code == 201
    packs = [
        {"gtin": gtin, "serial": f"G{n:04d}", "lot": LOT, "expiry": EXPIRY, "line": "L1", "commissioned_at": (DAY + dt.timedelta(minutes=n)).isoformat()}
        for n in range(50)
    ] + [{"gtin": gtin, "serial": f"R{n:04d}", "lot": RECALLED_LOT, "expiry": EXPIRY, "line": "L2"} for n in range(10)]
    assert mclient.post("/v1/packs/commission", json={"packs": packs}).json()["stored"] == len(packs)
    pharmacy, pclient = network.add_partner(["dispenser"], name="Riverside Pharmacy")
    wholesaler, wclient = network.add_partner(["wholesaler"], name="Northern Wholesale")
    held = [{k: p[k] for k in ("gtin", "serial", "lot", "expiry")} for p in packs[30:40] + packs[50:53]]
    assert wclient.post("/v1/packs/verify", json={"packs": held, "possession_attested": True}).json()["count"] == len(held)
    # The wholesaler names its site, as EPCIS Location master data does: the console shows the name beside the GLN.
    for client, gln, name in ((wclient, wholesaler["glns"][0], "Northern Wholesale DC"), (pclient, pharmacy["glns"][0], "Riverside Pharmacy, High Street")):
        site = location_element(gln, name=name, city="Leeds", countryCode="GB")
        named = client.post("/v1/events", data=xml_document(header=master_data([], [site])), headers={"Content-Type": XML})
        assert named.status_code == 200, named.text
    recall = mclient.post("/v1/recalls", json={"gtins": [gtin], "lots": [RECALLED_LOT], "class": "II", "reason": "Out-of-specification dissolution", "depth": "retail"})
    assert recall.status_code == 201, recall.text
    return {
        "gtin": gtin,
        "prefix": manufacturer["company_prefixes"][0],
        "tokens": {"manufacturer": manufacturer["token"], "dispenser": pharmacy["token"], "wholesaler": wholesaler["token"]},
        "names": {"manufacturer": "Acme Pharma", "dispenser": "Riverside Pharmacy", "wholesaler": "Northern Wholesale"},
        "clients": {"manufacturer": mclient, "dispenser": pclient, "wholesaler": wclient},
        "wholesaler_id": wholesaler["id"],
        "wholesaler_gln": wholesaler["glns"][0],
        "pharmacy_gln": pharmacy["glns"][0],
    }


class Console:
    """One signed-in browser tab, with the checks every page gets: no script error and no
    Content-Security-Policy violation."""

    def __init__(self, browser: Any, url: str, viewport: dict[str, int] = DESKTOP) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.url = url
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def open(self) -> Console:
        self.page.goto(self.url + "/console")
        return self

    def sign_in(self, token: str) -> Console:
        self.open()
        self.page.get_by_label("Partner token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator("#whoami").wait_for(state="visible")
        return self

    def go(self, page: str) -> None:
        self.page.locator(f'#nav a[data-page="{page}"]').click()
        self.page.locator(f"#page-{page}").wait_for(state="visible")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


@pytest.fixture(scope="module")
def tabs(browser: Any, network: Any, world: dict[str, Any]) -> Iterator[dict[str, Console]]:
    opened: dict[str, Console] = {}

    class Tabs(dict[str, Console]):
        def __missing__(self, role: str) -> Console:
            tab = Console(browser, network.url).sign_in(world["tokens"][role])
            opened[role] = tab
            self[role] = tab
            return tab

    yield Tabs()
    for tab in opened.values():
        tab.close()


def result(tab: Console) -> Any:
    return tab.page.locator("#scan-result")


def scan(tab: Console, text: str) -> None:
    """Pastes or types a scan and presses Enter, like a keyboard-wedge scanner ending in CR."""
    panel = result(tab)
    before = panel.get_attribute("data-icon"), panel.inner_text()
    field = tab.page.locator("#scan-input")
    field.fill(text)
    field.press("Enter")
    tab.page.wait_for_function(
        "([icon, text]) => { const p = document.getElementById('scan-result');"
        " return !p.hasAttribute('aria-busy') && (p.getAttribute('data-icon') !== icon || p.innerText !== text); }",
        arg=list(before),
    )


def test_the_console_is_public_self_contained_and_served_with_strict_headers(network: Any) -> None:
    page = requests.get(network.url + "/console", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert {a.split("?")[0] for a in assets} == {"/console/app.js", "/console/app.css", "/console/favicon.svg"}
    for asset in assets:
        answer = requests.get(network.url + asset, timeout=10)
        assert answer.status_code == 200, asset
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"] == policy
        again = requests.get(network.url + asset, headers={"If-None-Match": answer.headers["ETag"]}, timeout=10)
        assert again.status_code == 304
        # Nothing from another origin: no CDN, no web font, no absolute URL in a request.
        assert not re.search(r"""(src=|href=|url\(|@import|fetch\()\s*["']?(https?:)?//""", answer.text), asset
    # The script is ES modules: each import names the same version, so a page load is one set.
    (version,) = {a.split("?v=")[1] for a in assets}
    entry = requests.get(network.url + f"/console/app.js?v={version}", timeout=10).text
    imported = re.findall(r"from '\./([a-z-]+\.js)\?v=([0-9a-f]+)'", entry)
    assert len(imported) >= 8 and {v for _, v in imported} == {version}
    for module, _ in imported:
        answer = requests.get(network.url + f"/console/{module}?v={version}", timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/javascript"), module
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    unversioned = requests.get(network.url + "/console/app.js", timeout=10)
    assert unversioned.headers["Cache-Control"] == "no-cache"
    assert requests.get(network.url + "/console/nope.js", timeout=10).status_code == 404
    assert requests.get(network.url + "/console/console.py", timeout=10).status_code == 404  # only the named files
    slash = requests.get(network.url + "/console/", timeout=10, allow_redirects=False)
    assert (slash.status_code, slash.headers["Location"]) == (308, "/console")


def test_signing_in_shows_who_you_are_and_the_pages_of_your_roles(browser: Any, network: Any, world: dict[str, Any]) -> None:
    tab = Console(browser, network.url).open()
    page = tab.page
    page.get_by_label("Partner token").wait_for()
    tab.shot("01-sign-in")
    page.get_by_label("Partner token").fill("vn_not_a_real_token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("This token was not accepted").wait_for()
    page.get_by_label("Partner token").fill(world["tokens"]["dispenser"])
    page.keyboard.press("Enter")
    page.locator("#whoami-name").wait_for(state="visible")
    assert page.locator("#whoami-name").inner_text() == "Riverside Pharmacy"
    assert page.locator("#whoami-roles").inner_text() == "dispenser"
    visible = page.locator("#nav li:not([hidden]) a").evaluate_all("links => links.map(a => a.dataset.page)")
    assert visible == ["scan", "tote", "history", "tasks", "alerts"]
    # The states the scan desk offers are the API's role matrix for a dispenser, read at sign-in.
    offered = page.locator("#scan-state option").evaluate_all("options => options.map(o => o.value)")
    assert offered == world["clients"]["dispenser"].get("/v1/packs/roles").json()["roles"]["dispenser"]["states"]
    assert offered == ["supplied", "destroyed", "sample"]
    # The scanner can start at once: the scan field has the focus.
    assert page.evaluate("document.activeElement.id") == "scan-input"
    assert page.evaluate("sessionStorage.getItem('verinet.console.token')") == world["tokens"]["dispenser"]
    assert page.evaluate("Object.keys(localStorage).filter(k => localStorage.getItem(k).includes('vn_'))") == []
    # A reload keeps the session (this tab only); signing out forgets the token.
    page.reload()
    page.locator("#whoami-name").wait_for(state="visible")
    page.get_by_role("button", name="Sign out").click()
    page.locator("#page-signin").wait_for(state="visible")
    assert page.evaluate("sessionStorage.getItem('verinet.console.token')") is None
    tab.close()


def test_the_scan_desk_answers_a_genuine_pack_a_recalled_one_and_a_bad_scan(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["dispenser"]
    page = tab.page
    tab.shot("02-scan-desk")
    # A keyboard-wedge scanner: characters as keystrokes, GS as Ctrl+], then Enter.
    field = page.locator("#scan-input")
    field.click()
    field.press_sequentially(f"]d201{world['gtin']}17{EXPIRY}10{LOT}")
    page.keyboard.press("Control+BracketRight")
    field.press_sequentially("21G0001")
    assert page.locator("#scan-echo .gs").count() == 1
    field.press("Enter")
    panel = result(tab)
    page.wait_for_function("() => document.getElementById('scan-result').dataset.kind === 'genuine'")
    assert "Genuine and active" in panel.inner_text()
    assert "You may dispense this pack." in panel.inner_text()
    assert page.get_by_role("button", name="Dispense this pack").is_visible()
    tab.shot("03-scan-genuine")

    # A pasted GS1 Digital Link of a unit in a recalled lot.
    scan(tab, f"https://id.gs1.org/01/{world['gtin']}/10/{RECALLED_LOT}/21/R0001?17={EXPIRY}")
    assert panel.get_attribute("data-kind") == "recalled"
    assert "Quarantine it and follow the recall notice" in panel.inner_text()
    assert page.get_by_role("button", name="Dispense this pack").count() == 0
    tab.shot("04-scan-recalled")

    # A scanner that drops the GS: the lot swallows the serial. The parser's hint says so.
    scan(tab, f"01{world['gtin']}17{EXPIRY}10{LOT}21G0002")
    assert panel.get_attribute("data-kind") == "badscan"
    text = panel.inner_text()
    assert "Bad scan" in text
    assert "GS (FNC1) separator after (10) seems to be missing" in text
    assert "with the hint below" in text and panel.locator(".hint").count() >= 1
    assert text.count("seems to be missing") == 1  # said once, as the hint
    tab.shot("05-scan-bad")

    # A wrong check digit: the parser's message and the position it points at; no hint, so the
    # panel promises none.
    wrong = world["gtin"][:-1] + str((int(world["gtin"][-1]) + 1) % 10)
    scan(tab, f"01{wrong}17{EXPIRY}10{LOT}\x1d21G0003")
    assert panel.get_attribute("data-kind") == "badscan"
    assert "expected a check digit" in panel.inner_text()
    assert panel.locator("mark").count() == 1
    assert panel.locator(".hint").count() == 0 and "hint below" not in panel.inner_text()

    # A batch that does not match the serial raises an alert, and the panel names it.
    scan(tab, element_string(world["gtin"], "LOT-B", "G0004"))
    assert panel.get_attribute("data-kind") == "alert"
    alert_id = panel.locator(".alert-id").inner_text()
    assert alert_id and f"Alert {alert_id}" in panel.inner_text()
    world["alert_id"] = alert_id
    tab.shot("06-scan-alert")


def test_a_pharmacist_dispenses_undoes_and_sees_a_repeat_as_already_dispensed_here(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["dispenser"]
    page = tab.page
    panel = result(tab)
    scan(tab, element_string(world["gtin"], LOT, "G0010"))
    assert panel.get_attribute("data-kind") == "genuine"
    page.get_by_role("button", name="Dispense this pack").click()
    page.wait_for_function("() => document.getElementById('scan-result').dataset.kind === 'decommissioned'")
    assert "Dispensed" in panel.inner_text()
    assert page.evaluate("document.activeElement.id") == "scan-input"
    tab.shot("07-dispensed")
    page.get_by_role("button", name="Undo (reactivate the pack)").click()
    page.wait_for_function("() => document.getElementById('scan-result').dataset.kind === 'reactivated'")
    assert "active again" in panel.inner_text()
    lms = world["clients"]["dispenser"].post("/v1/packs/verify", json={"packs": [{"gtin": world["gtin"], "serial": "G0010"}]}).json()
    assert lms["results"][0]["state"] == "active"

    # Dispense on every scan, then scan the same pack again in verify mode.
    page.get_by_label("Decommission", exact=True).check()
    assert page.locator("#scan-submit").inner_text() == "Dispense"
    scan(tab, element_string(world["gtin"], LOT, "G0011"))
    assert panel.get_attribute("data-kind") == "decommissioned"
    page.get_by_label("Verify", exact=True).check()
    scan(tab, element_string(world["gtin"], LOT, "G0011"))
    assert panel.get_attribute("data-kind") == "inactiveHere"
    assert "Already dispensed here" in panel.inner_text()
    tab.shot("08-already-dispensed-here")

    tab.go("history")
    rows = page.locator("#history-table tbody tr")
    assert rows.count() >= 8
    assert "Already dispensed here" in rows.nth(0).inner_text()
    tab.shot("09-history")


def test_a_pack_this_pharmacy_dispensed_at_another_till_is_named_so_with_its_date_and_undo(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["dispenser"]
    page = tab.page
    panel = result(tab)
    tab.go("scan")
    page.get_by_label("Verify", exact=True).check()
    # Dispensed through the API, as another till would: only the pack's history knows who did it.
    pharmacy = world["clients"]["dispenser"]
    for serial, state in (("G0045", "supplied"), ("G0046", "destroyed")):
        done = pharmacy.post("/v1/packs/decommission", json={"state": state, "packs": [{"gtin": world["gtin"], "serial": serial}]}).json()
        assert done["results"][0]["ok"], done
    scan(tab, element_string(world["gtin"], LOT, "G0045"))
    assert panel.get_attribute("data-kind") == "inactiveHere"
    text = panel.inner_text()
    assert "Already dispensed here" in text and "This pharmacy dispensed" in text and "undo it" in text
    assert "31 Dec 2030" in text and "301231" not in text  # the expiry as a date
    # Plain words on screen; the code folded under "Details".
    assert "VERINET_PACK_INACTIVE" not in text and "supplied (dispensed)" in text
    panel.locator("details.code-details summary").click()
    assert "VERINET_PACK_INACTIVE" in panel.inner_text()
    tab.shot("21-dispensed-by-this-pharmacy")
    page.get_by_role("button", name="Undo (reactivate the pack)").click()
    page.wait_for_function("() => document.getElementById('scan-result').dataset.kind === 'reactivated'")

    # Destroyed is for good: named, and no Undo offered.
    scan(tab, element_string(world["gtin"], LOT, "G0046"))
    assert panel.get_attribute("data-kind") == "inactiveHere"
    assert "Already destroyed here" in panel.inner_text() and "undo" not in panel.inner_text().lower()
    assert page.get_by_role("button", name="Undo (reactivate the pack)").count() == 0

    # Decommissioned here as destroyed: no Undo either; as a sample: Undo offered.
    page.get_by_label("Decommission", exact=True).check()
    page.locator("#scan-state").select_option("destroyed")
    scan(tab, element_string(world["gtin"], LOT, "G0047"))
    assert panel.get_attribute("data-kind") == "decommissioned" and "cannot be undone" in panel.inner_text()
    assert page.get_by_role("button", name="Undo (reactivate the pack)").count() == 0
    page.locator("#scan-state").select_option("sample")
    scan(tab, element_string(world["gtin"], LOT, "G0048"))
    assert panel.get_attribute("data-kind") == "decommissioned"
    assert page.get_by_role("button", name="Undo (reactivate the pack)").is_visible()
    page.locator("#scan-state").select_option("supplied")
    page.get_by_label("Verify", exact=True).check()


def test_a_wholesaler_runs_a_tote_in_one_request_and_gets_a_summary(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["wholesaler"]
    page = tab.page
    tab.go("tote")
    field = page.locator("#tote-input")
    scans = [element_string(world["gtin"], LOT, f"G{n:04d}") for n in range(20, 25)]
    scans.append(f"01{world['gtin']}17{EXPIRY}10{LOT}<GS>21G0025")  # GS typed as <GS>
    scans.append(element_string(world["gtin"], RECALLED_LOT, "R0005"))
    scans.append(element_string(world["gtin"], LOT, "UNKNOWN99"))
    scans.append(f"01{world['gtin']}17{EXPIRY}10{LOT}21G0026")  # no GS
    for text in [*scans, scans[0]]:  # the first one twice: the tote keeps one
        field.fill(text)
        field.press("Enter")
    page.get_by_text("already in the tote").wait_for()
    assert page.locator("#tote-list li").count() == len(scans)
    tab.shot("10-tote-filled")
    page.locator("#tote-send").click()
    page.locator("#tote-summary table").wait_for()
    summary = page.locator("#tote-summary")
    assert summary.locator("h2").inner_text() == f"Verify: 6 of {len(scans)} packs OK"
    tiles = {
        t.split("\n")[1].strip(): int(t.split("\n")[0].replace(",", "")) for t in summary.locator(".summary-tiles li").all_inner_texts()
    }
    assert tiles == {"Genuine and active": 6, "Recalled or withdrawn": 1, "Alerts raised": 1, "Bad scans": 1}
    assert summary.locator("tbody tr").count() == len(scans)
    assert page.evaluate("document.activeElement.id") == "tote-summary-title"
    tab.shot("11-tote-summary")


def test_a_manufacturer_registers_a_product_and_uploads_packs_with_a_row_report(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["manufacturer"]
    page = tab.page
    tab.go("products")
    second = gtin_of(world["prefix"], 2)
    page.get_by_label("GTIN (14 digits)").fill(second)
    page.get_by_label("Name", exact=True).fill("Amoxicillin 250 mg/5 ml suspension")
    page.get_by_role("button", name="Save the product").click()
    page.get_by_text("Product registered.").wait_for()
    page.get_by_label("GTIN or prefix").fill(second)
    page.get_by_role("button", name="Look it up").click()
    page.get_by_text(f"Found: gtin {second}").wait_for()
    tab.shot("12-products")

    tab.go("commission")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["gtin", "serial", "lot", "expiry", "line", "commissioned_at"])
    for n in range(2400):
        writer.writerow([second, f"S{n:05d}", "LOT-S1", EXPIRY, "L7", (DAY + dt.timedelta(seconds=n)).isoformat()])
    writer.writerow([second, "BAD SERIAL", "LOT-S1", EXPIRY, "L7", ""])  # a space is not allowed
    writer.writerow([second, "S00001", "LOT-OTHER", EXPIRY, "L7", ""])  # same serial, another lot
    writer.writerow([second, "S99999", "LOT-S1", "301399", "L7", ""])  # month 13
    formula = '=HYPERLINK("http://evil.example","x")'
    writer.writerow([formula, "S99998", "LOT-S1", EXPIRY, "L7", ""])  # not a GTIN, and a formula in a spreadsheet
    page.get_by_label("File of packs (CSV or JSON lines)").set_input_files(
        files=[{"name": "suspension-lot-s1.csv", "mimeType": "text/csv", "buffer": buffer.getvalue().encode()}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Upload report").wait_for()
    progress = page.locator("#commission-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "2404"
    tiles = page.locator("#commission-report .summary-tiles").inner_text()
    assert re.search(r"2,400\s+stored", tiles) and re.search(r"4\s+refused", tiles)
    rows = page.locator("#commission-report tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["2402", "2403", "2404", "2405"]
    assert "pack.conflict" in rows[1]
    tab.shot("13-commission-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the error report (CSV)").click()
    assert download.value.suggested_filename == "suspension-lot-s1-errors.csv"
    report = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["line"] for r in report] == ["2402", "2403", "2404", "2405"]
    assert report[3]["gtin"] == "'" + formula  # a spreadsheet shows it as text instead of running it

    # JSON lines, uploaded again: stored packs count as already there; a broken line is reported.
    lines = [f'{{"gtin": "{second}", "serial": "S{n:05d}", "lot": "LOT-S1", "expiry": "{EXPIRY}"}}' for n in range(2)]
    page.get_by_label("File of packs (CSV or JSON lines)").set_input_files(
        files=[{"name": "again.jsonl", "mimeType": "application/x-ndjson", "buffer": "\n".join([lines[0], "{not json", lines[1]]).encode()}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Done: 2 packs read").wait_for()
    tiles = page.locator("#commission-report .summary-tiles").inner_text()
    assert re.search(r"2\s+already there", tiles) and re.search(r"1\s+refused", tiles)
    assert page.locator("#commission-report tbody tr").all_inner_texts()[0].split("\t")[:1] == ["2"]


def test_a_manufacturer_previews_the_scope_publishes_a_drill_and_sees_its_chart(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["manufacturer"]
    page = tab.page
    tab.go("recalls")
    form = page.locator("#recall-form")
    form.get_by_label("GTINs (one a line)").fill(world["gtin"])
    form.get_by_label("Production line").fill("L1")
    form.get_by_label("Made from (UTC)").fill("2026-11-03T08:00:00")
    form.get_by_label("Made before (UTC)").fill("2026-11-03T09:00:00")
    form.get_by_label("Class", exact=True).select_option("II")
    form.get_by_label("Reason", exact=True).fill("Annual recall drill: line L1, morning shift")
    form.get_by_label("Drill: notify and measure, change no pack").check()
    page.locator("#preview-units").wait_for()
    assert page.locator("#preview-units").inner_text() == "50 units in scope"
    preview = page.locator("#recall-preview").inner_text()
    assert "located at 2 locations" in preview and world["wholesaler_id"] in preview
    assert f"Northern Wholesale DC ({world['wholesaler_gln']})" in preview  # the GLN's name, where its partner gave one
    tab.shot("14-recall-form-preview")
    page.get_by_role("button", name="Start the drill").click()
    page.locator("#effectiveness-chart").wait_for()
    world["drill_id"] = page.url.rsplit("/", 1)[1]
    assert page.locator("#recall-title").inner_text().startswith("Recall drill rc_")
    assert page.locator("#stat-units").inner_text() == "50"
    assert page.locator("#effectiveness-chart polyline").count() == 2
    assert f"Northern Wholesale DC ({world['wholesaler_gln']})" in page.locator("section.card:has(#locations-title)").inner_text()
    page.locator("#recall-deliveries p, #recall-deliveries table").first.wait_for()
    tab.shot("15-recall-drill")


def test_a_wholesaler_acknowledges_its_recall_task_and_the_manufacturer_sees_it(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    drill_id = world.get("drill_id")
    if drill_id is None:  # the drill test did not run first: publish it through the API
        drill_id = world["clients"]["manufacturer"].post(
            "/v1/recalls", json={"gtins": [world["gtin"]], "line": "L1", "class": "II", "reason": "drill", "mock": True}
        ).json()["id"]
    tab = tabs["wholesaler"]
    page = tab.page
    tab.go("tasks")
    task = page.locator("article.task", has=page.locator(f"code:text-is('{drill_id}')"))
    task.wait_for()
    assert "DRILL" in task.inner_text()
    assert "RECALL DRILL: exercise only" in task.inner_text() and "What to do:" in task.inner_text()  # the recall notice
    units = task.locator("tbody tr").count()
    assert units == 16  # 10 received at the start, 6 verified in the tote
    assert f"Northern Wholesale DC ({world['wholesaler_gln']})" in task.locator("tbody").inner_text()  # its site by name
    tab.shot("16-recall-tasks")
    with page.expect_download() as download:
        task.get_by_role("button", name="Print the recall letter").click()
    assert download.value.suggested_filename == f"{drill_id}-letter.html"
    letter = Path(download.value.path()).read_text()
    assert "RECALL DRILL: exercise only" in letter and "Date of notice" in letter and "@media print" in letter
    task.get_by_label("What you did with them").select_option("quarantined")
    task.get_by_role("button", name="Acknowledge the selected units").click()
    page.get_by_text(f"Acknowledged {units} of {units} units as quarantined.").wait_for()
    assert page.locator(f"article.task code:text-is('{drill_id}')").count() == 0
    tab.shot("17-recall-task-acknowledged")

    manufacturer = tabs["manufacturer"]
    manufacturer.page.evaluate("id => { location.hash = '#/recall/' + id; }", drill_id)
    manufacturer.page.locator("#page-recall").get_by_role("button", name="Refresh").click()
    manufacturer.page.wait_for_function("n => (document.getElementById('stat-acknowledged') || {}).textContent === String(n)", arg=units)
    acknowledged = manufacturer.page.evaluate(
        "Array.from(document.querySelectorAll('#effectiveness-chart polyline[data-series=acknowledged]')).map(p => p.getAttribute('points'))"
    )
    assert acknowledged and acknowledged[0].split()[0] != acknowledged[0].split()[-1]  # the line rises
    manufacturer.shot("18-recall-drill-acknowledged")
    with manufacturer.page.expect_download() as download:
        manufacturer.page.get_by_role("button", name="Download the report (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert download.value.suggested_filename == f"{drill_id}.csv"
    assert len(rows) == 50 and sum(1 for r in rows if r["action"] == "quarantined") == units


def test_the_manufacturer_sees_the_recalls_status_report_and_its_printable_page(browser: Any, network: Any, tabs: dict[str, Console], world: dict[str, Any]) -> None:
    drill_id = world.get("drill_id") or world["clients"]["manufacturer"].post(
        "/v1/recalls", json={"gtins": [world["gtin"]], "line": "L1", "class": "II", "reason": "drill", "mock": True}
    ).json()["id"]
    manufacturer = tabs["manufacturer"]
    page = manufacturer.page
    page.evaluate("id => { location.hash = '#/recall/' + id; }", drill_id)
    page.locator("#page-recall").get_by_role("button", name="Refresh").click()
    page.locator("#status-report table").wait_for()
    expected = world["clients"]["manufacturer"].get(f"/v1/recalls/{drill_id}/status-report").json()
    assert page.locator("#stat-consignees").inner_text() == str(expected["consignees"])
    assert page.locator("#stat-responding").inner_text() == str(expected["consignees_responding"])
    assert page.locator("#status-report tbody tr").count() == len(expected["consignee_rows"])
    page.locator("#status-report-title").scroll_into_view_if_needed()
    manufacturer.shot("22-recall-status-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the printable status report").click()
    assert download.value.suggested_filename == f"{drill_id}-status.html"
    assert "Consignees not responding" in Path(download.value.path()).read_text()
    # the printable page as a browser renders it for printing, with the manufacturer's token
    status_report = f"{network.url}/v1/recalls/{drill_id}/status-report?format=html"
    with printed(browser, status_report, world["tokens"]["manufacturer"]) as printable:
        assert printable.locator("h1").inner_text() == f"Recall status report: {drill_id}"
        assert printable.locator("table").count() >= 4
        printable.screenshot(path=str(ARTIFACTS / "23-recall-status-report-printable.png"), full_page=True)



@contextmanager
def printed(browser: Any, url: str, token: str) -> Iterator[Any]:
    """The page at ``url``, fetched with ``token``, as a browser renders it for printing."""
    context = browser.new_context(viewport=DESKTOP, extra_http_headers={"Authorization": f"Bearer {token}"})
    try:
        page = context.new_page()
        answer = page.goto(url)
        assert answer is not None and answer.status == 200
        page.emulate_media(media="print")
        yield page
    finally:
        context.close()


def test_a_holder_prints_its_recall_letter_as_a_browser_renders_it(browser: Any, network: Any, world: dict[str, Any]) -> None:
    drill_id = world.get("drill_id") or world["clients"]["manufacturer"].post(
        "/v1/recalls", json={"gtins": [world["gtin"]], "line": "L1", "class": "II", "reason": "drill", "mock": True}
    ).json()["id"]
    letter = f"{network.url}/v1/recalls/{drill_id}/notice?format=html"
    with printed(browser, letter, world["tokens"]["wholesaler"]) as printable:
        assert printable.locator("h1").inner_text() == "RECALL DRILL: exercise only, no stock to act on"
        assert "Northern Wholesale" in printable.locator("p.to").inner_text()
        printable.screenshot(path=str(ARTIFACTS / "24-recall-letter-printable.png"), full_page=True)

def test_a_manufacturer_closes_an_alert_with_a_reason(tabs: dict[str, Console], world: dict[str, Any]) -> None:
    tab = tabs["manufacturer"]
    page = tab.page
    tab.go("alerts")
    page.locator("#alerts-list table").wait_for()
    alert_id = world.get("alert_id") or page.locator("#alerts-list tbody code").first.inner_text()
    page.get_by_role("button", name=f"Close alert {alert_id}").click()
    row = page.locator("#alerts-list tbody tr", has=page.locator(f"code:text-is('{alert_id}')"))
    if world.get("alert_id"):  # raised at the pharmacy's till: its site by name
        assert f"Riverside Pharmacy, High Street ({world['pharmacy_gln']})" in row.inner_text()
    row.get_by_label("Reason").select_option("06b End User - technical error")
    row.get_by_label("Details (optional)").fill("rescanned: keying error at the till")
    tab.shot("19-alerts")
    row.get_by_role("button", name="Close the alert").click()
    page.get_by_text(f"Alert {alert_id} closed").wait_for()
    assert page.locator(f"#alerts-list code:text-is('{alert_id}')").count() == 0
    closed = world["clients"]["manufacturer"].get("/v1/alerts", params={"status": "closed"}).json()["alerts"]
    assert any(a["id"] == alert_id and a["close_reason"].startswith("06b End User") for a in closed)


def test_the_console_works_on_a_small_screen_by_keyboard_with_labels(browser: Any, network: Any, world: dict[str, Any]) -> None:
    tab = Console(browser, network.url, viewport=PHONE).sign_in(world["tokens"]["dispenser"])
    page = tab.page
    scan(tab, element_string(world["gtin"], RECALLED_LOT, "R0002"))
    assert result(tab).get_attribute("data-kind") == "recalled"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    tab.shot("20-phone-scan-recalled")
    # Every visible form control on every page has a label a screen reader announces.
    for name in ("scan", "tote", "history", "tasks", "alerts"):
        tab.page.goto(f"{tab.url}/console#/{name}")
        page.locator(f"#page-{name}").wait_for(state="visible")
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, textarea'))
                .filter(el => el.offsetParent !== null && el.type !== 'hidden')
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map(el => el.id || el.outerHTML)"""
        )
        assert unlabelled == [], name
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    # Keyboard: from the scan field, Tab reaches its button and the mode; focus is visible.
    page.goto(f"{tab.url}/console#/scan")
    page.locator("#page-scan").wait_for(state="visible")
    page.locator("#scan-input").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "scan-submit"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "scan-mode"
    # The skip link is the first stop of the page and shows itself when focused.
    page.locator(".skip-link").focus()
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab.close()


def test_the_console_files_are_package_data() -> None:
    """A wheel (the Docker image) carries the console only if pyproject's package-data names it."""
    import glob
    import tomllib

    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "verinet.gateway.console" in config["packages"]
    console = REPO_ROOT / config["package-dir"]["verinet.gateway"] / "console"
    patterns = config["package-data"].get("*", []) + config["package-data"].get("verinet.gateway.console", [])
    packaged = {path for pattern in patterns for path in glob.glob(pattern, root_dir=console)}
    files = {path.name for path in console.iterdir() if path.name != "__pycache__"}
    assert files and files <= packaged, f"add to [tool.setuptools.package-data]: {sorted(files - packaged)}"


def test_the_console_neutralises_csv_cells_by_the_same_rule_as_every_other_csv_writer() -> None:
    """The console writes its own CSV (the upload error report): its formula characters are
    those of verinet.csv_cells, so a cell that would run in a spreadsheet is quoted the same."""
    import json

    from verinet.csv_cells import FORMULA_STARTS

    modules = sorted((REPO_ROOT / "services" / "gateway" / "console").glob("*.js"))
    source = "\n".join(path.read_text() for path in modules)
    found = re.search(r"const CSV_FORMULA_STARTS = '((?:[^'\\]|\\.)*)';", source)
    assert found, "a console module declares CSV_FORMULA_STARTS"
    in_console = json.loads('"' + found.group(1).replace("\\'", "'") + '"')
    assert set(in_console) == FORMULA_STARTS
    assert "].map(csvCell).join(',')" in source and "`\"${String(v" not in source
