"""The stitching rules, through the HTTP API, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from stitching.config import ServiceSettings
from stitching.store import Store
from tests.service.conftest import AUTH, Api, Clock, count, make_settings

ISSUER = "https://login.example.com"
ENROLLMENT_TOKEN = "test-enrollment-token-0123456789"
ENROLLMENT_AUTH = {"Authorization": f"Bearer {ENROLLMENT_TOKEN}"}


@pytest.fixture
def settings(database_url: str) -> ServiceSettings:
    return make_settings(database_url, enrollment_token=ENROLLMENT_TOKEN)


def web_login(api: Api, conversation: str, subject: str, **extra: Any) -> dict[str, Any]:
    return api.stitch(channel="web", conversationId=conversation, oidcIssuer=ISSUER, oidcSubject=subject, oidcVerified=True,
                      **extra)


def enroll(api: Api, key: str, expect: int = 200, *, subject: str | None = None, crm: str | None = None,
           source: str = "website-backend", **identifiers: Any) -> dict[str, Any]:
    """The customer's website backend (or CRM sync) registers verified identifiers for a login or a CRM id."""
    anchor = {"oidcIssuer": ISSUER, "oidcSubject": subject} if subject else {"crmId": crm}
    response = api.client.post("/v1/enrollments", json={"source": source, "anchor": anchor, **identifiers},
                               headers={**ENROLLMENT_AUTH, "Idempotency-Key": key})
    assert response.status_code == expect, response.text
    return dict(response.json())


def test_three_spellings_of_a_us_number_are_one_identifier(api: Api) -> None:
    first = api.stitch(channel="sms", conversationId="c1", phone="2025550143", phoneVerified=True)
    second = api.stitch(channel="sms", conversationId="c2", phone="(202) 555-0143", phoneVerified=True)
    third = api.stitch(channel="sms", conversationId="c3", phone="+12025550143", phoneVerified=True)
    assert first["created"] and not second["created"] and not third["created"]
    assert first["profileId"] == second["profileId"] == third["profileId"]
    links = api.profile(first["profileId"])["links"]
    assert links == [{"type": "phone", "value": "+12025550143", "verified": True, "reason": "verified_identifier"}]


@pytest.mark.parametrize("phone", ["12345", "+1 555 0100 999999", "call me maybe", "0000000000", "+10000000000",
                                   "+1 000 000 0000", "10000000000", "+15552017788", "1234567890", "+1 202 222 2222"])
def test_invalid_or_impossible_phone_is_refused_and_never_stored(api: Api, migrated: Store, phone: str) -> None:
    error = api.stitch(expect=422, channel="sms", conversationId="c1", phone=phone, phoneVerified=True)
    assert error["field"] == "phone" and error["error"] == "invalid_request"
    assert phone not in error["message"]
    assert count(migrated, "links") == 0 and count(migrated, "profiles") == 0 and count(migrated, "audit") == 0


def test_anonymous_visitor_claiming_a_known_customers_phone_is_never_linked(api: Api) -> None:
    customer = web_login(api, "web-1", "alice", webSessionId="sess-alice")
    enroll(api, "alice-login-1", subject="alice", phone="+12025554321")
    api.record(conversationId="web-1", agentId="agent-7", topic="password reset")

    intruder = api.stitch(channel="web", conversationId="web-2", phone="202-555-4321", webSessionId="sess-x")
    assert intruder["profileId"] != customer["profileId"]
    assert intruder["verified"] is False
    assert {"type": "phone", "result": "refused", "reason": "unverified_claim_of_owned_identifier"} in intruder["outcomes"]
    assert customer["profileId"] not in str(intruder)  # the answer never reveals whose phone it is

    # The phone still belongs to the customer alone, and the intruder's profile learns nothing.
    assert [link["type"] for link in api.profile(intruder["profileId"])["links"]] == ["web_session"]
    assert api.context(phone="+12025554321")["profileId"] == customer["profileId"]
    assert api.context(profileId=intruder["profileId"])["advised"] is False
    refusals = [e for e in api.audit(customer["profileId"]) if e["action"] == "refuse"]
    assert refusals and refusals[0]["otherProfileId"] == customer["profileId"]
    assert refusals[0]["reason"] == "unverified_claim_of_owned_identifier"


