"""The Architect inbound message flows, published from their rendered files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi

from genesys_identity.errors import SchemaViolation
from genesys_identity.genesys.binding import GenesysResource


@dataclass(frozen=True)
class FlowFile:
    role: str  # child resource name suffix: "web-messaging", "sms"
    name: str  # the flow's name in Genesys, stable per stack
    path: str  # the rendered file, relative to the project (read by the provider at apply time)
    digest: str  # sha256 of the rendered text
    data_action_calls: tuple[tuple[str, str], ...] = ()  # (category, action) pairs the flow calls


def update_trigger(digest: str, bindings: Mapping[tuple[str, str], str]) -> str:
    """The flow's ``update_trigger_hash``: its rendered text and the id of every data action it calls.

    Archy names an action by category and name, and Genesys binds the published flow to the action's id
    (exports carry ``actionId``). A contract change replaces the action with a new id, so the flow must be
    published again even though its text did not change; the provider republishes a flow whenever this
    value changes (1.84.1 schema: "When this value changes, the resource will be refreshed").
    """
    lines = [digest, *(f"{category}/{action}={bindings[(category, action)]}" for category, action in sorted(bindings))]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _trigger_of(digest: str, calls: Sequence[tuple[str, str]]) -> Callable[[list[str]], str]:
    """The ``update_trigger`` of one flow once the ids of the actions it calls are known."""
    def trigger(ids: list[str]) -> str:
        return update_trigger(digest, dict(zip(calls, ids, strict=True)))
    return trigger


class Flows(pulumi.ComponentResource):
    """One ``genesyscloud_flow`` per rendered file.

    ``update_trigger_hash`` hashes the rendered content and the ids of the data actions the flow calls
    (``update_trigger``): an unchanged render with the same actions leaves the flow alone (no republish); a
    changed render, or a replaced action, publishes a new version. ``force_unlock`` follows the stack setting.
    ``action_ids`` maps (category, action name) to the action's id; a call without one is refused.
    """

    def __init__(self, name: str, files: Sequence[FlowFile], force_unlock: bool,
                 depends_on: Sequence[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None,
                 action_ids: Mapping[tuple[str, str], pulumi.Input[str]] | None = None):
        # What the flows call: the policy pack checks it against the data actions the stack declares. The engine
        # hands a policy pack a component's registered outputs (register_outputs replaces its properties), so the
        # same list is registered as an output below.
        calls_by_flow = [
            {"role": f.role, "name": f.name, "dataActionCalls": [{"category": c, "action": a} for c, a in f.data_action_calls]}
            for f in files
        ]
        super().__init__("genesys-identity:flows:Flows", name, {"flows": calls_by_flow}, opts)
        self.ids: dict[str, pulumi.Output[str]] = {}
        for file in files:
            calls = sorted(set(file.data_action_calls))
            missing = [f"{c}/{a}" for c, a in calls if (c, a) not in (action_ids or {})]
            if missing:
                raise SchemaViolation(f"flow {file.name!r} calls data actions the stack does not declare: {', '.join(missing)}")
            ids = [pulumi.Output.from_input((action_ids or {})[call]) for call in calls]
            trigger = pulumi.Output.all(*ids).apply(_trigger_of(file.digest, calls))
            flow = GenesysResource("genesyscloud_flow", f"{name}-{file.role}", {
                "filepath": file.path,
                "update_trigger_hash": trigger,
                "force_unlock": force_unlock,
            }, pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
            self.ids[file.role] = flow.id
        self.register_outputs({"ids": self.ids, "flows": calls_by_flow})
