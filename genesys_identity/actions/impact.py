"""Which published flows a data action replacement puts at risk, from two offline plans.

A contract change replaces the action: the old one is deleted, a new one with a new id is created, and every
flow that calls it is published again (its ``update_trigger_hash`` covers the ids of the actions it calls).
Until that republish succeeds, the published flow is bound to the deleted action's id and takes its failure
path on every call. The reviewers' report lists those flows so that the deploy is watched (and a failed
republish caught) rather than discovered by customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACTION = "genesyscloud:index/integrationAction:IntegrationAction"
FLOWS = "genesys-identity:flows:Flows"
CONTRACTS = (("contractInput", "input contract"), ("contractOutput", "output contract"))


@dataclass(frozen=True)
class FlowAtRisk:
    flow: str  # the flow's name in Genesys
    action: str  # the replaced action's name
    category: str
    why: str  # "input contract changed", ...

    def line(self) -> str:
        return (f"- Flow `{self.flow}` calls `{self.category}` / `{self.action}`, which is replaced ({self.why}): "
                "it is republished after the new action exists; until then its calls take the failure path.")


def _actions(document: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (str(r["inputs"].get("category")), str(r["inputs"].get("name"))): r["inputs"]
        for r in document.get("resources", [])
        if r.get("type") == ACTION
    }


def _flow_calls(document: Mapping[str, Any]) -> list[tuple[str, tuple[str, str]]]:
    calls: list[tuple[str, tuple[str, str]]] = []
    for resource in document.get("resources", []):
        if resource.get("type") != FLOWS:
            continue
        for flow in resource.get("inputs", {}).get("flows") or []:
            for call in flow.get("dataActionCalls") or []:
                calls.append((str(flow.get("name")), (str(call.get("category")), str(call.get("action")))))
    return calls


def replaced_actions(base: Mapping[str, Any], head: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(category, name) -> why, for every action of ``head`` that Genesys would replace."""
    before, after = _actions(base), _actions(head)
    replaced: dict[tuple[str, str], str] = {}
    for key, inputs in after.items():
        old = before.get(key)
        if old is None:
            continue
        changed = [which for field, which in CONTRACTS if old.get(field) != inputs.get(field)]
        if old.get("integrationId") != inputs.get("integrationId"):
            changed.append("integration")
        if changed:
            replaced[key] = " and ".join(changed) + " changed"
    return replaced


def flows_at_risk(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[FlowAtRisk]:
    """The flows of ``head`` that call an action replaced between the two plans, sorted by flow and action."""
    replaced = replaced_actions(base, head)
    found = {
        FlowAtRisk(flow, action, category, replaced[(category, action)])
        for flow, (category, action) in _flow_calls(head)
        if (category, action) in replaced
    }
    return sorted(found, key=lambda f: (f.flow, f.category, f.action))
