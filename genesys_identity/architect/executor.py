"""Run a rendered Architect flow for one inbound message (or a workflow's inputs), the way Genesys runs it.

- ``Message.*`` builtins are set as Genesys sets them for the channel (``message.py``); ``Context.*`` participant
  data holds what the website set with the Messenger's ``Database.set``.
- Actions run in order from ``startUpRef`` (a state or a task); tasks are called (``callTask``) and return by
  ``endTask`` along an output path. decision, switch, loop, updateData, get/setParticipantData, sendResponse,
  callData, transferToAcd, disconnect, endWorkflow, wait and setConversationData are executed. Any other action
  kind stops the run with an error (closed world: the action kinds of ``catalog/archy.yaml`` the executor does not
  model, such as callBotFlow, and anything unknown); nothing is skipped.
- ``callData`` goes through the offline data action runner to a live stitching service with the stack's
  credential. Inputs whose value is NOT_SET are stripped before the call, as Genesys strips null inputs since
  2024-03 (Genesys developer forum announcement, 2024-03-15). The flow's ``timeout`` and the action's own
  ``timeoutSeconds`` are both enforced: the flow's timeout elapsing first takes the ``timeout`` path; the action
  timing out first is an action failure (``failure`` path), as Genesys reports it.
- An ``ExpressionRuntimeError`` (e.g. NOT_SET given to a function parameter that refuses it: help "Using NOT_SET
  expressions") invokes the flow's ``settingsErrorHandling``: disconnect, a transfer to a queue, or end of the
  workflow, whatever the flow says.
- ``transferToAcd`` is resolved against a directory of users and queue members (``directory.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.actions.runner import ActionFailure, execute
from genesys_identity.architect import loader as flow_loader
from genesys_identity.architect import types as t
from genesys_identity.architect.directory import Directory
from genesys_identity.architect.expressions import ExpressionRuntimeError
from genesys_identity.architect.message import InboundMessage, Start, WorkflowStart
from genesys_identity.architect.trace import DataActionCall, Outcome, Step, Trace
from genesys_identity.architect.typecheck import Scope
from genesys_identity.architect.values import (
    CONTRACT_TYPES,
    FlowRunError,
    FlowRuntime,
    Values,
    builtins_for,
    display,
    from_json,
    show,
    to_json,
)

__all__ = ["DataActionService", "Executor", "FlowRunError", "load_flow", "run_flow"]

FLOW_TYPES = ("inboundShortMessage", "workflow")
NOT_SET = t.NOT_SET
_MAX_STEPS = 10_000  # a flow that loops forever is stopped, never left hanging


class _Stop(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class _EndTask(Exception):
    """Control flow: endTask returns to the caller of callTask along one of the task's output paths."""

    def __init__(self, path: str) -> None:
        self.path = path


@dataclass
class DataActionService:
    """Where callData goes: the stitching service URL and the stack's credential."""

    url: str
    credentials: Mapping[str, str]
    client: httpx.Client | None = None


def load_flow(text: str, label: str = "flow") -> dict[str, Any]:
    try:  # the parse the validator already made of this text (loader caches by text), never a second one
        document = flow_loader.load(text, label).value
    except flow_loader.LoadError as exc:
        raise FlowRunError(f"{label}: not YAML: {exc.reason}") from None
    if not isinstance(document, dict) or len(document) != 1 or next(iter(document)) not in FLOW_TYPES:
        raise FlowRunError(f"{label}: must hold one flow, one of {', '.join(FLOW_TYPES)}")
    return document


