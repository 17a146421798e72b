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
    assert "genesys-identity:lastAgentWindow must be a duration between 1m and 7d" in message


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
        # The CLI requires every key without a default on every stack: exactly the required settings.
        assert ("default" not in entry) == spec.required, spec.key
        if not spec.required:
            default = entry["default"]
            assert (default if default != "" else None) == spec.default, spec.key
        # `secret: true` with a default fails on every stack that does not set it (the CLI checks the default).
        assert not entry.get("secret"), spec.key
        if spec.secret:
            assert "--secret" in entry["description"] and "GENESYS_IDENTITY_" in entry["description"], spec.key


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


# -- the Pulumi CLI's rules, applied by the offline plan before the program runs ----------------------------------

def write_stack(root: Path, config: dict[str, Any] | None, *, raw: str | None = None) -> None:
    path = root / "Pulumi.dev.yaml"
    if raw is not None:
        path.write_text(raw)
        return
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def edited_stack(root: Path, **changes: Any) -> None:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    for key, value in changes.items():
        full = f"genesys-identity:{key}"
        if value is REMOVE:
            config.pop(full, None)
        else:
            config[full] = value
    write_stack(root, config)


REMOVE = object()


def source_error(root: Path, **changes: Any) -> str:
    edited_stack(root, **changes)
    with pytest.raises(SettingsError) as caught:
        parse_settings(StackFileSource(root, "dev", ("oidcClientSecret", "stitchingDatabaseUrl")), stack="dev", environ={})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_shipped_stack_passes_the_cli_rules_without_any_secret_set() -> None:
    # Neither secret is in Pulumi.dev.yaml nor in the environment: the CLI lets the program run (both have a
    # default), and the program's environment route can be reached.
    source = StackFileSource(ROOT, "dev")
    assert source.get("genesys-identity:oidcClientSecret") == ""
    assert source.get("genesys-identity:stitchingDatabaseUrl") == ""


def test_every_key_without_a_default_is_required_with_the_clis_message(project_copy: Path) -> None:
    assert source_error(project_copy, webQueue=REMOVE) == (
        "Pulumi.dev.yaml: Stack 'dev' is missing configuration value 'webQueue' "
        "(set it with `pulumi config set <key> <value> --stack dev`)")
    assert "is missing configuration values 'region', 'smsQueue' and 'webQueue' (" in source_error(
        project_copy, webQueue=REMOVE, smsQueue=REMOVE, region=REMOVE)


def test_a_stack_file_without_config_says_so(project_copy: Path) -> None:
    write_stack(project_copy, None, raw="# nothing yet\nencryptionsalt: v1:abc\n")
    with pytest.raises(SettingsError) as caught:
        StackFileSource(project_copy, "dev")
    assert str(caught.value).startswith("Pulumi.dev.yaml has no 'config:' section, so Stack 'dev' is missing "
                                        "configuration values 'allowedDomains', ")


def test_a_project_secret_key_must_hold_a_secure_value_even_with_a_default(project_copy: Path) -> None:
    project = project_copy / "Pulumi.yaml"
    project.write_text(project.read_text().replace(
        "  oidcClientSecret:\n    type: string\n", "  oidcClientSecret:\n    type: string\n    secret: true\n"))
    with pytest.raises(SettingsError) as caught:
        StackFileSource(project_copy, "dev")
    assert str(caught.value) == ("Pulumi.dev.yaml: Stack 'dev' with configuration key 'oidcClientSecret' must be "
                                 "encrypted as it's secret")
    edited_stack(project_copy, oidcClientSecret={"secure": "v1:AAAA"})
    assert StackFileSource(project_copy, "dev").is_secret("genesys-identity:oidcClientSecret")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("stitchingReplicas", "two", "must be of type 'integer'"),
    ("authenticationEnabled", "yes", "must be of type 'boolean'"),
    ("allowedDomains", "www.example.com", "must be of type 'array<string>' (a single value; write a YAML list"),
    ("smsNumbers", "+13175550100", "must be of type 'array<string>' (a single value"),
    ("webQueue", ["a", "b"], "must be of type 'string'"),
    ("webQueue", None, "must be of type 'string' (the key is there with an empty value)"),
])
def test_values_of_the_wrong_type_get_the_clis_message(project_copy: Path, key: str, value: Any, expected: str) -> None:
    assert source_error(project_copy, **{key: value}) .startswith(
        f"Pulumi.dev.yaml: Stack 'dev' with configuration key '{key}' {expected}")


def test_an_empty_required_value_is_refused_not_named_none(project_copy: Path) -> None:
    assert source_error(project_copy, webQueue="") == (
        "Pulumi.dev.yaml: genesys-identity:webQueue is empty (expected a queue name)")


def test_a_secure_value_on_a_key_that_is_not_secret_is_refused(project_copy: Path) -> None:
    message = source_error(project_copy, webQueue={"secure": "v1:AAAA"})
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:webQueue is a secure value, but webQueue is not a "
                              "secret setting: set it in plain text")


