"""Forwarding LMS questions to other networks over HTTP(S).

One ``aiohttp.ClientSession`` per lookup process (created in ``__main__``) pools connections
to every remote endpoint. Each forwarded question has a per-hop deadline that covers every
attempt; only 408, 502, 503, 504 and connection failures are retried, after a jittered
backoff that must still fit inside the deadline. A circuit breaker per endpoint (base URL)
stops sending to an endpoint that keeps failing and lets one probe through later.

Outcomes, as the caller sees them:

==============================================  ===========================================
remote answer                                   result
==============================================  ===========================================
200 with an LMS body (verify), any 200 (check)  :class:`RemoteAnswer`, body and signature
                                                headers unchanged
4xx                                             :class:`RemoteAnswer` with the same status
no answer within the deadline, or a final 504   :class:`~verinet.errors.UpstreamTimeout`
connection refused/reset, DNS, TLS              :class:`~verinet.errors.BadUpstream`
                                                ``upstream.unreachable``
an address the outbound policy refuses          ``BadUpstream`` ``upstream.not_public``
circuit open                                    ``BadUpstream`` ``upstream.circuit_open``
5xx, 3xx, other 2xx                             ``BadUpstream`` ``upstream.status``
a body over the size limit                      ``BadUpstream`` ``upstream.bad_response``
200 verification that is not LMS 1.3 (see       ``BadUpstream`` ``upstream.nonconforming``,
``verinet.lookup.conformance``), strict profile  naming every deviation
the same, lenient profile                       :class:`RemoteAnswer` with its ``deviations``
==============================================  ===========================================

A failure is never turned into a verdict. Error texts say what failed in words, never the
raw connection error, so that they cannot be used to map what listens inside our network.

Entries a manufacturer wrote go through the ``guarded`` session, whose connector connects
only to addresses the outbound policy allows (:mod:`verinet.outbound`); entries an admin
wrote, and routes naming an admin-managed remote-network profile, are trusted and go through
``session``.

Past 500 lines on purpose: one question's HTTP life (deadline, attempts, breaker, reading and
judging the answer) and the operators' probe that shares it; what is sent (profiles,
remote_auth) and how an answer is judged (conformance) live in their own modules.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson
from prometheus_client import Counter, Gauge
from yarl import URL

from verinet import __version__
from verinet.backoff import Backoff
from verinet.errors import BadUpstream, UpstreamTimeout, VerinetError
from verinet.lookup.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from verinet.lookup.conformance import Judgement, judge, lms_deviations
from verinet.lookup.directory import DirectoryEntry
from verinet.lookup.profiles import RemoteProfile, default_profile
from verinet.lookup.remote_auth import RemoteAuth
from verinet.metrics import Histogram
from verinet.outbound_http import connect_failure, refusal_of

log = logging.getLogger(__name__)

#: Statuses worth another attempt: the remote (or a proxy before it) may answer next time.
RETRY_STATUSES = frozenset({408, 502, 503, 504})
#: Headers taken from a remote answer: what a receiver needs to check the remote's signature.
PASSED_HEADERS = ("content-type", "content-digest", "signature-input", "signature")
MAX_HEADER_LENGTH = 8192
#: No attempt starts with less time than this left before the deadline.
MIN_ATTEMPT_SECONDS = 0.05
LMS_VERSION = "1.3.0"

REMOTE_REQUESTS = Counter(
    "verinet_remote_requests_total",
    "HTTP requests sent to remote networks (each attempt, retries included)",
    ["endpoint", "operation"],
)
REMOTE_OUTCOMES = Counter(
    "verinet_remote_outcomes_total",
    "Forwarded questions by final outcome: ok, client_error, timeout, unreachable, "
    "bad_status, bad_response, circuit_open",
    ["endpoint", "operation", "outcome"],
)
REMOTE_SECONDS = Histogram(
    "verinet_remote_seconds",
    "Time to answer one forwarded question, retries included",
    ["endpoint", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0),
)
REMOTE_BREAKER_STATE = Gauge(
    "verinet_remote_breaker_state",
    "Circuit breaker per remote endpoint: 0 closed, 1 half-open, 2 open",
    ["endpoint"],
)
BREAKER_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class ForwardSettings:
    """How lookup talks to other networks (see ``verinet.lookup.settings``)."""

    timeout: float = 0.6
    max_attempts: int = 3
    #: Between attempts, with jitter.
    backoff: Backoff = Backoff(base=0.05, maximum=0.2)
    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0
    max_body_bytes: int = 65536


@dataclass(frozen=True)
class RemoteAnswer:
    """What a remote network answered: a 200 to pass on, or a 4xx to pass on."""

    status: int
    body: bytes
    headers: dict[str, str]
    attempts: int
    #: Deviations from LMS 1.3 that a lenient profile relayed (codes).
    deviations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    """One connectivity probe of an endpoint."""

    reachable: bool
    status: int
    seconds: float
    outcome: str  # ok, reachable, refused, error, timeout, unreachable
    detail: str
    #: Deviations from LMS 1.3 of the probe verification's answer (messages); None when no
    #: verification answer came back to judge.
    deviations: tuple[str, ...] | None = None


class _Failed(Exception):
    """One failed question, before it becomes a VerinetError."""

    def __init__(self, outcome: str, detail: str, status: int = 0) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.status = status


def _header_value(value: str) -> str | None:
    value = value.strip()
    if len(value) > MAX_HEADER_LENGTH or not value.isascii() or not value.isprintable():
        return None
    return value or None


def passed_headers(headers: Mapping[str, str], keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The remote's content type and signature headers (and ``keep``), lowercase, only when
    header-safe."""
    out = {}
    for name in (*PASSED_HEADERS, *keep):
        raw = headers.get(name)
        value = _header_value(raw) if raw is not None else None
        if value is not None:
            out[name] = value
    return out


