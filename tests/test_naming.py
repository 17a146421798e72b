"""The bridge's naming rules, checked on real attribute names of the vendored 1.84.1 schema."""

import base64
import json

import pytest

from genesys_identity.genesys.binding import PROVIDER_VERSION, package_parameter, translate
from genesys_identity.genesys.naming import camel_case, pluralize, property_name, type_token
from genesys_identity.genesys.schema import Block, load


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
    ("mode", "modes"), ("localized_labels", "localized_labels"), ("pause_criteria", "pause_criterias"),
    ("click_event", "click_events"), ("status", "statuses"), ("entity", "entities"), ("address", "addresses"),
    ("series", "series"), ("contact_person", "contact_people"), ("matrix", "matrices"),
])
def test_bridge_pluralization(word: str, plural: str) -> None:
    assert pluralize(word) == plural


# Where pulumi/inflector v0.2.1 (CakePHP rules, what the bridge uses) and Rails differ, on every list
# attribute name of the provider's 1.84.1 docs (docs/resources/*.md at tag v1.84.1): Rails keeps these.
@pytest.mark.parametrize(("word", "plural"), [
    ("criteria", "criterias"), ("pause_criteria", "pause_criterias"), ("metadata", "metadatas"),
    ("column_information", "column_informations"),
])
def test_names_where_the_bridge_differs_from_rails(word: str, plural: str) -> None:
    assert pluralize(word) == plural


# Cases from pulumi/inflector's own inflector_test.go (pluralTests), v0.2.1.
@pytest.mark.parametrize(("word", "plural"), [
    ("categoria", "categorias"), ("powerhouse", "powerhouses"), ("Bus", "Buses"), ("news", "news"),
    ("food_menu", "food_menus"), ("FoodMenu", "FoodMenus"), ("quiz", "quizzes"), ("matrix_row", "matrix_rows"),
    ("vertex", "vertices"), ("index", "indices"), ("Aliases", "Aliases"), ("NodeMedia", "NodeMedia"),
    ("octopus", "octopuses"), ("virus", "viri"), ("people", "people"), ("crisis", "crises"), ("bureau", "bureaus"),
    ("roof", "roofs"), ("wolf", "wolves"), ("thief", "thieves"), ("buffalo", "buffalo"), ("tooth", "teeth"),
    ("objective", "objectives"), ("specie", "species"), ("", ""),
])
def test_upstream_cases(word: str, plural: str) -> None:
    assert pluralize(word) == plural


def test_replacements_are_expanded_as_go_does() -> None:
    # The rule (hive)$ -> "$1s": Go reads "$1s" as a group named "1s", which does not exist, so it is empty.
    assert pluralize("hive") == "" and pluralize("archive") == "arc"
    # "${1}${2}tatuses" names a second group that (s)tatus$ lacks: empty, not an error.
    assert pluralize("Status") == "Statuses"


@pytest.mark.parametrize(("snake", "camel"), [
    ("allow_session_upgrade", "allowSessionUpgrade"), ("a__b", "aB"), ("x_1y", "x1y"), ("_private", "_private"),
    ("trailing_", "trailing_"), ("custom_i18n_labels", "customI18nLabels"),
])
def test_camel_case_follows_terraform_to_pulumi_name(snake: str, camel: str) -> None:
    assert camel_case(snake) == camel


# Every list or set attribute and block of the vendored 1.84.1 schema whose MaxItems is not 1, with the name
# the bridge gives it.
SCHEMA_LIST_NAMES = {
    "action_set": "actionSets", "allowed_domains": "allowedDomains", "bullseye_rings": "bullseyeRings",
    "channels": "channels", "click_event": "clickEvents", "conditional_group_routing_rules": "conditionalGroupRoutingRules",
    "conditions": "conditions", "criteria": "criterias", "custom_i18n_labels": "customI18nLabels",
    "custom_messages": "customMessages", "enabled_categories": "enabledCategories",
    "excluded_query_parameters": "excludedQueryParameters", "file_types": "fileTypes",
    "flow_request_mappings": "flowRequestMappings", "form_track_event": "formTrackEvents", "groups": "groups",
    "idle_event": "idleEvents", "ids": "ids", "in_viewport_event": "inViewportEvents", "ip_filters": "ipFilters",
    "label_ids": "labelIds", "languages": "languages", "library_ids": "libraryIds", "localized_labels": "localizedLabels",
    "mask_selectors": "maskSelectors", "member_groups": "memberGroups", "members": "members", "mode": "modes",
    "module_settings": "moduleSettings", "operands": "operands", "page_url_conditions": "pageUrlConditions",
    "patterns": "patterns", "pause_criteria": "pauseCriterias", "permission_policies": "permissionPolicies",
    "permissions": "permissions", "phone_number": "phoneNumbers", "properties": "properties",
    "push_integrations": "pushIntegrations", "readonly_selectors": "readonlySelectors",
    "registered_redirect_uris": "registeredRedirectUris", "roles": "roles", "routing_rules": "routingRules",
    "rules": "rules", "scopes": "scopes", "screens": "screens", "scroll_depth_event": "scrollDepthEvents",
    "search_query_parameters": "searchQueryParameters", "skill_groups": "skillGroups",
    "skills_to_remove": "skillsToRemoves", "sub_type_settings": "subTypeSettings", "teams": "teams", "terms": "terms",
    "trigger_with_event_conditions": "triggerWithEventConditions",
    "trigger_with_outcome_probability_conditions": "triggerWithOutcomeProbabilityConditions",
    "trigger_with_outcome_quantile_conditions": "triggerWithOutcomeQuantileConditions",
    "trigger_with_segments": "triggerWithSegments", "values": "values", "wrapup_codes": "wrapupCodes",
}


def test_every_list_attribute_of_the_schema_gets_the_bridge_name() -> None:
    seen: dict[str, set[str]] = {}

    def walk(block: Block) -> None:
        siblings = block.names()
        for key, attribute in block.attributes.items():
            if attribute.collection in ("list", "set"):
                seen.setdefault(key, set()).add(property_name(key, many=True, siblings=siblings))
        for key, nested in block.blocks.items():
            if not nested.single:
                seen.setdefault(key, set()).add(property_name(key, many=True, siblings=siblings))
            walk(nested)

    for block in load().resources.values():
        walk(block)
    assert all(len(names) == 1 for names in seen.values()), seen
    assert {key: next(iter(names)) for key, names in seen.items()} == SCHEMA_LIST_NAMES


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


def test_a_cobrowse_pause_criteria_list_is_pause_criterias() -> None:
    props = _pulumi_names("genesyscloud_webdeployments_configuration", {
        "name": "n", "default_language": "en-us", "languages": ["en-us"],
        "cobrowse": {"pause_criteria": [{"url_fragment": "/pay", "condition": "Includes"}]},
    })
    assert props["cobrowse"] == {"pauseCriterias": [{"urlFragment": "/pay", "condition": "Includes"}]}
