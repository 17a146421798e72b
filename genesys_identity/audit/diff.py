"""Compare two offline plans and write a report for reviewers, grouped by meaning rather than property paths.

A header names the base and head (commits when known), each plan's digest and the date. Sections: participant
attributes; data action contracts (a change replaces the action in Genesys, and the flows calling it are named as
at risk); flows (what changed in plain words: states, calls, transfers, customer-facing texts and parameters, the
participant attributes read and written; Mermaid diagrams before and after with the changed steps highlighted,
which GitHub renders in the comment itself; the unified diff of the rendered YAML); Messenger authentication and
identity resolution; settings; resources that would be replaced, added or removed; and any other resource change
not explained above. A stack that exists on one side only is reviewed as everything added or removed. Masked
secrets only ever appear as "(secret)". ``Report.approval`` says whether anything a reviewer must approve changed.
Flows are read generically (every action walked, whatever its kind), never for specific texts.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.actions import impact
from genesys_identity.architect import loader as flow_loader
from genesys_identity.audit import flowgraph
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.flows import check as flow_check
from genesys_identity.plan import MASK

ACTION = "genesyscloud:index/integrationAction:IntegrationAction"
FLOW = "genesyscloud:index/flow:Flow"
CONFIGURATION = "genesyscloud:index/webdeploymentsConfiguration:WebdeploymentsConfiguration"
IDENTITY_RESOLUTION = ("pulumi-python:dynamic/genesys:WebDeploymentIdentityResolution",
                       "pulumi-python:dynamic/genesys:SmsIdentityResolution")
EXPLAINED_TYPES = {"genesys-identity:catalog:ParticipantAttributes", "genesys-identity:flows:Flows", FLOW, ACTION,
                   CONFIGURATION, *IDENTITY_RESOLUTION}
ATTRIBUTE_FIELDS_INFORMATIONAL = {"description"}
COMMENT_LIMIT = 60_000  # GitHub's comment body limit is 65536 characters; room for the sticky action's header


class DiffError(GenesysIdentityError):
    """A plan folder is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class PlanFolder:
    path: Path | None
    document: dict[str, Any]
    flows: dict[str, str]  # file name -> rendered text
    commit: str | None = None  # the git commit it was rendered from, when known

    @classmethod
    def absent(cls, stack: str, commit: str | None = None) -> PlanFolder:
        """A stack that does not exist on this side (added or removed by the change)."""
        return cls(None, {"stack": stack, "resources": [], "participantAttributes": [], "settings": {}}, {}, commit)

    @property
    def exists(self) -> bool:
        return self.path is not None

    @property
    def digest(self) -> str:
        if self.path is None:
            return "(no plan: the stack does not exist here)"
        plan = self.path / "plan.json"
        text = plan.read_bytes() if plan.exists() else json.dumps(self.document, sort_keys=True).encode()
        return hashlib.sha256(text).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"commit `{self.commit}`" if self.commit else (f"plan folder `{self.path}`" if self.path else "(none)")

    @classmethod
    def read(cls, path: Path, commit: str | None = None) -> PlanFolder:
        plan = path / "plan.json"
        try:
            document = json.loads(plan.read_text())
        except OSError:
            raise DiffError(f"{plan}: no plan here (run `python -m genesys_identity plan` first)") from None
        except json.JSONDecodeError as exc:
            raise DiffError(f"{plan}: not JSON ({exc.msg})") from None
        flows = {p.name: p.read_text() for p in sorted((path / "flows").glob("*.yaml"))}
        return cls(path, document, flows, commit)


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    approval: bool = True


