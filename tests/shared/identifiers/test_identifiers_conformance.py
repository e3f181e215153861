"""Cases where the parser once disagreed with the GS1 rules, taken from public GS1 test suites.

Each case names its source: gs1/gs1-syntax-engine (``gse``: src/c-lib/ai.c, dl.c, scandata.c),
zint/zint backend/tests/test_gs1.c (``zint``), jodal/biip tests (``biip``), the GS1 Barcode Syntax
Dictionary (``dict``) or the GS1 General Specifications (``GenSpecs``). A stand-alone AI that
needs a GTIN is written after ``(01){GTIN}`` so that the case tests the rule it names.
"""

from __future__ import annotations

import datetime as dt

import pytest

from verinet.errors import IdentifierError
from verinet.identifiers import parse, parse_digital_link, parse_hri

TODAY = dt.date(2026, 6, 30)
GTIN = "09506000134352"
SSCC = "106141411234567897"
ITEM = f"(01){GTIN}"


def refused(read: object, text: str) -> IdentifierError:
    assert callable(read)
    with pytest.raises(IdentifierError) as caught:
        read(text, today=TODAY)
    return caught.value


# -- dates and times (dict linters yymmd0, yymmdd, yyyymmdd, hh, mi, ss, hhmi) ----------------

BAD_DATES_AND_TIMES = [
    pytest.param(f"(00){SSCC}(4324)2012252400", id="gse ai.c test_ai_linters: (4324) hour 24"),
    pytest.param(f"(00){SSCC}(4324)2012252360", id="gse ai.c test_ai_linters: (4324) minute 60"),
    pytest.param(f"(00){SSCC}(4325)2013012359", id="dict: (4325) month 13"),
    pytest.param(f"(00){SSCC}(4326)201200", id="gse ai.c test_ai_linters: (4326) day 00"),
    pytest.param(f"{ITEM}(8008)201225230060", id="gse ai.c test_ai_linters: (8008) second 60"),
    pytest.param(f"{ITEM}(7011)2012312460", id="dict: (7011) optional time, hour 24"),
    pytest.param(f"{ITEM}(7011)201232", id="dict: (7011) day 32"),
    pytest.param("(8018)123456789012345675(7250)20230229", id="dict: (7250) 29 Feb 2023"),
    pytest.param("(8018)123456789012345675(7251)202401011360", id="dict: (7251) minute 60"),
]


@pytest.mark.parametrize("text", BAD_DATES_AND_TIMES)
def test_a_date_or_time_that_does_not_exist_is_refused(text: str) -> None:
    assert refused(parse_hri, text).code == "date.invalid"


def test_dates_with_times_and_four_digit_years_are_resolved() -> None:
    pi = parse_hri(f"{ITEM}(7011)201231(8008)20122523", today=TODAY)
    assert pi.dates == {"7011": dt.date(2020, 12, 31), "8008": dt.date(2020, 12, 25)}
    pi = parse_hri("(8018)123456789012345675(7251)202402291200", today=TODAY)
    assert pi.dates["7251"] == dt.date(2024, 2, 29)
    pi = parse_hri(f"(00){SSCC}(4324)2012002359", today=TODAY)  # dict: (4324) day 00 allowed
    assert pi.dates["4324"] == dt.date(2020, 12, 31)


# -- requisite and exclusive associations (dict req= / ex=, GenSpecs §4.13) --------------------

ASSOCIATION_FAULTS = [
    pytest.param("(02)12345678901231(37)123", id="gse ai.c test_ai_validateAIs: (37) needs (00)"),
    pytest.param(f"{ITEM}(3925)12599", id="gse ai.c test_ai_validateAIs: (392n) needs a measure"),
    pytest.param("(255)1234567890128(3940)1234(8111)9999", id="gse ai.c: (394n) excludes (8111)"),
    pytest.param("(255)1234567890128(3940)1234(3941)9999", id="gse ai.c: (3940) excludes (3941)"),
    pytest.param("(8030)DIGSIG", id="gse ai.c test_ai_validateAIs: (8030) needs a key"),
    pytest.param(f"(8030)DIGSIG{ITEM}", id="gse ai.c test_ai_validateAIs: (8030) needs (01)+(21)"),
    pytest.param(f"{ITEM}(4326)261231", id="dict: (4326) release date needs (00)"),
    pytest.param(f"{ITEM}(3103)000123(3102)000456", id="dict: (310n) excludes another (310n)"),
    pytest.param("(253)1234567890128(8030)ABC123", id="gse ai.c: (8030) needs a serialised GDTI"),
    pytest.param("(255)1234567890128(8030)ABC123", id="gse ai.c: (8030) needs a serialised GCN"),
    pytest.param("(8003)01234567890128(8030)ABC123", id="gse ai.c: (8030) needs a serialised GRAI"),
]


@pytest.mark.parametrize("text", ASSOCIATION_FAULTS)
def test_an_association_the_syntax_dictionary_forbids_is_refused(text: str) -> None:
    assert refused(parse_hri, text).code == "ai.association"


