"""What the rendered flows do, read from the rendered YAML: who is sent as verified, where errors go, the
division, call timeouts, the preferred agent guard, the SMS greeting's length, and the outcome workflow.

Each check is a function returning the problems it finds, so every test also shows the check failing on a
template edited the wrong way (the mutation beside it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PureCloudPlatformClientV2.models.acw_detail_event_topic_after_call_work_event import (
    AcwDetailEventTopicAfterCallWorkEvent,
)

from components.outcome_workflow import DATA_FORMAT, TOPIC
from genesys_identity.actions.definitions import load_all
from genesys_identity.catalog import load as load_catalog
from genesys_identity.errors import SettingsError
from genesys_identity.flows.render import FLOWS_DIR, OUTCOME_WORKFLOW_INPUTS, render
from genesys_identity.flows.sms_text import SEGMENT_SEPTETS, septets, topic_budget
from genesys_identity.plan import Plan, evaluate
from genesys_identity.settings import KEYS, StackSettings, parse_settings
from genesys_identity.stackfile import StackFileSource
from tests.conftest import ROOT

VERIFIED_INPUTS = ("authVerified", "customerIdVerified", "customerPhoneVerified", "customerEmailVerified")
AUTHENTICATED = "Message.IsAuthenticated"
Guard = tuple[str, str]  # (decision condition, branch) or ("callData <name>", path)
GREETING = r'Append\("(?P<pre>[^"]*)", ToDisplayString\(Left\(Flow\.\w+, (?P<n>\d+)\)\), "(?P<suf>[^"]*)"\)'


def rendered(settings: StackSettings, directory: Path = FLOWS_DIR) -> dict[str, dict[str, Any]]:
    return {f.spec.output: yaml.safe_load(f.text) for f in render(settings, load_catalog(), load_all(), directory)}


def changed(tmp_path: Path, template: str, old: str, new: str) -> Path:
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy)
    text = (copy / template).read_text()
    assert old in text, f"the test's anchor is gone from {template}"
    (copy / template).write_text(text.replace(old, new, 1))
    return copy


def actions(flow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], tuple[Guard, ...]]]:
    """Every action of the flow's states with the decisions and call paths it sits under."""
    (body,) = flow.values()
    for state in body["states"]:
        yield from _walk(state["state"]["actions"], ())


def _walk(items: list[Any], guards: tuple[Guard, ...]) -> Iterator[tuple[str, dict[str, Any], tuple[Guard, ...]]]:
    for item in items or []:
        ((kind, action),) = item.items()
        yield kind, action, guards
        if kind == "decision":
            for branch, path in (action.get("outputs") or {}).items():
                yield from _walk(path.get("actions"), (*guards, (action["condition"]["exp"], branch)))
        elif kind == "callData":
            for path_name, path in (action.get("outputs") or {}).items():
                yield from _walk(path.get("actions"), (*guards, (f"callData {action['name']}", path_name)))


def statements(flow: dict[str, Any]) -> Iterator[tuple[str, Any, tuple[Guard, ...]]]:
    """(variable, value form, guards) of every updateData statement."""
    for kind, action, guards in actions(flow):
        if kind == "updateData":
            for statement in action["statements"]:
                ((_, body),) = statement.items()
                yield body["variable"], body["value"], guards


def initial(flow: dict[str, Any], variable: str) -> Any:
    (body,) = flow.values()
    for item in body["variables"]:
        ((_, declaration),) = item.items()
        if declaration["name"] == variable:
            return declaration["initialValue"]
    raise KeyError(variable)


def stitch_inputs(flow: dict[str, Any]) -> dict[str, Any]:
    for kind, action, _ in actions(flow):
        if kind == "callData" and "Stitch Identity" in next(iter(action["category"].values()))["dataAction"]:
            return dict(next(iter(action["category"].values()))["dataAction"]["Stitch Identity"]["inputs"])
    raise AssertionError("no Stitch Identity call")


