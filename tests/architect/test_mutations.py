"""Proof that the validator catches what Archy catches: distinct edits of the dev stack's rendered flows, each of
which Archy (or, for the last few, the project's policies) would refuse, each reported with the place it is in.

Every edit is made on the parsed render (so it survives template changes), the flow is dumped back to YAML and
checked the way every render is (``flows.check.check_flow``). The unedited renders are clean, so each problem
comes from its edit. A problem must name the place: its path holds the action (``kind[name]``) or key, and its
line is the edited line of the dumped text.
"""

# ruff: noqa: E501  (the table of edits keeps one edit per line)
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from genesys_identity.actions.definitions import load_all
from genesys_identity.architect.validator import Problem
from genesys_identity.catalog import load as load_catalog
from genesys_identity.flows import check
from genesys_identity.flows.render import render
from genesys_identity.settings import KEYS, StackSettings, parse_settings
from genesys_identity.stackfile import StackFileSource
from tests.conftest import ROOT

UUID = "5b6c8d2e-1f3a-4b5c-8d9e-0a1b2c3d4e5f"
WEB, SMS, WORKFLOW = "web-messaging.yaml", "sms.yaml", "outcome-workflow.yaml"


@pytest.fixture(scope="module")
def settings() -> StackSettings:
    source = StackFileSource(ROOT, "dev", tuple(s.key for s in KEYS if s.secret))
    return parse_settings(source, stack="dev", project=source.project)


@pytest.fixture(scope="module")
def renders(settings: StackSettings) -> dict[str, Any]:
    return {f.spec.output: yaml.safe_load(f.text) for f in render(settings, load_catalog(), load_all())}


def problems_of(settings: StackSettings, file: str, document: Any) -> tuple[str, list[Problem]]:
    text = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=1000)
    return text, check.check_flow(file, text, actions=load_all(), category=settings.name("Identity Stitching"),
                                  catalog=load_catalog(), queues=(settings.queues.web, settings.queues.sms))


# -- finding things in a parsed flow ------------------------------------------------------------------------
def flow(doc: dict[str, Any]) -> dict[str, Any]:
    (body,) = doc.values()
    return body  # type: ignore[no-any-return]