#: The LMS parameters a forwarded question carries, in this order. The gateway validated each
#: one; nothing else a requestor put in its query travels to another network.
FORWARDED_PARAMS = ("gtin", "exp", "linkType", "context", "reqGLN", "corrUUID", "ctrlPossessAtt", "email", "telephone")


def lms_query(query: Mapping[str, str], also: tuple[str, ...] = ()) -> str:
    """The query string to send, rebuilt from the known LMS parameters only (each once, in a
    fixed order), with the numeric Digital Link expiry ``17`` named ``exp`` for the alpha path;
    then the parameters named in ``also`` (the ATP presentation of a ``body`` profile).

    >>> lms_query({"corrUUID": "a b", "17": "281231", "reqGLN": "0614141000005", "reqgln": "x"})
    'exp=281231&reqGLN=0614141000005&corrUUID=a%20b'
    >>> lms_query({"corrUUID": "c", "ATP-Presentation": "h.p.s", "x": "y"}, also=("ATP-Presentation",))
    'corrUUID=c&ATP-Presentation=h.p.s'
    """
    values = dict(query)
    if "17" in values:
        values.setdefault("exp", values["17"])
    items = [(name, values[name]) for name in (*FORWARDED_PARAMS, *also) if values.get(name)]
    return urlencode(items, quote_via=quote, safe="")


def verify_path(gtin: str, lot: str, serial: str) -> str:
    return f"/verify/gtin/{gtin}/lot/{quote(lot, safe='')}/ser/{quote(serial, safe='')}"


def connectivity_problem(body: bytes, corr_uuid: str) -> Judgement:
    """Any 200 proves connectivity; the body is optional and checked by the verifier."""
    return Judgement()


