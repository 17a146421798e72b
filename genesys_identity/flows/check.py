"""The project's checks on its rendered flows: Archy conformance first, then the project's own policies.

``check_flow`` runs the Archy validator (``genesys_identity.architect.validator``: the flow as Archy would
accept it, with the stack's data action contracts) and then the policies this project sets for itself, which
Archy would not refuse but the product needs. Policy problems carry ``kind="policy"`` and are reported apart:

- every ``callData`` binds every field of its data action's contract (``noValue`` for unused ones, as Archy
  exports do) and gives no required input ``noValue``;
- every ``callData`` has success, failure and timeout paths, and in message flows the failure and timeout
  paths still reach a queue (a transfer on the path or after the call): no customer is dropped;
- every participant attribute a flow reads or writes is a literal name from the catalog; a ``Context.*``
  attribute read with getParticipantData is one the catalog declares with source ``messenger_database``;
- every queue a flow transfers to, and the queue its error handling sends to, is a literal name of one of the
  stack's queues.

Each render is parsed once (``architect.loader``, cached by text): the validator, the policies and
``data_action_calls`` share the same document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.architect.loader import Document, LoadError, Path, load
from genesys_identity.architect.validator import Problem, contracts_for, validate
from genesys_identity.catalog import Catalog
from genesys_identity.errors import GenesysIdentityError

# The channel each rendered message flow serves (the Message.* builtins differ by channel).
CHANNELS = {"web-messaging.yaml": "webmessaging", "sms.yaml": "sms"}
MESSAGE_FLOW = FLOW_TYPE = "inboundShortMessage"


class FlowCheckError(GenesysIdentityError):
    """A rendered flow fails Archy conformance or the project's policies; the message lists every problem."""


class Rendered(Protocol):
    """What ``check_rendered`` needs of a render (``flows.render.RenderedFlow``)."""

    @property
    def text(self) -> str: ...
    @property
    def spec(self) -> Any: ...


def check_flow(file: str, source: str | Document, *, actions: Iterable[ActionDefinition], category: str,
               catalog: Catalog, queues: Iterable[str], channel: str | None = None) -> list[Problem]:
    """Archy problems (kind "archy") then policy problems (kind "policy") of one rendered flow."""
    actions = list(actions)
    try:
        document = source if isinstance(source, Document) else load(source, file)
    except LoadError as exc:
        return [Problem(exc.file, exc.line, "-", f"not valid YAML: {exc.reason}")]
    if channel is None:
        channel = CHANNELS.get(file)
    problems = validate(document, file, channel=channel, contracts=contracts_for(category, actions))
    return problems + policies(document, actions=actions, category=category, catalog=catalog, queues=queues)


def check_rendered(flows: Iterable[Rendered], *, actions: Iterable[ActionDefinition], category: str,
                   catalog: Catalog, queues: Iterable[str]) -> list[Problem]:
    """Every problem of a stack's renders (each parsed once)."""
    actions, queues = list(actions), tuple(queues)
    return [problem for flow in flows for problem in check_flow(
        flow.spec.output, load(flow.text, flow.spec.output), actions=actions, category=category, catalog=catalog,
        queues=queues)]


def require_valid(problems: Iterable[Problem]) -> None:
    """Raise with every problem, Archy conformance and the project's policies listed apart."""
    problems = list(problems)
    if not problems:
        return
    archy = [str(p) for p in problems if p.kind != "policy"]
    policy = [str(p) for p in problems if p.kind == "policy"]
    parts = []
    if archy:
        parts.append("Archy conformance:\n  " + "\n  ".join(archy))
    if policy:
        parts.append("project policies:\n  " + "\n  ".join(policy))
    raise FlowCheckError("rendered flows failed their checks:\n" + "\n".join(parts))


def data_action_calls(source: str | Document) -> list[tuple[str, str]]:
    """Every ``(category, action)`` a rendered flow calls, in order of appearance (duplicates kept once)."""
    document = source if isinstance(source, Document) else load(source)
    calls: list[tuple[str, str]] = []
    for step in steps(document):
        if step.kind != "callData":
            continue
        category = step.body.get("category")
        for name, body in (category.items() if isinstance(category, dict) else ()):
            data_action = body.get("dataAction") if isinstance(body, dict) else None
            for action in (data_action if isinstance(data_action, dict) else ()):
                if (str(name), str(action)) not in calls:
                    calls.append((str(name), str(action)))
    return calls


# -- walking the actions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Step:
    kind: str
    body: dict[str, Any]
    path: Path  # to the action's body
    where: str  # display path, as the validator prints it
    reaches_queue_after: bool  # a transfer follows this action on its path (or after the enclosing action)


