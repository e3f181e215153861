"""Content rules on AI values beyond length, character set, check digit and dates.

The GS1 Barcode Syntax Dictionary attaches "linters" to parts of some AIs' values (a country code
must be an ISO 3166 code, a piece number must not exceed the total...). This module applies them
to the AIs named in ``_LINTS``; each check returns where in the value the fault starts and what
was expected, and ``_values`` turns that into an IdentifierError.

The North American coupon AIs (8110, 8112) have a structure of their own, read in ``_coupons``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from verinet.identifiers._coupons import coupon_code_problem, paperless_coupon_problem

# ISO 3166-1 numeric country codes, ISO 4217 numeric currency codes and ISO 3166-1 alpha-2 codes,
# as the GS1 Barcode Syntax Tests list them.
_ISO_3166_TEXT: Final = """
    004 008 010 012 016 020 024 028 031 032 036 040 044 048 050 051 052 056 060 064 068 070 072
    074 076 084 086 090 092 096 100 104 108 112 116 120 124 132 136 140 144 148 152 156 158 162
    166 170 174 175 178 180 184 188 191 192 196 203 204 208 212 214 218 222 226 231 232 233 234
    238 239 242 246 248 250 254 258 260 262 266 268 270 275 276 288 292 296 300 304 308 312 316
    320 324 328 332 334 336 340 344 348 352 356 360 364 368 372 376 380 384 388 392 398 400 404
    408 410 414 417 418 422 426 428 430 434 438 440 442 446 450 454 458 462 466 470 474 478 480
    484 492 496 498 499 500 504 508 512 516 520 524 528 531 533 534 535 540 548 554 558 562 566
    570 574 578 580 581 583 584 585 586 591 598 600 604 608 612 616 620 624 626 630 634 638 642
    643 646 652 654 659 660 662 663 666 670 674 678 682 686 688 690 694 702 703 704 705 706 710
    716 724 728 729 732 740 744 748 752 756 760 762 764 768 772 776 780 784 788 792 795 796 798
    800 804 807 818 826 831 832 833 834 840 850 854 858 860 862 876 882 887 894"""
_ISO_4217_TEXT: Final = """
    008 012 032 036 044 048 050 051 052 060 064 068 072 084 090 096 104 108 116 124 132 136 144
    152 156 170 174 188 192 203 208 214 222 230 232 238 242 262 270 292 320 324 328 332 340 344
    348 352 356 360 364 368 376 388 392 396 398 400 404 408 410 414 417 418 422 426 430 434 446
    454 458 462 480 484 496 498 504 512 516 524 532 533 548 554 558 566 578 586 590 598 600 604
    608 634 643 646 654 682 690 702 704 706 710 728 748 752 756 760 764 776 780 784 788 800 807
    818 826 834 840 858 860 882 886 901 924 925 926 927 928 929 930 933 934 936 938 940 941 943
    944 946 947 948 949 950 951 952 953 955 956 957 958 959 960 961 962 963 964 965 967 968 969
    970 971 972 973 975 976 977 978 979 980 981 984 985 986 990 994 997 999"""
_ISO_3166_ALPHA2_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW"""
# GS1 PackageTypeCode code list (UN/ECE Recommendation 21 codes and GS1's additions), for (7041).
_PACKAGE_TYPES_TEXT: Final = """
    1A 1B 1D 1F 1G 1W 200 201 202 203 204 205 206 210 211 212 2C 3A 3H 43 44 4A 4B 4C 4D 4F 4G 4H
    5H 5L 5M 6H 6P 7A 7B 8 8A 8B 8C 9 AA AB AC AD AF AG AH AI AJ AL AM AP APE AT AV B4 BB BC BD BE
    BF BG BGE BH BI BJ BK BL BM BME BN BO BP BQ BR BRI BS BT BU BV BW BX BY BZ CA CB CBL CC CCE CD
    CE CF CG CH CI CJ CK CL CM CN CO CP CQ CR CS CT CU CV CW CX CY CZ DA DB DC DG DH DI DJ DK DL DM
    DN DP DPE DR DS DT DU DV DW DX DY E1 E2 E3 EC ED EE EF EG EH EI EN FB FC FD FE FI FL FO FOB FP
    FPE FR FT FW FX GB GI GL GR GU GY GZ HA HB HC HG HN HR IA IB IC ID IE IF IG IH IK IL IN IZ JB JC
    JG JR JT JY KG KI LAB LE LG LT LU LV LZ MA MB MC ME MPE MR MS MT MW MX NA NE NF NG NS NT NU NV
    OA OB OC OD OE OF OK OPE OT OU P2 PA PAE PB PC PD PE PF PG PH PI PJ PK PL PLP PN PO POP PP PPE
    PR PT PU PUE PV PX PY PZ QA QB QC QD QF QG QH QJ QK QL QM QN QP QQ QR QS RB1 RB2 RB3 RCB RD RG
    RJ RK RL RO RT RZ S1 SA SB SC SD SE SEC SH SI SK SL SM SO SP SS ST STL SU SV SW SX SY SZ T1 TB
    TC TD TE TEV TG THE TI TK TL TN TO TR TRE TS TT TTE TU TV TW TWE TY TZ UC UN UUE VA VG VI VK VL
    VN VO VP VQ VR VS VY WA WB WC WD WF WG WH WJ WK WL WM WN WP WQ WR WRP WS WT WU WV WW WX WY WZ
    X11 X12 X15 X16 X17 X18 X19 X20 X3 XA XB XC XD XF XG XH XJ XK YA YB YC YD YF YG YH YJ YK YL YM
    YN YP YQ YR YS YT YV YW YX YY YZ ZA ZB ZC ZD ZF ZG ZH ZJ ZK ZL ZM ZN ZP ZQ ZR ZS ZT ZU ZV ZW ZX
    ZY ZZ"""