@dataclass
class Executor:
    document: dict[str, Any]
    actions: Sequence[ActionDefinition]
    directory: Directory
    service: DataActionService | None
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    label: str = "flow"

    def __post_init__(self) -> None:
        self.flow_type = next(iter(self.document))
        self.flow = self.document[self.flow_type]
        if not isinstance(self.flow, dict):
            raise FlowRunError(f"{self.label}: {self.flow_type} must be a mapping")
        self.types: dict[str, t.ArchType] = {}
        self.initial: dict[str, Any] = {}
        self.inputs: set[str] = set()
        for entry in self.flow.get("variables") or []:
            ((kind, spec),) = entry.items()
            try:
                arch_type = t.variable_kind_type(kind)
            except KeyError:
                raise FlowRunError(f"{self.label}: variables: unknown variable kind {kind!r}") from None
            name = spec["name"]
            self.types[name] = arch_type
            self.initial[name] = spec.get("initialValue", {"noValue": True})
            if spec.get("isInput"):
                self.inputs.add(name)
        self.blocks: dict[str, tuple[str, list[Any]]] = {}
        for group, kind in (("states", "state"), ("tasks", "task")):
            for entry in self.flow.get(group) or []:
                if not isinstance(entry, dict) or kind not in entry:
                    raise FlowRunError(f"{self.label}: {group}: each entry must be a {kind}")
                block = entry[kind]
                ref = f"/{self.flow_type}/{group}/{kind}[{block['refId']}]"
                self.blocks[ref] = (f"{kind} {block['name']}", list(block.get("actions") or []))
        self.definitions = {d.name: d for d in self.actions}

    # -- entry point -------------------------------------------------------------------------------------------

    def run(self, start: Start) -> Trace:
        channel = start.channel if isinstance(start, InboundMessage) else None
        if self.flow_type == "workflow" and not isinstance(start, WorkflowStart):
            raise FlowRunError(f"{self.label}: a workflow is started with its input variables, not a message")
        if self.flow_type == "inboundShortMessage" and not isinstance(start, InboundMessage):
            raise FlowRunError(f"{self.label}: an inbound message flow is started with a message, not workflow inputs")
        self.trace = Trace(str(self.flow.get("name")), self.flow_type, channel)
        self.start = start
        self.participant: dict[str, str] = {}
        if isinstance(start, InboundMessage):
            self.participant.update({f"Context.{k}": v for k, v in start.database.items()})
        self.runtime = FlowRuntime({}, builtins_for(start, self.clock()), self.directory, self.clock)
        self.values = Values(self.label, self.runtime, self.directory, channel or self.flow_type,
                             Scope(self.flow_type, dict(self.types), channel))
        self.steps = 0
        if isinstance(start, InboundMessage):
            flat: dict[str, Any] = {}
            for name, value in self.runtime.builtins.items():
                members = value.items() if isinstance(value, dict) else [("", value)]
                flat.update({f"{name}.{member}" if member else name: item for member, item in members})
            self.trace.start = {name: show(value) for name, value in flat.items()
                                if name.startswith("Message.") and value is not NOT_SET}
        else:
            self.trace.start = {name: show(value) for name, value in start.inputs.items()}
        for name, form in self.initial.items():
            self.runtime.variables[name] = self.values.value(form, self.types[name], f"variables: {name}: initialValue")
        if isinstance(start, WorkflowStart):
            unknown = sorted(set(start.inputs) - self.inputs)
            if unknown:
                raise FlowRunError(f"{self.label}: {unknown[0]} is not an input variable of the workflow "
                                   f"(inputs: {', '.join(sorted(self.inputs)) or 'none'})")
            for name, value in start.inputs.items():
                self.runtime.variables[name] = self.values.coerce(from_json(value), self.types[name], f"input {name}")
        try:
            try:
                self._goto(self.flow.get("startUpRef", ""), "startUpRef")
                self._finish(Outcome("end", "the flow ran out of actions"))
            except ExpressionRuntimeError as error:
                self._error_handling(str(error))
        except _Stop as stop:
            self.trace.outcome = stop.outcome
        self.trace.participant_data = {k: v for k, v in self.participant.items() if not k.startswith("Context.")}
        return self.trace

    def _finish(self, outcome: Outcome) -> None:
        raise _Stop(outcome)

    def _goto(self, ref: str, where: str) -> None:
        if ref not in self.blocks:
            raise FlowRunError(f"{self.label}: {where}: no state or task {ref!r}")
        block, actions = self.blocks[ref]
        with contextlib.suppress(_EndTask):
            self._actions(actions, block)

    # -- error handling ----------------------------------------------------------------------------------------

    def _error_handling(self, error: str) -> None:
        self.trace.errors.append(error)
        settings = (self.flow.get("settingsErrorHandling") or {}).get("errorHandling")
        if not isinstance(settings, dict) or len(settings) != 1:
            raise FlowRunError(f"{self.label}: settingsErrorHandling.errorHandling must name one kind")
        ((kind, spec),) = settings.items()
        reason = f"the flow's error handling ({kind}) after: {error}"
        if kind in ("disconnect", "endWorkflow"):
            self._finish(Outcome("disconnect" if kind == "disconnect" else "end", reason, by_error_handling=True))
        if kind in ("queue", "transferToAcd"):
            target = spec.get("targetQueue", spec) if isinstance(spec, dict) else None
            try:
                queue = self.values.value(target if isinstance(target, dict) and len(target) == 1 and
                                    next(iter(target)) in ("lit", "exp", "var") else {"lit": target},
                                    t.QUEUE, "settingsErrorHandling")
            except ExpressionRuntimeError as again:
                raise FlowRunError(f"{self.label}: settingsErrorHandling: the queue cannot be evaluated: {again}") from None
            self._transfer_outcome(queue, 0, [], reason, by_error_handling=True)
        raise FlowRunError(f"{self.label}: settingsErrorHandling: unknown error handling kind {kind!r}")

    # -- actions -----------------------------------------------------------------------------------------------

    def _actions(self, actions: Sequence[Any], where: str) -> None:
        for entry in actions:
            if not isinstance(entry, dict) or len(entry) != 1:
                raise FlowRunError(f"{self.label}: {where}: an action must be a mapping with one kind")
            ((kind, spec),) = entry.items()
            handler = _HANDLERS.get(kind)
            if handler is None:
                raise FlowRunError(f"{self.label}: {where}: action kind {kind!r} is not modelled by the executor "
                                   f"(known: {', '.join(sorted(_HANDLERS))})")
            self.steps += 1
            if self.steps > _MAX_STEPS:
                raise FlowRunError(f"{self.label}: {where}: more than {_MAX_STEPS} actions run; the flow loops")
            name = str((spec or {}).get("name", kind))
            step = Step(where, kind, name)
            self.trace.steps.append(step)
            handler(self, spec or {}, step, f"{where}: {kind} {name!r}")

    def _update_data(self, spec: dict[str, Any], step: Step, where: str) -> None:
        assigned = []
        for statement in spec.get("statements") or []:
            ((_kind, body),) = statement.items()
            variable = body["variable"]
            if variable not in self.types:
                raise FlowRunError(f"{self.label}: {where}: undeclared variable {variable!r}")
            value = self.values.value(body.get("value"), self.types[variable], f"{where}: {variable}")
            self.runtime.variables[variable] = self.values.coerce(value, self.types[variable], f"{where}: {variable}")
            assigned.append(f"{variable}={show(self.runtime.variables[variable])}")
        step.detail = ", ".join(assigned)

    def _decision(self, spec: dict[str, Any], step: Step, where: str) -> None:
        condition = self.values.value(spec.get("condition"), t.BOOLEAN, f"{where}: condition")
        if condition is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: the condition is NOT_SET")
        branch = "yes" if condition else "no"
        step.detail = f"-> {branch}"
        outputs = spec.get("outputs") or {}
        self._actions((outputs.get(branch) or {}).get("actions") or [], where)

    def _switch(self, spec: dict[str, Any], step: Step, where: str) -> None:
        evaluate_spec = spec.get("evaluate") or {}
        if set(evaluate_spec) != {"firstTrue"}:
            raise FlowRunError(f"{self.label}: {where}: evaluate must be firstTrue")
        first = evaluate_spec["firstTrue"]
        for i, entry in enumerate(first.get("cases") or []):
            case = entry["case"]
            value = self.values.value(case.get("value"), t.BOOLEAN, f"{where}: case {i + 1}")
            if value is not NOT_SET and value:
                step.detail = f"-> case {i + 1}"
                self._actions(case.get("actions") or [], where)
                return
        step.detail = "-> default"
        self._actions((first.get("default") or {}).get("actions") or [], where)

    def _loop(self, spec: dict[str, Any], step: Step, where: str) -> None:
        count = self.values.value(spec.get("loopCount"), t.INTEGER, f"{where}: loopCount")
        if count is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: loopCount is NOT_SET")
        index_form = spec.get("currentIndex") or {}
        index = index_form.get("var") if isinstance(index_form, dict) else None
        done = 0
        for i in range(int(count)):
            if index:
                self.runtime.variables[index] = i
            self._actions(((spec.get("outputs") or {}).get("loop") or {}).get("actions") or [], where)
            done += 1
        step.detail = f"{done} of {count} iterations"

    def _set_participant_data(self, spec: dict[str, Any], step: Step, where: str) -> None:
        written = []
        for entry in spec.get("attributes") or []:
            attribute = entry["attribute"]
            name = self.values.value(attribute.get("name"), t.STRING, f"{where}: name")
            value = self.values.value(attribute.get("value"), t.STRING, f"{where}: {name}")
            if value is NOT_SET:
                written.append(f"{name} not written (NOT_SET)")
                continue
            self.participant[str(name)] = display(value)
            written.append(f"{name}={show(self.participant[str(name)])}")
        step.detail = ", ".join(written)

    def _get_participant_data(self, spec: dict[str, Any], step: Step, where: str) -> None:
        read = []
        for entry in spec.get("attributes") or []:
            attribute = entry["attribute"]
            name = str(self.values.value(attribute.get("name"), t.STRING, f"{where}: name"))
            target = attribute.get("variable")
            variable = target.get("var") if isinstance(target, dict) else target
            if variable not in self.types:
                raise FlowRunError(f"{self.label}: {where}: undeclared variable {variable!r}")
            raw = self.participant.get(name, NOT_SET)
            self.runtime.variables[variable] = self.values.coerce(raw, self.types[variable], f"{where}: {name}")
            read.append(f"{name}={show(raw)}")
        step.detail = ", ".join(read)

    def _send_response(self, spec: dict[str, Any], step: Step, where: str) -> None:
        body = self.values.value(spec.get("messageBody"), t.STRING, f"{where}: messageBody")
        if body is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: messageBody is NOT_SET")
        self.trace.responses.append(str(body))
        step.detail = repr(str(body))

    def _disconnect(self, spec: dict[str, Any], step: Step, where: str) -> None:
        self._finish(Outcome("disconnect", f"the flow's Disconnect action {step.name!r}"))

    def _end_workflow(self, spec: dict[str, Any], step: Step, where: str) -> None:
        reason = self.values.value(spec.get("exitReason") or {"noValue": True}, t.STRING, f"{where}: exitReason")
        self._finish(Outcome("end", f"the workflow's End Workflow action {step.name!r}"
                             + (f" ({reason})" if reason is not NOT_SET else "")))

    def _call_task(self, spec: dict[str, Any], step: Step, where: str) -> None:
        ref = str(spec.get("targetTaskRef"))
        step.detail = f"-> {ref}"
        if ref not in self.blocks:
            raise FlowRunError(f"{self.label}: {where}: no task {ref!r}")
        block, actions = self.blocks[ref]
        path = "default"  # a task whose actions run out returns along its default path
        try:
            self._actions(actions, block)
        except _EndTask as ended:
            path = ended.path
        step.detail += f", returned by {path!r}"
        self._actions(((spec.get("outputs") or {}).get(path) or {}).get("actions") or [], where)

    def _end_task(self, spec: dict[str, Any], step: Step, where: str) -> None:
        output = spec.get("outputPath") or {}
        raise _EndTask(str(output.get("name", "default")) if isinstance(output, dict) else "default")

    def _wait(self, spec: dict[str, Any], step: Step, where: str) -> None:
        duration = self.values.value(spec.get("duration"), t.DURATION, f"{where}: duration")
        if duration is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: duration is NOT_SET")
        step.detail = f"waits {duration} (not slept: the run is a simulation of the flow's logic)"

    def _set_conversation_data(self, spec: dict[str, Any], step: Step, where: str) -> None:
        conversation = self.values.value(spec.get("conversationId"), t.STRING, f"{where}: conversationId")
        if conversation is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: conversationId is NOT_SET")
        self._set_participant_data(spec, step, where)
        step.detail = f"on conversation {conversation}: {step.detail}"

    def _transfer_to_acd(self, spec: dict[str, Any], step: Step, where: str) -> None:
        queue = self.values.value(spec.get("targetQueue"), t.QUEUE, f"{where}: targetQueue")
        if queue is NOT_SET:
            raise ExpressionRuntimeError(f"{where}: targetQueue is NOT_SET")
        priority = self.values.value(spec.get("priority") or {"lit": 0}, t.INTEGER, f"{where}: priority")
        preferred = self.values.value(spec.get("preferredAgents") or {"noValue": True},
                                t.collection(t.AGENT_SCORE_PAIR), f"{where}: preferredAgents")
        pairs = [] if preferred is NOT_SET else list(preferred)
        for key in ("languageSkill", "directAgent"):
            if self.values.value(spec.get(key) or {"noValue": True}, None, f"{where}: {key}") is not NOT_SET:
                raise FlowRunError(f"{self.label}: {where}: {key} is not modelled by the executor")
        self._transfer_outcome(queue, 0 if priority is NOT_SET else int(priority), pairs,
                               f"the flow's Transfer to ACD action {step.name!r}", step=step)

    def _transfer_outcome(self, queue: Any, priority: int, pairs: Sequence[Any], why: str, *,
                          step: Step | None = None, by_error_handling: bool = False) -> None:
        target = self.directory.find_queue(queue.name if isinstance(queue, t.Queue) else str(queue))
        if target is None:
            raise FlowRunError(f"{self.label}: queue {getattr(queue, 'name', queue)!r} is not in the directory "
                               f"({self.directory.source})")
        agents = []
        for pair in pairs:
            if pair is NOT_SET or not isinstance(pair, t.AgentScorePair):
                raise ExpressionRuntimeError(f"preferredAgents holds {pair!r}, not an agent score pair")
            agents.append((pair.user.id, pair.score))
        routing = self.directory.route(target, agents)
        chosen = routing.routed_to
        outcome = Outcome("transfer", f"{why}; {routing.reason}", queue=target.name, priority=priority,
                          preferred_agents=[p.to_dict() for p in routing.preferred],
                          routed_to_agent=(chosen.name or chosen.user_id) if chosen else None,
                          by_error_handling=by_error_handling)
        if step is not None:
            step.detail = outcome.summary()
        self._finish(outcome)

    def _call_data(self, spec: dict[str, Any], step: Step, where: str) -> None:
        category = spec.get("category") or {}
        if len(category) != 1:
            raise FlowRunError(f"{self.label}: {where}: category must name one integration")
        ((_category, body),) = category.items()
        data_action = (body or {}).get("dataAction") or {}
        if len(data_action) != 1:
            raise FlowRunError(f"{self.label}: {where}: dataAction must name one action")
        ((action_name, binding),) = data_action.items()
        definition = self.definitions.get(action_name)
        if definition is None:
            raise FlowRunError(f"{self.label}: {where}: no data action named {action_name!r}")
        binding = binding or {}
        flow_timeout = self.values.value(spec.get("timeout") or {"lit": {"minutes": 1}}, t.DURATION, f"{where}: timeout")
        flow_timeout_s = 60.0 if flow_timeout is NOT_SET else flow_timeout.total_seconds()
        properties = definition.input_schema.get("properties", {})
        inputs: dict[str, Any] = {}
        stripped = []
        for name, form in (binding.get("inputs") or {}).items():
            if name not in properties:
                raise FlowRunError(f"{self.label}: {where}: {action_name} has no input {name!r}")
            value = self.values.value(form, CONTRACT_TYPES.get(properties[name].get("type")), f"{where}: input {name}")
            if value is NOT_SET:
                stripped.append(name)
                continue
            inputs[name] = to_json(value, properties[name].get("type"), f"{where}: input {name}")
        call = DataActionCall(action_name, inputs, stripped, "success")
        self.trace.calls.append(call)
        if self.service is None:
            raise FlowRunError(f"{self.label}: {where}: calls {action_name!r}; give --service-url and --token-file")
        action_timeout_s = float(definition.timeout_seconds)
        limit = min(flow_timeout_s, action_timeout_s)
        begun = time.perf_counter()
        outputs: dict[str, Any] = {}
        try:
            execution = execute(definition, inputs, service_url=self.service.url, credentials=self.service.credentials,
                                client=self.service.client, timeout_s=limit)
            outputs = execution.output
            call.elapsed_ms = (time.perf_counter() - begun) * 1000
            if call.elapsed_ms / 1000 > flow_timeout_s:
                call.status, call.error = "timeout", f"no answer within the flow's {flow_timeout_s:g} s"
        except ActionFailure as failure:
            call.elapsed_ms = (time.perf_counter() - begun) * 1000
            timed_out = failure.status == 504 and flow_timeout_s <= action_timeout_s
            call.status = "timeout" if timed_out else "failure"
            call.error = (f"no answer within the flow's {flow_timeout_s:g} s" if timed_out
                          else f"{failure.status} {failure.code}: {failure.message}")
            failure_outputs = binding.get("failureOutputs") or {}
            self._bind_outputs(failure_outputs, {"errorCode": failure.code, "status": str(failure.status),
                                                 "userMessage": failure.message}, where, lenient=True)
        if call.status == "success":
            call.outputs = outputs
            self._bind_outputs(binding.get("successOutputs") or {}, outputs, where, lenient=False)
        step.detail = f"{action_name} -> {call.status}"
        self._actions(((spec.get("outputs") or {}).get(call.status) or {}).get("actions") or [], where)

    def _bind_outputs(self, bindings: Mapping[str, Any], values: Mapping[str, Any], where: str, *, lenient: bool) -> None:
        for name, form in bindings.items():
            if not isinstance(form, dict) or len(form) != 1:
                raise FlowRunError(f"{self.label}: {where}: output {name}: needs var or noValue")
            ((how, variable),) = form.items()
            if how == "noValue":
                continue
            if how != "var":
                raise FlowRunError(f"{self.label}: {where}: output {name}: {how!r} is not var or noValue")
            if variable not in self.types:
                raise FlowRunError(f"{self.label}: {where}: output {name}: undeclared variable {variable!r}")
            if name not in values and not lenient:
                value: Any = NOT_SET
            else:
                value = from_json(values.get(name, NOT_SET))
            self.runtime.variables[variable] = self.values.coerce(value, self.types[variable], f"{where}: output {name}")