@dataclass
class Report:
    stack: str
    sections: list[Section]
    pictures: dict[str, str]  # file name -> file text, written beside the report (none: diagrams are inline)
    header: list[str] = field(default_factory=list)

    @property
    def approval(self) -> bool:
        return any(s.approval and s.lines for s in self.sections)

    def markdown(self) -> str:
        filled = [s for s in self.sections if s.lines]
        head = [f"# Review of stack `{self.stack}`", "", *self.header]
        if not filled:
            return "\n".join([*head, "No changes.", ""])
        verdict = ("**Changes a reviewer must approve.**" if self.approval else "Only informational changes.")
        body = [*head, verdict, ""]
        for section in filled:
            body += [f"## {section.title}", "", *section.lines, ""]
        return "\n".join(body)

    def comment(self, limit: int = COMMENT_LIMIT) -> str:
        """The report as a pull request comment (GitHub refuses bodies over 65536 characters): whole when it fits;
        otherwise without the YAML diffs, then cut, each time saying so and where the whole report is."""
        text = self.markdown()
        if len(text) <= limit:
            return text
        note = "\n> Trimmed to fit a comment: the whole report (with the YAML diffs) is the workflow's `review-*` artifact.\n"
        text = re.sub(r"```diff\n.*?```\n", "(YAML diff left out of the comment)\n", text, flags=re.DOTALL)
        if len(text) + len(note) > limit:
            text = text[: limit - len(note) - 200].rsplit("\n", 1)[0]
            if text.count("```") % 2:
                text += "\n```"
            text += "\n\n(cut here)"
        return text + "\n" + note


def compare(base: PlanFolder, head: PlanFolder, date: str | None = None) -> Report:
    import datetime

    stack = str(head.document.get("stack") if head.exists else base.document.get("stack"))
    when = date or datetime.datetime.now(datetime.UTC).date().isoformat()
    header = ["| | base | head |", "|---|---|---|",
              f"| source | {base.label} | {head.label} |",
              f"| plan digest (sha256 of plan.json) | `{base.digest}` | `{head.digest}` |", "", f"Reviewed on {when}.", ""]
    if not base.exists:
        header += [f"**Stack `{stack}` is added by this change**: everything below is new.", ""]
    elif not head.exists:
        header += [f"**Stack `{stack}` is removed by this change**: everything below would be destroyed.", ""]
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
    return Report(stack, sections, pictures, header)