def test_unverified_phone_nobody_owns_is_a_suggestion_not_a_link(api: Api) -> None:
    visitor = api.stitch(channel="web", conversationId="web-1", phone="+12025551111", webSessionId="s-1")
    assert {"type": "phone", "result": "suggested", "reason": "unverified_claim"} in visitor["outcomes"]
    sms = api.stitch(channel="sms", conversationId="sms-1", phone="+12025551111", phoneVerified=True)
    assert sms["created"] and sms["profileId"] != visitor["profileId"]


def test_family_phone_shared_by_two_verified_customers_never_merges_them(api: Api) -> None:
    alice = enroll(api, "e-1", subject="alice", phone="+12025550001", lastName="Smith", dateOfBirth="1980-02-03")
    bob = enroll(api, "e-2", subject="bob", phone="(202) 555-0001", lastName="Smith")
    assert bob["profileId"] != alice["profileId"] and bob["merges"] == []
    assert {"type": "phone", "result": "suggested", "reason": "conflicting_strong_identifier"} in bob["outcomes"]
    again = enroll(api, "e-3", subject="bob", phone="+12025550001", lastName="smith ")
    assert again["profileId"] == bob["profileId"] and again["merges"] == []
    assert [link["type"] for link in api.profile(alice["profileId"])["links"]] == ["oidc", "phone"]
    assert [link["type"] for link in api.profile(bob["profileId"])["links"]] == ["oidc"]
    assert any(e["action"] == "merge_refused" and e["otherProfileId"] == alice["profileId"] for e in api.audit(bob["profileId"]))


