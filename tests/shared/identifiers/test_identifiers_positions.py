"""Error positions and quotes refer to the text as the partner sent it: every position counts
characters of that text (a symbology identifier such as ``]d2`` included), and the fragment an
error quotes is the offending character, value or AI, not the whole scan. Checked on the
invalid cases of the GS1 test vectors (/work/shared/testdata/gs1) and on scanner faults."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import parse, parse_digital_link

TESTDATA = Path(__file__).parents[3].parent / "shared" / "testdata" / "gs1"
if not TESTDATA.is_dir():
    raise FileNotFoundError(f"GS1 test vectors not found at {TESTDATA}: is /work/shared missing?")

GS = "\x1d"


def invalid_cases() -> list[Any]:
    cases = []
    for name in ("element_strings.json", "digital_link.json"):
        for case in json.loads((TESTDATA / name).read_text()):
            if not case["valid"]:
                cases.append(pytest.param(case["input"], id=f"{name[:-5]}:{case['input'][:60]!r}"))
    return cases


def error_of(text: str) -> IdentifierError | None:
    try:
        parse(text)
    except IdentifierError as error:
        return error
    return None


@pytest.mark.parametrize("text", invalid_cases())
def test_an_error_position_points_at_what_it_names_in_the_text_as_sent(text: str) -> None:
    error = error_of(text)
    if error is None:
        return  # a case a strict parser may accept (association_note); the vectors test says which
    if error.position is not None:
        assert 0 <= error.position <= len(text), error.as_dict()
    if error.code.endswith(".charset") and error.position is not None:
        quoted = re.search(r"got '(.)' at position (\d+)", error.message)
        assert quoted is not None, error.message
        assert (text[error.position], int(quoted.group(2))) == (quoted.group(1), error.position)
    if error.code.endswith(".check_digit") and error.position is not None:
        got = re.search(r"got (\d)\.$", error.message)
        assert got is not None and text[error.position] == got.group(1), (text, error.as_dict())


@pytest.mark.parametrize("text", invalid_cases())
def test_an_element_string_error_quotes_the_offending_part_not_the_whole_scan(text: str) -> None:
    error = error_of(text)
    if error is None or text.startswith("http") or len(text) <= 16:
        return
    if error.code.startswith(("ai.", "value.", "lot.", "serial.", "date.")):
        assert repr(text) not in error.message, error.message


@pytest.mark.parametrize("symbology", ["", "]d2", "]C1"])
def test_positions_count_the_symbology_identifier_when_there_is_one(symbology: str) -> None:
    error = error_of(f"{symbology}0109506000134352{GS}10AB C{GS}21SN1")
    assert error is not None and error.code == "value.charset"
    assert error.position == len(symbology) + 16 + 1 + 2 + 2
    assert error.message.endswith(f"got ' ' at position {error.position}.")


def test_a_dropped_gs_that_makes_a_lot_too_long_is_reported_as_a_missing_gs_separator() -> None:
    text = f"]d2010950600013435217261231{GS}10LOT2026ABCDEFGH21DEMO000002"
    error = error_of(text)
    assert error is not None and error.code == "value.too_long"
    assert "missing GS separator before (21)" in error.message
    assert error.position is not None and text[error.position : error.position + 2] == "21"
    assert f"at position {error.position}:" in error.message
    assert error.hint and "GS" in error.hint


def test_a_repeated_ai_names_the_ai_and_the_position_of_its_second_value() -> None:
    text = f"]d20109506000134352{GS}10A{GS}10B{GS}21S"
    error = error_of(text)
    assert error is not None and error.code == "ai.conflict"
    assert error.position is not None and text[error.position] == "B"
    assert repr(text[3:]) not in error.message and "(10)" in error.message


def test_a_missing_value_names_its_ai_and_where_it_stands() -> None:
    text = f"]d20109506000134352{GS}10{GS}21S"
    error = error_of(text)
    assert error is not None and error.code == "ai.missing_value"
    assert error.message.startswith(f"Failed to read AI (10) at position {text.index(GS) + 1}:")
    assert error.position == text.index(GS) + 3


def test_a_padded_gtin_in_a_digital_link_points_at_its_check_digit_in_the_uri() -> None:
    text = "https://id.gs1.org/01/012345678906"
    error = error_of(text)
    assert error is not None and error.code == "gtin.check_digit"
    assert error.position == len(text) - 1


def test_a_short_gtin_in_a_digital_link_query_is_padded_as_in_the_path() -> None:
    """gse dl.c test_dl_parseDLuri: a zero-suppressed (01) data attribute reads as GTIN-14."""
    uri = "https://example.com/8004/9520614141234567?01=2112345678900"
    assert parse_digital_link(uri).ais == {"8004": "9520614141234567", "01": "02112345678900"}
    text = "https://example.com/8004/9520614141234567?01=02345674"
    error = error_of(text)
    assert error is not None and error.code == "gtin.check_digit"
    assert error.position == len(text) - 1
