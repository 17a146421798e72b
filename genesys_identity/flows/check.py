"""The checker for rendered flows, run on every render and in the tests.

It checks the Archy structure this project uses: valid YAML under ``inboundShortMessage``; unique state
refIds and a ``startUpRef`` that resolves; every variable declared (flow or state scope) with the type its
use needs; every ``callData`` names the stack's data actions integration and an existing action, binds
exactly that action's inputs (required ones set) and success outputs (into variables of the output's type),
and has success, failure and timeout paths, each of which still reaches a queue; every participant attribute
read or written is in the catalog; every queue transferred to is one of the stack's. Each problem is one line:
``<file>: state '<state>': action '<action>': <what is wrong>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.catalog import Catalog
from genesys_identity.errors import GenesysIdentityError

FLOW_TYPE = "inboundShortMessage"
_VARIABLE_KINDS = {"stringVariable": "string", "booleanVariable": "boolean", "integerVariable": "integer",
                   "durationVariable": "duration", "queueVariable": "queue", "userVariable": "user",
                   "stringCollectionVariable": "stringCollection", "integerCollectionVariable": "integerCollection"}
_CONTRACT_TYPES = {"string": "string", "boolean": "boolean", "integer": "integer", "number": "decimal"}
_VARIABLE_REF = re.compile(r"\b((?:Flow|State|Task)\.[A-Za-z_][A-Za-z0-9_]*)")
_START = re.compile(rf"^/{FLOW_TYPE}/states/state\[(?P<ref>[^\]]+)\]$")


class FlowCheckError(GenesysIdentityError):
    """A rendered flow breaks the checker's rules; the message lists every problem with file, state and action."""


@dataclass
class Context:
    file: str
    actions: Mapping[str, ActionDefinition]
    category: str
    catalog: Catalog
    queues: frozenset[str]
    variables: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    state: str = "-"

    def problem(self, action: str, message: str) -> None:
        self.problems.append(f"{self.file}: state {self.state!r}: action {action!r}: {message}")


