"""Compare two offline plans and write a report for reviewers, grouped by meaning rather than property paths.

Sections: participant attributes; data action contracts (a change replaces the action in Genesys); flows (what
changed in plain words, the unified diff of the rendered YAML, pictures before and after); Messenger
authentication and identity resolution; settings; resources that would be replaced, added or removed; and any
other resource change not explained above. Masked secrets only ever appear as "(secret)". ``Report.approval``
says whether anything a reviewer must approve changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.audit import flowgraph
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.plan import MASK

ACTION = "genesyscloud:index/integrationAction:IntegrationAction"
FLOW = "genesyscloud:index/flow:Flow"
CONFIGURATION = "genesyscloud:index/webdeploymentsConfiguration:WebdeploymentsConfiguration"
IDENTITY_RESOLUTION = ("pulumi-python:dynamic/genesys:WebDeploymentIdentityResolution",
                       "pulumi-python:dynamic/genesys:SmsIdentityResolution")
EXPLAINED_TYPES = {"genesys-identity:catalog:ParticipantAttributes", "genesys-identity:flows:Flows", FLOW, ACTION,
                   CONFIGURATION, *IDENTITY_RESOLUTION}
ATTRIBUTE_FIELDS_INFORMATIONAL = {"description"}


class DiffError(GenesysIdentityError):
    """A plan folder is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class PlanFolder:
    path: Path
    document: dict[str, Any]
    flows: dict[str, str]  # file name -> rendered text

    @classmethod
    def read(cls, path: Path) -> PlanFolder:
        plan = path / "plan.json"
        try:
            document = json.loads(plan.read_text())
        except OSError:
            raise DiffError(f"{plan}: no plan here (run `python -m genesys_identity plan` first)") from None
        except json.JSONDecodeError as exc:
            raise DiffError(f"{plan}: not JSON ({exc.msg})") from None
        flows = {p.name: p.read_text() for p in sorted((path / "flows").glob("*.yaml"))}
        return cls(path, document, flows)


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    approval: bool = True


@dataclass
class Report:
    stack: str
    sections: list[Section]
    pictures: dict[str, str]  # file name -> SVG, written beside the report

    @property
    def approval(self) -> bool:
        return any(s.approval and s.lines for s in self.sections)

    def markdown(self) -> str:
        filled = [s for s in self.sections if s.lines]
        head = [f"# Review of stack `{self.stack}`", ""]
        if not filled:
            return "\n".join([*head, "No changes.", ""])
        verdict = ("**Changes a reviewer must approve.**" if self.approval else "Only informational changes.")
        body = [*head, verdict, ""]
        for section in filled:
            body += [f"## {section.title}", "", *section.lines, ""]
        return "\n".join(body)


def compare(base: PlanFolder, head: PlanFolder) -> Report:
    stack = str(head.document.get("stack"))
    sections = [
        Section("Participant attributes", _attributes(base.document, head.document)),
        Section("Data action contracts", _contracts(base.document, head.document)),
    ]
    flow_lines, pictures = _flows(base.flows, head.flows)
    sections.append(Section("Flows", flow_lines))
    sections.append(Section("Messenger authentication and identity resolution", _messenger(base.document, head.document)))
    sections.append(Section("Resources replaced, added or removed", _lifecycle(base.document, head.document)))
    sections.append(Section("Other resource changes", _others(base.document, head.document)))
    sections.append(Section("Settings", _settings(base.document, head.document), approval=False))
    return Report(stack, sections, pictures)


