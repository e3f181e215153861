"""GS1 rule tables: biip's Application Identifier table plus the rules biip does not carry.

biip (jodal/biip) ships the GS1 Barcode Syntax Dictionary as a list of AIs with a format string
(``N2+X..20``), a ``separator_required`` flag (false = predefined length, no FNC1 after it) and a
regular expression per AI whose character classes are exactly CSET 82 / CSET 39 / CSET 64. We
reuse that table for every AI, and add here what biip leaves out: which AIs carry a mod-10 check
digit, which are dates, and the Digital Link key qualifiers (associations: ``_associations``).

Everything in this module is an immutable constant built once at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# biip keeps its table in a private module attribute; biip is pinned to >=5,<6 in pyproject.toml
# and tests/shared/identifiers checks that the table still loads.
from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS

DIGITS: Final = frozenset("0123456789")
CSET82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
CSET39: Final = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CSET64: Final = frozenset("-0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_CHARSETS: Final = MappingProxyType(
    {"N": DIGITS, "X": CSET82, "Y": CSET39, "Z": CSET64, "-": frozenset("-")}
)
CHARSET_NAMES: Final = MappingProxyType(
    {"N": "digit", "X": "CSET 82", "Y": "CSET 39", "Z": "CSET 64", "-": "'-'"}
)


@dataclass(frozen=True, slots=True)
class Component:
    """One part of an AI's value format, e.g. ``X..20`` or the optional ``[+N4]``."""

    kind: str
    """``N`` digits, ``X`` CSET 82, ``Y`` CSET 39, ``Z`` CSET 64, ``-`` a literal minus."""
    min_len: int
    max_len: int
    optional: bool

    @property
    def charset(self) -> frozenset[str]:
        return _CHARSETS[self.kind]


@dataclass(frozen=True, slots=True)
class AISpec:
    """What the parser needs to know about one Application Identifier."""

    ai: str
    title: str
    """biip's data title, e.g. ``BATCH/LOT``."""
    fixed: bool
    """Predefined length: never followed by FNC1 (GS1 General Specifications Figure 7.8.5-2)."""
    min_len: int
    max_len: int
    components: tuple[Component, ...]
    pattern: re.Pattern[str]
    """biip's regular expression for the value (without the AI), used with ``fullmatch``."""
    check_digits: int
    """The first this-many digits end in a GS1 mod-10 check digit; 0 = no check digit."""
    date: str | None
    """Date layout the value starts with (see DATE_LAYOUTS), or None."""


# AIs whose value starts with a digit string ending in a mod-10 check digit, and its length.
# GS1 Barcode Syntax Dictionary "csum" linter; GRAI (8003) starts with a filler 0, which does not
# change a mod-10 sum, so the 14 digits can be checked as one string.
_CHECK_DIGITS: Final = {
    "00": 18, "01": 14, "02": 14, "03": 14, "253": 13, "255": 13, "402": 17,
    "410": 13, "411": 13, "412": 13, "413": 13, "414": 13, "415": 13, "416": 13, "417": 13,
    "8003": 14, "8006": 14, "8017": 18, "8018": 18, "8026": 14,
}  # fmt: skip

# Date AIs and their layout (GS1 Barcode Syntax Dictionary linters yymmd0, yymmdd, yyyymmdd, hh,
# mi, ss, hhmi). yymmd0: day 00 allowed (= whole month); yymmdd: a calendar day; a suffix names
# the time that follows (hhmm, or hh with optional mm and ss); 7007 may carry a second date and
# 7011 an optional time, which the length tells apart.
_DATES: Final = {
    "11": "yymmd0", "12": "yymmd0", "13": "yymmd0", "15": "yymmd0", "16": "yymmd0",
    "17": "yymmd0", "4324": "yymmd0hhmm", "4325": "yymmd0hhmm", "4326": "yymmdd",
    "7006": "yymmdd", "7007": "yymmdd", "7003": "yymmddhhmm", "7011": "yymmddhhmm",
    "7250": "yyyymmdd", "7251": "yyyymmddhhmm", "8008": "yymmddhh",
}  # fmt: skip

GTIN_AIS: Final = frozenset({"01", "02", "03"})
GLN_AIS: Final = frozenset({"410", "411", "412", "413", "414", "415", "416", "417"})
NHRN_AIS: Final = frozenset({"710", "711", "712", "713", "714", "715", "716", "717"})

# Names used in messages and IdentifierError.field for the AIs a verification router cares about.
NAMES: Final = MappingProxyType(
    {
        "00": "SSCC", "01": "GTIN", "02": "GTIN of contained items", "10": "lot",
        "11": "production date", "13": "packaging date", "15": "best before date",
        "16": "sell by date", "17": "expiry date", "21": "serial", "22": "CPV", "235": "TPX",
        "414": "GLN", "7003": "expiry date and time", "710": "NHRN (PZN)",
        "711": "NHRN (CIP)", "712": "NHRN (CN)", "713": "NHRN (DRN)", "714": "NHRN (AIM)",
        "715": "NHRN (NDC)", "716": "NHRN (AIC)", "717": "NHRN",
    }
)  # fmt: skip
FIELDS: Final = MappingProxyType(
    {"01": "gtin", "10": "lot", "21": "serial", "17": "expiry"} | dict.fromkeys(NHRN_AIS, "nhrn")
)


def label(ai: str) -> str:
    """How messages name an AI: ``lot (10)`` or ``AI (99)``."""
    name = NAMES.get(ai)
    return f"{name} ({ai})" if name else f"AI ({ai})"


_COMPONENT_RE: Final = re.compile(
    r"\+?(?P<open>\[)?\+?(?:(?P<kind>[NXYZ])(?P<var>\.\.)?(?P<n>\d+)(?:\.\.N(?P<max>\d+))?"
    r"|(?P<minus>-))(?P<close>\])?"
)


