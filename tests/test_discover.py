"""`genesys discover` against the fake Genesys API answering in the Platform API's shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genesys_identity import cli
from genesys_identity.genesys import discover
from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from tests.fakes.genesys_api import CLIENT_ID, CLIENT_SECRET, FakeGenesys

TYPE_ID = "oidc-messenger-type-7"


def _org(fake: FakeGenesys) -> None:
    """An org whose OIDC Messenger type uses names unlike the project's old guesses, so nothing passes by luck."""
    fake.integration_types += [
        {"id": "custom-rest-actions", "name": "Web Services Data Actions",
         "credentials": {"basicAuth": {"required": True, "title": "Credentials",
                                       "credentialTypes": ["basicAuth", "userDefined", "userDefinedOAuth"]}}},
        {"id": TYPE_ID, "name": "OpenID Connect Messenger Configuration",
         "credentials": {"idpClient": {"required": True, "title": "Identity provider client",
                                       "credentialTypes": ["oidcClientCredential"]}}},
    ]
    fake.config_schemas[(TYPE_ID, "properties")] = {
        "id": f"{TYPE_ID}-properties", "title": "OIDC Messenger", "type": "object", "required": ["issuerDiscovery"],
        "properties": {
            "issuerDiscovery": {"type": "string", "title": "Discovery URI", "format": "uri"},
            "maxRefreshLifetime": {"type": "integer", "title": "Max Refresh Token Lifetime",
                                   "description": "Seconds, 15 minutes to 90 days"},
            "implicitFlowSupport": {"type": "boolean", "title": "Implicit flow support"},
        },
    }
    fake.credential_types += [
        {"id": "ct-1", "name": "userDefinedOAuth", "properties": {"clientId": {"type": "string"},
                                                                  "clientSecret": {"type": "string"}}},
        {"id": "ct-2", "name": "oidcClientCredential", "required": ["idpClientId", "idpClientSecret"],
         "displayOrder": ["idpClientId", "idpClientSecret"],
         "properties": {"idpClientId": {"type": "string", "title": "Client ID"},
                        "idpClientSecret": {"type": "string", "title": "Client Secret"}}},
    ]


def _factory(url: str) -> Any:
    return lambda region: GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, CLIENT_SECRET))


def test_discover_reads_every_name_from_the_org(fake_genesys: tuple[FakeGenesys, str]) -> None:
    fake, url = fake_genesys
    _org(fake)
    found = discover.discover(_factory(url)(None))
    assert found.settings() == {
        "oidcIntegrationTypeId": TYPE_ID, "oidcDiscoveryUriProperty": "issuerDiscovery",
        "oidcRefreshTokenLifetimeProperty": "maxRefreshLifetime", "oidcCredentialSlot": "idpClient",
        "oidcCredentialType": "oidcClientCredential", "oidcClientIdField": "idpClientId",
        "oidcClientSecretField": "idpClientSecret",
    }
    paths = [c.path for c in fake.calls]
    assert "/api/v2/integrations/types?pageSize=100&pageNumber=1" in paths
    assert f"/api/v2/integrations/types/{TYPE_ID}/configschemas/properties" in paths
    assert fake.refused == []  # every answer had its Platform API model's shape


def test_write_pins_the_values_in_the_stack_file(fake_genesys: tuple[FakeGenesys, str], tmp_path: Path) -> None:
    fake, url = fake_genesys
    _org(fake)
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("# comment stays\nconfig:\n  genesys-identity:region: us-east-1\n"
                     "  genesys-identity:oidcCredentialSlot: oauthClient\n")
    out = discover.run("us-east-1", discover.TYPE_NAME, stack, client_factory=_factory(url))
    assert "genesys-identity:oidcCredentialSlot: idpClient" in out and f"Written to {stack}" in out
    text = stack.read_text()
    assert text.startswith("# comment stays\nconfig:\n  genesys-identity:region: us-east-1\n")
    assert '  genesys-identity:oidcCredentialSlot: "idpClient"\n' in text and "oauthClient" not in text
    assert f'  genesys-identity:oidcIntegrationTypeId: "{TYPE_ID}"\n' in text


def test_the_stack_then_declares_the_integration_with_those_names(fake_genesys: tuple[FakeGenesys, str],
                                                                   project_copy: Path) -> None:
    import json

    from genesys_identity.plan import evaluate

    fake, url = fake_genesys
    _org(fake)
    discover.run(None, discover.TYPE_NAME, project_copy / "Pulumi.dev.yaml", client_factory=_factory(url))
    resources = {r["name"]: r for r in evaluate(project_copy, "dev").resources}
    integration = resources["messenger-oidc"]["inputs"]
    assert integration["integrationType"] == TYPE_ID
    assert integration["config"]["credentials"] == {"idpClient": "(id of messenger-oidc-credential)"}
    assert set(json.loads(integration["config"]["properties"])) == {"issuerDiscovery", "maxRefreshLifetime"}
    credential = resources["messenger-oidc-credential"]["inputs"]
    assert credential["credentialTypeName"] == "oidcClientCredential" and credential["fields"] == "[secret]"


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.integration_types.pop(), "no integration type named 'OpenID Connect Messenger Configuration' found"),
    (lambda f: f.config_schemas[(TYPE_ID, "properties")]["properties"].pop("issuerDiscovery"),
     "no property of the discovery URI found (the org offers: implicitFlowSupport, maxRefreshLifetime)"),
    (lambda f: f.config_schemas[(TYPE_ID, "properties")]["properties"].update(
        {"refreshEnabled": {"type": "boolean", "title": "Refresh tokens"}}),
     "several candidates for property of the max refresh token lifetime: maxRefreshLifetime, refreshEnabled"),
    (lambda f: f.credential_types.pop(), "credential type 'oidcClientCredential' is not listed"),
])
def test_what_the_org_does_not_settle_is_refused_not_guessed(fake_genesys: tuple[FakeGenesys, str], change: Any,
                                                             message: str) -> None:
    fake, url = fake_genesys
    _org(fake)
    change(fake)
    with pytest.raises(discover.DiscoveryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        discover.discover(_factory(url)(None))


def test_the_command_uses_the_providers_environment_and_fails_in_one_line(
        fake_genesys: tuple[FakeGenesys, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake, url = fake_genesys
    _org(fake)
    for name in ("GENESYSCLOUD_OAUTHCLIENT_ID", "GENESYSCLOUD_OAUTHCLIENT_SECRET", "GENESYSCLOUD_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["genesys", "discover", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: Genesys Cloud OAuth client credentials are not set: export GENESYSCLOUD_OAUTHCLIENT_ID and "
                   "GENESYSCLOUD_OAUTHCLIENT_SECRET (the same variables the genesyscloud provider reads)\n")
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GENESYSCLOUD_REGION", "us-east-1")
    seen: list[str | None] = []

    def for_region(region: str, credentials: ClientCredentials, **kwargs: Any) -> GenesysApiClient:
        seen.append(region)
        assert credentials.client_id == CLIENT_ID
        return GenesysApiClient(api_base=url, login_base=url, credentials=credentials)

    monkeypatch.setattr(GenesysApiClient, "for_region", staticmethod(for_region))
    assert cli.main(["genesys", "discover"]) == 0
    out = capsys.readouterr().out
    assert seen == ["us-east-1"] and "genesys-identity:oidcIntegrationTypeId: oidc-messenger-type-7" in out
    assert CLIENT_SECRET not in out
