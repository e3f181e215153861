"""The hosted repository against a private Redis and a real Redis Cluster: bulk commissioning
in script calls per GTIN and chunk answers each pack like one-by-one commissioning, and a
batch of events from one bulk operation is stored exactly as the same events sent one by one."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verinet.errors import InvalidInput, VerinetError
from verinet.network import with_check_digit
from verinet.packs import PackState
from verinet.recall_status import pack_store
from verinet.recall_status.pack_keys import (
    HISTORY_LIMIT,
    bucket_key,
    history_key,
    location_key,
    sightings_key,
)
from verinet.recall_status.pack_store import (
    COMMISSION_CHUNK,
    SIGHTINGS_PER_WRITE,
    YIELD_EVERY_EVENTS,
    PackRepository,
)
from verinet.recall_status.pack_values import (
    RECORD_CODES,
    CommissionOutcome,
    EventLines,
    NewPack,
    PackChange,
    PackEventBatchData,
    PackEventData,
    PackValue,
)
from verinet.store import connect

AT = dt.datetime(2026, 11, 25, 10, 30, 15, 250_000, tzinfo=dt.UTC).timestamp()
GTINS = (with_check_digit("0061414112345"), with_check_digit("0061414154321"))
GLN = with_check_digit("001234500002")


def run(redis_url: str, scenario: Callable[[PackRepository], Awaitable[None]]) -> None:
    async def main() -> None:
        client = connect(redis_url)
        try:
            await scenario(PackRepository(client))
        finally:
            await client.aclose()

    asyncio.run(main())


async def stored(repository: PackRepository, gtin: str, serial: str) -> tuple[bytes | None, bytes | None, list[bytes]]:
    """A pack's last custody event, its attested sightings and its history."""
    location = await repository.redis.hget(location_key(gtin, serial), serial)
    sightings = await repository.redis.hget(sightings_key(gtin, serial), serial)
    return location, sightings, await repository.redis.lrange(history_key(gtin, serial), 0, -1)


