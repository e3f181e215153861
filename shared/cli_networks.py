"""``verinet directory networks``: remote-network profiles from the command line (admins);
``verinet partners wallet``: partners' DIDs and OCI wallets (admins).

    verinet directory networks put quartet-prod --file quartet-prod.json
    verinet directory networks import networks.yaml     # many at once, all or none
    verinet directory networks get quartet-prod
    verinet directory networks list
    verinet directory networks delete quartet-prod      # refused while a route names it
    verinet partners wallet set p_123 --file wallet.json
    verinet partners wallet show p_123
    verinet partners wallet delete p_123
    verinet directory put prefix 0614141 --route remote --network quartet-prod \\
        --responder-gln 0614141000005

The profile file is the JSON body of ``PUT /v1/directory/networks/{network}``, for example::

    {"url": "https://vrs.example.net", "auth": {"scheme": "token", "token": "..."},
     "deadline_seconds": 2, "attempts": 2, "headers": {"X-Tenant": "verinet"},
     "lms_version": "1.3.0", "lenient": false, "atp": {"carriage": "header"}}

Secrets come from the file (keep it private), never from the command line, which would land
in shell history and ``ps``; an ``auth`` value written ``{"env": "VAR"}`` is read from the
environment variable ``VAR`` instead. Answers never show a secret, only ``secrets_set``.

An import file is a list of such profiles, each with its ``name`` (JSON, or YAML when PyYAML is
installed: the dev install has it), or ``{"networks": [...]}``. Every profile is checked before
any is stored; when one is wrong, none is, and each wrong one is named with its position.
A wallet file is the body of ``PUT /v1/partners/{id}/wallet``; its ``client_secret`` may be
``{"env": "VAR"}`` too.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: A subcommand: its parsed arguments in, the exit status out.
Command = Callable[[argparse.Namespace], int]


def _from_env(values: dict[str, Any], where: str) -> None:
    """Replaces each ``{"env": "VAR"}`` value with that variable's value."""
    for name, value in list(values.items()):
        if isinstance(value, dict) and set(value) == {"env"}:
            found = os.environ.get(str(value["env"]))
            if not found:
                raise SystemExit(f"{where}{name} names the environment variable {value['env']}, which is not set.")
            values[name] = found.strip()


def _read_object(path: str, what: str) -> dict[str, Any]:
    try:
        body = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"Failed to read the {what} file {path}: {error}") from None
    if not isinstance(body, dict):
        raise SystemExit(f"Failed to read the {what} file {path}: expected a JSON object.")
    return body


def _read_profile(path: str) -> dict[str, Any]:
    body = _read_object(path, "profile")
    if isinstance(body.get("auth"), dict):
        _from_env(body["auth"], "auth.")
    return body


def _read_import(path: str) -> list[Any]:
    """An import file: a JSON or YAML list of profiles (or ``{"networks": [...]}``)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SystemExit(f"Failed to read the import file {path}: {error}") from None
    try:
        body = json.loads(text)
    except ValueError as json_error:
        try:
            import yaml  # type: ignore[import-untyped]  # optional: the dev install has it
        except ImportError:
            raise SystemExit(f"Failed to read the import file {path} as JSON ({json_error}); YAML needs PyYAML installed.") from None
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SystemExit(f"Failed to read the import file {path} as JSON or YAML: {' '.join(str(error).split())}") from None
    if isinstance(body, dict) and set(body) == {"networks"}:
        body = body["networks"]
    if not isinstance(body, list):
        raise SystemExit(f"Failed to read the import file {path}: expected a list of profiles, each with its name.")
    for index, entry in enumerate(body):
        if isinstance(entry, dict) and isinstance(entry.get("auth"), dict):
            _from_env(entry["auth"], f"networks[{index}].auth.")
    return body


def cmd_put(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _call, _print_json

    _print_json(_call(args, "PUT", f"/v1/directory/networks/{args.name}", _read_profile(args.file)))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _detail, _request

    status, answer = _request(args, "POST", "/v1/directory/networks/import", {"networks": _read_import(args.file)})
    if status >= 400:
        entries = answer.get("entries") if isinstance(answer, dict) else None
        if not entries:
            raise SystemExit(f"POST /v1/directory/networks/import failed with {status}: {_detail(answer)}")
        for entry in entries:
            field = f" [{entry['field']}]" if entry.get("field") else ""
            print(f"networks[{entry['index']}] {entry.get('name')!r}{field}: {entry['message']} ({entry['code']})")
        raise SystemExit(f"Nothing imported: {len(entries)} of the profiles in {args.file} refused.")
    for item in answer["imported"]:
        print(f"{item['name']:24} {'created' if item['created'] else 'replaced'}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _delete

    return _delete(args, f"/v1/directory/networks/{args.name}", f"remote-network profile {args.name}")


def cmd_wallet_set(args: argparse.Namespace) -> int:
    from verinet.cli import _call, _print_json

    body = _read_object(args.file, "wallet")
    _from_env(body, "")
    _print_json(_call(args, "PUT", f"/v1/partners/{args.id}/wallet", body))
    return 0


def cmd_wallet_show(args: argparse.Namespace) -> int:
    from verinet.cli import _call, _print_json

    _print_json(_call(args, "GET", f"/v1/partners/{args.id}/wallet"))
    return 0


def cmd_wallet_delete(args: argparse.Namespace) -> int:
    from verinet.cli import _call

    _call(args, "DELETE", f"/v1/partners/{args.id}/wallet")
    print(f"Deleted the wallet of partner {args.id}.")
    return 0


def _command_group(sub: Any, name: str, help_text: str, dest: str) -> Any:
    """Registers ``name`` as a group of subcommands, one of which is required; answers the
    group's subcommands, for ``_add_command``."""
    return sub.add_parser(name, help=help_text).add_subparsers(dest=dest, required=True)


