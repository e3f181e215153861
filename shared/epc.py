"""EPCs in EPCIS events: SGTIN, SSCC, SGLN and PGLN, as EPC URNs and as GS1 Digital Links.

The conversion is exact both ways (GS1 Tag Data Standard 2.x "EPC pure identity URI";
GS1 Digital Link URI Syntax 1.2+):

- An EPC URN carries the length of the GS1 Company Prefix: the first dot.
  ``urn:epc:id:sgtin:0614141.107346.2017`` is GTIN ``10614141073464``, serial ``2017``,
  with a 7-digit company prefix. The first digit of the second part is the GTIN's indicator
  digit (SGTIN) or the SSCC's extension digit; the check digit is not in the URN.
- A Digital Link does not carry that length, so turning one into a URN needs it: read it from
  the URN the value came from, pass ``company_prefix_length``, or find it among known company
  prefixes with :func:`company_prefix_length_for`. Guessing would give a wrong URN.
- URN serials (and SGLN extensions) escape exactly seven characters, ``" % & / < > ?``, as
  ``%22 %25 %26 %2F %3C %3E %3F``; every other CSET 82 character stands for itself. Digital
  Links percent-encode everything but letters, digits, ``-``, ``.`` and ``_``.

>>> epc = parse_epc("urn:epc:id:sgtin:0614141.107346.2017")
>>> epc.gtin, epc.serial, epc.as_digital_link()
('10614141073464', '2017', 'https://id.gs1.org/01/10614141073464/21/2017')
>>> parse_epc("https://id.gs1.org/01/10614141073464/21/2017").as_urn(7)
'urn:epc:id:sgtin:0614141.107346.2017'
>>> parse_epc("urn:epc:id:sscc:0614141.1234567890").sscc
'106141412345678908'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from verinet.errors import IdentifierError, VerinetError
from verinet.identifiers import check_digit, parse_digital_link, validate_serial

__all__ = [
    "GS1_DOMAIN",
    "Gln",
    "Sgtin",
    "Sscc",
    "company_prefix_length_for",
    "parse_epc",
    "parse_location",
]

GS1_DOMAIN: Final = "https://id.gs1.org"

_CSET82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_URN_ESCAPES: Final = {"22": '"', "25": "%", "26": "&", "2F": "/", "3C": "<", "3E": ">", "3F": "?"}
_URN_ESCAPED: Final = {char: f"%{hexa}" for hexa, char in _URN_ESCAPES.items()}
_URN_LITERAL: Final = _CSET82 - _URN_ESCAPED.keys()
_PREFIX_LENGTHS: Final = range(6, 13)

_URN: Final = re.compile(r"urn:epc:(id|idpat|class|raw|tag):([A-Za-z0-9-]+):(.*)\Z", re.IGNORECASE)
_DIGITS: Final = re.compile(r"[0-9]+\Z")
# The common shape of an SGTIN Digital Link, read without the general parser.
_DL_SGTIN: Final = re.compile(r"https?://[^/?#]+/01/([0-9]{14})/21/([A-Za-z0-9._%-]{1,60})\Z")
_SCHEMES: Final = ("sgtin", "sscc", "sgln", "pgln")


def _fail(text: str, reason: str, code: str = "epc.format") -> IdentifierError:
    return IdentifierError(f"Failed to parse {text!r} as EPC: {reason}.", code=code)


def _urn_decode(text: str, value: str, what: str) -> str:
    """A URN component with its ``%HH`` escapes undone; only CSET 82 may remain."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "%":
            hexa = value[i + 1 : i + 3].upper()
            decoded = _URN_ESCAPES.get(hexa)
            if decoded is None:
                raise _fail(
                    text,
                    f"expected one of the escapes %22, %25, %26, %2F, %3C, %3E or %3F in the "
                    f"{what}, got {value[i : i + 3]!r}",
                    "epc.escape",
                )
            out.append(decoded)
            i += 3
            continue
        if char not in _URN_LITERAL:
            escape = _URN_ESCAPED.get(char)
            expected = f"it escaped as {escape}" if escape else "only CSET 82 characters"
            raise _fail(text, f"expected {expected} in the {what}, got {char!r}", "epc.escape")
        out.append(char)
        i += 1
    return "".join(out)