def test_a_scalar_for_a_list_never_leaks_a_json_parser_message() -> None:
    # What the program sees when the CLI's type check was skipped (`--skip-config-validation`): a plain string.
    message = error_for(allowedDomains="www.example.com")
    assert message == ("Pulumi.dev.yaml: genesys-identity:allowedDomains must be a non-empty list of host names without "
                       "scheme or path (got a single value; write a YAML list, one `- item` per line)")
    assert "Expecting value" not in error_for(smsNumbers="abc")


def test_web_and_sms_need_two_queues() -> None:
    message = error_for(smsQueue="acme dev web support")
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:smsQueue names the same queue as webQueue")


@pytest.mark.parametrize(("value", "expected"), [
    ("3f1c9a52-7d0e-4b8e-9c55-2a1d7e6b0c41", "is an id; name the SMS number itself in E.164 form"),
    ("(317) 555-0100", "is not an E.164 number: write + and the country code"),
    ("+1317", "is not an E.164 number"),
    ("+999123456789", "is not a possible phone number"),
])
def test_sms_numbers_are_e164_numbers(value: str, expected: str) -> None:
    assert expected in error_for(smsNumbers=[value])


def test_sms_numbers_are_kept_as_given() -> None:
    from genesys_identity.settings import parse_sms_numbers

    assert parse_sms_numbers(["+13175550100", "+442071838750"]) == ("+13175550100", "+442071838750")
    with pytest.raises(ValueError, match="listed twice"):
        parse_sms_numbers(["+13175550100", "+13175550100"])


def test_the_last_agent_window_stays_within_what_the_context_action_accepts() -> None:
    import json

    from genesys_identity.settings import MAX_LAST_AGENT_WINDOW

    contract = json.loads((ROOT / "data_actions" / "get-last-interaction-context.json").read_text())
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "windowMinutes" in node and isinstance(node["windowMinutes"], dict):
                found.append(node["windowMinutes"].get("maximum"))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(contract)
    assert found and all(m == MAX_LAST_AGENT_WINDOW.total_seconds() // 60 for m in found)
    assert error_for(lastAgentWindow="30d") == (
        "Pulumi.dev.yaml: genesys-identity:lastAgentWindow must be a duration between 1m and 7d such as 2h "
        "(got 30d, outside 1m .. 7d)")
    values = dev_values()
    values["genesys-identity:lastAgentWindow"] = "7d"
    assert parse(values).last_agent_window == timedelta(days=7)


def test_durations_print_the_way_they_are_written() -> None:
    assert error_for(oidcRefreshTokenLifetime="91d").endswith("(got 91d, outside 15m .. 90d)")
    assert "webSessionTimeout (3h) must not exceed lastAgentWindow (2h)" in error_for(webSessionTimeout="3h")


def test_a_service_url_with_a_path_the_ingress_cannot_serve_is_refused_on_kubernetes() -> None:
    external = dev_values()
    external["genesys-identity:stitchingServiceUrl"] = "https://api.example.com/stitching/"
    assert parse(external).stitching_service_url == "https://api.example.com/stitching"  # a proxy may strip it
    kubernetes = {**dev_values(), "genesys-identity:stitchingServiceUrl": "https://api.example.com/stitching",
                  "genesys-identity:stitchingDeployment": "kubernetes", "genesys-identity:stitchingKubeContext": "dev",
                  "genesys-identity:stitchingImage": "registry.example.com/stitching:1.0.0"}
    with pytest.raises(SettingsError) as caught:
        parse(kubernetes, environ={"GENESYS_IDENTITY_STITCHING_DATABASE_URL": "postgresql://db/ids"})
    message = str(caught.value)
    assert "whose path '/stitching' the Ingress cannot serve" in message and "https://api.example.com" in message
    assert "has a query or fragment" in error_for(stitchingServiceUrl="https://api.example.com?x=1")


def test_a_missing_overlay_names_the_key_and_a_relative_path(project_copy: Path) -> None:
    message = source_error(project_copy, catalogOverlay="catalog/dev-extra.yaml")
    assert message == ("Pulumi.dev.yaml: genesys-identity:catalogOverlay must be a project-relative path to a .yaml "
                       "overlay of the attribute catalog (catalog/dev-extra.yaml is not a file in the project)")
    assert str(project_copy) not in message


def test_kubernetes_needs_an_explicit_context() -> None:
    message = error_for(stitchingDeployment="kubernetes", stitchingImage="registry.example.com/stitching:1.0.0")
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:stitchingKubeContext is missing: the kubernetes "
                              "deployment names the kubeconfig context of its cluster")


def test_a_kubeconfig_is_named_by_its_path_never_pasted() -> None:
    values = {**dev_values(), "genesys-identity:stitchingDeployment": "kubernetes",
              "genesys-identity:stitchingKubeContext": "prod", "genesys-identity:stitchingImage": "r.example.com/s:1.0.0",
              "genesys-identity:stitchingKubeconfig": "apiVersion: v1\nclusters: []\n"}
    with pytest.raises(SettingsError, match=r"stitchingKubeconfig must be a kubeconfig file .*got the file's contents"):
        parse(values, environ={"GENESYS_IDENTITY_STITCHING_DATABASE_URL": "postgresql://db/ids"})