def _add_command(
    sub: Any, name: str, help_text: str, command: Command, argument: str = "", argument_help: str | None = None
) -> argparse.ArgumentParser:
    """Registers the subcommand ``name`` running ``command``, with its one positional
    ``argument`` when named; answers its parser, for further options."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    if argument:
        parser.add_argument(argument, help=argument_help)
    parser.set_defaults(func=command)
    return parser


def add_wallet_commands(psub: Any) -> None:
    """Registers ``verinet partners wallet ...``."""
    wsub = _command_group(psub, "wallet", "a partner's DID and OCI wallet for ATP credentials (admins)", "wallet_command")
    put = _add_command(wsub, "set", "set a partner's DID and wallet from a JSON file", cmd_wallet_set, "id", "partner id")
    put.add_argument("--file", required=True, help="the body of PUT /v1/partners/{id}/wallet; client_secret may be {\"env\": \"VAR\"}")
    _add_command(wsub, "show", "show a partner's DID and wallet (never the client secret)", cmd_wallet_show, "id")
    _add_command(wsub, "delete", "delete a partner's DID and wallet", cmd_wallet_delete, "id")


def cmd_get(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _show

    return _show(args, f"/v1/directory/networks/{args.name}")


def cmd_list(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _call, _print_json

    networks = _call(args, "GET", "/v1/directory/networks")["networks"]
    if args.json:
        _print_json(networks)
        return 0
    if not networks:
        print("No remote-network profiles.")
    for network in networks:
        print(
            f"{network['name']:24} {network['url']}  auth {network['auth']['scheme']}  "
            f"deadline {network['deadline_seconds']:g} s  attempts {network['attempts']}  "
            f"{'lenient' if network['lenient'] else 'strict'}"
        )
    return 0


def add_network_commands(dsub: Any) -> None:
    """Registers ``verinet directory networks ...``."""
    nsub = _command_group(dsub, "networks", "remote-network profiles: URL, auth, deadline, ... (admins)", "networks_command")
    put = _add_command(nsub, "put", "create or replace a profile from a JSON file", cmd_put, "name", "profile name, e.g. quartet-prod")
    put.add_argument("--file", required=True, help="the profile as JSON (the body of PUT /v1/directory/networks/{name})")
    imports = "a list of profiles, each the body of PUT /v1/directory/networks/{name} plus its name"
    _add_command(nsub, "import", "create or replace many profiles from a JSON or YAML list, all or none", cmd_import, "file", imports)
    _add_command(nsub, "delete", "delete a profile (refused while a directory route names it)", cmd_delete, "name")
    _add_command(nsub, "get", "show a profile (never its secrets)", cmd_get, "name")
    _add_command(nsub, "list", "list the profiles", cmd_list).add_argument("--json", action="store_true", help="print JSON")