def _urn_encode(value: str) -> str:
    return "".join(_URN_ESCAPED.get(char, char) for char in value)


def _prefix_length(length: int | None, what: str, key: str) -> int:
    if length is None:
        raise IdentifierError(
            f"Failed to write {what} {key} as EPC URN: expected the length of its GS1 company "
            "prefix (6 to 12 digits), got none. A Digital Link does not carry it.",
            code="epc.prefix_length",
        )
    if length not in _PREFIX_LENGTHS:
        raise IdentifierError(
            f"Failed to write {what} {key} as EPC URN: expected a company prefix length of 6 "
            f"to 12, got {length}.",
            code="epc.prefix_length",
        )
    return length


def _prefix_and_reference(key: str, what: str, length: int | None) -> tuple[str, str]:
    """A GTIN-14's or SSCC-18's company prefix and its URN reference: the leading indicator
    (or extension) digit, then the digits after the prefix, without the check digit."""
    length = _prefix_length(length, what, key)
    return key[1 : 1 + length], key[0] + key[1 + length : -1]


def _digital_link(domain: str, *elements: tuple[str, str]) -> str:
    """A Digital Link URI: ``domain``, then ``/<AI>/<value>`` per element, values percent-encoded.

    >>> _digital_link("https://id.gs1.org/", ("01", "10614141073464"), ("21", "A/1"))
    'https://id.gs1.org/01/10614141073464/21/A%2F1'
    """
    return domain.rstrip("/") + "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in elements)


def company_prefix_length_for(key: str, prefixes: Iterable[str]) -> int | None:
    """The length of the longest known company prefix that ``key`` carries, if any.

    ``key`` is a GTIN-14 or an SSCC-18 (the prefix starts after the indicator or extension
    digit) or a GLN-13 (the prefix starts at the first digit).

    >>> company_prefix_length_for("10614141073464", ["0614141", "06141"])
    7
    """
    body = key[1:] if len(key) in (14, 18) else key
    lengths = [len(p) for p in prefixes if len(p) in _PREFIX_LENGTHS and body.startswith(p)]
    return max(lengths, default=None)


def _split_urn(text: str, parts: int, scheme: str) -> list[str]:
    fields = text.split(":", 4)[4].split(".", parts - 1)
    if len(fields) != parts:
        raise _fail(text, f"expected {parts} parts separated by '.' after urn:epc:id:{scheme}:, got {len(fields)}")
    return fields


def _digits(text: str, fields: list[str], total: int, scheme: str) -> tuple[str, str]:
    prefix, reference = fields[0], fields[1]
    if not _DIGITS.match(prefix) or len(prefix) not in _PREFIX_LENGTHS:
        raise _fail(text, f"expected a company prefix of 6 to 12 digits, got {prefix!r}")
    if reference and not _DIGITS.match(reference):
        raise _fail(text, f"expected digits after the company prefix, got {reference!r}")
    if len(prefix) + len(reference) != total:
        raise _fail(
            text,
            f"expected the company prefix and the {scheme} reference to have {total} digits "
            f"together, got {len(prefix) + len(reference)}",
        )
    return prefix, reference


@dataclass(frozen=True, slots=True)
class Sgtin:
    """A serialised trade item: GTIN-14 and serial (AI 21)."""

    gtin: str
    serial: str
    company_prefix_length: int | None = None

    @property
    def key(self) -> str:
        """The unit key verinet stores and sends: the GTIN-14 followed by the serial."""
        return self.gtin + self.serial

    def as_urn(self, company_prefix_length: int | None = None) -> str:
        length = company_prefix_length or self.company_prefix_length
        prefix, item = _prefix_and_reference(self.gtin, "GTIN", length)
        return f"urn:epc:id:sgtin:{prefix}.{item}.{_urn_encode(self.serial)}"

    def as_digital_link(self, domain: str = GS1_DOMAIN) -> str:
        return _digital_link(domain, ("01", self.gtin), ("21", self.serial))


