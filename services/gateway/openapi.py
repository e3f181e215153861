"""The OpenAPI 3.1 document, built from the route declarations so it cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from verinet import __version__
from verinet.gateway.routing import RouteSpec

PROBLEM = {"$ref": "#/components/schemas/Problem"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def openapi_path(path: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def operation(spec: RouteSpec) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(spec.path)
    ]
    responses: dict[str, Any] = {"200": {"description": "Success"}}
    if spec.roles:
        responses["401"] = {"description": "Missing, unknown or revoked token"}
        responses["403"] = {"description": "Role or company prefix not allowed"}
    if spec.lms:
        schema = "LmsConnectivity" if spec.path == "/checkConnectivity" else "LmsVerification"
        responses["200"] = {
            "description": "LMS answer, signed (RFC 9421)",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
        for status in ("400", "404", "502", "504"):
            responses[status] = {"description": "LMS error; plain-text reason"}
    else:
        responses["400"] = {"description": "Malformed request", "content": {"application/problem+json": {"schema": PROBLEM}}}
    op: dict[str, Any] = {
        "operationId": spec.handler.__name__,
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": params + list(spec.params),
        "responses": responses,
        "x-verinet-roles": list(spec.roles),
    }
    if spec.roles:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    if spec.method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = spec.request_body or {
            "required": spec.method == "POST",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return op


def build(routes: Iterable[RouteSpec]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(openapi_path(spec.path), {})[spec.method.lower()] = operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "verinet",
            "version": __version__,
            "description": "Verification router network for pharmaceutical packs: DSCSA LMS 1.3 and EU FMD pack operations.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details with a machine-readable code",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "field": {"type": "string"},
                        "position": {"type": "integer", "description": "where the fault is, 0-based: a byte offset in the body (body.* codes), a character offset in the field (identifiers)"},
                        "line": {"type": "integer", "description": "its line (1-based)"},
                        "column": {"type": "integer", "description": "its column in bytes (1-based)"},
                        "limit": {"type": "integer", "description": "the limit a 413 refers to"},
                    },
                    "required": ["type", "title", "status", "detail", "code"],
                },
                "LmsConnectivity": {
                    "type": "object",
                    "properties": {"responderGLN": {"type": "string", "pattern": "^[0-9]{13}$"}},
                    "required": ["responderGLN"],
                },
                "LmsVerification": {
                    "type": "object",
                    "properties": {
                        "verificationTimestamp": {"type": "string"},
                        "responderGLN": {"type": "string"},
                        "data": {
                            "type": "object",
                            "properties": {
                                "verified": {"type": "boolean"},
                                "verificationFailureReason": {"type": "string"},
                                "additionalInfo": {"type": "string"},
                            },
                            "required": ["verified"],
                        },
                        "corrUUID": {"type": "string"},
                    },
                    "required": ["verificationTimestamp", "responderGLN", "data"],
                },
            },
        },
    }
