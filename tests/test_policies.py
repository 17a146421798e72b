"""The policy pack's rules: each fails on a resource built to break it and passes on the dev stack."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

from genesys_identity import policies
from genesys_identity.plan import Plan, evaluate
from genesys_identity.policies import Resource
from tests.conftest import ROOT


def urn(stack: str, token: str, name: str) -> str:
    return f"urn:pulumi:{stack}::genesys-identity::{token}::{name}"


def resource(token: str, logical: str, stack: str = "dev", aliases: tuple[str, ...] = (), **props: Any) -> Resource:
    return Resource(token, logical, urn(stack, token, logical), props, aliases)


def test_every_rule_passes_on_the_dev_stack(dev_plan: Plan) -> None:
    assert policies.evaluate(policies.from_plan(dev_plan.document)) == {rule.name: [] for rule in policies.RULES}
    assert policies.analyze(policies.analyzer_resources(dev_plan.document)) == []


def component(document: dict[str, Any], token: str) -> dict[str, Any]:
    [found] = [r for r in document["resources"] if r["type"] == token]
    return found


def test_components_register_what_the_rules_read_as_outputs(dev_plan: Plan) -> None:
    # The engine hands the pack a component's registered outputs; its constructor properties never reach it.
    catalog = component(dev_plan.document, policies.CATALOG)
    assert catalog["custom"] is False and catalog["outputs"]["attributes"] == catalog["inputs"]["attributes"]
    flows = component(dev_plan.document, policies.FLOWS_COMPONENT)
    calls = [call for flow in flows["outputs"]["flows"] for call in flow["dataActionCalls"]]
    assert {call["action"] for call in calls} >= {"Stitch Identity", "Get Last Interaction Context"}


def broken_plan(dev_plan: Plan, where: str) -> dict[str, Any]:
    document = copy.deepcopy(dev_plan.document)
    catalog = component(document, policies.CATALOG)
    catalog[where]["attributes"].append({"name": "cardNumber", "pii": "payment"})
    flows = component(document, policies.FLOWS_COMPONENT)
    flows[where]["flows"][0]["dataActionCalls"].append({"category": "acme-dev Identity Stitching", "action": "Get Last Agent"})
    return document


def test_the_pack_through_its_analyzer_sees_what_the_engine_passes(dev_plan: Plan) -> None:
    violations = policies.analyze(policies.analyzer_resources(broken_plan(dev_plan, "outputs")))
    assert {(v.policy, v.mandatory) for v in violations} == {("no-forbidden-pii-attributes", True),
                                                              ("flows-call-declared-data-actions", True)}
    assert any("'cardNumber' is of PII class 'payment'" in v.message for v in violations)
    assert any("calls data action 'Get Last Agent'" in v.message for v in violations)
    # What a component was constructed with is not what the engine passes: a change there alone goes unseen.
    assert policies.analyze(policies.analyzer_resources(broken_plan(dev_plan, "inputs"))) == []


def test_the_policy_command_runs_the_pack_on_the_offline_plan(tmp_path: Path) -> None:
    clean = subprocess.run([sys.executable, "-m", "genesys_identity", "policy", "--stack", "dev"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, check=False)
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr.strip().endswith("resources of stack 'dev': 0 violations")
    copy_root = tmp_path / "project"
    shutil.copytree(ROOT, copy_root, ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".*cache"))
    stack = (copy_root / "Pulumi.dev.yaml").read_text().replace("forceUnlockFlows: false", "forceUnlockFlows: true")
    (copy_root / "Pulumi.prod.yaml").write_text(stack)
    broken = subprocess.run([sys.executable, "-m", "genesys_identity", "policy", "--stack", "prod", "--root",
                             str(copy_root)], cwd=copy_root, capture_output=True, text=True, timeout=300, check=False)
    assert broken.returncode == 1, broken.stderr
    assert "no-force-unlock-in-production (mandatory): flow 'flows-sms' has force_unlock on in production stack 'prod'" \
        in broken.stdout


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


@pytest.mark.parametrize("aliased", [True, False])
def test_a_renamed_flow_is_judged_by_the_aliases_the_engine_passes(project_copy: Path, aliased: bool) -> None:
    (project_copy / "__main__.py").write_text(
        "import pulumi\n"
        f"aliases = [pulumi.Alias(name='flows-sms')] if {aliased} else None\n"
        "pulumi.CustomResource('genesyscloud:index/flow:Flow', 'flows-sms-inbound', {'filepath': 'build/x.yaml'},\n"
        "                      pulumi.ResourceOptions(aliases=aliases))\n"
    )
    document = evaluate(project_copy, "dev").document
    [flow] = [r for r in document["resources"] if r["type"] == policies.FLOW]
    violations = policies.analyze(policies.analyzer_resources(document))
    if aliased:
        assert flow["aliases"] == [flow["urn"].rsplit("::", 1)[0] + "::flows-sms"]
        assert violations == []
    else:
        assert [v.policy for v in violations] == ["flows-renamed-with-alias"]


def test_kubernetes_through_the_default_provider_fails() -> None:
    token = "kubernetes:apps/v1:Deployment"
    default = Resource(token, "d", urn("prod", token, "d"), {}, (), "default_4_34_2")
    explicit = Resource(token, "d", urn("prod", token, "d"), {}, (), "stitching-cluster")
    assert policies.kubernetes_through_the_stacks_provider([default])[0].startswith(
        "Kubernetes resource 'd' goes through the default provider (default_4_34_2)")
    assert policies.kubernetes_through_the_stacks_provider([explicit]) == []
