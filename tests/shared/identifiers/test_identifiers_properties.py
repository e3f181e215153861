"""Properties on generated input: no stray exceptions, lossless conversions, fast = general."""

from __future__ import annotations

import datetime as dt
import json

from biip.checksums import gs1_standard_check_digit
from biip.gs1_messages import GS1Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verinet.errors import IdentifierError
from verinet.identifiers import (
    ERROR_CODES,
    ProductIdentifier,
    check_digit,
    parse,
    parse_digital_link,
    parse_element_string,
    parse_hri,
)
from verinet.identifiers._parse import _fast_element_string, _parse_any, _read
from verinet.identifiers._tables import CSET82

GTIN = "09506000134352"
READERS = (parse, parse_element_string, parse_hri, parse_digital_link)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies --------------------------------------------------------------------------------

cset82 = "".join(sorted(CSET82))
gtins = st.text("0123456789", min_size=13, max_size=13).map(lambda p: p + str(check_digit(p)))
todays = st.sampled_from([None, dt.date(2026, 1, 15), dt.date(2049, 6, 1), dt.date(2060, 6, 1)])


def _no_spelled_separator(value: str) -> bool:
    # "<GS>" and "<FNC1>" are CSET 82 text that the element-string reader takes for FNC1.
    lowered = value.lower()
    return "<gs>" not in lowered and "<fnc1>" not in lowered


def cset82_text(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(cset82, min_size=1, max_size=max_size).filter(_no_spelled_separator)


@st.composite
def yymmdd(draw: st.DrawFn) -> str:
    date = draw(st.dates(dt.date(1977, 1, 1), dt.date(2076, 12, 31)))
    day = "00" if draw(st.booleans()) else f"{date.day:02d}"
    return f"{date:%y%m}{day}"


identifiers = st.fixed_dictionaries(
    {"01": gtins},
    optional={
        "17": yymmdd(),
        "10": cset82_text(),
        "21": cset82_text(),
        "22": cset82_text(),
        "714": cset82_text(),
        "91": cset82_text(90),
    },
)

FRAGMENTS = [
    "]d2", "]Q3", "]C1", "]e0", "]d1", "]Q1", "]E0", "]E4", "]D2", "+d2", "01", GTIN, "17",
    "261231", "261200", "261340", "10", "21", "22", "235", "00", "414", "254", "8004", "7003",
    "99", "\x1d", "<GS>", "{GS}", "^]", "\\x1d", "(01)", "(10)", "(21)", "(17)", "(", ")", "\\(",
    "https://", "HTTPS://", "http://", "id.gs1.org", "/01/", "/10/", "/21/", "/22/", "/235/",
    "/gtin/", "/lot/", "?17=", "?exp=", "&", ";", "=", "%2F", "%", "%FF", "%C3%9F", "#", "~",
    "ß", "ö", "y", "z", "Y", "Z", " ", "\r\n", "9", "0", "4006381333931", "ABC", "abc",
]  # fmt: skip
gs1ish_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=14).map("".join)


@st.composite
def pharma_scans(draw: st.DrawFn, *, valid: bool) -> str:
    """``[sym]01{gtin}`` + 17/10/21 elements: valid ones, or perturbed ones when not ``valid``."""
    if valid:
        symbology = draw(st.sampled_from(["", "]d2", "]Q3", "]C1", "]e0", "]J1"]))
        gtin = draw(gtins)
        ais = draw(st.lists(st.sampled_from(["17", "10", "21"]), unique=True))
        parts = []
        for index, ai in enumerate(ais):
            if ai == "17":
                parts.append("17" + draw(yymmdd()))
            else:
                last = index == len(ais) - 1
                gs = draw(st.sampled_from(["", "\x1d"])) if last else "\x1d"
                parts.append(ai + draw(cset82_text()) + gs)
        return symbology + "01" + gtin + "".join(parts)
    symbology = draw(st.sampled_from(["", "]d2", "]Q3", "]C1", "]e0", "]J1", "]d1", "]X1", "]D2"]))
    gtin = draw(gtins | st.text("0123456789A", min_size=12, max_size=15))
    values = (
        yymmdd()
        | st.sampled_from(["261340", "260230", "2612", "26123a"])
        | st.text(cset82 + " #~\x1dß", max_size=25)
    )
    elements = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["17", "10", "21", "99", "11", "01"]),
                values,
                st.sampled_from(["", "\x1d", "\x1d\x1d", "<GS>"]),
            ),
            max_size=5,
        )
    )
    trailing = draw(st.sampled_from(["", "\x1d", "\r\n", "<"]))
    return symbology + "01" + gtin + "".join(a + v + s for a, v, s in elements) + trailing


