"""A linear pre-scan of JSON bytes, fed chunk by chunk as a body arrives, that refuses what
would cost a parser too much or break it, before any structure is built.

It checks what a parser checks late, at great cost, or not at all: nesting depth, the number
of values a body would build, the length of strings and of NDJSON lines, the UTF-8 encoding,
NUL bytes (raw, or escaped as ``\\u0000``), lone surrogate escapes (``"\\ud800"``) and a byte
order mark. It is not a validator: other syntax errors are left to the parser that follows
(orjson, ijson), which then stops at them.

Each chunk is scanned with C-speed operations only (a split on quotes, or a regex split when
the chunk holds escapes, then ``translate``, ``count``, ``accumulate`` on the text outside
strings), so the cost stays linear and small however the input is shaped. When something looks
wrong, a token-by-token walk of the same chunk finds the exact place for the error message
(byte offset, line and column).

>>> scanner = JsonScanner(BodyLimits(max_bytes=1 << 20, max_depth=3, max_line_bytes=100, max_values=100))
>>> scanner.feed(b'{"a": [1, "x]"]')
>>> scanner.feed(b', "b": {}}')
>>> scanner.finish()
>>> JsonScanner(BodyLimits(1 << 20, 3, 100, 100)).feed(b'[[[[1]]]]')
Traceback (most recent call last):
...
verinet.errors.InvalidInput: The body nests deeper than 3 levels of arrays and objects: a 4th opens at line 1, column 4 (byte 3).
"""

from __future__ import annotations

import codecs
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from verinet.errors import InvalidInput, TooLarge

#: One JSON string (its content, then its closing quote), as far as it is valid: the closing
#: quote is optional, so every match starts at a quote no earlier match consumed and the split
#: never backtracks.
_STRING = re.compile(rb'"((?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+)("?)')
#: The end of a chunk that cut an escape in two: the rest comes with the next chunk.
_PARTIAL_ESCAPE = re.compile(rb"(?:\\(?:u[0-9a-fA-F]{0,3})?)?")
#: Escapes refused once escaped backslashes are blanked out: a high surrogate no low one
#: follows (group 1), a low one no high one precedes (group 2), and \u0000.
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_BAD_ESCAPE = re.compile(rb"(" + _HIGH + rb"(?!" + _LOW + rb"))|((?<!" + _HIGH + rb")" + _LOW + rb")|\\u0000")
_TOKEN = re.compile(rb'"(?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+("?)|[\[\]{}]')

#: A number or a literal (true, false, null), as far as a scan needs to tell one.
_SCALAR = re.compile(rb"[0-9A-Za-z.+\-]++")
_SCALAR_BYTES = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"
_SCALAR_SET = frozenset(bytes([b]) for b in _SCALAR_BYTES)

_ALL = bytes(range(256))
_NOT_BRACKETS = _ALL.translate(None, b"[]{}")
_NOT_CONTROL = _ALL.translate(None, bytes(range(0x20)))
_NOT_TOKENS = _ALL.translate(None, b"[]{}x\x00")
#: x for a byte of a number or literal, a space for any other: a run of x is one value.
_SCALAR_RUNS = bytes(0x78 if b in _SCALAR_BYTES else 0x20 for b in range(256))
#: Depth change of a token: +1 opens, -1 closes, 0 for a string or a number or literal.
_DELTA = [0] * 256
for _byte in b"[{":
    _DELTA[_byte] = 1
for _byte in b"]}":
    _DELTA[_byte] = -1
#: 128 for a closing bracket, 0 for any other token (added to its depth, see _count_units).
_CLOSING = bytes(128 if b in b"]}" else 0 for b in range(256))
_BOM = b"\xef\xbb\xbf"
_MARK = b"\x00"  # stands for a string; a raw NUL is refused before it could be confused with one


@dataclass(frozen=True)
class BodyLimits:
    """What one JSON body may cost (from the gateway's settings)."""

    #: Bytes of the body.
    max_bytes: int
    #: Arrays and objects open at once.
    max_depth: int
    #: Bytes of one NDJSON line.
    max_line_bytes: int
    #: Values (strings, numbers, literals, arrays, objects; keys count as strings) that one
    #: body builds: the whole body when it is parsed whole, one NDJSON line or one streamed
    #: unit (an EPCIS event) when it is parsed piece by piece. About 100 bytes each at most.
    max_values: int
    #: Bytes of one string or key, as written (escapes included).
    max_string_bytes: int = 1 << 20