def write(report: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in report.pictures.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    target = out / "report.md"
    target.write_text(report.markdown())
    (out / "comment.md").write_text(report.comment())
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
    # The flows a replacement puts at risk (genesys_identity.actions.impact: the head's flows calling a replaced
    # action, which are republished only after the new action exists).
    at_risk = impact.flows_at_risk(base, head)
    if at_risk:
        lines += ["", "**Flows at risk** while the replaced actions are swapped:", *(flow.line() for flow in at_risk)]
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
        if old is None or new is None:
            text = new if old is None else old
            assert text is not None
            title = _flow_name(text) or name
            lines += [f"### {title} (`{name}`) {'added' if old is None else 'removed'}", "",
                      f"- Flow file `{name}` **{'added' if old is None else 'removed'}**.", *_attribute_use(text), "",
                      *flowgraph.mermaid(text, title=f"{title} ({'added' if old is None else 'removed'})"), ""]
            continue
        title = _flow_name(new) or name
        lines.append(f"### {title} (`{name}`)")
        lines.append("")
        meaning, steps = _flow_meaning(old, new), _step_changes(old, new)
        lines += [*(meaning if not steps or meaning != [_NOTHING_STRUCTURAL] else []), *steps]
        lines += _attribute_use(new, old)
        changed_before, changed_after = _changed_steps(old, new)
        lines += ["", *flowgraph.mermaid(old, changed_before, f"{title} (before)"), "",
                  *flowgraph.mermaid(new, changed_after, f"{title} (after; changed steps highlighted)"), "",
                  "```diff", *difflib.unified_diff(old.splitlines(), new.splitlines(), f"base/{name}", f"head/{name}",
                                                    lineterm="", n=3), "```", ""]
    return lines, pictures


# -- flows read generically: every action, whatever its kind ------------------------------------------------------

_NOTHING_STRUCTURAL = "- No state, data action call or transfer target changed."
_TEXT_KEYS = {"messageBody", "message", "text", "prompt", "greeting", "body", "subject"}


def _actions(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every action of a flow by (kind, name), with its scalar leaves (sub-paths' actions excluded)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        document = flow_loader.load(text)
    except flow_loader.LoadError:
        return found

    def leaves(node: Any, path: str, out: dict[str, Any]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "actions":
                    continue
                leaves(value, f"{path}.{key}" if path else str(key), out)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                leaves(value, f"{path}[{index}]", out)
        else:
            out[path] = node

    for step in flow_check.steps(document):  # the walk the policies use: states and tasks, every branch
        if "name" in step.body:
            values: dict[str, Any] = {}
            leaves(step.body, "", values)
            found[(step.kind, str(step.body["name"]))] = values
    return found


def _spoken(value: Any) -> str:
    """A text as a customer reads it: an expression's quoted strings joined, with its variable parts as {...}."""
    text = str(value)
    if '"' not in text:
        return text
    parts = re.split(r'("(?:[^"\\]|\\.)*")', text)
    spoken = []
    for part in parts:
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            spoken.append(part[1:-1])
        else:
            for name in re.findall(r"[A-Za-z_]+\.[A-Za-z_][\w.]*", part):
                spoken.append("{" + name + "}")
    return "".join(spoken)


def _is_text(path: str, kind: str, value: Any) -> bool:
    keys = [k for k in re.split(r"[.\[]", path) if k and not k.endswith("]") and k not in ("lit", "exp")]
    return isinstance(value, str) and (bool(keys and keys[-1] in _TEXT_KEYS) or (kind == "sendResponse" and path != "name"))


def _step_changes(old: str, new: str) -> list[str]:
    before, after = _actions(old), _actions(new)
    lines = []
    for key in sorted(before.keys() & after.keys()):
        kind, name = key
        was, now = before[key], after[key]
        for path in sorted(was.keys() | now.keys()):
            a, b = was.get(path), now.get(path)
            if a == b or path == "name":
                continue
            if _is_text(path, kind, a if b is None else b):
                lines.append(f"- Customer-facing text of \"{name}\" ({kind}) changed: \"{_spoken(a)}\" → \"{_spoken(b)}\".")
            elif isinstance(a, int | float) or isinstance(b, int | float) or str(a).isdigit() or str(b).isdigit():
                lines.append(f"- Parameter `{path}` of \"{name}\" ({kind}) changed from {_show(a)} to {_show(b)}.")
            else:
                lines.append(f"- `{path}` of \"{name}\" ({kind}) changed from {_show(a)} to {_show(b)}.")
    for key in sorted(after.keys() - before.keys()):
        texts = [f"\"{_spoken(v)}\"" for p, v in sorted(after[key].items()) if p != "name" and _is_text(p, key[0], v)]
        lines.append(f"- Step \"{key[1]}\" ({key[0]}) added" + (f", saying {', '.join(texts)}." if texts else "."))
    for key in sorted(before.keys() - after.keys()):
        lines.append(f"- Step \"{key[1]}\" ({key[0]}) removed.")
    return lines


def _changed_steps(old: str, new: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    before, after = _actions(old), _actions(new)
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    return changed | (before.keys() - after.keys()), changed | (after.keys() - before.keys())


def _participant_attributes(text: str) -> tuple[set[str], set[str]]:
    """(read, written) participant attribute names: get/set participant data actions, walked generically."""
    read: set[str] = set()
    written: set[str] = set()
    for (kind, _), values in _actions(text).items():
        if "participantdata" not in kind.lower():
            continue
        names = {str(v) for p, v in values.items() if re.search(r"attribute\.name(\.lit)?$", p)}
        (written if kind.lower().startswith("set") else read).update(names)
    return read, written


def _attribute_use(new: str, old: str | None = None) -> list[str]:
    read, written = _participant_attributes(new)
    lines = [f"- Reads participant attributes: {', '.join(f'`{a}`' for a in sorted(read)) or 'none'}.",
             f"- Writes participant attributes: {', '.join(f'`{a}`' for a in sorted(written)) or 'none'}."]
    if old is not None:
        old_read, old_written = _participant_attributes(old)
        for verb, now, was in (("reads", read, old_read), ("writes", written, old_written)):
            for name in sorted(now - was):
                lines.append(f"- **Now {verb}** `{name}`.")
            for name in sorted(was - now):
                lines.append(f"- No longer {verb} `{name}`.")
    return lines


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
        lines.append(_NOTHING_STRUCTURAL)
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
