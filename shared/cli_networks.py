"""``verinet directory networks``: remote-network profiles from the command line (admins).

    verinet directory networks put quartet-prod --file quartet-prod.json
    verinet directory networks get quartet-prod
    verinet directory networks list
    verinet directory put prefix 0614141 --route remote --network quartet-prod \\
        --responder-gln 0614141000005

The profile file is the JSON body of ``PUT /v1/directory/networks/{network}``, for example::

    {"url": "https://vrs.example.net", "auth": {"scheme": "token", "token": "..."},
     "deadline_seconds": 2, "attempts": 2, "headers": {"X-Tenant": "verinet"},
     "lms_version": "1.3.0", "lenient": false, "atp": {"carriage": "header"}}

Secrets come from the file (keep it private), never from the command line, which would land
in shell history and ``ps``; an ``auth`` value written ``{"env": "VAR"}`` is read from the
environment variable ``VAR`` instead. Answers never show a secret, only ``secrets_set``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def _read_profile(path: str) -> dict[str, Any]:
    try:
        body = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"Failed to read the profile file {path}: {error}") from None
    if not isinstance(body, dict):
        raise SystemExit(f"Failed to read the profile file {path}: expected a JSON object.")
    auth = body.get("auth")
    if isinstance(auth, dict):
        for name, value in list(auth.items()):
            if isinstance(value, dict) and set(value) == {"env"}:
                found = os.environ.get(str(value["env"]))
                if not found:
                    raise SystemExit(f"auth.{name} names the environment variable {value['env']}, which is not set.")
                auth[name] = found.strip()
    return body


def cmd_put(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _call, _print_json

    _print_json(_call(args, "PUT", f"/v1/directory/networks/{args.name}", _read_profile(args.file)))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from verinet.cli_directory import _call, _print_json

    _print_json(_call(args, "GET", f"/v1/directory/networks/{args.name}"))
    return 0


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
    networks = dsub.add_parser("networks", help="remote-network profiles: URL, auth, deadline, ... (admins)")
    nsub = networks.add_subparsers(dest="networks_command", required=True)
    put = nsub.add_parser("put", help="create or replace a profile from a JSON file")
    put.add_argument("name", help="profile name, e.g. quartet-prod")
    put.add_argument("--file", required=True, help="the profile as JSON (the body of PUT /v1/directory/networks/{name})")
    put.set_defaults(func=cmd_put)
    get = nsub.add_parser("get", help="show a profile (never its secrets)")
    get.add_argument("name")
    get.set_defaults(func=cmd_get)
    listing = nsub.add_parser("list", help="list the profiles")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)