def guest_verified_problems(flow: dict[str, Any]) -> list[str]:
    """A verified input, the OIDC subject or the email claim that a guest could send: each must be false or unset
    unless set under `Message.IsAuthenticated` = yes."""
    problems = []
    authenticated = (AUTHENTICATED, "yes")
    inputs = stitch_inputs(flow)
    watched = {"Flow.authSubject", "Flow.authIssuer"}
    for name in VERIFIED_INPUTS:
        form = inputs[name]
        if "lit" in form:
            if form["lit"] is not False:
                problems.append(f"{name} is the literal {form['lit']!r} for every sender")
        elif "exp" in form:
            if not re.fullmatch(r"Flow\.\w+", form["exp"]):
                problems.append(f"{name} is the expression {form['exp']!r}, not a variable the flow guards")
                continue
            watched.add(form["exp"])
        else:
            problems.append(f"{name} has no value")
    for variable in sorted(watched):
        if initial(flow, variable) not in ({"lit": False}, {"noValue": True}):
            problems.append(f"{variable} starts as {initial(flow, variable)!r}")
    for variable, value, guards in statements(flow):
        reads_claim = "senderAddressInfo" in str(value.get("exp", ""))
        if (variable in watched or reads_claim) and value not in ({"lit": False}, {"noValue": True}) \
                and authenticated not in guards:
            problems.append(f"{variable} is set to {value!r} outside the {AUTHENTICATED} yes branch")
    return problems


def error_queue(flow: dict[str, Any]) -> str | None:
    (body,) = flow.values()
    handling = body["settingsErrorHandling"]["errorHandling"]
    queue = handling.get("queue")
    return queue["targetQueue"]["lit"]["name"] if queue else None


def timeout_problems(flow: dict[str, Any]) -> list[str]:
    """A callData whose own timeout is not shorter than its action's timeoutSeconds never takes its timeout path."""
    limits = {a.name: a.timeout_seconds for a in load_all()}
    problems = []
    for kind, action, _ in actions(flow):
        if kind != "callData":
            continue
        name = next(iter(next(iter(action["category"].values()))["dataAction"]))
        timeout = action["timeout"]["lit"]
        seconds = timeout.get("seconds", 0) + 60 * timeout.get("minutes", 0)
        if not 0 < seconds < limits[name]:
            problems.append(f"{action['name']!r}: timeout {seconds}s, {name} times out by itself after {limits[name]}s")
    return problems


def greeting_problems(flow: dict[str, Any], topic_limit: int) -> list[str]:
    """Every SMS the flow sends fits one GSM-7 segment with the longest topic (each character an extension
    character, two septets), and none promises an agent."""
    problems = []
    for kind, action, _ in actions(flow):
        if kind != "sendResponse":
            continue
        body = action["messageBody"]
        if "lit" in body:
            text, worst = body["lit"], septets(body["lit"])
        else:
            match = re.fullmatch(GREETING, body["exp"])
            if match is None:
                problems.append(f"{action['name']!r}: the greeting {body['exp']!r} does not bound the topic with Left")
                continue
            kept = min(int(match["n"]), topic_limit)
            text = match["pre"] + "€" * kept + match["suf"]
            worst = septets(text)
        if worst > SEGMENT_SEPTETS:
            problems.append(f"{action['name']!r}: {worst} septets in the worst case, over one segment")
        if "agent" in text.lower():
            problems.append(f"{action['name']!r}: {text!r} promises an agent")
    return problems


# -- web messaging: trust ------------------------------------------------------------------------------------

def test_a_guest_never_sends_anything_as_verified(dev_settings: StackSettings) -> None:
    web = rendered(dev_settings)["web-messaging.yaml"]
    assert guest_verified_problems(web) == []
    inputs = stitch_inputs(web)
    assert inputs["authVerified"] == {"exp": "Flow.authenticated"}
    assert inputs["customerIdVerified"] == inputs["customerPhoneVerified"] == {"lit": False}
    # The issuer and the subject go together: a guest sends neither (the service refuses a lone issuer).
    assert inputs["authSubject"] == {"exp": "Flow.authSubject"} and inputs["authIssuer"] == {"exp": "Flow.authIssuer"}
    issuer = [(value, guards) for variable, value, guards in statements(web) if variable == "Flow.authIssuer"]
    assert issuer == [({"lit": "https://login.dev.acme-support.example"}, ((AUTHENTICATED, "yes"),))]
    # The subject and the email claim are taken only in the authenticated branch.
    taken = {variable: guards for variable, value, guards in statements(web) if "senderAddressInfo" in value.get("exp", "")}
    assert set(taken) == {"Flow.authSubject", "Flow.customerEmail"}
    assert all((AUTHENTICATED, "yes") in guards for guards in taken.values())


