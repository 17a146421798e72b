"""One identity, one creation, whatever the concurrency: real server processes sharing one database."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from stitching.store import Store
from stitching.store import repository as repo
from tests.service.conftest import AUTH, PostgresServer, ServiceProcess, run_async

CALLS = 200


async def _burst(urls: list[str], bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CALLS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=AUTH) as client:
        return await asyncio.gather(*(client.post(f"{urls[i % len(urls)]}/v1/stitch", json=body)
                                      for i, body in enumerate(bodies)))


def _profiles_and_links(url: str) -> tuple[int, int, int]:
    store = Store(url, 2)
    try:
        with store.unit_of_work(write=False) as conn:
            profiles = conn.one("SELECT count(*) FROM profiles")
            links = conn.one("SELECT count(*) FROM links")
            creates = conn.one("SELECT count(*) FROM audit WHERE action = 'create'")
    finally:
        store.close()
    assert profiles and links and creates
    return int(profiles[0]), int(links[0]), int(creates[0])


SPELLINGS = ("(202) 555-2030", "2025552030", "+12025552030", "202.555.2030")
IDENTITIES = {
    # A new SMS sender: every message of a burst carries the same number, spelled as carriers and people do.
    "sms": lambda i: {"channel": "sms", "phone": SPELLINGS[i % 4], "phoneVerified": True},
    # A new authenticated web customer: the token's subject and the browser's web session.
    "web": lambda i: {"channel": "web", "oidcIssuer": "https://idp.example.com", "oidcSubject": "new-user",
                      "oidcVerified": True, "webSessionId": "session-new-user"},
}


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("identity", sorted(IDENTITIES))
def test_200_concurrent_stitches_of_one_new_identity_make_exactly_one_profile(
    database_url: str, services: Callable[..., ServiceProcess], processes: int, identity: str
) -> None:
    started = [services(database_url) for _ in range(processes)]
    bodies = [{"conversationId": f"conv-{i % 7}", **IDENTITIES[identity](i)} for i in range(CALLS)]
    responses = run_async(_burst([s.url for s in started], bodies))

    # Waits are bounded (STITCHING_DB_BUSY_TIMEOUT): on a loaded machine the tail of 200 callers queued on one
    # identity may get a 503 with Retry-After instead of a late answer. Never anything else; retried, they succeed.
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 503} and statuses[200] >= 1, statuses
    assert all(r.headers["Retry-After"] == "1" for r in responses if r.status_code == 503)
    with httpx.Client(headers=AUTH, timeout=30) as client:
        for i, response in enumerate(responses):
            for _ in range(10):
                if response.status_code != 503:
                    break
                response = client.post(f"{started[i % processes].url}/v1/stitch", json=bodies[i])
            responses[i] = response
    assert Counter(r.status_code for r in responses) == {200: CALLS}
    assert len({r.json()["profileId"] for r in responses}) == 1
    assert sum(r.json()["created"] for r in responses) == 1
    assert _profiles_and_links(database_url) == (1, 2 if identity == "web" else 1, 1)


def test_concurrent_retries_with_one_idempotency_key_act_once(database_url: str, services: Callable[..., ServiceProcess]) -> None:
    first, second = services(database_url), services(database_url)

    async def retries() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, headers={**AUTH, "Idempotency-Key": "conv-9-stitch"}) as client:
            body = {"channel": "sms", "conversationId": "conv-9", "phone": "+12025552031", "phoneVerified": True}
            return await asyncio.gather(*(client.post(f"{url}/v1/stitch", json=body)
                                          for url in [first.url, second.url] * 20))

    responses = run_async(retries())
    assert {r.status_code for r in responses} <= {200, 503}  # 503: a bounded wait ran out (see above); retried
    with httpx.Client(headers={**AUTH, "Idempotency-Key": "conv-9-stitch"}, timeout=30) as client:
        body = {"channel": "sms", "conversationId": "conv-9", "phone": "+12025552031", "phoneVerified": True}
        for i, response in enumerate(responses):
            for _ in range(10):
                if response.status_code != 503:
                    break
                response = client.post(f"{first.url}/v1/stitch", json=body)
            responses[i] = response
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1  # byte-identical answers
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == len(responses) - 1
    assert _profiles_and_links(database_url) == (1, 1, 1)


def test_a_merge_committed_while_a_stitch_waits_for_the_profile_lock_is_seen_by_that_stitch(
    postgres_server: PostgresServer,
) -> None:
    """The race the server-side snapshot closes: a stitch reads the owner of its phone (profile A), then waits
    for A's row lock held by a concurrent merge that moves the phone to B; after the lock it must decide on B."""
    url = postgres_server.new_database()
    store = Store(url, 2)
    store.migrate()
    phone = ("phone", "+12025550188")
    try:
        with psycopg.connect(url, autocommit=True) as setup:
            setup.execute("INSERT INTO profiles (id, created_at) VALUES ('A', 0), ('B', 0)")
            setup.execute("INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) "
                          "VALUES (%s, %s, %s, 'A', true, 'verified_identifier', 0)", (*phone, phone[1]))
        with psycopg.connect(url) as merger:  # the concurrent merge, in its own open transaction
            merger.execute("UPDATE links SET profile_id = 'B' WHERE profile_id = 'A'")
            merger.execute("UPDATE profiles SET status = 'merged', merged_into = 'B' WHERE id = 'A'")

            def stitch_reads() -> tuple[repo.StitchSnapshot, bool]:
                with store.unit_of_work([f"id:{phone[0]}:{phone[1]}"]) as conn:
                    snapshot = repo.stitch_snapshot(conn, [phone], "conv-1", [], 0, 1)
                    with psycopg.connect(url, autocommit=True) as other:  # B must be locked until this unit ends
                        try:
                            other.execute("SELECT id FROM profiles WHERE id = 'B' FOR UPDATE NOWAIT")
                            locked = False
                        except psycopg.errors.LockNotAvailable:
                            locked = True
                    return snapshot, locked

            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(stitch_reads)
                with psycopg.connect(url, autocommit=True) as watcher:  # wait until it queues on A's row lock
                    deadline = time.monotonic() + 10
                    while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                              "AND query LIKE '%stitch_snapshot%'").fetchall()[0][0]:
                        assert time.monotonic() < deadline, "the stitch never waited for the merge's lock"
                        time.sleep(0.02)
                merger.commit()
                snapshot, new_owner_locked = pending.result(timeout=10)
        assert snapshot.owners == {phone: "B"} and new_owner_locked
        assert set(snapshot.profiles) == {"B"} and snapshot.involved == {"B"}
        assert [link.value for link in snapshot.profiles["B"].links] == [phone[1]]
    finally:
        store.close()
