"""Reading partner input: JSON bodies, NDJSON uploads and packs given three ways.

Every body is read here, and pre-scanned while it arrives (``jsonscan``) against the limits
in ``BODY_LIMITS`` before anything parses it; EPCIS capture streams its body through the
same scanner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson
from aiohttp import web

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import IdentifierError, InvalidInput, RequestTimeout, VerinetError
from verinet.free_text import TEXT_LIMITS, validate_text
from verinet.gateway.app_keys import BODY_LIMITS
from verinet.gateway.jsonscan import JsonScanner
from verinet.identifiers import parse, parse_expiry, validate_gtin, validate_lot, validate_serial
from verinet.packs import validate_line

BODY_READ_SECONDS = 30.0
READ_CHUNK_BYTES = 65536
NDJSON_TYPES = ("application/x-ndjson", "application/jsonlines", "application/jsonl")
#: Where a request keeps its body once read (a handler may ask for it twice).
_BODY = "verinet.body"


def is_ndjson(request: web.Request) -> bool:
    return request.content_type in NDJSON_TYPES


async def read_body(request: web.Request) -> bytes:
    """The body, scanned while it arrives: a limit or a fault answers 400 or 413 at once,
    before anything is parsed; a client that trickles it slower than BODY_READ_SECONDS is
    answered 408."""
    cached = request.get(_BODY)
    if isinstance(cached, bytes):
        return cached
    scanner = JsonScanner(request.app[BODY_LIMITS], ndjson=is_ndjson(request))
    chunks = []
    try:
        async with asyncio.timeout(BODY_READ_SECONDS):
            while chunk := await request.content.read(READ_CHUNK_BYTES):
                scanner.feed(chunk)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {BODY_READ_SECONDS:g} seconds.",
            code="body.timeout",
        ) from None
    scanner.finish()
    body = request[_BODY] = b"".join(chunks)
    return body


def ndjson_lines(raw: bytes) -> list[tuple[int, bytes]]:
    """(line number, line) of every line that is not blank."""
    return [(number, line) for number, line in enumerate(raw.split(b"\n"), start=1) if line.strip()]


def ndjson_value(line: bytes, line_number: int, what: str = "") -> Any:
    """One NDJSON line's value; a line that is not JSON is a 400 naming the line (and ``what``
    it held, e.g. "event 3")."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as error:
        held = f" ({what})" if what else ""
        raise InvalidInput(f"Failed to parse line {line_number}{held} as JSON: {error}.", code="body.json", field=f"line {line_number}") from None


def text_of(body: dict[str, Any], name: str, default: str = "") -> str:
    """A string member of a JSON object; anything else is a 400 naming the member."""
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(
            f'Failed to read "{name}": expected a string, got {type(value).__name__}.',
            code="body.field_type",
            field=name,
        )
    return value


def limit_query(request: web.Request, most: int, *, refuse_outside: bool = False) -> int:
    """The ``?limit=`` of a listing (100 when left out) within 1 to ``most``: one outside is
    brought within, or with ``refuse_outside`` a 400, as is one that is not an integer."""
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        raise InvalidInput("Failed to read limit: expected an integer.", field="limit") from None
    if refuse_outside and not 1 <= limit <= most:
        raise InvalidInput(f"Failed to read limit {limit}: expected 1 to {most}.", field="limit")
    return max(1, min(limit, most))


def stored_text(body: dict[str, Any], name: str, limit: str, *, required: bool = True) -> str:
    """A free-text member that is stored (a name, a reason): a string of printable text within
    its documented limit ``TEXT_LIMITS[limit]`` (``verinet.free_text``); anything else is a 400
    naming the member, with expected and got."""
    return validate_text(text_of(body, name), name, max_length=TEXT_LIMITS[limit], required=required)


def lot_list(body: dict[str, Any], name: str) -> list[str]:
    """A list of GS1 lots (CSET 82, 1 to 20 characters); each error names its index."""
    value = body.get(name, [])
    if not isinstance(value, list):
        raise InvalidInput(f'Failed to read "{name}": expected a list of lots.', code="body.field_type", field=name)
    lots = []
    for index, lot in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(lot, str):
            raise InvalidInput(
                f'Failed to read "{where}": expected a lot as a string, got {type(lot).__name__}.',
                code="body.field_type",
                field=where,
            )
        try:
            lots.append(validate_lot(lot))
        except VerinetError as error:
            error.field = where
            raise
    return lots


async def json_body(request: web.Request) -> Any:
    raw = await read_body(request)
    if not raw:
        raise InvalidInput("The request body is empty: expected a JSON object.", code="body.empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(
            f"Failed to parse the request body as JSON: {error}.", code="body.json"
        ) from None