_ISO3166: Final = frozenset(_ISO_3166_TEXT.split())
_ISO4217: Final = frozenset(_ISO_4217_TEXT.split())
_ISO3166_ALPHA2: Final = frozenset(_ISO_3166_ALPHA2_TEXT.split())
# AIDC media types of AI (7241): 01-10 and 80-99 are assigned.
_MEDIA_TYPES: Final = frozenset(f"{n:02d}" for n in (*range(1, 11), *range(80, 100)))
_IMPORTER_INDEX: Final = frozenset(
    "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_GCP_MIN: Final = 4  # the shortest GS1 Company Prefix
# GS1 General Specifications §7.9.5: check character pair over CSET 82 with prime weights.
_CSET82_ORDER: Final = (
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CSET32: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PRIMES: Final = tuple(n for n in range(2, 504) if all(n % d for d in range(2, int(n**0.5) + 1)))
_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")

Problem = tuple[int, str] | None
"""Where the fault starts in the checked part, and what was expected there."""


def _in(codes: frozenset[str], what: str) -> Callable[[str], Problem]:
    def check(part: str) -> Problem:
        return None if part in codes else (0, f"{what}, got {part!r}")

    return check


def _groups_of_three(part: str) -> Problem:
    if len(part) % 3:
        return 0, f"one to five 3-digit ISO 3166 country codes, got {len(part)} digits"
    for i in range(0, len(part), 3):
        if part[i : i + 3] not in _ISO3166:
            return i, f"an ISO 3166 numeric country code, got {part[i : i + 3]!r}"
    return None


def _gcp(part: str) -> Problem:
    if len(part) < _GCP_MIN or not part[:_GCP_MIN].isdigit():
        return 0, f"a GS1 Company Prefix starting with {_GCP_MIN} digits, got {part[:_GCP_MIN]!r}"
    return None


def _check_pair(part: str) -> Problem:
    if len(part) < 2:
        return 0, f"a value ending in a 2-character check pair, got {part!r}"
    body = part[:-2]
    n = len(body)
    total = (
        sum(
            _CSET82_ORDER.index(ch) * _PRIMES[n - 1 - i]
            for i, ch in enumerate(body)
            if ch in _CSET82_ORDER
        )
        % 1021
    )
    expected = _CSET32[total >> 5] + _CSET32[total & 31]
    if part[-2:] != expected:
        return n, f"the check character pair {expected!r}, got {part[-2:]!r}"
    return None


def _has_non_digit(part: str) -> Problem:
    return None if not part.isdigit() else (0, "at least one character that is not a digit")


def _zero(part: str) -> Problem:
    return None if part == "0" else (0, f"the filler digit 0, got {part!r}")


def _nonzero(part: str) -> Problem:
    return None if part.strip("0") else (0, f"a non-zero dimension, got {part!r}")


def _winding(part: str) -> Problem:
    return None if part in "019" else (0, f"a winding direction of 0, 1 or 9, got {part!r}")


def _no_zero_prefix(part: str) -> Problem:
    return None if part[:1] != "0" else (0, "a number without leading zero, got '0'")


def _yes_no(part: str) -> Problem:
    return None if part in ("0", "1") else (0, f"0 (no) or 1 (yes), got {part!r}")


def _sex(part: str) -> Problem:
    return (
        None
        if part in ("0", "1", "2", "9")
        else (0, f"an ISO 5218 code 0, 1, 2 or 9, got {part!r}")
    )


def _piece_of_total(part: str) -> Problem:
    half = len(part) // 2
    piece, total = part[:half], part[half:]
    if not piece.strip("0"):
        return 0, f"a piece number of 1 or more, got {piece!r}"
    if not total.strip("0"):
        return half, f"a total of 1 or more, got {total!r}"
    if int(piece) > int(total):
        return 0, f"a piece number at most the total {total!r}, got {piece!r}"
    return None


def _position_in_sequence(part: str) -> Problem:
    position, slash, end = part.partition("/")
    if not (slash and position.isdigit() and end.isdigit()):
        return 0, f"a position and a total separated by '/', got {part!r}"
    if position[0] == "0" or end[0] == "0":
        return 0, f"numbers without leading zero, got {part!r}"
    if int(position) > int(end):
        return 0, f"a position at most the total, got {part!r}"
    return None


def _bounded(limit: int, what: str) -> Callable[[str], Problem]:
    def check(part: str) -> Problem:
        return None if int(part) <= limit else (0, f"{what} of at most {limit}, got {part!r}")

    return check


def _percent(part: str) -> Problem:
    bad = _PERCENT.search(part)
    if bad is None:
        return None
    return (
        bad.start(),
        f"'%' followed by two hex digits, got {part[bad.start() : bad.start() + 3]!r}",
    )


def _iban(part: str) -> Problem:
    if part[:2] not in _ISO3166_ALPHA2:
        return 0, f"an IBAN starting with an ISO 3166 country code, got {part[:2]!r}"
    if not 10 < len(part) <= 34:
        return 0, f"an IBAN of 11 to 34 characters, got {len(part)}"
    bad = next((i for i, ch in enumerate(part) if not ("0" <= ch <= "9" or "A" <= ch <= "Z")), None)
    if bad is not None:
        return bad, f"only digits and capital letters in an IBAN, got {part[bad]!r}"
    digits = "".join(str(int(ch, 36)) for ch in part[4:] + part[:4])
    return None if int(digits) % 97 == 1 else (0, "an IBAN whose check digits are right (mod 97)")


_country = _in(_ISO3166, "an ISO 3166 numeric country code")
_country_or_999 = _in(_ISO3166 | {"999"}, "an ISO 3166 numeric country code or 999")
_alpha2 = _in(_ISO3166_ALPHA2, "an ISO 3166 alpha-2 country code")
_package_type = _in(frozenset(_PACKAGE_TYPES_TEXT.split()), "a GS1 PackageTypeCode")
_currency = _in(_ISO4217, "an ISO 4217 numeric currency code")

# AI -> (start, length or None for the rest, check). Checks run in order; the first fault wins.
_Lint = tuple[int, int | None, Callable[[str], Problem]]
_LINTS: dict[str, tuple[_Lint, ...]] = {
    "401": ((0, None, _gcp),),
    "421": ((0, 3, _country),),
    "422": ((0, 3, _country),),
    "423": ((0, None, _groups_of_three),),
    "424": ((0, 3, _country),),
    "425": ((0, None, _groups_of_three),),
    "426": ((0, 3, _country),),
    "4307": ((0, 2, _alpha2),),
    "4309": (
        (0, 10, _bounded(1800000000, "a latitude")),
        (10, 10, _bounded(3600000000, "a longitude")),
    ),
    "4317": ((0, 2, _alpha2),),
    "7023": ((0, None, _gcp),),
    "7040": ((3, 1, _in(_IMPORTER_INDEX, "an importer index character")),),
    "7041": ((0, None, _package_type),),
    "7241": ((0, 2, _in(_MEDIA_TYPES, "an AIDC media type 01-10 or 80-99")),),
    "7252": ((0, 1, _sex),),
    "7258": ((0, None, _position_in_sequence),),
    "8001": ((0, 4, _nonzero), (4, 5, _nonzero), (9, 3, _nonzero), (12, 1, _winding)),
    "8003": ((0, 1, _zero),),
    "8004": ((0, None, _gcp),),
    "8006": ((14, 4, _piece_of_total),),
    "8007": ((0, None, _iban),),
    "8010": ((0, None, _gcp),),
    "8011": ((0, None, _no_zero_prefix),),
    "8013": ((0, None, _gcp), (0, None, _check_pair)),
    "8014": ((0, None, _gcp), (0, None, _has_non_digit), (0, None, _check_pair)),
    "8026": ((14, 4, _piece_of_total),),
}
_LINTS |= {ai: ((0, 3, _country_or_999),) for ai in map(str, range(7030, 7040))}
_CURRENCY_AIS: Final = (*map(str, range(3910, 3920)), *map(str, range(3930, 3940)))
_LINTS |= {ai: ((0, 3, _currency),) for ai in _CURRENCY_AIS}
_LINTS |= dict.fromkeys(("4321", "4322", "4323"), ((0, 1, _yes_no),))
_LINTS |= dict.fromkeys(
    ("4300", "4301", "4302", "4303", "4304", "4305", "4306", "4310", "4311", "4312", "4313",
     "4314", "4315", "4316", "4320", "7253", "7254", "7256", "7257", "7259"),
    ((0, None, _percent),),
)  # fmt: skip


# AIs whose whole value is a structure of fields (the coupons'), read with the year their dates need.
_STRUCTURES: Final[dict[str, Callable[[str, int], Problem]]] = {
    "8110": coupon_code_problem,
    "8112": lambda value, _year_now: paperless_coupon_problem(value),
}


def problem(ai: str, value: str, year_now: int) -> tuple[int, str, bool] | None:
    """The first content fault of ``value``: its index, what was expected, and whether it is a
    check character fault; ``None`` if the value passes (or the AI has no content rules).
    ``year_now`` places the two-digit years of a coupon's dates."""
    structure = _STRUCTURES.get(ai)
    if structure is not None:
        found = structure(value, year_now)
        return None if found is None else (*found, False)
    for start, length, check in _LINTS.get(ai, ()):
        part = value[start:] if length is None else value[start : start + length]
        found = check(part)
        if found is not None:
            return start + found[0], found[1], check is _check_pair
    return None
