"""Helpers for the coalescing tests: concurrent bursts of LMS questions over HTTP, answers
compared without what legitimately differs between two askings (timestamp, digest, signature),
and the gateway's batch-size histogram."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

#: Headers whose values differ between two answers to the same question (they cover the
#: timestamp); that they are present is compared, not their values.
VARYING_HEADERS = ("Content-Digest", "Signature-Input", "Signature")
COMPARED_HEADERS = ("Content-Type", "Cache-Control", "Retry-After", "Verinet-Responder-Network", "Verinet-Responder-GLN")


@dataclass(frozen=True)
class Question:
    """One LMS question: who asks (bearer token) and the path with its query."""

    token: str
    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def answer_key(status: int, headers: Any, body: bytes) -> tuple[Any, ...]:
    """What two answers to the same question must share: status, the compared headers,
    which varying headers are present, and the body (JSON without its timestamp)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        content: Any = body.decode(errors="replace")
    else:
        if isinstance(parsed, dict):
            parsed.pop("verificationTimestamp", None)
        content = json.dumps(parsed, sort_keys=True)
    return (
        status,
        tuple((name, headers.get(name)) for name in COMPARED_HEADERS),
        tuple(name for name in VARYING_HEADERS if name in headers),
        content,
    )


async def _ask_all(base_url: str, questions: list[Question], concurrency: int) -> list[tuple[Any, ...]]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    answers: list[tuple[Any, ...] | None] = [None] * len(questions)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(len(questions)):
        queue.put_nowait(n)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                q = questions[n]
                headers = {"Authorization": f"Bearer {q.token}", **q.headers}
                async with session.get(q.path, params=q.params, headers=headers) as response:
                    answers[n] = answer_key(response.status, response.headers, await response.read())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [a for a in answers if a is not None]


def ask_concurrently(base_url: str, questions: list[Question], concurrency: int = 48) -> list[tuple[Any, ...]]:
    """Asks every question, ``concurrency`` at a time; answers in question order."""
    return asyncio.run(_ask_all(base_url, questions, concurrency))


def ask_one_by_one(base_url: str, questions: list[Question]) -> list[tuple[Any, ...]]:
    """Asks every question alone, one after the other (nothing to coalesce with)."""
    return [ask_concurrently(base_url, [q], 1)[0] for q in questions]


_SAMPLE = re.compile(r'^verinet_coalesced_batch_size_(count|bucket)\{(?P<labels>[^}]*)\} (?P<value>\S+)$')


def batch_sizes(base_url: str, call: str = "VerifyLmsBatch") -> tuple[int, int]:
    """(batches sent, batches sent alone) so far, from the gateway's /metrics."""

    async def fetch() -> str:
        async with aiohttp.ClientSession() as session, session.get(base_url + "/metrics") as response:
            return await response.text()

    count = alone = 0
    for line in asyncio.run(fetch()).splitlines():
        match = _SAMPLE.match(line)
        if not match or f'call="{call}"' not in match["labels"]:
            continue
        if line.startswith("verinet_coalesced_batch_size_count"):
            count = int(float(match["value"]))
        elif 'le="1.0"' in match["labels"]:
            alone = int(float(match["value"]))
    return count, alone
