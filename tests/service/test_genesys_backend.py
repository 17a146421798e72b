"""The optional Genesys backend against the fake Genesys API: external contacts mirrored, journey read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from stitching.config import GenesysBackendSettings
from stitching.genesys_mirror import MirrorWorker
from stitching.journey import GenesysJourneyReader
from stitching.store import Store
from tests.fakes.genesys_api import CLIENT_ID, CLIENT_SECRET, FakeGenesys
from tests.service.conftest import Api, Clock, make_settings


def _backend(url: str) -> GenesysBackendSettings:
    return GenesysBackendSettings(region="us-east-1", division_id="div-1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  api_base=url)


@pytest.fixture
def genesys_client(fake_genesys: tuple[FakeGenesys, str], sleeps: list[float]) -> Iterator[GenesysApiClient]:
    _, url = fake_genesys
    client = GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, CLIENT_SECRET),
                              sleep=sleeps.append)
    yield client
    client.close()


@pytest.fixture
def worker(database_url: str, genesys_client: GenesysApiClient) -> Iterator[MirrorWorker]:
    """The mirror worker, drained by hand in the tests (the app's own worker thread is off)."""
    store = Store(database_url, 2)
    yield MirrorWorker(store, genesys_client, "div-1")
    store.close()


def _api(app_factory: Callable[..., TestClient], database_url: str, url: str, **kwargs: Any) -> Api:
    return Api(app_factory(make_settings(database_url, genesys=_backend(url)), run_mirror=False, **kwargs))


def test_profiles_are_mirrored_as_external_contacts_with_upsert_association_and_merge(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], sleeps: list[float],
    worker: MirrorWorker,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    web = api.stitch(channel="web", conversationId="w-1", oidcIssuer="https://idp.example.com", oidcSubject="gina",
                     oidcVerified=True, email="gina@example.com", emailVerified=True, lastName="Ng")
    voice = api.stitch(channel="voice", conversationId="v-1", crmId="CRM-7", crmIdVerified=True, phone="+15558889999",
                       phoneVerified=True)
    fake.fail_next(429, headers={"Retry-After": "2"})  # the org's rate limit, honoured by the client
    assert worker.drain() == 4
    assert sleeps == [2.0]
    assert fake.owner_of("Email", "gina@example.com") != fake.owner_of("Phone", "+15558889999")
    assert set(fake.associations) == {"w-1", "v-1"}
    assert fake.associations["v-1"]["mediaType"] == "PHONE"
    enrich = [c.body for c in fake.calls if c.path.endswith("/enrich")]
    assert all(body["action"] == "Upsert" and body["division"] == {"id": "div-1"} for body in enrich)

    merged = api.stitch(channel="web", conversationId="w-2", oidcIssuer="https://idp.example.com", oidcSubject="gina",
                        oidcVerified=True, crmId="CRM-7", crmIdVerified=True, phone="+15558889999", phoneVerified=True)
    assert merged["decision"] == "merged" and merged["profileId"] == web["profileId"]
    while worker.drain():
        pass
    owners = {fake.owner_of(kind, value) for kind, value in
              [("Email", "gina@example.com"), ("Phone", "+15558889999"), ("ExternalId", "CRM-7")]}
    assert len(owners) == 1 and None not in owners  # one Genesys contact for one customer
    assert any(c.path.endswith("/contacts/merge") for c in fake.calls)
    assert voice["profileId"] != web["profileId"]



def test_a_genesys_outage_is_retried_later_and_never_fails_a_stitch(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    fake.fail_next(400, times=1)  # a non-transient error: the row waits with a backoff
    api.stitch(channel="sms", conversationId="s-1", phone="+15551230000", phoneVerified=True)
    worker.drain()
    with worker.store.unit_of_work(write=False) as conn:
        pending = conn.one("SELECT count(*), max(attempts), max(last_error) FROM outbox WHERE done_at IS NULL")
    assert pending is not None and pending[0] >= 1 and pending[1] == 1
    assert CLIENT_SECRET not in str(pending[2])



def test_context_falls_back_to_the_genesys_journey_for_the_last_connected_agent(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str],
    clock: Clock, worker: MirrorWorker, genesys_client: GenesysApiClient,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url, journey_reader=GenesysJourneyReader(genesys_client))
    sms = api.stitch(channel="sms", conversationId="s-1", phone="+15551239999", phoneVerified=True)
    worker.drain()
    contact = fake.owner_of("Phone", "+15551239999")
    assert contact is not None
    def stamp(minutes_ago: int) -> str:
        return datetime.fromtimestamp((clock.now - minutes_ago * 60_000) / 1000, UTC).isoformat().replace("+00:00", "Z")

    session: dict[str, Any] = {"type": "web", "conversation": {"id": "genesys-conv"}, "authenticated": True,
                               "conversationChannels": [{"type": "Messaging"}], "lastConnectedUser": {"id": "agent-g"},
                               "lastConnectedQueue": {"id": "queue-g"}, "createdDate": stamp(50), "endedDate": stamp(40)}
    fake.journey_sessions[contact] = [session, {**session, "lastConnectedUser": {"id": "old"}, "endedDate": stamp(500)}]
    answer = api.context(phone="+15551239999", excludeConversationId="s-1")
    assert answer["advised"] is True and answer["agentId"] == "agent-g" and answer["minutesAgo"] == 40
    assert answer["reason"] == "last_agent_from_genesys_journey" and answer["profileId"] == sms["profileId"]
    fake.journey_sessions[contact] = [{**session, "authenticated": False}]
    assert api.context(phone="+15551239999", excludeConversationId="s-1")["advised"] is False
