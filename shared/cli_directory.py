"""``verinet directory``: the lookup directory from the command line.

    verinet directory put prefix 0614141 --route remote --url https://vrs.example.net \\
        --responder-gln 0614141000005 --credential-env REMOTE_TOKEN
    verinet directory get gtin 00614141000012
    verinet directory delete prefix 0614141
    verinet directory import entries.csv          # or .jsonl / .ndjson: one entry a line
    verinet directory check --req-gln 0860000100001

The network and token come from ``VERINET_URL`` and ``VERINET_TOKEN``, else from
``--data-dir``'s ``network.json`` (the admin token), as for ``verinet partners``. A
credential is never taken from the command line itself (it would land in shell history and
``ps``): name an environment variable or a file.

Import files
    CSV with a header row, or JSON lines, with the fields ``kind`` (``gtin`` or ``prefix``;
    inferred from the key's length when left out), ``key``, ``route`` (``hosted`` or
    ``remote``), ``url``, ``responder_gln``, ``credential``, ``expires_at`` (RFC 3339),
    ``owner`` and ``network`` (a remote-network profile; both admins only). Empty CSV cells are
    left out. Entries are sent in chunks; each line is judged on its own and reported with its
    line number.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from verinet.csv_cells import safe_writer

KIND_PATHS = {"gtin": "gtins", "prefix": "prefixes"}
CSV_FIELDS = ("kind", "key", "route", "url", "responder_gln", "credential", "expires_at", "owner", "network")
DEFAULT_CHUNK = 500


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from verinet.cli import _client, unreachable
    from verinet.gateway_http import send_json

    url, token = _client(args)
    try:
        return send_json(url + path, token, method, body, timeout=args.timeout)
    except OSError as error:
        raise SystemExit(unreachable(args, url, error)) from None


def _detail(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("detail") or answer.get("message") or answer)
    return str(answer).strip()


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    status, answer = _request(args, method, path, body)
    if status >= 400:
        raise SystemExit(f"{method} {path} failed with {status}: {_detail(answer)}")
    return answer


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _show(args: argparse.Namespace, path: str) -> int:
    """A ``get`` subcommand: the answer to GET ``path``, as JSON."""
    _print_json(_call(args, "GET", path))
    return 0


def _delete(args: argparse.Namespace, path: str, what: str) -> int:
    """A ``delete`` subcommand: DELETE ``path``, then one line naming ``what`` is gone."""
    _call(args, "DELETE", path)
    print(f"Deleted {what}.")
    return 0


def _entry_path(args: argparse.Namespace) -> str:
    return f"/v1/directory/{KIND_PATHS[args.kind]}/{args.key}"


def _credential(args: argparse.Namespace) -> str | None:
    if args.credential_env:
        value = os.environ.get(args.credential_env)
        if not value:
            raise SystemExit(f"--credential-env {args.credential_env}: that variable is not set.")
        return value.strip()
    if args.credential_file:
        return Path(args.credential_file).read_text().strip()
    return None


def cmd_put(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"route": args.route}
    for name in ("url", "responder_gln", "expires_at", "owner", "network"):
        value = getattr(args, name)
        if value:
            body[name] = value
    credential = _credential(args)
    if credential:
        body["credential"] = credential
    _print_json(_call(args, "PUT", _entry_path(args), body))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    return _show(args, _entry_path(args))


def cmd_delete(args: argparse.Namespace) -> int:
    return _delete(args, _entry_path(args), f"{args.kind} {args.key}")


# -- import -------------------------------------------------------------------------------------


@dataclass
class Line:
    """One entry of an import file, with where it came from."""

    number: int
    entry: dict[str, Any] | None
    error: str = ""

    @property
    def label(self) -> str:
        if not self.entry:
            return ""
        kind = self.entry.get("kind") or ("gtin" if len(str(self.entry.get("key", ""))) == 14 else "prefix")
        return f"{kind} {self.entry.get('key', '')}"


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise SystemExit(f"Cannot tell the format of {path.name}: name it .csv or .jsonl, or pass --format.")


def read_lines(handle: TextIO, fmt: str) -> Iterator[Line]:
    """The entries of a directory file, each with its line number (blank lines skipped)."""
    if fmt == "csv":
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        unknown = [name for name in reader.fieldnames if name not in CSV_FIELDS]
        if unknown:
            raise SystemExit(f"Unknown CSV columns {unknown!r}: expected some of {list(CSV_FIELDS)!r}.")
        for row in reader:
            if not any((value or "").strip() for value in row.values()):
                continue
            entry = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
            yield Line(reader.line_num, entry)
        return
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as error:
            yield Line(number, None, f"not JSON: {error}")
            continue
        if not isinstance(value, dict):
            yield Line(number, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield Line(number, value)


def _chunks(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def import_chunk(args: argparse.Namespace, chunk: list[Line]) -> list[tuple[Line, bool, str]]:
    """Sends a chunk; one (line, ok, outcome) per line."""
    sendable = [line for line in chunk if line.entry is not None]
    outcomes: dict[int, tuple[bool, str]] = {
        line.number: (False, f"refused: {line.error}") for line in chunk if line.entry is None
    }
    if sendable:
        status, answer = _request(args, "POST", "/v1/directory/import", {"entries": [line.entry for line in sendable]})
        if status in (401, 403):
            raise SystemExit(f"Import refused with {status}: {_detail(answer)}")
        if status != 200 or not isinstance(answer, dict):
            for line in sendable:
                outcomes[line.number] = (False, f"refused: the chunk failed with {status}: {_detail(answer)}")
        else:
            for result in answer["results"]:
                line = sendable[result["index"]]
                if result["ok"]:
                    outcomes[line.number] = (True, "created" if result["created"] else "replaced")
                else:
                    outcomes[line.number] = (False, f"refused: {result.get('code', '')}: {result.get('message', '')}")
    return [(line, *outcomes[line.number]) for line in chunk]


def cmd_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    path = Path(args.file)
    fmt = file_format(path, args.format)
    total = _count_lines(path) - (1 if fmt == "csv" else 0)
    stored = refused = 0
    report = open(args.report, "w", newline="") if args.report else None  # noqa: SIM115
    writer = safe_writer(report) if report else None  # formulas in a cell are neutralised
    if writer:
        writer.writerow(["line", "entry", "ok", "outcome"])
    progress = tqdm(total=max(total, 0), unit="entries", file=sys.stderr, disable=True if args.no_progress else None)
    try:
        with path.open(newline="" if fmt == "csv" else None) as handle:
            for chunk in _chunks(read_lines(handle, fmt), args.chunk):
                for line, ok, outcome in import_chunk(args, chunk):
                    stored += ok
                    refused += not ok
                    if writer:
                        writer.writerow([line.number, line.label, "yes" if ok else "no", outcome])
                    if writer is None or not ok:
                        progress.write(f"line {line.number}: {line.label or '-'}: {outcome}", file=sys.stdout)
                progress.update(len(chunk))
    finally:
        progress.close()
        if report:
            report.close()
    print(f"{stored + refused} entries: {stored} stored, {refused} refused.", file=sys.stderr)
    return 0 if refused == 0 else 1


# -- check --------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    body = {"req_gln": args.req_gln} if args.req_gln else {}
    endpoints = _call(args, "POST", "/v1/directory/check", body)["endpoints"]
    if args.json:
        _print_json(endpoints)
    elif not endpoints:
        print("No remote routes in the directory.")
    for probe in [] if args.json else endpoints:
        status = probe["status"] if probe["status"] else "-"
        print(
            f"{probe['outcome'].upper():11} {probe['url']}  status {status}  "
            f"{probe['latency_ms']:.1f} ms  breaker {probe['breaker']}  {probe['detail']}"
        )
        print(f"{'':11} routes: {', '.join(probe['entries'])}")
        if probe.get("network"):
            conformance = "LMS 1.3" if probe["lms_conformant"] else "; ".join(probe["conformance_deviations"]) or "not judged"
            print(
                f"{'':11} network {probe['network']}: auth {'accepted' if probe['auth_accepted'] else 'REFUSED'}, "
                f"probe answer {conformance}"
            )
    failing = [p for p in endpoints if p["outcome"] not in ("ok", "reachable")]
    return 1 if failing else 0


def add_directory_commands(sub: Any) -> None:
    """Registers ``verinet directory ...`` on the main parser's subcommands."""
    directory = sub.add_parser("directory", help="the lookup directory: routes to hosted and remote repositories")
    directory.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (default 60)")
    dsub = directory.add_subparsers(dest="directory_command", required=True)

    def keyed(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = dsub.add_parser(name, help=help_text)
        parser.add_argument("kind", choices=sorted(KIND_PATHS), help="gtin or prefix")
        parser.add_argument("key", help="GTIN-14 or GS1 company prefix")
        return parser

    put = keyed("put", "create or replace an entry")
    put.add_argument("--route", choices=("hosted", "remote"), required=True)
    put.add_argument("--url", help="remote: base URL of the other network's LMS endpoint")
    put.add_argument("--responder-gln", dest="responder_gln", help="GLN of the party that answers")
    cred = put.add_mutually_exclusive_group()
    cred.add_argument("--credential-env", metavar="VAR", help="remote: environment variable holding the bearer token to present")
    cred.add_argument("--credential-file", metavar="PATH", help="remote: file holding the bearer token to present")
    put.add_argument("--expires-at", dest="expires_at", help="RFC 3339 time after which the entry no longer routes")
    put.add_argument("--owner", help="owning partner id (admins only)")
    put.add_argument("--network", help="remote: the remote-network profile to use instead of --url and a credential (admins only)")
    put.set_defaults(func=cmd_put)
    keyed("get", "show an entry (never its credential)").set_defaults(func=cmd_get)
    keyed("delete", "delete an entry").set_defaults(func=cmd_delete)

    imp = dsub.add_parser("import", help="create or replace entries from a CSV or JSON-lines file")
    imp.add_argument("file")
    imp.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name")
    imp.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help=f"entries a request (default {DEFAULT_CHUNK})")
    imp.add_argument("--report", metavar="PATH", help="write a CSV line report there; print only refusals")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_import)

    check = dsub.add_parser("check", help="probe every remote network: reachability, auth, LMS conformance, latency, breaker")
    check.add_argument("--req-gln", dest="req_gln", help="reqGLN to send (default: lookup's NETWORK_GLN)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=cmd_check)
    from verinet.cli_networks import add_network_commands

    add_network_commands(dsub)
