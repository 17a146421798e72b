"""Architect flows: rendered from templates and sources of truth, checked, golden, and wired in the plan."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from components.flows import update_trigger
from genesys_identity.actions.definitions import load_all
from genesys_identity.catalog import load as load_catalog
from genesys_identity.flows.check import check_flow, data_action_calls
from genesys_identity.flows.render import FLOWS_DIR, FlowRenderError, RenderedFlow, render
from genesys_identity.plan import Plan, evaluate
from genesys_identity.settings import StackSettings
from tests.conftest import ROOT


def problems_of(settings: StackSettings, flows: list[RenderedFlow]) -> list[str]:
    """Every problem of the rendered flows as ``file: path: message`` (the line left out: templates move)."""
    return [f"{p.file}: {p.path}: {p.message}" for flow in flows for p in check_flow(
        flow.spec.output, flow.text, actions=load_all(), category=settings.name("Identity Stitching"),
        catalog=load_catalog(), queues=(settings.queues.web, settings.queues.sms))]


def render_changed(settings: StackSettings, tmp_path: Path, template: str, old: str, new: str) -> list[RenderedFlow]:
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy)
    text = (copy / template).read_text()
    assert old in text, f"the test's anchor is gone from {template}"
    (copy / template).write_text(text.replace(old, new, 1))
    return render(settings, load_catalog(), load_all(), copy)


@pytest.mark.golden
def test_rendered_dev_flows_match_the_golden_files(dev_settings: StackSettings, golden: Callable[[str, str], None]) -> None:
    for flow in render(dev_settings, load_catalog(), load_all()):
        golden(f"flows/{flow.spec.output}", flow.text)


def test_dev_flows_pass_the_checker(dev_settings: StackSettings) -> None:
    flows = render(dev_settings, load_catalog(), load_all())
    assert [f.name for f in flows] == ["acme-dev Web Messaging Inbound", "acme-dev SMS Inbound",
                                       "acme-dev Interaction Outcome Workflow"]
    assert problems_of(dev_settings, flows) == []


def test_calling_an_unknown_action_is_refused(dev_settings: StackSettings, tmp_path: Path) -> None:
    flows = render_changed(dev_settings, tmp_path, "sms.yaml.j2", "{{ context.name | yq }}:", '"Get Last Agent":')
    assert problems_of(dev_settings, flows) == [
        "sms.yaml: state[Route_10]/callData[Ask for the last interaction]/category[acme-dev Identity Stitching]/"
        "dataAction[Get Last Agent]: no data action 'Get Last Agent' in integration 'acme-dev Identity Stitching' "
        "(known: acme-dev Identity Stitching/End Web Session, acme-dev Identity Stitching/Get Last Interaction Context, "
        "acme-dev Identity Stitching/Record Interaction Outcome, acme-dev Identity Stitching/Stitch Identity)"]
    with pytest.raises(FlowRenderError, match=r"^flows/sms.yaml.j2: no data action named 'Get Last Agent'"):
        render_changed(dev_settings, tmp_path / "b", "sms.yaml.j2", 'action("Get Last Interaction Context")',
                       'action("Get Last Agent")')


def test_dropping_a_timeout_path_is_refused(dev_settings: StackSettings, tmp_path: Path) -> None:
    timeout_path = ('                timeout:\n                  actions:\n'
                    '{{ note("Note the context timeout", lit("queue: context timed out")) | trim | indent(20, true) }}\n')
    flows = render_changed(dev_settings, tmp_path, "sms.yaml.j2", timeout_path, "")
    assert problems_of(dev_settings, flows) == [
        "sms.yaml: state[Route_10]/callData[Ask for the last interaction]: has no timeout path"]


def test_a_failure_path_that_reaches_no_queue_is_refused(dev_settings: StackSettings, tmp_path: Path) -> None:
    transfer = ("          - transferToAcd:\n              name: Transfer to the SMS queue\n              targetQueue:\n"
                "                lit:\n                  name: {{ stack.sms_queue | yq }}\n              priority:\n"
                "                lit: 0\n              preferredAgents:\n                exp: Flow.preferredAgents\n"
                "              languageSkill:\n                noValue: true\n              directAgent:\n"
                "                noValue: true\n")
    flows = render_changed(dev_settings, tmp_path, "sms.yaml.j2", transfer, "")
    assert [p for p in problems_of(dev_settings, flows) if "Ask for the last interaction" in p] == [
        f"sms.yaml: state[Route_10]/callData[Ask for the last interaction]/outputs/{path}: the {path} path never "
        "reaches a queue: the customer would be dropped" for path in ("failure", "timeout")]


def test_reading_an_attribute_not_in_the_catalog_is_refused(dev_settings: StackSettings, tmp_path: Path) -> None:
    flows = render_changed(dev_settings, tmp_path, "web-messaging.yaml.j2", '"Context." ~ name', '"Context.x" ~ name')
    assert "web-messaging.yaml: state[Identify_10]/getParticipantData[Read what the website set]/attributes[0]/name: " \
           "reads website attribute 'Context.xcustomerTier', which the catalog does not declare with source " \
           "messenger_database" in problems_of(dev_settings, flows)
    with pytest.raises(FlowRenderError, match=r"^flows/web-messaging.yaml.j2: .*'routingReason'"):
        render_changed(dev_settings, tmp_path / "b", "web-messaging.yaml.j2", "attr.routingDecision", "attr.routingReason")


def test_unknown_queue_and_mistyped_variable_are_refused(dev_settings: StackSettings, tmp_path: Path) -> None:
    flows = render_changed(dev_settings, tmp_path, "sms.yaml.j2",
                           "              targetQueue:\n                lit:\n                  name: {{ stack.sms_queue | yq }}",
                           '              targetQueue:\n                lit:\n                  name: "Sales"')
    assert problems_of(dev_settings, flows) == [
        "sms.yaml: state[Route_10]/transferToAcd[Transfer to the SMS queue]/targetQueue: transfers to queue 'Sales', "
        "which this stack does not declare (stack queues: Acme Dev SMS Support, Acme Dev Web Support)"]
    flows = render_changed(dev_settings, tmp_path / "b", "sms.yaml.j2", "    - userVariable:", "    - stringVariable:")
    assert any(p.endswith("a user statement needs a User variable; 'Flow.lastAgent' is String")
               for p in problems_of(dev_settings, flows))


def test_the_web_deployment_runs_the_web_flow_and_sms_numbers_route_to_the_sms_flow(dev_plan: Plan) -> None:
    resources = {r["name"]: r for r in dev_plan.resources}
    assert resources["messenger-deployment"]["inputs"]["flowId"] == "(id of flows-web-messaging)"
    [routing] = [r for r in dev_plan.resources if r["type"] == "pulumi-python:dynamic/genesys:MessageRouting"]
    assert routing["inputs"]["flow_id"] == "(id of flows-sms)"
    assert routing["inputs"]["phone_number"] == "+13175550100"  # its recipient id is read from the org at deploy time
    [resolution] = [r for r in dev_plan.resources if r["type"] == "pulumi-python:dynamic/genesys:SmsIdentityResolution"]
    assert resolution["inputs"]["resolve_identities"] is True
    web = resources["flows-web-messaging"]["inputs"]
    assert web["filepath"] == "build/flows/dev/web-messaging.yaml" and web["forceUnlock"] is False
    assert {"queues-web", "queues-sms", "data-actions-stitch-identity"} <= set(resources["flows-sms"]["dependsOn"])
    assert resources["queues-sms"]["inputs"]["lastAgentRoutingMode"] == "Disabled"
    assert resources["queues-web"]["inputs"]["lastAgentRoutingMode"] == "AnyAgent"
    assert dev_plan.artifacts["flows/sms.yaml"].startswith("inboundShortMessage:\n")


def test_unchanged_templates_give_an_unchanged_update_trigger(dev_plan: Plan, dev_settings: StackSettings,
                                                             tmp_path: Path) -> None:
    again = evaluate(ROOT, "dev")
    triggers = {r["name"]: r["inputs"]["updateTriggerHash"] for r in dev_plan.resources if r["type"].endswith("flow:Flow")}
    assert triggers == {r["name"]: r["inputs"]["updateTriggerHash"] for r in again.resources
                        if r["type"].endswith("flow:Flow")}
    changed = render_changed(dev_settings, tmp_path, "sms.yaml.j2", "We will reply here soon.", "We reply soon.")
    # The trigger hashes the rendered text and the ids of the actions the flow calls (mock ids in the plan).
    def trigger(flow: RenderedFlow) -> str:
        calls = set(data_action_calls(flow.text))
        return update_trigger(flow.digest, {(c, a): f"(id of data-actions-{a.lower().replace(' ', '-')})" for c, a in calls})
    digests = {f.spec.output: trigger(f) for f in changed}
    assert digests["sms.yaml"] != triggers["flows-sms"] and digests["web-messaging.yaml"] == triggers["flows-web-messaging"]
    assert digests["outcome-workflow.yaml"] == triggers["flows-outcome-workflow"]
