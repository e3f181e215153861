"""GS1 Digital Link URIs: ``https://{domain}[/{prefix}]/01/{gtin}[/22/..][/10/..][/21/..]?17=..``.

Decisions (GS1 Digital Link URI Syntax 1.2+; GS1 Syntax Engine behaviour where the text is open):

- Scheme ``http`` or ``https``, written all lower case or all upper case (upper case is what a QR
  Code in alphanumeric mode carries). A mixed-case scheme is not a Digital Link.
- Any domain and any path prefix before the primary key. The primary key is found from the right:
  the right-most primary-key segment at an even distance from the end whose qualifiers are valid.
- Key qualifiers must be those of the primary key, in grammar order (22, 10, 21 or 235 for a GTIN);
  a qualifier that could stand in the path must not be in the query.
- Every AI may appear once, even with the same value.
- Convenience alphas (Digital Link <= 1.2, still used by GS1 US LMS requests): ``gtin``, ``cpv``,
  ``lot``, ``ser`` in the path, ``exp`` (17) and ``expdt`` (7003) in the query.
- Values are percent-decoded per RFC 3986 after splitting on ``/``, so ``%2F`` is part of a value.
  In the path ``+`` is a literal plus; in a query AI value it is refused (``dl.encoding``): query
  strings also use it for a space, so GS1's reference parser reads ``98=XYZ+987`` as an invalid
  ``XYZ 987``; a plus must be written ``%2B``. Characters RFC 3986 does not allow in a URI (space,
  ``<``, ``"``, ...) are rejected rather than guessed.
- The host is a name of letters, digits, ``-`` and ``.``, an IPv4 address or a bracketed IPv6
  address, with an optional port; user information and IPv6 zone identifiers are refused.
- A query AI must be one the GS1 Barcode Syntax Dictionary allows as a data attribute.
- Query parameters are separated by ``&`` (``;`` is accepted too). All-digit keys must be known AIs;
  other keys (``linkType``, ``context``, ``reqGLN``...) are not AIs: they are kept, decoded, in
  ``extra_query``. The fragment is ignored.
- A GTIN-8/12/13 as (01), in the path or the query, is zero-padded to GTIN-14.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import quote, unquote

from verinet.errors import IdentifierError
from verinet.identifiers._element import Token
from verinet.identifiers._tables import (
    AI_TABLE,
    DL_NOT_ATTRIBUTES,
    DL_PATH_ALPHAS,
    DL_PRIMARY_KEYS,
    DL_QUERY_ALPHAS,
)

_URI_ILLEGAL: Final = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PARAM: Final = re.compile(r"[^&;]+")
_SCHEMES: Final = frozenset({"http", "https", "HTTP", "HTTPS"})
# A host is a registered name, an IPv4 address, or an IPv6 literal in brackets, with an optional
# port; no user information, no percent-encoding (so no IPv6 zone identifier).
_HOST: Final = re.compile(r"(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")
_WRITE_ORDER: Final = ("01", "8006", "00", "414", "417", "415", "8004", "8003", "8010",
                       "8013", "8017", "8018", "253", "255", "401", "402")  # fmt: skip


def looks_like_uri(data: str) -> bool:
    return _SCHEME.match(data) is not None


def _fail(
    data: str,
    reason: str,
    code: str = "dl.invalid",
    *,
    position: int | None = None,
    ai: str | None = None,
) -> IdentifierError:
    return IdentifierError(
        f"Failed to parse {data!r} as GS1 Digital Link: {reason}.",
        code=code,
        position=position,
        ai=ai,
    )


def _bad_escape(data: str, at: int, expected: str, got: str) -> IdentifierError:
    return _fail(data, f"expected {expected} at position {at}, got {got!r}", "dl.encoding", position=at)


def _decode(data: str, raw: str, offset: int) -> str:
    if "%" not in raw:
        return raw
    bad = _BAD_PERCENT.search(raw)
    if bad is not None:
        escape = raw[bad.start() : bad.start() + 3]
        raise _bad_escape(data, offset + bad.start(), "'%' followed by two hex digits", escape)
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise _bad_escape(data, offset, "percent-encoded UTF-8", raw) from None


def _is_subsequence(items: Sequence[str], sequence: Sequence[str]) -> bool:
    it = iter(sequence)
    return all(item in it for item in items)


def _path_key(segment: str) -> str:
    return DL_PATH_ALPHAS.get(segment, segment)


def _check_path(
    data: str, segments: list[str], offsets: list[int], i: int
) -> IdentifierError | None:
    primary = _path_key(segments[i])
    allowed = DL_PRIMARY_KEYS[primary]
    qualifiers = [_path_key(segments[j]) for j in range(i + 2, len(segments), 2)]
    if not qualifiers:
        return None
    if not allowed:
        return _fail(
            data,
            f"expected no key qualifier after primary key ({primary}), got {segments[i + 2]!r}",
            position=offsets[i + 2],
            ai=primary,
        )
    known = [q for alternative in allowed for q in alternative]
    for index, qualifier in enumerate(qualifiers):
        j = i + 2 + 2 * index
        if qualifier not in known:
            expected = ", ".join(f"({q})" for q in known)
            return _fail(
                data,
                f"expected a key qualifier of ({primary}) - {expected} - at position "
                f"{offsets[j]}, got {segments[j]!r}",
                position=offsets[j],
                ai=qualifier if qualifier in AI_TABLE else None,
            )
        if qualifier in qualifiers[:index]:
            return _fail(
                data,
                f"expected each AI once, got ({qualifier}) twice",
                position=offsets[j],
                ai=qualifier,
            )
    if not any(_is_subsequence(qualifiers, alternative) for alternative in allowed):
        orders = " or ".join("/".join(alternative) for alternative in allowed)
        got = "/".join(qualifiers)
        return _fail(
            data,
            f"expected the key qualifiers of ({primary}) in the order {orders}, got {got}",
            "dl.qualifier_order",
            position=offsets[i + 2],
        )
    return None


def tokenize_digital_link(data: str, base: int = 0) -> tuple[list[Token], dict[str, str]]:
    """Split a Digital Link URI into AI values (path, then query) and the non-AI parameters."""
    illegal = _URI_ILLEGAL.search(data)
    if illegal is not None:
        at = base + illegal.start()
        raise _fail(
            data,
            f"expected only characters allowed in a URI (RFC 3986), got {illegal.group()!r} "
            f"at position {at}",
            "dl.encoding",
            position=at,
        )
    match = _SCHEME.match(data)
    if match is None:
        raise _fail(data, f"expected a URI starting with https://, got {data[:8]!r}")
    scheme = match.group()[:-1]
    if scheme not in _SCHEMES:
        if scheme.lower() in _SCHEMES:
            reason = f"expected the scheme in one letter case (https or HTTPS), got {scheme!r}"
        else:
            reason = f"expected the scheme http or https, got {scheme!r}"
        raise _fail(data, reason, position=base)
    if not data.startswith("//", match.end()):
        raise _fail(data, f"expected '//' and a host after {scheme}:", position=base + match.end())
    host_start = match.end() + 2
    host_end = len(data)
    for stop in "/?#":
        found = data.find(stop, host_start)
        if 0 <= found < host_end:
            host_end = found
    if host_end == host_start:
        raise _fail(data, "expected a host name after '//'", position=base + host_start)
    host = data[host_start:host_end]
    if _HOST.fullmatch(host) is None:
        raise _fail(
            data,
            f"expected a host name of letters, digits, '-' and '.' (or an IP address), "
            f"got {host!r}",
            position=base + host_start,
        )
    hash_at = data.find("#", host_end)
    end = hash_at if hash_at >= 0 else len(data)
    query_at = data.find("?", host_end, end)
    path_end = query_at if query_at >= 0 else end
    path = data[host_end:path_end]
    if len(path) <= 1:
        raise _fail(
            data,
            f"expected a primary key such as /01/{{gtin}} in the path, got {path!r}",
            position=base + host_end,
        )

    segments = path[1:].split("/")
    offsets: list[int] = []
    at = base + host_end + 1
    for index, segment in enumerate(segments):
        offsets.append(at)
        if not segment:
            where = "end with '/'" if index == len(segments) - 1 else "contain an empty segment"
            raise _fail(data, f"expected a path that does not {where} (position {at})", position=at)
        at += len(segment) + 1

    candidates = [
        i
        for i, segment in enumerate(segments)
        if _path_key(segment) in DL_PRIMARY_KEYS and (len(segments) - i) % 2 == 0
    ]
    if not candidates:
        raise _fail(
            data,
            f"expected a primary key such as /01/{{gtin}} in the path, got {path!r}",
            position=base + host_end,
        )
    failures: list[IdentifierError] = []
    start: int | None = None
    for i in reversed(candidates):
        failure = _check_path(data, segments, offsets, i)
        if failure is None:
            start = i
            break
        failures.append(failure)
    if start is None:
        raise failures[-1]  # the left-most candidate's reason

    tokens: list[Token] = []
    path_qualifiers: list[str] = []
    for j in range(start, len(segments), 2):
        ai = _path_key(segments[j])
        value = _decode(data, segments[j + 1], offsets[j + 1])
        offset = offsets[j + 1]
        value, offset = _padded_gtin(ai, value, offset)
        if j > start:
            path_qualifiers.append(ai)
        tokens.append((ai, value, offset))

    primary = tokens[0][0]
    compatible = [
        alternative
        for alternative in DL_PRIMARY_KEYS[primary]
        if _is_subsequence(path_qualifiers, alternative)
    ]
    forbidden = {q for alternative in compatible for q in alternative}
    seen = {ai for ai, _, _ in tokens}
    extra: dict[str, str] = {}
    if query_at >= 0:
        for param in _PARAM.finditer(data, query_at + 1, end):
            key, _, raw = param.group().partition("=")
            query_ai: str | None = None
            if key.isascii() and key.isdigit():
                if key not in AI_TABLE:
                    reason = f"expected a GS1 Application Identifier in the query, got ({key})"
                    raise _fail(data, reason, "ai.unknown", ai=key, position=base + param.start())
                query_ai = key
            elif key in DL_QUERY_ALPHAS:
                query_ai = DL_QUERY_ALPHAS[key]
            if query_ai is None:
                extra[unquote(key)] = unquote(raw)
                continue
            ai = query_ai
            value_at = base + param.start() + len(key) + 1
            value = _decode(data, raw, value_at)
            if not value:
                reason = f"expected a value for AI ({ai}) at position {value_at}, got nothing"
                raise _fail(data, reason, "ai.missing_value", ai=ai, position=value_at)
            if ai in seen:
                raise _fail(
                    data, f"expected each AI once, got ({ai}) twice", ai=ai, position=value_at
                )
            if ai in forbidden:
                raise _fail(
                    data,
                    f"expected key qualifier ({ai}) of ({primary}) in the path, got it in "
                    "the query",
                    ai=ai,
                    position=value_at,
                )
            if ai in DL_NOT_ATTRIBUTES:
                reason = f"expected only AIs allowed as data attributes in the query, got ({ai})"
                raise _fail(data, reason, ai=ai, position=value_at)
            if "+" in raw:
                at = value_at + raw.index("+")
                reason = (
                    f"expected '%2B' for a plus in a query value at position {at}, got '+' "
                    "(which query strings also use for a space)"
                )
                raise _fail(data, reason, "dl.encoding", ai=ai, position=at)
            seen.add(ai)
            tokens.append((ai, *_padded_gtin(ai, value, value_at)))
    return tokens, extra


def _padded_gtin(ai: str, value: str, offset: int) -> tuple[str, int]:
    """A GTIN-8/12/13 as (01) takes it, zero-padded to 14 digits, in the path or the query alike."""
    if ai == "01" and value.isascii() and value.isdigit() and len(value) in (8, 12, 13):
        # Positions still count the URI as sent: the padding zeros are not in it.
        return value.zfill(14), offset - (14 - len(value))
    return value, offset


def write_digital_link(
    ais: Mapping[str, str], domain: str, extra_query: Mapping[str, str] | None = None
) -> str:
    """A Digital Link URI with numeric AIs: primary key and qualifiers in the path, the rest in
    the query in the given order."""
    primary = next((ai for ai in _WRITE_ORDER if ai in ais), None)
    if primary is None:
        raise IdentifierError(
            f"Failed to write {dict(ais)!r} as GS1 Digital Link: expected a primary key such "
            "as (01), got none.",
            code="dl.invalid",
        )
    alternatives = DL_PRIMARY_KEYS[primary]
    qualifiers: tuple[str, ...] = ()
    if alternatives:
        best = max(alternatives, key=lambda alternative: sum(q in ais for q in alternative))
        qualifiers = tuple(q for q in best if q in ais)
    path = "".join(f"/{ai}/{quote(ais[ai], safe='')}" for ai in (primary, *qualifiers))
    params = [
        f"{ai}={quote(value, safe='')}"
        for ai, value in ais.items()
        if ai != primary and ai not in qualifiers
    ]
    params += [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in (extra_query or {}).items()]
    query = "?" + "&".join(params) if params else ""
    return domain.rstrip("/") + path + query
