"""The trust model (issue 14 part 1, issue 17 item 10) over HTTP, on SQLite and on PostgreSQL.

Per caller and channel, only what the channel can verify is trusted; the enrollment API, with its own
credential, is how the customer's own systems tie a login to a phone, an email or a CRM id.
"""

from __future__ import annotations

from typing import Any

import pytest

from stitching.config import ConfigError, ServiceSettings
from stitching.domain.trust import TRUST_TABLE
from stitching.store import Store
from tests.service.conftest import AUTH, ENROLLMENT_TOKEN, ISSUER, ROOT, Api, count, make_settings, web_login

ENROLLMENT_AUTH = {"Authorization": f"Bearer {ENROLLMENT_TOKEN}"}
PHONE = "+12025550177"


@pytest.fixture
def settings(database_url: str) -> ServiceSettings:
    return make_settings(database_url, enrollment_token=ENROLLMENT_TOKEN)


def enroll(api: Api, key: str, body: dict[str, Any], expect: int = 200,
           headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.client.post("/v1/enrollments", json=body,
                               headers={**ENROLLMENT_AUTH, "Idempotency-Key": key, **(headers or {})})
    assert response.status_code == expect, response.text
    return dict(response.json())


def login_body(subject: str, **extra: Any) -> dict[str, Any]:
    return {"source": "website-backend", "anchor": {"oidcIssuer": ISSUER, "oidcSubject": subject}, **extra}


def outcome(answer: dict[str, Any], kind: str) -> tuple[str, str]:
    [found] = [(o["result"], o["reason"]) for o in answer["outcomes"] if o["type"] == kind]
    return found


# -- item 10: verified flags the channel cannot produce ----------------------------------------------------------


def test_a_guest_web_request_claiming_a_verified_phone_is_not_trusted(api: Api) -> None:
    owner = api.stitch(channel="sms", conversationId="sms-1", phone=PHONE, phoneVerified=True)
    guest = api.stitch(channel="web", conversationId="web-1", phone=PHONE, phoneVerified=True, webSessionId="s-guest")
    assert guest["profileId"] != owner["profileId"] and guest["verified"] is False
    assert outcome(guest, "phone") == ("refused", "verified_flag_not_trusted")
    fresh = api.stitch(channel="web", conversationId="web-2", phone="+12025550188", phoneVerified=True)
    assert outcome(fresh, "phone") == ("suggested", "verified_flag_not_trusted")
    assert [link["type"] for link in api.profile(fresh["profileId"])["links"]] == []


def test_an_sms_claiming_a_verified_oidc_login_or_crm_id_is_not_trusted(api: Api) -> None:
    customer = web_login(api, "web-1", "alice")
    sms = api.stitch(channel="sms", conversationId="sms-1", phone=PHONE, phoneVerified=True, oidcIssuer=ISSUER,
                     oidcSubject="alice", oidcVerified=True, crmId="CRM-1", crmIdVerified=True)
    assert sms["profileId"] != customer["profileId"]
    assert outcome(sms, "oidc") == ("refused", "verified_flag_not_trusted")
    assert outcome(sms, "crm") == ("suggested", "verified_flag_not_trusted")
    assert outcome(sms, "phone") == ("linked", "verified_identifier")
    assert customer["profileId"] not in str(sms)


@pytest.mark.parametrize("channel", ["voice", "whatsapp", "facebook", "email", "apple"])
def test_other_channels_vouch_for_nothing(api: Api, channel: str) -> None:
    answer = api.stitch(channel=channel, conversationId="c-1", phone=PHONE, phoneVerified=True, email="a@example.com",
                        emailVerified=True, crmId="CRM-9", crmIdVerified=True)
    assert answer["verified"] is False
    assert {o["reason"] for o in answer["outcomes"]} == {"verified_flag_not_trusted"}


def test_the_email_claim_is_trusted_only_where_the_stack_says_so(database_url: str, app_factory: Any) -> None:
    untrusting = Api(app_factory(make_settings(database_url)))
    plain = web_login(untrusting, "web-1", "bea", email="bea@example.com", emailVerified=True)
    assert outcome(plain, "email") == ("suggested", "verified_flag_not_trusted")
    trusting = Api(app_factory(make_settings(database_url, trust_email_claim=True)))
    trusted = web_login(trusting, "web-2", "bea", email="bea@example.com", emailVerified=True)
    assert outcome(trusted, "email") == ("linked", "verified_identifier")
    # Only riding on a verified login: a guest's "verified" email stays a claim even with the setting.
    guest = trusting.stitch(channel="web", conversationId="web-3", email="eve@example.com", emailVerified=True)
    assert outcome(guest, "email") == ("suggested", "verified_flag_not_trusted")


def test_names_and_birth_dates_from_data_actions_are_context_only(api: Api, migrated: Store) -> None:
    answer = web_login(api, "web-1", "cy", lastName="Smith", dateOfBirth="1990-01-02")
    assert outcome(answer, "last_name") == ("refused", "context_only")
    assert outcome(answer, "date_of_birth") == ("refused", "context_only")
    with migrated.unit_of_work(write=False) as conn:
        assert conn.one("SELECT last_name, date_of_birth FROM profiles WHERE id = ?", (answer["profileId"],)) == (None, None)


def test_the_readme_trust_table_states_the_enforced_policy() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Trust model", 1)[1].split("\n## ", 1)[0]
    for caller, trusted, _ in TRUST_TABLE:
        assert f"| {caller} | {trusted} |" in section


# -- the enrollment API ------------------------------------------------------------------------------------------


def test_the_journey_login_then_enrollment_then_sms_finds_the_web_customer(api: Api) -> None:
    web = web_login(api, "web-1", "alice-1001", webSessionId="s-alice")
    api.record(conversationId="web-1", agentId="agent-1", topic="failed password reset")
    enrolled = enroll(api, "login-s-alice", login_body("alice-1001", phone="(202) 555-0177", crmId="CRM-1001"))
    assert enrolled["profileId"] == web["profileId"] and enrolled["source"] == "website-backend"
    assert outcome(enrolled, "phone") == ("linked", "verified_identifier")
    assert outcome(enrolled, "crm") == ("linked", "verified_identifier")
    sms = api.stitch(channel="sms", conversationId="sms-1", phone=PHONE, phoneVerified=True)
    assert sms["profileId"] == web["profileId"] and sms["verified"] is True
    context = api.context(phone=PHONE, excludeConversationId="sms-1")
    assert context["advised"] is True and context["agentId"] == "agent-1"


def test_enrollment_is_idempotent_and_the_audit_records_its_source(api: Api, migrated: Store) -> None:
    body = login_body("dan", phone=PHONE, email="Dan@Example.com")
    first = enroll(api, "dan-login-1", body)
    tables = {t: count(migrated, t) for t in ("profiles", "links", "audit", "claims")}
    again = api.client.post("/v1/enrollments", json=body, headers={**ENROLLMENT_AUTH, "Idempotency-Key": "dan-login-1"})
    assert again.status_code == 200 and again.json() == first and again.headers["Idempotent-Replayed"] == "true"
    assert {t: count(migrated, t) for t in tables} == tables
    other = enroll(api, "dan-login-1", {**body, "phone": "+12025550199"}, expect=409)
    assert other["error"] == "conflict"
    trail = api.audit(first["profileId"])
    links = [e for e in trail if e["action"] == "link"]
    assert {e["identifierType"] for e in links} == {"oidc", "phone", "email"}
    assert all(e["detail"]["source"] == "website-backend" and e["detail"]["caller"] == "enrollment" for e in links)
    assert enroll(api, "dan-login-2", body)["decision"] == "matched"  # a new key, same facts: nothing new


def test_a_crm_sync_enrolls_for_a_crm_anchor(api: Api) -> None:
    crm = enroll(api, "crm-77", {"source": "crm-sync", "anchor": {"crmId": "CRM-77"}, "phone": PHONE,
                                 "lastName": "Ng", "dateOfBirth": "1980-03-04"})
    assert crm["created"] is True and outcome(crm, "crm") == ("linked", "verified_identifier")
    assert api.stitch(channel="sms", conversationId="sms-1", phone=PHONE, phoneVerified=True)["profileId"] == crm["profileId"]


def test_enrollment_requires_its_own_credential_and_cannot_read(api: Api, migrated: Store) -> None:
    body = login_body("erin", phone=PHONE)
    headers = {"Idempotency-Key": "erin-1"}
    assert api.client.post("/v1/enrollments", json=body, headers=headers).status_code == 401
    wrong = api.client.post("/v1/enrollments", json=body, headers={**headers, "Authorization": "Bearer nope-0123456789abcdef"})
    assert wrong.status_code == 401
    as_data_action = api.client.post("/v1/enrollments", json=body, headers={**headers, **AUTH})
    assert as_data_action.status_code == 403 and as_data_action.json()["error"] == "forbidden"
    assert count(migrated, "profiles") == 0
    profile = enroll(api, "erin-1", body)["profileId"]
    for method, path in (("GET", f"/v1/context?phone={PHONE}"), ("GET", f"/v1/profiles/{profile}"),
                         ("GET", f"/v1/profiles/{profile}/audit"), ("POST", "/v1/stitch"), ("POST", "/v1/noop"),
                         ("POST", "/v1/links/unlink"), ("POST", "/v1/interactions")):
        response = api.client.request(method, path, json={}, headers=ENROLLMENT_AUTH)
        assert response.status_code == 403, (path, response.text)
    assert api.client.get("/healthz").status_code == 200


def test_enrollment_disabled_without_its_credential(database_url: str, app_factory: Any) -> None:
    api = Api(app_factory(make_settings(database_url)))
    response = api.client.post("/v1/enrollments", json=login_body("f", phone=PHONE),
                               headers={**ENROLLMENT_AUTH, "Idempotency-Key": "k-1"})
    assert response.status_code == 401


@pytest.mark.parametrize(("body", "headers", "field"), [
    (login_body("g", phone=PHONE), {"Idempotency-Key": ""}, "Idempotency-Key"),
    (login_body("g", phone=PHONE), {"Idempotency-Key": "null"}, "Idempotency-Key"),
    ({"anchor": {"crmId": "CRM-1"}, "phone": PHONE}, {}, "source"),
    ({"source": "web", "anchor": {}, "phone": PHONE}, {}, "anchor"),
    ({"source": "web", "anchor": {"crmId": "CRM-1", "oidcIssuer": ISSUER, "oidcSubject": "g"}, "phone": PHONE}, {}, "anchor"),
    ({"source": "web", "anchor": {"oidcIssuer": "http://login.example.com", "oidcSubject": "g"}}, {}, "anchor.oidcIssuer"),
    ({"source": "web", "anchor": {"oidcIssuer": ISSUER, "oidcSubject": "NaN"}, "phone": PHONE}, {}, "anchor.oidcSubject"),
    ({"source": "web", "anchor": {"crmId": "undefined"}, "phone": PHONE}, {}, "anchor.crmId"),
    (login_body("g"), {}, "phone"),
    (login_body("g", phone="+10000000000"), {}, "phone"),
    (login_body("g", phone=PHONE, ssn="123"), {}, "ssn"),
])
def test_enrollment_refuses_bad_requests_naming_the_field(api: Api, migrated: Store, body: dict[str, Any],
                                                          headers: dict[str, str], field: str) -> None:
    response = api.client.post("/v1/enrollments", json=body,
                               headers={**ENROLLMENT_AUTH, "Idempotency-Key": "k-1", **headers})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.text
    assert count(migrated, "profiles") == 0


def test_the_enrollment_credential_must_differ_from_the_caller_token() -> None:
    env = {"STITCHING_API_TOKEN": "x" * 20, "STITCHING_ENROLLMENT_TOKEN": "x" * 20}
    with pytest.raises(ConfigError, match="must differ"):
        ServiceSettings.from_environ(env)
    with pytest.raises(ConfigError, match="16 characters"):
        ServiceSettings.from_environ({**env, "STITCHING_ENROLLMENT_TOKEN": "short"})
    settings = ServiceSettings.from_environ({**env, "STITCHING_ENROLLMENT_TOKEN": "y" * 20,
                                             "STITCHING_TRUST_EMAIL_CLAIM": "true"})
    assert settings.enrollment_token == "y" * 20 and settings.trust_email_claim is True
    assert "y" * 20 not in repr(settings)


def test_an_anchor_that_conflicts_with_its_profile_enrolls_nothing(api: Api, migrated: Store) -> None:
    parent = enroll(api, "p-1", login_body("parent", crmId="CRM-HOME"))
    before = {t: count(migrated, t) for t in ("links", "profiles", "claims")}
    conflict = enroll(api, "k-1", login_body("kid", crmId="CRM-HOME", phone=PHONE), expect=409)
    assert conflict["error"] == "conflict" and "oidc" in conflict["message"]
    assert {t: count(migrated, t) for t in before} == before
    assert api.context(phone=PHONE)["found"] is False
    assert [link["type"] for link in api.profile(parent["profileId"])["links"]] == ["crm", "oidc"]


def test_the_policy_function_says_what_the_table_says() -> None:
    from stitching.domain.identifiers import IdentifierType as T
    from stitching.domain.trust import Caller, verifiable

    def data_action(channel: str, oidc: bool = True, email: bool = True) -> set[T]:
        return set(verifiable(Caller.DATA_ACTION, channel, oidc_verified=oidc, trust_email_claim=email))

    assert data_action("sms") == {T.PHONE}
    assert data_action("web", email=False) == {T.OIDC} and data_action("web", oidc=False) == {T.OIDC}
    assert data_action("web") == {T.OIDC, T.EMAIL}
    assert all(data_action(c) == set() for c in ("voice", "whatsapp", "facebook", "instagram", "line", "email", "apple"))
    assert set(verifiable(Caller.ENROLLMENT, "", oidc_verified=False, trust_email_claim=False)) == {
        T.OIDC, T.CRM, T.PHONE, T.EMAIL}
    assert T.WEB_SESSION not in verifiable(Caller.ENROLLMENT, "web", oidc_verified=True, trust_email_claim=True)
