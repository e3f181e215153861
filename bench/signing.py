"""Micro-benchmark: signing and verifying one verdict, verinet.signing against the
http-message-signatures library, on one CPU core.

Run from the repository root with the project's environment:

    python bench/signing.py            # measure, print, append a section to bench/RESULTS.md
    python bench/signing.py --no-write # measure and print only

Every verdict the verifier answers is signed (``ResponseSigner.sign``), so its cost is on the
LMS hot path; verifying is what partners and the tests do. Each figure is the best of several
timed runs (best, because on a shared machine noise only ever slows a run down). The library
signs a ``requests.Response``, which is what it takes; both produce the same RFC 9421 headers
(``tests/shared/test_signing.py`` checks each with the other).
"""

from __future__ import annotations

import argparse
import tempfile
import timeit
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import common  # first: re-runs this benchmark under the project's venv when needed
import requests
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)
from parse import pin_to_one_core
from requests.structures import CaseInsensitiveDict

from verinet.signing import KeyRing, ResponseSigner, verify_response

#: A verdict body as the verifier answers an LMS question (about its size).
BODY = (
    b'{"verified":true,"gtin":"00312345678906","serialNumber":"ABC123","lot":"L1",'
    b'"expiry":"261231","corrUUID":"21EC2020-3AEA-4069-A2DD-08002B30309D"}'
)
COMPONENTS = ("@status", "content-type", "content-digest")


def per_call_us(call: Callable[[], object], seconds: float, repeats: int = 5) -> float:
    timer = timeit.Timer(call)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    pinning = pin_to_one_core()

    with tempfile.TemporaryDirectory() as keys:
        ring = KeyRing.load_or_create(Path(keys) / "keys")
    key = ring.active
    ours = ResponseSigner(ring)
    resolver = MappingKeyResolver(
        public_keys={key.kid: key.private_key.public_key()}, private_keys={key.kid: key.private_key}
    )
    library = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=resolver)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)

    def library_sign() -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        library.sign(response, key_id=key.kid, label="sig1", covered_component_ids=COMPONENTS, body=BODY)
        return response

    signed = ours.sign(BODY)
    as_response = requests.Response()
    as_response.status_code = 200
    as_response.headers = CaseInsensitiveDict(signed)
    jwks = ring.jwks()
    verify_response(200, signed, BODY, jwks)  # both must accept before they are timed
    verifier.verify(as_response, body=BODY, require_components=COMPONENTS)

    rows = [
        ("sign: verinet ResponseSigner.sign", per_call_us(lambda: ours.sign(BODY), args.seconds)),
        ("sign: http-message-signatures (its digest too)", per_call_us(library_sign, args.seconds)),
        (
            "verify: verinet verify_response (http-sf)",
            per_call_us(lambda: verify_response(200, signed, BODY, jwks), args.seconds),
        ),
        (
            "verify: http-message-signatures HTTPMessageVerifier",
            per_call_us(
                lambda: verifier.verify(as_response, body=BODY, require_components=COMPONENTS),
                args.seconds,
            ),
        ),
    ]
    report = common.Report("signing one verdict, verinet.signing against http-message-signatures")
    report.add(
        f"- {pinning}; http-message-signatures {version('http-message-signatures')}, "
        f"http-sf {version('http-sf')}, cryptography {version('cryptography')}"
    )
    report.table(["operation", "µs per call"], [(label, f"{us:,.1f}") for label, us in rows])
    faster = rows[1][1] / rows[0][1]
    report.add(
        f"- the hand-formatted signer takes {1 / faster:.0%} of the library's time per verdict "
        f"({faster:.1f}x faster): it stays on the hot path; verifying goes through http-sf."
    )
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