def test_the_checker_catches_a_subject_taken_from_a_guest(dev_settings: StackSettings, tmp_path: Path) -> None:
    # The old rule: "authenticated" when the sender address is not empty, for guests too.
    flows = changed(tmp_path, "web-messaging.yaml.j2", "                exp: {{ expr.web_authenticated | yq }}",
                    '                exp: "Not(IsNotSetOrEmpty(Message.Message.senderAddressInfo.addressDisplayable))"')
    assert any("outside the Message.IsAuthenticated yes branch" in p
               for p in guest_verified_problems(rendered(dev_settings, flows)["web-messaging.yaml"]))
    flows = changed(tmp_path / "b", "web-messaging.yaml.j2", '"customerPhoneVerified": lit(false)',
                    '"customerPhoneVerified": lit(true)')
    assert guest_verified_problems(rendered(dev_settings, flows)["web-messaging.yaml"]) == [
        "customerPhoneVerified is the literal True for every sender"]


def test_the_email_claim_is_verified_only_when_the_stack_trusts_it(dev_settings: StackSettings) -> None:
    def email_verified(settings: StackSettings) -> list[Any]:
        web = rendered(settings)["web-messaging.yaml"]
        assert guest_verified_problems(web) == []
        return [value for variable, value, _ in statements(web) if variable == "Flow.emailVerified"]

    assert email_verified(dev_settings) == [{"lit": False}]
    assert email_verified(_replace(dev_settings, trust_email_claim=True)) == [{"lit": True}]


def test_without_authentication_the_web_flow_never_verifies(dev_settings: StackSettings) -> None:
    web = rendered(_replace(dev_settings, authentication_enabled=False))["web-messaging.yaml"]
    assert guest_verified_problems(web) == []
    assert not [v for v, value, _ in statements(web) if v in ("Flow.authenticated", "Flow.emailVerified")]


def test_the_tier_sets_priority_only_for_authenticated_customers(dev_settings: StackSettings) -> None:
    web = rendered(dev_settings)["web-messaging.yaml"]
    priorities = {value["lit"]: guards[-1][0] for variable, value, guards in statements(web) if variable == "Flow.priority"}
    assert priorities == {20: 'Flow.authenticated and Flow.customerTier == "gold"',
                          10: 'Flow.authenticated and Flow.customerTier == "silver"'}
    [transfer] = [a for kind, a, _ in actions(web) if kind == "transferToAcd"]
    assert transfer["priority"] == {"exp": "Flow.priority"} and initial(web, "Flow.priority") == {"lit": 0}


def test_no_attribute_is_read_and_left_unused(dev_settings: StackSettings, tmp_path: Path) -> None:
    def unused(flow: dict[str, Any]) -> list[str]:
        text = yaml.safe_dump(flow)
        read = [attribute["attribute"]["variable"] for kind, a, _ in actions(flow) if kind == "getParticipantData"
                for attribute in a["attributes"]]
        read += [form["var"] for kind, a, _ in actions(flow) if kind == "callData"
                 for call in next(iter(a["category"].values()))["dataAction"].values()
                 for form in (call.get("successOutputs") or {}).values() if "var" in form]
        return [v for v in read if not re.search(rf"exp: {re.escape(v)}\b|exp: .*\b{re.escape(v)}\b", text)]

    for name, flow in rendered(dev_settings).items():
        assert unused(flow) == [], name
    # Priority no longer reads the tier: the website's value is read and left unused.
    gold = "\n          - decision:\n              name: Gold"
    flows = changed(tmp_path, "web-messaging.yaml.j2", "{% if stack.authentication_enabled %}" + gold, "{% if false %}" + gold)
    assert unused(rendered(dev_settings, flows)["web-messaging.yaml"]) == ["Flow.customerTier"]


# -- both message flows: errors, division, timeouts ---------------------------------------------------------

def test_errors_go_to_the_channel_queue_never_disconnect(dev_settings: StackSettings, tmp_path: Path) -> None:
    flows = rendered(dev_settings)
    assert error_queue(flows["web-messaging.yaml"]) == dev_settings.queues.web
    assert error_queue(flows["sms.yaml"]) == dev_settings.queues.sms
    workflow = flows["outcome-workflow.yaml"]["workflow"]
    assert workflow["settingsErrorHandling"] == {"errorHandling": {"endWorkflow": {"none": True}}}
    to_queue = "      queue:\n        targetQueue:\n          lit:\n            name: {{ stack.sms_queue | yq }}"
    mutated = changed(tmp_path, "sms.yaml.j2", to_queue, "      disconnect:\n        none: true")
    assert error_queue(rendered(dev_settings, mutated)["sms.yaml"]) is None


