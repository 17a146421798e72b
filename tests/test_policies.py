"""The policy pack's rules: each fails on a resource built to break it and passes on the dev stack."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

from genesys_identity import policies
from genesys_identity.plan import Plan, evaluate
from genesys_identity.policies import Resource
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dev_plan() -> Plan:
    return evaluate(ROOT, "dev")


def urn(stack: str, token: str, name: str) -> str:
    return f"urn:pulumi:{stack}::genesys-identity::{token}::{name}"


def resource(token: str, logical: str, stack: str = "dev", aliases: tuple[str, ...] = (), **props: Any) -> Resource:
    return Resource(token, logical, urn(stack, token, logical), props, aliases)


def test_every_rule_passes_on_the_dev_stack(dev_plan: Plan) -> None:
    assert policies.evaluate(policies.from_plan(dev_plan.document)) == {rule.name: [] for rule in policies.RULES}


def test_automerge_without_authentication_fails() -> None:
    broken = [resource(policies.IDENTITY_RESOLUTION, "ir", automerge_authenticated_web_messaging=True),
              resource(policies.CONFIGURATION, "config", authenticationSettings={"enabled": False})]
    [violation] = policies.automerge_requires_authentication(broken)
    assert violation.startswith("ir automerges web messaging, but Messenger configuration config has authentication off")


def test_an_attribute_of_a_forbidden_pii_class_fails() -> None:
    broken = [resource(policies.CATALOG, "participant-attributes", attributes=[{"name": "cardNumber", "pii": "payment"}])]
    assert policies.no_forbidden_pii_attributes(broken)[0].startswith("participant attribute 'cardNumber' is of PII class")


def test_a_flow_calling_an_undeclared_action_fails() -> None:
    broken = [resource(policies.ACTION, "a", category="acme Identity Stitching", name="Stitch Identity"),
              resource(policies.FLOWS_COMPONENT, "flows", flows=[{"name": "acme SMS Inbound", "dataActionCalls": [
                  {"category": "acme Identity Stitching", "action": "Get Last Agent"}]}])]
    assert policies.flows_call_declared_data_actions(broken) == [
        "flow 'acme SMS Inbound' calls data action 'Get Last Agent' in category 'acme Identity Stitching', which this "
        "stack does not declare"]


def test_a_flow_renamed_without_an_alias_fails_and_with_one_passes() -> None:
    renamed = resource(policies.FLOW, "flows-sms-inbound")
    assert policies.flows_renamed_with_alias([renamed])[0].startswith("flow resource 'flows-sms-inbound' is not one of")
    aliased = resource(policies.FLOW, "flows-sms-inbound", aliases=(urn("dev", policies.FLOW, "flows-sms"),))
    assert policies.flows_renamed_with_alias([aliased]) == []


def test_force_unlock_fails_in_production_only() -> None:
    assert policies.no_force_unlock_in_production([resource(policies.FLOW, "flows-sms", stack="prod", forceUnlock=True)])
    assert policies.no_force_unlock_in_production([resource(policies.FLOW, "flows-sms", stack="dev", forceUnlock=True)]) == []


def test_a_plain_http_stitching_service_fails() -> None:
    broken = [resource(policies.ACTION, "a", name="Stitch Identity",
                       configRequest={"requestUrlTemplate": "http://stitching.internal/v1/stitch"})]
    assert policies.stitching_service_is_https(broken) == [
        "data action 'Stitch Identity' calls 'http://stitching.internal': the stitching service must be reached over https"]


def test_rules_report_through_pulumi_policy_as_the_engine_calls_them() -> None:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    token, name = policies.ACTION, "a"
    args = StackValidationArgs([PolicyResource(token, {"name": "X", "configRequest": {"requestUrlTemplate": "http://x/v1/y"}},
                                               urn("dev", token, name), name, options, None, None, [], {})])
    reported: list[str] = []
    rule = next(r for r in policies.RULES if r.name == "stitching-service-https")
    policies.stack_validation(rule)(args, lambda message, urn_=None: reported.append(message))
    assert reported == ["data action 'X' calls 'http://x': the stitching service must be reached over https"]
