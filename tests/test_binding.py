"""The binding refuses every kind of schema violation before anything is registered."""

import pulumi
import pytest

from genesys_identity.errors import SchemaViolation
from genesys_identity.genesys.binding import translate

DEPLOYMENT = "genesyscloud_webdeployments_deployment"


def valid_deployment(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "web", "configuration": {"id": "cfg"}, "allowed_domains": ["example.com"]}
    base.update(changes)
    return base


def refused(terraform_type: str, attributes: dict[str, object]) -> str:
    with pytest.raises(SchemaViolation) as caught:
        translate(terraform_type, "probe", attributes)
    return str(caught.value)


def test_unknown_attribute_is_refused_with_its_name_and_a_suggestion() -> None:
    message = refused(DEPLOYMENT, valid_deployment(allowed_domain=["x.com"]))
    assert message.startswith("genesyscloud_webdeployments_deployment 'probe': allowed_domain: unknown attribute")
    assert "did you mean 'allowed_domains'" in message


def test_unknown_nested_attribute_names_its_path() -> None:
    message = refused(DEPLOYMENT, valid_deployment(configuration={"id": "c", "versoin": "1"}))
    assert "configuration.versoin: unknown attribute 'versoin'" in message


def test_missing_required_attribute() -> None:
    attributes = valid_deployment()
    del attributes["name"]
    assert "name: required attribute is missing" in refused(DEPLOYMENT, attributes)


def test_missing_required_block() -> None:
    attributes = valid_deployment()
    del attributes["configuration"]
    assert "configuration: required block is missing" in refused(DEPLOYMENT, attributes)


def test_missing_required_attribute_inside_a_block() -> None:
    message = refused("genesyscloud_webdeployments_configuration", {
        "name": "n", "default_language": "en-us", "languages": ["en-us"],
        "authentication_settings": {"enabled": True},
    })
    assert "authentication_settings.integration_id: required attribute is missing" in message


def test_value_outside_the_valid_values() -> None:
    message = refused("genesyscloud_routing_queue", {"name": "q", "last_agent_routing_mode": "Sometimes"})
    assert "last_agent_routing_mode: 'Sometimes' is not one of the valid values" in message
    assert "QueueMembersOnly" in message


def test_list_given_where_an_object_is_expected() -> None:
    message = refused(DEPLOYMENT, valid_deployment(configuration=[{"id": "c"}]))
    assert "configuration: a list was given where an object is expected" in message


def test_object_given_where_a_list_of_objects_is_expected() -> None:
    message = refused(DEPLOYMENT, valid_deployment(push_integrations={"id": "p", "provider": "FCM"}))
    assert "push_integrations: an object was given where a list of objects is expected" in message


def test_too_many_items_in_a_bounded_block() -> None:
    filters = [{"ip_address": f"10.0.0.{i}", "name": f"f{i}"} for i in range(11)]
    message = refused("genesyscloud_webdeployments_configuration", {
        "name": "n", "default_language": "en-us", "languages": ["en-us"],
        "journey_events": {"tracking_settings": {"ip_filters": filters}},
    })
    assert "journey_events.tracking_settings.ip_filters: allows at most 10 item(s), got 11" in message


@pytest.mark.parametrize(("changes", "expected"), [
    ({"allowed_domains": "example.com"}, "allowed_domains: expected list of string, got str"),
    ({"allowed_domains": ["ok.com", 7]}, "allowed_domains[1]: expected a string, got int 7"),
    ({"allow_all_domains": "yes"}, "allow_all_domains: expected a boolean, got str 'yes'"),
    ({"name": 12}, "name: expected a string, got int 12"),
])
def test_wrong_value_types(changes: dict[str, object], expected: str) -> None:
    assert expected in refused(DEPLOYMENT, valid_deployment(**changes))


def test_read_only_attribute_cannot_be_set() -> None:
    assert "snippet: is read-only" in refused(DEPLOYMENT, valid_deployment(snippet="<script>"))


def test_unknown_resource_type() -> None:
    with pytest.raises(SchemaViolation, match=r"genesyscloud_routing_queues: not a resource of provider 1\.84\.1"):
        translate("genesyscloud_routing_queues", "probe", {})


def test_outputs_pass_where_values_are_only_known_at_deploy_time() -> None:
    props, _ = translate(DEPLOYMENT, "probe", valid_deployment(flow_id=pulumi.Output.from_input("flow")))
    assert isinstance(props["flowId"], pulumi.Output)


def test_a_block_given_as_an_output_is_refused() -> None:
    message = refused(DEPLOYMENT, valid_deployment(configuration=pulumi.Output.from_input({"id": "c"})))
    assert "configuration: a block must be given as plain data" in message


def test_sensitive_attributes_become_secret_outputs() -> None:
    props, secrets = translate("genesyscloud_integration_credential", "probe",
                               {"name": "c", "credential_type_name": "basicAuth", "fields": {"password": "p"}})
    assert secrets == ["fields"]
    assert isinstance(props["fields"], pulumi.Output)