_HANDLERS: dict[str, Callable[[Executor, dict[str, Any], Step, str], None]] = {
    "updateData": Executor._update_data,
    "decision": Executor._decision,
    "switch": Executor._switch,
    "loop": Executor._loop,
    "callData": Executor._call_data,
    "setParticipantData": Executor._set_participant_data,
    "getParticipantData": Executor._get_participant_data,
    "sendResponse": Executor._send_response,
    "transferToAcd": Executor._transfer_to_acd,
    "disconnect": Executor._disconnect,
    "endWorkflow": Executor._end_workflow,
    "wait": Executor._wait,
    "setConversationData": Executor._set_conversation_data,
    "callTask": Executor._call_task,
    "endTask": Executor._end_task,
}
KNOWN_ACTION_KINDS = frozenset(_HANDLERS)


def run_flow(text_or_document: str | dict[str, Any], start: Start, *, actions: Sequence[ActionDefinition],
             directory: Directory, service: DataActionService | None,
             clock: Callable[[], dt.datetime] | None = None, label: str = "flow") -> Trace:
    """Run one flow (rendered YAML text, or its loaded document) for one start; return the trace."""
    document = load_flow(text_or_document, label) if isinstance(text_or_document, str) else text_or_document
    executor = Executor(document, actions, directory, service, clock or (lambda: dt.datetime.now(dt.UTC)), label)
    return executor.run(start)
