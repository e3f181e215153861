"""DSCSA LMS 1.3 routes: verify (alpha and numeric Digital Link forms) and checkConnectivity.

The verifier signs the body; this module sends status, headers and body bytes unchanged.

Input is read exactly: each query parameter at most once, path segments and query components
decoded strictly from the raw request target, and the question passed on (to the verifier and,
for a remote GTIN, to another network) rebuilt from the validated values only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from aiohttp import web

from verinet.callers import TRADING_ROLES, Role
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, InvalidInput
from verinet.free_text import validate_text
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.lms_batches import lms_question
from verinet.gateway.routing import AuthedHandler, RouteTable
from verinet.identifiers import (
    parse_expiry,
    validate_gln,
    validate_gtin,
    validate_lot,
    validate_serial,
)
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.partners import Partner
from verinet.remote_networks import ATP_HEADER, MAX_HOP_SECONDS
from verinet.rpc import call
from verinet.verifier.v1 import verifier_pb2 as verifier_pb

LINK_TYPES = ("verificationService", "gs1:verificationService")
MAX_PARAM_LENGTH = 256
#: An ATP presentation (a JWT carrying a credential JWT) sent as the query parameter ATP-Presentation.
MAX_PRESENTATION_LENGTH = 16384


def query_param(name: str, description: str, required: bool = False, pattern: str | None = None) -> dict[str, object]:
    schema: dict[str, object] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


COMMON_LMS_PARAMS = (
    query_param("linkType", "verificationService", True),
    query_param("reqGLN", "requestor GLN-13", True, "^[0-9]{13}$"),
    query_param("context", "e.g. dscsaSaleableReturn"),
    query_param("corrUUID", "correlation id, echoed"),
    query_param("ctrlPossessAtt", "requestor attests possession (LMS 1.2+)"),
)

routes = RouteTable()


def caller_message(partner: Partner, location_gln: str = "") -> common_pb.Caller:
    return common_pb.Caller(
        partner_id=partner.id,
        roles=partner.roles,
        glns=partner.glns,
        company_prefixes=partner.company_prefixes,
        location_gln=location_gln,
    )


def relayed_by_verinet(request: web.Request) -> bool:
    """Whether a verinet network relayed this question (its lookup sends ``Via: 1.1 verinet``)."""
    return any(
        hop.strip().split()[-1:] == ["verinet"]
        for value in request.headers.getall("Via", ())
        for hop in value.split(",")
    )


def lms_caller(request: web.Request, partner: Partner, gln: str) -> common_pb.Caller:
    """The caller of an LMS question. A question relayed by another verinet network counts as
    one from a network (role ``network``) even when the credential it came with has another
    role: such questions are answered only for hosted GTINs, never forwarded again."""
    caller = caller_message(partner, gln)
    if Role.NETWORK not in caller.roles and relayed_by_verinet(request):
        caller.roles.append(Role.NETWORK)
    return caller


def lms_gtin(value: str) -> str:
    if len(value) != 14 or not value.isdigit():
        raise InvalidInput(
            f"Failed to parse {value!r} as GTIN: expected 14 digits (GTIN-14), got {len(value)} characters.",
            code="gtin.length",
            field="gtin",
        )
    return validate_gtin(value)


def requestor_gln(params: dict[str, str], partner: Partner) -> str:
    """reqGLN is required and must be one of the caller's GLNs (networks relay for others)."""
    value = params.get("reqGLN", "")
    if not value:
        raise InvalidInput("Missing query parameter reqGLN: expected the requestor's GLN-13.", field="reqGLN", code="gln.missing")
    gln = validate_gln(value)
    if not partner.has_role(Role.NETWORK) and gln not in partner.glns:
        raise Forbidden(
            f"reqGLN {gln} is not one of the GLNs of the authenticated partner.",
            code="auth.gln",
            field="reqGLN",
        )
    return gln


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: Optional LMS parameters carried to a remote network as validated text (the required ones,
#: expiry, linkType and reqGLN, are validated on their own).
FORWARDED_TEXT_PARAMS = ("context", "corrUUID", "email", "telephone")


def strictly_decoded(raw: str, where: str) -> str:
    """A percent-encoded URL component decoded strictly: every ``%`` followed by two hex digits
    and the bytes valid UTF-8. Lenient decoders keep ``%G1`` or ``%FF`` as text, which would
    then be judged as a lot or serial instead of refused."""
    bad = _BAD_PERCENT.search(raw)
    if bad is not None:
        raise InvalidInput(
            f"Failed to decode {where} {raw[:60]!r}: expected '%' followed by two hex digits at "
            f"position {bad.start()}, got {raw[bad.start() : bad.start() + 3]!r}.",
            code="url.encoding",
            field=where,
        )
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"Failed to decode {where} {raw[:60]!r}: expected percent-encoded UTF-8, got byte "
            f"0x{error.object[error.start]:02X} that is not.",
            code="url.encoding",
            field=where,
        ) from None


