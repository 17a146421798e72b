"""The bridge's naming rules, checked on real attribute names of the vendored 1.84.1 schema."""

import base64
import json

import pytest

from genesys_identity.genesys.binding import PROVIDER_VERSION, package_parameter, translate
from genesys_identity.genesys.naming import pluralize, property_name, type_token
from genesys_identity.genesys.schema import load


@pytest.mark.parametrize(("terraform_type", "token"), [
    ("genesyscloud_routing_queue", "genesyscloud:index/routingQueue:RoutingQueue"),
    ("genesyscloud_flow", "genesyscloud:index/flow:Flow"),
    ("genesyscloud_webdeployments_configuration",
     "genesyscloud:index/webdeploymentsConfiguration:WebdeploymentsConfiguration"),
    ("genesyscloud_integration_action", "genesyscloud:index/integrationAction:IntegrationAction"),
    ("genesyscloud_externalcontacts_external_source",
     "genesyscloud:index/externalcontactsExternalSource:ExternalcontactsExternalSource"),
])
def test_type_tokens_follow_the_bridge_index_module(terraform_type: str, token: str) -> None:
    assert terraform_type in load().resources
    assert type_token(terraform_type) == token


def test_a_foreign_type_has_no_token() -> None:
    with pytest.raises(ValueError, match="not a genesyscloud Terraform resource type"):
        type_token("aws_s3_bucket")


@pytest.mark.parametrize(("word", "plural"), [
    ("mode", "modes"), ("localized_labels", "localized_labels"), ("pause_criteria", "pause_criteria"),
    ("click_event", "click_events"), ("status", "statuses"), ("entity", "entities"), ("address", "addresses"),
    ("series", "series"), ("contact_person", "contact_people"), ("matrix", "matrices"),
])
def test_rails_pluralization(word: str, plural: str) -> None:
    assert pluralize(word) == plural


def _pulumi_names(terraform_type: str, attributes: dict) -> dict:  # type: ignore[type-arg]
    return translate(terraform_type, "t", attributes)[0]


def test_unbounded_block_is_pluralized_and_max1_block_is_flattened() -> None:
    props = _pulumi_names("genesyscloud_webdeployments_configuration", {
        "name": "n", "default_language": "en-us", "languages": ["en-us"],
        "authentication_settings": {"enabled": True, "integration_id": "i", "allow_session_upgrade": False},
        "messenger": {"file_upload": {"mode": [{"file_types": ["image/png"], "max_file_size_kb": 100}]}},
        "journey_events": {"click_event": [{"event_name": "e", "selector": "#s"}]},
        "custom_i18n_labels": [{"language": "en-us", "localized_labels": [{"key": "PushNotificationTitle", "value": "v"}]}],
    })
    assert props["authenticationSettings"] == {"enabled": True, "integrationId": "i", "allowSessionUpgrade": False}
    assert props["messenger"] == {"fileUpload": {"modes": [{"fileTypes": ["image/png"], "maxFileSizeKb": 100}]}}
    assert props["journeyEvents"] == {"clickEvents": [{"eventName": "e", "selector": "#s"}]}
    labels = [{"key": "PushNotificationTitle", "value": "v"}]
    assert props["customI18nLabels"] == [{"language": "en-us", "localizedLabels": labels}]
    assert props["defaultLanguage"] == "en-us"


def test_list_attribute_already_plural_keeps_its_name() -> None:
    props = _pulumi_names("genesyscloud_webdeployments_deployment", {
        "name": "n", "allowed_domains": ["example.com"], "configuration": {"id": "c"},
    })
    assert props == {"name": "n", "allowedDomains": ["example.com"], "configuration": {"id": "c"}}


def test_plural_that_collides_with_a_sibling_keeps_the_singular() -> None:
    assert property_name("member", many=True, siblings={"member", "members"}) == "member"
    assert property_name("member", many=True, siblings={"member"}) == "members"
    assert property_name("member", many=False, siblings={"member"}) == "member"


def test_package_parameter_is_the_bridge_value_for_the_pinned_version() -> None:
    value = json.loads(base64.b64decode(package_parameter()))
    assert value == {"remote": {"url": "registry.opentofu.org/mypurecloud/genesyscloud", "version": "1.84.1"}}
    assert base64.b64decode(package_parameter()).decode().count(" ") == 0


def test_pinned_provider_version_is_the_vendored_schema_version() -> None:
    assert load().version == PROVIDER_VERSION == "1.84.1"