class Forwarder:
    """Sends LMS questions to remote networks, with deadlines, retries and breakers."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: ForwardSettings,
        *,
        guarded: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        #: For entries that are not trusted: its connector applies the outbound policy.
        #: Without one, ``session`` itself must be guarded.
        self.guarded = guarded or session
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.breakers: dict[str, CircuitBreaker] = {}
        self.user_agent = f"verinet-lookup/{__version__}"
        self.auth = RemoteAuth(session, clock)

    def profile_of(self, entry: DirectoryEntry) -> RemoteProfile:
        """The profile of a route that names none: its URL and bearer credential, the
        service-wide deadline and attempts, strict."""
        return default_profile(
            entry.remote_base_url, entry.remote_credential, self.settings.timeout, self.settings.max_attempts
        )

    async def profile_headers(self, profile: RemoteProfile, deadline: float) -> dict[str, str]:
        """The request headers for a question to ``profile``'s network: the static ones, the
        LMS version it speaks and its credential."""
        headers = {
            **dict(profile.headers),
            "Accept": "application/json",
            "GS1US-Version": profile.lms_version,
            # Marks the request as relayed by a verinet network: a verinet receiving it
            # answers only for GTINs it hosts, so two networks cannot bounce it forever.
            "Via": "1.1 verinet",
            "User-Agent": self.user_agent,
        }
        authorization = await self.auth.authorization(profile, deadline)
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    def session_for(self, entry: DirectoryEntry) -> aiohttp.ClientSession:
        """The trusted session for what an admin set (the entry, or the profile it names: only
        admins may name one), else the one that applies the outbound policy."""
        return self.session if entry.trusted or entry.network else self.guarded

    def breaker(self, endpoint: str) -> CircuitBreaker:
        breaker = self.breakers.get(endpoint)
        if breaker is None:
            breaker = CircuitBreaker(
                self.settings.breaker_failures, self.settings.breaker_open_seconds, self.clock
            )
            self.breakers[endpoint] = breaker
            REMOTE_BREAKER_STATE.labels(endpoint).set(0)
        return breaker

    def breaker_state(self, endpoint: str) -> str:
        breaker = self.breakers.get(endpoint)
        return breaker.state if breaker is not None else CLOSED

    async def verify(
        self,
        entry: DirectoryEntry,
        gtin: str,
        lot: str,
        serial: str,
        query: Mapping[str, str],
        timeout: float,
        profile: RemoteProfile | None = None,
    ) -> RemoteAnswer:
        profile = profile or self.profile_of(entry)
        url = profile.base_url + verify_path(gtin, lot, serial)
        if query:
            url += "?" + lms_query(query, also=(profile.atp_name,) if profile.atp_carriage == "body" else ())
        corr_uuid = query.get("corrUUID", "")

        def conformance(body: bytes, corr_uuid: str) -> Judgement:
            return judge(body, corr_uuid, entry.responder_gln, profile.lenient)

        return await self._ask(entry, "verify", url, timeout, corr_uuid, conformance, profile)

    async def check_connectivity(
        self,
        entry: DirectoryEntry,
        gtin: str,
        query: Mapping[str, str],
        timeout: float,
        profile: RemoteProfile | None = None,
    ) -> RemoteAnswer:
        profile = profile or self.profile_of(entry)
        params = {"gtin": gtin, **{k: v for k, v in query.items() if k != "gtin"}}
        url = profile.base_url + "/checkConnectivity?" + lms_query(params)
        return await self._ask(entry, "check_connectivity", url, timeout, "", connectivity_problem, profile)

    async def _ask(
        self,
        entry: DirectoryEntry,
        operation: str,
        url: str,
        timeout: float,
        corr_uuid: str,
        problem_with_200: Callable[[bytes, str], Judgement],
        profile: RemoteProfile,
    ) -> RemoteAnswer:
        endpoint = profile.base_url
        breaker = self.breaker(endpoint)
        started = self.clock()
        if not breaker.allow():
            self._finish(endpoint, operation, "circuit_open", started)
            raise BadUpstream(
                f"Remote network {endpoint} is not asked: its circuit breaker is open after "
                f"{breaker.consecutive_failures} consecutive failures; the next probe goes in "
                f"{breaker.retry_in():.1f} s.",
                code="upstream.circuit_open",
            )
        settled = False
        try:
            try:
                answer = await self._attempts(
                    self.session_for(entry), profile, operation, url, started + timeout, corr_uuid, problem_with_200
                )
            except _Failed as failure:
                if failure.outcome == "nonconforming":
                    breaker.record_success()  # it answered; what it said is the problem
                else:
                    breaker.record_failure()
                settled = True
                self._finish(endpoint, operation, failure.outcome, started)
                raise self._error(endpoint, failure, timeout) from None
            breaker.record_success()
            settled = True
            self._finish(endpoint, operation, "ok" if answer.status < 300 else "client_error", started)
            return answer
        finally:
            if not settled:
                breaker.release()  # cancelled mid-flight: the outcome is unknown
            REMOTE_BREAKER_STATE.labels(endpoint).set(BREAKER_VALUE[breaker.state])

    async def _attempts(
        self,
        session: aiohttp.ClientSession,
        profile: RemoteProfile,
        operation: str,
        url: str,
        deadline: float,
        corr_uuid: str,
        problem_with_200: Callable[[bytes, str], Judgement],
    ) -> RemoteAnswer:
        settings = self.settings
        headers = await self.profile_headers(profile, deadline)
        ssl_context = self.auth.ssl_context(profile)
        target = URL(url, encoded=True)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise _Failed("timeout", f"no answer within the deadline ({attempt - 1} attempts)")
            REMOTE_REQUESTS.labels(profile.base_url, operation).inc()
            last: RemoteAnswer | None = None
            try:
                status, body, answer_headers = await self._one(
                    session, target, headers, remaining, ssl_context, keep=(profile.atp_name.lower(),)
                )
            except TimeoutError:
                raise _Failed("timeout", f"no answer within the deadline ({attempt} attempts)") from None
            except _Failed as failure:
                if failure.outcome != "unreachable":
                    raise  # a policy refusal is final: the next attempt would be refused too
                failed = failure
            else:
                if status == 200:
                    judged = problem_with_200(body, corr_uuid)
                    if judged.problem is not None:
                        if judged.fatal:
                            raise _Failed("bad_response", f"answered 200 with a body that is not an LMS answer: {judged.problem}", 200)
                        raise _Failed("nonconforming", f"answered 200 with a body that is not an LMS 1.3 answer: {judged.problem}", 200)
                    return RemoteAnswer(200, body, answer_headers, attempt, judged.relayed)
                if status not in RETRY_STATUSES:
                    if 400 <= status < 500:
                        return RemoteAnswer(status, body, answer_headers, attempt)
                    raise _Failed("bad_status", f"answered {status}: expected 200 or a 4xx", status)
                last = RemoteAnswer(status, body, answer_headers, attempt)
                failed = _Failed("timeout" if status == 504 else "bad_status", f"answered {status}", status)
            delay = settings.backoff.delay(attempt, self.rng)
            if attempt >= profile.attempts or self.clock() + delay + MIN_ATTEMPT_SECONDS >= deadline:
                if last is not None and last.status == 408:
                    return last  # still 408 at the end: passed on like any other 4xx
                failed.detail += f" after {attempt} attempt{'s' if attempt > 1 else ''}"
                raise failed
            await asyncio.sleep(delay)

    async def _one(
        self,
        session: aiohttp.ClientSession,
        target: URL,
        headers: Mapping[str, str],
        remaining: float,
        ssl_context: Any = None,
        keep: tuple[str, ...] = (),
    ) -> tuple[int, bytes, dict[str, str]]:
        tls = {"ssl": ssl_context} if ssl_context is not None else {}
        try:
            async with asyncio.timeout(remaining):
                async with session.get(target, headers=headers, allow_redirects=False, **tls) as response:
                    body = await self._read(response)
                    return response.status, body, passed_headers(response.headers, keep)
        except TimeoutError:
            raise
        except (aiohttp.ClientError, OSError, ValueError) as error:
            # Words only: the raw error names addresses, ports and errno (a port scanner's map).
            log.info("Forwarding to %s failed: %r", target.host, error)
            if refusal_of(error) is not None:
                raise _Failed("refused", "is not called: its address is not a public internet address (outbound policy)") from None
            raise _Failed("unreachable", f"is unreachable: {connect_failure(error)}") from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_body_bytes
        if response.content_length is not None and response.content_length > limit:
            raise _Failed("bad_response", f"announced a body of {response.content_length} bytes: expected at most {limit}", response.status)
        chunks = []
        total = 0
        async for chunk in response.content.iter_any():
            total += len(chunk)
            if total > limit:
                raise _Failed("bad_response", f"sent a body over {limit} bytes", response.status)
            chunks.append(chunk)
        return b"".join(chunks)

    def _finish(self, endpoint: str, operation: str, outcome: str, started: float) -> None:
        REMOTE_OUTCOMES.labels(endpoint, operation, outcome).inc()
        REMOTE_SECONDS.labels(endpoint, operation).observe(self.clock() - started)
        if outcome not in ("ok", "client_error"):
            log.warning(
                "Forwarding to %s failed: %s", endpoint, outcome,
                extra={"endpoint": endpoint, "operation": operation, "outcome": outcome},
            )

    def _error(self, endpoint: str, failure: _Failed, timeout: float) -> VerinetError:
        if failure.outcome == "timeout":
            return UpstreamTimeout(
                f"Remote network {endpoint} did not answer in time (per-hop deadline "
                f"{timeout:.2f} s): {failure.detail}.",
                code="upstream.timeout",
            )
        code = {
            "refused": "upstream.not_public",
            "unreachable": "upstream.unreachable",
            "bad_status": "upstream.status",
            "bad_response": "upstream.bad_response",
            "nonconforming": "upstream.nonconforming",
        }[failure.outcome]
        return BadUpstream(f"Remote network {endpoint} {failure.detail}.", code=code)

    async def probe(
        self, entry: DirectoryEntry, req_gln: str, timeout: float, profile: RemoteProfile | None = None
    ) -> ProbeResult:
        """One checkConnectivity request, no retries and no breaker: for operators. When the
        credential is accepted, one verification of a serial nobody has (``probe_lms``) shows
        whether the network answers in LMS 1.3 form."""
        profile = profile or self.profile_of(entry)
        result = await self._probe_connectivity(entry, req_gln, timeout, profile)
        if result.reachable and result.outcome != "refused":
            deviations = await self._probe_lms(entry, req_gln, timeout, profile)
            result = ProbeResult(result.reachable, result.status, result.seconds, result.outcome, result.detail, deviations)
        return result

    async def _probe_lms(
        self, entry: DirectoryEntry, req_gln: str, timeout: float, profile: RemoteProfile
    ) -> tuple[str, ...] | None:
        corr_uuid = f"verinet-probe-{self.rng.getrandbits(64):016x}"
        query = {"exp": "991231", "linkType": "verificationService", "context": "dscsaSaleableReturn", "corrUUID": corr_uuid}
        if req_gln:
            query["reqGLN"] = req_gln
        target = URL(profile.base_url + verify_path(entry.sample_gtin(), "VERINETPROBE", "VERINETPROBE") + "?" + lms_query(query), encoded=True)
        deadline = self.clock() + timeout
        REMOTE_REQUESTS.labels(profile.base_url, "probe").inc()
        try:
            headers = await self.profile_headers(profile, deadline)
            status, body, _ = await self._one(
                self.session_for(entry), target, headers, max(deadline - self.clock(), 0.001), self.auth.ssl_context(profile)
            )
        except (TimeoutError, _Failed, VerinetError):
            return None
        if status != 200:
            return None
        return tuple(d.message for d in lms_deviations(body, corr_uuid, entry.responder_gln))

    async def _probe_connectivity(
        self, entry: DirectoryEntry, req_gln: str, timeout: float, profile: RemoteProfile
    ) -> ProbeResult:
        params = {"gtin": entry.sample_gtin()}
        if req_gln:
            params["reqGLN"] = req_gln
        target = URL(profile.base_url + "/checkConnectivity?" + lms_query(params), encoded=True)
        started = self.clock()
        REMOTE_REQUESTS.labels(profile.base_url, "probe").inc()
        try:
            headers = await self.profile_headers(profile, started + timeout)
            status, body, _ = await self._one(
                self.session_for(entry), target, headers, max(started + timeout - self.clock(), 0.001), self.auth.ssl_context(profile)
            )
        except TimeoutError:
            return ProbeResult(False, 0, self.clock() - started, "timeout", f"no answer within {timeout:.2f} s")
        except _Failed as failure:
            return ProbeResult(False, 0, self.clock() - started, "unreachable", failure.detail)
        except VerinetError as error:  # the OAuth2 token could not be had
            refused = error.code == "upstream.credential_refused"
            return ProbeResult(refused, 0, self.clock() - started, "refused" if refused else "unreachable", error.message)
        seconds = self.clock() - started
        if status == 200:
            return ProbeResult(True, status, seconds, "ok", _responder_of(body))
        text = body[:200].decode(errors="replace").strip()
        if status in (401, 403):
            return ProbeResult(True, status, seconds, "refused", f"answered {status}, the credential was refused: {text}")
        if 400 <= status < 500:
            # It answered: the connection and the credential work, the sample GTIN is unknown there.
            return ProbeResult(True, status, seconds, "reachable", f"answered {status} for the sample GTIN: {text}")
        return ProbeResult(True, status, seconds, "error", f"answered {status}: {text}")


def _responder_of(body: bytes) -> str:
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "answered 200"
    if isinstance(doc, dict) and isinstance(doc.get("responderGLN"), str):
        return f"responderGLN {doc['responderGLN']}"
    return "answered 200"