def path_values(request: web.Request, names: tuple[str, ...]) -> list[str]:
    """The last path segments, one per name, decoded strictly from the raw request path (the
    router's own decoding keeps malformed escapes as text)."""
    segments = request.raw_path.partition("?")[0].split("/")[-2 * len(names) + 1 :: 2]
    return [strictly_decoded(raw, name) for raw, name in zip(segments, names, strict=True)]


def single_valued_query(request: web.Request) -> dict[str, str]:
    """The query parameters, each given once, strictly decoded and of bounded length, read in
    one pass over the raw query. A repeated parameter is refused: a check on the first value and
    a use of the last would be two different questions (``reqGLN=<mine>&reqGLN=<victim>``)."""
    params: dict[str, str] = {}
    given: dict[str, int] = {}
    for pair in filter(None, request.raw_path.partition("?")[2].split("&")):
        raw_name, _, raw_value = pair.partition("=")
        name = strictly_decoded(raw_name.replace("+", " "), "query parameter name")
        value = strictly_decoded(raw_value.replace("+", " "), f"query parameter {name[:40]}")
        given[name] = given.get(name, 0) + 1
        limit = MAX_PRESENTATION_LENGTH if name == ATP_HEADER else MAX_PARAM_LENGTH
        if len(value) > limit:
            raise InvalidInput(
                f"Query parameter {name[:40]} is too long: expected at most {limit} characters, got {len(value)}.",
                code="query.too_long",
                field=name[:40],
            )
        params[name] = value
    repeated = next((name for name, times in given.items() if times > 1), None)
    if repeated is not None:
        raise InvalidInput(
            f"Query parameter {repeated[:40]} is given {given[repeated]} times: expected each parameter once.",
            code="query.repeated",
            field=repeated[:40],
        )
    return params


def forwarded_text(params: dict[str, str]) -> dict[str, str]:
    """The optional LMS text parameters that were given, validated as text (no control
    characters); nothing else of the query travels on."""
    return {
        name: validate_text(params[name], name, max_length=MAX_PARAM_LENGTH, required=False)
        for name in FORWARDED_TEXT_PARAMS
        if params.get(name)
    }


def possession_attested(params: dict[str, str]) -> dict[str, str]:
    """``ctrlPossessAtt`` as ``true`` or ``false`` when given; any other value is a 400."""
    value = params.get("ctrlPossessAtt")
    if value is None or value == "":
        return {}
    if value.lower() not in ("true", "false"):
        raise InvalidInput(
            f"Failed to read ctrlPossessAtt {value[:40]!r}: expected true or false.",
            code="query.ctrl_possess_att",
            field="ctrlPossessAtt",
        )
    return {"ctrlPossessAtt": value.lower()}


def signed_response(answer: verifier_pb.SignedHttpResponse) -> web.Response:
    headers = dict(answer.headers)
    headers["Cache-Control"] = "private, no-store"
    return web.Response(status=answer.http_status, body=answer.body, headers=headers)


