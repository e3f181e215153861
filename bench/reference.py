"""The reference for issue 25: an LMS verification done whole in one process, with no service
split, to measure what the split costs. Not part of the product.

    python bench/reference.py --port 8099 --redis-url redis://127.0.0.1:6379/0 \
        --key-dir <network data>/keys --responder-gln 0614141000005

serves ``GET /verify/gtin/{gtin}/lot/{lot}/ser/{serial}`` doing, per question, the work a
verinet network does across its processes, with verinet's own functions so that the work is
the same: routing (aiohttp), bearer-token authentication (``PartnerStore``, with its cache),
strict query and path parsing and validation (``verinet.gateway.lms``), one Redis read of the
hosted pack (``PackRepository.statuses``: the same Lua script on the same data), the verdict
and JSON body (``verinet.verifier.verdicts``), the content digest and Ed25519 signature with
RFC 9421 headers (``ResponseSigner``, the network's own key). Start one per core on the same
port, each on its own core (``--cpu``): each binds with SO_REUSEPORT and the kernel spreads
connections over them. A process kept on its core used less CPU an answer than one the kernel
moved about (299 against 311 µs at one connection, 2026-12-08), so the reference runs in its
best form when verinet places its own processes (``verinet up --placement``).

What verinet does and this does not, on purpose (the issue's definition of "the same work"):
per-partner admission limits, metrics, the route lookup (cached in the verifier), and the
verification event that records where a pack was seen (batched, written later). ``lms.py
--reference`` runs both alternately against the same Redis and data.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: F401  (re-runs this with the project's venv when needed)
from aiohttp import web

from verinet.callers import TRADING_ROLES
from verinet.errors import InvalidInput, VerinetError
from verinet.gateway.lms import (
    LINK_TYPES,
    forwarded_text,
    lms_gtin,
    path_values,
    requestor_gln,
    single_valued_query,
)
from verinet.gateway.routing import bearer_token
from verinet.identifiers import parse_expiry, validate_lot, validate_serial
from verinet.partners import PartnerStore
from verinet.recall_status.pack_store import PackRepository
from verinet.rpc import install_event_loop_policy
from verinet.signing import KeyRing, ResponseSigner
from verinet.store import connect
from verinet.verifier.verdicts import lms_body, lms_verdict


def make_app(redis_url: str, key_dir: Path, responder_gln: str) -> web.Application:
    redis = connect(redis_url)
    partners = PartnerStore(redis)
    repository = PackRepository(redis)
    signer = ResponseSigner(KeyRing.load_or_create(key_dir))

    async def verify(request: web.Request) -> web.Response:
        try:
            partner = await partners.authenticate(bearer_token(request))
            if not partner.has_role(*TRADING_ROLES):
                return web.json_response({"error": "auth.role"}, status=403)
            params = single_valued_query(request)
            raw_gtin, raw_lot, raw_serial = path_values(request, ("gtin", "lot", "serial"))
            gtin, lot, serial = lms_gtin(raw_gtin), validate_lot(raw_lot), validate_serial(raw_serial)
            expiry = params.get("exp", "")
            parse_expiry(expiry)
            if params.get("linkType", "") not in LINK_TYPES:
                raise InvalidInput("linkType: expected 'verificationService'.", code="query.link_type", field="linkType")
            requestor_gln(params, partner)
            text = forwarded_text(params)
            (stored,) = await repository.statuses([(gtin, serial)])
            now = dt.datetime.now(dt.UTC)
            verdict = lms_verdict(stored.record if stored is not None else None, lot, expiry, now.date())
            body = lms_body(verdict, responder_gln, text.get("corrUUID", ""), now)
            headers = signer.sign(body, status=200)
            headers["Cache-Control"] = "private, no-store"
            return web.Response(status=200, body=body, headers=headers)
        except VerinetError as error:
            return web.json_response({"error": error.code, "message": error.message}, status=400)

    async def close(app: web.Application) -> None:
        await redis.aclose()

    app = web.Application()
    app.router.add_get("/verify/gtin/{gtin}/lot/{lot}/ser/{serial}", verify)
    app.on_cleanup.append(close)
    return app


async def serve(port: int, app: web.Application) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True, backlog=1024).start()
    print(f"reference {os.getpid()} listening on {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--key-dir", type=Path, required=True)
    parser.add_argument("--responder-gln", default="")
    parser.add_argument("--cpu", type=int, help="the one CPU to run on (default: wherever the kernel puts it)")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread starts: they inherit it
    install_event_loop_policy()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, make_app(args.redis_url, args.key_dir, args.responder_gln)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
