"""Cases from a second sweep: jodal/biip's tests (``biip``), gs1/digital-link.js tests/index.js
(``dljs``), the GS1 Syntax Engine's src/c-lib/dl.c (``gse``), the GS1 Barcode Syntax Dictionary
(``dict``), GS1 General Specifications (``GenSpecs``) and healthcare scan examples (GS1 DataMatrix
guideline, EU FMD, US DSCSA: ``hc``).

The first group is what the sweep fixed; the others pin where we agree with those sources, or
differ on purpose (the id says why).
"""

from __future__ import annotations

import datetime as dt

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import parse, parse_digital_link, parse_element_string, parse_hri

TODAY = dt.date(2026, 6, 30)
GTIN = "09506000134352"
GS = "\x1d"


def refused(read: object, text: str, today: dt.date = TODAY) -> IdentifierError:
    assert callable(read)
    with pytest.raises(IdentifierError) as caught:
        read(text, today=today)
    return caught.value


# -- fixed: a date AI with an optional part of the wrong length ---------------------------------

OPTIONAL_PART_WRONG_LENGTH = [
    # (reader, text, position of the stray digits, allowed lengths in the message)
    pytest.param(
        parse_element_string, f"01{GTIN}701103020185", 26, "6 or 10",
        id="biip test_gs1_messages: (7011) 8 digits, too short for the optional time",
    ),
    pytest.param(
        parse_hri, f"(01){GTIN}(7011)2612289", 30, "6 or 10",
        id="dict 7011 N6 [N4]: a date and one more digit (crashed with ValueError)",
    ),
    pytest.param(
        parse_digital_link, f"https://id.gs1.org/01/{GTIN}?7011=261228143", 48, "6 or 10",
        id="dict 7011 N6 [N4]: a date and three more digits in a Digital Link",
    ),
    pytest.param(
        parse_hri, f"(01){GTIN}(7007)26122814", 30, "6 or 12",
        id="dict 7007 N6 [N6]: a date and half of the second date",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("read", "text", "position", "lengths"), OPTIONAL_PART_WRONG_LENGTH)
def test_a_date_whose_optional_part_has_the_wrong_length_is_a_format_error_at_that_part(
    read: object, text: str, position: int, lengths: str
) -> None:
    error = refused(read, text)
    assert (error.code, error.position) == ("value.format", position)
    assert f"expected {lengths} digits" in str(error)


def test_a_complete_optional_time_is_still_read_and_checked() -> None:
    assert parse_hri(f"(01){GTIN}(7011)2612281430", today=TODAY).dates["7011"] == dt.date(
        2026, 12, 28
    )
    assert refused(parse_hri, f"(01){GTIN}(7011)2612281490").code == "date.invalid"


# -- agreements with biip ----------------------------------------------------------------------

BIIP_DATES = [
    pytest.param("15200200", "2020-02-29", id="biip zero day: (15) Feb 2020 is the 29th"),
    pytest.param("15210200", "2021-02-28", id="biip zero day: (15) Feb 2021 is the 28th"),
    pytest.param("17211200", "2021-12-31", id="biip zero day: (17) Dec 2021 is the 31st"),
    pytest.param("15770526", "1977-05-26", id="biip century window: 49 years back"),
    pytest.param("15760526", "2076-05-26", id="biip century window: 50 years ahead"),
]


@pytest.mark.parametrize(("element", "date"), BIIP_DATES)
def test_dates_follow_the_zero_day_rule_and_the_century_window(element: str, date: str) -> None:
    pi = parse_element_string(f"01{GTIN}{element}", today=TODAY)
    assert pi.dates[element[:2]].isoformat() == date


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"01{GTIN}15210526100329{GS}", id="biip: a trailing separator"),
        pytest.param(f"01{GTIN}15210526{GS}100329", id="biip: a separator after a fixed AI"),
        pytest.param(f"01{GTIN}100329{GS}{GS}15210526", id="biip: a doubled separator"),
    ],
)
def test_redundant_separators_are_tolerated(text: str) -> None:
    assert parse_element_string(text, today=TODAY).ais == {
        "01": GTIN, "15": "210526", "10": "0329"
    }  # fmt: skip


def test_a_variable_length_lot_without_a_separator_takes_the_rest() -> None:
    # biip test_gs1_messages: the (15) after the lot becomes part of the lot
    assert parse_element_string(f"01{GTIN}10032915210526", today=TODAY).lot == "032915210526"


@pytest.mark.parametrize(
    ("read", "text", "code"),
    [
        pytest.param(parse_element_string, f"01{GTIN}4324070102" "9999", "date.invalid",
                     id="biip reads 9999 as no time; dict (4324) hhmi refuses hour 99"),
        pytest.param(parse_element_string, "800307071324001022085952", "value.check_digit",
                     id="biip skips the GRAI check digit; dict (8003) N13,csum: 1, not 2"),
        pytest.param(parse_element_string, f"01{GTIN}10\u0661\u0662\u0663", "value.charset",
                     id="biip non-digits: Arabic-Indic digits are not CSET 82"),
        pytest.param(parse, "\u0665\u0669\u0660\u0661\u0662\u0663\u0664\u0661\u0662\u0663\u0664\u0665\u0667", "input.unrecognised",
                     id="biip gtin test_parse_nonnumeric_value: unicode digits"),
        pytest.param(parse, "]Q3https://example.com/01/614141123452", "input.unrecognised",
                     id="biip test_parse: ]Q3 is GS1 mode, a Digital Link is ]Q1"),
        pytest.param(parse, "  5901234123457 ", "input.unrecognised",
                     id="biip strips blanks; README: nothing but CR/LF is trimmed"),
    ],
)  # fmt: skip
def test_what_biip_tolerates_and_the_standard_does_not_is_refused(
    read: object, text: str, code: str
) -> None:
    assert refused(read, text).code == code


