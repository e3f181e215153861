"""The verinet REST API: partners, products, commissioning, directory, identifiers.

Past 500 lines, four route groups that share only the helpers at the top: partners, products and
commissioning, directory, identifiers. It would be cut at those ``# --`` headings, one module
per group.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from verinet.callers import ALL_ROLES, Role, owning_prefix, owns_key
from verinet.errors import Forbidden, InvalidInput, NotFound, VerinetError
from verinet.gateway.app_keys import CLIENTS, PARTNER_STORE, SETTINGS
from verinet.gateway.inputs import (
    is_ndjson,
    json_object,
    ndjson_lines,
    optional_json_object,
    pack_fields,
    packs_body,
    production_from_json,
    read_body,
    stored_text,
)
from verinet.gateway.lms import caller_message
from verinet.gateway.routing import RouteTable
from verinet.identifiers import parse, validate_gln, validate_gtin
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.partners import NewPartner, Partner, PartnerChanges
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import call

routes = RouteTable()

COMMISSION_CHUNK = 5_000
#: Chunks of one upload being stored at once: recall-status and Redis store one while the
#: gateway encodes the next, instead of each stage waiting for the others.
COMMISSION_IN_FLIGHT = 2

_Upload = tuple[int, tuple[str, str, str, str], str, float]  # index, pack, line, commissioned_at


def commission_rounds(valid: list[_Upload]) -> list[list[_Upload]]:
    """Splits an upload so that no round names a pack twice: the n-th line naming a pack goes
    to round n. Rounds are stored one after another and the chunks of a round concurrently,
    so a pack named twice is decided as if the lines had been stored in order."""
    keys = [pack[0] + pack[1] for _, pack, _, _ in valid]  # a GTIN is 14 digits: unambiguous
    if len(set(keys)) == len(keys):
        return [valid]  # the usual upload: each pack once
    occurrences: dict[str, int] = {}
    rounds: list[list[_Upload]] = [[]]
    for key, entry in zip(keys, valid, strict=True):
        seen = occurrences.get(key, 0)
        occurrences[key] = seen + 1
        if seen == len(rounds):
            rounds.append([])
        rounds[seen].append(entry)
    return rounds


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f'Failed to read "{name}": expected a list of strings.', code="body.field_type", field=name)
    return value


def at_field(validate: Callable[[str], str], value: str, field: str) -> str:
    """Runs a validator and names the request field in its error."""
    try:
        return validate(value)
    except VerinetError as error:
        error.field = field
        raise


def require_own_gtin(partner: Partner, gtin: str, field: str = "gtin") -> None:
    """Admins act on any GTIN; anyone else only on GTINs under their own company prefixes."""
    if partner.has_role(Role.ADMIN) or owning_prefix(partner.company_prefixes, gtin) is not None:
        return
    raise Forbidden(
        f"GTIN {gtin} is not under your GS1 company prefixes {list(partner.company_prefixes)!r}.",
        code="product.foreign_prefix",
        field=field,
    )


# -- partners ---------------------------------------------------------------------------------


@routes.route("POST", "/v1/partners", roles=(Role.ADMIN,), tag="Partners", summary="Create a partner and its token (shown once)")
async def create_partner(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise InvalidInput('Failed to read "name": expected a string.', code="partner.name", field="name")
    stored_text(body, "name", "partner name")
    glns = [at_field(validate_gln, gln, f"glns[{i}]") for i, gln in enumerate(string_list(body, "glns"))]
    new = NewPartner(
        name=name,
        roles=string_list(body, "roles"),
        glns=glns,
        company_prefixes=string_list(body, "company_prefixes"),
    )
    created, token = await request.app[PARTNER_STORE].create(new, dt.datetime.now(dt.UTC))
    return json_response({**created.as_dict(), "token": token}, status=201)


@routes.route("GET", "/v1/partners", roles=(Role.ADMIN,), tag="Partners", summary="List partners")
async def list_partners(request: web.Request, partner: Partner) -> web.Response:
    partners = await request.app[PARTNER_STORE].list()
    return json_response({"partners": [p.as_dict() for p in partners]})


@routes.route("GET", "/v1/partners/me", roles=ALL_ROLES, tag="Partners", summary="The calling partner")
async def whoami(request: web.Request, partner: Partner) -> web.Response:
    return json_response(partner.as_dict())


PARTNER_CHANGES_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "The fields to replace; the others are kept",
                "properties": {
                    "name": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "string"}},
                    "glns": {"type": "array", "items": {"type": "string"}},
                    "company_prefixes": {"type": "array", "items": {"type": "string"}},
                },
            }
        }
    },
}


@routes.route("PATCH", "/v1/partners/{id}", roles=(Role.ADMIN,), tag="Partners", summary="Change a partner's name, roles, GLNs or company prefixes (each exclusive to one partner: 409 when another holds it)", request_body=PARTNER_CHANGES_BODY)
async def update_partner(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    unknown = sorted(str(name)[:40] for name in body if name not in ("name", "roles", "glns", "company_prefixes"))
    if unknown:
        raise InvalidInput(f"Unknown partner fields {unknown!r}: expected some of name, roles, glns, company_prefixes.", code="body.unknown_field", field=unknown[0])
    name = stored_text(body, "name", "partner name") if "name" in body else None
    glns = None
    if "glns" in body:
        glns = [at_field(validate_gln, gln, f"glns[{i}]") for i, gln in enumerate(string_list(body, "glns"))]
    changes = PartnerChanges(
        name=name,
        roles=string_list(body, "roles") if "roles" in body else None,
        glns=glns,
        company_prefixes=string_list(body, "company_prefixes") if "company_prefixes" in body else None,
    )
    updated = await request.app[PARTNER_STORE].update(request.match_info["id"], changes)
    return json_response(updated.as_dict())


@routes.route("POST", "/v1/partners/{id}/revoke", roles=(Role.ADMIN,), tag="Partners", summary="Revoke a partner's token (again: no change; never the last admin)")
async def revoke_partner(request: web.Request, partner: Partner) -> web.Response:
    await optional_json_object(request)  # no members; a body sent anyway is read as any other
    revoked = await request.app[PARTNER_STORE].revoke(request.match_info["id"], dt.datetime.now(dt.UTC))
    return json_response(revoked.as_dict())


# -- products and commissioning -----------------------------------------------------------------


@routes.route("PUT", "/v1/products/{gtin}", roles=(Role.MANUFACTURER,), tag="Manufacturers", summary="Register a hosted product under an own company prefix")
async def put_product(request: web.Request, partner: Partner) -> web.Response:
    gtin = validate_gtin(request.match_info["gtin"])
    require_own_gtin(partner, gtin)
    body = await optional_json_object(request)
    name = stored_text(body, "name", "product name", required=False)
    product = await register_product(request.app[CLIENTS], partner, gtin, name)
    return json_response(
        {"gtin": gtin, "name": product.name, "owner": product.owner_partner_id, "route": "hosted"},
        status=201 if product.created else 200,
    )


async def register_product(
    clients: Any, partner: Partner, gtin: str, name: str, attributes: dict[str, str] | None = None
) -> rs_pb.RegisterProductResponse:
    """Registers (or updates) a hosted product of the partner and routes its GTIN here."""
    caller = caller_message(partner)
    product: rs_pb.RegisterProductResponse = await clients.ask(
        clients.recall_status.RegisterProduct,
        rs_pb.RegisterProductRequest(caller=caller, gtin=gtin, name=name, attributes=attributes or {}),
    )
    await clients.ask(
        clients.lookup.PutDirectoryEntry,
        lookup_pb.PutDirectoryEntryRequest(
            caller=caller,
            entry=lookup_pb.DirectoryEntry(
                kind=lookup_pb.ENTRY_KIND_GTIN,
                key=gtin,
                owner_partner_id=partner.id,
                route=lookup_pb.ROUTE_KIND_HOSTED,
                responder_gln=partner.glns[0] if partner.glns else "",
            ),
        ),
    )
    return product


@routes.route("GET", "/v1/products/{gtin}", roles=(Role.MANUFACTURER,), tag="Manufacturers", summary="A hosted product of yours with its master data (name, NDC, dosage form, strength, net content, manufacturer)")
async def get_product(request: web.Request, partner: Partner) -> web.Response:
    gtin = validate_gtin(request.match_info["gtin"])
    require_own_gtin(partner, gtin)
    clients = request.app[CLIENTS]
    product = await clients.ask(clients.recall_status.GetProduct, rs_pb.GetProductRequest(caller=caller_message(partner), gtin=gtin))
    return json_response(
        {
            "gtin": product.gtin,
            "name": product.name,
            "owner": product.owner_partner_id,
            "state": product.state,
            "created_at": product.created_at,
            "master_data": dict(sorted(product.attributes.items())),
        }
    )


@routes.route("POST", "/v1/packs/commission", roles=(Role.MANUFACTURER,), tag="Manufacturers", summary="Commission packs (JSON or NDJSON), idempotently")
async def commission(request: web.Request, partner: Partner) -> web.Response:
    settings = request.app[SETTINGS]
    items, _ = await packs_body(request, settings.max_commission_packs)
    refused: list[dict[str, Any]] = []
    valid: list[_Upload] = []
    own_gtins: set[str] = set()
    for index, item in enumerate(items):
        try:
            pack = pack_fields(item, index, need_lot_and_expiry=True)
            line, commissioned_at = production_from_json(item, index)
        except VerinetError as error:
            refused.append({"index": index, "ok": False, **error.as_dict()})
            continue
        if pack[0] not in own_gtins:  # an upload names few GTINs: each is checked once
            require_own_gtin(partner, pack[0], field=f"packs[{index}].gtin")
            own_gtins.add(pack[0])
        valid.append((index, pack, line, commissioned_at))
    clients = request.app[CLIENTS]
    caller = caller_message(partner)
    slots = asyncio.Semaphore(COMMISSION_IN_FLIGHT)

    async def store(chunk: list[_Upload]) -> rs_pb.CommissionPacksResponse:
        async with slots:
            message = rs_pb.CommissionPacksRequest(caller=caller)
            add_pack, add_production = message.packs.add, message.production.add
            for _, (gtin, serial, lot, expiry), line, commissioned_at in chunk:
                add_pack(gtin=gtin, serial=serial, lot=lot, expiry=expiry)
                add_production(line=line, commissioned_at=commissioned_at)
            answer: rs_pb.CommissionPacksResponse = await call(
                clients.recall_status.CommissionPacks, message, timeout=max(clients.rpc_timeout, 10.0)
            )
            return answer

    stored = unchanged = 0
    for upload_round in commission_rounds(valid):
        chunks = [upload_round[start : start + COMMISSION_CHUNK] for start in range(0, len(upload_round), COMMISSION_CHUNK)]
        tasks = [asyncio.ensure_future(store(chunk)) for chunk in chunks]
        try:
            answers = await asyncio.gather(*tasks)
        except BaseException:  # the first error answers the request; the other chunks stop
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        for chunk, answer in zip(chunks, answers, strict=True):
            stored += answer.stored
            unchanged += answer.unchanged
            for result in answer.results:
                index, pack, _, _ = chunk[result.index]
                refused.append(
                    {
                        "index": index,
                        "ok": False,
                        "code": result.code,
                        "message": result.message,
                        "gtin": pack[0],
                        "serial": pack[1],
                    }
                )
    refused.sort(key=lambda r: r["index"])
    return json_response(
        {"received": len(items), "stored": stored, "unchanged": unchanged, "refused": len(refused), "errors": refused}
    )


@routes.route("POST", "/v1/products/{gtin}/withdraw", roles=(Role.MANUFACTURER,), tag="Manufacturers", summary="Withdraw a product (irreversible; confirm with the GTIN in the body)")
async def withdraw_product(request: web.Request, partner: Partner) -> web.Response:
    gtin = validate_gtin(request.match_info["gtin"])
    require_own_gtin(partner, gtin)
    body = await json_object(request)
    if body.get("confirm") != gtin:
        raise InvalidInput(
            f'Withdrawal is irreversible: confirm it with {{"confirm": "{gtin}"}} in the body.',
            code="withdraw.unconfirmed",
            field="confirm",
        )
    reason = stored_text(body, "reason", "withdrawal reason")
    message = rs_pb.WithdrawProductRequest(caller=caller_message(partner), gtin=gtin, reason=reason)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.WithdrawProduct, message)
    return json_response({"gtin": answer.gtin, "state": "withdrawn", "withdrawn_at": answer.withdrawn_at})


# -- directory --------------------------------------------------------------------------------

ENTRY_KINDS = {"gtins": lookup_pb.ENTRY_KIND_GTIN, "prefixes": lookup_pb.ENTRY_KIND_PREFIX}
KIND_NAMES = {"gtin": lookup_pb.ENTRY_KIND_GTIN, "prefix": lookup_pb.ENTRY_KIND_PREFIX}
ROUTE_KINDS = {"hosted": lookup_pb.ROUTE_KIND_HOSTED, "remote": lookup_pb.ROUTE_KIND_REMOTE}
ROUTE_NAMES = {v: k for k, v in ROUTE_KINDS.items()}
ENTRY_FIELDS = ("route", "url", "responder_gln", "credential", "expires_at", "owner", "network")
MAX_FIELD_LENGTH = 4096
MAX_IMPORT_LINES = 10_000


def directory_key(request: web.Request) -> tuple[lookup_pb.EntryKind, str]:
    kind = ENTRY_KINDS[request.match_info["kind"]]
    key = request.match_info["key"]
    if kind == lookup_pb.ENTRY_KIND_GTIN:
        key = at_field(validate_gtin, key, "gtin")
    elif not (key.isascii() and key.isdigit() and 4 <= len(key) <= 12):
        raise InvalidInput(f"Failed to parse {key[:40]!r} as a GS1 company prefix: expected 4 to 12 digits.", code="prefix.format", field="prefix")
    return kind, key


def entry_json(entry: lookup_pb.DirectoryEntry) -> dict[str, Any]:
    """An entry as answered: the credential itself never, only whether one is stored."""
    out: dict[str, Any] = {
        "kind": "gtin" if entry.kind == lookup_pb.ENTRY_KIND_GTIN else "prefix",
        "key": entry.key,
        "owner": entry.owner_partner_id,
        "route": ROUTE_NAMES.get(entry.route, ""),
        "responder_gln": entry.responder_gln,
        "updated_at": entry.updated_at,
    }
    if entry.route == lookup_pb.ROUTE_KIND_REMOTE:
        out["url"] = entry.remote_base_url
        out["credential_set"] = entry.has_credential
        if entry.network:
            out["network"] = entry.network
    if entry.expires_at:
        out["expires_at"] = entry.expires_at
    return out


def entry_text(body: dict[str, Any], name: str, field: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f'Failed to read "{name}": expected a string, got {type(value).__name__}.', code="body.field_type", field=field)
    if len(value) > MAX_FIELD_LENGTH:
        raise InvalidInput(f'Failed to read "{name}": expected at most {MAX_FIELD_LENGTH} characters, got {len(value)}.', code="body.field_length", field=field)
    return value


def entry_from_json(body: dict[str, Any], kind: lookup_pb.EntryKind, key: str, partner: Partner, where: str = "") -> lookup_pb.DirectoryEntry:
    """The entry a request body describes. The lookup service checks the values (URL, GLN,
    expiry, owner) and who may write the key; here only the shape is checked."""
    unknown = sorted(str(name)[:40] for name in body if name not in ENTRY_FIELDS and name not in ("kind", "key"))
    if unknown:
        raise InvalidInput(f"Unknown directory entry fields {unknown!r}: expected some of {list(ENTRY_FIELDS)!r}.", code="body.unknown_field", field=where + unknown[0])
    values = {name: entry_text(body, name, where + name) for name in ENTRY_FIELDS}
    if values["route"] not in ROUTE_KINDS:
        raise InvalidInput(f"Failed to read route {values['route'][:40]!r}: expected 'hosted' or 'remote'.", code="route.invalid", field=where + "route")
    if values["owner"] and values["owner"] != partner.id and not partner.has_role(Role.ADMIN):
        raise Forbidden("Only admins set the owner of a directory entry; leave it out to own the entry.", code="directory.owner", field=where + "owner")
    return lookup_pb.DirectoryEntry(
        kind=kind,
        key=key,
        owner_partner_id=values["owner"],
        route=ROUTE_KINDS[values["route"]],
        remote_base_url=values["url"],
        responder_gln=values["responder_gln"],
        remote_credential=values["credential"],
        expires_at=values["expires_at"],
        network=values["network"],
    )


def require_directory_reader(partner: Partner, kind: lookup_pb.EntryKind, key: str) -> None:
    if partner.has_role(Role.ADMIN):
        return
    digits = key[1:] if kind == lookup_pb.ENTRY_KIND_GTIN else key  # a prefix entry has no indicator
    if owns_key(partner.company_prefixes, digits) is not None:
        return
    raise Forbidden(f"Directory entry {key!r} is not under your company prefixes {list(partner.company_prefixes)!r}.", code="directory.foreign_prefix", field="key")


@routes.route("PUT", "/v1/directory/{kind:gtins|prefixes}/{key}", roles=(Role.ADMIN, Role.MANUFACTURER), tag="Directory", summary="Create or replace a directory entry (route hosted, or remote with url, responder_gln and credential)")
async def put_directory_entry(request: web.Request, partner: Partner) -> web.Response:
    kind, key = directory_key(request)
    entry = entry_from_json(await json_object(request), kind, key, partner)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.lookup.PutDirectoryEntry, lookup_pb.PutDirectoryEntryRequest(caller=caller_message(partner), entry=entry))
    return json_response(entry_json(answer.entry), status=201 if answer.created else 200)


@routes.route("GET", "/v1/directory/{kind:gtins|prefixes}/{key}", roles=(Role.ADMIN, Role.MANUFACTURER), tag="Directory", summary="Read a directory entry (never its credential)")
async def get_directory_entry(request: web.Request, partner: Partner) -> web.Response:
    kind, key = directory_key(request)
    require_directory_reader(partner, kind, key)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.lookup.GetDirectoryEntry, lookup_pb.GetDirectoryEntryRequest(kind=kind, key=key))
    return json_response(entry_json(answer.entry))


@routes.route("DELETE", "/v1/directory/{kind:gtins|prefixes}/{key}", roles=(Role.ADMIN, Role.MANUFACTURER), tag="Directory", summary="Delete a directory entry")
async def delete_directory_entry(request: web.Request, partner: Partner) -> web.Response:
    kind, key = directory_key(request)
    message = lookup_pb.DeleteDirectoryEntryRequest(caller=caller_message(partner), kind=kind, key=key)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.lookup.DeleteDirectoryEntry, message)
    if not answer.deleted:
        raise NotFound(f"No directory entry for {key!r}.", code="directory.not_found")
    return web.Response(status=204)


def import_item(item: Any, index: int, partner: Partner) -> lookup_pb.DirectoryEntry:
    where = f"entries[{index}]."
    if isinstance(item, _BadLine):
        raise item.error
    if not isinstance(item, dict):
        raise InvalidInput(f"Failed to read entry {index}: expected a JSON object, got {type(item).__name__}.", code="body.shape", field=f"entries[{index}]")
    key = entry_text(item, "key", where + "key")
    kind_name = entry_text(item, "kind", where + "kind") or ("gtin" if len(key) == 14 else "prefix")
    if kind_name not in KIND_NAMES:
        raise InvalidInput(f"Failed to read kind {kind_name[:40]!r}: expected 'gtin' or 'prefix'.", code="directory.kind", field=where + "kind")
    return entry_from_json(item, KIND_NAMES[kind_name], key, partner, where)


class _BadLine:
    """An NDJSON line that is not JSON: refused on its own, the other lines still count."""

    def __init__(self, error: InvalidInput) -> None:
        self.error = error


async def entries_body(request: web.Request) -> list[Any]:
    """Entries from ``{"entries": [...]}`` JSON, or one entry a line with application/x-ndjson
    (blank lines skipped; a line that is not JSON is refused on its own)."""
    if is_ndjson(request):
        items: list[Any] = []
        for line_number, line in ndjson_lines(await read_body(request)):
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as error:
                items.append(_BadLine(InvalidInput(f"Failed to parse line {line_number} as JSON: {error}.", code="body.json", field=f"line {line_number}")))
            if len(items) > MAX_IMPORT_LINES:
                break
    else:
        entries = (await json_object(request)).get("entries")
        if not isinstance(entries, list):
            raise InvalidInput('Failed to read "entries": expected a list of directory entries.', code="directory.entries", field="entries")
        items = entries
    if not items:
        raise InvalidInput('Failed to read "entries": expected at least one entry.', code="directory.entries", field="entries")
    if len(items) > MAX_IMPORT_LINES:
        raise InvalidInput(f"Failed to import more than {MAX_IMPORT_LINES} entries in one request: send the file in chunks.", code="directory.import_too_large", field="entries")
    return items


@routes.route("POST", "/v1/directory/import", roles=(Role.ADMIN, Role.MANUFACTURER), tag="Directory", summary="Create or replace many directory entries (JSON {entries: [...]} or NDJSON), with one result per entry")
async def import_directory(request: web.Request, partner: Partner) -> web.Response:
    items = await entries_body(request)
    results: dict[int, dict[str, Any]] = {}
    sent: list[tuple[int, lookup_pb.DirectoryEntry]] = []
    for index, item in enumerate(items):
        try:
            sent.append((index, import_item(item, index, partner)))
        except VerinetError as error:
            results[index] = {"index": index, "ok": False, **error.as_dict()}
    if sent:
        clients = request.app[CLIENTS]
        answer = await clients.ask(
            clients.lookup.ImportDirectoryEntries,
            lookup_pb.ImportDirectoryEntriesRequest(caller=caller_message(partner), entries=[e for _, e in sent]),
            timeout=max(clients.rpc_timeout, 10.0),
        )
        for result in answer.results:
            index, entry = sent[result.index]
            kind = "gtin" if entry.kind == lookup_pb.ENTRY_KIND_GTIN else "prefix"
            if result.ok:
                results[index] = {"index": index, "ok": True, "kind": kind, "key": entry.key, "created": result.created}
            else:
                refused: dict[str, Any] = {"index": index, "ok": False, "kind": kind, "key": entry.key, "code": result.code, "message": result.message}
                if result.field:
                    refused["field"] = f"entries[{index}].{result.field}"
                results[index] = refused
    ordered = [results[i] for i in sorted(results)]
    stored = [r for r in ordered if r["ok"]]
    return json_response(
        {
            "received": len(items),
            "stored": len(stored),
            "created": sum(1 for r in stored if r["created"]),
            "replaced": sum(1 for r in stored if not r["created"]),
            "refused": len(ordered) - len(stored),
            "results": ordered,
        }
    )


@routes.route("POST", "/v1/directory/check", roles=(Role.ADMIN,), tag="Directory", summary="Probe every remote endpoint of the directory: reachability, status, latency, circuit breaker")
async def check_directory(request: web.Request, partner: Partner) -> web.Response:
    body = await optional_json_object(request)
    req_gln = body.get("req_gln") or ""
    if not isinstance(req_gln, str):
        raise InvalidInput('Failed to read "req_gln": expected a GLN-13 string.', code="body.field_type", field="req_gln")
    if req_gln:
        req_gln = at_field(validate_gln, req_gln, "req_gln")
    message = lookup_pb.ProbeRemoteEndpointsRequest(req_gln=req_gln)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.lookup.ProbeRemoteEndpoints, message, timeout=max(clients.rpc_timeout, 5.0))
    return json_response(
        {
            "endpoints": [
                {
                    "url": probe.base_url,
                    "entries": list(probe.entries),
                    "gtin": probe.gtin,
                    "reachable": probe.reachable,
                    "status": probe.http_status or None,
                    "latency_ms": round(probe.latency_seconds * 1000, 1),
                    "outcome": probe.outcome,
                    "detail": probe.detail,
                    "breaker": probe.breaker_state,
                    "network": probe.network or None,
                    "auth_accepted": probe.auth_accepted,
                    "lms_conformant": probe.lms_conformant,
                    "conformance_deviations": list(probe.conformance_deviations),
                }
                for probe in answer.endpoints
            ]
        }
    )


# -- identifiers ------------------------------------------------------------------------------


@routes.route("POST", "/v1/identifiers/parse", roles=ALL_ROLES, tag="Identifiers", summary="Parse a scan, HRI text or Digital Link into its GS1 fields")
async def parse_identifier(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    data = body.get("data")
    if not isinstance(data, str):
        raise InvalidInput('Failed to read "data": expected the scanned text as a string.', code="body.field_type", field="data")
    return json_response(parse(data).as_dict())