class Position(NamedTuple):
    """Where a fault is: 0-based byte offset, 1-based line and column (in bytes)."""

    byte: int
    line: int
    column: int


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class JsonScanner:
    """Scans one JSON body (or NDJSON, one value a line) as it arrives; raises InvalidInput
    (400) or TooLarge (413) naming the byte offset, line and column at fault.

    ``unit_depth`` says what is built at once: 0, the whole body (or, with ``ndjson``, every
    line: all are kept); n > 0, one container at depth n at a time (the rest streams through),
    so the values of each such container count on their own.
    """

    def __init__(self, limits: BodyLimits, *, ndjson: bool = False, unit_depth: int = 0, max_bytes: int | None = None) -> None:
        if limits.max_depth > 120:
            raise ValueError("max_depth above 120 is not supported")  # depths travel as bytes below 128
        self.limits = limits
        self.max_bytes = limits.max_bytes if max_bytes is None else max_bytes
        self.ndjson = ndjson
        self.unit_depth = unit_depth
        self.read_bytes = 0  # bytes fed so far
        self.depth = 0
        self.values = 0
        self._in_string = False
        self._in_scalar = False
        self._open_string = 0  # bytes so far of the string the last chunk ended in
        self._string_at = 0  # where that string opened
        self._carry = b""  # a cut escape (and a high surrogate before it), scanned again with the next chunk
        self._utf8_pending = b""
        self._head = b""  # the first bytes, until a byte order mark can be told
        self._unit_values = 0  # values of the streamed unit still open
        self._line_bytes = 0  # bytes of the NDJSON line still open
        self._lines_before = 0  # line breaks before the current chunk
        self._line_start = 0  # byte offset where the line open at the chunk's start began
        self._chunk = b""
        self._chunk_at = 0
        unit = unit_depth
        self._unit_table = bytes((1 if b >= unit else 0) if b < 128 else (2 if b - 128 >= unit else 0) for b in range(256))

    # -- positions ----------------------------------------------------------------------------

    def _where(self, offset: int) -> tuple[str, Position]:
        """Words and problem members for a byte offset in the current chunk (or its carry)."""
        offset = max(offset, 0)
        inside = max(0, min(offset - self._chunk_at, len(self._chunk)))
        before = self._chunk[:inside]
        breaks = before.count(b"\n")
        line = self._lines_before + breaks + 1
        start = self._chunk_at + before.rfind(b"\n") + 1 if breaks else self._line_start
        column = offset - start + 1
        return f"line {line}, column {column} (byte {offset})", Position(offset, line, column)

    def _invalid(self, code: str, what: str, offset: int) -> InvalidInput:
        where, at = self._where(offset)
        # replace, not format: ``what`` may quote the body's own braces
        return InvalidInput(what.replace("{where}", where), code=code, position=at.byte, line=at.line, column=at.column)

    def _too_large(self, code: str, what: str, offset: int, limit: int) -> TooLarge:
        """A body over ``limit``, where ``what`` says with ``{where}`` for the offset's place."""
        where, at = self._where(offset)
        return TooLarge(what.replace("{where}", where), code=code, limit=limit, position=at.byte, line=at.line, column=at.column)

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """Scans the next bytes of the body; raises at the first limit or fault."""
        if not chunk:
            return
        self._chunk, self._chunk_at = chunk, self.read_bytes
        self.read_bytes += len(chunk)
        if self.read_bytes > self.max_bytes:
            raise TooLarge(f"The body is larger than {self.max_bytes:,} bytes.", code="body.too_large", limit=self.max_bytes)
        if len(self._head) < 3:
            self._check_head(chunk)
        nul = chunk.find(b"\x00")
        if nul >= 0:
            self._check_utf8(chunk[:nul])  # a fault before it comes first
            raise self._invalid("body.nul", "The body has a NUL byte at {where}: JSON text may not hold one.", self._chunk_at + nul)
        self._check_utf8(chunk)
        if self.ndjson:
            self._check_lines(chunk)
        self._scan(chunk)
        self._end_chunk(chunk)

    def finish(self) -> None:
        """The body ended: a cut UTF-8 sequence or escape, or an open string, is an error."""
        self._chunk, self._chunk_at = b"", self.read_bytes
        if self._utf8_pending:
            raise self._invalid("body.encoding", "The body ends inside a UTF-8 sequence at {where}: expected UTF-8 text.", self.read_bytes - len(self._utf8_pending))
        if self._in_string:
            raise self._invalid("body.json", "The body ends inside a string at {where}: expected its closing quote.", self.read_bytes)

    def _end_chunk(self, chunk: bytes) -> None:
        breaks = chunk.count(b"\n")
        if breaks:
            self._lines_before += breaks
            self._line_start = self._chunk_at + chunk.rfind(b"\n") + 1

    def _check_head(self, chunk: bytes) -> None:
        self._head += chunk[: 3 - len(self._head)]
        if self._head == _BOM:
            raise self._invalid(
                "body.encoding",
                "The body starts with a UTF-8 byte order mark (EF BB BF) at {where}: send the JSON without it (RFC 8259, section 8.1).",
                0,
            )

    def _check_utf8(self, chunk: bytes) -> None:
        if not self._utf8_pending and chunk.isascii():
            return
        data = self._utf8_pending + chunk
        try:
            _, used = codecs.utf_8_decode(data, "strict", False)
        except UnicodeDecodeError as error:
            offset = self._chunk_at - len(self._utf8_pending) + error.start
            hint = ""
            if offset == 0 and data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                hint = " (it starts like UTF-16)"
            raise self._invalid(
                "body.encoding",
                f"The body is not valid UTF-8 at {{where}}{hint}: byte 0x{data[error.start]:02X} ({error.reason}).",
                offset,
            ) from None
        self._utf8_pending = data[used:]

    def _check_lines(self, chunk: bytes) -> None:
        limit = self.limits.max_line_bytes
        lines = chunk.split(b"\n")
        first = self._line_bytes + len(lines[0])
        longest = max(first, max(map(len, lines[1:]), default=0))
        if longest > limit:
            # Rare: find where the line starts, for the message.
            start = self._chunk_at - self._line_bytes
            if first <= limit:
                start = self._chunk_at + len(lines[0]) + 1
                for line in lines[1:]:
                    if len(line) > limit:
                        break
                    start += len(line) + 1
            raise self._too_large("body.line_too_long", f"The NDJSON line starting at {{where}} is longer than {limit:,} bytes.", start, limit)
        self._line_bytes = first if len(lines) == 1 else len(lines[-1])

    # -- structure ----------------------------------------------------------------------------

    def _scan(self, chunk: bytes) -> None:
        prefix = (b'"' if self._in_string else b"") + self._carry
        buf = prefix + chunk
        base = self._chunk_at - len(prefix)  # byte offset of buf[0] (a made-up quote may come first)
        continued = prefix[:1] == b'"'
        if b"\\" in buf:
            residual, carry, in_string = self._strings_with_escapes(buf, base, continued)
        else:
            residual, carry, in_string = self._plain_strings(buf, base, continued)
        if prefix[:1] == b'"':
            residual = residual[1:]  # the string the last chunk ended in was counted there
        # A number or literal the last chunk ended in goes on here: counted there.
        goes_on = self._in_scalar and residual[:1] in _SCALAR_SET
        if self.unit_depth:
            self._count_units(residual, buf, base, goes_on)
        else:
            self._count_whole(residual, buf, base, goes_on)
        self._in_string, self._carry = in_string, carry
        self._in_scalar = residual[-1:] in _SCALAR_SET

    def _plain_strings(self, buf: bytes, base: int, continued: bool) -> tuple[bytes, bytes, bool]:
        """Without a backslash, every quote opens or closes a string: one split finds them.
        Returns the text outside strings (a mark for each string), the carry (none) and
        whether the chunk ends inside a string."""
        pieces = buf.split(b'"')  # outside, inside, outside, ... (buf starts outside a string)
        inside = pieces[1::2]
        if b"".join(inside).translate(None, _NOT_CONTROL):
            self._walk(buf, base)  # a control character inside a string: raises there
            raise AssertionError("unreachable: the walk found no fault")  # pragma: no cover
        in_string = len(pieces) % 2 == 0
        if inside:
            self._check_strings(
                inside, continued, in_string, lambda i: base + sum(map(len, pieces[: 2 * i + 1])) + 2 * i, base + len(buf) - len(pieces[-1]) - 1
            )
        outside = pieces[0::2]
        if in_string:
            outside.append(b"")
        return _MARK.join(outside), b"", in_string

    def _strings_with_escapes(self, buf: bytes, base: int, continued: bool) -> tuple[bytes, bytes, bool]:
        """As _plain_strings, with a regex that reads escapes: a string ends at a quote no
        backslash escapes, and a chunk may end in the middle of an escape (the carry)."""
        # Outside text, each string's content and its closing quote (empty when it has none).
        parts = _STRING.split(buf)
        contents, closes = parts[1::3], parts[2::3]
        carry = b""
        in_string = False
        open_strings = closes.count(b"")
        if open_strings == 1 and closes[-1] == b"" and _PARTIAL_ESCAPE.fullmatch(parts[-1]):
            in_string, carry = True, parts[-1]  # the last string goes on in the next chunk
        elif open_strings:
            self._walk(buf, base)  # a string stops at a byte it may not hold: raises there
            raise AssertionError("unreachable: the walk found no fault")  # pragma: no cover
        if contents:
            # The opening quotes are not in parts: one before each string.
            self._check_strings(
                contents, continued, in_string, lambda i: base + sum(map(len, parts[: 3 * i + 1])) + i, base + len(buf) - len(parts[-1]) - len(contents[-1]) - 1
            )
        outside = parts[0::3]
        if in_string:
            outside[-1] = b""  # a cut escape: inside the string, scanned again with the next chunk
        carry = self._check_escapes(buf, base, in_string, carry)
        return _MARK.join(outside), carry, in_string

    def _check_strings(self, contents: list[bytes], continued: bool, ends_open: bool, opening: Callable[[int], int], last_opening: int) -> None:
        """Refuses a string (or key) longer than the limit: a streaming parser copies a string
        cut across reads again with every read, in time quadratic in its length. ``opening(i)``
        is where the i-th string of the chunk opens; ``last_opening`` where the last one does."""
        limit = self.limits.max_string_bytes
        first = len(contents[0]) + (self._open_string if continued else 0)
        longest = max(first, max(map(len, contents[1:]), default=0))
        if longest > limit:
            if first > limit:
                at = self._string_at if continued else opening(0)
            else:
                at = opening(next(i for i, content in enumerate(contents) if len(content) > limit))
            raise self._too_large("body.string_too_long", f"The body has a string longer than {limit:,} bytes, starting at {{where}}.", at, limit)
        if ends_open:
            if continued and len(contents) == 1:
                self._open_string = first
            else:
                self._open_string = len(contents[-1])
                self._string_at = last_opening

    def _count_whole(self, residual: bytes, buf: bytes, base: int, goes_on: bool) -> None:
        brackets = residual.translate(None, _NOT_BRACKETS)
        if brackets:
            depths = list(accumulate(map(_DELTA.__getitem__, brackets), initial=self.depth))
            if max(depths) > self.limits.max_depth or min(depths) < 0:
                self._walk(buf, base)
                raise AssertionError("unreachable: the walk found no fault")  # pragma: no cover
            self.depth = depths[-1]
        scalars = residual.translate(_SCALAR_RUNS)
        self.values += (
            residual.count(_MARK) + residual.count(b"[") + residual.count(b"{")
            + scalars.count(b" x") + (scalars.startswith(b"x") and not goes_on)
        )  # fmt: skip
        if self.values > self.limits.max_values:
            self._too_many_values(base + len(buf))

    def _count_units(self, residual: bytes, buf: bytes, base: int, goes_on: bool) -> None:
        tokens = _SCALAR.sub(b"x", residual).translate(None, _NOT_TOKENS)
        if goes_on:
            tokens = tokens[1:]
        if not tokens:
            return
        depths = list(accumulate(map(_DELTA.__getitem__, tokens), initial=self.depth))
        if max(depths) > self.limits.max_depth or min(depths) < 0:
            self._walk(buf, base)
            raise AssertionError("unreachable: the walk found no fault")  # pragma: no cover
        self.depth = depths[-1]
        # One byte a token: its depth after it, +128 for a closing bracket. Tokens inside a
        # unit (depth >= unit_depth) count, its closing brackets do not, and every token
        # outside one separates units.
        encoded = bytes(map(operator.add, depths[1:], tokens.translate(_CLOSING)))
        runs = encoded.translate(self._unit_table).translate(None, b"\x02").split(b"\x00")
        first = self._unit_values + len(runs[0])
        longest = max(first, max(map(len, runs[1:]), default=0))
        if longest > self.limits.max_values:
            self._too_many_values(base + len(buf))
        self._unit_values = first if len(runs) == 1 else len(runs[-1])

    def _too_many_values(self, offset: int) -> None:
        what = "The body holds" if not self.unit_depth else "One line holds" if self.ndjson else "One event holds"
        limit = self.limits.max_values
        raise self._too_large(
            "body.too_many_values",
            f"{what} more than {limit:,} JSON values (counted up to {{where}}): send fewer packs, entries or EPCs a request.",
            offset,
            limit,
        )

    def _check_escapes(self, buf: bytes, base: int, in_string: bool, carry: bytes) -> bytes:
        """Refuses \\u0000 and lone surrogates; returns the carry, which grows back to a high
        surrogate at the very end (its low half, if any, is in the next chunk)."""
        # Escaped backslashes pair up from the left, as JSON reads them: blanked out (same
        # length, so offsets hold), every backslash left starts an escape.
        escapes = buf.replace(b"\\\\", b"__")
        fault = _BAD_ESCAPE.search(escapes)
        if fault is None:
            return carry
        at = base + fault.start()
        if fault.group(1):
            if in_string and escapes[fault.end() :] == carry:  # its low half may open the next chunk
                return buf[fault.start() :]
            self._lone_surrogate(fault.group(0), at)
        if fault.group(2):
            self._lone_surrogate(fault.group(0), at)
        raise self._invalid("body.nul", "The body escapes a NUL character (\\u0000) at {where}: text may not hold one.", at)

    def _lone_surrogate(self, escape: bytes, offset: int) -> None:
        raise self._invalid(
            "body.surrogate",
            f"The body has a lone surrogate escape {escape.decode()} at {{where}}: expected a high (\\ud800-\\udbff) "
            "and a low (\\udc00-\\udfff) surrogate in a pair, or the character itself in UTF-8.",
            offset,
        )

    def _walk(self, buf: bytes, base: int) -> None:
        """Token by token, from the chunk's starting state: raises at the first fault."""
        depth = self.depth
        for match in _TOKEN.finditer(buf):
            first = match.group(0)[:1]
            if first == b'"':
                end = match.end()
                if match.group(1) or _PARTIAL_ESCAPE.fullmatch(buf, end):
                    continue
                byte = buf[end]
                if byte == 0x5C:  # a backslash
                    shown = buf[end : end + 2].decode(errors="replace")
                    raise self._invalid("body.json", f"The body has an invalid escape {shown!r} in a string at {{where}}: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX.", base + end)
                name = "a line break" if byte == 0x0A else f"the control character U+{byte:04X}"
                raise self._invalid("body.json", f"The body has {name} inside a string at {{where}}: escape it (\\n, \\u{byte:04x}).", base + end)
            if first in (b"[", b"{"):
                depth += 1
                if depth > self.limits.max_depth:
                    raise self._invalid(
                        "body.too_deep",
                        f"The body nests deeper than {self.limits.max_depth} levels of arrays and objects: "
                        f"a {_ordinal(depth)} opens at {{where}}.",
                        base + match.start(),
                    )
            else:
                depth -= 1
                if depth < 0:
                    raise self._invalid("body.json", f"The body closes {first.decode()!r} at {{where}} with nothing open.", base + match.start())


def scan(data: bytes, limits: BodyLimits, *, ndjson: bool = False) -> None:
    """Scans a whole body at once (tests, tools)."""
    scanner = JsonScanner(limits, ndjson=ndjson)
    scanner.feed(data)
    scanner.finish()


__all__ = ["BodyLimits", "JsonScanner", "scan"]