def write(report: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in report.pictures.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    target = out / "report.md"
    target.write_text(report.markdown())
    return target


# -- sections ------------------------------------------------------------------------------------------------

def _attributes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    before = {a["name"]: a for a in base.get("participantAttributes", [])}
    after = {a["name"]: a for a in head.get("participantAttributes", [])}
    lines = []
    for name in sorted(after.keys() - before.keys()):
        a = after[name]
        lines.append(f"- Attribute `{name}` **added**: {a['type']}, from {a['source']}, "
                     f"{'routable' if a.get('routing') else 'not routable'}, "
                     f"{'agent-visible' if a.get('agent_visible') else 'hidden from agents'}, PII class {a.get('pii')}.")
    for name in sorted(before.keys() - after.keys()):
        lines.append(f"- Attribute `{name}` **removed**: flows, data actions and the website must no longer use it.")
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if old.get("type") != new.get("type"):
            lines.append(f"- Attribute `{name}` **retyped** from {old.get('type')} to {new.get('type')}.")
        if old.get("routing") != new.get("routing"):
            lines.append(f"- Attribute `{name}` " + ("**made routable**." if new.get("routing") else "no longer routable."))
        if old.get("agent_visible") != new.get("agent_visible"):
            lines.append(f"- Attribute `{name}` " + (f"**made agent-visible** ({new.get('agent_visible_reason')})."
                                                    if new.get("agent_visible") else "hidden from agents."))
        if old.get("pii") != new.get("pii"):
            lines.append(f"- Attribute `{name}`: **PII class changed** from {old.get('pii')} to {new.get('pii')}.")
        for key in sorted((old.keys() | new.keys()) - {"type", "routing", "agent_visible", "pii", "agent_visible_reason",
                                                          "name", *ATTRIBUTE_FIELDS_INFORMATIONAL}):
            if old.get(key) != new.get(key):
                lines.append(f"- Attribute `{name}`: {key} {old.get(key)!r} -> {new.get(key)!r}.")
    return lines


def _resources(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document.get("resources", [])}


def _contracts(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    before = {r["inputs"].get("name"): r for r in _resources(base).values() if r["type"] == ACTION}
    after = {r["inputs"].get("name"): r for r in _resources(head).values() if r["type"] == ACTION}
    lines = [f"- Data action `{n}` **added**." for n in sorted(after.keys() - before.keys())]
    lines += [f"- Data action `{n}` **removed**: flows calling it would fail." for n in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name]["inputs"], after[name]["inputs"]
        for key, which in (("contractInput", "input"), ("contractOutput", "output")):
            if old.get(key) != new.get(key):
                change = _schema_change(old.get(key), new.get(key))
                lines.append(f"- Data action `{name}`: **{which} contract changed** ({change})"
                             " — Genesys replaces the action (contracts cannot change after publishing).")
        for key, what in (("configRequest", "request"), ("configResponse", "response mapping"),
                          ("configTimeoutSeconds", "timeout"), ("secure", "secure flag")):
            if old.get(key) != new.get(key):
                lines.append(f"- Data action `{name}`: {what} changed.")
    return lines


def _schema_change(old: Any, new: Any) -> str:
    try:
        before = json.loads(old or "{}").get("properties", {})
        after = json.loads(new or "{}").get("properties", {})
    except (TypeError, json.JSONDecodeError):
        return "not readable"
    parts = [f"added `{k}`" for k in sorted(after.keys() - before.keys())]
    parts += [f"removed `{k}`" for k in sorted(before.keys() - after.keys())]
    parts += [f"`{k}` {before[k].get('type')} -> {after[k].get('type')}" for k in sorted(before.keys() & after.keys())
              if before[k].get("type") != after[k].get("type")]
    parts += [f"`{k}` constraints" for k in sorted(before.keys() & after.keys())
              if before[k].get("type") == after[k].get("type") and before[k] != after[k]]
    return ", ".join(parts) or "required fields or descriptions"


def _flows(base: Mapping[str, str], head: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    lines: list[str] = []
    pictures: dict[str, str] = {}
    for name in sorted(base.keys() | head.keys()):
        old, new = base.get(name), head.get(name)
        if old == new:
            continue
        stem = name.removesuffix(".yaml")
        if old is None or new is None:
            lines.append(f"- Flow file `{name}` **{'added' if old is None else 'removed'}**.")
            continue
        title = _flow_name(new) or stem
        lines.append(f"### {title} (`{name}`)")
        lines.append("")
        lines += _flow_meaning(old, new)
        pictures[f"flows/{stem}.before.svg"] = flowgraph.svg(old, f"{title} (before)")
        pictures[f"flows/{stem}.after.svg"] = flowgraph.svg(new, f"{title} (after)")
        lines += ["", f"Before: ![before](flows/{stem}.before.svg) After: ![after](flows/{stem}.after.svg)", "",
                  "```diff", *difflib.unified_diff(old.splitlines(), new.splitlines(), f"base/{name}", f"head/{name}",
                                                    lineterm="", n=3), "```", ""]
    return lines, pictures


def _flow_name(text: str) -> str | None:
    try:
        document = yaml.safe_load(text)
        return str(next(iter(document.values())).get("name"))
    except (yaml.YAMLError, AttributeError, StopIteration):
        return None


def _flow_meaning(old: str, new: str) -> list[str]:
    before, after = _flow_facts(old), _flow_facts(new)
    lines = []
    for state in sorted(after["states"] - before["states"]):
        lines.append(f"- State `{state}` added.")
    for state in sorted(before["states"] - after["states"]):
        lines.append(f"- State `{state}` removed.")
    for call in sorted(after["calls"] - before["calls"]):
        lines.append(f"- Now calls data action `{call[1]}` in state `{call[0]}` (\"{call[2]}\").")
    for call in sorted(before["calls"] - after["calls"]):
        lines.append(f"- No longer calls data action `{call[1]}` in state `{call[0]}` (\"{call[2]}\").")
    old_transfers, new_transfers = before["transfers"], after["transfers"]
    for name in sorted(new_transfers.keys() | old_transfers.keys()):
        was, now = old_transfers.get(name), new_transfers.get(name)
        if was == now:
            continue
        if was is None:
            lines.append(f"- Transfer \"{name}\" added: to queue `{now[0]}`{_preferred(now)}.")
        elif now is None:
            lines.append(f"- Transfer \"{name}\" removed (it went to queue `{was[0]}`).")
        else:
            lines.append(f"- Transfer \"{name}\" now goes to queue `{now[0]}`{_preferred(now)} "
                         f"(was `{was[0]}`{_preferred(was)}).")
    if not lines:
        lines.append("- Wording or structure changed; no state, data action call or transfer target changed.")
    return lines


def _preferred(transfer: tuple[str, bool]) -> str:
    return " preferring the last agent" if transfer[1] else ""


def _flow_facts(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"states": set(), "calls": set(), "transfers": {}}
    try:
        document = yaml.safe_load(text) or {}
        flow = next(iter(document.values()))
    except (yaml.YAMLError, AttributeError, StopIteration):
        return facts

    def visit(node: Any, state: str) -> None:
        if isinstance(node, dict):
            for kind, body in node.items():
                if kind == "callData" and isinstance(body, dict):
                    for category in (body.get("category") or {}).values():
                        for action in ((category or {}).get("dataAction") or {}):
                            facts["calls"].add((state, str(action), str(body.get("name"))))
                if kind == "transferToAcd" and isinstance(body, dict):
                    queue = ((body.get("targetQueue") or {}).get("lit") or {}).get("name", "(expression)")
                    preferred = "noValue" not in (body.get("preferredAgents") or {"noValue": True})
                    facts["transfers"][str(body.get("name"))] = (str(queue), preferred)
                visit(body, state)
        elif isinstance(node, list):
            for item in node:
                visit(item, state)

    for item in flow.get("states") or []:
        state = (item or {}).get("state") or {}
        facts["states"].add(str(state.get("name")))
        visit(state.get("actions") or [], str(state.get("name")))
    return facts


def _messenger(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    before, after = _resources(base), _resources(head)
    lines = []
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if new["type"] == CONFIGURATION:
            was, now = old["inputs"].get("authenticationSettings") or {}, new["inputs"].get("authenticationSettings") or {}
            if bool(was.get("enabled")) != bool(now.get("enabled")):
                lines.append(f"- Messenger authentication **turned {'on' if now.get('enabled') else 'off'}** (`{name}`).")
            for key in sorted((was.keys() | now.keys()) - {"enabled"}):
                if was.get(key) != now.get(key):
                    lines.append(f"- Messenger authentication: {key} {_show(was.get(key))} -> {_show(now.get(key))} (`{name}`).")
        elif new["type"] in IDENTITY_RESOLUTION:
            for key in sorted(old["inputs"].keys() | new["inputs"].keys()):
                was, now = old["inputs"].get(key), new["inputs"].get(key)
                if was != now:
                    lines.append(f"- Identity resolution `{name}`: **{key}** {_show(was)} -> {_show(now)}.")
    return lines


def _lifecycle(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    before, after = _resources(base), _resources(head)
    lines = [f"- `{n}` ({after[n]['type'].rsplit(':', 1)[-1]}) added." for n in sorted(after.keys() - before.keys())]
    lines += [f"- `{n}` ({before[n]['type'].rsplit(':', 1)[-1]}) **removed**." for n in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if old["type"] != new["type"]:
            lines.append(f"- `{name}` **replaced**: its type changed.")
            continue
        changed = [k for k in new.get("replaceOnChanges", []) if old["inputs"].get(k) != new["inputs"].get(k)]
        if changed:
            lines.append(f"- `{name}` ({new['type'].rsplit(':', 1)[-1]}) **would be replaced**: {', '.join(changed)} changed.")
    return lines


def _others(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    before, after = _resources(base), _resources(head)
    lines = []
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if new["type"] in EXPLAINED_TYPES:
            continue
        for key in sorted(old["inputs"].keys() | new["inputs"].keys()):
            was, now = old["inputs"].get(key), new["inputs"].get(key)
            if was != now:
                lines.append(f"- `{name}`: {key} {_show(was)} -> {_show(now)}.")
        if old.get("dependsOn") != new.get("dependsOn"):
            lines.append(f"- `{name}`: depends on {', '.join(new.get('dependsOn') or []) or 'nothing'} now.")
    return lines


def _settings(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    old, new = base.get("settings", {}), head.get("settings", {})
    return [f"- `{key}`: {_show(old.get(key))} -> {_show(new.get(key))}."
            for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)]


def _show(value: Any) -> str:
    if value == MASK:
        return "(secret)"
    if value is None:
        return "(unset)"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if MASK in text:
        return "(contains a secret)"
    return f"`{text if len(text) <= 120 else text[:117] + '...'}`"
