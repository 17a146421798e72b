"""Dynamic resources for what provider 1.84.1 cannot declare, against a fake Genesys API on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from genesys_identity.errors import GenesysApiError, SettingsError
from genesys_identity.genesys.dynamic import RestSettingProvider
from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient, region_domain
from tests.fakes.genesys_api import CLIENT_ID, FakeGenesys

WEB = "webdeployment-identityresolution"
PATH = "/api/v2/webdeployments/deployments/dep-1/identityresolution"


def web_props(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "region": "us-east-1", "deployment_id": "dep-1", "division_id": None, "resolve_identities": True,
        "external_source_id": "src-1", "automerge_authenticated_web_messaging": True,
        "automerge_web_tracking": False,
    }
    props.update(changes)
    return props


@pytest.fixture
def provider(api_client_factory) -> RestSettingProvider:  # type: ignore[no-untyped-def]
    return RestSettingProvider(WEB, client_factory=api_client_factory)


def test_create_puts_the_document_and_returns_its_state(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    result = provider.create(web_props())
    assert result.id == "webdeployment-identityresolution/dep-1"
    assert state.documents[PATH] == {
        "resolveIdentities": True, "externalSource": {"id": "src-1"},
        "automerge": {"authenticatedWebMessaging": True, "webTracking": False},
    }
    assert result.outs["automerge_authenticated_web_messaging"] is True
    assert all(call.authorization == "Bearer token-1" for call in state.calls)


def test_read_reflects_changes_made_outside_pulumi(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    provider.create(web_props())
    state.documents[PATH]["automerge"]["webTracking"] = True
    read = provider.read("webdeployment-identityresolution/dep-1", web_props())
    assert read.outs["automerge_web_tracking"] is True
    assert read.outs["deployment_id"] == "dep-1"


def test_update_writes_the_new_values(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    provider.create(web_props())
    provider.update("id", web_props(), web_props(automerge_authenticated_web_messaging=False, division_id="div-9"))
    assert state.documents[PATH]["automerge"]["authenticatedWebMessaging"] is False
    assert state.documents[PATH]["division"] == {"id": "div-9"}


def test_delete_puts_identity_resolution_back_off(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    provider.create(web_props())
    provider.delete("id", web_props())
    assert state.documents[PATH]["resolveIdentities"] is False
    assert state.documents[PATH]["automerge"] == {"authenticatedWebMessaging": False, "webTracking": False}


def test_delete_of_a_deployment_that_is_gone_succeeds(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    provider.delete("id", web_props())  # the fake knows no deployment: 404


def test_diff_reports_changes_and_replacements(provider) -> None:  # type: ignore[no-untyped-def]
    same = provider.diff("id", web_props(), web_props())
    assert not same.changes
    toggled = provider.diff("id", web_props(), web_props(automerge_web_tracking=True))
    assert toggled.changes and toggled.replaces == []
    moved = provider.diff("id", web_props(), web_props(deployment_id="dep-2"))
    assert moved.changes and moved.replaces == ["deployment_id"]


def test_check_names_missing_and_mistyped_properties(provider) -> None:  # type: ignore[no-untyped-def]
    result = provider.check({}, web_props(deployment_id="", resolve_identities="yes"))
    reasons = sorted(f.reason for f in result.failures)
    assert reasons == [f"{WEB}: deployment_id is required", f"{WEB}: resolve_identities must be true or false"]


def test_sms_identity_resolution_uses_the_same_mechanism(api_client_factory, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.add_sms_number("num-1", "+13175550100", recipient_id="rcp-1")
    provider = RestSettingProvider("sms-identityresolution", client_factory=api_client_factory)
    props = {"region": "us-east-1", "phone_number": "+13175550100", "address_id": None, "division_id": None,
             "resolve_identities": True}
    created = provider.create(props)
    assert created.id == "sms-identityresolution/+13175550100"
    assert created.outs["address_id"] == "num-1"  # the number's id, read from the org, kept in the state
    assert state.documents["/api/v2/routing/sms/identityresolution/phonenumbers/num-1"] == {"resolveIdentities": True}
    provider.delete(created.id, created.outs)
    assert state.documents["/api/v2/routing/sms/identityresolution/phonenumbers/num-1"] == {"resolveIdentities": False}
    assert state.refused == []


def test_429_is_retried_after_the_retry_after_delay(provider, fake_genesys, sleeps) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    state.fail_next(429, times=2, headers={"Retry-After": "7"})
    provider.create(web_props())
    assert sleeps == [7.0, 7.0]
    assert state.documents[PATH]["resolveIdentities"] is True


def test_retry_after_as_an_http_date_or_garbage_still_waits(provider, fake_genesys, sleeps) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    state.fail_next(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # in the past: no wait
    state.fail_next(429, headers={"Retry-After": "soon"})  # unreadable: backoff
    provider.create(web_props())
    assert sleeps == [0.0, 2.0]


def test_503_on_an_idempotent_call_is_retried_with_backoff(provider, fake_genesys, sleeps) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    state.fail_next(503, times=2)
    provider.create(web_props())
    assert sleeps == [1.0, 2.0]


def test_persistent_429_gives_a_clear_error(provider, fake_genesys, sleeps) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.known_ids.add("dep-1")
    state.fail_next(429, times=10, headers={"Retry-After": "1"})
    with pytest.raises(GenesysApiError, match=r"PUT /api/v2/webdeployments/deployments/dep-1/identityresolution: HTTP 429"):
        provider.create(web_props())
    assert len(sleeps) == 4


def test_expired_token_is_renewed_once(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, url = fake_genesys
    state.known_ids.add("dep-1")
    client = GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, "fake-client-secret-Zq9"))
    client.put(PATH, {"resolveIdentities": True})
    state.revoke_tokens()
    assert client.get(PATH) == {"resolveIdentities": True}
    assert state.tokens_issued == 2


def test_wrong_client_secret_is_reported_without_the_secret(fake_genesys) -> None:  # type: ignore[no-untyped-def]
    _, url = fake_genesys
    client = GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, "wrong-Secret-77"))
    with pytest.raises(GenesysApiError) as caught:
        client.get(PATH)
    assert "HTTP 401" in str(caught.value) and "wrong-Secret-77" not in str(caught.value)


def test_api_error_carries_message_and_correlation_id(provider, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GenesysApiError, match=r"HTTP 404: dep-1 not found \(correlation id ctx-404\)"):
        provider.read("id", web_props())


def test_region_decides_the_hosts() -> None:
    assert region_domain("eu-west-1") == "mypurecloud.ie"
    client = GenesysApiClient.for_region("ap-southeast-2", ClientCredentials("a", "b"))
    assert client.api_base == "https://api.mypurecloud.com.au"
    assert client.login_base == "https://login.mypurecloud.com.au"
    with pytest.raises(SettingsError, match="unknown Genesys Cloud region 'mars-1'"):
        region_domain("mars-1")


def test_credentials_come_from_the_provider_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET"):
        GenesysApiClient.from_environment("us-east-1")
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", "id")
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret")
    monkeypatch.setenv("GENESYSCLOUD_REGION", "eu-central-1")
    assert GenesysApiClient.from_environment().api_base == "https://api.mypurecloud.de"
    assert "secret" not in repr(ClientCredentials("id", "secret"))


def test_fake_refuses_a_malformed_document(fake_genesys, api_client_factory) -> None:  # type: ignore[no-untyped-def]
    state: FakeGenesys = fake_genesys[0]
    state.known_ids.add("dep-1")
    with pytest.raises(GenesysApiError, match=r"HTTP 400: DeploymentIdentityResolutionConfig.resolveIdentities: expected bool"):
        api_client_factory("us-east-1").put(PATH, {"resolveIdentities": "yes"})


def test_an_sms_number_is_routed_to_a_flow_and_a_new_flow_is_an_update(api_client_factory, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.add_sms_number("num-1", "+13175550100", recipient_id="rcp-1")
    routing = RestSettingProvider("message-routing", client_factory=api_client_factory)
    props = {"region": "us-east-1", "phone_number": "+13175550100", "recipient_id": None, "flow_id": "flow-a"}
    created = routing.create(props)
    assert created.id == "message-routing/+13175550100" and created.outs["recipient_id"] == "rcp-1"
    assert state.documents["/api/v2/routing/message/recipients/rcp-1"]["flow"] == {"id": "flow-a"}
    moved = {**props, "flow_id": "flow-b"}
    diff = routing.diff(created.id, created.outs, moved)
    assert diff.changes and not diff.replaces
    routing.update(created.id, created.outs, moved)
    assert routing.read(created.id, created.outs).outs["flow_id"] == "flow-b"
    routing.delete(created.id, moved)  # Genesys wants a flow on a recipient: the last routing stays
    assert state.documents["/api/v2/routing/message/recipients/rcp-1"]["flow"] == {"id": "flow-b"}
    assert routing.diff(created.id, created.outs, {**props, "phone_number": "+13175550101"}).replaces == ["phone_number"]
    assert state.refused == []


def test_sms_numbers_resolve_across_pages_and_by_recipient_name(api_client_factory, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    from genesys_identity.genesys.dynamic import find_recipient, find_sms_number

    state, _ = fake_genesys
    for i in range(130):  # two pages of 100
        state.add_sms_number(f"num-{i}", f"+1317555{i:04d}", recipient_id=f"rcp-{i}")
    client = api_client_factory("us-east-1")
    assert find_sms_number(client, "+13175550129")["id"] == "num-129"
    assert find_recipient(client, "+13175550129", "num-129") == "rcp-129"  # on the second page, by its name
    numbers = [c.path for c in state.calls if c.path.startswith("/api/v2/routing/sms/phonenumbers")]
    assert numbers and all("phoneNumber=13175550129" in p for p in numbers)
    pages = [c.path for c in state.calls if c.path.startswith("/api/v2/routing/message/recipients")]
    assert len(pages) == 2 and all("messengerType=sms" in p for p in pages)
    assert state.refused == []


def test_a_recipient_with_the_numbers_id_is_its_recipient(api_client_factory, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    from genesys_identity.genesys.dynamic import find_recipient

    state, _ = fake_genesys
    state.add_sms_number("num-1", "+13175550100")  # recipient id == number id
    state.recipients[0]["name"] = "Support line"
    assert find_recipient(api_client_factory("us-east-1"), "+13175550100", "num-1") == "num-1"


def test_a_number_the_org_lacks_stops_the_deploy_naming_it(api_client_factory, fake_genesys) -> None:  # type: ignore[no-untyped-def]
    state, _ = fake_genesys
    state.add_sms_number("num-1", "+13175550100", recipient_id="rcp-1")
    routing = RestSettingProvider("message-routing", client_factory=api_client_factory)
    props = {"region": "us-east-1", "phone_number": "+13175550199", "recipient_id": None, "flow_id": "flow-a"}
    with pytest.raises(GenesysApiError, match=r"^message-routing: SMS number \+13175550199 is not provisioned in this org"):
        routing.create(props)
    # A number with no SMS recipient, and a number two recipients claim, are refused too.
    state.add_sms_number("num-2", "+13175550102", recipient_id="rcp-2")
    state.recipients.pop()
    with pytest.raises(GenesysApiError, match=r"SMS number \+13175550102 has no SMS message recipient"):
        routing.create({**props, "phone_number": "+13175550102"})
    state.recipients.append({"id": "rcp-x", "name": "+1 (317) 555-0100", "messengerType": "sms"})
    with pytest.raises(GenesysApiError, match=r"SMS number \+13175550100 matches several message recipients"):
        routing.create({**props, "phone_number": "+13175550100"})
    assert not any(c.method == "PUT" for c in state.calls)


def test_check_refuses_a_phone_number_that_is_not_e164() -> None:
    routing = RestSettingProvider("message-routing")
    result = routing.check({}, {"region": "us-east-1", "phone_number": "317-555-0100", "flow_id": "f"})
    assert [f.reason for f in result.failures] == [
        "message-routing: phone_number must be E.164 (+ and digits), got '317-555-0100'"]