@dataclass(frozen=True, slots=True)
class Sscc:
    """A logistic unit (case, pallet): SSCC-18 (AI 00)."""

    sscc: str
    company_prefix_length: int | None = None

    def as_urn(self, company_prefix_length: int | None = None) -> str:
        length = company_prefix_length or self.company_prefix_length
        prefix, reference = _prefix_and_reference(self.sscc, "SSCC", length)
        return f"urn:epc:id:sscc:{prefix}.{reference}"

    def as_digital_link(self, domain: str = GS1_DOMAIN) -> str:
        return _digital_link(domain, ("00", self.sscc))


@dataclass(frozen=True, slots=True)
class Gln:
    """A location (SGLN, AI 414 with optional extension 254) or a party (PGLN, AI 417)."""

    gln: str
    extension: str = ""
    party: bool = False
    company_prefix_length: int | None = None

    def as_urn(self, company_prefix_length: int | None = None) -> str:
        length = _prefix_length(company_prefix_length or self.company_prefix_length, "GLN", self.gln)
        prefix, reference = self.gln[:length], self.gln[length:12]
        if self.party:
            return f"urn:epc:id:pgln:{prefix}.{reference}"
        return f"urn:epc:id:sgln:{prefix}.{reference}.{_urn_encode(self.extension) or '0'}"

    def as_digital_link(self, domain: str = GS1_DOMAIN) -> str:
        if self.party:
            return _digital_link(domain, ("417", self.gln))
        extension = (("254", self.extension),) if self.extension else ()
        return _digital_link(domain, ("414", self.gln), *extension)


def _serial(text: str, serial: str) -> str:
    try:
        return validate_serial(serial)
    except IdentifierError as error:
        raise _fail(text, f"expected a serial of 1 to 20 CSET 82 characters, got {serial!r}") from error


def _sgtin_from_urn(text: str) -> Sgtin:
    fields = _split_urn(text, 3, "sgtin")
    prefix, item = _digits(text, fields, 13, "item")
    serial = _serial(text, _urn_decode(text, fields[2], "serial"))
    body = item[0] + prefix + item[1:]
    return Sgtin(body + str(check_digit(body)), serial, len(prefix))


def _sscc_from_urn(text: str) -> Sscc:
    fields = _split_urn(text, 2, "sscc")
    prefix, reference = _digits(text, fields, 17, "serial")
    body = reference[0] + prefix + reference[1:]
    return Sscc(body + str(check_digit(body)), len(prefix))


def _gln_from_urn(text: str, scheme: str) -> Gln:
    parts = 3 if scheme == "sgln" else 2
    fields = _split_urn(text, parts, scheme)
    prefix, reference = _digits(text, fields, 12, "location" if scheme == "sgln" else "party")
    extension = ""
    if scheme == "sgln":
        extension = _urn_decode(text, fields[2], "extension")
        if not extension:
            raise _fail(text, "expected an extension after the location reference ('0' for none)")
        if extension == "0":
            extension = ""
        elif len(extension) > 20:
            raise _fail(text, f"expected an extension of at most 20 characters, got {len(extension)}")
    body = prefix + reference
    return Gln(body + str(check_digit(body)), extension, scheme == "pgln", len(prefix))


def _from_urn(text: str) -> Sgtin | Sscc | Gln:
    match = _URN.match(text)
    if match is None:
        raise _fail(text, "expected urn:epc:id:<scheme>:... or a GS1 Digital Link", "epc.scheme")
    kind, scheme = match.group(1).lower(), match.group(2).lower()
    if kind != "id" or scheme not in _SCHEMES:
        raise _fail(
            text,
            f"expected an EPC of scheme sgtin, sscc, sgln or pgln (urn:epc:id:...), got "
            f"urn:epc:{kind}:{scheme}",
            "epc.scheme",
        )
    text = "urn:epc:id:" + scheme + ":" + match.group(3)
    if scheme == "sgtin":
        return _sgtin_from_urn(text)
    if scheme == "sscc":
        return _sscc_from_urn(text)
    return _gln_from_urn(text, scheme)


