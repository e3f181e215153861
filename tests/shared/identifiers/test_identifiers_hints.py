"""Hints for the scanner faults behind most EU false alerts (EMVO A2/A3/A52/A68).

A hint on an IdentifierError says what the person at the scanner should fix; a hint on a valid
ProductIdentifier warns that a valid-looking read probably swallowed a field.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import parse, validate_lot, validate_serial
from verinet.identifiers._hints import CAPS_LOCK, KEYBOARD_LAYOUT, US_TO_DE

GTIN = "09506000134352"
EAN13 = "4006381333931"  # a valid EAN-13 of another product


def refused(call: Callable[[], object]) -> IdentifierError:
    with pytest.raises(IdentifierError) as caught:
        call()
    return caught.value


def hint_of(call: Callable[[], object]) -> str:
    error = refused(call)
    assert error.hint is not None, error.as_dict()
    return error.hint


def test_lot_without_separator_before_serial_gets_missing_gs_hint() -> None:
    hint = hint_of(lambda: parse(f"]d201{GTIN}1726123110ABC12321SN00010000000001"))
    assert "GS (FNC1) separator after (10) seems to be missing" in hint
    assert "'ABC123' followed by (21) 'SN00010000000001'" in hint


def test_short_lot_swallowing_the_serial_is_valid_but_warned_about() -> None:
    pi = parse(f"]d201{GTIN}1726123110ABC21SN0001")
    assert (pi.lot, pi.serial) == ("ABC21SN0001", None)
    assert len(pi.hints) == 1
    assert "'ABC' followed by (21) 'SN0001'" in pi.hints[0]


def test_lot_swallowing_the_expiry_is_valid_but_warned_about() -> None:
    pi = parse(f"]d201{GTIN}10ABC12317261231")
    assert pi.expiry is None
    assert "followed by (17) '261231'" in pi.hints[0]


def test_lot_validator_gets_missing_gs_hint_for_a_lot_running_into_a_serial() -> None:
    hint = hint_of(lambda: validate_lot("ABC12321SN00010000000001"))
    assert "followed by (21)" in hint


def test_complete_pack_has_no_hints() -> None:
    assert parse(f"]d201{GTIN}1726123110ABC21\x1d21SN0001").hints == ()


def test_long_numeric_value_gets_no_made_up_separator_hint() -> None:
    assert refused(lambda: parse("(21)123456789012345678901")).hint is None


def test_caps_lock_symbology_identifier_gets_caps_lock_hint() -> None:
    hint = hint_of(lambda: parse(f"]D201{GTIN}1726123110abc123\x1d21sn0001"))
    assert "']D2' looks like the symbology identifier ']d2'" in hint
    assert "Caps Lock" in hint


def test_caps_lock_on_a_digital_link_with_convenience_alphas_gets_caps_lock_hint() -> None:
    uri = f"HTTPS://ID.GS1.ORG/GTIN/{GTIN}/LOT/abc123/SER/sn0001?EXP=261231"
    assert hint_of(lambda: parse(uri)) == CAPS_LOCK


def test_caps_lock_turning_databar_identifier_into_ean_gets_caps_lock_hint() -> None:
    assert hint_of(lambda: parse(f"]E001{GTIN}1726123110abc\x1d21sn")) == CAPS_LOCK


def test_german_layout_symbology_identifier_gets_keyboard_layout_hint() -> None:
    assert hint_of(lambda: parse(f"+d201{GTIN}1726123110ABC\x1d21SN0001")) == KEYBOARD_LAYOUT


def test_us_scanner_on_german_keyboard_with_y_and_z_swapped_gets_keyboard_layout_hint() -> None:
    sent = f"https://id.gs1.org/01/{GTIN}/10/XYZ1/21/SN0001?17=261231"
    typed = sent.translate(US_TO_DE)  # what the German computer shows
    assert "XZY1" in typed
    assert hint_of(lambda: parse(typed)) == KEYBOARD_LAYOUT
    assert "Y/Z" in KEYBOARD_LAYOUT


def test_lot_with_german_sharp_s_for_minus_gets_keyboard_layout_hint() -> None:
    error = refused(lambda: parse(f"01{GTIN}10AB\u00df12"))
    assert (error.code, error.hint) == ("value.charset", KEYBOARD_LAYOUT)


def test_serial_validator_with_german_umlaut_gets_keyboard_layout_hint() -> None:
    # A US scanner sends "SN;1"; a German computer shows "SNö1".
    assert hint_of(lambda: validate_serial("SN\u00f61")) == KEYBOARD_LAYOUT


def test_caret_is_not_mistaken_for_a_keyboard_layout_fault() -> None:
    assert refused(lambda: parse("(10)12345^")).hint is None


def test_linear_ean_glued_to_an_overlong_lot_gets_glued_ean_hint() -> None:
    hint = hint_of(lambda: parse(f"]d201{GTIN}1726123110ABC12345{EAN13}\x1d21SN1"))
    assert f"'{EAN13}', a valid EAN-13" in hint


def test_linear_ean_glued_to_a_short_lot_is_valid_but_warned_about() -> None:
    pi = parse(f"]d201{GTIN}1726123110ABC{EAN13}\x1d21SN1")
    assert pi.lot == f"ABC{EAN13}"
    assert f"'{EAN13}', a valid EAN-13" in pi.hints[0]


def test_packs_own_ean_in_the_lot_is_named_as_such() -> None:
    pi = parse(f"]d201{GTIN}1726123110L1{GTIN[1:]}\x1d21SN1")
    assert "the pack's own GTIN" in pi.hints[0]


def test_lot_validator_gets_glued_ean_hint() -> None:
    assert "valid EAN-13" in hint_of(lambda: validate_lot(f"ABC12345{EAN13}"))


def test_hri_value_with_a_leading_space_gets_spaces_hint() -> None:
    assert "space" in hint_of(lambda: parse(f"(01){GTIN}(10) ABC"))
