"""Each IdentifierError code, raised for the reason it names, with a biip-style message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import (
    ERROR_CODES,
    check_digit,
    parse,
    parse_digital_link,
    parse_expiry,
    validate_gln,
    validate_gtin,
    validate_lot,
    validate_serial,
)

GTIN = "09506000134352"
PACK = f"01{GTIN}17261231"


def fails(call: Callable[[], object], code: str) -> IdentifierError:
    with pytest.raises(IdentifierError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def test_gtin_of_eleven_digits_is_rejected_for_its_length() -> None:
    error = fails(lambda: validate_gtin("95060001343"), "gtin.length")
    assert error.message == (
        "Failed to parse '95060001343' as GTIN: expected 8, 12, 13 or 14 digits, got 11."
    )


def test_gtin_with_a_wrong_check_digit_names_the_expected_digit() -> None:
    error = fails(lambda: validate_gtin("9506000134355"), "gtin.check_digit")
    assert error.message == (
        "Failed to parse '9506000134355' as GTIN: expected a check digit of 2, got 5."
    )
    assert error.field == "gtin"


def test_gtin_with_superscript_digits_is_rejected_for_its_characters() -> None:
    error = fails(lambda: validate_gtin("0123456789⁰⁰⁰"), "gtin.charset")
    assert error.position == 10


def test_gtin_in_an_element_string_with_a_letter_is_rejected_for_its_characters() -> None:
    error = fails(lambda: parse("01A2345678901231"), "gtin.charset")
    assert (error.ai, error.position) == ("01", 2)


def test_gln_of_twelve_digits_is_rejected_for_its_length() -> None:
    fails(lambda: validate_gln("123456789012"), "gln.length")


def test_gln_with_a_wrong_check_digit_is_rejected() -> None:
    error = fails(lambda: validate_gln("1234567890127"), "gln.check_digit")
    assert "expected a check digit of 8, got 7" in error.message


def test_gln_with_a_letter_o_for_zero_is_rejected_for_its_characters() -> None:
    error = fails(lambda: validate_gln("123456789o128"), "gln.charset")
    assert error.position == 9


def test_gln_in_ai_414_uses_the_gln_codes() -> None:
    fails(lambda: parse_digital_link("https://id.gs1.org/414/9520123456789"), "gln.check_digit")


def test_unknown_application_identifier_is_rejected() -> None:
    error = fails(lambda: parse(f"{PACK}89ABC"), "ai.unknown")
    assert error.position == len(PACK)


def test_same_ai_with_two_values_is_a_conflict() -> None:
    error = fails(lambda: parse(f"{PACK}10A\x1d10B"), "ai.conflict")
    assert error.message == (
        f"Failed to read lot (10): expected one value for lot (10), got 'A' and then 'B' at "
        f"position {len(PACK) + 6}."
    )


def test_same_ai_with_the_same_value_twice_is_tolerated_in_an_element_string() -> None:
    assert parse(f"{PACK}10A\x1d10A").lot == "A"


def test_ai_followed_directly_by_a_separator_has_a_missing_value() -> None:
    error = fails(lambda: parse(f"{PACK}10\x1d21SN1"), "ai.missing_value")
    assert (error.ai, error.position) == ("10", len(PACK) + 2)


def test_serial_without_gtin_breaks_the_association_rules() -> None:
    error = fails(lambda: parse("(21)SN0001"), "ai.association")
    assert error.ai == "21" and error.field == "serial"


def test_lot_with_a_space_is_rejected_with_the_space_position() -> None:
    error = fails(lambda: parse(f"{PACK}10AB C\x1d21SN1"), "value.charset")
    assert (error.ai, error.position, error.field) == ("10", len(PACK) + 4, "lot")
    assert error.message == (
        "Failed to parse 'AB C' as lot (10): expected only CSET 82 characters, got ' ' at "
        "position 28."
    )


def test_serial_of_twenty_one_characters_is_too_long() -> None:
    error = fails(lambda: validate_serial("A" * 21), "value.too_long")
    assert error.message.endswith("expected at most 20 characters, got 21.")


def test_empty_lot_is_too_short() -> None:
    fails(lambda: validate_lot(""), "value.too_short")


def test_expiry_in_month_thirteen_is_an_invalid_date() -> None:
    error = fails(lambda: parse_expiry("251340"), "date.invalid")
    assert error.message == (
        "Failed to parse '251340' as expiry date (17): expected a month of 01-12, got 13."
    )


def test_expiry_on_the_thirty_first_of_april_is_an_invalid_date() -> None:
    error = fails(lambda: parse(f"01{GTIN}17260431"), "date.invalid")
    assert "expected a day of 01-30 (or 00) for 2026-04, got 31" in error.message


def test_digital_link_with_a_broken_percent_escape_is_an_encoding_error() -> None:
    error = fails(lambda: parse(f"https://id.gs1.org/01/{GTIN}/10/AB%2"), "dl.encoding")
    assert error.position is not None


def test_check_digit_of_non_digits_is_a_charset_error() -> None:
    fails(lambda: check_digit("12a"), "value.charset")


#: Input that parse() refuses with a code and nothing else to check, by the fault's code; the id
#: names the fault.
DL = f"https://id.gs1.org/01/{GTIN}"
REFUSED_BY_PARSE = [
    pytest.param(f"{DL}?89=X", "ai.unknown", id="unknown AI in a Digital Link query"),
    pytest.param(f"{DL}?17=", "ai.missing_value", id="empty query value in a Digital Link"),
    pytest.param("17261231", "ai.association", id="expiry without GTIN"),
    pytest.param(f"(01){GTIN}(37)12", "ai.association", id="GTIN with a count of contained items"),
    pytest.param(f"(01){GTIN}(7003)121212121", "value.too_short", id="9-digit expiry date+time"),
    pytest.param("(8003)19506000134352", "value.format", id="GRAI not starting with zero"),
    pytest.param("00376130321109103421", "value.check_digit", id="SSCC with a wrong check digit"),
    pytest.param("https://example.com/foo/123", "dl.invalid", id="Digital Link, no primary key"),
    pytest.param(f"{DL}/10/ABC/22/X", "dl.qualifier_order", id="Digital Link with lot before CPV"),
    pytest.param(f"{DL}/10/AB%FF", "dl.encoding", id="Digital Link with non-UTF-8 percent bytes"),
    pytest.param(f"{DL}/10/AB C", "dl.encoding", id="Digital Link with a raw space"),
    pytest.param("", "input.empty", id="empty text"),
    pytest.param("]d2", "input.empty", id="symbology identifier without data"),
    pytest.param("hello world", "input.unrecognised", id="prose"),
    pytest.param("]Q1hello", "input.unrecognised", id="plain text after a non-GS1 QR identifier"),
    pytest.param("]X9" + PACK, "input.symbology", id="unknown symbology identifier"),
]


@pytest.mark.parametrize(("text", "code"), REFUSED_BY_PARSE)
def test_parse_refuses_the_input_with_the_code_of_its_fault(text: str, code: str) -> None:
    fails(lambda: parse(text), code)


EXAMPLES: dict[str, Callable[[], object]] = {
    "input.empty": lambda: parse(""),
    "input.unrecognised": lambda: parse("hello"),
    "input.symbology": lambda: parse("]X9" + PACK),
    "gtin.length": lambda: validate_gtin("123"),
    "gtin.charset": lambda: validate_gtin("0950600013435x"),
    "gtin.check_digit": lambda: validate_gtin("09506000134353"),
    "gln.length": lambda: validate_gln("123"),
    "gln.charset": lambda: validate_gln("123456789012x"),
    "gln.check_digit": lambda: validate_gln("1234567890127"),
    "ai.unknown": lambda: parse("(89)X"),
    "ai.missing_value": lambda: parse("(10)"),
    "ai.conflict": lambda: parse("(99)A(99)B"),
    "ai.association": lambda: parse("(10)A"),
    "value.charset": lambda: validate_lot("A~"),
    "value.too_long": lambda: validate_lot("A" * 21),
    "value.too_short": lambda: validate_lot(""),
    "value.format": lambda: parse("(8003)19506000134352"),
    "value.check_digit": lambda: parse("(00)376130321109103421"),
    "date.invalid": lambda: parse_expiry("261301"),
    "hri.escape": lambda: parse(f"(01){GTIN}(10)A(B"),
    "dl.invalid": lambda: parse_digital_link("https://a/foo"),
    "dl.qualifier_order": lambda: parse_digital_link(f"https://a/01/{GTIN}/21/S/10/L"),
    "dl.encoding": lambda: parse_digital_link(f"https://a/01/{GTIN}/10/%zz"),
}


def test_every_documented_error_code_has_an_example() -> None:
    assert set(EXAMPLES) == set(ERROR_CODES)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_documented_error_code_is_raised_by_its_example(code: str) -> None:
    error = fails(EXAMPLES[code], code)
    assert error.message.startswith("Failed to ")


def test_error_as_dict_carries_code_ai_position_and_hint() -> None:
    error = fails(lambda: parse(f"{PACK}10AB C"), "value.charset")
    assert error.as_dict() == {
        "code": "value.charset",
        "message": error.message,
        "field": "lot",
        "ai": "10",
        "position": len(PACK) + 4,
    }