def _from_digital_link(text: str) -> Sgtin | Sscc | Gln:
    fast = _DL_SGTIN.match(text)
    if fast is not None:
        gtin, raw = fast.groups()
        if "%" not in raw and int(gtin[13]) == check_digit(gtin[:13]):
            return Sgtin(gtin, _serial(text, raw))
    try:
        parsed = parse_digital_link(text)
    except VerinetError as error:
        raise _fail(text, f"expected a GS1 Digital Link ({error.message})") from error
    ais = parsed.ais
    if "01" in ais and "21" in ais:
        return Sgtin(ais["01"], ais["21"])
    if "00" in ais:
        return Sscc(ais["00"])
    if "414" in ais:
        return Gln(ais["414"], ais.get("254", ""))
    if "417" in ais:
        return Gln(ais["417"], party=True)
    keys = ", ".join(f"({ai})" for ai in ais)
    raise _fail(
        text,
        f"expected a Digital Link of an SGTIN (01)+(21), SSCC (00), location (414) or party "
        f"(417), got {keys}",
        "epc.scheme",
    )


def _parse(text: str) -> Sgtin | Sscc | Gln:
    if text[:4].lower() == "urn:":
        return _from_urn(text)
    if text[:7].lower() == "http://" or text[:8].lower() == "https://":
        return _from_digital_link(text)
    raise _fail(text, "expected urn:epc:id:<scheme>:... or a GS1 Digital Link (https://...)", "epc.scheme")


def parse_epc(text: str) -> Sgtin | Sscc:
    """An object EPC: an SGTIN or an SSCC, as EPC URN or Digital Link.

    Raises :class:`~verinet.errors.IdentifierError` with code ``epc.scheme`` for any other
    scheme (GRAI, class-level LGTIN, patterns, ...), ``epc.format`` or ``epc.escape`` for a
    malformed one.
    """
    epc = _parse(text)
    if isinstance(epc, Gln):
        raise _fail(text, "expected an SGTIN or SSCC, got a location or party (GLN)", "epc.scheme")
    return epc


def parse_location(text: str) -> Gln:
    """A location or party: ``urn:epc:id:sgln:...``, ``urn:epc:id:pgln:...``, or a Digital
    Link with (414) (and optional (254)) or (417)."""
    epc = _parse(text)
    if not isinstance(epc, Gln):
        raise _fail(text, "expected a location or party (SGLN, PGLN, (414), (417))", "epc.scheme")
    return epc


# -- serialized cases as containers --------------------------------------------------------------

#: The GTIN-14 indicator digits of trade item groupings (cases, shippers); 0 is a base unit and
#: 9 a variable-measure item.
CASE_INDICATORS: Final = frozenset("12345678")
_CASE_SEPARATOR: Final = "+"


def is_case(unit_key: str) -> bool:
    """Whether a unit (``<GTIN-14><serial>``) is a serialized case: its GTIN has an indicator
    digit of 1 to 8. A case is a verifiable unit and, like an SSCC, a container.

    >>> is_case("50361414232241C-1"), is_case("00361414232242S-1")
    (True, False)
    """
    return unit_key[:1] in CASE_INDICATORS


def case_container(unit_key: str) -> str:
    """The container id of a serialized case: ``<GTIN-14>+<serial>``, never an 18-digit SSCC.

    >>> case_container("50361414232241C-1")
    '50361414232241+C-1'
    """
    return unit_key[:14] + _CASE_SEPARATOR + unit_key[14:]


def describe_container(container: str) -> str:
    """A container id as people name it: ``SSCC ...`` or ``case serial 'C-1' of GTIN ...``.

    >>> describe_container("50361414232241+C-1"), describe_container("106141410000000011")
    ("case serial 'C-1' of GTIN 50361414232241", 'SSCC 106141410000000011')
    """
    gtin, separator, serial = container.partition(_CASE_SEPARATOR)
    return f"case serial {serial!r} of GTIN {gtin}" if separator else f"SSCC {container}"


def is_case_container(container: str) -> bool:
    """Whether a container id names a serialized case rather than an SSCC."""
    return _CASE_SEPARATOR in container
