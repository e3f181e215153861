"""EPC URN <-> GS1 Digital Link conversion: exact both ways, company prefix length from the URN."""

from __future__ import annotations

import doctest
import string
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

import verinet.epc
from verinet.epc import Gln, Sgtin, Sscc, company_prefix_length_for, parse_epc, parse_location
from verinet.errors import IdentifierError
from verinet.identifiers import check_digit, parse

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def with_check(body: str) -> str:
    return body + str(check_digit(body))


# -- the Tag Data Standard's own examples ------------------------------------------------------


def test_the_tds_sgtin_example_reads_as_its_gtin_and_serial() -> None:
    epc = parse_epc("urn:epc:id:sgtin:0614141.812345.6789AB")
    assert (epc.gtin, epc.serial, epc.company_prefix_length) == ("80614141123458", "6789AB", 7)
    assert epc.as_digital_link() == "https://id.gs1.org/01/80614141123458/21/6789AB"


def test_the_tds_escaping_example_unescapes_the_slash() -> None:
    epc = parse_epc("urn:epc:id:sgtin:0614141.712345.32a%2Fb")
    assert (epc.gtin, epc.serial) == ("70614141123451", "32a/b")
    assert epc.as_urn() == "urn:epc:id:sgtin:0614141.712345.32a%2Fb"
    assert epc.as_digital_link() == "https://id.gs1.org/01/70614141123451/21/32a%2Fb"


def test_the_tds_sscc_and_sgln_examples() -> None:
    sscc = parse_epc("urn:epc:id:sscc:0614141.1234567890")
    assert isinstance(sscc, Sscc) and sscc.sscc == "106141412345678908"
    assert sscc.as_digital_link() == "https://id.gs1.org/00/106141412345678908"
    location = parse_location("urn:epc:id:sgln:0614141.12345.400")
    assert (location.gln, location.extension) == ("0614141123452", "400")
    assert location.as_digital_link() == "https://id.gs1.org/414/0614141123452/254/400"


# -- every company prefix length, every indicator digit ----------------------------------------


@pytest.mark.parametrize("length", range(6, 13))
@pytest.mark.parametrize("indicator", ["0", "1", "5", "9"])
def test_an_sgtin_converts_exactly_for_every_prefix_length_and_indicator(length: int, indicator: str) -> None:
    prefix = "0614141234567"[:length]
    item = "98765432"[: 12 - length]
    urn = f"urn:epc:id:sgtin:{prefix}.{indicator}{item}.S-1"
    epc = parse_epc(urn)
    assert isinstance(epc, Sgtin)
    assert epc.gtin == with_check(indicator + prefix + item)
    assert epc.gtin[0] == indicator and epc.company_prefix_length == length
    assert epc.as_urn() == urn
    from_link = parse_epc(epc.as_digital_link())
    assert from_link == Sgtin(epc.gtin, "S-1")  # a Digital Link does not carry the length ...
    assert from_link.as_urn(length) == urn  # ... so it is given, and the URN comes back exact
    assert from_link.as_urn(company_prefix_length_for(epc.gtin, [prefix, prefix[:6]])) == urn


@pytest.mark.parametrize("length", range(6, 13))
def test_an_sscc_converts_exactly_for_every_prefix_length(length: int) -> None:
    prefix = "0614141234567"[:length]
    reference = "3" + "1234567890"[: 16 - length]
    urn = f"urn:epc:id:sscc:{prefix}.{reference}"
    epc = parse_epc(urn)
    assert isinstance(epc, Sscc)
    assert epc.sscc == with_check("3" + prefix + reference[1:])
    assert epc.as_urn() == urn
    assert parse_epc(epc.as_digital_link()).as_urn(length) == urn  # type: ignore[union-attr]


@pytest.mark.parametrize("length", range(6, 13))
def test_a_location_and_a_party_convert_exactly_for_every_prefix_length(length: int) -> None:
    prefix = "0614141234567"[:length]
    reference = "12345678"[: 12 - length]
    location = parse_location(f"urn:epc:id:sgln:{prefix}.{reference}.0")
    assert location.gln == with_check(prefix + reference) and location.extension == ""
    assert location.as_urn() == f"urn:epc:id:sgln:{prefix}.{reference}.0"
    party = parse_location(f"urn:epc:id:pgln:{prefix}.{reference}")
    assert party == Gln(location.gln, party=True, company_prefix_length=length)
    assert parse_location(party.as_digital_link()).as_urn(length) == f"urn:epc:id:pgln:{prefix}.{reference}"


def test_a_twelve_digit_prefix_leaves_the_location_reference_empty() -> None:
    location = parse_location("urn:epc:id:sgln:061414112345..0")
    assert location.gln == "0614141123452"
    assert location.as_urn() == "urn:epc:id:sgln:061414112345..0"


# -- serial escaping -----------------------------------------------------------------------------


#: Serials with the seven characters a URN escapes, and how both forms escape them, alike.
ESCAPED_ALIKE = {
    'a"b': "a%22b", "50%": "50%25", "x&y": "x%26y", "1/2": "1%2F2", "<>": "%3C%3E", "why?": "why%3F"
}