async def answer_verify(request: web.Request, partner: Partner, exp_param: str) -> web.Response:
    """One LMS verification. The question sent on (to the verifier and, for a remote GTIN, to
    another network) is rebuilt from the validated values only, never from the raw query."""
    params = single_valued_query(request)
    gtin, lot, serial = path_values(request, ("gtin", "lot", "serial"))
    # The PackIdentifier's fields: built in place in the question (a message built apart is copied in).
    pack = {"gtin": lms_gtin(gtin), "lot": validate_lot(lot), "serial": validate_serial(serial)}
    other_expiry = "exp" if exp_param == "17" else "17"
    if other_expiry in params:
        raise InvalidInput(
            f"Query parameters {exp_param} and {other_expiry} both give the expiry: expected one of them.",
            code="query.repeated",
            field=other_expiry,
        )
    expiry = params.get(exp_param, "")
    if not expiry:
        raise InvalidInput(
            f"Missing query parameter {exp_param}: expected the expiry as YYMMDD.",
            code="date.missing",
            field=exp_param,
        )
    parse_expiry(expiry)
    pack["expiry"] = expiry
    link_type = params.get("linkType", "")
    if link_type not in LINK_TYPES:
        raise InvalidInput(
            f"Failed to read linkType {link_type[:40]!r}: expected 'verificationService'.",
            code="query.link_type",
            field="linkType",
        )
    gln = requestor_gln(params, partner)
    text = forwarded_text(params)
    forwarded = {"exp": expiry, "linkType": link_type, "reqGLN": gln, **text, **possession_attested(params)}
    presentation, carriage = await inbound_presentation(request, partner, text.get("corrUUID", ""), params)
    question = lms_question(
        caller=lms_caller(request, partner, gln),
        pack=pack,
        req_gln=gln,
        corr_uuid=text.get("corrUUID", ""),
        context=text.get("context", ""),
        query=forwarded,
    )
    if presentation and carriage == "body":
        # Set only when given: even an empty map costs a question ~0.8 µs to set.
        question.requests[0].answer_members[ATP_HEADER] = presentation
    answer = await request.app[CLIENTS].lms.verify(question)
    response = signed_response(answer)
    if presentation and carriage != "body":
        response.headers[ATP_HEADER] = presentation
    return response


async def inbound_presentation(request: web.Request, partner: Partner, corr_uuid: str, params: dict[str, str]) -> tuple[str, str]:
    """For a question from another network: its ATP presentation checked through this
    network's wallet (lookup applies the sender's policy and reads it where the sender's
    carriage says: header, or query parameter for ``body``), and this network's presentation
    to answer with and where (empty when none is exchanged). A refusal is 403 with the OCI
    error code."""
    if not partner.has_role(Role.NETWORK):
        return "", "header"
    clients = request.app[CLIENTS]
    answer = await call(
        clients.lookup.ExchangeInboundPresentation,
        lookup_pb.ExchangeInboundPresentationRequest(
            caller=caller_message(partner),
            corr_uuid=corr_uuid,
            presentation=request.headers.get(ATP_HEADER, ""),
            body_presentation=params.get(ATP_HEADER, ""),
        ),
        timeout=clients.rpc_timeout,
    )
    return answer.presentation, answer.carriage or "header"


def verification_route(path: str, expiry: str, form: str) -> Callable[[AuthedHandler], AuthedHandler]:
    """Declares one spelling of the LMS verification URI: they differ only in their path, the
    query parameter carrying the expiry, and the name of their form."""
    return routes.route(
        "GET",
        path,
        roles=TRADING_ROLES,
        lms=True,
        tag="LMS",
        summary=f"LMS 1.3 verification of one product identifier ({form})",
        params=(query_param(expiry, "expiry YYMMDD (DD may be 00)", True, "^[0-9]{6}$"), *COMMON_LMS_PARAMS),
    )


@verification_route("/verify/gtin/{gtin}/lot/{lot}/ser/{serial}", "exp", "legacy alpha Digital Link form")
async def verify_alpha(request: web.Request, partner: Partner) -> web.Response:
    return await answer_verify(request, partner, "exp")


@verification_route("/01/{gtin}/10/{lot}/21/{serial}", "17", "numeric GS1 Digital Link form")
async def verify_numeric(request: web.Request, partner: Partner) -> web.Response:
    return await answer_verify(request, partner, "17")


@routes.route(
    "GET",
    "/checkConnectivity",
    roles=TRADING_ROLES,
    lms=True,
    tag="LMS",
    summary="LMS connectivity check: which responder answers for a GTIN",
    params=(
        query_param("gtin", "GTIN-14", True, "^[0-9]{14}$"),
        query_param("reqGLN", "requestor GLN-13", True, "^[0-9]{13}$"),
        query_param("context", "e.g. dscsaSaleableReturn"),
    ),
)
async def check_connectivity(request: web.Request, partner: Partner) -> web.Response:
    params = single_valued_query(request)
    gtin = lms_gtin(params.get("gtin", ""))
    gln = requestor_gln(params, partner)
    forwarded = {"reqGLN": gln, **forwarded_text(params)}
    clients = request.app[CLIENTS]
    answer = await call(
        clients.verifier.CheckConnectivity,
        verifier_pb.CheckConnectivityRequest(
            caller=lms_caller(request, partner, gln), gtin=gtin, req_gln=gln, query=forwarded
        ),
        timeout=clients.rpc_timeout + MAX_HOP_SECONDS,  # a remote route's own deadline applies
    )
    return signed_response(answer.response)