def test_the_division_is_named_never_an_id(dev_settings: StackSettings, tmp_path: Path) -> None:
    for flow in rendered(dev_settings).values():
        assert next(iter(flow.values()))["division"] == "Home"
    named = _replace(dev_settings, division_id="5e1c-division-id", division_name="Acme Support")
    for flow in rendered(named).values():
        assert next(iter(flow.values()))["division"] == "Acme Support"
    stack = tmp_path / "Pulumi.dev.yaml"
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stack.write_text((ROOT / "Pulumi.dev.yaml").read_text() + "  genesys-identity:divisionId: 5e1c-division-id\n")
    source = StackFileSource(tmp_path, "dev", tuple(s.key for s in KEYS if s.secret))
    with pytest.raises(SettingsError, match=r"^Pulumi.dev.yaml: genesys-identity:divisionName is 'Home' while divisionId"):
        parse_settings(source, stack="dev", project=source.project)
    stack.write_text(stack.read_text() + "  genesys-identity:divisionName: Acme Support\n")
    source = StackFileSource(tmp_path, "dev", tuple(s.key for s in KEYS if s.secret))
    assert parse_settings(source, stack="dev", project=source.project).division_name == "Acme Support"


def test_call_timeouts_let_the_timeout_paths_run(dev_settings: StackSettings, tmp_path: Path) -> None:
    for name, flow in rendered(dev_settings).items():
        assert timeout_problems(flow) == [], name
    mutated = changed(tmp_path, "sms.yaml.j2", "seconds: {{ context.flow_timeout_seconds }}",
                      "seconds: {{ context.timeout_seconds + 2 }}")
    assert timeout_problems(rendered(dev_settings, mutated)["sms.yaml"]) == [
        "'Ask for the last interaction': timeout 5s, Get Last Interaction Context times out by itself after 3s"]


# -- SMS: sender, preferred agent, greeting -----------------------------------------------------------------

def test_the_sms_sender_address_is_the_only_verified_identifier(dev_settings: StackSettings) -> None:
    sms = rendered(dev_settings)["sms.yaml"]
    assert [value for variable, value, _ in statements(sms) if variable == "Flow.senderPhone"] == [
        {"exp": "Message.Message.senderAddress"}]
    inputs = stitch_inputs(sms)
    assert inputs["customerPhone"] == {"exp": "Flow.senderPhone"} and inputs["customerPhoneVerified"] == {"lit": True}
    assert all(inputs[name] == {"lit": False} for name in VERIFIED_INPUTS if name != "customerPhoneVerified")


def preferred_agent_problems(flow: dict[str, Any]) -> list[str]:
    """FindUserById only into a user variable; the agent score pair list only from it, under IsSet(...) = yes;
    the transfer prefers that list (NOT_SET when no agent was found)."""
    problems = []
    users = {v for v, value, _ in statements(flow) if "FindUserById" in value.get("exp", "")}
    for variable, value, guards in statements(flow):
        expression = value.get("exp", "")
        if "FindUserById" in expression and not re.fullmatch(r"FindUserById\(Flow\.\w+\)", expression):
            problems.append(f"{variable} = {expression}: FindUserById used inside another function")
        if "MakeAgentScorePair" in expression:
            guarded = [u for u in users if (f"IsSet({u})", "yes") in guards and f"MakeAgentScorePair({u}," in expression]
            if not guarded:
                problems.append(f"{variable} = {expression} is not built from a found agent under IsSet")
    for kind, action, _ in actions(flow):
        if kind == "transferToAcd":
            form = action["preferredAgents"]
            if "exp" in form and not re.fullmatch(r"Flow\.\w+", form["exp"]):
                problems.append(f"transfer prefers {form['exp']!r}, not a variable filled only when the agent exists")
    return problems


def test_the_last_agent_is_preferred_only_when_found(dev_settings: StackSettings, tmp_path: Path) -> None:
    sms = rendered(dev_settings)["sms.yaml"]
    assert preferred_agent_problems(sms) == []
    [transfer] = [a for kind, a, _ in actions(sms) if kind == "transferToAcd"]
    assert transfer["preferredAgents"] == {"exp": "Flow.preferredAgents"}
    assert transfer["targetQueue"] == {"lit": {"name": dev_settings.queues.sms}}
    assert initial(sms, "Flow.preferredAgents") == {"noValue": True}
    # The old, unguarded form: an id that no longer resolves would invoke the error handling.
    mutated = changed(tmp_path, "sms.yaml.j2", "exp: MakeList(MakeAgentScorePair(Flow.lastAgent, 100))",
                      'exp: "MakeList(MakeAgentScorePair(FindUserById(Flow.lastAgentId), 100))"')
    assert preferred_agent_problems(rendered(dev_settings, mutated)["sms.yaml"]) == [
        "Flow.preferredAgents = MakeList(MakeAgentScorePair(FindUserById(Flow.lastAgentId), 100)): FindUserById used "
        "inside another function",
        "Flow.preferredAgents = MakeList(MakeAgentScorePair(FindUserById(Flow.lastAgentId), 100)) is not built from a "
        "found agent under IsSet"]


