"""Redis memory per commissioned pack (``INFO memory`` used_memory), over 1,000,000 packs.

    python bench/memory.py                  # 1,000,000 packs over 10 GTINs, then 1,000,000 in one GTIN
    python bench/memory.py --packs 200000 --layouts 10x4 --no-write

Target (issue 8): <= 48 bytes per commissioned pack. Serials are 12 to 20 uppercase
alphanumerics (mean 16), a few lots per GTIN, each with its own expiry. Each layout is
measured as the used_memory delta of commissioning it through the API into the same
network; a final step verifies 100,000 of the packs (bulk FMD verify) and reports what the
last-known-location and history records cost per located pack.
"""

from __future__ import annotations

import sys

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import orjson
from data import add_pack_options, commission, make_lots, make_packs
from harness import BenchNetwork, check_logs, network_bench_parser, running_network
from report import Report, verdict

TARGET = 48


def used_memory(redis) -> dict[str, int]:
    info = redis.info("memory")
    return {k: int(info[k]) for k in ("used_memory", "used_memory_rss", "used_memory_dataset", "mem_fragmentation_ratio") if k in info} | {
        "keys": int(redis.dbsize()),
        "aof": int(redis.info("persistence").get("aof_current_size", 0)),
    }


def bucket_sample(redis, gtin: str) -> str:
    keys = [k for k in redis.scan_iter(match=f"pk:{{{gtin}}}:*", count=1000)][:200]
    if not keys:
        return "no pk: keys found (layout changed?)"
    lengths = [redis.hlen(k) for k in keys]
    usage = [redis.memory_usage(k) or 0 for k in keys]
    encodings = {redis.object("encoding", k) for k in keys[:50]}
    values = redis.hgetall(keys[0])
    serial, value = next(iter(values.items()))
    return (f"{len(keys)} sampled pk: buckets of GTIN {gtin}: mean {sum(lengths) / len(lengths):.1f} packs, "
            f"MEMORY USAGE mean {sum(usage) / len(usage):.0f} B = {sum(usage) / max(1, sum(lengths)):.1f} B/pack, "
            f"encoding {sorted(e.decode() if isinstance(e, bytes) else str(e) for e in encodings)}; "
            f"a stored field: {serial.decode()!r} -> {value!r} ({len(serial)} + {len(value)} B)")


def main(argv: list[str] | None = None) -> int:
    parser = network_bench_parser(__doc__)
    add_pack_options(parser, packs=1_000_000, packs_help="packs per layout")
    parser.add_argument("--layouts", default="10x4,1x4", help="GTINSxLOTS per GTIN, comma-separated, one measurement each")
    parser.add_argument("--located", type=int, default=100_000, help="packs then verified, to price location records; 0 to skip")
    args = parser.parse_args(argv)
    report = Report("Redis memory per commissioned pack")
    report.add(f"- data: {args.packs:,} packs per layout, serials 12-20 uppercase alphanumerics (mean 16 characters), "
               "lots of 11 characters, one expiry per lot; used_memory delta of commissioning through the API")
    rows = []
    verdicts = []
    with running_network(keep=args.keep, placement=args.placement) as bench:
        redis = bench.redis()
        manufacturer = bench.add_partner(["manufacturer"])
        report.add(f"- redis {redis.info('server')['redis_version']}, config: "
                   + ", ".join(f"{k} {v}" for k, v in redis.config_get("hash-max-*").items()))
        first_packs = None
        for n, layout in enumerate(args.layouts.split(",")):
            gtin_count, lots_per_gtin = (int(x) for x in layout.split("x"))
            gtins = bench.add_products(manufacturer, gtin_count) if n == 0 else _more_products(bench, manufacturer, gtin_count, n)
            packs = make_packs(make_lots(gtins, lots_per_gtin, seed=31 + n), args.packs, seed=70 + n)
            first_packs = first_packs or packs
            payload = sum(len(s) for s in packs.serials) / len(packs)
            value = sum(len(packs.lots[packs.lot_index[i]].lot) + 7 for i in range(0, len(packs), 97)) / len(range(0, len(packs), 97))
            before = used_memory(redis)
            result = commission(bench, manufacturer["token"], packs, progress=False)
            after = used_memory(redis)
            per_pack = (after["used_memory"] - before["used_memory"]) / max(1, result.stored)
            verdicts.append(per_pack)
            rows.append([
                f"{gtin_count} GTIN(s) x {lots_per_gtin} lots", f"{result.stored:,}", f"**{per_pack:.1f}**",
                f"{(after['used_memory_rss'] - before['used_memory_rss']) / max(1, result.stored):.1f}",
                f"{after['keys'] - before['keys']:,}", f"{payload:.1f} + {value:.1f}",
                f"{(after['aof'] - before['aof']) / max(1, result.stored):.0f}", f"{result.rate:,.0f}",
            ])
            report.add(f"- layout {layout}: " + bucket_sample(redis, gtins[0]))
        report.add("", "Bytes per pack: used_memory and RSS deltas; 'payload' is the mean serial length + the mean stored value "
                   "(state, expiry, lot) the repository takes; Redis stores a pack's value as a 2 to 4 byte integer (state and interned context); AOF is the append-only file growth (appendfsync always).")
        report.table(["layout", "packs stored", "used_memory B/pack", "RSS B/pack", "new keys", "payload B", "AOF B/pack", "commission packs/s"], rows)
        worst = max(verdicts)
        best = min(verdicts)
        report.add(f"- **Redis memory: {verdicts[0]:.1f} B per commissioned pack** (layout {args.layouts.split(',')[0]}; "
                   f"range {best:.1f} to {worst:.1f} over the layouts) (target <= {TARGET} B: {verdict(verdicts[0], TARGET, False)})")

        if args.located and first_packs is not None:
            wholesaler = bench.add_partner(["wholesaler"])
            count = min(args.located, len(first_packs))
            before = used_memory(redis)
            for start in range(0, count, 1000):
                body = orjson.dumps({"packs": [first_packs.ident(i) for i in range(start, min(start + 1000, count))], "possession_attested": True})
                bench.must("POST", "/v1/packs/verify", wholesaler["token"], raw=body)
            after = used_memory(redis)
            report.add(f"- after verifying {count:,} of the packs once (bulk FMD verify attesting possession): +{(after['used_memory'] - before['used_memory']) / count:.0f} B "
                       f"per located pack, +{after['keys'] - before['keys']:,} keys (an attested sighting hash field + a history list per pack), "
                       f"AOF +{(after['aof'] - before['aof']) / count:.0f} B per pack")
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


def _more_products(bench: BenchNetwork, manufacturer: dict, count: int, batch: int) -> list[str]:
    from verinet.network import with_check_digit

    prefix = manufacturer["company_prefixes"][0]
    gtins = []
    for item in range(1, count + 1):
        gtin = with_check_digit("0" + prefix + str(batch * 1000 + item).rjust(12 - len(prefix), "0"))
        bench.must("PUT", f"/v1/products/{gtin}", manufacturer["token"], {"name": f"Bench product {batch}-{item}"})
        gtins.append(gtin)
    return gtins


if __name__ == "__main__":
    sys.exit(main())
