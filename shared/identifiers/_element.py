"""GS1 element strings (``0109506000134352172612311 0ABC123<GS>21SN0001``) and their HRI form.

A token is ``(ai, value, value_offset)``: the offset is where the value starts in the caller's
input, for error positions.

FNC1 separators. Scanners send FNC1 as GS (ASCII 29). Because GS cannot be typed, it also arrives
spelled out; we accept, case-insensitively: ``<GS>``, ``{GS}``, ``[GS]``, ``<FNC1>``, ``{FNC1}``,
``^]`` (caret notation for Ctrl+]) and the escape texts ``\\x1d`` and ``\\u001d``. Apart from
``<GS>`` and ``<FNC1>`` none of these can occur in GS1 data (``{ [ ^ ] \\`` are not CSET 82);
``<GS>`` is CSET 82 text, and we take the risk that no real value contains it.
A separator is tolerated after any element, at the start and at the end (General Specifications
§7.8.6).

HRI. ``(01)09506000134352(17)261231(10)ABC123``. Every ``(`` followed by digits and ``)`` starts
an AI; a literal ``(`` in a value that would look like one is written ``\\(``, as the GS1 Syntax
Engine does. A value running up to the next AI is taken verbatim: spaces are not stripped.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from typing import Final, TypeAlias

from verinet.errors import IdentifierError
from verinet.identifiers import _hints
from verinet.identifiers._tables import AI_TABLE, lookup_ai
from verinet.identifiers._values import validate_value

Token: TypeAlias = tuple[str, str, int | None]

SEPARATOR_RE: Final = re.compile(
    r"\x1d|<GS>|\{GS\}|\[GS\]|<FNC1>|\{FNC1\}|\^\]|\\x1d|\\u001d", re.IGNORECASE
)
_HRI_AI: Final = re.compile(r"\(([0-9]+)\)")
_LITERAL_PAREN: Final = "\\("  # how HRI writes a '(' that is data
# The AIs a missing-separator hint may propose: what a pack carries. Proposing any AI would turn
# every long numeric value into a false alarm.
_PACK_AIS: Final = ("21", "10", "17", "11", "15", "16", "22", "710", "711", "712", "713", "714",
                    "715", "716", "717")  # fmt: skip
_MAX_SEARCH: Final = 200


def _unknown_ai(data: str, pos: int, base: int) -> IdentifierError:
    found = data[pos : pos + 4]
    if not "0" <= found[:1] <= "9" and pos == 0:  # ASCII: an Arabic-Indic digit starts no AI
        return IdentifierError(
            f"Failed to parse {data!r}: expected an element string, HRI '(01)...', a GS1 "
            f"Digital Link URI or a GTIN, got {found!r} at position {base}.",
            code="input.unrecognised",
            position=base,
        )
    return IdentifierError(
        f"Failed to read {found!r} at position {base + pos}: expected a GS1 Application "
        "Identifier, got digits that start none.",
        code="ai.unknown",
        position=base + pos,
    )


def tokenize_element_string(data: str, base: int = 0) -> list[Token]:
    """Split an element string into AI values by the AI table and FNC1 separators.

    Values are not validated here, except that a known AI must start each element.
    """
    seps = [(m.start(), m.end()) for m in SEPARATOR_RE.finditer(data)]
    sep_starts = [start for start, _ in seps]
    sep_end = dict(seps)
    n = len(data)
    tokens: list[Token] = []
    pos = 0
    while pos in sep_end:
        pos = sep_end[pos]
    while pos < n:
        spec = lookup_ai(data, pos)
        if spec is None:
            raise _unknown_ai(data, pos, base)
        vstart = pos + len(spec.ai)
        i = bisect_left(sep_starts, vstart)
        next_sep = sep_starts[i] if i < len(sep_starts) else n
        vend = min(vstart + spec.max_len, next_sep) if spec.fixed else next_sep
        value = data[vstart:vend]
        if not value:
            got = "a separator" if vend < n else "the end of the data"
            raise IdentifierError(
                f"Failed to read AI ({spec.ai}) at position {base + pos}: expected its value "
                f"at position {base + vstart}, got {got}.",
                code="ai.missing_value",
                ai=spec.ai,
                position=base + vstart,
            )
        tokens.append((spec.ai, value, base + vstart))
        pos = vend
        while pos in sep_end:
            pos = sep_end[pos]
    if not tokens:
        raise IdentifierError(
            f"Failed to read element strings at position {base}: expected at least one, got "
            "only separators.",
            code="input.empty",
            position=base,
        )
    return tokens


def element_string_fits(data: str) -> bool:
    """Whether ``data`` splits into known AIs with values of allowed lengths (no other checks)."""
    try:
        tokens = tokenize_element_string(data)
    except IdentifierError:
        return False
    return all(
        AI_TABLE[ai].min_len <= len(value) <= AI_TABLE[ai].max_len for ai, value, _ in tokens
    )


def _next_hri_ai(data: str, start: int) -> re.Match[str] | None:
    for match in _HRI_AI.finditer(data, start):
        if match.start() == 0 or data[match.start() - 1] != "\\":
            return match
    return None


def _unescaped(data: str, value: str, offset: int) -> str:
    """An HRI value with its ``\\(`` read as ``(``. Any other ``(`` starts an AI (as the GS1
    Syntax Engine reads HRI), so one that does not is refused rather than kept as data."""
    for i, ch in enumerate(value):
        if ch == "(" and (i == 0 or value[i - 1] != "\\"):
            raise IdentifierError(
                f"Failed to parse {data!r} as HRI: expected '\\(' for a parenthesis inside a value "
                f"at position {offset + i}, got '(' not starting an AI.",
                code="hri.escape",
                position=offset + i,
            )
    return value.replace(_LITERAL_PAREN, "(")


def tokenize_hri(data: str, base: int = 0) -> list[Token]:
    """Split ``(01)...(10)...`` into AI values."""
    match = _HRI_AI.match(data) if data.startswith("(") else None
    if match is None:
        raise IdentifierError(
            f"Failed to parse {data!r} as HRI: expected '(' AI ')' at position {base}, "
            f"got {data[:6]!r}.",
            code="input.unrecognised" if not data.startswith("(") else "ai.unknown",
            position=base,
        )
    tokens: list[Token] = []
    while match is not None:
        ai = match.group(1)
        if ai not in AI_TABLE:
            raise IdentifierError(
                f"Failed to parse {data!r} as HRI: expected a GS1 Application Identifier at "
                f"position {base + match.start()}, got ({ai}).",
                code="ai.unknown",
                ai=ai,
                position=base + match.start(),
            )
        following = _next_hri_ai(data, match.end())
        vend = following.start() if following is not None else len(data)
        value = data[match.end() : vend]
        if "(" in value:
            value = _unescaped(data, value, base + match.end())
        tokens.append((ai, value, base + match.end()))
        match = following
    return tokens


def write_element_string(ais: Mapping[str, str], separator: str = "\x1d") -> str:
    """Predefined-length AIs first, then the others, each but the last followed by GS."""
    fixed = [ai + value for ai, value in ais.items() if AI_TABLE[ai].fixed]
    variable = [ai + value for ai, value in ais.items() if not AI_TABLE[ai].fixed]
    return "".join(fixed) + separator.join(variable)


def write_hri(ais: Mapping[str, str]) -> str:
    """``(01)...(10)...`` in the order given; a ``(`` inside a value is escaped ``\\(``."""
    return "".join(f"({ai}){value.replace('(', _LITERAL_PAREN)}" for ai, value in ais.items())


def _splits(value: str, ais: tuple[str, ...]) -> list[tuple[int, str]]:
    out = []
    for k in range(1, len(value) - 2):
        if "0" <= value[k] <= "9":
            spec = lookup_ai(value, k)
            if spec is not None and spec.ai in ais:
                out.append((k, spec.ai))
    return out


def embedded_element(
    ai: str,
    value: str,
    *,
    year_now: int,
    only: tuple[str, ...] | None = None,
    min_len: int = 1,
) -> str | None:
    """A hint if ``value`` reads as a valid ``ai`` value followed by valid element strings.

    That is the mark of a dropped GS separator. The element found must start with one of the
    pack AIs (21, 10, 17...), or of ``only``, and have a value of ``min_len`` characters or more.
    """
    found = missing_separator(ai, value, year_now=year_now, only=only, min_len=min_len)
    if found is None:
        return None
    k, next_ai, next_value = found
    return _hints.missing_separator(ai, value[:k], next_ai, next_value)


def missing_separator(
    ai: str,
    value: str,
    *,
    year_now: int,
    only: tuple[str, ...] | None = None,
    min_len: int = 1,
) -> tuple[int, str, str] | None:
    """Where a dropped GS separator would split ``value`` of ``ai`` into valid elements: the
    index in ``value`` where the next AI starts, that AI and its value; ``None`` if nowhere."""
    if len(value) > _MAX_SEARCH:
        return None
    spec = AI_TABLE[ai]
    for k, next_ai in _splits(value, only if only is not None else _PACK_AIS):
        head, rest = value[:k], value[k:]
        if spec.pattern.fullmatch(head) is None:
            continue
        try:
            tokens = tokenize_element_string(rest)
            for tok_ai, tok_value, _ in tokens:
                validate_value(AI_TABLE[tok_ai], tok_value, offset=None, year_now=year_now)
        except IdentifierError:
            continue
        if len(tokens[0][1]) >= min_len:
            return k, next_ai, tokens[0][1]
    return None
