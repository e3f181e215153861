"""EPCIS capture's streaming body readers: a JSON EPCISDocument read incrementally with ijson
(the events one by one, the header alongside), or NDJSON, one event per line. Every chunk is
scanned (``jsonscan``) before a parser sees it, so a document of any size streams through
within the body limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import ijson

from verinet.errors import InvalidInput, RequestTimeout, TooLarge
from verinet.gateway.epcis import REQUIRED_HEADER, Reader
from verinet.gateway.inputs import ndjson_value
from verinet.gateway.jsonscan import JsonScanner

MAX_DOCUMENT_BYTES = 2 * 1024**3
BODY_IDLE_SECONDS = 30.0
#: Values the document's members other than its events may hold (with MAX_JSON_VALUES, the
#: lower wins): the header is read token by token in Python, so its size is its time.
MAX_HEADER_VALUES = 100_000
EVENT_LIST = "epcisBody.eventList.item"


class CountingReader:
    """The request body, each chunk scanned (``jsonscan``) before a parser sees it: a byte
    limit (a streamed body skips aiohttp's client_max_size), the depth, NDJSON line and
    per-event value limits, the text's encoding; and an idle limit: a client that sends
    nothing for BODY_IDLE_SECONDS is answered 408."""

    def __init__(self, content: Any, scanner: JsonScanner | None, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.content = content
        self.scanner = scanner  # None: an XML body, only its size is bounded here
        self.max_bytes = max_bytes
        self.read_bytes = 0

    async def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson asks for nothing to learn whether the stream gives bytes
            return b""
        try:
            async with asyncio.timeout(BODY_IDLE_SECONDS):
                data: bytes = await self.content.read(n if n > 0 else 65536)
        except TimeoutError:
            raise RequestTimeout(
                f"The document stopped arriving: nothing came for {BODY_IDLE_SECONDS:g} seconds "
                f"after {self.read_bytes:,} bytes.",
                code="body.timeout",
            ) from None
        self.read_bytes += len(data)
        if self.scanner is None:
            if self.read_bytes > self.max_bytes:
                raise TooLarge(f"The body is larger than {self.max_bytes:,} bytes.", code="body.too_large", limit=self.max_bytes)
        elif data:
            self.scanner.feed(data)
        else:
            self.scanner.finish()
        return data


class Follower:
    """A second reader of the body: gets each chunk the first reader read, in order."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)  # bounded: back-pressure
        self.closed = False
        self.ended = False
        self.error: BaseException | None = None  # why it stopped, when it failed

    async def read(self, n: int = -1) -> bytes:
        if n == 0 or self.ended:
            return b""
        data = await self.chunks.get()
        self.ended = not data
        return data

    def close(self) -> None:
        """The follower stopped reading: drop what waits, and take nothing more."""
        self.closed = True
        while not self.chunks.empty():
            self.chunks.get_nowait()


class Leader:
    """The body, read for the events parser, handing every chunk to a follower as well."""

    def __init__(self, body: CountingReader, follower: Follower) -> None:
        self.body = body
        self.follower = follower
        self.done = False

    async def read(self, n: int = -1) -> bytes:
        if n == 0:
            return b""
        if self.follower.error is not None:
            raise self.follower.error  # the header is refused: stop reading now, not at the end
        data = await self.body.read(n)
        if not self.done and not self.follower.closed:
            await self.follower.chunks.put(data)
            self.done = not data
        return data


async def read_header(follower: Follower, reader: Reader, max_values: int) -> None:
    """The document's members other than the events. When the required ones (@context, type,
    schemaVersion, creationDate) come before epcisBody, as in the GS1 examples and most
    documents, this parse stops where the events start and only drains the rest; otherwise it
    follows the whole document, skipping the events' tokens (``ijson.items`` builds them)."""
    builder: Any = None
    building = ""
    built = 0  # what the header holds (and skips), bounded like one event
    first = True
    async for prefix, event, value in ijson.parse_async(follower, use_float=True):
        if prefix.startswith(EVENT_LIST):
            continue
        if first:
            first = False
            if event != "start_map":
                raise InvalidInput("The body is not a JSON object: expected an EPCISDocument.", code="epcis.schema")
            continue
        built += 1
        if built > max_values:
            raise TooLarge(
                f"The EPCISDocument's members other than its events hold more than {max_values:,} JSON values.",
                code="body.too_many_values",
                limit=max_values,
            )
        if builder is not None:
            builder.event(event, value)
            if prefix == building and event in ("end_map", "end_array"):
                reader.header[building] = builder.value
                builder = None
        elif prefix == "epcisBody.eventList":
            reader.saw_event_list = True
            shapes: dict[str, Any] = {"start_array": [], "start_map": {}}
            if event in shapes or event not in ("end_array", "end_map", "map_key"):
                reader.header.setdefault("epcisBody", {})["eventList"] = shapes.get(event, value)
            if event == "start_array" and reader.header.keys() >= REQUIRED_HEADER:
                break
        elif prefix == "epcisBody":
            if event in ("start_map", "start_array") or event not in ("map_key", "end_map", "end_array"):
                reader.header["epcisBody"] = {"start_map": {}, "start_array": []}.get(event, value)
        elif prefix and not prefix.startswith("epcisBody."):  # a top-level member
            if event in ("start_map", "start_array"):
                builder, building = ijson.ObjectBuilder(), prefix
                builder.event(event, value)
            else:
                reader.header[prefix] = value
    while not follower.ended:  # the events' parse reads on; keep pace with it
        await follower.read()


async def json_events(body: CountingReader, reader: Reader) -> AsyncIterator[tuple[int, Any]]:
    """Events of an EPCISDocument as they arrive; the other members go to ``reader.header``."""
    follower = Follower()
    assert body.scanner is not None  # a JSON body is always scanned (only XML goes without)
    header = asyncio.ensure_future(read_header(follower, reader, min(body.scanner.limits.max_values, MAX_HEADER_VALUES)))
    def header_done(task: asyncio.Future[None]) -> None:
        follower.close()
        if not task.cancelled():
            follower.error = task.exception()

    header.add_done_callback(header_done)
    try:
        index = 0
        async for item in ijson.items_async(Leader(body, follower), EVENT_LIST, use_float=True):
            if header.done():
                header.result()  # the header parse failed: raise its error now
            yield index, item
            index += 1
        await header
    finally:
        if not header.done():
            header.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await header  # also retrieves an error the events' parse went past


async def ndjson_events(body: CountingReader) -> AsyncIterator[tuple[int, Any]]:
    """One event per line; blank lines are skipped. A line's pieces are joined once, when it
    ends, so a long line costs time linear in its length (the scanner bounds it too)."""
    index = 0
    line_number = 0
    pieces: list[bytes] = []
    while True:
        data = await body.read(1 << 20)
        lines = data.split(b"\n") if data else [b""]
        if len(lines) == 1 and data:
            pieces.append(data)
            continue
        lines[0] = b"".join([*pieces, lines[0]])
        pieces = [lines.pop()] if data else []
        for line in lines:
            line_number += 1
            if not line.strip():
                continue
            yield index, ndjson_value(line, line_number, f"event {index}")
            index += 1
        if not data:
            return
