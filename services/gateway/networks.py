"""REST for remote-network profiles: ``/v1/directory/networks/{network}`` (admins only).

A profile says how this network talks to another one (see ``verinet.lookup.profiles``). The
request body is checked for shape here; lookup checks the values. Answers never carry a
secret, only ``secrets_set``: the names of those stored.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from verinet.callers import ALL_ROLES, Role
from verinet.errors import InvalidInput
from verinet.gateway.api import json_response
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.inputs import json_object
from verinet.gateway.lms import caller_message
from verinet.gateway.routing import RouteTable
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.partners import Partner
from verinet.rpc import call

routes = RouteTable()

PROFILE_FIELDS = ("url", "auth", "deadline_seconds", "attempts", "headers", "lms_version", "lenient", "atp")
#: JSON member of ``auth`` -> RemoteNetwork field.
AUTH_FIELDS = {
    "scheme": "auth_scheme",
    "token": "token",
    "username": "username",
    "password": "password",
    "token_url": "oauth_token_url",
    "client_id": "oauth_client_id",
    "client_secret": "oauth_client_secret",
    "scope": "oauth_scope",
    "client_cert_pem": "client_cert_pem",
    "client_key_pem": "client_key_pem",
    "ca_pem": "ca_pem",
}
SECRET_NAMES = {"token": "token", "password": "password", "oauth_client_secret": "client_secret", "client_key_pem": "client_key_pem"}
MAX_TEXT = 16384

PROFILE_SCHEMA = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "description": "base URL of the other network's LMS endpoint"},
        "auth": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scheme": {"enum": ["none", "bearer", "token", "basic", "oauth2", "mtls"]},
                **{name: {"type": "string"} for name in AUTH_FIELDS if name != "scheme"},
            },
        },
        "deadline_seconds": {"type": "number", "minimum": 0.05, "maximum": 5, "default": 0.6},
        "attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "lms_version": {"enum": ["1.0.2", "1.1.0", "1.2.0", "1.3.0"], "default": "1.3.0"},
        "lenient": {"type": "boolean", "default": False},
        "atp": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"carriage": {"enum": ["header", "body"], "default": "header"}, "name": {"type": "string", "default": "ATP-Presentation"}},
        },
    },
}


#: ``POST /v1/directory/networks/import``: profiles, each with its name.
IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["networks"],
    "additionalProperties": False,
    "properties": {
        "networks": {
            "type": "array",
            "items": {**PROFILE_SCHEMA, "required": ["name", "url"], "properties": {"name": {"type": "string"}, **PROFILE_SCHEMA["properties"]}},  # type: ignore[dict-item]
        }
    },
}


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f'Failed to read "{field}": expected a string, got {type(value).__name__}.', code="body.field_type", field=field)
    if len(value) > MAX_TEXT:
        raise InvalidInput(f'Failed to read "{field}": expected at most {MAX_TEXT} characters, got {len(value)}.', code="body.field_length", field=field)
    return value


def _object(value: Any, field: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f'Failed to read "{field}": expected an object, got {type(value).__name__}.', code="body.field_type", field=field)
    if allowed is not None:
        unknown = sorted(str(name)[:40] for name in value if name not in allowed)
        if unknown:
            prefix = f"{field}." if field else ""
            raise InvalidInput(f"Unknown fields {unknown!r}: expected some of {list(allowed)!r}.", code="body.unknown_field", field=prefix + unknown[0])
    return value


def profile_from_json(name: str, body: dict[str, Any]) -> lookup_pb.RemoteNetwork:
    _object(body, "", PROFILE_FIELDS)
    message = lookup_pb.RemoteNetwork(name=name, base_url=_text(body.get("url", ""), "url"))
    auth = _object(body.get("auth", {}), "auth", tuple(AUTH_FIELDS))
    for member, field in AUTH_FIELDS.items():
        if member in auth:
            setattr(message, field, _text(auth[member], f"auth.{member}"))
    if "deadline_seconds" in body:
        value = body["deadline_seconds"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise InvalidInput(f'Failed to read "deadline_seconds": expected seconds as a number, got {value!r}.', code="body.field_type", field="deadline_seconds")
        message.timeout_seconds = float(value)
    if "attempts" in body:
        value = body["attempts"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            raise InvalidInput(f'Failed to read "attempts": expected an integer from 1 to 10, got {value!r}.', code="network.attempts", field="attempts")
        message.attempts = value
    headers = _object(body.get("headers", {}), "headers", None)
    for header, value in headers.items():
        message.headers[_text(header, "headers")] = _text(value, f"headers.{header}")
    if "lms_version" in body:
        message.lms_version = _text(body["lms_version"], "lms_version")
    if "lenient" in body:
        if not isinstance(body["lenient"], bool):
            raise InvalidInput('Failed to read "lenient": expected true or false.', code="body.field_type", field="lenient")
        message.lenient = body["lenient"]
    atp = _object(body.get("atp", {}), "atp", ("carriage", "name"))
    if "carriage" in atp:
        message.atp_carriage = _text(atp["carriage"], "atp.carriage")
    if "name" in atp:
        message.atp_name = _text(atp["name"], "atp.name")
    return message


def profile_json(network: lookup_pb.RemoteNetwork) -> dict[str, Any]:
    """A profile as answered: never a secret, only which are stored."""
    auth: dict[str, Any] = {"scheme": network.auth_scheme}
    for member, field in AUTH_FIELDS.items():
        value = getattr(network, field)
        if member != "scheme" and value and field not in SECRET_NAMES:
            auth[member] = value
    auth["secrets_set"] = [SECRET_NAMES[name] for name in network.secrets_set]
    return {
        "name": network.name,
        "url": network.base_url,
        "auth": auth,
        "deadline_seconds": network.timeout_seconds,
        "attempts": network.attempts,
        "headers": dict(sorted(network.headers.items())),
        "lms_version": network.lms_version,
        "lenient": network.lenient,
        "atp": {"carriage": network.atp_carriage, "name": network.atp_name},
        "updated_at": network.updated_at,
    }


@routes.route(
    "PUT",
    "/v1/directory/networks/{network}",
    roles=(Role.ADMIN,),
    tag="Directory",
    summary="Create or replace a remote-network profile: URL, auth (bearer, token, basic, oauth2, mtls), per-hop deadline, attempts, headers, LMS version, lenient, ATP carriage",
    request_body={"required": True, "content": {"application/json": {"schema": PROFILE_SCHEMA}}},
)
async def put_network(request: web.Request, partner: Partner) -> web.Response:
    message = profile_from_json(request.match_info["network"], await json_object(request))
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.PutRemoteNetwork,
        lookup_pb.PutRemoteNetworkRequest(caller=caller_message(partner), network=message),
        timeout=clients.rpc_timeout,
    )
    return json_response(profile_json(answer.network), status=201 if answer.created else 200)


@routes.route("GET", "/v1/directory/networks/{network}", roles=(Role.ADMIN,), tag="Directory", summary="Read a remote-network profile (never its secrets)")
async def get_network(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.GetRemoteNetwork,
        lookup_pb.GetRemoteNetworkRequest(caller=caller_message(partner), name=request.match_info["network"]),
        timeout=clients.rpc_timeout,
    )
    return json_response(profile_json(answer.network))


@routes.route(
    "POST",
    "/v1/directory/networks/import",
    roles=(Role.ADMIN,),
    tag="Directory",
    summary="Create or replace many remote-network profiles, all or none: {\"networks\": [{\"name\", ...profile}]}; 400 lists every refused entry",
    request_body={"required": True, "content": {"application/json": {"schema": IMPORT_SCHEMA}}},
)
async def import_networks(request: web.Request, partner: Partner) -> web.Response:
    body = _object(await json_object(request), "", ("networks",))
    entries = body.get("networks")
    if not isinstance(entries, list):
        raise InvalidInput('Failed to read "networks": expected a list of profiles, each with its "name".', code="body.field_type", field="networks")
    messages: list[lookup_pb.RemoteNetwork] = []
    refused: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        try:
            if not isinstance(name, str) or not name:
                raise InvalidInput('Failed to read "name": expected the profile\'s name.', code="body.field_type", field="name")
            messages.append(profile_from_json(name, {k: v for k, v in entry.items() if k != "name"}))
        except InvalidInput as error:
            refused.append({"index": index, "name": name if isinstance(name, str) else None, "code": error.code, "field": error.field, "message": error.message})
    if refused:
        raise _import_refused(refused, len(entries))
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.ImportRemoteNetworks,
        lookup_pb.ImportRemoteNetworksRequest(caller=caller_message(partner), networks=messages),
        timeout=clients.rpc_timeout,
    )
    if not answer.stored:
        raise _import_refused(
            [{"index": r.index, "name": messages[r.index].name, "code": r.code, "field": r.field or None, "message": r.message} for r in answer.results if not r.ok],
            len(entries),
        )
    return json_response({"imported": [{"name": m.name, "created": r.created} for m, r in zip(messages, answer.results, strict=True)]})


def _import_refused(refused: list[dict[str, Any]], total: int) -> InvalidInput:
    first = refused[0]
    error = InvalidInput(
        f"Failed to import {total} profiles: {len(refused)} refused, none stored. First: networks[{first['index']}] "
        f"({first['name']!r}): {first['message']}",
        code="network.import_refused",
        field=f"networks[{first['index']}]" + (f".{first['field']}" if first["field"] else ""),
    )
    error.details["entries"] = refused
    return error


@routes.route(
    "DELETE",
    "/v1/directory/networks/{network}",
    roles=(Role.ADMIN,),
    tag="Directory",
    summary="Delete a remote-network profile (409 while a directory route names it)",
)
async def delete_network(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    await call(
        clients.lookup.DeleteRemoteNetwork,
        lookup_pb.DeleteRemoteNetworkRequest(caller=caller_message(partner), name=request.match_info["network"]),
        timeout=clients.rpc_timeout,
    )
    return web.Response(status=204)


@routes.route("GET", "/v1/directory/networks", roles=(Role.ADMIN,), tag="Directory", summary="List the remote-network profiles (never their secrets)")
async def list_networks(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.ListRemoteNetworks,
        lookup_pb.ListRemoteNetworksRequest(caller=caller_message(partner)),
        timeout=clients.rpc_timeout,
    )
    return json_response({"networks": [profile_json(n) for n in answer.networks]})


# -- ATP credentials: partners' DIDs and wallets, and the audit ---------------------------------

WALLET_FIELDS = ("did", "url", "client_id", "client_secret", "token_url", "inbound_policy", "inbound_carriage")


def wallet_json(wallet: lookup_pb.PartnerWallet) -> dict[str, Any]:
    out: dict[str, Any] = {
        "partner": wallet.partner_id,
        "did": wallet.did,
        "url": wallet.url,
        "client_id": wallet.client_id,
        "client_secret_set": wallet.secret_set,
        "inbound_policy": wallet.inbound_policy,
        "inbound_carriage": wallet.inbound_carriage or "header",
    }
    if wallet.token_url:
        out["token_url"] = wallet.token_url
    return out


@routes.route(
    "PUT",
    "/v1/partners/{id}/wallet",
    roles=(Role.ADMIN,),
    tag="Credentials",
    summary="Set a partner's DID and OCI wallet (URL, OAuth2 client credentials) and, for network partners, the inbound ATP policy",
)
async def put_wallet(request: web.Request, partner: Partner) -> web.Response:
    body = _object(await json_object(request), "", WALLET_FIELDS)
    values: dict[str, Any] = {name: _text(body.get(name, ""), name) for name in WALLET_FIELDS}
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.PutPartnerWallet,
        lookup_pb.PutPartnerWalletRequest(
            caller=caller_message(partner),
            wallet=lookup_pb.PartnerWallet(partner_id=request.match_info["id"], **values),
        ),
        timeout=clients.rpc_timeout,
    )
    return json_response(wallet_json(answer.wallet))


@routes.route("GET", "/v1/partners/{id}/wallet", roles=ALL_ROLES, tag="Credentials", summary="Read a partner's DID and wallet (admins, or the partner itself; never the client secret)")
async def get_wallet(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.GetPartnerWallet,
        lookup_pb.GetPartnerWalletRequest(caller=caller_message(partner), partner_id=request.match_info["id"]),
        timeout=clients.rpc_timeout,
    )
    return json_response(wallet_json(answer.wallet))


@routes.route("DELETE", "/v1/partners/{id}/wallet", roles=(Role.ADMIN,), tag="Credentials", summary="Delete a partner's DID and wallet (its questions then go without ATP credentials)")
async def delete_wallet(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    await call(
        clients.lookup.DeletePartnerWallet,
        lookup_pb.DeletePartnerWalletRequest(caller=caller_message(partner), partner_id=request.match_info["id"]),
        timeout=clients.rpc_timeout,
    )
    return web.Response(status=204)


@routes.route(
    "GET",
    "/v1/credentials/audit",
    roles=ALL_ROLES,
    tag="Credentials",
    summary="ATP presentations generated and verified for one question (admins see all, a partner its own)",
    params=({"name": "corrUUID", "in": "query", "required": True, "schema": {"type": "string"}},),
)
async def credential_audit(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.ListCredentialAudit,
        lookup_pb.ListCredentialAuditRequest(caller=caller_message(partner), corr_uuid=request.query.get("corrUUID", "")),
        timeout=clients.rpc_timeout,
    )
    return json_response(
        {
            "entries": [
                {
                    "at": e.at, "partner": e.partner_id, "action": e.action, "outcome": e.outcome,
                    "code": e.code or None, "corrUUID": e.corr_uuid, "counterparty": e.counterparty,
                }
                for e in answer.entries
            ]
        }
    )
