"""A recall status report (21 CFR 7.53) as CSV (one row per consignee, through the shared
spreadsheet-safe writer) and as a printable HTML page, and a holder's recall notice (21 CFR 7.49)
as a printable letter (every value escaped)."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from verinet.csv_cells import safe_writer

CONSIGNEE_COLUMNS = (
    "partner",
    "name",
    "glns",
    "locations",
    "units_held",
    "notified_at",
    "notified_by",
    "responded_at",
    "units_acknowledged",
    "quantity_on_hand",
    "actions",
    "status",
    "reminders",
    "overdue",
)

STYLE = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 13pt; margin: 1.4em 0 .4em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { border: 1px solid #bbb; padding: .25em .4em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n { text-align: right; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: 600; }
@media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def locations_text(locations: Sequence[Mapping[str, str]]) -> str:
    """Locations as "name, address (GLN)" or the GLN alone, separated by "; "."""
    out = []
    for place in locations:
        named = ", ".join(part for part in (place.get("name", ""), place.get("address", "")) if part)
        out.append(f"{named} ({place['gln']})" if named else place["gln"])
    return "; ".join(out)


def actions_text(actions: Mapping[str, int]) -> str:
    return ", ".join(f"{action} {count}" for action, count in actions.items())


def csv_report(report: Mapping[str, Any]) -> str:
    """A header line, then one line per consignee; cells a spreadsheet would run as formulas are
    neutralised (``verinet.csv_cells``)."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, lineterminator="\n")
    writer.writerow(CONSIGNEE_COLUMNS)
    rows = []
    for row in report["consignee_rows"]:
        rows.append(
            {
                **row,
                "glns": " ".join(row["glns"]),
                "locations": locations_text(row["locations"]),
                "quantity_on_hand": "" if row["quantity_on_hand"] is None else row["quantity_on_hand"],
                "actions": actions_text(row["actions"]),
            }
        )
    writer.write_dicts(CONSIGNEE_COLUMNS, rows)
    return buffer.getvalue()