def test_symbology_identifiers_of_biip_select_the_form() -> None:
    assert parse("]E496385074").gtin == "00000096385074"
    assert parse("]I105901234123457").gtin == "05901234123457"
    assert parse("]C1010590123412345715210526", today=TODAY).ais["15"] == "210526"
    assert parse("]e00100123456789012").gtin == "00123456789012"
    assert parse("]Q1https://example.com/01/614141123452/10/ABC123").lot == "ABC123"
    assert refused(parse, "]C0abc").code == "input.symbology"


# -- Digital Link ------------------------------------------------------------------------------

DL_REFUSED = [
    pytest.param("https://example.com/01/01234565/", "dl.invalid",
                 id="dljs accepts a trailing slash; gse dl.c: can't end in slash"),
    pytest.param("https://dlnkd.tn.gg/HxHKVAdpQgZzjr-hCDKigI", "dl.invalid",
                 id="dljs compressed URI: not decompressed, refused"),
    pytest.param("https://id.gs1.org/01/614141123452/10/ABC123/22/123456789",
                 "dl.qualifier_order", id="biip: (22) after (10)"),
    pytest.param("https://id.gs1.org/00/106141412345678908/10/ABC123", "dl.invalid",
                 id="biip: an SSCC has no key qualifier"),
    pytest.param(f"https://example.com/01/{GTIN}?10=ABC123", "dl.invalid",
                 id="gse dl.c: (10) in the query when it could be in the path"),
    pytest.param("https://id.gs1.org/01/614141123452?15=000000", "date.invalid",
                 id="biip: (15) 000000 is no date"),
    pytest.param("https://example.com/01/12345670/10/4512?4321=2", "value.format",
                 id="dljs: (4321) is 0 or 1"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code"), DL_REFUSED)
def test_a_digital_link_the_standard_does_not_allow_is_refused(text: str, code: str) -> None:
    assert refused(parse_digital_link, text).code == code


def test_a_digital_link_keeps_non_ai_parameters_apart_and_pads_short_gtins() -> None:
    pi = parse_digital_link(
        "https://example.com/00/106141412345678908?02=00614141123452&37=25&10=ABC123&foo=bar"
    )  # biip test_as_gs1_message
    assert pi.ais == {
        "00": "106141412345678908",
        "02": "00614141123452",
        "37": "25",
        "10": "ABC123",
    }
    assert pi.extra_query == {"foo": "bar"}
    pi = parse_digital_link("https://example.com/01/614141123452/22/2A/10/ABC123")  # biip
    assert pi.ais == {"01": "00614141123452", "22": "2A", "10": "ABC123"}
    pi = parse_digital_link(  # dljs: linkType and a custom attribute are not AIs
        "https://gs1.evrythng.com/01/9780345418913/10/38737643/21/58943"
        "?15=230911&thngId=U5mQKGDpnymBwQwRakyBqeYh&linkType=test",
        today=TODAY,
    )
    assert (pi.gtin, pi.lot, pi.serial, pi.ais["15"]) == (
        "09780345418913",
        "38737643",
        "58943",
        "230911",
    )
    assert pi.extra_query == {"thngId": "U5mQKGDpnymBwQwRakyBqeYh", "linkType": "test"}
    # gse dl.c: (10) may be a query attribute when the path took the alternative (235)
    pi = parse_digital_link(f"https://id.gs1.org/01/{GTIN}/235/XYZ?10=ABC123")
    assert pi.ais == {"01": GTIN, "235": "XYZ", "10": "ABC123"}


# -- healthcare scans --------------------------------------------------------------------------

HEALTHCARE = [
    pytest.param(f"]d201{GTIN}17261231" f"10ABC123{GS}21SN0001",
                 id="hc EU FMD order (01)(17)(10)(21)"),
    pytest.param(f"]d201{GTIN}21SN0001{GS}17261231" "10ABC123",
                 id="hc US DSCSA order (01)(21)(17)(10)"),
    pytest.param(f"]d2{GS}01{GTIN}17261231{GS}10ABC123{GS}21SN0001",
                 id="hc FNC1 in first position sent as GS, GS after a fixed-length AI"),
    pytest.param(f"]d201{GTIN}714ABC123{GS}17261231" f"10ABC123{GS}21SN0001",
                 id="hc NHRN (714) Portugal AIM before the pack data"),
]  # fmt: skip


@pytest.mark.parametrize("text", HEALTHCARE)
def test_a_pharmaceutical_pack_reads_in_any_order(text: str) -> None:
    pi = parse(text, today=TODAY)
    assert (pi.gtin, pi.lot, pi.serial, pi.expiry_date) == (
        GTIN, "ABC123", "SN0001", dt.date(2026, 12, 31)
    )  # fmt: skip


def test_every_national_healthcare_number_needs_the_gtin() -> None:
    pi = parse_hri(f"(01){GTIN}(21)SN(710)12345678(17)261200(10)L", today=TODAY)
    assert (pi.nhrn, pi.expiry_date) == ({"710": "12345678"}, dt.date(2026, 12, 31))
    assert refused(parse_hri, "(717)ABC123").code == "ai.association"