def steps(document: Document) -> Iterator[_Step]:
    """Every action of a flow, in its states and tasks, branches included, in order of appearance."""
    root = document.value
    if not isinstance(root, dict) or len(root) != 1:
        return
    (flow_type, flow), = root.items()
    if not isinstance(flow, dict):
        return
    for section, item_kind in (("states", "state"), ("tasks", "task")):
        items = flow.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            body = item.get(item_kind) if isinstance(item, dict) else None
            if not isinstance(body, dict):
                continue
            label = f"{item_kind}[{body.get('refId', index)}]"
            yield from _walk(body.get("actions"), (str(flow_type), section, index, item_kind, "actions"), label, False)


def _walk(actions: Any, path: Path, where: str, after: bool) -> Iterator[_Step]:
    if not isinstance(actions, list):
        return
    for index, item in enumerate(actions):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        (kind, body), = item.items()
        if not isinstance(body, dict):
            continue
        kind = str(kind)
        later = after or _transfers(actions[index + 1:])
        apath = (*path, index, kind)
        awhere = f"{where}/{kind}[{body.get('name', index)}]"
        yield _Step(kind, body, apath, awhere, later)
        for inner_path, inner_where, inner in _branches(kind, body, apath, awhere):
            yield from _walk(inner, inner_path, inner_where, later)


def _branches(kind: str, body: dict[str, Any], path: Path, where: str) -> Iterator[tuple[Path, str, Any]]:
    outputs = body.get("outputs")
    if isinstance(outputs, dict):
        for name, branch in outputs.items():
            if isinstance(branch, dict):
                shown = {True: "yes", False: "no"}.get(name, name) if isinstance(name, bool) else name
                yield (*path, "outputs", str(name), "actions"), f"{where}/outputs/{shown}", branch.get("actions")
    if kind == "switch":
        first = (body.get("evaluate") or {}).get("firstTrue") if isinstance(body.get("evaluate"), dict) else None
        if isinstance(first, dict):
            default = first.get("default")
            if isinstance(default, dict):
                yield (*path, "evaluate", "firstTrue", "default", "actions"), f"{where}/evaluate/firstTrue/default", \
                    default.get("actions")
            for index, case in enumerate(first.get("cases") or []):
                inner = case.get("case") if isinstance(case, dict) else None
                if isinstance(inner, dict):
                    yield ((*path, "evaluate", "firstTrue", "cases", index, "case", "actions"),
                           f"{where}/evaluate/firstTrue/cases[{index}]", inner.get("actions"))


def _transfers(actions: list[Any]) -> bool:
    return any(isinstance(a, dict) and "transferToAcd" in a for a in actions)


def _reaches_queue(actions: Any, after: bool) -> bool:
    """Whether a path of actions ends in a queue: a transfer on it, in every branch of a decision, or after it."""
    if after:
        return True
    if not isinstance(actions, list):
        return False
    for item in actions:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        (kind, body), = item.items()
        if kind == "transferToAcd":
            return True
        if kind == "decision" and isinstance(body, dict) and isinstance(body.get("outputs"), dict):
            branches = [b.get("actions") if isinstance(b, dict) else None for b in body["outputs"].values()]
            if len(branches) == 2 and all(_reaches_queue(b, False) for b in branches):
                return True
    return False