def _components(fmt: str) -> tuple[Component, ...]:
    """Parse biip's format string (``N3+N13[+X..17]``) after the AI's own ``N3+`` part."""
    body = re.sub(r"^N\d\+", "", fmt)
    out: list[Component] = []
    pos = 0
    for match in _COMPONENT_RE.finditer(body):
        if match.start() != pos:  # pragma: no cover - guarded by a table test
            msg = f"unexpected AI format {fmt!r}"
            raise ValueError(msg)
        pos = match.end()
        optional = bool(match["open"])
        if match["minus"]:
            out.append(Component("-", 0, 1, True))
            continue
        n = int(match["n"])
        if match["max"]:
            out.append(Component(match["kind"], n, int(match["max"]), optional))
        elif match["var"]:
            out.append(Component(match["kind"], 1, n, optional))
        else:
            out.append(Component(match["kind"], n, n, optional))
    if pos != len(body):  # pragma: no cover - guarded by a table test
        msg = f"unexpected AI format {fmt!r}"
        raise ValueError(msg)
    return tuple(out)


# Where biip's pattern is stricter than the Syntax Dictionary's format: a CPID (8010) is
# ``Y..30``, one to 30 characters (its GS1 Company Prefix check asks for 4 digits), not 5 to 30.
_PATTERN_FIXES: Final = MappingProxyType({"8010": r"[A-Z0-9/#-]{1,30}"})


def _value_pattern(ai: str, pattern: str) -> re.Pattern[str]:
    if ai in _PATTERN_FIXES:
        return re.compile(_PATTERN_FIXES[ai], re.ASCII)
    head = "^" + ai
    if not pattern.startswith(head) or not pattern.endswith("$"):  # pragma: no cover
        msg = f"unexpected pattern {pattern!r} for AI {ai}"
        raise ValueError(msg)
    # ASCII: biip writes \d, which in a str pattern would also match non-ASCII digits.
    return re.compile(pattern[len(head) : -1], re.ASCII)


def _cset64_pattern(max_len: int) -> re.Pattern[str]:
    """CSET 64 is base64url: one or two '=' may pad the end of a value whose length (padding
    included) is a multiple of 3 (GS1 Barcode Syntax Tests "cset64"). biip leaves '=' out."""
    body = "[0-9A-Za-z_-]"
    return re.compile(f"{body}{{1,{max_len}}}|(?=(?:.{{3}}){{1,{max_len // 3}}}$){body}+={{1,2}}")


def _build_table() -> MappingProxyType[str, AISpec]:
    table: dict[str, AISpec] = {}
    for code, entry in _GS1_APPLICATION_IDENTIFIERS.items():
        components = _components(entry.format)
        table[code] = AISpec(
            ai=code,
            title=entry.data_title,
            fixed=not entry.separator_required,
            min_len=sum(c.min_len for c in components if not c.optional),
            max_len=sum(c.max_len for c in components),
            components=components,
            pattern=(
                _cset64_pattern(sum(c.max_len for c in components))
                if any(c.kind == "Z" for c in components)
                else _value_pattern(code, entry.pattern)
            ),
            check_digits=_CHECK_DIGITS.get(code, 0),
            date=_DATES.get(code),
        )
    return MappingProxyType(table)


AI_TABLE: Final = _build_table()
"""Every known AI. The set is prefix-free: no AI is the start of another."""


def lookup_ai(text: str, pos: int) -> AISpec | None:
    """The AI starting at ``text[pos]``, trying 2, 3 then 4 digits."""
    get = AI_TABLE.get
    return get(text[pos : pos + 2]) or get(text[pos : pos + 3]) or get(text[pos : pos + 4])


# -- GS1 Digital Link (URI Syntax 1.2+): primary keys and their key-qualifier sequences -------
# Each primary key lists the alternative qualifier sequences; a path uses one of them, in order,
# possibly with gaps (/01/x/21/y skips 22 and 10).
DL_PRIMARY_KEYS: Final = MappingProxyType(
    {
        "01": (("22", "10", "21"), ("235",)),
        "8006": (("22", "10", "21"),),
        "8010": (("8011",),),
        "414": (("254",), ("7040",)),
        "415": (("8020",),),
        "417": (("7040",),),
        "8004": (("7040",),),
        "8017": (("8019",),),
        "8018": (("8019",),),
        "00": (),
        "253": (),
        "255": (),
        "401": (),
        "402": (),
        "8003": (),
        "8013": (),
    }
)
# Legacy convenience alphas (GS1 Digital Link <= 1.2), still used by the GS1 US LMS request.
DL_PATH_ALPHAS: Final = MappingProxyType({"gtin": "01", "cpv": "22", "lot": "10", "ser": "21"})
DL_QUERY_ALPHAS: Final = MappingProxyType({"exp": "17", "expdt": "7003"})
# AIs that may not be Digital Link data attributes (query parameters): those the GS1 Barcode
# Syntax Dictionary does not flag "?". Key qualifiers belong in the path; the others (21 for an
# ITIP, 8200...) have no place in a Digital Link query at all.
DL_NOT_ATTRIBUTES: Final = frozenset(
    {"03", "21", "22", "235", "254", "7040", "7041", "8011", "8014", "8019", "8020", "8040",
     "8041", "8042", "8043", "8200"}
)  # fmt: skip


def mod10(payload: str) -> int:
    """The GS1 mod-10 check digit of ASCII digits (weights 3, 1, 3... from the right)."""
    raw = payload.encode("ascii")
    n = len(raw)
    odd = sum(raw[-1::-2]) - 48 * ((n + 1) // 2)
    even = sum(raw[-2::-2]) - 48 * (n // 2)
    return -(3 * odd + even) % 10