def _when(value: str | None) -> str:
    """An RFC 3339 time as a reader prints it: to the second, in UTC."""
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(headings: Sequence[str], rows: Sequence[Sequence[object]], numeric: frozenset[int] = frozenset()) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(report: Mapping[str, Any]) -> str:
    """The report as one printable page."""
    recall, strategy, checks = report["recall"], report["strategy"], report["effectiveness_checks"]
    estimate = report["estimated_completion"]
    who = {r["partner"]: r for r in report["consignee_rows"]}

    def party(partner: str) -> str:
        return who[partner]["name"] or partner if partner in who else partner

    summary = [
        ("Consignees", report["consignees"]),
        ("Consignees notified", report["consignees_notified"]),
        ("Consignees responding", report["consignees_responding"]),
        ("Consignees not responding", report["consignees_not_responding"]),
        ("Consignees overdue", report["consignees_overdue"]),
        ("Units in the consignees' hands", report["units"]),
        ("Units acknowledged", report["units_acknowledged"]),
        ("Effectiveness checks done / due", f"{checks['done']} / {checks['due']} (level {checks['level']}, {checks['share']:.0%})"),
        ("Estimated completion", (_when(estimate["at"]) or "no estimate") + f" ({estimate['basis']})"),
    ]
    period = report.get("period")
    if period:
        summary += [
            ("Reporting period", f"{_when(period['from'])} to {_when(period['to'])}"),
            ("Notified in the period", period["consignees_notified"]),
            ("Responding in the period", period["consignees_responding"]),
            ("Checks in the period", period["effectiveness_checks"]),
        ]
    facts = [
        ("Recall", recall["id"]),
        ("Class", recall["class"]),
        ("Reason", recall["reason"]),
        ("Status", recall["status"]),
        ("Published", _when(recall["published_at"])),
        ("Depth", strategy["depth"]),
        ("Public warning", f"yes, by {strategy['public_warning_by']}" if strategy["public_warning"] else "no"),
        ("External reference", strategy["external_reference"]),
        ("Contact", strategy["contact"]),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Recall status report {_e(recall['id'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Recall status report: {_e(recall['id'])}</h1>",
        f"<p>As of {_e(_when(report['as_of']))}. Figures are computed from the network's records of custody, notices, acknowledgements and responses.</p>",
        "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>",
        "<h2>Summary</h2>",
        _table(("Figure", "Value"), summary, frozenset({1})),
        "<h2>Consignees notified</h2>",
        _table(("Consignee", "Locations", "Notified", "Method"), [(party(r["partner"]), locations_text(r["locations"]), _when(r["notified_at"]), r["notified_by"]) for r in report["notified"]]),
        "<h2>Consignees responding</h2>",
        _table(
            ("Consignee", "Locations", "Responded", "Units held", "Units acknowledged", "Quantity on hand", "Actions"),
            [
                (party(r["partner"]), locations_text(r["locations"]), _when(r["responded_at"]), r["units_held"], r["units_acknowledged"], r["quantity_on_hand"], actions_text(r["actions"]))
                for r in report["responding"]
            ],
            frozenset({3, 4, 5}),
        ),
        "<h2>Consignees not responding</h2>",
        _table(
            ("Consignee", "Locations", "Units held", "Notified", "Reminders", "Overdue"),
            [
                (party(r["partner"]), locations_text(r["locations"]), r["units_held"], _when(r["notified_at"]), r["reminders"], "yes" if r["overdue"] else "no")
                for r in report["not_responding"]
            ],
            frozenset({2, 4}),
        ),
        "<h2>Effectiveness checks</h2>",
        _table(
            ("Consignee", "When", "Checked by", "How", "Result", "Note"),
            [(party(c["partner"]), _when(c["at"]), c["checked_by"], c["method"], c["result"], c["note"]) for c in checks["checks"]],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def html_letter(letter: Mapping[str, Any]) -> str:
    """A holder's recall notice as one printable letter: the same content as its webhook and
    console task, addressed to the holder and dated when it was notified."""
    recall, holder, notice, form = letter["recall"], letter["holder"], letter["notice"], letter["response_form"]
    products = [(p["gtin"], ", ".join(p["lots"]), p["units"]) for p in notice["products"]]
    facts = [
        ("Recall", recall["id"]),
        ("Class", recall["class"]),
        ("Depth", recall["depth"]),
        ("Reason and hazard", notice["reason"]),
        ("Public warning", f"issued by {notice['public_warning']}" if notice["public_warning"] else "none"),
    ]
    fields = [(name, text) for name, text in form["fields"].items()]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(notice['heading'])}: {_e(recall['id'])}</title>",
        f"<style>{STYLE}{LETTER_STYLE}</style></head><body>",
        f'<p class="to">To: <strong>{_e(holder["name"] or holder["partner"])}</strong> (partner {_e(holder["partner"])})<br>{_e(locations_text(holder["locations"]))}</p>',
        f'<p class="date">Date of notice: {_e(_when(letter["notified_at"]))} (by {_e(letter["notified_by"])})</p>',
        f'<h1 class="urgent">{_e(notice["heading"])}</h1>',
        "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>",
        "<h2>Products you hold</h2>",
        _table(("GTIN", "Lots", "Units"), products, frozenset({2})),
        "<h2>What to do</h2>",
        f"<p>{_e(notice['what_to_do'])}</p>",
        "<h2>How to respond</h2>",
        f"<p>{_e(notice['respond'])}</p>",
        f"<p>Response: POST {_e(form['acknowledge'])} with</p>",
        _table(("Field", "What to give"), fields),
        "<h2>Questions</h2>",
        f"<p>{_e(notice['contact'] or 'the manufacturer that published this recall')}</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


LETTER_STYLE = """
h1.urgent { color: #a00; font-size: 20pt; border: 3px solid #a00; padding: .3em; text-align: center; }
p.to, p.date { margin: 0 0 .6em; }
@media print { h1.urgent { color: #000; border-color: #000; } }
"""