ASSOCIATIONS_MET = [
    pytest.param(
        f"(02)12345678901231(37)123(00){SSCC}",
        id="gse ai.c test_ai_validateAIs: (02)+(37) on a logistic unit",
    ),
    pytest.param(f"{ITEM}(3925)12599(3105)654321", id="gse ai.c: (392n) with (310n)"),
    pytest.param(f"(00){SSCC}(3300)000123", id="dict: (33nn) gross weight of a logistic unit"),
    pytest.param(f"(8030)DIGSIG{ITEM}(21)ABC123", id="gse ai.c: (8030) with (01)+(21)"),
    pytest.param("(253)1234567890128X(8030)ABC123", id="gse ai.c: (8030) with serialised GDTI"),
    pytest.param(f"(03){GTIN}(10)LOT(21)SN", id="dict: (10) and (21) may follow (03)"),
]


@pytest.mark.parametrize("text", ASSOCIATIONS_MET)
def test_an_association_the_syntax_dictionary_allows_is_read(text: str) -> None:
    parse_hri(text, today=TODAY)


# -- content rules on values (dict component linters) -----------------------------------------

CONTENT_FAULTS = [
    pytest.param("(8013)123456ABXX", "value.check_digit", id="gse ai.c: (8013) check pair"),
    pytest.param("(8013)A", "value.format", id="gse ai.c: (8013) too short for a GCP"),
    pytest.param("(401)123", "value.format", id="gse ai.c: (401) too short for a GCP"),
    pytest.param("(7023)12A4", "value.format", id="gse ai.c: (7023) GCP with a letter"),
    pytest.param(f"{ITEM}(8001)12340000012311", "value.format", id="gse ai.c: (8001) zero width"),
    pytest.param(f"{ITEM}(8001)12341234512321", "value.format", id="gse ai.c: (8001) winding 2"),
    pytest.param("(8010)1234567890(8011)023456789012", "value.format", id="gse ai.c: (8011) zero"),
    pytest.param(f"(00){SSCC}(4321)2", "value.format", id="gse ai.c: (4321) neither 0 nor 1"),
    pytest.param(f"{ITEM}(426)987", "value.format", id="gse ai.c: (426) not ISO 3166"),
    pytest.param(f"{ITEM}(7030)987ABC", "value.format", id="gse ai.c: (7030) not ISO 3166 or 999"),
    pytest.param(f"(00){SSCC}(4307)AA", "value.format", id="gse ai.c: (4307) not ISO 3166 alpha-2"),
    pytest.param(
        "(8020)REF(415)1234567890128(3910)9870", "value.format", id="gse ai.c: (3910) ISO 4217"
    ),
    pytest.param(
        "(415)1234567890128(8007)FR1234", "value.format", id="gse ai.c: (8007) IBAN short"
    ),
    pytest.param(
        "(415)1234567890128(8007)AB12345678901234", "value.format", id="gse ai.c: IBAN country"
    ),
    pytest.param(
        "(415)1234567890128(8007)FR12345678901234", "value.format", id="gse ai.c: IBAN check"
    ),
    pytest.param(f"(37)1(8026)123456789012310099(00){SSCC}", "value.format", id="gse: piece 00"),
    pytest.param(f"(37)1(8026)123456789012310302(00){SSCC}", "value.format", id="gse: piece 3/2"),
    pytest.param(
        f"(00){SSCC}(4300)ABC%0g", "value.format", id="gse ai.c: (4300) bad percent escape"
    ),
    pytest.param(f"(00){SSCC}(4309)18000000010000000000", "value.format", id="gse ai.c: latitude"),
    pytest.param(f"(00){SSCC}(4309)00000000003600000001", "value.format", id="gse ai.c: longitude"),
    pytest.param("(8018)123456789012345675(7252)5", "value.format", id="gse ai.c: (7252) ISO 5218"),
    pytest.param(
        "(8018)123456789012345675(7259)B(7258)2/1", "value.format", id="gse ai.c: (7258) 2/1"
    ),
    pytest.param(
        "(414)1234567890128(7040)1AB=", "value.format", id="gse ai.c: (7040) importer index"
    ),
    pytest.param(
        f"{ITEM}(423)5285", "value.format", id="gse ai.c test_ai_processAIdata: (423) 4 digits"
    ),
    pytest.param(
        "(8003)112345678901281234567890123456", "value.format", id="gse ai.c: (8003) filler"
    ),
    pytest.param(
        "(8017)123456789012345675(7241)50", "value.format", id="dict: (7241) media type 50"
    ),
]


@pytest.mark.parametrize(("text", "code"), CONTENT_FAULTS)
def test_a_value_breaking_a_content_rule_is_refused(text: str, code: str) -> None:
    error = refused(parse_hri, text)
    assert error.code == code
    assert error.position is not None


