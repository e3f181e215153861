"""The gateway application's state, one typed ``web.AppKey`` each, all in one place.

The app factory (``app.py``) and the clients' cleanup context (``clients.py``) set them; route
handlers read them from ``request.app``. Nothing else holds state.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from verinet.gateway.jsonscan import BodyLimits
from verinet.gateway.limits import Limits, Overload
from verinet.gateway.settings import Settings
from verinet.partners import PartnerStore

if TYPE_CHECKING:  # both modules read these keys: imported for the types only
    from verinet.gateway.clients import Clients
    from verinet.gateway.routing import RouteSpec

#: The gateway's configuration, read once at start.
SETTINGS = web.AppKey("settings", Settings)
#: gRPC stubs and Redis, opened and closed by ``clients.clients_context``.
CLIENTS: web.AppKey[Clients] = web.AppKey("clients")
#: Partners and their tokens, in Redis (set with the clients).
PARTNER_STORE = web.AppKey("partner_store", PartnerStore)
#: Per-partner rate and concurrency limits, and the failed-sign-in allowance per address.
LIMITS = web.AppKey("limits", Limits)
#: The gateway-wide overload guard (requests in progress, the largest body declared).
OVERLOAD = web.AppKey("overload", Overload)
#: Limits on a JSON body's size and shape.
BODY_LIMITS = web.AppKey("body_limits", BodyLimits)
#: Set when the gateway starts shutting down: readiness answers 503.
DRAINING = web.AppKey("draining", asyncio.Event)
#: The verifier's JWKS, cached for a minute.
JWKS_CACHE = web.AppKey("jwks_cache", dict)
#: Every route the app serves, as declared (OpenAPI is built from them).
ROUTES: web.AppKey[tuple[RouteSpec, ...]] = web.AppKey("routes")
