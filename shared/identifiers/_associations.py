"""Requisite and exclusive AI associations (GS1 General Specifications §4.13, as the GS1 Barcode
Syntax Dictionary states them in its ``req`` and ``ex`` attributes, release 2026-01-27).

``req=01,02`` means one of (01) or (02) must be present; several ``req`` groups must all be met;
``01+21`` means (01) and (21) together. ``ex=`` lists AIs that must not appear with it. A pattern
such as ``310n`` or ``31nn`` stands for every AI with those leading digits; an AI never excludes
itself through a pattern (so (3103) with (3103) is a repeat, not an exclusion).

A verification router reads trade items, so these rules are what keeps a lot, a serial or an expiry
from being accepted without the GTIN it belongs to.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from verinet.errors import IdentifierError
from verinet.identifiers._tables import AI_TABLE, FIELDS, label

_TRADE = "01,02,8006,8026"
_MEASURE_TRADE = "req=01,02 ex={}"
_MEASURE_LOGISTIC = "req=00,01 ex={}"
_PRICE_BASE = "30,31nn,32nn,35nn,36nn"

# One line per AI or range of AIs: ``AI[-AI] attributes``. Measures are generated below.
_RULES: Final = f"""
01 ex=255,37
02 ex=01,03 req=37
03 ex=01,02,37
10 req=01,02,03,8006,8026
11 req=01,02,03,8006,8026
12 req=8020
13 req=01,02,03,8006,8026
15 req=01,02,03,8006,8026
16 req=01,02,03,8006,8026
17 req=01,02,03,255,8006,8026
20 req={_TRADE}
21 req=01,03,8006 ex=235
22 req=01
235 req=01
240 req={_TRADE}
241 req={_TRADE}
242 req={_TRADE}
243 req=01
250 req=01,8006 req=21
251 req=01,8006
254 req=414
255 ex=01,02,415,8006,8020,8026
30 req=01,02
37 req=00 req=02,8026
3900-3909 req=255,8020 ex=390n,391n,394n,8111
3910-3919 req=8020 ex=391n
3920-3929 req=01 req={_PRICE_BASE} ex=392n,393n
3930-3939 req={_PRICE_BASE} ex=393n
3940-3943 req=255 ex=394n,8111
3950-3955 req={_PRICE_BASE} ex=392n,393n,395n,8005
403 req=00
415 req=8020
420 ex=421
421 ex=4307
422 req={_TRADE} ex=426
423 req=01,02 ex=426
424 req=01,02 ex=426
425 req=01,02 ex=426
426 req=01,02
427 req=01,02 req=422
4300-4302 req=00
4303 req=4302
4304-4312 req=00
4313 req=4312
4314-4326 req=00
4330 req=00 ex=4331
4331 req=00 ex=4330
4332 req=00 ex=4333
4333 req=00 ex=4332
7001 req={_TRADE}
7002 req=01,02
7003 req=01,02
7004 req=01+10
7005-7011 req=01,02
7020 req=01,8006 req=416
7021 req=01,8006
7022 req=7021
7030-7039 req=01,02
7041 req=00
710-717 req=01
7230-7239 req=01,8004
7240 req=01,8006
7241 req=8017,8018
7242 req=8017,8018
7250 req=8018 ex=7251
7251 req=8018 ex=7250
7252 req=8018
7253-7255 req=8017,8018 ex=7256,7259
7256 req=8017,8018
7257 req=8018
7258 req=8018+7259
7259 req=8018 ex=7256
8001 req=01
8005 req=01,02
8006 ex=01,37
8007 req=415
8008 req=01,02
8009 req=00,01
8011 req=8010
8012 req=01,8006
8014 req=01
8017 ex=8018
8018 ex=8017
8019 req=8017,8018
8020 req=415
8026 req=37 ex=02,8006
8030 req=00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018
8040 req=01+21
8041-8043 req=01+21+8040
8111 req=255
8200 req=01
"""

# Net measures of a trade item (31nn, 32nn, 35nn and 36nn with a trade unit) and gross/logistic
# measures (33nn, 34nn...) that may also describe a logistic unit.
_MEASURES_TRADE: Final = ("310", "311", "312", "313", "314", "315", "316", "320", "321", "322",
                          "323", "324", "325", "326", "327", "328", "329", "350", "351", "352",
                          "356", "357", "360", "361", "364", "365", "366")  # fmt: skip
_MEASURES_LOGISTIC: Final = ("330", "331", "332", "333", "334", "335", "336", "340", "341", "342",
                             "343", "344", "345", "346", "347", "348", "349", "353", "354", "355",
                             "362", "363", "367", "368", "369")  # fmt: skip

Groups = tuple[tuple[tuple[str, ...], ...], ...]


def _expand(first: str, last: str) -> list[str]:
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def _build() -> tuple[MappingProxyType[str, Groups], MappingProxyType[str, tuple[str, ...]]]:
    lines = [line.split() for line in _RULES.strip().splitlines()]
    lines += [f"{m}0-{m}5 {_MEASURE_TRADE.format(m + 'n')}".split() for m in _MEASURES_TRADE]
    lines += [f"{m}0-{m}5 {_MEASURE_LOGISTIC.format(m + 'n')}".split() for m in _MEASURES_LOGISTIC]
    lines.append(["3370-3375", "req=01", "ex=337n"])
    requires: dict[str, Groups] = {}
    excludes: dict[str, tuple[str, ...]] = {}
    for head, *attributes in lines:
        first, _, last = head.partition("-")
        groups = tuple(
            tuple(tuple(alt.split("+")) for alt in attribute[4:].split(","))
            for attribute in attributes
            if attribute.startswith("req=")
        )
        ex = tuple(
            pattern
            for attribute in attributes
            if attribute.startswith("ex=")
            for pattern in attribute[3:].split(",")
        )
        for ai in _expand(first, last or first):
            if ai not in AI_TABLE:  # pragma: no cover - guarded by a table test
                msg = f"association rule for unknown AI ({ai})"
                raise ValueError(msg)
            if groups:
                requires[ai] = groups
            if ex:
                excludes[ai] = ex
    return MappingProxyType(requires), MappingProxyType(excludes)


REQUIRES, EXCLUDES = _build()


def _matches(pattern: str, ai: str) -> bool:
    """``310n`` matches (3100)-(3109); ``31nn`` matches (3100)-(3199); ``01`` only (01)."""
    stem = pattern.rstrip("n")
    if stem == pattern:
        return ai == pattern
    return len(ai) == len(pattern) and ai.startswith(stem)


def _show(alternative: tuple[str, ...]) -> str:
    return "+".join(f"({ai})" for ai in alternative)


def check_associations(ais: dict[str, str]) -> None:
    """Raise ``ai.association`` for the first exclusive pair or unmet requisite, in input order.

    >>> check_associations({"01": "09506000134352", "37": "12"})
    Traceback (most recent call last):
    ...
    verinet.errors.IdentifierError: Failed to read AI (37): expected at most one of GTIN (01) and AI (37), got both.
    """
    order = list(ais)
    for index, ai in enumerate(order):
        excluded = _EXCLUDED.get(ai)
        if excluded is None:
            continue
        for other in order[:index]:
            if other in excluded:
                raise IdentifierError(
                    f"Failed to read {label(ai)}: expected at most one of {label(other)} and "
                    f"{label(ai)}, got both.",
                    code="ai.association",
                    ai=ai,
                    field=FIELDS.get(ai),
                )
    if "8030" in ais:
        _check_signed_key(ais)
    for ai in order:
        for group, any_of, combined in _REQUIRED.get(ai, ()):
            if any_of.isdisjoint(ais) and not any(all(not found.isdisjoint(ais) for found in alt) for alt in combined):
                needed = " or ".join(_show(alt) for alt in group)
                raise IdentifierError(
                    f"Failed to read {label(ai)}: expected {needed} with it, got none.",
                    code="ai.association",
                    ai=ai,
                    field=FIELDS.get(ai),
                )


def _check_signed_key(ais: dict[str, str]) -> None:
    """A digital signature (8030) signs one instance: a GDTI, GCN or GRAI with it must carry its
    optional serial component (GS1 General Specifications, AI (8030))."""
    for key, bare in _SERIALISED_KEYS.items():
        value = ais.get(key)
        if value is not None and len(value) == bare:
            raise IdentifierError(
                f"Failed to read digital signature (8030): expected ({key}) with its serial "
                f"component, got {value!r} without one.",
                code="ai.association",
                ai="8030",
            )


_SERIALISED_KEYS: Final = {"253": 13, "255": 13, "8003": 14}


def _concrete(pattern: str) -> frozenset[str]:
    """The AIs a pattern stands for: ``310n`` is (3100)-(3109) as the AI table has them."""
    if "n" not in pattern:
        return frozenset({pattern})
    return frozenset(ai for ai in AI_TABLE if _matches(pattern, ai))


#: One ``req=`` group as written (alternatives of AIs or patterns); then the AIs any one of which
#: meets it alone, and its alternatives of several AIs together (``01+21``) as sets.
Group = tuple[tuple[str, ...], ...]
Requisite = tuple[Group, frozenset[str], tuple[tuple[frozenset[str], ...], ...]]


def _requisite(group: Group) -> Requisite:
    alone = frozenset().union(*(_concrete(alt[0]) for alt in group if len(alt) == 1))
    combined = tuple(tuple(_concrete(p) for p in alt) for alt in group if len(alt) > 1)
    return group, alone, combined


def _expanded() -> tuple[dict[str, frozenset[str]], dict[str, tuple[Requisite, ...]]]:
    """The rules with their patterns expanded once, for a check that only looks AIs up: the AIs
    each AI excludes (both ways, never itself), and each requisite group beside its sets."""
    excluded: dict[str, set[str]] = {}
    for ai, patterns in EXCLUDES.items():
        for pattern in patterns:
            for other in _concrete(pattern) - {ai}:
                excluded.setdefault(ai, set()).add(other)
                excluded.setdefault(other, set()).add(ai)
    required = {ai: tuple(_requisite(group) for group in groups) for ai, groups in REQUIRES.items()}
    return {ai: frozenset(others) for ai, others in excluded.items()}, required


_EXCLUDED, _REQUIRED = _expanded()
