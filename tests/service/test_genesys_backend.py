"""The optional Genesys backend against the fake Genesys API: external contacts mirrored, journey read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from stitching.config import GenesysBackendSettings
from stitching.genesys_mirror import MEDIA_TYPES, MirrorWorker
from stitching.journey import GenesysJourneyReader, _channel
from stitching.metrics import Metrics
from stitching.store import Store
from tests.fakes.genesys_api import CLIENT_ID, CLIENT_SECRET, FakeGenesys
from tests.genesys_models import require
from tests.service.conftest import Api, Clock, make_settings

SOURCE = "crm-source-1"  # the stack's CRM external source


def _backend(url: str) -> GenesysBackendSettings:
    return GenesysBackendSettings(region="us-east-1", division_id="div-1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  api_base=url, external_source_id=SOURCE)


@pytest.fixture
def genesys_client(fake_genesys: tuple[FakeGenesys, str], sleeps: list[float]) -> Iterator[GenesysApiClient]:
    _, url = fake_genesys
    client = GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, CLIENT_SECRET),
                              sleep=sleeps.append)
    yield client
    client.close()


@pytest.fixture
def worker(database_url: str, genesys_client: GenesysApiClient, clock: Clock) -> Iterator[MirrorWorker]:
    """The mirror worker, drained by hand in the tests (the app's own worker thread is off), on the service's clock."""
    store = Store(database_url, 2)
    yield MirrorWorker(store, genesys_client, "div-1", Metrics(), external_source_id=SOURCE, clock=clock)
    store.close()


def _api(app_factory: Callable[..., TestClient], database_url: str, url: str, **kwargs: Any) -> Api:
    return Api(app_factory(make_settings(database_url, genesys=_backend(url)), run_mirror=False, **kwargs))


def _drain(worker: MirrorWorker) -> None:
    while worker.drain():
        pass


def _outbox(worker: MirrorWorker) -> list[tuple[str, int | None, str | None]]:
    with worker.store.unit_of_work(write=False) as conn:
        rows = conn.rows("SELECT kind, done_at, last_error FROM outbox ORDER BY id")
    return [(str(r[0]), r[1], r[2]) for r in rows]


ENROLL = "enrollment-token-for-tests-0123456789"


def _enroll(api: Api, key: str, **body: Any) -> dict[str, Any]:
    """The customer's own systems vouch for identifiers (the trust model: data actions cannot, except per channel)."""
    response = api.client.post("/v1/enrollments", json={"source": "crm-sync", **body},
                               headers={"Authorization": f"Bearer {ENROLL}", "Idempotency-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_profiles_are_mirrored_as_external_contacts_with_upsert_association_and_merge(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], sleeps: list[float],
    worker: MirrorWorker,
) -> None:
    fake, url = fake_genesys
    for conversation in ("w-1", "s-1"):
        fake.add_conversation(conversation, "messages")
    api = Api(app_factory(make_settings(database_url, genesys=_backend(url), enrollment_token=ENROLL,
                                        trust_email_claim=True), run_mirror=False))
    web = api.stitch(channel="web", conversationId="w-1", oidcIssuer="https://idp.example.com", oidcSubject="gina",
                     oidcVerified=True, email="gina@example.com", emailVerified=True, lastName="Ng",
                     webSessionId="site-session-1")
    crm = _enroll(api, "k1", anchor={"crmId": "CRM-7"}, phone="+12025550143")
    fake.fail_next(429, headers={"Retry-After": "2"})  # the org's rate limit, honoured by the client
    _drain(worker)
    assert sleeps == [2.0]
    assert fake.owner_of("Email", "gina@example.com") != fake.owner_of("Phone", "+12025550143")
    # Web messaging is MESSAGE; the customer's communication comes from the conversation.
    assert fake.associations["w-1"] == {"externalContactId": fake.owner_of("Email", "gina@example.com"),
                                        "conversationId": "w-1", "communicationId": "comm-w-1", "mediaType": "MESSAGE"}
    enrich = [c.body for c in fake.calls if c.path.endswith("/enrich")]
    assert enrich and all(body["action"] == "Upsert" and body["division"] == {"id": "div-1"} for body in enrich)
    assert all("id" not in body for body in enrich)  # a bulk tracker, never a contact selector
    identifiers = [i for body in enrich for i in body["matchingIdentifiers"]]
    assert {"type": "ExternalId", "value": "CRM-7", "externalSource": {"id": SOURCE}} in identifiers
    assert not any(i["type"] == "Cookie" for i in identifiers)  # a website session is not a journey cookie

    sms = api.stitch(channel="sms", conversationId="s-1", phone="+12025550143", phoneVerified=True)
    merged = _enroll(api, "k2", anchor={"oidcIssuer": "https://idp.example.com", "oidcSubject": "gina"},
                     crmId="CRM-7", phone="+12025550143")
    assert merged["decision"] == "merged" and merged["profileId"] in (web["profileId"], crm["profileId"])
    _drain(worker)
    assert fake.associations["s-1"]["mediaType"] == "MESSAGE" and sms["profileId"] == crm["profileId"]
    owners = {fake.owner_of(kind, value) for kind, value in
              [("Email", "gina@example.com"), ("Phone", "+12025550143"), ("ExternalId", "CRM-7")]}
    assert len(owners) == 1 and None not in owners  # one Genesys contact for one customer
    assert any(c.path.endswith("/contacts/merge") for c in fake.calls)
    # Every body sent conformed to the official models, and nothing was refused or dead-lettered.
    assert fake.refused == []
    for call in fake.calls:
        model = {"enrich": "ContactEnrichRequest", "merge": "MergeContactsRequest"}.get(call.path.rsplit("/", 1)[-1])
        if call.path.startswith("/api/v2/externalcontacts/conversations/"):
            model = "ConversationAssociation"
        if model:
            require(model, call.body)
    # (an upsert that raced the merge may get a 409 and wait for its retry: not a dead letter)
    assert not any("dead letter" in str(error) for _, _, error in _outbox(worker))


def test_a_voice_conversation_is_a_call_and_a_website_session_no_identifier(
    fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker,
) -> None:
    fake, _ = fake_genesys
    fake.add_conversation("v-1", "calls", communication_id="call-comm-1")
    assert MEDIA_TYPES["voice"] == "CALL" and MEDIA_TYPES["sms"] == MEDIA_TYPES["web"] == "MESSAGE"
    assert worker._communication_id("v-1", "CALL") == "call-comm-1"
    assert worker._identifier("web_session", "site-session-1") is None
    assert worker._identifier("crm", "CRM-1") == {"type": "ExternalId", "value": "CRM-1", "externalSource": {"id": SOURCE}}


def test_crm_ids_stay_here_without_an_external_source(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str],
    genesys_client: GenesysApiClient,
) -> None:
    fake, url = fake_genesys
    api = Api(app_factory(make_settings(database_url, genesys=_backend(url), enrollment_token=ENROLL), run_mirror=False))
    _enroll(api, "k1", anchor={"crmId": "CRM-8"}, phone="+12025550144")
    store = Store(database_url, 2)
    try:
        _drain(MirrorWorker(store, genesys_client, None))
    finally:
        store.close()
    [enrich] = [c.body for c in fake.calls if c.path.endswith("/enrich")]
    assert enrich["matchingIdentifiers"] == [{"type": "Phone", "value": "+12025550144"}]
    assert fake.refused == []


def test_a_genesys_outage_is_retried_later_and_never_fails_a_stitch(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    fake.fail_next(503, times=10)  # an outage outlasting the client's own retries: the row waits with a backoff
    api.stitch(channel="sms", conversationId="s-1", phone="+12025550145", phoneVerified=True)
    worker.drain()
    with worker.store.unit_of_work(write=False) as conn:
        pending = conn.one("SELECT count(*), max(attempts), max(last_error) FROM outbox WHERE done_at IS NULL")
    assert pending is not None and pending[0] >= 1 and pending[1] == 1
    assert CLIENT_SECRET not in str(pending[2])


@pytest.mark.parametrize("status", [408, 409, 423])
def test_a_4xx_that_may_pass_later_is_retried(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker,
    status: int,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    fake.fail_next(status)
    api.stitch(channel="sms", conversationId="s-1", phone="+12025550145", phoneVerified=True)
    worker.drain()
    [(kind, done, error)] = _outbox(worker)[:1]
    assert kind == "upsert_contact" and done is None and error is not None and "dead letter" not in error


def test_a_4xx_retrying_cannot_fix_goes_to_the_dead_letter_with_a_metric_and_an_audit_entry(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    fake.fail_next(400)
    sms = api.stitch(channel="sms", conversationId="s-404", phone="+12025550146", phoneVerified=True)
    _drain(worker)  # the upsert is refused for good; the association's conversation does not exist (404)
    rows = _outbox(worker)
    assert [kind for kind, _, _ in rows] == ["upsert_contact", "associate_conversation"]
    assert rows[0][1] is not None
    assert str(rows[0][2]).startswith("dead letter: POST /api/v2/externalcontacts/contacts/enrich: HTTP 400")
    assert worker.drain() == 0  # nothing left to retry, nothing retried forever
    assert worker.metrics is not None
    metrics = worker.metrics.render().decode()
    assert 'stitching_genesys_dead_letters_total{kind="upsert_contact",status="400"} 1.0' in metrics
    entries = [e for e in api.audit(sms["profileId"]) if e["action"] == "genesys_mirror"]
    assert entries and entries[0]["reason"] == "dead_letter" and entries[0]["detail"]["operation"] == "upsert_contact"
    assert entries[0]["detail"]["status"] == 400
    assert CLIENT_SECRET not in json.dumps(entries)


def test_an_association_whose_conversation_genesys_does_not_know_is_dead_lettered(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url)
    sms = api.stitch(channel="sms", conversationId="s-unknown", phone="+12025550147", phoneVerified=True)
    _drain(worker)
    rows = dict((kind, (done, error)) for kind, done, error in _outbox(worker))
    done, error = rows["associate_conversation"]
    assert done is not None and "HTTP 404" in str(error) and "s-unknown" not in fake.associations
    reasons = [(e["action"], e["reason"], e["conversationId"]) for e in api.audit(sms["profileId"])]
    assert ("genesys_mirror", "dead_letter", "s-unknown") in reasons


def test_context_falls_back_to_the_genesys_journey_for_the_last_connected_agent(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str],
    clock: Clock, worker: MirrorWorker, genesys_client: GenesysApiClient,
) -> None:
    fake, url = fake_genesys
    api = _api(app_factory, database_url, url, journey_reader=GenesysJourneyReader(genesys_client))
    sms = api.stitch(channel="sms", conversationId="s-1", phone="+12025550143", phoneVerified=True)
    _drain(worker)
    contact = fake.owner_of("Phone", "+12025550143")
    assert contact is not None
    def stamp(minutes_ago: int) -> str:
        return datetime.fromtimestamp((clock.now - minutes_ago * 60_000) / 1000, UTC).isoformat().replace("+00:00", "Z")

    # Session in the shape of the journey API (Session): the platform is messageType, type is the media.
    session: dict[str, Any] = {"id": "js-1", "type": "web", "conversation": {"id": "genesys-conv"}, "authenticated": True,
                               "conversationChannels": [{"type": "Messaging", "messageType": "WebMessaging"}],
                               "lastConnectedUser": {"id": "agent-g"}, "lastConnectedQueue": {"id": "queue-g"},
                               "createdDate": stamp(50), "endedDate": stamp(40)}
    fake.journey_sessions[contact] = [session, {**session, "lastConnectedUser": {"id": "old"}, "endedDate": stamp(500)}]
    answer = api.context(phone="+12025550143", excludeConversationId="s-1")
    assert answer["advised"] is True and answer["agentId"] == "agent-g" and answer["minutesAgo"] == 40
    assert answer["reason"] == "last_agent_from_genesys_journey" and answer["profileId"] == sms["profileId"]
    assert answer["channel"] == "web"
    fake.journey_sessions[contact] = [{**session, "authenticated": False}]
    assert api.context(phone="+12025550143", excludeConversationId="s-1")["advised"] is False
    assert fake.refused == []


@pytest.mark.parametrize(("entry", "channel"), [
    ({"type": "Messaging", "messageType": "Sms"}, "sms"),
    ({"type": "Message", "messageType": "WebMessaging"}, "web"),
    ({"type": "Messaging", "messageType": "WhatsApp"}, "whatsapp"),
    ({"type": "Call"}, "voice"),
    ({"type": "Email"}, "email"),
    ({"type": "Messaging", "messageType": "Unknown"}, None),
])
def test_the_journey_channel_comes_from_the_message_type(entry: dict[str, str], channel: str | None) -> None:
    require("ConversationChannel", entry, request=False)
    assert _channel(entry) == channel


def test_an_anonymous_conversation_backs_off_and_is_dead_lettered_after_a_day(
    database_url: str, app_factory: Callable[..., TestClient], fake_genesys: tuple[FakeGenesys, str], worker: MirrorWorker,
) -> None:
    fake, url = fake_genesys
    fake.add_conversation("w-anon", "messages")
    api = _api(app_factory, database_url, url)
    guest = api.stitch(channel="web", conversationId="w-anon", webSessionId="site-session-9")
    worker.drain()
    worker.drain()
    with worker.store.unit_of_work(write=False) as conn:
        row = conn.one("SELECT id, attempts, next_attempt_at, done_at FROM outbox WHERE kind = 'associate_conversation'")
    assert row is not None and row[1] == 1 and row[3] is None  # waiting, with a backoff: not polled every drain
    with worker.store.unit_of_work(["outbox"]) as conn:
        conn.execute("UPDATE outbox SET created_at = created_at - ?, next_attempt_at = 0 WHERE id = ?",
                     (25 * 3600_000, row[0]))
    worker.drain()
    [(_, done, error)] = [r for r in _outbox(worker) if r[0] == "associate_conversation"]
    assert done is not None and str(error) == "dead letter: contact not mirrored yet after 24 hours"
    assert ("genesys_mirror", "dead_letter") in [(e["action"], e["reason"]) for e in api.audit(guest["profileId"])]
    assert fake.associations == {} and fake.refused == []


def test_the_journey_reads_merged_contacts_sessions_across_pages(
    fake_genesys: tuple[FakeGenesys, str], genesys_client: GenesysApiClient,
) -> None:
    fake, _ = fake_genesys
    def session(i: int, ended: str) -> dict[str, Any]:
        return {"id": f"js-{i}", "type": "web", "authenticated": True, "lastConnectedUser": {"id": f"agent-{i}"},
                "conversationChannels": [{"type": "Messaging", "messageType": "Sms"}],
                "createdDate": "2026-11-20T09:00:00Z", "endedDate": ended}
    fake.journey_sessions["contact-1"] = [session(i, "2026-11-20T09:30:00Z") for i in range(250)]
    fake.journey_sessions["contact-1"][230] = session(230, "2026-11-20T10:00:00Z")  # the latest, on page 2
    at = int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp() * 1000)
    hit = GenesysJourneyReader(genesys_client).last_connected("contact-1", at - 3600_000, at)
    assert hit is not None and hit.agent_id == "agent-230" and hit.channel == "sms"
    paths = [c.path for c in fake.calls if "/journey/sessions" in c.path]
    assert len(paths) == 2 and "includeMerged=true" in paths[0] and "pageSize=200" in paths[0] and "after=200" in paths[1]
    assert fake.refused == []