def test_every_sms_fits_one_segment_with_the_longest_topic_and_promises_no_agent(dev_settings: StackSettings,
                                                                                 tmp_path: Path) -> None:
    context = next(a for a in load_all() if a.name == "Get Last Interaction Context")
    longest = next(a for a in load_catalog().attributes if a.name == "lastInteractionTopic").max_length
    assert longest >= 100 and context.output_schema["properties"]["lastInteractionTopic"]["type"] == "string"
    sms = rendered(dev_settings)["sms.yaml"]
    assert greeting_problems(sms, longest) == []
    [greeting] = [a["messageBody"]["exp"] for kind, a, _ in actions(sms) if a.get("name") == "Greet with the topic"]
    assert "ToDisplayString(Left(Flow.lastInteractionTopic," in greeting
    mutated = changed(tmp_path, "sms.yaml.j2", "topic_budget(greeting_prefix, greeting_suffix)", "100")
    assert greeting_problems(rendered(dev_settings, mutated)["sms.yaml"], longest) == [
        "'Greet with the topic': 246 septets in the worst case, over one segment"]
    mutated = changed(tmp_path / "b", "sms.yaml.j2", '"Welcome back! We will reply here soon."',
                      '"Welcome back! We are connecting you with the same agent."')
    assert greeting_problems(rendered(dev_settings, mutated)["sms.yaml"], longest) == [
        "'Greet': 'Welcome back! We are connecting you with the same agent.' promises an agent"]


def test_septets_follow_the_gsm7_tables() -> None:
    assert septets("Welcome back!") == 13
    assert septets("{€}") == 6  # extension characters take an escape each
    with pytest.raises(ValueError, match=r"^character '😀' at 1 is not in the GSM-7 alphabet"):
        septets("a😀")
    assert topic_budget("a" * 40, "b" * 20) == 50
    with pytest.raises(ValueError, match="no room"):
        topic_budget("a" * 159, "")


# -- queue membership and the outcome workflow in the plan ---------------------------------------------------

def test_the_agents_are_members_of_both_queues(dev_plan: Plan, project_copy: Path) -> None:
    resources = {r["name"]: r for r in dev_plan.resources}
    expected = [{"userId": "6b1f0c2e-4d7a-4c39-9f3e-2a8d5e7b1c90", "ringNum": 1},
                {"userId": "0d9e4a17-8b3c-4f62-a5e1-7c2b9d4f6a38", "ringNum": 1}]
    for queue in ("queues-web", "queues-sms"):
        assert resources[queue]["inputs"]["members"] == expected and "groups" not in resources[queue]["inputs"]
    # Groups instead of users; with neither, membership stays unmanaged (the provider's rule for an absent block).
    path = project_copy / "Pulumi.dev.yaml"
    text = re.sub(r"  genesys-identity:agentUserIds:\n(    - .*\n)+", "", path.read_text())
    path.write_text(text + "  genesys-identity:agentGroupIds:\n    - 9a7c3e51-2f4b-4d8e-b6a1-3c5d7e9f1a2b\n")
    grouped = {r["name"]: r for r in evaluate(project_copy, "dev").resources}
    for queue in ("queues-web", "queues-sms"):
        assert grouped[queue]["inputs"]["groups"] == ["9a7c3e51-2f4b-4d8e-b6a1-3c5d7e9f1a2b"]
        assert "members" not in grouped[queue]["inputs"]
    path.write_text(text)
    bare = {r["name"]: r for r in evaluate(project_copy, "dev").resources}
    assert not {"members", "groups"} & set(bare["queues-sms"]["inputs"])


