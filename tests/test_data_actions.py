"""Data action definitions: static checks on every action, on broken copies, and what the plan declares."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from genesys_identity.actions import checks, definitions
from genesys_identity.actions.definitions import ActionDefinition, ActionDefinitionError
from genesys_identity.catalog import load as load_catalog
from genesys_identity.plan import MASK, Plan


@pytest.fixture(scope="module")
def shipped() -> list[ActionDefinition]:
    return definitions.load_all()


def broken(shipped: list[ActionDefinition], name: str, change: Any) -> ActionDefinition:
    original = definitions.by_name(shipped, name)
    document = copy.deepcopy(original.document)
    change(document)
    return ActionDefinition(original.file, document)


def test_every_shipped_action_passes_the_static_checks_against_the_catalog(shipped: list[ActionDefinition]) -> None:
    assert {d.name for d in shipped} >= {"Stitch Identity", "Get Last Interaction Context", "Record Interaction Outcome",
                                         "End Web Session"}
    assert checks.check_all(shipped, load_catalog()) == []


def test_a_nested_input_object_is_caught_with_action_and_field(shipped: list[ActionDefinition]) -> None:
    def nest(doc: dict[str, Any]) -> None:
        doc["contract"]["input"]["inputSchema"]["properties"]["customer"] = {"type": "object", "properties": {}}

    problems = checks.check(broken(shipped, "Stitch Identity", nest))
    assert problems == ["stitch-identity.json: Stitch Identity: contract.input.inputSchema.properties.customer: "
                        "input contracts are flat: no nested objects or arrays"]


def test_a_success_template_using_an_unmapped_key_is_caught(shipped: list[ActionDefinition]) -> None:
    def unmapped(doc: dict[str, Any]) -> None:
        doc["config"]["response"]["successTemplate"] = doc["config"]["response"]["successTemplate"].replace(
            "${summary}", "${summaryText}")

    problems = checks.check(broken(shipped, "Stitch Identity", unmapped))
    assert "stitch-identity.json: Stitch Identity: config.response.successTemplate: $summaryText is not a translationMap key" \
        in problems
    assert "stitch-identity.json: Stitch Identity: config.response.translationMap.summary: is not used by the " \
           "successTemplate" in problems


def test_an_unescaped_json_body_value_is_caught(shipped: list[ActionDefinition]) -> None:
    def unescaped(doc: dict[str, Any]) -> None:
        request = doc["config"]["request"]
        request["requestTemplate"] = request["requestTemplate"].replace('"$!esc.jsonString($input.topic)"', '"$!{input.topic}"')

    problems = checks.check(broken(shipped, "Record Interaction Outcome", unescaped))
    assert problems == ["record-interaction-outcome.json: Record Interaction Outcome: config.request.requestTemplate: "
                        "$input.topic is inserted without $esc.jsonString(...): a quote or & in it breaks the call"]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["contract"]["input"]["inputSchema"]["properties"].update(rawRequest={"type": "string"}),
     "contract.input.inputSchema.properties.rawRequest: 'rawRequest' is reserved by Genesys"),
    (lambda d: d["contract"]["input"]["inputSchema"].update({"$schema": "http://json-schema.org/draft-07/schema#"}),
     "contract.input.inputSchema.$schema: contracts are JSON Schema draft-04"),
    (lambda d: d["contract"]["output"]["successSchema"]["properties"].update(
        grid={"type": "array", "items": {"type": "array", "items": {"type": "string"}}}),
     "contract.output.successSchema.properties.grid: output arrays hold primitives only"),
    (lambda d: d["contract"]["output"]["successSchema"]["properties"].update(extra={"type": "string"}),
     "contract.output.successSchema.properties.extra: is never produced by the successTemplate"),
    (lambda d: d["config"]["request"].update(requestUrlTemplate="/v1/stitch?x=${input.nope}"),
     "config.request.requestUrlTemplate: $input.nope is not in the input contract"),
    (lambda d: d["config"]["request"]["headers"].update(Authorization="Bearer ${credentials.password}"),
     "config.request.headers.Authorization: $credentials.password is not a field of the integration credential"),
    (lambda d: d["contract"]["input"]["inputSchema"]["properties"].update(CustomerPhone={"type": "string", "maxLength": 32}),
     "contract.input.inputSchema.properties.CustomerPhone: spelled differently from the catalog attribute 'customerPhone'"),
    (lambda d: d["contract"]["input"]["inputSchema"]["properties"]["customerPhone"].update(maxLength=500),
     "contract.input.inputSchema.properties.customerPhone: needs maxLength <= 32 (the catalog's)"),
    (lambda d: d["config"].update(timeoutSeconds=90), "config.timeoutSeconds: must be a whole number of seconds from 1 to 60"),
])
def test_each_contract_and_template_rule_names_the_field(shipped: list[ActionDefinition], change: Any, expected: str) -> None:
    problems = checks.check(broken(shipped, "Stitch Identity", change), load_catalog())
    assert any(p.startswith(f"stitch-identity.json: Stitch Identity: {expected}") for p in problems), problems


def test_a_catalog_attribute_no_action_produces_is_caught(shipped: list[ActionDefinition]) -> None:
    without_context = [d for d in shipped if d.name != "Get Last Interaction Context"]
    problems = checks.check_all(without_context, load_catalog())
    assert "catalog: lastAgentId: its source is data_action but no data action outputs it" in problems


def test_a_broken_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"name": "Bad", ')
    with pytest.raises(ActionDefinitionError, match=r"^bad.json: not JSON"):
        definitions.load_all(tmp_path)


def test_the_plan_declares_each_action_on_the_service_url_with_its_contract(dev_plan: Plan,
                                                                          shipped: list[ActionDefinition]) -> None:
    resources = {r["name"]: r for r in dev_plan.resources}
    integration = resources["data-actions-integration"]["inputs"]
    assert integration["integrationType"] == "custom-rest-actions"
    assert integration["config"]["credentials"] == {"basicAuth": "(id of data-actions-credential)"}
    assert resources["data-actions-credential"]["inputs"]["fields"] == MASK
    service_url = dev_plan.document["settings"]["genesys-identity:stitchingServiceUrl"]
    for definition in shipped:
        action = resources[f"data-actions-{definition.file.removesuffix('.json')}"]
        inputs = action["inputs"]
        assert inputs["category"] == integration["config"]["name"]
        assert inputs["configRequest"]["requestUrlTemplate"] == service_url.rstrip("/") + definition.request["requestUrlTemplate"]
        assert json.loads(inputs["contractInput"]) == definition.input_schema
        assert json.loads(inputs["contractOutput"]) == definition.output_schema
        # Contracts are immutable in Genesys: a change replaces the action, and the plan says so.
        assert {"contractInput", "contractOutput"} <= set(action["replaceOnChanges"])
    assert "(result of stitching-caller-token)" not in dev_plan.to_json()
