"""A data action replaced by a contract change: deleted first, and every flow that calls it republished."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from components.flows import update_trigger
from genesys_identity.actions.impact import flows_at_risk
from genesys_identity.flows.check import data_action_calls
from genesys_identity.plan import Plan, evaluate
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def plan() -> Plan:
    return evaluate(ROOT, "dev")


def test_the_trigger_changes_when_a_called_action_gets_a_new_id() -> None:
    calls = {("C", "Stitch Identity"): "id-1", ("C", "Get Last Interaction Context"): "id-2"}
    same = update_trigger("d" * 64, dict(reversed(list(calls.items()))))
    assert update_trigger("d" * 64, calls) == same  # order does not matter
    assert update_trigger("d" * 64, {**calls, ("C", "Stitch Identity"): "id-3"}) != same  # replaced action
    assert update_trigger("e" * 64, calls) != same  # changed text


def test_each_flow_trigger_covers_the_ids_of_the_actions_it_calls(plan: Plan) -> None:
    resources = {r["name"]: r for r in plan.resources}
    ids = {(r["inputs"]["category"], r["inputs"]["name"]): f"(id of {r['name']})"
           for r in plan.resources if r["type"].endswith("integrationAction:IntegrationAction")}
    for role in ("sms", "web-messaging"):
        text = plan.artifacts[f"flows/{role}.yaml"]
        digest = hashlib.sha256(text.encode()).hexdigest()
        calls = data_action_calls(text)
        assert calls, role
        expected = update_trigger(digest, {call: ids[call] for call in calls})
        assert resources[f"flows-{role}"]["inputs"]["updateTriggerHash"] == expected
        # The text alone is not the trigger: a replaced action must republish an unchanged flow.
        assert expected != digest


def test_actions_are_deleted_before_their_replacement_is_created(plan: Plan) -> None:
    actions = [r for r in plan.resources if r["type"].endswith("integrationAction:IntegrationAction")]
    assert len(actions) == 4
    assert all(r.get("deleteBeforeReplace") is True for r in actions)
    assert all({"contractInput", "contractOutput"} <= set(r["replaceOnChanges"]) for r in actions)
    # Nothing else is deleted first: flows, queues and the deployment keep create-before-delete.
    others = [r["name"] for r in plan.resources if r.get("deleteBeforeReplace") and r not in actions]
    assert others == []


def _with_contract_change(document: dict[str, Any], action: str) -> dict[str, Any]:
    head = copy.deepcopy(document)
    for resource in head["resources"]:
        if resource["type"].endswith("integrationAction:IntegrationAction") and resource["inputs"]["name"] == action:
            contract = json.loads(resource["inputs"]["contractInput"])
            contract["properties"]["extraField"] = {"type": "string"}
            resource["inputs"]["contractInput"] = json.dumps(contract)
    return head


def test_the_flows_at_risk_are_those_calling_a_replaced_action(plan: Plan) -> None:
    base = plan.document
    assert flows_at_risk(base, base) == []
    risky = flows_at_risk(base, _with_contract_change(base, "Get Last Interaction Context"))
    assert [(f.flow, f.action, f.why) for f in risky] == [
        ("acme-dev SMS Inbound", "Get Last Interaction Context", "input contract changed")]
    stitched = flows_at_risk(base, _with_contract_change(base, "Stitch Identity"))
    assert sorted(f.flow for f in stitched) == ["acme-dev SMS Inbound", "acme-dev Web Messaging Inbound"]
    assert "republished" in stitched[0].line()
    # An action no flow calls puts no flow at risk.
    assert flows_at_risk(base, _with_contract_change(base, "End Web Session")) == []