CONTENT_FINE = [
    pytest.param(f"{ITEM}(423)528528528528528", id="gse ai.c test_ai_processAIdata: (423) 5 codes"),
    pytest.param(f"{ITEM}(8001)12341234512311", id="gse ai.c test_ai_processAIdata: (8001)"),
    pytest.param("(415)1234567890128(8020)R(8007)GB82WEST12345698765432", id="ISO 13616 IBAN"),
    pytest.param(f"(00){SSCC}(8030)12=", id="gse syntax lint_cset64: padded base64url"),
    pytest.param("(8013)1987654Ad4X4bL5ttr2310c2K", id="GenSpecs §7.9.5 GMN check pair example"),
]


@pytest.mark.parametrize("text", CONTENT_FINE)
def test_a_value_meeting_its_content_rules_is_read(text: str) -> None:
    parse_hri(text, today=TODAY)


def test_a_badly_padded_base64url_signature_is_refused() -> None:
    # gse ai.c test_ai_linters: (8030)123= (padding on a length that is not a multiple of 3)
    assert refused(parse_hri, f"(00){SSCC}(8030)123=").code == "value.format"


# -- GS1 Digital Link ------------------------------------------------------------------------

DL_FAULTS = [
    pytest.param(
        f"https://example.com/01/{GTIN}?8200=https%3A%2F%2Fexample.com",
        "dl.invalid",
        id="gse dl.c test_dl_generateDLuri: (8200) is not a data attribute",
    ),
    pytest.param(
        "https://example.com/8006/123456789012310102?21=ABC",
        "dl.invalid",
        id="dict: (21) has no '?' flag: never a query attribute",
    ),
    pytest.param(
        "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987",
        "dl.encoding",
        id="gse dl.c test_dl_parseDLuri: '+' in a query value",
    ),
    pytest.param(
        "https://[fe80::1%25lo]/01/12312312312333",
        "dl.invalid",
        id="gse dl.c test_dl_parseDLuri: IPv6 zone identifier",
    ),
    pytest.param("https://a$/01/12312312312333", "dl.invalid", id="gse dl.c: '$' in the host"),
    pytest.param("https://user@a/01/12312312312333", "dl.invalid", id="gse dl.c: '@' in the host"),
]


@pytest.mark.parametrize(("uri", "code"), DL_FAULTS)
def test_a_digital_link_the_standard_forbids_is_refused(uri: str, code: str) -> None:
    assert refused(parse_digital_link, uri).code == code


DL_FINE = [
    pytest.param(
        "https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987",
        id="gse dl.c: '+' in the path is a plus",
    ),
    pytest.param("https://[2001:db8::1]/01/12312312312333", id="gse dl.c: IPv6 host"),
    pytest.param("https://a:65535/01/12312312312333", id="gse dl.c: host with port"),
    pytest.param("https://xn--fsq.xn--0zwm56d/01/12312312312333", id="gse dl.c: punycode host"),
    pytest.param("https://192.0.2.1/01/12312312312333", id="gse dl.c: IPv4 host"),
]


@pytest.mark.parametrize("uri", DL_FINE)
def test_a_digital_link_the_standard_allows_is_read(uri: str) -> None:
    assert parse_digital_link(uri, today=TODAY).gtin == "12312312312333"


def test_a_plus_in_a_path_value_stays_a_plus() -> None:
    pi = parse_digital_link("https://a/01/12312312312333/22/ABC+123?99=ABC", today=TODAY)
    assert pi.ais["22"] == "ABC+123"


def test_a_dotcode_without_gs1_mode_may_carry_a_digital_link() -> None:
    # gse scandata.c test_scandata_processScanData: ]J0 + DL URI
    pi = parse("]J0https://example.com/01/12312312312333?99=TEST", today=TODAY)
    assert (pi.form, pi.symbology, pi.ais) == (
        "digital_link",
        "]J0",
        {"01": "12312312312333", "99": "TEST"},
    )


def test_the_expanded_association_tables_say_what_the_written_patterns_say() -> None:
    """The check looks AIs up in tables expanded once; for every pair of AIs they must agree
    with the patterns as written (``310n``, ``31nn``) read one by one."""
    from verinet.identifiers import _associations as rules
    from verinet.identifiers._tables import AI_TABLE

    def excluded_as_written(first: str, second: str) -> bool:
        return first != second and (
            any(rules._matches(p, second) for p in rules.EXCLUDES.get(first, ()))
            or any(rules._matches(p, first) for p in rules.EXCLUDES.get(second, ()))
        )

    ais = sorted(AI_TABLE)
    for first in ais:
        expanded = rules._EXCLUDED.get(first, frozenset())
        assert {second for second in ais if excluded_as_written(first, second)} == expanded, first

    def as_written(pattern: str) -> set[str]:
        return {a for a in ais if rules._matches(pattern, a)}

    for ai, groups in rules.REQUIRES.items():
        for (group, alone, combined), written in zip(rules._REQUIRED[ai], groups, strict=True):
            assert group == written
            singles = [alt[0] for alt in group if len(alt) == 1]
            assert alone == set().union(*(as_written(p) for p in singles))
            several = [alt for alt in group if len(alt) > 1]
            assert [[set(f) for f in alt] for alt in combined] == [[as_written(p) for p in alt] for alt in several]
