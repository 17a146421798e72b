"""One identity, one creation, whatever the concurrency: real server processes sharing one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from stitching.store import Store
from tests.service.conftest import AUTH, ServiceProcess, run_async

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

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: CALLS}, statuses
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
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1  # byte-identical answers
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == len(responses) - 1
    assert _profiles_and_links(database_url) == (1, 1, 1)