def items(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``{kind: body}`` action item, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "actions" and isinstance(value, list):
                for item in value:
                    yield item
                    yield from items(item)
            else:
                yield from items(value)
    elif isinstance(node, list):
        for value in node:
            yield from items(value)


def find(doc: Any, kind: str, where: Callable[[dict[str, Any]], bool] = lambda b: True) -> dict[str, Any]:
    for item in items(doc):
        if kind in item and where(item[kind]):
            return item[kind]  # type: ignore[no-any-return]
    raise AssertionError(f"the render has no {kind} to edit: the test needs a new target")


def item_of(doc: Any, kind: str, where: Callable[[dict[str, Any]], bool] = lambda b: True) -> dict[str, Any]:
    for item in items(doc):
        if kind in item and where(item[kind]):
            return item
    raise AssertionError(f"the render has no {kind} to edit")


def tag(kind: str, body: dict[str, Any]) -> str:
    return f"{kind}[{body['name']}]"


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    """Rename a key in place, keeping the order (so the line stays where it was)."""
    entries = list(mapping.items())
    mapping.clear()
    for key, value in entries:
        mapping[new if key == old else key] = value


def inputs(call: dict[str, Any]) -> dict[str, Any]:
    (category,) = call["category"].values()
    (bindings,) = category["dataAction"].values()
    return bindings["inputs"]  # type: ignore[no-any-return]


def bindings(call: dict[str, Any]) -> dict[str, Any]:
    (category,) = call["category"].values()
    (found,) = category["dataAction"].values()
    return found  # type: ignore[no-any-return]


def variable(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(v[kind] for v in flow(doc)["variables"] if kind in v)  # type: ignore[no-any-return]


def with_exp(fragment: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: fragment in yaml.safe_dump(body)


def exp_holder(doc: Any, fragment: str) -> dict[str, Any]:
    """The first ``{exp: ...}`` mapping whose text contains ``fragment``."""
    def visit(node: Any) -> dict[str, Any] | None:
        if isinstance(node, dict):
            if isinstance(node.get("exp"), str) and fragment in node["exp"]:
                return node
            for value in node.values():
                found = visit(value)
                if found is not None:
                    return found
        elif isinstance(node, list):
            for value in node:
                found = visit(value)
                if found is not None:
                    return found
        return None

    found = visit(doc)
    assert found is not None, f"no expression with {fragment!r} in the render"
    return found


def greet_task(doc: dict[str, Any]) -> None:
    """A valid variant that moves the web flow's greeting into a task called from the state (Archy tasks)."""
    state = flow(doc)["states"][0]["state"]
    index = next(i for i, item in enumerate(state["actions"]) if "sendResponse" in item)
    greeting = state["actions"][index]
    state["actions"][index] = {"callTask": {"name": "Greet", "targetTaskRef": "/inboundShortMessage/tasks/task[Greet_20]"}}
    flow(doc)["tasks"] = [{"task": {
        "name": "Greet", "refId": "Greet_20",
        "variables": [{"stringVariable": {"name": "Task.greeting", "initialValue": {"lit": "Hello"}}}],
        "actions": [greeting, {"endTask": {"name": "Done", "outputPath": {"name": "Greeted"}}}],
        "outputPaths": [{"outputPath": {"name": "Greeted"}}],
    }}]


def task(doc: dict[str, Any]) -> dict[str, Any]:
    return flow(doc)["tasks"][0]["task"]  # type: ignore[no-any-return]


# -- the edits -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    id: str
    file: str
    edit: Callable[[dict[str, Any]], str]  # makes the edit, returns a fragment the problem's path must hold
    message: str  # a fragment the problem's message must hold
    kind: str = "archy"
    tasks: bool = False  # start from the valid tasks variant of the web flow


def misspell_kind(kind: str, wrong: str, where: Callable[[dict[str, Any]], bool] = lambda b: True) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        item = item_of(doc, kind, where)
        body = item[kind]
        rename(item, kind, wrong)
        return f"{wrong}[{body['name']}]"
    return edit


def misspell_prop(kind: str, prop: str, wrong: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, kind, lambda b: prop in b)
        rename(body, prop, wrong)
        return f"{tag(kind, body)}/{wrong}"
    return edit


def set_prop(kind: str, prop: str, value: Any, where: Callable[[dict[str, Any]], bool] = lambda b: True,
             ) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, kind, lambda b: prop in b and where(b))
        body[prop] = copy.deepcopy(value)
        return f"{tag(kind, body)}/{prop}"
    return edit


def set_input(name: str, value: Any, call: str = "Stitch Identity") -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData", lambda b: call in b["category"][next(iter(b["category"]))]["dataAction"])
        inputs(body)[name] = copy.deepcopy(value)
        return f"{tag('callData', body)}/category"
    return edit


def edit_exp(fragment: str, old: str, new: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        holder = exp_holder(doc, fragment)
        assert old in holder["exp"]
        holder["exp"] = holder["exp"].replace(old, new, 1)
        return ""  # the expression's place is checked by its line
    return edit


def set_flow_key(key: str, value: Any) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        flow(doc)[key] = copy.deepcopy(value)
        return key
    return edit


def edit_variable(kind: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        declaration = variable(doc, kind)
        change(declaration)
        return "variables"
    return edit


def add_variable(entry: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        flow(doc)["variables"].append(copy.deepcopy(entry))
        return "variables"
    return edit


def statement(kind: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "updateData", lambda b: any(kind in s for s in b["statements"]))
        change(next(s for s in body["statements"] if kind in s))
        return f"{tag('updateData', body)}/statements"
    return edit


def _drop_path(path: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData")
        del body["outputs"][path]
        return tag("callData", body)
    return edit


def _rename_first(key: str, wrong: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        rename(flow(doc), key, wrong)
        return wrong
    return edit


def _state_key(key: str, wrong: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        rename(flow(doc)["states"][0]["state"], key, wrong)
        return "state["
    return edit


def _call_action(name: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData")
        (category,) = body["category"].values()
        rename(category["dataAction"], next(iter(category["dataAction"])), name)
        return f"{tag('callData', body)}/category"
    return edit


def _output_var(output: str, var: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData", lambda b: output in (bindings(b).get("successOutputs") or {}))
        bindings(body)["successOutputs"][output] = {"var": var}
        return f"{tag('callData', body)}/category"
    return edit


def _misspell_binding_key(key: str, wrong: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData", lambda b: key in bindings(b))
        rename(bindings(body), key, wrong)
        return f"{tag('callData', body)}/category"
    return edit


def _rename_input(old: str, new: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "callData", lambda b: old in bindings(b).get("inputs", {}))
        rename(inputs(body), old, new)
        return f"{tag('callData', body)}/category"
    return edit


def _attribute(kind: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, kind)
        change(body["attributes"][0]["attribute"])
        return f"{tag(kind, body)}/attributes"
    return edit


def _decision_path(old: str, new: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "decision", lambda b: old in b["outputs"])
        rename(body["outputs"], old, new)
        return f"{tag('decision', body)}/outputs"
    return edit


def _error_handling(value: Any) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        flow(doc)["settingsErrorHandling"]["errorHandling"] = copy.deepcopy(value)
        return "settingsErrorHandling"
    return edit


def _flow_type(new: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        rename(doc, next(iter(doc)), new)
        return new
    return edit


def _remove_transfer(doc: dict[str, Any]) -> str:
    state = flow(doc)["states"][0]["state"]
    state["actions"] = [item for item in state["actions"] if "transferToAcd" not in item]
    body = find(doc, "callData")
    return f"{tag('callData', body)}/outputs/failure"


def _queue(name: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        body = find(doc, "transferToAcd")
        body["targetQueue"] = {"lit": {"name": name}}
        return f"{tag('transferToAcd', body)}/targetQueue"
    return edit


def _task_edit(change: Callable[[dict[str, Any]], None], where: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        change(doc)
        return where
    return edit


def _end_task_in_state(doc: dict[str, Any]) -> None:
    flow(doc)["states"][0]["state"]["actions"].insert(0, {"endTask": {"name": "Stray end", "outputPath": {"name": "default"}}})


EDITS = [
    # misspelled or misplaced action kinds
    Edit("kind-transferToACD", WEB, misspell_kind("transferToAcd", "transferToACD"), "unknown action kind 'transferToACD' (did you mean transferToAcd?)"),
    Edit("kind-calldata", WEB, misspell_kind("callData", "calldata"), "unknown action kind 'calldata'"),
    Edit("kind-setParticipantDate", SMS, misspell_kind("setParticipantData", "setParticipantDate"), "unknown action kind 'setParticipantDate'"),
    Edit("kind-updatedata", SMS, misspell_kind("updateData", "updatedata"), "unknown action kind 'updatedata'"),
    Edit("kind-Decision", WEB, misspell_kind("decision", "Decision"), "unknown action kind 'Decision'"),
    Edit("kind-sendMessage", WEB, misspell_kind("sendResponse", "sendMessage"), "unknown action kind 'sendMessage'"),
    Edit("kind-hangUp", SMS, misspell_kind("disconnect", "hangUp"), "unknown action kind 'hangUp'"),
    Edit("kind-getParticipantAttributes", WEB, misspell_kind("getParticipantData", "getParticipantAttributes"), "unknown action kind"),
    Edit("kind-endFlow-in-workflow", WORKFLOW, misspell_kind("endWorkflow", "endFlow"), "unknown action kind 'endFlow'"),
    Edit("kind-endWorkflow-in-message-flow", WEB, misspell_kind("disconnect", "endWorkflow"), "endWorkflow is not an action of inboundShortMessage flows"),
    Edit("kind-disconnect-in-workflow", WORKFLOW, misspell_kind("endWorkflow", "disconnect", lambda b: b["name"] == "End Workflow"), "disconnect is not an action of workflow flows"),
    # misspelled properties and keys
    Edit("prop-targetQueu", WEB, misspell_prop("transferToAcd", "targetQueue", "targetQueu"), "has no property 'targetQueu' (did you mean targetQueue?)"),
    Edit("prop-preferredAgent", SMS, misspell_prop("transferToAcd", "preferredAgents", "preferredAgent"), "has no property 'preferredAgent'"),
    Edit("prop-body", WEB, misspell_prop("sendResponse", "messageBody", "body"), "has no property 'body'"),
    Edit("prop-timeOut", WEB, misspell_prop("callData", "timeout", "timeOut"), "has no property 'timeOut'"),
    Edit("prop-conditon", WEB, misspell_prop("decision", "condition", "conditon"), "has no property 'conditon'"),
    Edit("prop-statement", WEB, misspell_prop("updateData", "statements", "statement"), "has no property 'statement'"),
    Edit("prop-attribute", SMS, misspell_prop("setParticipantData", "attributes", "attribute"), "has no property 'attribute'"),
    Edit("prop-exitreason", WORKFLOW, misspell_prop("endWorkflow", "exitReason", "exitreason"), "has no property 'exitreason'"),
    Edit("key-successOutput", SMS, _misspell_binding_key("successOutputs", "successOutput"), "has no key 'successOutput'"),
    Edit("key-startupRef", WEB, _rename_first("startUpRef", "startupRef"), "has no key 'startupRef'"),
    Edit("key-refID", WEB, _state_key("refId", "refID"), "has no key 'refID'"),
    Edit("key-initialvalue", SMS, edit_variable("stringVariable", lambda v: rename(v, "initialValue", "initialvalue")), "has no key 'initialvalue'"),
    Edit("key-attribute-var", WEB, _attribute("getParticipantData", lambda a: rename(a, "variable", "var")), "has no key 'var'"),
    Edit("key-unknown-flow-key", WEB, set_flow_key("settingsActionDefaults", {"callData": {}}), "has no key 'settingsActionDefaults'"),
    # a bare scalar where lit:/exp: is needed
    Edit("bare-priority", WEB, set_prop("transferToAcd", "priority", 0), "needs lit:, exp: or noValue:, got a bare integer 0"),
    Edit("bare-messageBody", WEB, set_prop("sendResponse", "messageBody", "Hello"), "got a bare string 'Hello'"),
    Edit("bare-condition", WEB, set_prop("decision", "condition", "Flow.authenticated"), "got a bare string"),
    Edit("bare-input", SMS, set_input("channel", "sms"), "got a bare string 'sms'"),
    Edit("bare-initialValue", WEB, edit_variable("booleanVariable", lambda v: v.update(initialValue=False)), "got a bare boolean False"),
    # a string where a boolean (or integer) is needed
    Edit("string-into-boolean-input", WEB, set_input("authVerified", {"lit": "true"}), "a Boolean literal needs a boolean, got string 'true'"),
    Edit("string-into-boolean-variable", WEB, edit_variable("booleanVariable", lambda v: v.update(initialValue={"lit": "false"})), "a Boolean literal needs a boolean"),
    Edit("string-into-condition", WEB, set_prop("decision", "condition", {"exp": '"yes"'}), "Boolean"),
    Edit("string-into-integer", WEB, set_prop("transferToAcd", "priority", {"lit": "0"}), "an Integer literal needs an integer, got string '0'"),
    Edit("string-into-boolean-statement", WEB, statement("boolean", lambda s: s["boolean"].update(value={"lit": "true"})), "a Boolean literal needs a boolean"),
    # expressions: unknown functions, unbalanced parentheses, misspelled builtins and variables
    Edit("unknown-function-Apend", WEB, edit_exp("Append(", "Append(", "Apend("), "Apend"),
    Edit("unknown-function-FindUsrById", SMS, edit_exp("FindUserById(", "FindUserById(", "FindUsrById("), "FindUsrById"),
    Edit("unbalanced-paren-missing", WEB, edit_exp("Append(", "\")", "\""), "syntax"),
    Edit("unbalanced-paren-extra", SMS, edit_exp("MakeAgentScorePair(", "MakeAgentScorePair(", "MakeAgentScorePair(("), "syntax"),
    Edit("builtin-ConversationIdd", WEB, edit_exp("Message.ConversationId", "Message.ConversationId", "Message.ConversationIdd"), "Message.ConversationIdd"),
    Edit("builtin-IsAuthenticatd", WEB, edit_exp("Message.IsAuthenticated", "Message.IsAuthenticated", "Message.IsAuthenticatd"), "Message.IsAuthenticatd"),
    Edit("builtin-senderAdress", SMS, edit_exp("Message.Message.sender", "Message.Message.sender", "Message.Message.sendr"), "Message.Message.sendr"),
    Edit("undeclared-variable-in-exp", WEB, edit_exp("Flow.authenticated", "Flow.authenticated", "Flow.authenticatedd"), "Flow.authenticatedd"),
    Edit("empty-exp", WEB, set_prop("sendResponse", "messageBody", {"exp": ""}), "exp: needs an expression text"),
    # division given as an id
    Edit("division-id-web", WEB, set_flow_key("division", UUID), "is a division id; Archy takes the division's name"),
    Edit("division-id-workflow", WORKFLOW, set_flow_key("division", UUID), "is a division id"),
    # durations
    Edit("duration-bare-number-lit", WEB, set_prop("callData", "timeout", {"lit": 7}), "a Duration literal is {seconds: N} or {minutes: N}, got a bare integer 7"),
    Edit("duration-bare-scalar", SMS, set_prop("callData", "timeout", 7), "needs lit:, exp: or noValue:, got a bare integer 7"),
    Edit("duration-unknown-unit", WORKFLOW, set_prop("callData", "timeout", {"lit": {"secs": 4}}), "a Duration has no unit 'secs'"),
    Edit("duration-negative", WEB, set_prop("callData", "timeout", {"lit": {"seconds": -1}}), "seconds: needs a whole number >= 0"),
    # lit: where an expression is needed, and literal shapes
    Edit("lit-preferredAgents", SMS, set_prop("transferToAcd", "preferredAgents", {"lit": "Flow.preferredAgents"}), "a Collection(AgentScorePair) has no literal form in Archy: use exp:"),
    Edit("lit-directAgent", WEB, set_prop("transferToAcd", "directAgent", {"lit": "agent"}), "a User has no literal form"),
    Edit("lit-queue-as-string", WEB, set_prop("transferToAcd", "targetQueue", {"lit": "Acme Dev Web Support"}), "a Queue literal is {name: <queue name>}"),
    Edit("lit-agent-score-pairs", SMS, statement("agentScorePairCollection", lambda s: s["agentScorePairCollection"].update(value={"lit": ["x"]})), "has no literal form"),
    # value forms
    Edit("noValue-false", WEB, set_prop("transferToAcd", "preferredAgents", {"noValue": False}), "noValue: must be true"),
    Edit("noValue-on-required", WEB, set_prop("transferToAcd", "targetQueue", {"noValue": True}), "needs a value; noValue: is not accepted here"),
    Edit("var-in-value", WEB, set_prop("sendResponse", "messageBody", {"var": "Flow.customerTier"}), "var: is for outputs"),
    Edit("two-forms", WEB, set_prop("transferToAcd", "priority", {"lit": 0, "exp": "1"}), "needs exactly one of lit:, exp:, noValue:"),
    # variables and statements
    Edit("variable-kind-stringVar", WEB, add_variable({"stringVar": {"name": "Flow.extra", "initialValue": {"noValue": True}}}), "unknown variable kind 'stringVar'"),
    Edit("variable-declared-twice", WEB, add_variable({"stringVariable": {"name": "Flow.customerTier", "initialValue": {"noValue": True}}}), "is declared twice"),
    Edit("variable-wrong-scope", WEB, add_variable({"stringVariable": {"name": "State.extra", "initialValue": {"noValue": True}}}), "variables are Flow.*"),
    Edit("statement-type-mismatch", WEB, statement("boolean", lambda s: s["boolean"].update(variable="Flow.authSubject")), "needs a Boolean variable"),
    Edit("statement-unknown-type", WEB, statement("string", lambda s: rename(s, "string", "text")), "unknown statement type 'text'"),
    Edit("statement-undeclared-variable", SMS, statement("string", lambda s: s["string"].update(variable="Flow.nobody")), "variable 'Flow.nobody' is not declared"),
    Edit("get-attribute-undeclared-variable", WEB, _attribute("getParticipantData", lambda a: a.update(variable="Flow.nope")), "variable 'Flow.nope' is not declared"),
    # data action calls against their contracts
    Edit("call-unknown-input", WEB, _rename_input("channel", "chanel"), "the data action has no input 'chanel' (did you mean channel?)"),
    Edit("call-unknown-action", SMS, _call_action("Get Last Agent"), "no data action 'Get Last Agent'"),
    Edit("call-output-wrong-type", WEB, _output_var("stitchedProfileId", "Flow.authenticated"), "variable 'Flow.authenticated' is Boolean, but it receives a String"),
    Edit("call-output-undeclared", WORKFLOW, _output_var("recorded", "Flow.recorded"), "variable 'Flow.recorded' is not declared"),
    # structure: flow type, references, refIds, output paths, error handling
    Edit("flow-type-inboundMessage", WEB, _flow_type("inboundMessage"), "unknown flow type 'inboundMessage'"),
    Edit("startUpRef-missing-state", WEB, set_flow_key("startUpRef", "/inboundShortMessage/states/state[Nowhere_1]"), "names no state"),
    Edit("startUpRef-not-a-reference", SMS, set_flow_key("startUpRef", "Route_10"), "is not a reference"),
    Edit("decision-path-Yes", WEB, _decision_path("yes", "Yes"), "unknown output path 'Yes'"),
    Edit("error-handling-hangup", WEB, _error_handling({"hangup": {"none": True}}), "unknown error handling 'hangup'"),
    Edit("error-handling-endWorkflow-in-message-flow", SMS, _error_handling({"endWorkflow": {"none": True}}), "unknown error handling 'endWorkflow'"),
    # tasks
    Edit("task-unknown-action", WEB, _task_edit(lambda d: rename(task(d)["actions"][0], "sendResponse", "sendRespons"), "task[Greet_20]/sendRespons"), "unknown action kind 'sendRespons'", tasks=True),
    Edit("task-callTask-missing", WEB, set_prop("callTask", "targetTaskRef", "/inboundShortMessage/tasks/task[Greet_21]"), "names no task", tasks=True),
    Edit("task-endTask-unknown-path", WEB, _task_edit(lambda d: task(d)["actions"][1]["endTask"].update(outputPath={"name": "Greetd"}), "task[Greet_20]/endTask[Done]"), "has no output path 'Greetd'", tasks=True),
    Edit("task-variable-scope", WEB, _task_edit(lambda d: task(d)["variables"][0]["stringVariable"].update(name="State.greeting"), "task[Greet_20].variables"), "variables are Task.*", tasks=True),
    Edit("task-missing-refId", WEB, _task_edit(lambda d: task(d).pop("refId"), "task["), "a task needs 'refId'", tasks=True),
    Edit("task-endTask-in-state", WEB, _task_edit(_end_task_in_state, "endTask[Stray end]"), "endTask ends a task; it cannot stand in a state", tasks=True),
    Edit("task-misspelled-key", WEB, _task_edit(lambda d: rename(task(d), "actions", "actons"), "task[Greet_20]"), "a task has no key 'actons'", tasks=True),
    Edit("task-duplicate-refId", WEB, _task_edit(lambda d: task(d).update(refId=flow(d)["states"][0]["state"]["refId"]), "task["), "is used twice", tasks=True),
    Edit("task-state-ref-in-callTask", WEB, set_prop("callTask", "targetTaskRef", "/inboundShortMessage/states/state[Identify_10]"), "is not a reference of the form /inboundShortMessage/tasks/task[<refId>]", tasks=True),
    Edit("task-variable-used-outside", WEB, set_prop("transferToAcd", "priority", {"exp": "Task.greeting"}), "Task.greeting", tasks=True),
    # the project's policies (reported apart, kind "policy")
    Edit("policy-no-timeout-path", WEB, _drop_path("timeout"), "has no timeout path", kind="policy"),
    Edit("policy-failure-path-drops", WEB, _remove_transfer, "the failure path never reaches a queue", kind="policy"),
    Edit("policy-attribute-not-in-catalog", SMS, _attribute("setParticipantData", lambda a: a.update(name={"lit": "favouriteColour"})), "participant attribute 'favouriteColour' is not in the catalog", kind="policy"),
    Edit("policy-foreign-queue", WEB, _queue("Somebody Else's Queue"), "which this stack does not declare", kind="policy"),
    Edit("policy-foreign-error-queue", SMS, _error_handling({"queue": {"targetQueue": {"lit": {"name": "Elsewhere"}}}}), "errors go to queue 'Elsewhere', which this stack does not declare", kind="policy"),
]


def test_the_renders_are_clean_and_so_is_the_tasks_variant(settings: StackSettings, renders: dict[str, Any]) -> None:
    for file, document in renders.items():
        assert problems_of(settings, file, document)[1] == [], file
    variant = copy.deepcopy(renders[WEB])
    greet_task(variant)
    assert problems_of(settings, WEB, variant)[1] == []


def test_there_are_enough_distinct_edits() -> None:
    assert len({e.id for e in EDITS}) == len(EDITS) >= 50
    archy = [e for e in EDITS if e.kind == "archy"]
    assert len(archy) >= 50


@pytest.mark.parametrize("edit", EDITS, ids=[e.id for e in EDITS])
def test_each_edit_is_caught_where_it_was_made(settings: StackSettings, renders: dict[str, Any], edit: Edit) -> None:
    document = copy.deepcopy(renders[edit.file])
    if edit.tasks:
        greet_task(document)
    before = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=1000)
    where = edit.edit(document)
    text, problems = problems_of(settings, edit.file, document)
    assert text != before, "the edit changed nothing"
    # The expression's text (quoted at the end of its problems) does not count: the finding itself must name it.
    matching = [p for p in problems if p.kind == edit.kind and edit.message in re.sub(r" \(in ['\"].*$", "", p.message)
                and where in p.path]
    assert matching, f"{edit.id}: not caught as expected; problems were:\n" + "\n".join(map(str, problems))
    changed = {i + 1 for i, (a, b) in enumerate(zip(before.splitlines(), text.splitlines(), strict=False)) if a != b}
    for problem in matching:
        assert str(problem).startswith(f"{edit.file}:{problem.line}: ")
        assert 1 <= problem.line <= len(text.splitlines())
        # The line is the edited one, or (for a key that went missing or a whole entry) the entry that holds it.
        if changed and edit.id not in ("key-startupRef", "task-missing-refId", "policy-failure-path-drops",
                                       "policy-no-timeout-path", "key-refID", "task-misspelled-key"):
            nearest = min(changed, key=lambda line: abs(line - problem.line))
            assert abs(nearest - problem.line) <= 3, f"{edit.id}: reported at line {problem.line}, edited {sorted(changed)[:5]}"
    if edit.kind == "policy":
        assert not [p for p in problems if p.kind == "archy"], "a policy edit must stay valid Archy"
