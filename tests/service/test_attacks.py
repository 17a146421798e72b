"""Issue 17's attacks, over HTTP, on SQLite and on PostgreSQL: each kind of failure, and its neighbours."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from stitching.config import ServiceSettings
from stitching.store import Store
from tests.service.conftest import AUTH, ENROLLMENT_TOKEN, ISSUER, Api, Clock, ServiceProcess, count, make_settings, web_login

HOME = "+12025550160"


@pytest.fixture
def settings(database_url: str) -> ServiceSettings:
    return make_settings(database_url, enrollment_token=ENROLLMENT_TOKEN)


def enroll(api: Api, key: str, anchor: dict[str, str], expect: int = 200, **identifiers: Any) -> dict[str, Any]:
    response = api.client.post("/v1/enrollments", json={"source": "crm-sync", "anchor": anchor, **identifiers},
                               headers={"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": key})
    assert response.status_code == expect, response.text
    return dict(response.json())


def oidc(subject: str, issuer: str = ISSUER) -> dict[str, str]:
    return {"oidcIssuer": issuer, "oidcSubject": subject}


def reasons(answer: dict[str, Any]) -> dict[str, str]:
    return {o["type"]: f"{o['result']}:{o['reason']}" for o in answer["outcomes"]}


# -- 1. merge evidence -------------------------------------------------------------------------------------------


def test_a_crm_parent_and_an_oidc_child_of_one_household_never_merge(api: Api) -> None:
    parent = enroll(api, "p", {"crmId": "CRM-PARENT"}, phone=HOME, lastName="Smith", dateOfBirth="1970-01-01")
    child = enroll(api, "c", oidc("kid"), phone=HOME, lastName="Smith", dateOfBirth="2005-05-05")
    assert child["profileId"] != parent["profileId"] and child["merges"] == []
    assert reasons(child)["phone"] == "suggested:conflicting_strong_identifier"
    # Even with the same birth date (twins' records, a data entry slip): two anchors are two people until the
    # customer's own system ties both anchors in one request.
    twin = enroll(api, "t", oidc("twin"), phone=HOME, lastName="Smith", dateOfBirth="1970-01-01")
    assert twin["merges"] == []
    tied = enroll(api, "tie", oidc("parent-login"), crmId="CRM-PARENT", phone=HOME)
    assert tied["profileId"] == parent["profileId"] and reasons(tied)["oidc"] == "linked:verified_identifier"


def test_a_placeholder_birth_date_is_no_evidence(api: Api) -> None:
    web_login(api, "w-1", "nia")
    crm = enroll(api, "crm", {"crmId": "CRM-NIA"}, lastName="Ota", dateOfBirth="1900-01-01")
    # CRM id + surname would be two factors; 1900-01-01 ("unknown") neither adds a third nor contradicts.
    login = enroll(api, "l", oidc("nia"), crmId="CRM-NIA", dateOfBirth="1900-01-01")
    assert login["merges"] == [] and reasons(login)["crm"] == "suggested:single_factor"
    assert api.profile(crm["profileId"])["status"] == "active"


def test_a_different_birth_date_refuses_and_household_factors_count_once(api: Api) -> None:
    sms = api.stitch(channel="sms", conversationId="s-1", phone=HOME, phoneVerified=True)
    household = enroll(api, "h", oidc("ann"), phone=HOME, lastName="Smith")  # phone + surname: one factor
    assert household["merges"] == [] and reasons(household)["phone"] == "suggested:single_factor"
    assert api.profile(sms["profileId"])["status"] == "active"
    # CRM id and email agree, the birth dates differ: the contradiction decides.
    web_login(api, "w-1", "ola")
    crm = enroll(api, "crm-ola", {"crmId": "CRM-OLA"}, email="ola@example.com", dateOfBirth="1970-01-02")
    contradicted = enroll(api, "ola-1", oidc("ola"), crmId="CRM-OLA", email="ola@example.com", dateOfBirth="1980-01-02")
    assert contradicted["merges"] == [] and reasons(contradicted)["crm"] == "suggested:contradicting_factor"
    agreeing = enroll(api, "ola-2", oidc("ola"), crmId="CRM-OLA", email="ola@example.com", dateOfBirth="1970-01-02")
    assert [m["absorbedProfileId"] for m in agreeing["merges"]] == [crm["profileId"]]


@pytest.mark.parametrize(("sharing", "merged"), [(6, False), (5, True)])
def test_a_name_and_birth_date_shared_by_many_profiles_count_for_nothing(api: Api, sharing: int, merged: bool) -> None:
    crm = enroll(api, "crm", {"crmId": "CRM-LEE"}, lastName="Lee", dateOfBirth="1990-09-09")
    for i in range(sharing - 1):  # other customers with the same surname and birth date
        enroll(api, f"n-{i}", {"crmId": f"CRM-{i}"}, lastName="Lee", dateOfBirth="1990-09-09")
    web_login(api, "w-1", "lee")  # the login's own profile
    login = enroll(api, "l", oidc("lee"), crmId="CRM-LEE", lastName="Lee", dateOfBirth="1990-09-09")
    # The CRM id is one factor; surname and birth date are two more unless more than 5 profiles share them.
    assert bool(login["merges"]) is merged
    assert reasons(login)["crm"] == ("matched:matched_by_merge" if merged else "suggested:shared_value")
    assert api.profile(crm["profileId"])["status"] == ("merged" if merged else "active")


# -- 2. undo is remembered ---------------------------------------------------------------------------------------


def test_an_undone_merge_is_not_redone_by_the_same_evidence(api: Api) -> None:
    login = web_login(api, "w-1", "carol")
    old = enroll(api, "old", {"crmId": "CRM-42"}, phone=HOME)
    merged = enroll(api, "m-1", oidc("carol"), crmId="CRM-42", phone=HOME)
    [merge] = merged["merges"]
    api.unmerge(merge["mergeId"])
    again = enroll(api, "m-2", oidc("carol"), crmId="CRM-42", phone=HOME)
    assert again["merges"] == [] and reasons(again)["crm"] == "suggested:merge_undone"
    assert api.profile(old["profileId"])["status"] == "active"
    assert web_login(api, "w-2", "carol")["profileId"] == login["profileId"]
    refused = [e for e in api.audit(login["profileId"]) if e["action"] == "merge_refused"]
    assert refused and refused[-1]["reason"] == "merge_undone"
    # New, stronger evidence: a third independent factor both sides agree on.
    enroll(api, "dob-old", {"crmId": "CRM-42"}, dateOfBirth="1985-05-05")
    stronger = enroll(api, "m-3", oidc("carol"), crmId="CRM-42", phone=HOME, dateOfBirth="1985-05-05")
    assert [m["absorbedProfileId"] for m in stronger["merges"]] == [old["profileId"]]


def test_an_undone_session_adoption_is_not_redone(api: Api) -> None:
    visit = api.stitch(channel="web", conversationId="w-0", webSessionId="s-1")
    web_login(api, "w-1", "dora")
    adopted = web_login(api, "w-2", "dora", webSessionId="s-1")
    [merge] = adopted["merges"]
    api.unmerge(merge["mergeId"])
    again = web_login(api, "w-3", "dora", webSessionId="s-1")
    assert again["merges"] == [] and api.profile(visit["profileId"])["status"] == "active"


# -- 3. placeholders and junk ------------------------------------------------------------------------------------

PHONES = ["+10000000000", "+1 000 000 0000", "10000000000", "0000000000", "+1 111 111 1111", "+1 202 222 2222",
          "1234567890", "+1 987 654 3210", "+15552017788", "+44 0000 000000", "00000000000000"]
JUNK = ["NaN", "nan", " NaN ", "Infinity", "-Infinity", "[object Object]", "undefined", "UNDEFINED", "null", "Null",
        "None", "nil", "0", "-1", "{}", "[]", "(null)", '"undefined"', "undefined-undefined", "N/A"]


@pytest.mark.parametrize("phone", PHONES)
def test_placeholder_and_invalid_phones_never_link_strangers(api: Api, migrated: Store, phone: str) -> None:
    error = api.stitch(expect=422, channel="sms", conversationId="s-1", phone=phone, phoneVerified=True)
    assert error["field"] == "phone"
    assert api.context(expect=422, phone=phone)["field"] == "phone"
    assert count(migrated, "links") == 0


@pytest.mark.parametrize("junk", JUNK)
def test_what_a_broken_page_sends_for_a_missing_id_never_links_strangers(api: Api, migrated: Store, junk: str) -> None:
    for field, extra in (("crmId", {}), ("webSessionId", {}), ("oidcSubject", {"oidcIssuer": ISSUER}),
                         ("conversationId", {})):
        body: dict[str, Any] = {"channel": "web", "conversationId": "c-1", **extra, field: junk}
        response = api.client.post("/v1/stitch", json=body, headers=AUTH)
        assert response.status_code == 422 and response.json()["field"] == field, (field, response.text)
    for field in ("agentId", "queueId"):
        response = api.client.post("/v1/interactions", json={"conversationId": "c-1", field: junk}, headers=AUTH)
        assert response.status_code == 422 and response.json()["field"] == field, (field, response.text)
    enrolled = api.client.post("/v1/enrollments", json={"source": "crm", "anchor": {"crmId": junk}, "phone": HOME},
                               headers={"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": "k"})
    assert enrolled.status_code == 422 and enrolled.json()["field"] == "anchor.crmId"
    assert count(migrated, "profiles") == 0


# -- 4. unambiguous keys, 5. email keys --------------------------------------------------------------------------


def test_oidc_keys_do_not_collide(api: Api) -> None:
    a = api.stitch(channel="web", conversationId="w-1", oidcIssuer="https://i.example", oidcSubject="x|1", oidcVerified=True)
    b = api.stitch(channel="web", conversationId="w-2", oidcIssuer="https://i.example/x", oidcSubject="1", oidcVerified=True)
    assert a["profileId"] != b["profileId"] and a["created"] and b["created"]
    piped = api.stitch(expect=422, channel="web", conversationId="w-3", oidcIssuer="https://i.example|x", oidcSubject="1",
                       oidcVerified=True)
    assert piped["field"] == "oidcIssuer"
    [link] = api.profile(a["profileId"])["links"]
    unlinked = api.client.post("/v1/links/unlink", json={"type": "oidc", "value": link["value"]}, headers=AUTH)
    assert unlinked.status_code == 200 and unlinked.json()["profileId"] == a["profileId"]


def test_email_keys_fold_ascii_case_only(api: Api) -> None:
    def owner(email: str, conversation: str) -> str:
        return str(enroll(api, conversation, {"crmId": f"CRM-{conversation}"}, email=email)["profileId"])

    ascii_alice = owner("Alice@Example.com", "1")
    assert owner("ALICE@example.COM", "2") != ascii_alice  # matched: the second CRM anchor is refused the email...
    assert api.context(expect=200, profileId=ascii_alice)["found"] is True
    profile = api.profile(ascii_alice)
    assert {"type": "email", "value": "alice@example.com", "verified": True, "reason": "verified_identifier"} in profile["links"]
    full_width = enroll(api, "3", {"crmId": "CRM-3"}, email="\uff41\uff4c\uff49\uff43\uff45@example.com")
    assert reasons(full_width)["email"] == "linked:verified_identifier"  # a different address, not alice@
    kelvin = enroll(api, "4", {"crmId": "CRM-4"}, email="\u212aim@example.com")
    plain = enroll(api, "5", {"crmId": "CRM-5"}, email="kim@example.com")
    assert reasons(kelvin)["email"] == reasons(plain)["email"] == "linked:verified_identifier"


# -- 6. NUL characters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "extra"), [
    ("lastName", {}), ("email", {}), ("oidcSubject", {"oidcIssuer": ISSUER}), ("oidcIssuer", {"oidcSubject": "s"}),
    ("crmId", {}), ("phone", {}), ("conversationId", {}), ("webSessionId", {}), ("dateOfBirth", {}),
])
def test_a_nul_character_is_422_on_both_stores(api: Api, migrated: Store, field: str, extra: dict[str, str]) -> None:
    for bad in ("ab\x00cd", "ab\ud800cd"):  # NUL (PostgreSQL text cannot hold it), a lone surrogate (not UTF-8)
        body = {"channel": "web", "conversationId": "c-1", **extra, field: bad}
        response = api.client.post("/v1/stitch", content=json.dumps(body).encode(),
                                   headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert count(migrated, "profiles") == 0


def test_a_nul_character_in_ids_and_queries_is_404_or_422_never_500(api: Api) -> None:
    for path in ("/v1/profiles/a%00b", "/v1/profiles/a%00b/audit"):
        assert api.client.get(path, headers=AUTH).status_code == 404
    assert api.client.post("/v1/merges/a%00b/undo", json={}, headers=AUTH).status_code == 404
    for params, field in (({"phone": "+1202555\x000160"}, "phone"), ({"asOf": "2026\x00"}, "asOf"),
                          ({"phone": HOME, "excludeConversationId": "a\x00"}, "excludeConversationId")):
        response = api.client.get("/v1/context", params=params, headers=AUTH)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert api.client.get("/v1/context", params={"profileId": "a\x00b"}, headers=AUTH).status_code == 404
    for body in ({"webSessionId": "a\x00b"}, {"type": "email", "value": "a\x00@example.com"}, {"note": "x\x00"}):
        path = "/v1/sessions/end" if "webSessionId" in body else "/v1/links/unlink" if "type" in body else "/v1/merges/m/undo"
        response = api.client.post(path, json=body, headers=AUTH)
        assert response.status_code == 422, (path, response.text)
    enrolled = api.client.post("/v1/enrollments", json={"source": "crm", "anchor": oidc("a\x00b"), "phone": HOME},
                               headers={"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": "k"})
    assert enrolled.status_code == 422 and enrolled.json()["field"] == "anchor.oidcSubject"
    assert api.client.get("/readyz").status_code == 200  # the connection pool survived


# -- 7. errors name the right field, duplicate keys --------------------------------------------------------------


def test_errors_name_the_field_at_fault(api: Api, clock: Clock) -> None:
    error = api.stitch(expect=422, channel="web", conversationId="c", oidcIssuer="http://login.example.com",
                       oidcSubject="s", oidcVerified=True)
    assert error["field"] == "oidcIssuer" and "https" in error["message"]
    for number, malformed in enumerate(("https://[", "https://[::1", "https://a]b", "https://[x]y]")):  # urlsplit raises
        error = api.stitch(expect=422, channel="web", conversationId="c", oidcIssuer=malformed, oidcSubject="s",
                           oidcVerified=True)
        assert error["field"] == "oidcIssuer" and "https" in error["message"], malformed
        assert enroll(api, f"k-{number}", {"oidcIssuer": malformed, "oidcSubject": "s"}, expect=422,
                      phone=HOME)["field"] == "anchor.oidcIssuer"
        unlinked = api.client.post("/v1/links/unlink", json={"type": "oidc", "value": f"{malformed}|s"}, headers=AUTH)
        assert unlinked.status_code == 422 and unlinked.json()["field"] == "value"
    assert api.stitch(expect=422, channel="web", conversationId="c", oidcSubject="s")["field"] == "oidcIssuer"
    assert api.stitch(expect=422, channel="web", conversationId="c", oidcIssuer=ISSUER,
                      oidcVerified=True)["field"] == "oidcSubject"
    # A flow that always sends its issuer: a guest (no subject, not verified) simply has no login.
    guest = api.stitch(channel="web", conversationId="g", oidcIssuer=ISSUER, oidcSubject="", oidcVerified=False)
    assert guest["outcomes"] == [] and guest["verified"] is False
    far = "2020-01-01T00:00:00Z"
    assert api.context(expect=422, phone=HOME, asOf=far)["field"] == "asOf"
    assert api.context(expect=422, phone=HOME, asOf="2999-01-01T00:00:00Z")["field"] == "asOf"
    assert api.stitch(expect=422, channel="sms", conversationId="c", occurredAt=far)["field"] == "occurredAt"


@pytest.mark.parametrize(("raw", "field"), [
    ('{"channel": "sms", "conversationId": "c-1", "phone": "+12025550160", "phone": "+12025550161", "phoneVerified": true}',
     "phone"),
    ('{"channel": "sms", "channel": "web", "conversationId": "c-1"}', "channel"),
    ('{"channel": "web", "conversationId": "c-1", "oidcVerified": false, "oidcVerified": true}', "oidcVerified"),
])
def test_duplicate_json_keys_are_refused(api: Api, migrated: Store, raw: str, field: str) -> None:
    response = api.client.post("/v1/stitch", content=raw.encode(), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert count(migrated, "profiles") == 0
    twice = api.client.get("/v1/context?phone=%2B12025550160&phone=%2B12025550161", headers=AUTH)
    assert twice.status_code == 422 and twice.json()["field"] == "phone"
    nested = json.dumps({"source": "crm", "anchor": {"crmId": "CRM-1"}})[:-1] + ', "anchor": {"crmId": "CRM-2"}}'
    enrolled = api.client.post("/v1/enrollments", content=nested.encode(),
                               headers={"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": "k",
                                        "Content-Type": "application/json"})
    assert enrolled.status_code == 422 and enrolled.json()["field"] == "anchor"


# -- 8. shared computer ------------------------------------------------------------------------------------------


def test_a_second_login_on_a_live_session_owns_it_from_then_on(api: Api) -> None:
    first = web_login(api, "w-1", "alice", webSessionId="shared-pc")
    api.record(conversationId="w-1", agentId="agent-1", topic="alice's order")
    second = web_login(api, "w-2", "bob", webSessionId="shared-pc")
    assert second["profileId"] != first["profileId"]
    assert reasons(second)["web_session"] == "linked:web_session_taken_over_by_login"
    assert [link["value"] for link in api.profile(second["profileId"])["links"] if link["type"] == "web_session"] == ["shared-pc"]
    assert all(link["type"] != "web_session" for link in api.profile(first["profileId"])["links"])
    # A later guest message on that browser reaches neither person's profile through the session id.
    guest = api.stitch(channel="web", conversationId="w-3", webSessionId="shared-pc")
    assert guest["profileId"] not in (first["profileId"], second["profileId"]) and guest["verified"] is False
    assert reasons(guest)["web_session"] == "refused:session_bound_to_another_profile"
    # Alice logging in again on the same browser takes it back; Bob's profile is no longer reachable.
    back = web_login(api, "w-4", "alice", webSessionId="shared-pc")
    assert back["profileId"] == first["profileId"]
    assert reasons(back)["web_session"] == "linked:web_session_taken_over_by_login"
    trail = api.audit(second["profileId"])
    assert [e["action"] for e in trail].count("session_taken_over") == 2


def test_a_guest_on_a_logged_in_customers_live_session_never_reaches_the_profile(api: Api) -> None:
    customer = web_login(api, "w-1", "carl", webSessionId="s-carl")
    api.record(conversationId="w-1", agentId="agent-9", topic="carl's refund")
    guest = api.stitch(channel="web", conversationId="w-2", webSessionId="s-carl")
    assert guest["profileId"] != customer["profileId"] and guest["verified"] is False
    assert api.context(profileId=guest["profileId"])["agentId"] is None


# -- the same attacks against the real server process (uvicorn, one keep-alive connection) -----------------------


def test_the_real_server_answers_junk_and_nul_without_500_or_a_dropped_connection(
    database_url: str, services: Callable[..., ServiceProcess],
) -> None:
    service = services(database_url, STITCHING_ENROLLMENT_TOKEN=ENROLLMENT_TOKEN)
    enrollment = {"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": "e-1"}
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=10) as client:
        attacks: list[tuple[str, str, Any, int]] = [
            ("POST", "/v1/stitch", {"channel": "web", "conversationId": "c-1", "lastName": "a\x00b"}, 422),
            ("POST", "/v1/stitch", {"channel": "web", "conversationId": "c-1", "oidcIssuer": ISSUER,
                                    "oidcSubject": "a\x00b", "oidcVerified": True}, 422),
            ("POST", "/v1/stitch", {"channel": "sms", "conversationId": "c-1", "phone": "+1 000 000 0000",
                                    "phoneVerified": True}, 422),
            ("POST", "/v1/stitch", {"channel": "web", "conversationId": "c-1", "crmId": "[object Object]"}, 422),
            ("GET", "/v1/profiles/a%00b", None, 404),
            ("POST", "/v1/merges/a%00b/undo", {}, 404),
        ]
        for method, path, body, status in attacks:
            response = client.request(method, path, json=body)
            assert response.status_code == status, (path, body, response.text)
        duplicate = client.post("/v1/stitch", content=b'{"channel": "sms", "channel": "web", "conversationId": "c"}',
                                headers={"Content-Type": "application/json"})
        assert duplicate.status_code == 422 and duplicate.json()["field"] == "channel"
        assert client.post("/v1/enrollments", json={"source": "crm", "anchor": {"crmId": "CRM-1"}, "phone": HOME},
                           headers=enrollment).status_code == 200
        # The same connection and the same database connections still work.
        sms = client.post("/v1/stitch", json={"channel": "sms", "conversationId": "s-1", "phone": HOME, "phoneVerified": True})
        assert sms.status_code == 200 and sms.json()["decision"] == "matched"
        assert client.get("/readyz").status_code == 200
    assert "Traceback" not in service.log.read_text()


# -- a sweep: nasty values in every field of every call, none may give a 5xx ------------------------------------

NASTY: list[Any] = ["", " ", "\x00", "a\x00", "\ud800", "\u202e", "\u200b", "NaN", "[object Object]", "x" * 300, "\U0001f600",
                    "\uff4e\uff55\uff4c\uff4c", "\u212a", "https://x|y", "https://x", "http://x", "+1 202 555 0143",
                    "2025550143", "+10000000000", "a@b.c", "ALICE@EXAMPLE.COM", "1970-01-01", "9999-99-99",
                    "2026-11-22T05:00:00Z", "0", "-1", "true", 1, 1.5, None, True, [], {}, "%00", "\\u0000",
                    "'; DROP TABLE links; --", "\n", "\t", "web", "sms"]
STITCH_FIELDS = ["channel", "conversationId", "oidcIssuer", "oidcSubject", "oidcVerified", "crmId", "crmIdVerified", "phone",
                 "phoneVerified", "email", "emailVerified", "webSessionId", "lastName", "dateOfBirth", "occurredAt"]


def test_a_sweep_of_nasty_values_through_every_call_never_gets_a_5xx(api: Api) -> None:
    import random
    from urllib.parse import quote

    rng = random.Random(17)
    json_headers = {**AUTH, "Content-Type": "application/json"}
    seen: dict[int, int] = {}

    def post(path: str, body: Any, headers: dict[str, str] = json_headers) -> None:
        response = api.client.post(path, content=json.dumps(body).encode(), headers=headers)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (path, body, response.text)

    for i in range(60):
        body: dict[str, Any] = {"channel": rng.choice(["web", "sms"]), "conversationId": f"c-{i}"}
        for name in rng.sample(STITCH_FIELDS, rng.randint(1, 5)):
            body[name] = rng.choice(NASTY)
        post("/v1/stitch", body)
        anchor = rng.choice([{"crmId": rng.choice(NASTY)}, {"oidcIssuer": rng.choice(NASTY), "oidcSubject": rng.choice(NASTY)},
                             {}, rng.choice(NASTY)])
        enrollment: dict[str, Any] = {"source": rng.choice(["crm", "\x00", "", "a b"]), "anchor": anchor}
        for name in rng.sample(["phone", "email", "crmId", "lastName", "dateOfBirth", "occurredAt"], 2):
            enrollment[name] = rng.choice(NASTY)
        post("/v1/enrollments", enrollment, {"Authorization": f"Bearer {ENROLLMENT_TOKEN}", "Idempotency-Key": f"k{i}",
                                             "Content-Type": "application/json"})
        value = rng.choice(NASTY)
        text = "%ED%A0%80" if value == "\ud800" else str(value)
        response = api.client.get("/v1/context", headers=AUTH, params={
            rng.choice(["phone", "profileId", "asOf", "excludeConversationId", "windowMinutes"]): text})
        assert response.status_code < 500, (text, response.text)
        post("/v1/interactions", {"conversationId": rng.choice(["c-1", value]),
                                  rng.choice(["agentId", "queueId", "topic", "wrapupCode", "occurredAt"]): rng.choice(NASTY)})
        post("/v1/links/unlink", {"type": rng.choice(["oidc", "crm", "phone", "email", "web_session"]), "value": value})
        post("/v1/sessions/end", {"webSessionId": value})
        assert api.client.get(f"/v1/profiles/{quote(text, safe='')}", headers=AUTH).status_code < 500
        assert api.client.post(f"/v1/merges/{quote(text, safe='')}/undo", json={}, headers=AUTH).status_code < 500
    assert seen.get(200, 0) > 0 and seen.get(422, 0) > 100  # the sweep reached both the work and the refusals
