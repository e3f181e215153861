"""Form detection, separators, Digital Link rules, conversions, dates and field validators."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import importlib
import json

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import (
    ProductIdentifier,
    check_digit,
    expiry_matches,
    parse,
    parse_digital_link,
    parse_element_string,
    parse_expiry,
    parse_hri,
    validate_gln,
    validate_gtin,
    validate_lot,
    validate_serial,
)
from verinet.identifiers._tables import AI_TABLE

GTIN = "09506000134352"
PACK_AIS = {"01": GTIN, "17": "261200", "10": "ABC123", "21": "SN0001"}
JAN_2026 = dt.date(2026, 1, 15)


# -- forms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "form", "symbology"),
    [
        (f"]d201{GTIN}1726120010ABC123\x1d21SN0001", "element_string", "]d2"),
        (f"01{GTIN}1726120010ABC123\x1d21SN0001", "element_string", None),
        (f"]Q301{GTIN}1726120010ABC123\x1d21SN0001", "element_string", "]Q3"),
        (f"]C101{GTIN}1726120010ABC123\x1d21SN0001", "element_string", "]C1"),
        (f"(01){GTIN}(17)261200(10)ABC123(21)SN0001", "hri", None),
        (f"https://id.gs1.org/01/{GTIN}/10/ABC123/21/SN0001?17=261200", "digital_link", None),
        (f"]d1https://id.gs1.org/01/{GTIN}/10/ABC123/21/SN0001?17=261200", "digital_link", "]d1"),
        (f"]Q1https://id.gs1.org/01/{GTIN}/10/ABC123/21/SN0001?17=261200", "digital_link", "]Q1"),
    ],
)
def test_each_form_of_the_same_pack_reads_the_same_fields(
    text: str, form: str, symbology: str | None
) -> None:
    pi = parse(text, today=JAN_2026)
    assert (pi.form, pi.symbology) == (form, symbology)
    assert pi.ais == PACK_AIS
    assert (pi.gtin, pi.lot, pi.serial, pi.expiry) == (GTIN, "ABC123", "SN0001", "261200")
    assert pi.expiry_date == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("text", "gtin"),
    [
        ("96385074", "00000096385074"),  # GTIN-8 starting with a variable-length AI
        ("036000291452", "00036000291452"),  # GTIN-12
        ("5901234123457", "05901234123457"),  # GTIN-13
        ("4006381333931", "04006381333931"),  # GTIN-13 that also reads as AI (400)
        ("17123456101234", "17123456101234"),  # GTIN-14 that also reads as (17)(10)
        (GTIN, GTIN),
        (f"]E0{GTIN[1:]}", GTIN),
        ("]E496385074", "00000096385074"),
        (f"]I1{GTIN}", GTIN),
    ],
)
def test_bare_or_linear_gtin_is_read_as_gtin_14(text: str, gtin: str) -> None:
    pi = parse(text)
    assert (pi.form, pi.gtin, pi.ais) == ("gtin", gtin, {"01": gtin})


def test_eight_digits_that_read_as_a_date_element_string_are_one() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse("11120230")  # also a valid GTIN-8, but reads as (11) 30 Feb 2012
    assert caught.value.code == "date.invalid"


def test_fourteen_digits_with_a_bad_check_digit_report_the_gtin_error() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse("12345678901232")
    assert caught.value.code == "gtin.check_digit"


def test_trailing_enter_from_a_keyboard_wedge_is_ignored() -> None:
    assert parse(f"]d201{GTIN}10ABC\r\n").lot == "ABC"


def test_other_whitespace_is_not_trimmed() -> None:
    with pytest.raises(IdentifierError):
        parse(f" 01{GTIN}")


# -- FNC1 separators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "separator",
    ["\x1d", "<GS>", "<gs>", "{GS}", "[GS]", "<FNC1>", "{FNC1}", "^]", "\\x1d", "\\x1D", "\\u001d"],
)
def test_gs_separator_is_accepted_as_ascii_29_and_as_spelled_by_scanners(separator: str) -> None:
    pi = parse(f"]d201{GTIN}17261231{separator}10ABC123{separator}21SN0001{separator}")
    assert (pi.lot, pi.serial, pi.expiry) == ("ABC123", "SN0001", "261231")


def test_leading_and_repeated_separators_are_tolerated() -> None:
    assert parse(f"\x1d01{GTIN}\x1d\x1d10ABC").lot == "ABC"


def test_without_separator_a_variable_length_value_runs_to_the_end() -> None:
    assert parse(f"01{GTIN}10ABC21SN").ais == {"01": GTIN, "10": "ABC21SN"}


# -- HRI ---------------------------------------------------------------------------------------


def test_a_parenthesis_inside_an_hri_value_must_be_escaped() -> None:
    """As the GS1 Syntax Engine and zint read HRI (zint backend/tests/test_gs1.c refuses
    ``(10)()``): an unescaped '(' starts an AI; ``\\(`` is a parenthesis in the value."""
    with pytest.raises(IdentifierError) as caught:
        parse(f"(01){GTIN}(10)AB(C)")
    assert (caught.value.code, caught.value.position) == ("hri.escape", 24)
    assert parse(f"(01){GTIN}(10)AB\\(C)").lot == "AB(C)"
    assert parse(f"(01){GTIN}(10)AB)C").lot == "AB)C"  # a ')' alone needs no escape


def test_hri_written_from_a_value_with_parentheses_reads_back_the_same() -> None:
    text = f"(01){GTIN}(10)A\\(\\(B"
    pi = parse(text)
    assert pi.lot == "A((B"
    assert pi.as_hri() == text


def test_hri_value_with_an_escaped_ai_lookalike_keeps_it() -> None:
    assert parse(f"(01){GTIN}(10)A\\(21)B").lot == "A(21)B"


def test_hri_must_start_with_an_ai() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_hri("aaa(17)221231")
    assert caught.value.code == "input.unrecognised"


# -- Digital Link ------------------------------------------------------------------------------


def test_lms_request_with_convenience_alphas_and_extra_parameters() -> None:
    uri = (
        f"https://vrs.example/api/verify/gtin/{GTIN}/lot/AB%2F12/ser/SN0001?exp=261200"
        "&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0614141000012"
        "&corrUUID=21EC2020-3AEA-4069-A2DD-08002B30309D"
    )
    pi = parse(uri, today=JAN_2026)
    assert pi.ais == {"01": GTIN, "10": "AB/12", "21": "SN0001", "17": "261200"}
    assert pi.extra_query == {
        "linkType": "verificationService",
        "context": "dscsaSaleableReturn",
        "reqGLN": "0614141000012",
        "corrUUID": "21EC2020-3AEA-4069-A2DD-08002B30309D",
    }


def test_digital_link_plus_is_a_literal_plus_not_a_space() -> None:
    assert parse(f"https://id.gs1.org/01/{GTIN}/10/A+B").lot == "A+B"


def test_digital_link_query_may_use_semicolons() -> None:
    pi = parse(f"https://id.gs1.org/01/{GTIN}?17=261231;99=X", today=JAN_2026)
    assert pi.ais == {"01": GTIN, "17": "261231", "99": "X"}


def test_digital_link_upper_case_scheme_and_host_are_accepted() -> None:
    assert parse(f"HTTPS://ID.GS1.ORG/01/{GTIN}").gtin == GTIN


def test_digital_link_pads_a_gtin_13_to_gtin_14() -> None:
    assert parse(f"https://id.gs1.org/01/{GTIN[1:]}").gtin == GTIN


def test_digital_link_prefix_path_may_look_like_an_ai() -> None:
    pi = parse(f"https://example.com/01/stem/01/{GTIN}/21/X")
    assert pi.ais == {"01": GTIN, "21": "X"}


def test_digital_link_with_tpx_allows_lot_in_the_query() -> None:
    pi = parse(f"https://example.com/01/{GTIN}/235/TPX1?10=L1")
    assert pi.ais == {"01": GTIN, "235": "TPX1", "10": "L1"}


def test_digital_link_repeated_ai_is_rejected_even_with_the_same_value() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_digital_link(f"https://id.gs1.org/01/{GTIN}?01={GTIN}")
    assert caught.value.code == "dl.invalid"


def test_digital_link_reader_rejects_a_bare_gtin() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_digital_link(GTIN)
    assert caught.value.code == "dl.invalid"


def test_element_string_reader_rejects_a_digital_link_symbology() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_element_string(f"]Q1https://id.gs1.org/01/{GTIN}")
    assert caught.value.code == "input.symbology"


# -- conversions and output --------------------------------------------------------------------


def test_conversions_of_a_pack() -> None:
    pi = parse(f"(01){GTIN}(10)AB/1(21)SN0001(17)261200(714)1234567")
    assert pi.as_element_string() == f"01{GTIN}1726120010AB/1\x1d21SN0001\x1d7141234567"
    assert pi.as_element_string("<GS>") == f"01{GTIN}1726120010AB/1<GS>21SN0001<GS>7141234567"
    assert pi.as_hri() == f"(01){GTIN}(10)AB/1(21)SN0001(17)261200(714)1234567"
    assert pi.as_digital_link() == (
        f"https://id.gs1.org/01/{GTIN}/10/AB%2F1/21/SN0001?17=261200&714=1234567"
    )
    assert pi.as_digital_link("https://example.com/dl/") == (
        f"https://example.com/dl/01/{GTIN}/10/AB%2F1/21/SN0001?17=261200&714=1234567"
    )
    assert pi.nhrn == {"714": "1234567"}


def test_digital_link_keeps_extra_query_parameters_when_asked() -> None:
    pi = parse(f"https://id.gs1.org/01/{GTIN}?linkType=gs1:verificationService")
    assert pi.as_digital_link() == f"https://id.gs1.org/01/{GTIN}"
    assert pi.as_digital_link(extra_query=True) == (
        f"https://id.gs1.org/01/{GTIN}?linkType=gs1%3AverificationService"
    )


def test_identifier_without_a_primary_key_has_no_digital_link() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse("901").as_digital_link()
    assert caught.value.code == "dl.invalid"


def test_as_dict_is_json_ready() -> None:
    pi = parse(f"]d201{GTIN}1726120010ABC\x1d21SN1", today=JAN_2026)
    assert json.loads(json.dumps(pi.as_dict())) == {
        "form": "element_string",
        "symbology": "]d2",
        "gtin": GTIN,
        "serial": "SN1",
        "lot": "ABC",
        "expiry": "261200",
        "expiry_date": "2026-12-31",
        "nhrn": {},
        "ais": {"01": GTIN, "17": "261200", "10": "ABC", "21": "SN1"},
        "dates": {"17": "2026-12-31"},
        "extra_query": {},
        "hints": [],
    }


def test_product_identifier_is_frozen_and_hashable() -> None:
    pi = parse(f"01{GTIN}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pi.gtin = "x"  # type: ignore[misc]
    assert hash(pi) == hash(parse(f"\x1d01{GTIN}"))
    assert pi == ProductIdentifier(form="element_string", gtin=GTIN, ais={"01": GTIN})
    assert len({pi, parse(f"01{GTIN}")}) == 1


# -- dates -------------------------------------------------------------------------------------


def test_expiry_day_00_is_kept_verbatim_and_resolved_to_the_last_day() -> None:
    pi = parse(f"01{GTIN}17240200", today=JAN_2026)
    assert (pi.expiry, pi.expiry_date) == ("240200", dt.date(2024, 2, 29))


@pytest.mark.parametrize(
    ("year_now", "expected"),
    [(2026, dt.date(1999, 12, 31)), (2048, dt.date(1999, 12, 31)), (2049, dt.date(2099, 12, 31))],
)
def test_century_follows_the_gs1_sliding_window(year_now: int, expected: dt.date) -> None:
    pi = parse(f"01{GTIN}17991231", today=dt.date(year_now, 6, 1))
    assert pi.expiry_date == expected


def test_century_window_places_fifty_years_ahead_in_this_century() -> None:
    assert parse_expiry("760101", today=JAN_2026) == dt.date(2076, 1, 1)
    assert parse_expiry("770101", today=JAN_2026) == dt.date(1977, 1, 1)


def test_production_date_is_resolved_into_dates() -> None:
    pi = parse(f"01{GTIN}11250615", today=JAN_2026)
    assert pi.dates == {"11": dt.date(2025, 6, 15)}


def test_expiry_date_and_time_checks_the_hour() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse(f"(01){GTIN}(7003)2612312460")
    assert caught.value.code == "date.invalid"
    assert "hour of 00-23, got 24" in caught.value.message


@pytest.mark.parametrize(
    ("stored", "given", "matches"),
    [
        ("261231", "261231", True),
        ("261200", "261231", True),
        ("261231", "261200", True),
        ("240200", "240229", True),
        ("261200", "261230", False),
        ("261231", "271231", False),
        ("261231", "", False),
        ("", "", True),
        ("261340", "261231", False),
    ],
)
def test_expiry_matches_compares_day_00_as_the_months_last_day(
    stored: str, given: str, matches: bool
) -> None:
    assert expiry_matches(stored, given) is matches


def test_parse_expiry_rejects_text_that_is_not_six_digits() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_expiry("2612")
    assert caught.value.code == "date.invalid"


# -- field validators --------------------------------------------------------------------------


def test_gtin_validator_returns_gtin_14() -> None:
    assert validate_gtin("96385074") == "00000096385074"
    assert validate_gtin("036000291452") == "00036000291452"


def test_gln_validator_returns_the_gln() -> None:
    assert validate_gln("9520123456788") == "9520123456788"


def test_check_digit_of_a_gtin_payload() -> None:
    assert check_digit("950600013435") == 2
    assert check_digit("1234567890123") == 1


def test_serial_and_lot_validators_accept_all_of_cset_82() -> None:
    for text in ("!\"%&'()*+,-./:;<=>?", "_09AZaz", "A" * 20):
        assert validate_serial(text) == text
        assert validate_lot(text) == text


def test_lot_validator_reports_the_offending_character_position() -> None:
    with pytest.raises(IdentifierError) as caught:
        validate_lot("ABC#1")
    assert (caught.value.code, caught.value.position) == ("value.charset", 3)


# -- the biip table and docs -------------------------------------------------------------------


def test_biip_ai_table_loads_with_every_format_understood() -> None:
    assert len(AI_TABLE) > 500
    codes = set(AI_TABLE)
    assert not [a for a in codes for b in codes if a != b and b.startswith(a)], "not prefix-free"
    for spec in AI_TABLE.values():
        assert spec.components and 0 < spec.max_len <= 90
        assert spec.min_len <= spec.max_len


@pytest.mark.parametrize(
    "module",
    ["", "._parse", "._model", "._dates", "._values", "._fields"],
)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module("verinet.identifiers" + module))
    assert result.failed == 0
