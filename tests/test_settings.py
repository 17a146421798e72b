"""Stack settings: one clear line naming the stack, the key and what was expected."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_identity.errors import SettingsError
from genesys_identity.settings import KEYS, Secret, parse_settings
from genesys_identity.stackfile import OFFLINE_SECRET, StackFileSource
from tests.conftest import ROOT


class DictSource:
    def __init__(self, values: dict[str, Any], secrets: set[str] | frozenset[str] = frozenset()):
        self.values = values
        self.secrets = secrets

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def is_secret(self, key: str) -> bool:
        return key in self.secrets

    def keys(self) -> list[str]:
        return sorted(self.values)

    @property
    def root(self) -> Path:
        return ROOT


def dev_values() -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {k: v for k, v in raw.items()}


def parse(values: dict[str, Any], *, secret: str | None = "s3cr3t-value", environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    secrets = set()
    if secret is not None:
        values = {**values, "genesys-identity:oidcClientSecret": secret}
        secrets.add("genesys-identity:oidcClientSecret")
    return parse_settings(DictSource(values, secrets), stack="dev", environ=environ or {})


def error_for(**changes: Any) -> str:
    values = dev_values()
    for key, value in changes.items():
        full = f"genesys-identity:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    with pytest.raises(SettingsError) as caught:
        parse(values)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_dev_stack_parses_into_an_immutable_model() -> None:
    settings = parse(dev_values())
    assert settings.region == "us-east-1"
    assert settings.allowed_domains == ("www.dev.acme-support.example", "app.dev.acme-support.example")
    assert settings.last_agent_window == timedelta(hours=2)
    assert settings.web_session_timeout == timedelta(minutes=30)
    assert settings.oidc.refresh_token_lifetime == timedelta(days=30)
    assert settings.oidc.client_secret.reveal() == "s3cr3t-value"
    with pytest.raises(AttributeError):
        settings.region = "eu-west-1"  # type: ignore[misc]


def test_secret_never_shows_in_repr() -> None:
    settings = parse(dev_values())
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in repr(Secret("s3cr3t-value"))


def test_discovery_uri_that_is_not_https() -> None:
    message = error_for(oidcDiscoveryUri="http://idp.example/.well-known/openid-configuration")
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:oidcDiscoveryUri must be an https URL")
    assert "which is not https" in message


def test_allowed_domain_with_a_scheme() -> None:
    message = error_for(allowedDomains=["https://www.example.com"])
    assert "genesys-identity:allowedDomains" in message and "has a scheme" in message


def test_unknown_region_suggests_the_closest() -> None:
    message = error_for(region="us-east-7")
    assert "genesys-identity:region must be a Genesys Cloud region" in message
    assert "did you mean" in message


@pytest.mark.parametrize("window", ["0h", "-2h", "two hours", ""])
def test_window_that_is_not_a_positive_duration(window: str) -> None:
    if window == "":
        # empty means "unset": the default applies
        values = dev_values()
        values["genesys-identity:lastAgentWindow"] = ""
        assert parse(values).last_agent_window == timedelta(hours=2)
        return
    message = error_for(lastAgentWindow=window)
    assert "genesys-identity:lastAgentWindow must be a positive duration" in message


def test_missing_required_key() -> None:
    assert "genesys-identity:webQueue is missing (expected a queue name)" in error_for(webQueue=None)


def test_misspelled_key_is_refused_with_a_suggestion() -> None:
    message = error_for(lastAgentWindwo="2h")
    assert "genesys-identity:lastAgentWindwo is not a setting of this project; did you mean 'lastAgentWindow'?" in message


def test_refresh_token_lifetime_bounds() -> None:
    assert "oidcRefreshTokenLifetime" in error_for(oidcRefreshTokenLifetime="10m")
    assert "oidcRefreshTokenLifetime" in error_for(oidcRefreshTokenLifetime="91d")


def test_session_timeout_longer_than_window() -> None:
    assert "webSessionTimeout" in error_for(webSessionTimeout="3h")


def test_stitching_service_url_must_be_https_without_credentials() -> None:
    assert "not https" in error_for(stitchingServiceUrl="http://stitching.example")
    message = error_for(stitchingServiceUrl="https://user:hunter2@stitching.example")
    assert "credentials must not be embedded" in message and "hunter2" not in message


def test_secret_in_plain_text_is_refused_without_echoing_it() -> None:
    values = {**dev_values(), "genesys-identity:oidcClientSecret": "plain-s3cret"}
    with pytest.raises(SettingsError) as caught:
        parse_settings(DictSource(values), stack="dev", environ={})
    assert "stored in plain text" in str(caught.value)
    assert "plain-s3cret" not in str(caught.value)


def test_missing_secret_names_both_ways_to_set_it() -> None:
    with pytest.raises(SettingsError, match=r"pulumi config set --secret oidcClientSecret.*GENESYS_IDENTITY_OIDC_CLIENT_SECRET"):
        parse(dev_values(), secret=None)


def test_secret_from_the_environment() -> None:
    settings = parse(dev_values(), secret=None, environ={"GENESYS_IDENTITY_OIDC_CLIENT_SECRET": "from-env"})
    assert settings.oidc.client_secret.reveal() == "from-env"


def test_phone_region_is_checked_by_phonenumbers() -> None:
    assert "defaultPhoneRegion" in error_for(defaultPhoneRegion="XX")


def test_pulumi_yaml_documents_every_setting_with_the_same_defaults() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == {spec.key for spec in KEYS}
    for spec in KEYS:
        entry = declared[spec.key]
        assert entry.get("description"), spec.key
        assert entry["type"] in ("string", "boolean", "array", "integer")
        assert bool(entry.get("secret", False)) == spec.secret, spec.key
        if not spec.required and not spec.secret:  # Pulumi gives a secret setting no default
            assert "default" in entry, spec.key
            default = entry["default"]
            assert (default if default != "" else None) == spec.default, spec.key
        else:
            assert "default" not in entry, spec.key


def test_dev_stack_keeps_no_plain_secret() -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert "oidcClientSecret" not in yaml.safe_load(text)["config"]


def test_stack_file_yaml_error_names_file_and_line(project_copy: Path) -> None:
    (project_copy / "Pulumi.dev.yaml").write_text("config:\n  genesys-identity:region: [us-east-1\n")
    with pytest.raises(SettingsError, match=r"^Pulumi.dev.yaml: line \d+, column \d+"):
        StackFileSource(project_copy, "dev")


def test_stack_file_secure_values_stay_masked(project_copy: Path) -> None:
    path = project_copy / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  genesys-identity:oidcClientSecret:\n    secure: v1:abc\n")
    source = StackFileSource(project_copy, "dev")
    assert source.get("genesys-identity:oidcClientSecret") == OFFLINE_SECRET
    assert source.is_secret("genesys-identity:oidcClientSecret")


def test_missing_stack_file(project_copy: Path) -> None:
    with pytest.raises(SettingsError, match=r"Pulumi\.prod\.yaml: file not found"):
        StackFileSource(project_copy, "prod")
