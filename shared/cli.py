"""The ``verinet`` command line: run a network, manage partners, parse scans."""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verinet.errors import VerinetError

DEFAULT_DATA_DIR = "./var"


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def workers_option(value: str) -> int:
    """``--workers``: a count of processes per service, or ``auto`` (by the cores)."""
    from verinet.network import MAX_WORKERS, default_workers

    if value == "auto":
        return default_workers()
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number from 1 to {MAX_WORKERS}, got {value!r}")
    return int(value)


def cmd_up(args: argparse.Namespace) -> int:
    from verinet.errors import VerinetError
    from verinet.logs import configure
    from verinet.network import Network
    from verinet.supervision import Supervisor

    network = Network(
        data_dir=Path(args.data_dir).resolve(),
        gateway_port=args.port,
        redis_url=os.environ.get("REDIS_URL") or None,
        bind_host=args.host,
        internal_mtls=args.internal_mtls,
        workers=args.workers,
        placement=args.placement,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The supervisor's restarts are JSON log lines on stderr; what a person reads goes to stdout.
    configure("verinet-up")
    print(f"Starting verinet in {network.data_dir} ...", flush=True)
    try:
        network.start(demo=args.demo)
    except VerinetError as error:
        print(f"verinet up: {error.message}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. a data directory it may not write
        print(f"verinet up: failed to start in {network.data_dir}: {error}", file=sys.stderr)
        return 1
    info = network.info
    print(f"\nverinet is up: {network.gateway_url}")
    print(f"  console: {network.gateway_url}/console")
    print(f"  network file (mode 0600): {network.network_file}")
    print(f"  logs: {network.log_dir}")
    if network.workers > 1:
        print(f"  {network.workers} processes per service; the gateway's share port {network.ports['gateway']}")
    if network.placed is not None:
        print(f"  placement: {network.placed.describe()} (--placement none leaves it to the kernel)")
    if network.internal_tls:
        print(f"  services talk mutual TLS; CA and certificates in {network.internal_tls_dir}")
    print(f"  Redis: {network.redis_url}{' (embedded, append-only)' if network.redis else ''}")
    print(f"  admin token: {info['admin_token']}")
    for role, partner in info.get("partners", {}).items():
        print(f"  demo {role}: {partner['name']} token {partner['token']} GLN {partner['glns'][0]}")
    curl = network.demo_curl()
    if curl:
        print("\nVerify a demo pack:\n  " + curl)
    print("\nCtrl-C stops every process; one that exits is restarted.", flush=True)
    exit_code = 0
    try:
        Supervisor(network).run(stop)
    except VerinetError as error:  # a process kept dying: the supervisor gave up
        print(f"verinet up: {error.message}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        print("Stopping ...", flush=True)
        network.stop()
        print("Stopped.", flush=True)
    return exit_code


def _client(args: argparse.Namespace) -> tuple[str, str]:
    url = os.environ.get("VERINET_URL")
    token = os.environ.get("VERINET_TOKEN")
    network_file = Path(args.data_dir) / "network.json"
    if (not url or not token) and network_file.exists():
        try:
            info = json.loads(network_file.read_text())
        except (OSError, ValueError) as error:
            raise SystemExit(
                f"Failed to read {network_file} ({error}): run 'verinet up' to write it again, or set "
                "VERINET_URL and VERINET_TOKEN."
            ) from None
        url = url or info.get("gateway_url")
        token = token or info.get("admin_token")
    if not url or not token:
        raise SystemExit(
            "No network to talk to: run 'verinet up' first, pass --data-dir, or set "
            "VERINET_URL=http://127.0.0.1:8080 and VERINET_TOKEN=<admin token>."
        )
    return url, token


def unreachable(args: argparse.Namespace, url: str, error: OSError) -> str:
    """One line for a network that does not answer: what failed, where, and what to do."""
    reason = getattr(error, "reason", None) or error.strerror or error
    return (
        f"Failed to reach a verinet network at {url} ({reason}): start one with "
        f"'verinet up --data-dir {args.data_dir}', or set VERINET_URL to a running gateway."
    )


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    from verinet.gateway_http import send_json

    url, token = _client(args)
    try:
        status, answer = send_json(url + path, token, method, body, timeout=30)
    except OSError as error:  # refused, reset, timed out: nothing answers at that URL
        raise SystemExit(unreachable(args, url, error)) from None
    if status >= 400:
        raise SystemExit(f"{method} {path} failed with {status}: {_problem_text(answer)}")
    return answer


def _problem_text(answer: Any) -> str:
    """A problem document as one line: its detail and code, else the answer's text."""
    if isinstance(answer, dict) and answer.get("detail"):
        text = f"{answer['detail']} ({answer.get('code', 'no code')})"
    else:
        text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    return " ".join(text.split())


def cmd_partners_add(args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "roles": args.role,
        "glns": args.gln or [],
        "company_prefixes": args.prefix or [],
    }
    created = _call(args, "POST", "/v1/partners", body)
    _print_json(created)
    print("The token is shown once; store it now.", file=sys.stderr)
    return 0


def cmd_partners_list(args: argparse.Namespace) -> int:
    partners = _call(args, "GET", "/v1/partners")["partners"]
    for p in partners:
        print(f"{p['id']}  {p['status']:8}  {','.join(p['roles']):14}  {p['name']}")
    return 0


def cmd_partners_revoke(args: argparse.Namespace) -> int:
    _print_json(_call(args, "POST", f"/v1/partners/{args.id}/revoke"))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    verdict = _call(args, "POST", "/v1/audit/verify")
    if verdict["ok"]:
        print(f"OK: {verdict['chains']} chains, {verdict['entries_checked']} entries, every link holds.")
        return 0
    for chain in verdict["broken"]:
        where = chain["first_broken_entry"] or "(end of chain)"
        print(f"BROKEN: {chain['chain']} at entry {where}: {chain['problem']}")
    return 1


def cmd_parse(args: argparse.Namespace) -> int:
    from verinet.errors import IdentifierError
    from verinet.identifiers import parse

    try:
        # The parser reads GS typed as <GS>, {GS}, \x1d or \u001d itself, so error positions
        # count the characters as typed.
        _print_json(parse(args.data).as_dict())
    except IdentifierError as error:
        print(f"verinet parse: {one_line(error)}", file=sys.stderr)
        return 2
    return 0


def one_line(error: VerinetError) -> str:
    """An error's message with its code, position and hint, on one line for a terminal."""
    facts = error.as_dict()
    text = str(facts.get("message") or error)
    extra = [f"{key} {facts[key]}" for key in ("code", "position") if facts.get(key) is not None]
    if extra:
        text += f" ({', '.join(extra)})"
    if facts.get("hint"):
        text += f" Hint: {facts['hint']}"
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    from verinet.placement import PLACEMENTS

    parser = argparse.ArgumentParser(prog="verinet", description=__doc__)
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="data directory (default ./var)")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole network on this machine")
    up.add_argument("--port", type=int, default=8080, help="gateway port (default 8080)")
    up.add_argument("--host", default="127.0.0.1", help="address services bind (default 127.0.0.1)")
    up.add_argument("--demo", action="store_true", help="create demo partners and 1,000 packs")
    up.add_argument(
        "--internal-mtls",
        action="store_true",
        help="mutual TLS between the services, with a private CA made (once) in the data directory",
    )
    up.add_argument(
        "--workers",
        type=workers_option,
        default="auto",
        metavar="N|auto",
        help="processes per service; the gateway's share its port (default auto: one per 4 cores, at least 1)",
    )
    up.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="auto",
        help="auto (default): the gateway and lookup on one half of the CPUs, verifier, recall-status and "
        "the embedded Redis on the other (on every CPU while they need more), so a question's wake-ups stay close; "
        "none: the kernel places every process",
    )
    up.set_defaults(func=cmd_up)

    partners = sub.add_parser("partners", help="manage partners (admin)")
    psub = partners.add_subparsers(dest="partners_command", required=True)
    add = psub.add_parser("add", help="create a partner; prints its token once")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, help="repeatable: manufacturer, wholesaler, dispenser, network, admin")
    add.add_argument("--gln", action="append", help="repeatable GLN-13")
    add.add_argument("--prefix", action="append", help="repeatable GS1 company prefix")
    add.set_defaults(func=cmd_partners_add)
    psub.add_parser("list", help="list partners").set_defaults(func=cmd_partners_list)
    revoke = psub.add_parser("revoke", help="revoke a partner's token")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_partners_revoke)
    from verinet.cli_networks import add_wallet_commands

    add_wallet_commands(psub)

    audit = sub.add_parser("audit", help="the tamper-evident audit chains (admin)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute every chain; name the first broken link").set_defaults(func=cmd_audit_verify)

    parse = sub.add_parser("parse", help="parse a scan, HRI text or Digital Link")
    parse.add_argument("data", help="GS may be typed as \\x1d or <GS>")
    parse.set_defaults(func=cmd_parse)

    from verinet.cli_directory import add_directory_commands

    add_directory_commands(sub)
    from verinet.cli_events import add_events_parser

    add_events_parser(sub)
    share_options(parser)
    return parser


def share_options(parser: argparse.ArgumentParser) -> None:
    """Gives every subcommand the options of the commands above it, so that they work before
    or after it: ``verinet --data-dir X partners list`` and ``verinet partners list --data-dir
    X`` alike. Given after the subcommand, an option overrides; left out, the upper default
    stands (the copies default to SUPPRESS, so they never overwrite it)."""
    options = [
        action
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]
    for subcommands in parser._actions:
        if not isinstance(subcommands, argparse._SubParsersAction):
            continue
        children: dict[int, argparse.ArgumentParser] = {id(c): c for c in subcommands.choices.values()}
        for child in children.values():
            taken = {flag for action in child._actions for flag in action.option_strings}
            for option in options:
                if taken.isdisjoint(option.option_strings):
                    shared = copy.copy(option)
                    shared.default = argparse.SUPPRESS
                    shared.required = False
                    child._add_action(shared)
            share_options(child)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