def test_the_outcome_workflow_is_started_by_the_after_call_work_trigger(dev_plan: Plan, dev_settings: StackSettings) -> None:
    resources = {r["name"]: r for r in dev_plan.resources}
    trigger = resources["outcomes-trigger"]["inputs"]
    assert trigger["topicName"] == TOPIC == "v2.detail.events.conversation.{id}.acw"
    assert trigger["target"] == {"id": "(id of flows-outcome-workflow)", "type": "Workflow",
                                 "workflowTargetSettings": {"dataFormat": DATA_FORMAT}}
    assert DATA_FORMAT == "TopLevelPrimitives" and trigger["enabled"] is True
    assert resources["flows-outcome-workflow"]["inputs"]["filepath"] == "build/flows/dev/outcome-workflow.yaml"
    workflow = rendered(dev_settings)["outcome-workflow.yaml"]["workflow"]
    inputs = [next(iter(v.values())) for v in workflow["variables"]]
    assert [v["name"] for v in inputs if v["isInput"]] == [f"Flow.{name}" for name in OUTCOME_WORKFLOW_INPUTS]
    # TopLevelPrimitives: each input is a top-level primitive field of the event, of the same name.
    event = AcwDetailEventTopicAfterCallWorkEvent()
    fields = {json_name: event.swagger_types[python] for python, json_name in event.attribute_map.items()}
    assert all(fields[name] == "str" for name in OUTCOME_WORKFLOW_INPUTS)
    [call] = [a for kind, a, _ in actions(rendered(dev_settings)["outcome-workflow.yaml"]) if kind == "callData"]
    bound = call["category"]["acme-dev Identity Stitching"]["dataAction"]["Record Interaction Outcome"]["inputs"]
    assert (bound["conversationId"], bound["agentId"], bound["queueId"], bound["wrapupCode"]) == (
        {"exp": "Flow.conversationId"}, {"exp": "Flow.userId"}, {"exp": "Flow.queueId"}, {"exp": "Flow.wrapupCode"})
    assert bound["topic"] == {"noValue": True}


def _replace(settings: StackSettings, **changes: Any) -> StackSettings:
    from dataclasses import replace

    return replace(settings, **changes)


@pytest.mark.parametrize("trust", ["false", "true"])
def test_the_deployed_service_trusts_the_email_claim_as_the_stack_does(project_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      trust: str) -> None:
    from tests.test_stitching_deploy import by_type, kubernetes_stack

    plan = kubernetes_stack(project_copy, monkeypatch, trustEmailClaim=trust)
    [deployment] = by_type(plan, "kubernetes:apps/v1:Deployment")
    [container] = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e.get("value") for e in container["env"]}["STITCHING_TRUST_EMAIL_CLAIM"] == trust
    web = plan.artifacts["flows/web-messaging.yaml"]
    assert f"variable: Flow.emailVerified\n                                        value:\n" \
           f"                                          lit: {trust}" in web


def append_problems(flow: dict[str, Any]) -> list[str]:
    """Every argument of every Append is a literal or ToDisplayString(...): Append refuses NOT_SET (expression
    catalog), ToDisplayString accepts it (the DudeWheresMyStuff blueprint's message bodies)."""
    from genesys_identity.architect.expressions import Binary, Call, Index, Literal, Member, Unary, parse

    problems: list[str] = []

    def visit(node: Any, text: str) -> None:
        if isinstance(node, Call):
            if node.function.lower() == "append":
                problems.extend(f"{text}: Append argument {i + 1} is not a literal or ToDisplayString(...)"
                                for i, arg in enumerate(node.args)
                                if not isinstance(arg, Literal)
                                and not (isinstance(arg, Call) and arg.function.lower() == "todisplaystring"))
            for arg in node.args:
                visit(arg, text)
        elif isinstance(node, Binary):
            visit(node.left, text)
            visit(node.right, text)
        elif isinstance(node, Unary):
            visit(node.operand, text)
        elif isinstance(node, Member | Index):
            visit(node.target, text)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "exp" and isinstance(item, str):
                    visit(parse(item), item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(flow)
    return problems


def test_append_only_gets_literals_and_display_strings(dev_settings: StackSettings, tmp_path: Path) -> None:
    for name, flow in rendered(dev_settings).items():
        assert append_problems(flow) == [], name
    mutated = changed(tmp_path, "sms.yaml.j2", "ToDisplayString(Flow.contextReason)", "Flow.contextReason")
    assert append_problems(rendered(dev_settings, mutated)["sms.yaml"]) == [
        'Append("queue: ", Flow.contextReason): Append argument 2 is not a literal or ToDisplayString(...)']
