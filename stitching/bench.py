"""``python -m stitching bench``: throughput and p50/p99 latency of stitch and context beside a no-op endpoint.

Each store gets its own fresh database and one real server process (``python -m stitching serve``); the
load comes from this process over loopback, so both share the machine. The no-op endpoint goes through
the same server, authentication and routing: the ratio of stitch or context to it is the service's own
cost, which is what we track (absolute figures depend on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stitching import process
from stitching.devdb import TemporaryPostgres

TOKEN = "bench-" + uuid.uuid4().hex
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrent callers (default 1,8,32)")
    parser.add_argument("--requests", type=int, default=600, help="requests per operation and concurrency (default 600)")
    parser.add_argument("--customers", type=int, default=500, help="customers seeded before measuring (default 500)")
    parser.add_argument("--postgres-url", help="admin URL of a PostgreSQL server (default: a throwaway local one)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="each operation's requests are split into this many rounds, interleaved with the other "
                             "operations', so a burst of load from elsewhere on the machine skews all alike (default 3)")
    parser.add_argument("--round-trips", action="store_true",
                        help="instead of load: count the database round trips of each kind of call (PostgreSQL)")


@dataclass(frozen=True)
class Figure:
    store: str
    operation: str
    concurrency: int
    throughput: float
    p50_ms: float
    p99_ms: float
    errors: int


def run(args: argparse.Namespace) -> int:
    if args.round_trips:
        from stitching.roundtrips import count_round_trips

        return count_round_trips(args.postgres_url)
    try:
        levels = [int(x) for x in str(args.concurrency).split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1 or args.requests < 1 or not 1 <= args.rounds <= args.requests:
        print("error: --concurrency needs whole numbers >= 1, --requests >= 1, --rounds between 1 and --requests",
              file=sys.stderr)
        return 2
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    figures: list[Figure] = []
    for store in stores:
        print(f"[{store}] starting a server and seeding {args.customers} customers...", file=sys.stderr, flush=True)
        with _database(store, args.postgres_url) as url:
            figures += _measure(store, url, levels, args.requests, args.customers, args.workers, args.rounds)
    _print(figures)
    return 1 if any(f.errors for f in figures) else 0


class _database:
    def __init__(self, store: str, postgres_url: str | None) -> None:
        self.store, self.postgres_url = store, postgres_url
        self.tmp = tempfile.TemporaryDirectory(prefix="stitching-bench-")
        self.pg: TemporaryPostgres | None = None

    def __enter__(self) -> str:
        if self.store == "sqlite":
            return f"sqlite:///{self.tmp.name}/bench.db"
        name = f"bench_{uuid.uuid4().hex[:8]}"
        if self.postgres_url:
            import psycopg

            with psycopg.connect(self.postgres_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return self.postgres_url.rsplit("/", 1)[0] + f"/{name}"
        self.pg = TemporaryPostgres().start()
        return self.pg.create_database(name)

    def __exit__(self, *exc: object) -> None:
        if self.pg is not None:
            self.pg.stop()
        self.tmp.cleanup()


def _measure(store: str, url: str, levels: list[int], requests: int, customers: int, workers: int,
             rounds: int) -> list[Figure]:
    log = Path(tempfile.mkstemp(prefix="stitching-bench-", suffix=".log")[1])
    server = process.start(url, TOKEN, log, workers=workers, env={"STITCHING_DB_POOL_SIZE": str(max(levels) + 2)})
    try:
        phones = asyncio.run(_seed(server.url, customers))
        figures = []
        for number, level in enumerate(levels):
            samples: dict[str, list[_Sample]] = {}
            for turn in range(rounds):  # noop, stitch, context, noop, stitch, context, ...
                share = requests // rounds + (1 if turn < requests % rounds else 0)
                for name, make in _operations(phones).items():
                    # Call numbers never repeat across rounds and levels: a "new sender" is new every time.
                    offset = number * requests + sum(len(x.latencies) for x in samples.get(name, []))
                    samples.setdefault(name, []).append(asyncio.run(_load(server.url, make, level, share, offset)))
            for name, parts in samples.items():
                figures.append(_figure(store, name, level, parts))
                print(f"[{store}] {name:8} c={level:<3} {figures[-1].throughput:8.0f} req/s", file=sys.stderr, flush=True)
        return figures
    finally:
        server.stop()
        log.unlink(missing_ok=True)


Call = tuple[str, str, dict[str, Any] | None, dict[str, str]]  # method, path, JSON body, extra headers


def _operations(phones: list[str]) -> dict[str, Callable[[int], Call]]:
    def noop(i: int) -> Call:
        return "POST", "/v1/noop", None, {}

    def stitch(i: int) -> Call:
        # A returning customer texting (matched) every other call, a new sender (created) otherwise; with the
        # Idempotency-Key the flows send (the conversation id and "-stitch").
        phone = phones[i % len(phones)] if i % 2 else f"+1206{2000000 + i % 7000000:07d}"
        conversation = f"b-{uuid.uuid4().hex}"
        return ("POST", "/v1/stitch", {"channel": "sms", "conversationId": conversation, "phone": phone,
                                       "phoneVerified": True}, {"Idempotency-Key": f"{conversation}-stitch"})

    def context(i: int) -> Call:
        return "GET", f"/v1/context?phone={phones[i % len(phones)].replace('+', '%2B')}", None, {}

    return {"noop": noop, "stitch": stitch, "context": context}


async def _seed(base: str, customers: int) -> list[str]:
    phones = [f"+1202{2000000 + i:07d}" for i in range(customers)]
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        async def one(i: int) -> None:
            async with sem:
                conv = f"seed-{i}"  # a customer who texted before and was served by an agent
                response = await client.post("/v1/stitch", json={
                    "channel": "sms", "conversationId": conv, "phone": phones[i], "phoneVerified": True})
                response.raise_for_status()
                await client.post("/v1/interactions", json={"conversationId": conv, "agentId": f"agent-{i % 20}"})

        await asyncio.gather(*(one(i) for i in range(customers)))
    return phones


@dataclass(frozen=True)
class _Sample:
    latencies: list[float]
    elapsed: float
    errors: int


def _figure(store: str, name: str, level: int, parts: list[_Sample]) -> Figure:
    latencies = sorted(x for part in parts for x in part.latencies)
    elapsed = sum(part.elapsed for part in parts)
    return Figure(store, name, level, len(latencies) / elapsed, statistics.median(latencies) * 1000,
                  latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, sum(p.errors for p in parts))


async def _load(base: str, make: Callable[[int], Call], level: int, requests: int, offset: int) -> _Sample:
    """``requests`` calls by ``level`` concurrent callers. Each call is built and its JSON body encoded before the
    clock starts: a data action's request is rendered by Genesys, so the client's work on it is not the
    service's cost (the no-op sends no body, and would otherwise be charged less client work than a stitch)."""
    latencies: list[float] = []
    errors = 0
    prepared = [_prepared(make(i)) for i in range(offset, offset + requests)]
    counter = iter(prepared)
    limits = httpx.Limits(max_connections=level, max_keepalive_connections=level)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60, limits=limits) as client:
        for i in range(min(level * 2, 20)):  # warm the connections (with calls the measured ones never repeat)
            method, path, content, headers = _prepared(make(5_000_000 + offset + i))
            await client.request(method, path, content=content, headers=headers)

        async def caller() -> None:
            nonlocal errors
            for method, path, content, headers in counter:
                started = time.perf_counter()
                response = await client.request(method, path, content=content, headers=headers)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(level)))
        elapsed = time.perf_counter() - started
    return _Sample(latencies, elapsed, errors)


def _prepared(call: Call) -> tuple[str, str, bytes | None, dict[str, str]]:
    method, path, body, headers = call
    if body is None:
        return method, path, None, headers
    return method, path, json.dumps(body).encode(), {**headers, "Content-Type": "application/json"}


def _print(figures: list[Figure]) -> None:
    baseline = {(f.store, f.concurrency): f for f in figures if f.operation == "noop"}
    print(f"{'store':10} {'operation':9} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s vs noop':>14} "
          f"{'p50 vs noop':>12} {'errors':>6}")
    for f in figures:
        base = baseline[(f.store, f.concurrency)]
        print(f"{f.store:10} {f.operation:9} {f.concurrency:>4} {f.throughput:>8.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} "
              f"{f.throughput / base.throughput:>14.2f} {f.p50_ms / base.p50_ms:>12.2f} {f.errors:>6}")