async def json_object(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput(
            f"Failed to read the request body: expected a JSON object, got {type(body).__name__}.",
            code="body.shape",
        )
    return body


async def optional_json_object(request: web.Request) -> dict[str, Any]:
    """The body's JSON object, or an empty one when the request has no body."""
    return await json_object(request) if request.can_read_body else {}


async def packs_body(request: web.Request, limit: int) -> tuple[list[Any], dict[str, Any]]:
    """Packs from ``{"packs": [...]}`` JSON, or one pack a line with application/x-ndjson."""
    if is_ndjson(request):
        packs = []
        raw = await read_body(request)
        for line_number, line in ndjson_lines(raw):
            packs.append(ndjson_value(line, line_number))
            if len(packs) > limit:
                break
        body: dict[str, Any] = {}
    else:
        body = await json_object(request)
        listed = body.get("packs")
        if not isinstance(listed, list):
            raise InvalidInput(
                'Failed to read "packs": expected a list of packs.', code="packs.missing", field="packs"
            )
        packs = listed
    if not packs:
        raise InvalidInput('Failed to read "packs": expected at least one pack.', code="packs.empty", field="packs")
    if len(packs) > limit:
        raise InvalidInput(
            f'Failed to read "packs": expected at most {limit} packs a request, got more.',
            code="packs.too_many",
            field="packs",
        )
    return packs, body


def _text(item: dict[str, Any], name: str, index: int) -> str:
    value = item.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(
            f'Failed to read "{name}" of pack {index}: expected a string, got {type(value).__name__}.',
            code="pack.field_type",
            field=f"packs[{index}].{name}",
        )
    return value


def pack_from_json(item: Any, index: int, *, need_lot_and_expiry: bool) -> common_pb.PackIdentifier:
    """A pack given as fields, as ``scan`` (Data Matrix text) or as ``uri`` (Digital Link)."""
    gtin, serial, lot, expiry = pack_fields(item, index, need_lot_and_expiry=need_lot_and_expiry)
    return common_pb.PackIdentifier(gtin=gtin, serial=serial, lot=lot, expiry=expiry)


def pack_fields(item: Any, index: int, *, need_lot_and_expiry: bool) -> tuple[str, str, str, str]:
    """GTIN-14, serial, lot and expiry of a pack given as fields, ``scan`` or ``uri``; lot and
    expiry are empty when not given (and ``need_lot_and_expiry`` is false)."""
    if not isinstance(item, dict):
        raise InvalidInput(
            f"Failed to read pack {index}: expected an object, got {type(item).__name__}.",
            code="pack.shape",
            field=f"packs[{index}]",
        )
    try:
        if "scan" in item or "uri" in item:
            text = _text(item, "scan" if "scan" in item else "uri", index)
            parsed = parse(text)
            gtin, serial, lot, expiry = parsed.gtin, parsed.serial, parsed.lot, parsed.expiry
            if not gtin or not serial:
                # A dropped GS separator often hides the serial in the lot: say so.
                raise IdentifierError(
                    f"Failed to read pack {index}: the scan has no GTIN (01) and serial (21)."
                    + "".join(f" {hint}" for hint in parsed.hints),
                    code="pack.incomplete",
                    field=f"packs[{index}]",
                )
            lot, expiry = lot or "", expiry or ""
        else:
            # Bulk requests are a thousand of these: plain strings skip _text's checks.
            gtin, serial = item.get("gtin"), item.get("serial")
            lot, expiry = item.get("lot"), item.get("expiry")
            gtin = validate_gtin(gtin if gtin.__class__ is str else _text(item, "gtin", index))
            serial = validate_serial(serial if serial.__class__ is str else _text(item, "serial", index))
            lot = lot if lot.__class__ is str else _text(item, "lot", index)
            expiry = expiry if expiry.__class__ is str else _text(item, "expiry", index)
            if lot or need_lot_and_expiry:
                lot = validate_lot(lot)
            if expiry or need_lot_and_expiry:
                parse_expiry(expiry)
        if need_lot_and_expiry and not (lot and expiry):
            raise InvalidInput(
                f"Failed to read pack {index}: expected lot (10) and expiry (17).",
                code="pack.incomplete",
                field=f"packs[{index}]",
            )
    except VerinetError as error:
        if error.field is None or not error.field.startswith("packs["):
            where = f"packs[{index}]"
            error.field = f"{where}.{error.field}" if error.field else where
        raise
    return gtin, serial, lot, expiry


def production_from_json(item: Any, index: int) -> tuple[str, float]:
    """Optional production context of a commissioned pack: ``line`` and ``commissioned_at``."""
    if not isinstance(item, dict):
        return "", 0.0
    line = item.get("line", "")
    if not isinstance(line, str):
        raise InvalidInput(f'Failed to read "line" of pack {index}: expected a string.', code="line.format", field=f"packs[{index}].line")
    validate_line(line, f"packs[{index}].line")
    at = item.get("commissioned_at")
    if at in (None, ""):
        return line, 0.0
    if not isinstance(at, str):  # str() or repr() of a deeply nested JSON value raises RecursionError
        at = f"a JSON {type(at).__name__}"
    try:
        parsed = dt.datetime.fromisoformat(str(at))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f'Failed to read "commissioned_at" of pack {index}: expected an RFC 3339 time with an '
            f"offset such as 2026-11-25T08:00:00Z, got {at!r}.",
            code="time.format",
            field=f"packs[{index}].commissioned_at",
        )
    return line, parsed.timestamp()