# -- the policies ----------------------------------------------------------------------------------------------
def policies(document: Document, *, actions: Iterable[ActionDefinition], category: str, catalog: Catalog,
             queues: Iterable[str]) -> list[Problem]:
    """The project's own rules for its flows (kind "policy"), in document order."""
    contracts = contracts_for(category, actions)
    known = {a.name: a for a in catalog.attributes}
    stack_queues = frozenset(queues)
    root = document.value
    message_flow = isinstance(root, dict) and MESSAGE_FLOW in root
    problems: list[Problem] = []

    def problem(path: Path, where: str, message: str) -> None:
        problems.append(Problem(document.file, document.line(path), where, message, "policy"))

    if isinstance(root, dict) and len(root) == 1:
        (flow_type, flow), = root.items()
        handling = ((flow.get("settingsErrorHandling") or {}).get("errorHandling") if isinstance(flow, dict)
                    and isinstance(flow.get("settingsErrorHandling"), dict) else None)
        queue = handling.get("queue") if isinstance(handling, dict) else None
        if isinstance(queue, dict):
            target = queue.get("targetQueue")
            literal = target.get("lit") if isinstance(target, dict) else None
            name = literal.get("name") if isinstance(literal, dict) else None
            path: Path = (str(flow_type), "settingsErrorHandling", "errorHandling", "queue", "targetQueue")
            where = f"{flow_type}.settingsErrorHandling.errorHandling.queue.targetQueue"
            if not isinstance(name, str):
                problem(path, where, "the error queue must be a literal {name: ...} so it can be checked against the "
                                     "stack's queues")
            elif name not in stack_queues:
                problem(path, where, f"errors go to queue {name!r}, which this stack does not declare "
                                     f"(stack queues: {', '.join(sorted(stack_queues))})")
    for step in steps(document):
        if step.kind == "callData":
            _call_policies(step, contracts, message_flow, problem)
        elif step.kind in ("getParticipantData", "setParticipantData", "setConversationData"):
            _attribute_policies(step, known, problem)
        elif step.kind == "transferToAcd":
            target = step.body.get("targetQueue")
            literal = target.get("lit") if isinstance(target, dict) else None
            where = f"{step.where}/targetQueue"
            if not isinstance(literal, dict):
                problem((*step.path, "targetQueue"), where,
                        "the queue must be a literal {name: ...} so it can be checked against the stack's queues")
            elif not isinstance(literal.get("name"), str) or literal["name"] not in stack_queues:
                problem((*step.path, "targetQueue"), where,
                        f"transfers to queue {literal.get('name')!r}, which this stack does not declare "
                        f"(stack queues: {', '.join(sorted(stack_queues))})")
    return sorted(problems, key=lambda p: p.line)


def _call_policies(step: _Step, contracts: Mapping[tuple[str, str], ActionDefinition], message_flow: bool,
                   problem: Any) -> None:
    category = step.body.get("category")
    if isinstance(category, dict) and len(category) == 1:
        (name, body), = category.items()
        data_action = body.get("dataAction") if isinstance(body, dict) else None
        if isinstance(data_action, dict) and len(data_action) == 1:
            (action, bindings), = data_action.items()
            definition = contracts.get((str(name), str(action)))
            if definition is not None and isinstance(bindings, dict):
                bpath = (*step.path, "category", str(name), "dataAction", str(action))
                bwhere = f"{step.where}/category[{name}]/dataAction[{action}]"
                given: dict[str, Any] = bindings["inputs"] if isinstance(bindings.get("inputs"), dict) else {}
                outputs: dict[str, Any] = (bindings["successOutputs"] if isinstance(bindings.get("successOutputs"), dict)
                                           else {})
                for what, contract, bound, key in (
                        ("input", definition.input_schema.get("properties", {}), given, "inputs"),
                        ("success output", definition.output_schema.get("properties", {}), outputs, "successOutputs")):
                    for missing in sorted(set(contract) - set(bound)):
                        problem((*bpath, key), f"{bwhere}/{key}",
                                f"{what} {missing!r} is not bound (bind it or give noValue, as Archy exports do)")
                for required in definition.input_schema.get("required", []):
                    form = given.get(required)
                    if isinstance(form, dict) and form.get("noValue") is True:
                        problem((*bpath, "inputs", required), f"{bwhere}/inputs.{required}",
                                f"required input {required!r} has no value")
    paths: dict[str, Any] = step.body["outputs"] if isinstance(step.body.get("outputs"), dict) else {}
    for path in ("success", "failure", "timeout"):
        if path not in paths:
            problem(step.path, step.where, f"has no {path} path")
            continue
        branch = paths[path]
        actions = branch.get("actions") if isinstance(branch, dict) else None
        if message_flow and path != "success" and not _reaches_queue(actions, step.reaches_queue_after):
            problem((*step.path, "outputs", path), f"{step.where}/outputs/{path}",
                    f"the {path} path never reaches a queue: the customer would be dropped")


def _attribute_policies(step: _Step, known: Mapping[str, Any], problem: Any) -> None:
    items = step.body.get("attributes")
    for index, item in enumerate(items if isinstance(items, list) else []):
        attribute = item.get("attribute") if isinstance(item, dict) else None
        if not isinstance(attribute, dict):
            continue
        apath = (*step.path, "attributes", index, "attribute", "name")
        where = f"{step.where}/attributes[{index}]/name"
        name = attribute.get("name")
        literal = name.get("lit") if isinstance(name, dict) else None
        if not isinstance(literal, str):
            problem(apath, where, "participant attribute names must be literals (so they can be checked)")
            continue
        if step.kind == "getParticipantData" and literal.startswith("Context."):
            website = literal.removeprefix("Context.")
            if website not in known or known[website].source != "messenger_database":
                problem(apath, where, f"reads website attribute {literal!r}, which the catalog does not declare "
                                      "with source messenger_database")
        elif literal not in known:
            problem(apath, where, f"participant attribute {literal!r} is not in the catalog")