def _two_profiles_of_one_customer(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    web = web_login(api, "w-1", "carol")
    enroll(api, "carol-email", subject="carol", email="Carol@Example.com", lastName="Jones")
    crm = enroll(api, "crm-sync-42", crm="CRM-42", source="crm-sync", phone="+12025554444")
    sms = api.stitch(channel="sms", conversationId="s-1", phone="+12025554444", phoneVerified=True)
    assert sms["profileId"] == crm["profileId"]
    api.record(conversationId="s-1", agentId="agent-3", topic="billing")
    assert web["profileId"] != crm["profileId"]
    return web, crm


def test_merge_needs_verified_multi_factor_evidence_and_unmerge_restores_both(api: Api) -> None:
    web, crm = _two_profiles_of_one_customer(api)
    before_web = api.profile(web["profileId"])["links"]
    before_crm = api.profile(crm["profileId"])["links"]

    one_factor = enroll(api, "carol-crm-1", subject="carol", crmId="CRM-42")
    assert one_factor["merges"] == []
    assert {"type": "crm", "result": "suggested", "reason": "single_factor"} in one_factor["outcomes"]
    # The web flow cannot vouch for a CRM id or a phone: kept unverified, never merged.
    untrusted = web_login(api, "w-2", "carol", crmId="CRM-42", crmIdVerified=True, phone="+12025554444",
                          phoneVerified=True)
    assert untrusted["merges"] == []
    assert {"type": "crm", "result": "refused", "reason": "verified_flag_not_trusted"} in untrusted["outcomes"]

    merged = enroll(api, "carol-crm-2", subject="carol", crmId="CRM-42", phone="+1 202 555 4444")
    assert merged["decision"] == "merged" and merged["profileId"] == web["profileId"]
    [merge] = merged["merges"]
    assert merge["absorbedProfileId"] == crm["profileId"] and merge["reason"] == "verified_multi_factor"
    assert api.profile(crm["profileId"])["status"] == "merged"
    assert api.context(phone="+12025554444")["profileId"] == web["profileId"]

    undone = api.unmerge(merge["mergeId"])
    assert undone["restoredProfileId"] == crm["profileId"] and undone["linksGoneSinceMerge"] == 0
    assert api.profile(web["profileId"])["links"] == before_web
    assert api.profile(crm["profileId"])["links"] == before_crm
    assert api.profile(crm["profileId"])["status"] == "active"
    assert api.context(phone="+12025554444")["agentId"] == "agent-3"  # the conversation went back with its profile
    actions = [e["action"] for e in api.audit(crm["profileId"])]
    assert actions.index("merge") < actions.index("unmerge")
    assert api.unmerge(merge["mergeId"], expect=409)["error"] == "conflict"


def test_shadow_mode_records_the_merge_it_would_make_without_making_it(database_url: str, app_factory: Any) -> None:
    api = Api(app_factory(make_settings(database_url, shadow_mode=True, enrollment_token=ENROLLMENT_TOKEN)))
    web, crm = _two_profiles_of_one_customer(api)
    result = enroll(api, "carol-crm-2", subject="carol", crmId="CRM-42", phone="+12025554444")
    assert result["merges"] == [] and api.profile(crm["profileId"])["status"] == "active"
    assert [e["reason"] for e in api.audit(web["profileId"]) if e["action"] == "merge_shadowed"] == ["shadow_mode"]


def test_login_adopts_the_anonymous_visit_of_the_same_live_session(api: Api) -> None:
    anonymous = api.stitch(channel="web", conversationId="w-1", webSessionId="s-9")
    known = web_login(api, "w-0", "dave")
    logged_in = web_login(api, "w-2", "dave", webSessionId="s-9")
    assert logged_in["profileId"] == known["profileId"]
    assert logged_in["merges"][0]["absorbedProfileId"] == anonymous["profileId"]
    assert logged_in["merges"][0]["reason"] == "anonymous_session_adopted"


def test_retried_call_with_the_same_idempotency_key_changes_nothing(api: Api, migrated: Store) -> None:
    key = {"Idempotency-Key": "genesys-conv-1-stitch"}
    body = {"channel": "sms", "conversationId": "sms-1", "phone": "+12025550000", "phoneVerified": True}
    first = api.client.post("/v1/stitch", json=body, headers={**AUTH, **key})
    tables = {t: count(migrated, t) for t in ("profiles", "links", "audit", "conversations", "claims")}
    second = api.client.post("/v1/stitch", json=body, headers={**AUTH, **key})
    assert second.status_code == 200 and second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert {t: count(migrated, t) for t in tables} == tables
    reused = api.client.post("/v1/stitch", json={**body, "phone": "+12025550001"}, headers={**AUTH, **key})
    assert reused.status_code == 409


def test_requests_without_the_credential_get_401_and_touch_nothing(api: Api, migrated: Store) -> None:
    body = {"channel": "sms", "conversationId": "c-1", "phone": "+12025552222", "phoneVerified": True}
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": "Basic Z2VuZXN5czp3cm9uZw=="}):
        response = api.client.post("/v1/stitch", json=body, headers=headers)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert count(migrated, "profiles") == 0 and count(migrated, "audit") == 0
    import base64

    basic = base64.b64encode(f"genesys:{AUTH['Authorization'].split()[1]}".encode()).decode()
    assert api.client.post("/v1/stitch", json=body, headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_oversized_and_malformed_bodies_get_4xx(api: Api, migrated: Store) -> None:
    big = {"channel": "web", "conversationId": "c", "lastName": "x" * 20_000}
    assert api.client.post("/v1/stitch", json=big, headers=AUTH).status_code == 413
    broken = api.client.post("/v1/stitch", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert broken.status_code == 422
    too_long = api.stitch(expect=422, channel="web", conversationId="c", lastName="x" * 101)
    assert too_long["field"] == "lastName"
    unknown = api.stitch(expect=422, channel="web", conversationId="c", phoneNumber="+12025552222")
    assert unknown["field"] == "phoneNumber"
    assert api.stitch(expect=422, channel="fax", conversationId="c")["field"] == "channel"
    assert count(migrated, "profiles") == 0


def test_context_advises_the_last_agent_only_within_the_window_and_on_verified_live_sessions(api: Api, clock: Clock) -> None:
    web_login(api, "web-1", "erin", webSessionId="s-erin")
    enroll(api, "erin-login", subject="erin", phone="+12025553333")
    api.record(conversationId="web-1", agentId="agent-1", queueId="q-web", topic="failed password reset")
    api.logout("s-erin")

    clock.advance(60)
    api.stitch(channel="sms", conversationId="sms-1", phone="2025553333", phoneVerified=True)
    hour_later = api.context(phone="+12025553333", excludeConversationId="sms-1")
    assert hour_later["advised"] is True and hour_later["agentId"] == "agent-1" and hour_later["minutesAgo"] == 60
    assert hour_later["channel"] == "web" and hour_later["topic"] == "failed password reset"

    clock.advance(121)  # three hours after the web chat, two after the unanswered SMS
    later = api.context(phone="+12025553333", excludeConversationId="sms-2")
    assert later["advised"] is False and later["reason"] == "no_recent_interaction"

    # The logged-out session identifies nobody any more.
    reuse = api.stitch(channel="web", conversationId="web-2", webSessionId="s-erin")
    assert {"type": "web_session", "result": "refused", "reason": "web_session_ended"} in reuse["outcomes"]


def test_an_interaction_on_an_expired_web_session_never_advises(api: Api, clock: Clock) -> None:
    web_login(api, "web-1", "fay", webSessionId="s-fay")
    enroll(api, "fay-login", subject="fay", phone="+12025557777")
    clock.advance(45)  # past the 30-minute inactivity timeout before the agent's outcome arrives
    assert api.record(conversationId="web-1", agentId="agent-2")["staleSession"] is True
    answer = api.context(phone="+12025557777")
    assert answer["advised"] is False and answer["reason"] == "stale_web_session"


def test_anonymous_chat_never_advises_routing(api: Api) -> None:
    visit = api.stitch(channel="web", conversationId="web-1", webSessionId="s-anon")
    api.record(conversationId="web-1", agentId="agent-5")
    answer = api.context(profileId=visit["profileId"])
    assert answer["advised"] is False and answer["reason"] == "unverified_link"


def test_recording_an_unknown_conversation_is_404_and_context_needs_one_key(api: Api) -> None:
    assert api.record(expect=404, conversationId="never-stitched", agentId="a")["error"] == "not_found"
    assert api.context(expect=422, phone="+12025552222", profileId="p")["error"] == "invalid_request"
    assert api.context(phone="+12025552222")["reason"] == "no_verified_link"


def test_audit_log_is_append_only_in_the_database(api: Api, migrated: Store) -> None:
    api.stitch(channel="sms", conversationId="c-1", phone="+12025552222", phoneVerified=True)
    for statement in ("UPDATE audit SET reason = 'x'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"), migrated.unit_of_work() as conn:
            conn.execute(statement)
    assert count(migrated, "audit") == 2


def test_health_readiness_metrics_and_openapi(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "alive"}
    assert api.client.get("/readyz").json()["status"] == "ready"
    api.stitch(channel="sms", conversationId="c-1", phone="+12025552222", phoneVerified=True)
    metrics = api.client.get("/metrics").text
    assert 'stitching_decisions_total{decision="created"} 1.0' in metrics
    assert 'stitching_http_requests_total{route="/v1/stitch",status="200"} 1.0' in metrics
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/stitch", "/v1/context", "/v1/interactions", "/v1/sessions/end", "/v1/merges/{merge_id}/undo",
            "/v1/links/unlink", "/v1/profiles/{profile_id}/audit", "/healthz", "/readyz", "/metrics"} <= set(paths)


def test_blank_optional_fields_mean_not_given_as_data_actions_send_them(api: Api) -> None:
    blank = {"oidcIssuer": "", "oidcSubject": "", "crmId": "", "email": "", "webSessionId": "", "lastName": "",
             "dateOfBirth": "", "occurredAt": ""}
    answer = api.stitch(channel="sms", conversationId="c-1", phone="+12025552222", phoneVerified=True, **blank)
    assert answer["outcomes"] == [{"type": "phone", "result": "linked", "reason": "verified_identifier"}]
    empty_key = api.client.post("/v1/stitch", json={"channel": "sms", "conversationId": "c-2", "phone": "+12025552222",
                                                    "phoneVerified": True}, headers={**AUTH, "Idempotency-Key": ""})
    assert empty_key.status_code == 200 and "Idempotent-Replayed" not in empty_key.headers
