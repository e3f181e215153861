"""verinet.csv_cells: the one way verinet writes CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import doctest
import io

import pytest

import verinet.csv_cells
from verinet.csv_cells import FORMULA_STARTS, safe_cell, safe_writer


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","x")', "+SUM(A1)", "-2+3", "@SUM(1)", "\t=1", "\r=1", "\uff1d1+1", "'=1"],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_single_quote_in_front(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell(value)[1:] == value  # dropping the one added quote gives the value back


@pytest.mark.parametrize("value", ["LOT-1", "00614141000012", "2026-11-25T10:00:00+00:00", "", "a=b", "x-1", 42, None])
def test_every_other_cell_is_written_as_it_is(value: object) -> None:
    assert safe_cell(value) == ("" if value is None else str(value))


def test_the_writer_neutralises_every_cell_and_still_quotes_separators() -> None:
    buffer = io.StringIO()
    writer = safe_writer(buffer, lineterminator="\n")
    writer.writerow(["serial", "note"])
    writer.write_dicts(("serial", "note"), [{"serial": "=1+2", "note": 'a,b "c"'}, {"serial": "S-1"}])
    assert buffer.getvalue() == 'serial,note\n\'=1+2,"a,b ""c"""\nS-1,\n'
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert all(cell[:1] not in FORMULA_STARTS - {"'"} for row in rows for cell in row)


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(verinet.csv_cells).failed == 0