def columns(prefix: str, count: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """Packs of two GTINs, interleaved, with a few different details (codes) and every
    record code (failed check, bare and attested sighting, custody event)."""
    gtins = [GTINS[n % 2] for n in range(count)]
    serials = [f"{prefix}{n:05d}" for n in range(count)]
    details = [("OK", "NMVS_NC_PCK_30", 'with "quotes" \\ and \u00e9')[n % 3] for n in range(count)]
    records = ["ASPL"[n % 4] for n in range(count)]
    return gtins, serials, details, records


def test_a_batch_of_events_is_stored_like_the_same_events_one_by_one(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        count = 1_203  # more than two script chunks per GTIN
        gtins, serials, details, records = columns("ONE", count)
        singles = [
            PackEventData(g, s, "verify", "pharmacy", GLN, AT, d, r)
            for g, s, d, r in zip(gtins, serials, details, records, strict=True)
        ]
        assert await repository.record_events(singles) == count
        batch_serials = [s.replace("ONE", "BAT") for s in serials]
        batch = PackEventBatchData("verify", "pharmacy", GLN, AT, gtins, batch_serials, details, records)
        assert await repository.record_event_batch(batch) == count
        for g, one, many in zip(gtins, serials, batch_serials, strict=True):
            assert await stored(repository, g, many) == await stored(repository, g, one)
        place = f"{AT:.3f}|verify|pharmacy|{GLN}".encode()
        by_code = {records[n]: await stored(repository, gtins[n], batch_serials[n]) for n in range(4)}
        assert [(location, sightings, len(history)) for location, sightings, history in by_code.values()] == [
            (None, None, 1),  # A: a failed check is history only
            (None, None, 1),  # S: so is a bare sighting
            (None, place, 1),  # P: an attested sighting
            (place, None, 1),  # L: a custody event
        ]
        assert b'"attempt":true' in by_code["A"][2][0] and b'"possession_attested":true' in by_code["P"][2][0]

    run(redis_url, scenario)


def test_a_large_batch_of_sightings_is_formatted_in_slices_that_let_other_work_run_between_them(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        count = 8_000
        gtins, serials, details, _ = columns("SLC", count)
        events = [PackEventData(g, s, "verification", "pharmacy", GLN, AT, d, "S") for g, s, d in zip(gtins, serials, details, strict=True)]
        # The last event is refused once all before it are formatted, so the batch never
        # reaches Redis: every turn the loop gets comes from the slices, none from waiting on I/O.
        events[-1] = PackEventData(gtins[-1], "BAD\x1e", "verification", "pharmacy", GLN, AT, "OK", "S")
        turns = 0

        async def other_work() -> None:
            nonlocal turns
            while not recording.done():
                turns += 1
                await asyncio.sleep(0)

        recording = asyncio.ensure_future(repository.record_events(events))
        await asyncio.gather(recording, other_work(), return_exceptions=True)
        assert isinstance(recording.exception(), InvalidInput)
        # a turn every slice of the events before the refused one's chunk; formatted in one
        # go, the batch would give none
        assert turns >= (count - SIGHTINGS_PER_WRITE) // YIELD_EVERY_EVENTS
        # and all were formatted before the first write: none of the good ones was written
        assert await repository.redis.dbsize() == 0

    run(redis_url, scenario)


def sightings(prefix: str, count: int) -> list[PackEventData]:
    gtins, serials, details, _ = columns(prefix, count)
    return [PackEventData(g, s, "verification", "pharmacy", GLN, AT, d, "S") for g, s, d in zip(gtins, serials, details, strict=True)]


async def written(repository: PackRepository, events: list[PackEventData]) -> int:
    """How many of ``events`` have reached their pack's history."""
    pipe = repository.redis.pipeline(transaction=False)
    for e in events:
        pipe.exists(history_key(e.gtin, e.serial))
    return sum(await pipe.execute())


def test_while_status_reads_flow_sightings_are_written_a_piece_at_a_time_each_after_a_read_ends(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the end of a status read lets a piece go (no piece gives up waiting during the test).
    monkeypatch.setattr(pack_store, "SIGHTINGS_GAP_WAIT_SECONDS", 60.0)

    async def scenario(repository: PackRepository) -> None:
        events = sightings("GAP", 2 * SIGHTINGS_PER_WRITE + 1)
        await repository.statuses([(GTINS[0], "READ1")])  # status reads are flowing
        recording = asyncio.ensure_future(repository.record_events(events))
        for pieces in range(3):
            await asyncio.sleep(0.2)  # ample time to write a piece, were it sent
            assert await written(repository, events) == pieces * SIGHTINGS_PER_WRITE
            assert not recording.done()
            await repository.statuses([(GTINS[1], "READ2")])
            expected = min(len(events), (pieces + 1) * SIGHTINGS_PER_WRITE)
            for _ in range(500):
                if await written(repository, events) == expected:
                    break
                await asyncio.sleep(0.01)
            assert await written(repository, events) == expected
        assert await asyncio.wait_for(recording, 5) == len(events)

    run(redis_url, scenario)


def test_with_no_status_reads_flowing_sightings_are_written_without_waiting_for_one(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_store, "SIGHTINGS_GAP_WAIT_SECONDS", 60.0)

    async def scenario(repository: PackRepository) -> None:
        events = sightings("IDLE", 3 * SIGHTINGS_PER_WRITE)
        assert await asyncio.wait_for(repository.record_events(events), 5) == len(events)
        assert await written(repository, events) == len(events)

    run(redis_url, scenario)


def test_sightings_wait_for_a_status_read_no_longer_than_the_gap_wait(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pack_store, "SIGHTINGS_GAP_WAIT_SECONDS", 0.05)

    async def scenario(repository: PackRepository) -> None:
        events = sightings("LATE", 2 * SIGHTINGS_PER_WRITE)
        await repository.statuses([(GTINS[0], "READ1")])  # the last read of the flow
        started = time.monotonic()
        assert await asyncio.wait_for(repository.record_events(events), 5) == len(events)
        assert time.monotonic() - started >= 0.05  # the first write waited, in vain, for a read
        assert await written(repository, events) == len(events)

    run(redis_url, scenario)


@given(
    texts=st.lists(st.text(), min_size=5, max_size=5),
    record=st.sampled_from(sorted(RECORD_CODES)),
    times=st.lists(st.floats(min_value=0, max_value=4e9), min_size=1, max_size=4),
)
def test_a_history_entry_made_from_a_template_is_the_json_of_the_event(texts: list[str], record: str, times: list[float]) -> None:
    event, partner, gln, detail, outcome = texts
    entries = EventLines()
    for at in times:  # the second and later events of a kind come from its template
        data = PackEventData(GTINS[0], "S1", event, partner, gln, at, detail, record, outcome)
        assert entries.entry(data) == orjson.dumps(data.as_dict())


@pytest.mark.parametrize("field", ["serial", "gln"])
@pytest.mark.parametrize("separator", ["\x1e", "\x1f"])
def test_an_event_whose_serial_or_place_holds_a_separator_is_refused_and_writes_nothing(redis_url: str, field: str, separator: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        fine = PackEventData(GTINS[0], "FINE1", "verify", "p", GLN, AT, "OK", "L")
        odd = PackEventData(GTINS[0], "BAD" + separator if field == "serial" else "BAD1", "verify", "p",
                            GLN if field == "serial" else GLN + separator, AT, "OK", "L")  # fmt: skip
        with pytest.raises(InvalidInput, match="without the control characters US and RS"):
            await repository.record_events([fine, odd])
        assert await repository.redis.dbsize() == 0

    run(redis_url, scenario)


def test_a_batch_keeps_only_the_newest_history_entries_like_single_events(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        gtin, serial = GTINS[0], "BUSY1"
        for n in range(HISTORY_LIMIT + 5):
            at = AT + n
            if n % 2:
                await repository.record_events([PackEventData(gtin, serial, "verify", "p", GLN, at, f"D{n}", "L")])
            else:
                await repository.record_event_batch(PackEventBatchData("verify", "p", GLN, at, [gtin], [serial], [f"D{n}"], ["L"]))
        location, _, history = await stored(repository, gtin, serial)
        assert len(history) == HISTORY_LIMIT
        assert b'"D5"' in history[0] and b'"D204"' in history[-1]
        assert location == f"{AT + HISTORY_LIMIT + 4:.3f}|verify|p|{GLN}".encode()

    run(redis_url, scenario)


def test_a_batch_whose_columns_differ_in_length_is_refused_and_writes_nothing(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        batch = PackEventBatchData("verify", "p", GLN, AT, [GTINS[0], GTINS[0]], ["S1", "S2"], ["OK"])
        with pytest.raises(InvalidInput, match=r"expected as many serials, details and record codes as GTINs \(2\), got 2, 1 and 2"):
            await repository.record_event_batch(batch)
        assert await stored(repository, GTINS[0], "S1") == (None, None, [])

    run(redis_url, scenario)


def test_bulk_commissioning_stores_new_packs_and_tells_repeats_from_conflicts_in_order(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        count = COMMISSION_CHUNK + 10  # two script calls for each GTIN
        packs = [NewPack(GTINS[n % 2], f"C{n:06d}", "L1", "301231") for n in range(2 * count)]
        assert await repository.commission(packs) == [CommissionOutcome("stored")] * len(packs)
        again = [
            packs[0],  # the same pack: unchanged
            NewPack(GTINS[1], packs[1].serial, "L2", "301231"),  # another lot: a conflict
            NewPack(GTINS[0], "NEW1", "L1", "301231"),
            NewPack(GTINS[0], "NEW1", "L9", "301231"),  # twice in one call: the first one wins
            NewPack(GTINS[0], "NEW1", "L1", "301231"),
        ]
        assert await repository.commission(again) == [
            CommissionOutcome("unchanged"),
            CommissionOutcome("conflict", "L1", "301231"),
            CommissionOutcome("stored"),
            CommissionOutcome("conflict", "L1", "301231"),
            CommissionOutcome("unchanged"),
        ]
        statuses = await repository.statuses([(p.gtin, p.serial) for p in packs[-3:]])
        assert [(s.record.lot, s.record.expiry) for s in statuses if s] == [("L1", "301231")] * 3

    run(redis_url, scenario)


@pytest.mark.parametrize(
    "value",
    [
        PackValue(PackState.ACTIVE, "301231", "L1"),
        PackValue(PackState.SUPPLIED, "3012", "LOT-20-CHARACTERS-XY"),
        PackValue(PackState.LOCKED, "301200", "L1", "line-7", 29_000_000),
        PackValue(PackState.ACTIVE, "301231", "L1", "", 1),
    ],
)
def test_a_state_change_rewrites_only_the_first_character_of_a_stored_pack(value: PackValue) -> None:
    # PackRepository.apply relies on it instead of decoding and encoding each value.
    for state in PackState:
        assert state.stored.encode() + value.encode()[1:] == value.with_state(state).encode()


def test_a_pack_is_stored_as_a_small_integer_and_its_lot_and_expiry_once_per_gtin(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        lots = ("L1", "LOT-20-CHARACTERS-XY", "L3")
        packs = [
            NewPack(GTINS[0], f"S{n:05d}", lots[n % 3], "301231", "line-7", AT) for n in range(300)
        ]
        assert await repository.commission(packs) == [CommissionOutcome("stored")] * len(packs)
        redis = repository.redis
        raw = [await redis.hget(bucket_key(p.gtin, p.serial), p.serial) for p in packs]
        assert all(value is not None and value.isdigit() and len(value) <= 3 for value in raw)
        assert await redis.hlen(f"ctxid:{{{GTINS[0]}}}") == len(lots)
        records = await repository.statuses([(p.gtin, p.serial) for p in packs])
        assert [(r.record.lot, r.record.expiry) for r in records if r] == [(p.lot, p.expiry) for p in packs]
        assert [PackValue.decode(r.revision).line for r in records if r] == ["line-7"] * len(packs)
        assert {PackValue.decode(r.revision).commissioned_minute for r in records if r} == {int(AT // 60)}

    run(redis_url, scenario)


def test_every_state_survives_the_compact_form_and_a_change_keeps_the_context(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        gtin = GTINS[1]
        packs = [NewPack(gtin, f"ST{n:03d}", "L7", "290630") for n in range(len(PackState))]
        await repository.commission(packs)
        before = await repository.statuses([(p.gtin, p.serial) for p in packs])
        changes = [
            PackChange(gtin, p.serial, read.revision, state, None, b'{"event":"test"}')
            for p, read, state in zip(packs, before, PackState, strict=True)
            if read is not None
        ]
        assert await repository.apply(changes) == [True] * len(changes)
        after = await repository.statuses([(p.gtin, p.serial) for p in packs])
        assert [r.record.pack_state for r in after if r] == list(PackState)
        assert {(r.record.lot, r.record.expiry) for r in after if r} == {("L7", "290630")}
        stale = changes[1]  # expects the pack active, as it was before it was supplied
        assert stale.new_state is PackState.SUPPLIED
        assert await repository.apply([stale]) == [False]

    run(redis_url, scenario)


def test_a_pack_stored_before_interning_is_read_as_it_was_and_compacted_at_its_next_write(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        gtin, serial = GTINS[0], "LEGACY1"
        legacy = PackValue(PackState.ACTIVE, "301231", "L1", "line-2", 29_000_000).encode()
        await repository.redis.hset(bucket_key(gtin, serial), serial, legacy)
        read = (await repository.statuses([(gtin, serial)]))[0]
        assert read is not None and read.revision == legacy
        assert (read.record.lot, read.record.pack_state) == ("L1", PackState.ACTIVE)
        repeat = NewPack(gtin, serial, "L1", "301231", "line-2", 29_000_000 * 60)
        assert await repository.commission([repeat]) == [CommissionOutcome("unchanged")]
        change = PackChange(gtin, serial, read.revision, PackState.SUPPLIED, None, b'{"event":"test"}')
        assert await repository.apply([change]) == [True]
        assert (await repository.redis.hget(bucket_key(gtin, serial), serial) or b"").isdigit()
        again = (await repository.statuses([(gtin, serial)]))[0]
        assert again is not None
        assert PackValue.decode(again.revision) == PackValue(PackState.SUPPLIED, "301231", "L1", "line-2", 29_000_000)

    run(redis_url, scenario)


@pytest.mark.parametrize("serial", ["", "TWO\nLINES"])
def test_a_serial_the_scripts_could_not_read_back_is_refused_before_anything_is_sent(redis_url: str, serial: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        with pytest.raises(InvalidInput, match="without line breaks"):
            await repository.commission([NewPack(GTINS[0], "FINE1", "L1", "301231"), NewPack(GTINS[0], serial, "L1", "301231")])
        with pytest.raises(InvalidInput, match="without line breaks"):
            await repository.statuses([(GTINS[0], "FINE1"), (GTINS[0], serial)])
        batch = PackEventBatchData("verify", "pharmacy", GLN, AT, [GTINS[0]] * 2, ["FINE1", serial], ["OK", "OK"])
        with pytest.raises(InvalidInput, match="without line breaks"):
            await repository.record_event_batch(batch)
        with pytest.raises(InvalidInput, match="without line breaks"):
            await repository.record_events([PackEventData(GTINS[0], serial, "verify", "pharmacy", GLN, AT)])
        assert await repository.redis.dbsize() == 0

    run(redis_url, scenario)


def test_a_stored_value_holding_a_line_break_fails_the_read_instead_of_shifting_other_packs(redis_url: str) -> None:
    # The status script answers in lines (one bulk reply, written by Redis in one go); a value
    # no write path can store, but a hand edit could, must not move the fields of the packs after it.
    async def scenario(repository: PackRepository) -> None:
        gtin = GTINS[0]
        packs = [NewPack(gtin, f"BRK{n}", "L1", "301231") for n in range(3)]
        await repository.commission(packs)
        await repository.redis.hset(bucket_key(gtin, "BRK1"), "BRK1", b"A301231L1\nX")
        with pytest.raises(VerinetError, match=rf"Failed to read packs of GTIN {gtin}: expected 12 lines from the status script, got 13"):
            await repository.statuses([(gtin, p.serial) for p in packs])
        await repository.redis.hdel(bucket_key(gtin, "BRK1"), "BRK1")
        records = await repository.statuses([(gtin, p.serial) for p in packs])
        assert [r.record.serial if r else None for r in records] == ["BRK0", None, "BRK2"]

    run(redis_url, scenario)