def general_path(text: str, today: dt.date | None) -> ProductIdentifier | None:
    try:
        return _read(_parse_any, text, today)
    except IdentifierError:
        return None


# -- properties --------------------------------------------------------------------------------


def _check_reader_outcome(text: str) -> None:
    for reader in READERS:
        try:
            pi = reader(text)
        except IdentifierError as error:
            assert error.code in ERROR_CODES, error.as_dict()
            assert error.message.startswith("Failed to "), error.message
            continue
        json.dumps(pi.as_dict())
        # Each output is read back with its form's reader: an all-digit element string such as
        # (400)6381333931 is also a GTIN-13 to parse(), which cannot tell them apart.
        assert parse_hri(pi.as_hri()).ais == pi.ais
        if all(map(_no_spelled_separator, pi.ais.values())):
            assert parse_element_string(pi.as_element_string()).ais == pi.ais
            assert parse("]d2" + pi.as_element_string()).ais == pi.ais
        try:
            uri = pi.as_digital_link()
        except IdentifierError as error:
            assert error.code == "dl.invalid"
        else:
            assert parse_digital_link(uri).ais == pi.ais


@SETTINGS
@given(st.text())
def test_parse_raises_nothing_but_identifier_error_on_arbitrary_text(text: str) -> None:
    _check_reader_outcome(text)


@SETTINGS
@given(gs1ish_text)
def test_parse_raises_nothing_but_identifier_error_on_gs1_like_text(text: str) -> None:
    _check_reader_outcome(text)


@SETTINGS
@given(identifiers, todays)
def test_element_string_digital_link_and_hri_round_trip(
    ais: dict[str, str], today: dt.date | None
) -> None:
    fixed = "".join(ai + ais[ai] for ai in ("01", "17") if ai in ais)
    variable = "\x1d".join(ai + value for ai, value in ais.items() if ai not in ("01", "17"))
    from_scan = parse("]d2" + fixed + variable, today=today)
    assert from_scan.ais == ais

    from_link = parse(from_scan.as_digital_link(), today=today)
    from_hri = parse(from_link.as_hri(), today=today)
    from_element_string = parse(from_hri.as_element_string(), today=today)
    for pi in (from_link, from_hri, from_element_string):
        assert pi.ais == ais
        assert (pi.gtin, pi.lot, pi.serial, pi.expiry, pi.expiry_date, pi.nhrn, pi.dates) == (
            from_scan.gtin,
            from_scan.lot,
            from_scan.serial,
            from_scan.expiry,
            from_scan.expiry_date,
            from_scan.nhrn,
            from_scan.dates,
        )
    assert [pi.form for pi in (from_link, from_hri, from_element_string)] == [
        "digital_link",
        "hri",
        "element_string",
    ]


@SETTINGS
@given(pharma_scans(valid=True), todays)
def test_fast_path_reads_every_valid_pharma_scan_like_the_general_path(
    text: str, today: dt.date | None
) -> None:
    fast = _fast_element_string(text, today)
    assert fast is not None, text
    assert fast == general_path(text, today)
    assert parse(text, today=today) == fast


@SETTINGS
@given(pharma_scans(valid=False) | gs1ish_text, todays)
def test_fast_path_never_disagrees_with_the_general_path(text: str, today: dt.date | None) -> None:
    fast = _fast_element_string(text, today)
    if fast is not None:
        assert fast == general_path(text, today)


# -- agreement with biip -----------------------------------------------------------------------


@SETTINGS
@given(st.text("0123456789", min_size=1, max_size=30))
def test_check_digit_agrees_with_biip(digits: str) -> None:
    assert check_digit(digits) == gs1_standard_check_digit(digits)


@SETTINGS
@given(identifiers)
def test_valid_element_string_reads_like_biip_reads_it(ais: dict[str, str]) -> None:
    fixed = "".join(ai + ais[ai] for ai in ("01", "17") if ai in ais)
    variable = "\x1d".join(ai + value for ai, value in ais.items() if ai not in ("01", "17"))
    message = GS1Message.parse(fixed + variable)
    assert {es.ai.ai: es.value for es in message.element_strings} == parse(fixed + variable).ais