@pytest.mark.parametrize(
    ("serial", "urn_part", "link_part"),
    [
        *((serial, escaped, escaped) for serial, escaped in ESCAPED_ALIKE.items()),
        ("a.b-c_d", "a.b-c_d", "a.b-c_d"),  # literal in both
        ("(1)+2,3*!'", "(1)+2,3*!'", "%281%29%2B2%2C3%2A%21%27"),  # literal in the URN only
        ("p:q;r=s", "p:q;r=s", "p%3Aq%3Br%3Ds"),
    ],
)
def test_serials_escape_seven_characters_in_urns_and_all_but_unreserved_in_digital_links(
    serial: str, urn_part: str, link_part: str
) -> None:
    epc = Sgtin("10614141073464", serial, 7)
    assert epc.as_urn() == f"urn:epc:id:sgtin:0614141.107346.{urn_part}"
    assert epc.as_digital_link() == f"https://id.gs1.org/01/10614141073464/21/{link_part}"
    assert parse_epc(epc.as_urn()) == epc
    assert parse_epc(epc.as_digital_link()) == Sgtin("10614141073464", serial)


@given(st.text(alphabet=CSET82, min_size=1, max_size=20), st.integers(6, 12), st.sampled_from(string.digits))
def test_any_cset82_serial_round_trips_exactly(serial: str, length: int, indicator: str) -> None:
    prefix = "0614141234567"[:length]
    gtin = with_check(indicator + prefix + "7654321"[: 12 - length])
    epc = Sgtin(gtin, serial, length)
    urn = epc.as_urn()
    assert not set(urn.rsplit(".", 1)[1]) & set('"&/<>?')
    assert parse_epc(urn) == epc
    link = epc.as_digital_link()
    assert parse_epc(link).as_urn(length) == urn  # type: ignore[union-attr]
    assert unquote(link.rsplit("/", 1)[1]) == serial
    assert parse(link).serial == serial  # the general Digital Link parser agrees


def test_a_digital_link_with_lot_and_expiry_names_the_same_sgtin() -> None:
    epc = parse_epc("https://example.com/01/10614141073464/10/ABC%2F1/21/a%2fb?17=301231")
    assert epc == Sgtin("10614141073464", "a/b")


# -- refusals -----------------------------------------------------------------------------------


#: EPCs parse_epc() refuses, by the code it refuses them with: (text, words of the reason).
BAD_EPCS = {
    "epc.scheme": [
        ("urn:epc:id:grai:0614141.12345.400", "urn:epc:id:grai"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "urn:epc:class:lgtin"),
        ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:idpat:sgtin"),
        ("https://id.gs1.org/414/0614141000005", "location or party"),
        ("GTIN 10614141073464", "urn:epc:id"),
    ],
    "epc.format": [
        ("https://id.gs1.org/8003/006141410000181234", "check digit"),
        ("urn:epc:id:sgtin:0614141.10734.1", "13 digits together, got 12"),
        ("urn:epc:id:sgtin:06141.1073464.1", "company prefix of 6 to 12 digits"),
        ("urn:epc:id:sgtin:0614141.107346", "expected 3 parts"),
        ("urn:epc:id:sgtin:0614141.107346.123456789012345678901", "1 to 20"),
        ("urn:epc:id:sscc:0614141.123456789", "17 digits together"),
        ("https://id.gs1.org/01/10614141073465/21/1", "check digit"),
    ],
    "epc.escape": [
        ("urn:epc:id:sgtin:0614141.107346.a/b", "escaped as %2F"),
        ("urn:epc:id:sgtin:0614141.107346.%41", "%41"),
        ("urn:epc:id:sgtin:0614141.107346.a b", "CSET 82"),
    ],
}


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [(text, code, words) for code, refused in BAD_EPCS.items() for text, words in refused],
)
def test_bad_epcs_are_refused_with_a_code_and_the_reason(text: str, code: str, words: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_epc(text)
    assert caught.value.code == code
    assert words in caught.value.message and repr(text) in caught.value.message


def test_a_urn_cannot_be_written_without_the_company_prefix_length() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_epc("https://id.gs1.org/01/10614141073464/21/1").as_urn()  # type: ignore[union-attr]
    assert caught.value.code == "epc.prefix_length"
    with pytest.raises(IdentifierError):
        Sgtin("10614141073464", "1").as_urn(13)
    assert company_prefix_length_for("10614141073464", ["0999999"]) is None
    assert company_prefix_length_for("0614141123452", ["061414112345", "0614141"]) == 12


def test_a_location_is_not_an_object_epc_and_back() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_location("urn:epc:id:sgtin:0614141.107346.1")
    assert caught.value.code == "epc.scheme"
    with pytest.raises(IdentifierError):
        parse_location("urn:epc:id:sgln:0614141.12345.")


def test_the_epc_examples_hold() -> None:
    result = doctest.testmod(verinet.epc)
    assert result.attempted > 0 and result.failed == 0
