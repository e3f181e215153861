"""The web console: static files under ``console/`` served at ``/console``.

The console is a page for people (pharmacists, returns clerks, quality managers) that calls the
same public API as everyone else with the partner's bearer token, which it keeps in the
browser's sessionStorage only. These routes are public because they serve no data: the files
are the same for everyone.

Every answer carries a strict Content-Security-Policy (scripts, styles and requests from this
origin only, no inline code, no frames), ``nosniff``, ``no-referrer`` and cache headers:
``index.html`` is revalidated on every load and names its assets with the console's version, a
hash of all its files (``/console/app.js?v=<hash>``); the script is ES modules (one per page,
``app.js`` the entry), which import each other at that version too. An asset requested with
the current version is cached for a year, and one page load never mixes old and new modules.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from verinet.gateway.routing import RouteTable

routes = RouteTable()

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

#: Everything from this origin only; no inline script or style, no plugins, no frames, no
#: form posts elsewhere. The console draws charts as inline SVG through the DOM, which CSP allows.
CSP_DIRECTIVES = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
)

CONTENT_SECURITY_POLICY = "; ".join(CSP_DIRECTIVES)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

#: The files served besides index.html: the script's modules, the style sheet, the icon.
ASSET_PATTERNS = ("*.js", "*.css", "*.svg")
#: ``from './scan.js'`` in a module: the gateway adds the console's version to it.
_MODULE_IMPORT = re.compile(rb"""(\bfrom\s+')\./([a-z][a-z0-9_-]*\.js)(')""")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Console:
    index: Asset
    assets: dict[str, Asset]
    version: str


def _asset(body: bytes, suffix: str) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body=body, content_type=CONTENT_TYPES[suffix], etag=f'"{digest}"')


@functools.cache
def load_console(directory: Path = CONSOLE_DIR) -> Console:
    """The files, read once: they are part of the installed package and never change while the
    gateway runs. ``index.html`` and the modules' imports get the console's version put into
    their URLs."""
    files = {path.name: path.read_bytes() for pattern in ASSET_PATTERNS for path in sorted(directory.glob(pattern))}
    html = (directory / "index.html").read_text(encoding="utf-8")
    whole = hashlib.sha256(html.encode())
    for name, body in sorted(files.items()):
        whole.update(b"\0" + name.encode() + b"\0" + body)
    version = whole.hexdigest()[:16]
    assets = {}
    for name, body in files.items():
        if name.endswith(".js"):
            body = _MODULE_IMPORT.sub(lambda m: m[1] + b"./" + m[2] + b"?v=" + version.encode() + m[3], body)
        assets[name] = _asset(body, Path(name).suffix)
    for name in assets:
        html = html.replace(f"/console/{name}\"", f"/console/{name}?v={version}\"")
    return Console(index=_asset(html.encode(), ".html"), assets=assets, version=version)


def _answer(request: web.Request, asset: Asset, cache_control: str) -> web.Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": asset.etag}
    if asset.etag in (t.strip() for t in request.headers.get("If-None-Match", "").split(",")):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if asset.content_type.startswith("text/") or asset.content_type.endswith("+xml") else None
    return web.Response(body=asset.body, content_type=asset.content_type, charset=charset, headers=headers)


def installed_console() -> Console:
    try:
        return load_console()
    except OSError:
        raise web.HTTPNotFound(reason="The console's files are not installed with this gateway.") from None


@routes.route("GET", "/console", roles=(), tag="Console", summary="The web console (a page; it signs in with a partner token)")
async def console_page(request: web.Request, partner: None) -> web.Response:
    return _answer(request, installed_console().index, REVALIDATE)


@routes.route("GET", "/console/{asset:[^/]*}", roles=(), tag="Console", summary="The web console's script, style sheet and icon")
async def console_asset(request: web.Request, partner: None) -> web.StreamResponse:
    name = request.match_info["asset"]
    if name in ("", "index.html"):
        raise web.HTTPPermanentRedirect("/console")
    asset = installed_console().assets.get(name)
    if asset is None:
        raise web.HTTPNotFound(reason=f"No console file named {name!r}.")
    versioned = request.query.get("v") == installed_console().version
    return _answer(request, asset, IMMUTABLE if versioned else REVALIDATE)
