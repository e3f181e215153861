"""``verinet events import FILE``: capture an EPCIS 2.0 document through ``POST /v1/events``.

The file is streamed, never read whole: an EPCISDocument in JSON or JSON-LD, in EPCIS 1.2 or
2.0 XML (a ``.xml`` name, or a file whose first character is ``<``), or one event per line
(NDJSON, chosen by ``--ndjson`` or a ``.ndjson`` / ``.jsonl`` name). A progress bar on
standard error follows the upload, which the gateway checks as it arrives; the network then
applies the whole document or refuses it whole, and the command prints the outcome.
Exit status: 0 applied, 1 refused, 2 any other failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
XML_SUFFIXES = (".xml",)
UPLOAD_BLOCK = 256 * 1024
# The network answers once the whole document is checked and written.
ANSWER_TIMEOUT_SECONDS = 3600.0


class ProgressBar:
    """``[#####-----]  45%  12.3/27.0 MB  4.1 MB/s  ETA 4s`` on one line of a stream."""

    def __init__(self, total: int, stream: IO[str], width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._interactive = stream.isatty()
        self._last_tenth = -1

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or self.done >= self.total:
            self._last_draw = now
            self.draw()

    def line(self) -> str:
        share = min(self.done / self.total, 1.0)
        filled = int(share * self.width)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {share:4.0%}  "
            f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB  {rate / 1e6:.1f} MB/s  ETA {eta:.0f}s"
        )

    def draw(self) -> None:
        if self._interactive:
            self.stream.write("\r" + self.line())
        else:  # a log file gets one line every tenth
            tenth = int(10 * min(self.done / self.total, 1.0))
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self.draw()
        if self._interactive:
            self.stream.write("\n")
        self.stream.flush()


class Upload:
    """A file read for ``http.client`` in blocks, advancing a progress bar."""

    def __init__(self, file: IO[bytes], bar: ProgressBar | None) -> None:
        self.file = file
        self.bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(UPLOAD_BLOCK if size is None or size < 0 else max(size, UPLOAD_BLOCK))
        if self.bar is not None:
            self.bar.advance(len(data))
        return data


def is_xml(path: Path) -> bool:
    """An XML document by its name, or by its first character (after a byte order mark and blanks)."""
    if path.suffix.lower() in XML_SUFFIXES:
        return True
    with path.open("rb") as file:
        start = file.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return start.startswith(b"<")


def import_file(url: str, token: str, path: Path, *, ndjson: bool, progress: bool, err: IO[str]) -> tuple[int, Any]:
    """POSTs the file; returns (HTTP status, parsed JSON answer)."""
    size = path.stat().st_size
    if ndjson:
        content_type = "application/x-ndjson"
    else:
        content_type = "application/xml" if is_xml(path) else "application/ld+json"
    bar = ProgressBar(size, err) if progress else None
    with path.open("rb") as file:
        request = urllib.request.Request(
            url.rstrip("/") + "/v1/events",
            data=Upload(file, bar),
            method="POST",
            # No Content-Length: the file goes chunked, as a stream of any size (the gateway
            # refuses a declared length over MAX_BODY_BYTES before reading; /v1/events streams).
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=ANSWER_TIMEOUT_SECONDS) as answer:
                if bar is not None:
                    bar.finish()
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            if bar is not None:
                bar.finish()
            body = error.read()
            try:
                return error.code, json.loads(body)
            except ValueError:
                return error.code, {"detail": body.decode(errors="replace")}


def cmd_events_import(args: argparse.Namespace) -> int:
    from verinet.cli import _client

    path = Path(args.file)
    if not path.is_file():
        print(f"No such file: {path}", file=sys.stderr)
        return 2
    url, token = _client(args)
    ndjson = args.ndjson or path.suffix.lower() in NDJSON_SUFFIXES
    print(f"Capturing {path} ({path.stat().st_size:,} bytes) at {url} ...", file=sys.stderr)
    try:
        status, body = import_file(url, token, path, ndjson=ndjson, progress=not args.no_progress, err=sys.stderr)
    except (urllib.error.URLError, OSError) as error:
        from verinet.cli import unreachable

        print(unreachable(args, url, error), file=sys.stderr)
        return 2
    if status == 200 and isinstance(body, dict) and body.get("applied"):
        print(
            f"Applied: {body['events']:,} events ({body['duplicates']:,} repeats ignored), "
            f"{body['unit_events']:,} unit-events, {body['commissioned']:,} commissioned, "
            f"{body['state_changes']:,} state changes.",
            file=sys.stderr,
        )
        print(json.dumps(body, indent=2))
        return 0
    detail = body.get("detail", body) if isinstance(body, dict) else body
    print(f"HTTP {status}: {detail}", file=sys.stderr)
    if isinstance(body, dict):
        for refusal in body.get("errors", []):
            print(f"  event {refusal['index']} [{refusal['code']}]: {refusal['message']}", file=sys.stderr)
    print(json.dumps(body, indent=2))
    return 1 if status in (400, 403, 409) else 2


def add_events_parser(sub: Any) -> None:
    """Adds ``verinet events import`` to the CLI's subcommands."""
    events = sub.add_parser("events", help="EPCIS 2.0 custody events")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    imp = events_sub.add_parser(
        "import", help="capture an EPCIS document (2.0 JSON / JSON-LD, 1.2 or 2.0 XML, or NDJSON of events), all or nothing"
    )
    imp.add_argument("file", help="EPCISDocument (.json, .jsonld, .xml) or one event per line (.ndjson, .jsonl)")
    imp.add_argument("--ndjson", action="store_true", help="the file holds one event per line")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_events_import)