def check_flow(file: str, text: str, *, actions: Iterable[ActionDefinition], category: str, catalog: Catalog,
               queues: Iterable[str]) -> list[str]:
    ctx = Context(file, {a.name: a for a in actions}, category, catalog, frozenset(queues))
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return [f"{file}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]
    if not isinstance(document, dict) or list(document) != [FLOW_TYPE] or not isinstance(document[FLOW_TYPE], dict):
        return [f"{file}: the document must be one '{FLOW_TYPE}' flow"]
    flow = document[FLOW_TYPE]
    for key in ("name", "startUpRef", "states", "defaultLanguage"):
        if key not in flow:
            ctx.problems.append(f"{file}: '{key}' is missing")
    _declare(ctx, flow.get("variables") or [], "Flow.")
    states = flow.get("states") or []
    refs: list[str] = []
    for item in states:
        state = item.get("state", {}) if isinstance(item, dict) else {}
        ref = state.get("refId")
        if not ref:
            ctx.problems.append(f"{file}: state {state.get('name')!r} has no refId")
        elif ref in refs:
            ctx.problems.append(f"{file}: refId {ref!r} is used by two states")
        refs.append(str(ref))
    start = _START.match(str(flow.get("startUpRef", "")))
    if not start or start["ref"] not in refs:
        ctx.problems.append(f"{file}: startUpRef {flow.get('startUpRef')!r} does not name a state")
    for item in states:
        state = item.get("state", {}) if isinstance(item, dict) else {}
        ctx.state = str(state.get("name"))
        _declare(ctx, state.get("variables") or [], "State.")
        _walk(ctx, state.get("actions") or [], reaches_queue_after=False)
    return ctx.problems


def require_valid(problems: list[str]) -> None:
    if problems:
        raise FlowCheckError("rendered flows failed their checks:\n  " + "\n  ".join(problems))


def _declare(ctx: Context, variables: list[Any], scope: str) -> None:
    for item in variables:
        if not isinstance(item, dict) or len(item) != 1:
            ctx.problems.append(f"{ctx.file}: a variable declaration must be one typed entry")
            continue
        kind, body = next(iter(item.items()))
        name = str((body or {}).get("name", ""))
        if kind not in _VARIABLE_KINDS:
            ctx.problems.append(f"{ctx.file}: variable {name!r}: unknown type {kind!r}")
        elif not name.startswith(scope):
            ctx.problems.append(f"{ctx.file}: variable {name!r} must be in the {scope.rstrip('.')} scope here")
        elif name in ctx.variables:
            ctx.problems.append(f"{ctx.file}: variable {name!r} is declared twice")
        else:
            ctx.variables[name] = _VARIABLE_KINDS[kind]


def _walk(ctx: Context, actions: list[Any], reaches_queue_after: bool) -> bool:
    """Check a list of actions; return whether it reaches a queue (a transfer here or after it)."""
    reaches = reaches_queue_after
    for index, item in enumerate(actions):
        if not isinstance(item, dict) or len(item) != 1:
            ctx.problems.append(f"{ctx.file}: state {ctx.state!r}: an action must be one typed entry")
            continue
        kind, body = next(iter(item.items()))
        body = body or {}
        name = str(body.get("name", kind))
        if "name" not in body:
            ctx.problem(name, "has no name")
        later = _transfers(actions[index + 1:]) or reaches_queue_after
        _check_expressions(ctx, name, body)
        if kind == "callData":
            _check_call(ctx, name, body, later)
        elif kind in ("getParticipantData", "setParticipantData"):
            _check_attributes(ctx, name, kind, body)
        elif kind == "transferToAcd":
            queue = (((body.get("targetQueue") or {}).get("lit")) or {})
            if isinstance(queue, dict) and queue.get("name") not in ctx.queues:
                ctx.problem(name, f"transfers to queue {queue.get('name')!r}, which this stack does not declare")
            reaches = True
        elif kind == "updateData":
            for statement in body.get("statements") or []:
                (stype, sbody), = statement.items()
                _need_variable(ctx, name, str((sbody or {}).get("variable")), stype)
        elif kind == "decision":
            for branch in ("yes", "no"):
                _walk(ctx, (((body.get("outputs") or {}).get(branch)) or {}).get("actions") or [], later)
        elif kind == "switch":
            first_true = (body.get("evaluate") or {}).get("firstTrue") or {}
            _walk(ctx, (first_true.get("default") or {}).get("actions") or [], later)
            for case in first_true.get("cases") or []:
                _walk(ctx, (case.get("case") or {}).get("actions") or [], later)
    return reaches


def _transfers(actions: list[Any]) -> bool:
    return any(isinstance(a, dict) and "transferToAcd" in a for a in actions)


def _check_call(ctx: Context, name: str, body: dict[str, Any], reaches_queue_after: bool) -> None:
    category = body.get("category") or {}
    if not isinstance(category, dict) or len(category) != 1:
        ctx.problem(name, "callData needs one category")
        return
    (category_name, category_body), = category.items()
    if category_name != ctx.category:
        ctx.problem(name, f"calls category {category_name!r}, not the stack's data actions integration {ctx.category!r}")
    data_action = (category_body or {}).get("dataAction") or {}
    if not isinstance(data_action, dict) or len(data_action) != 1:
        ctx.problem(name, "callData needs one dataAction")
        return
    (action_name, bindings), = data_action.items()
    definition = ctx.actions.get(action_name)
    if definition is None:
        ctx.problem(name, f"calls unknown data action {action_name!r} (known: {', '.join(sorted(ctx.actions))})")
        return
    bindings = bindings or {}
    given = bindings.get("inputs") or {}
    _exactly(ctx, name, action_name, "input", definition.input_schema.get("properties", {}), given)
    for required in definition.input_schema.get("required", []):
        if required in given and (given[required] or {}).get("noValue"):
            ctx.problem(name, f"{action_name}: required input {required!r} has no value")
    contract_outputs = definition.output_schema.get("properties", {})
    outputs = bindings.get("successOutputs") or {}
    _exactly(ctx, name, action_name, "success output", contract_outputs, outputs)
    for output, form in outputs.items():
        if isinstance(form, dict) and "var" in form and output in contract_outputs:
            needed = _CONTRACT_TYPES.get(str(contract_outputs[output].get("type")), "string")
            _need_variable(ctx, name, str(form["var"]), needed)
    paths = body.get("outputs") or {}
    for path in ("success", "failure", "timeout"):
        if path not in paths:
            ctx.problem(name, f"has no {path} path")
            continue
        path_actions = (paths[path] or {}).get("actions") or []
        if not _walk(ctx, path_actions, reaches_queue_after) and path != "success":
            ctx.problem(name, f"its {path} path never reaches a queue: the customer would be dropped")


def _exactly(ctx: Context, name: str, action_name: str, what: str, contract: Mapping[str, Any],
             bound: Mapping[str, Any]) -> None:
    """A callData binds every field of the contract (noValue for unused ones, as Archy exports do) and no other."""
    for missing in sorted(set(contract) - set(bound)):
        ctx.problem(name, f"{action_name}: {what} {missing!r} is not bound (bind it or give noValue)")
    for unknown in sorted(set(bound) - set(contract)):
        ctx.problem(name, f"{action_name}: has no {what} {unknown!r}")


def _check_attributes(ctx: Context, name: str, kind: str, body: dict[str, Any]) -> None:
    known = {a.name: a for a in ctx.catalog.attributes}
    for item in body.get("attributes") or []:
        attribute = (item or {}).get("attribute") or {}
        literal = (attribute.get("name") or {}).get("lit")
        if literal is None:
            ctx.problem(name, "participant attribute names must be literals (so they can be checked)")
            continue
        literal = str(literal)
        if kind == "getParticipantData" and literal.startswith("Context."):
            website = literal.removeprefix("Context.")
            if website not in known or known[website].source != "messenger_database":
                ctx.problem(name, f"reads website attribute {literal!r}, which the catalog does not declare "
                                  "with source messenger_database")
        elif literal not in known:
            ctx.problem(name, f"participant attribute {literal!r} is not in the catalog")
        if kind == "getParticipantData":
            _need_variable(ctx, name, str(attribute.get("variable")), "string")


def _need_variable(ctx: Context, action: str, variable: str, kind: str) -> None:
    declared = ctx.variables.get(variable)
    if declared is None:
        ctx.problem(action, f"uses variable {variable!r}, which is not declared")
    elif declared != kind:
        ctx.problem(action, f"variable {variable!r} is {declared}, but this use needs {kind}")


def _check_expressions(ctx: Context, action: str, node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "exp" and isinstance(value, str):
                for ref in _VARIABLE_REF.findall(value):
                    if ref not in ctx.variables:
                        ctx.problem(action, f"expression uses {ref!r}, which is not declared")
            elif key not in ("actions", "outputs"):  # nested actions are checked as actions of their own
                _check_expressions(ctx, action, value)
    elif isinstance(node, list):
        for item in node:
            _check_expressions(ctx, action, item)


def data_action_calls(text: str) -> list[tuple[str, str]]:
    """Every ``(category, action)`` a rendered flow calls, in order of appearance (duplicates kept once)."""
    calls: list[tuple[str, str]] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            call = node.get("callData")
            if isinstance(call, dict):
                for category, body in (call.get("category") or {}).items():
                    for action in ((body or {}).get("dataAction") or {}):
                        if (str(category), str(action)) not in calls:
                            calls.append((str(category), str(action)))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(yaml.safe_load(text))
    return calls
