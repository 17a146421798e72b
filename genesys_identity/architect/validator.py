"""The one validator for Archy YAML: a flow checked against the closed-world model as Archy would check it.

``validate(text_or_document, filename, channel=..., contracts=...)`` returns one ``Problem`` per mistake, each
``file:line: path: what is wrong``, where ``path`` names the state or task, the action (kind and name) and the
property, e.g. ``state[Route_10]/callData[Ask for the last interaction]/timeout``. It checks:

- the document: one flow type of the model, its keys (unknown, missing, form), ``division`` given as a name
  (an id is an error), ``startUpRef`` naming a state or task, ``settingsErrorHandling`` of a modelled kind;
- variables: a modelled kind, a name in the scope of where it is declared (Flow./State./Task.), declared once,
  ``initialValue`` of the variable's type;
- states and tasks: their keys, refIds unique, every ``targetTaskRef`` resolving, ``endTask`` only in a task
  with an output path the task declares;
- actions: a kind the model knows and the flow type offers, every property known, required ones present, each
  in its value form (``lit``/``exp``/``noValue`` for values, ``var``/``noValue`` for outputs), literals in the
  shape of their type (durations ``{seconds: N}``/``{minutes: N}``, queues ``{name: X}``, booleans, integers);
- every ``exp:`` parsed and type-checked (``typecheck.check``) against the property's type with the variables
  visible where it stands, the flow type and the channel; decision and switch conditions are Boolean;
- updateData statements: a modelled statement kind whose variable is declared with that type;
- callData: one category and data action; with the data action contracts given, the action exists, inputs
  and success outputs are contract fields, inputs are type-checked against the contract's types and success
  outputs go into variables of the output's type; failure outputs are the standard error fields.

The project's own policies (``genesys_identity/flows/check.py``) sit on top and report with kind "policy".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.architect import model as archy
from genesys_identity.architect.loader import Document, LoadError, Path, load
from genesys_identity.architect.typecheck import Scope, check, fits
from genesys_identity.architect.types import ArchType

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VARIABLE_NAME = re.compile(r"^(Flow|State|Task)\.[A-Za-z_][A-Za-z0-9_]*$")
REFERENCE = re.compile(r"^(?:/(?P<root>[A-Za-z]+)|\.)/(?P<items>states|tasks)/(?P<item>state|task)\[(?P<ref>[^\]]+)\]$")
VALUE_KEYS = ("lit", "exp", "noValue")
CONTRACT_DEFAULT = "string"


@dataclass(frozen=True)
class Problem:
    """One mistake in a flow: where (file, line, path) and what. kind: "archy" (conformance) or "policy"."""

    file: str
    line: int
    path: str
    message: str
    kind: str = "archy"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


Contracts = Mapping[tuple[str, str], ActionDefinition]


def contracts_for(category: str, actions: Iterable[ActionDefinition]) -> dict[tuple[str, str], ActionDefinition]:
    """The contracts of the data actions one integration (``category`` in Archy) offers."""
    return {(category, a.name): a for a in actions}


def validate(source: str | Document, filename: str = "<flow>", *, channel: str | None = None,
             contracts: Contracts | None = None, model: archy.Model | None = None) -> list[Problem]:
    """Every Archy conformance problem of one flow, in document order. ``contracts=None``: the data action
    contracts are unknown (callData bindings are checked for form only)."""
    try:
        document = source if isinstance(source, Document) else load(source, filename)
    except LoadError as exc:
        return [Problem(exc.file, exc.line, "-", f"not valid YAML: {exc.reason}")]
    walker = _Walker(document, model or archy.load(), channel, contracts)
    walker.run()
    return sorted(walker.problems, key=lambda p: p.line)


@lru_cache(maxsize=8192)
def _check_expression(text: str, expected: ArchType | None, flow_type: str, channel: str | None,
                      variables: tuple[tuple[str, ArchType], ...]) -> tuple[str, ...]:
    """``typecheck.check`` once per distinct expression and scope: renders repeat the same expressions."""
    return tuple(check(text, expected, Scope(flow_type, dict(variables), channel)))


def _key(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, int):
        return f"integer {value!r}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {_shown(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else type(value).__name__


def _a(word: object) -> str:
    """The word with its indefinite article: "a String", "an Integer"."""
    text = str(word)
    vowel = text[:1].lower() in "aeiou" and not text.lower().startswith(("us", "un"))  # a User
    return f"{'an' if vowel else 'a'} {text}"


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass
class _Container:
    """A state or task being walked: its display name, the variables visible in it, its output paths."""

    label: str
    kind: str  # "state" | "task"
    variables: dict[str, ArchType]
    output_paths: frozenset[str] = frozenset()
    _frozen: tuple[tuple[str, ArchType], ...] | None = None

    def scope_key(self) -> tuple[tuple[str, ArchType], ...]:
        if self._frozen is None:
            self._frozen = tuple(sorted(self.variables.items(), key=lambda item: item[0]))
        return self._frozen


@dataclass
class _Walker:
    doc: Document
    model: archy.Model
    channel: str | None
    contracts: Contracts | None
    problems: list[Problem] = field(default_factory=list)
    flow: archy.FlowType | None = None
    flow_variables: dict[str, ArchType] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # refId -> "state" | "task"
    task_paths: dict[str, frozenset[str]] = field(default_factory=dict)

    # -- reporting ---------------------------------------------------------------------------------------
    def problem(self, path: Path, where: str, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(path), where or "-", message))

    # -- the document --------------------------------------------------------------------------------------
    def run(self) -> None:
        root = self.doc.value
        if not isinstance(root, dict) or len(root) != 1:
            self.problem((), "-", f"the document must be one flow: a single key, one of {', '.join(self.model.flow_types)}")
            return
        (flow_key, body), = root.items()
        flow_key = _key(flow_key)
        self.flow = self.model.flow_types.get(flow_key)
        if self.flow is None:
            self.problem((flow_key,), flow_key, f"unknown flow type {flow_key!r}"
                         f"{_suggest(flow_key, self.model.flow_types)}; modelled: {', '.join(self.model.flow_types)}")
            return
        base: Path = (flow_key,)
        if not isinstance(body, dict):
            self.problem(base, flow_key, f"the flow must be a mapping, got {_kind_of(body)}")
            return
        self.unknown_and_missing(base, flow_key, body, self.flow.keys, f"{_a(flow_key)} flow")
        # Declarations first: every state and task sees the flow's variables and every refId.
        self.flow_variables = self.declare(body.get("variables"), (*base, "variables"), f"{flow_key}.variables", "Flow.")
        self.collect_refs(base, flow_key, body)
        for key, prop in self.flow.keys.items():
            if key in body and key not in ("variables",):
                self.flow_key(base, flow_key, key, prop, body[key])

    def unknown_and_missing(self, path: Path, where: str, body: dict[Any, Any], props: Mapping[str, archy.Prop],
                            what: str) -> None:
        for key in body:
            name = _key(key)
            if name not in props:
                self.problem((*path, name), f"{where}.{name}" if where else name,
                             f"{what} has no key {name!r}{_suggest(name, props)}")
        for name, prop in props.items():
            if prop.required and name not in body:
                self.problem(path, where, f"{what} needs {name!r}")

    def collect_refs(self, base: Path, where: str, body: dict[str, Any]) -> None:
        for section, item_kind in (("states", "state"), ("tasks", "task")):
            items = body.get(section)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problem((*base, section), f"{where}.{section}", f"must be a list of '- {item_kind}:' items, "
                             f"got {_kind_of(items)}")
                continue
            for index, item in enumerate(items):
                inner = item.get(item_kind) if isinstance(item, dict) and len(item) == 1 else None
                if not isinstance(inner, dict):
                    continue
                ref = inner.get("refId")
                if isinstance(ref, str) and ref:
                    if ref in self.refs:
                        self.problem((*base, section, index, item_kind, "refId"), f"{item_kind}[{ref}]",
                                     f"refId {ref!r} is used twice (refIds are unique across states and tasks)")
                        continue
                    self.refs[ref] = item_kind
                    if item_kind == "task":
                        self.task_paths[ref] = self.output_paths(inner, (*base, section, index, item_kind))

    def output_paths(self, task: dict[str, Any], path: Path) -> frozenset[str]:
        names = {"default"}
        items = task.get("outputPaths")
        if items is None:
            return frozenset(names)
        if not isinstance(items, list):
            return frozenset(names)  # reported when the task is walked
        for item in items:
            body = item.get("outputPath") if isinstance(item, dict) and len(item) == 1 else None
            if isinstance(body, dict) and isinstance(body.get("name"), str):
                names.add(body["name"])
        return frozenset(names)

    def flow_key(self, base: Path, flow_key: str, key: str, prop: archy.Prop, value: Any) -> None:
        path, where = (*base, key), f"{flow_key}.{key}"
        form = prop.form
        if form == "text":
            self.text(path, where, value, allow_empty=key == "description")
        elif form == "division":
            self.division(path, where, value)
        elif form == "startUpRef":
            self.reference(path, where, value, ("state", "task"))
        elif form == "supportedLanguages":
            self.supported_languages(path, where, value)
        elif form == "settingsErrorHandling":
            self.error_handling(path, where, value)
        elif form in ("states", "tasks"):
            item_kind = form[:-1]
            for index, item in enumerate(value if isinstance(value, list) else []):
                self.container(path, index, item, item_kind)
            if isinstance(value, list) and form == "states" and not value:
                self.problem(path, where, "a flow needs at least one state")

    def text(self, path: Path, where: str, value: Any, allow_empty: bool = False) -> None:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or (value == "" and not allow_empty):
            self.problem(path, where, f"needs a text, got {_kind_of(value)}")

    def division(self, path: Path, where: str, value: Any) -> None:
        if not isinstance(value, str) or not value:
            self.problem(path, where, f"needs a division name, got {_kind_of(value)}")
        elif UUID.match(value.strip()):
            self.problem(path, where, f"{value!r} is a division id; Archy takes the division's name "
                         f"(the provider's example renders division: from the home division's name: "
                         f"{self.model.cite(('provider-message-example',))})")

    def reference(self, path: Path, where: str, value: Any, kinds: tuple[str, ...]) -> None:
        assert self.flow is not None
        if not isinstance(value, str):
            self.problem(path, where, f"needs a reference string, got {_kind_of(value)}")
            return
        match = REFERENCE.match(value)
        allowed = " or ".join(f"/{self.flow.name}/{k}s/{k}[<refId>]" for k in kinds)
        if match is None or match["item"] not in kinds or match["items"] != match["item"] + "s":
            self.problem(path, where, f"{value!r} is not a reference of the form {allowed}")
            return
        if match["root"] is not None and match["root"] != self.flow.name:
            self.problem(path, where, f"{value!r} points into a {match['root']} flow, not this {self.flow.name} flow")
            return
        ref = match["ref"]
        if self.refs.get(ref) != match["item"]:
            known = sorted(r for r, k in self.refs.items() if k == match["item"])
            self.problem(path, where, f"{value!r} names no {match['item']} (refIds: {', '.join(known) or 'none'})"
                         f"{_suggest(ref, known)}")

    def supported_languages(self, path: Path, where: str, value: Any) -> None:
        assert self.flow is not None
        if not isinstance(value, dict) or not value:
            self.problem(path, where, f"needs a mapping of language codes, got {_kind_of(value)}")
            return
        for language, body in value.items():
            lpath, lwhere = (*path, _key(language)), f"{where}.{_key(language)}"
            if not isinstance(body, dict):
                self.problem(lpath, lwhere, f"needs a mapping, got {_kind_of(body)}")
                continue
            self.unknown_and_missing(lpath, lwhere, body, self.flow.supported_language, "a supported language")
            for key, prop in self.flow.supported_language.items():
                if key not in body:
                    continue
                if prop.form == "none":
                    if body[key] is not True:
                        self.problem((*lpath, key), f"{lwhere}.{key}", f"needs true, got {_kind_of(body[key])}")
                else:
                    self.value_form((*lpath, key), f"{lwhere}.{key}", body[key], prop, None)

    def error_handling(self, path: Path, where: str, value: Any) -> None:
        assert self.flow is not None
        handling = value.get("errorHandling") if isinstance(value, dict) else None
        if not isinstance(value, dict) or set(value) != {"errorHandling"} or not isinstance(handling, dict):
            self.problem(path, where, "needs exactly {errorHandling: {<kind>: ...}}")
            return
        hpath = (*path, "errorHandling")
        if len(handling) != 1:
            self.problem(hpath, f"{where}.errorHandling", f"needs exactly one handling kind, got {len(handling)}")
            return
        (kind, body), = handling.items()
        kind = _key(kind)
        if kind not in self.flow.error_handling:
            self.problem((*hpath, kind), f"{where}.errorHandling.{kind}",
                         f"unknown error handling {kind!r} for {self.flow.name} flows{_suggest(kind, self.flow.error_handling)}"
                         f" (modelled: {', '.join(self.flow.error_handling)})")
        elif self.flow.error_handling[kind] == "none":
            if body != {"none": True}:
                self.problem((*hpath, kind), f"{where}.errorHandling.{kind}", "needs {none: true}")
        elif not isinstance(body, dict) or [_key(k) for k in body] != ["targetQueue"]:
            self.problem((*hpath, kind), f"{where}.errorHandling.{kind}", "needs exactly {targetQueue: <queue>}")
        else:
            from genesys_identity.architect.types import QUEUE

            self.value((*hpath, kind, "targetQueue"), f"{where}.errorHandling.{kind}.targetQueue", body["targetQueue"],
                       QUEUE, False, self.flow_variables)

    # -- variables -------------------------------------------------------------------------------------------
    def declare(self, items: Any, path: Path, where: str, prefix: str) -> dict[str, ArchType]:
        declared: dict[str, ArchType] = {}
        if items is None:
            return declared
        if not isinstance(items, list):
            self.problem(path, where, f"must be a list of '- <kind>Variable:' items, got {_kind_of(items)}")
            return declared
        for index, item in enumerate(items):
            ipath = (*path, index)
            if not isinstance(item, dict) or len(item) != 1:
                self.problem(ipath, where, "a variable must be one '- <kind>Variable: {name: ...}' entry")
                continue
            (kind, body), = item.items()
            kind = _key(kind)
            kpath = (*ipath, kind)
            name = body.get("name") if isinstance(body, dict) else None
            vwhere = f"{where}[{name}]" if isinstance(name, str) else f"{where}[{index}]"
            arch = self.model.variable_kinds.get(kind)
            if arch is None:
                self.problem(kpath, vwhere, f"unknown variable kind {kind!r}{_suggest(kind, self.model.variable_kinds)}")
            if not isinstance(body, dict):
                self.problem(kpath, vwhere, f"needs a mapping with name:, got {_kind_of(body)}")
                continue
            self.unknown_and_missing(kpath, vwhere, body, self.model.variable_keys, "a variable")
            for key in ("isInput", "isOutput"):
                if key in body and not isinstance(body[key], bool):
                    self.problem((*kpath, key), f"{vwhere}.{key}", f"needs true or false, got {_kind_of(body[key])}")
            if not isinstance(name, str):
                continue
            if not VARIABLE_NAME.match(name):
                self.problem((*kpath, "name"), vwhere, f"{name!r} is not a variable name (Flow./State./Task. and "
                             "letters, digits, underscores)")
            elif not name.startswith(prefix):
                self.problem((*kpath, "name"), vwhere, f"{name!r} is declared here, where variables are {prefix}*")
            elif name in declared or name in self.flow_variables:
                self.problem((*kpath, "name"), vwhere, f"{name!r} is declared twice")
            elif arch is not None:
                declared[name] = arch
            if "initialValue" in body and arch is not None:
                self.value((*kpath, "initialValue"), f"{vwhere}.initialValue", body["initialValue"], arch, True,
                           {**self.flow_variables, **declared})
        return declared

    # -- states and tasks ------------------------------------------------------------------------------------
    def container(self, path: Path, index: int, item: Any, item_kind: str) -> None:
        assert self.flow is not None
        ipath = (*path, index)
        if not isinstance(item, dict) or list(item) != [item_kind] or not isinstance(item[item_kind], dict):
            self.problem(ipath, f"{self.flow.name}.{path[-1]}[{index}]", f"each item must be '- {item_kind}: {{...}}'")
            return
        body = item[item_kind]
        cpath = (*ipath, item_kind)
        ref = body.get("refId")
        label = f"{item_kind}[{ref if isinstance(ref, str) else index}]"
        keys = self.model.containers[item_kind]
        self.unknown_and_missing(cpath, label, body, keys, f"a {item_kind}")
        if "name" in body:
            self.text((*cpath, "name"), f"{label}.name", body["name"])
        if "refId" in body:
            self.text((*cpath, "refId"), f"{label}.refId", body["refId"])
        prefix = "State." if item_kind == "state" else "Task."
        local = self.declare(body.get("variables"), (*cpath, "variables"), f"{label}.variables", prefix)
        paths = (self.task_paths.get(ref, frozenset({"default"})) if isinstance(ref, str) else frozenset({"default"})
                 ) if item_kind == "task" else frozenset()
        if item_kind == "task" and "outputPaths" in body:
            self.task_output_paths((*cpath, "outputPaths"), f"{label}.outputPaths", body["outputPaths"])
        scope = _Container(label, item_kind, {**self.flow_variables, **local}, paths)
        if "actions" in body:
            self.actions((*cpath, "actions"), label, body["actions"], scope)

    def task_output_paths(self, path: Path, where: str, items: Any) -> None:
        if not isinstance(items, list):
            self.problem(path, where, f"must be a list of '- outputPath: {{name: X}}' items, got {_kind_of(items)}")
            return
        for index, item in enumerate(items):
            body = item.get("outputPath") if isinstance(item, dict) and len(item) == 1 else None
            if not isinstance(body, dict) or set(body) != {"name"} or not isinstance(body["name"], str):
                self.problem((*path, index), where, "each item must be '- outputPath: {name: <name>}'")

    # -- actions ---------------------------------------------------------------------------------------------
    def actions(self, path: Path, where: str, items: Any, scope: _Container) -> None:
        assert self.flow is not None
        if not isinstance(items, list):
            self.problem(path, f"{where}/actions", f"must be a list of actions, got {_kind_of(items)}")
            return
        for index, item in enumerate(items):
            ipath = (*path, index)
            if not isinstance(item, dict) or len(item) != 1:
                self.problem(ipath, f"{where}/actions[{index}]", "an action must be one '- <kind>: {...}' entry")
                continue
            (kind, body), = item.items()
            kind = _key(kind)
            apath = (*ipath, kind)
            name = body.get("name") if isinstance(body, dict) else None
            awhere = f"{where}/{kind}[{name if isinstance(name, str) else index}]"
            action = self.model.actions.get(kind)
            if action is None:
                self.problem(apath, awhere, f"unknown action kind {kind!r}{_suggest(kind, self.model.actions)}")
                continue
            if kind not in self.flow.actions:
                self.problem(apath, awhere, f"{kind} is not an action of {self.flow.name} flows in the model")
                continue
            if action.tasks_only and scope.kind != "task":
                self.problem(apath, awhere, f"{kind} ends a task; it cannot stand in a {scope.kind}")
            if not isinstance(body, dict):
                self.problem(apath, awhere, f"{kind} needs a mapping of properties, got {_kind_of(body)}")
                continue
            for key in body:
                pname = _key(key)
                if pname not in action.properties:
                    self.problem((*apath, pname), f"{awhere}/{pname}",
                                 f"{kind} has no property {pname!r}{_suggest(pname, action.properties)}")
            for pname, prop in action.properties.items():
                if pname not in body:
                    if prop.required:
                        self.problem(apath, awhere, f"{kind} needs {pname!r}")
                    continue
                self.prop((*apath, pname), f"{awhere}/{pname}", body[pname], prop, scope, kind)

    def prop(self, path: Path, where: str, value: Any, prop: archy.Prop, scope: _Container, kind: str) -> None:
        form = prop.form
        if form == "text":
            self.text(path, where, value)
        elif form in ("value", "output"):
            self.value_form(path, where, value, prop, scope)
        elif form == "reference":
            self.reference(path, where, value, ("task",))
        elif form == "outputs":
            self.outputs(path, where, value, prop, scope)
        elif form == "statements":
            self.statements(path, where, value, scope)
        elif form in ("setAttributes", "getAttributes"):
            self.attributes(path, where, value, scope, form == "getAttributes")
        elif form == "firstTrue":
            self.first_true(path, where, value, scope)
        elif form == "category":
            self.category(path, where, value, scope)
        elif form == "outputPath":
            self.end_task_path(path, where, value, scope)
        elif form == "acdSkills":
            self.acd_skills(path, where, value, scope)
        elif form == "flowCall":
            self.flow_call(path, where, value, prop, scope)
        elif form == "scheduleEvaluation":
            self.schedule_evaluation(path, where, value, scope)
        elif form == "scriptCall":
            self.script_call(path, where, value, scope)
        else:  # a form the model lists for flow keys only
            self.problem(path, where, f"{kind}: form {form!r} is not modelled for actions")

    def value_form(self, path: Path, where: str, value: Any, prop: archy.Prop, scope: _Container | None) -> None:
        variables = scope.variables if scope is not None else self.flow_variables
        if prop.form == "output":
            self.output(path, where, value, prop.type, variables)
        else:
            self.value(path, where, value, prop.type, prop.no_value, variables, scope)

    def value(self, path: Path, where: str, value: Any, arch: ArchType | None, no_value: bool,
              variables: Mapping[str, ArchType], scope: _Container | None = None) -> None:
        if not isinstance(value, dict):
            self.problem(path, where, f"needs lit:, exp: or noValue:, got a bare {_kind_of(value)}")
            return
        keys = [_key(k) for k in value]
        if len(keys) != 1 or keys[0] not in VALUE_KEYS:
            if keys == ["var"]:
                self.problem(path, where, "var: is for outputs; a value needs lit:, exp: or noValue:")
            else:
                self.problem(path, where, f"needs exactly one of lit:, exp:, noValue:, got {', '.join(keys) or 'nothing'}")
            return
        form, content = keys[0], next(iter(value.values()))
        inner = (*path, form)
        if form == "noValue":
            if content is not True:
                self.problem(inner, where, f"noValue: must be true, got {_kind_of(content)}")
            elif not no_value:
                self.problem(inner, where, "needs a value; noValue: is not accepted here")
        elif form == "lit":
            self.literal(inner, where, content, arch)
        else:
            if not isinstance(content, str) or not content.strip():
                self.problem(inner, where, f"exp: needs an expression text, got {_kind_of(content)}")
                return
            key = scope.scope_key() if scope is not None else tuple(sorted(variables.items(), key=lambda i: i[0]))
            assert self.flow is not None
            for message in _check_expression(content, arch, self.flow.name, self.channel, key):
                self.problem(inner, where, f"{message} (in {_shown(content)})")

    def literal(self, path: Path, where: str, content: Any, arch: ArchType | None) -> None:
        if arch is None:  # a type the model cannot know (a data action input without its contract)
            if not isinstance(content, (str, int, float, bool)):
                self.problem(path, where, f"a literal here is a scalar, got {_kind_of(content)}")
            return
        shape = self.model.literals.get(arch)
        if shape is None:
            self.problem(path, where, f"{_a(arch)} has no literal form in Archy: use exp:")
            return
        ok = True
        if shape.shape == "string":
            ok = isinstance(content, str)
        elif shape.shape == "integer":
            ok = isinstance(content, int) and not isinstance(content, bool)
        elif shape.shape == "number":
            ok = isinstance(content, (int, float)) and not isinstance(content, bool)
        elif shape.shape == "boolean":
            ok = isinstance(content, bool)
        elif shape.shape == "duration":
            units = " or ".join(f"{{{u}: N}}" for u in shape.units)
            if not isinstance(content, dict):
                self.problem(path, where, f"a Duration literal is {units}, got a bare {_kind_of(content)}")
                return
            if not content:
                self.problem(path, where, f"a Duration literal is {units}, got an empty mapping")
            for unit, amount in content.items():
                if _key(unit) not in shape.units:
                    self.problem((*path, _key(unit)), where, f"a Duration has no unit {_key(unit)!r} in the model "
                                 f"(modelled: {', '.join(shape.units)}){_suggest(_key(unit), shape.units)}")
                elif not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                    self.problem((*path, _key(unit)), where, f"{_key(unit)}: needs a whole number >= 0, got "
                                 f"{_kind_of(amount)}")
            return
        elif shape.shape == "named":
            if not isinstance(content, dict) or [_key(k) for k in content] != ["name"]:
                self.problem(path, where, f"{_a(arch)} literal is {{name: <{arch.name.lower()} name>}}, got "
                             f"{_kind_of(content)}")
            elif not isinstance(content["name"], str) or not content["name"]:
                self.problem((*path, "name"), where, f"name: needs a text, got {_kind_of(content['name'])}")
            return
        if not ok:
            self.problem(path, where, f"{_a(arch)} literal needs {_a(shape.shape)}, got {_kind_of(content)}")

    def output(self, path: Path, where: str, value: Any, arch: ArchType | None,
               variables: Mapping[str, ArchType]) -> None:
        if not isinstance(value, dict) or len(value) != 1 or _key(next(iter(value))) not in ("var", "noValue"):
            got = f"a bare {_kind_of(value)}" if not isinstance(value, dict) else ", ".join(map(_key, value)) or "nothing"
            self.problem(path, where, f"an output needs var: <variable> or noValue: true, got {got}")
            return
        (form, content), = value.items()
        if form == "noValue":
            if content is not True:
                self.problem((*path, "noValue"), where, f"noValue: must be true, got {_kind_of(content)}")
            return
        self.variable_use((*path, "var"), where, content, arch, variables, "receives")

    def variable_use(self, path: Path, where: str, name: Any, arch: ArchType | None,
                     variables: Mapping[str, ArchType], verb: str) -> None:
        if not isinstance(name, str):
            self.problem(path, where, f"needs a variable name, got {_kind_of(name)}")
            return
        declared = variables.get(name)
        if declared is None:
            self.problem(path, where, f"variable {name!r} is not declared here{_suggest(name, variables)}")
        elif arch is not None and not fits(arch, declared):
            self.problem(path, where, f"variable {name!r} is {declared}, but it {verb} {_a(arch)}")

    def outputs(self, path: Path, where: str, value: Any, prop: archy.Prop, scope: _Container) -> None:
        if not isinstance(value, dict):
            self.problem(path, where, f"needs a mapping of output paths ({', '.join(prop.paths)}), got {_kind_of(value)}")
            return
        for key, body in value.items():
            # YAML 1.1 reads unquoted yes/no as booleans; Archy reads YAML 1.2, where they stay strings.
            name = {True: "yes", False: "no"}.get(key, key) if isinstance(key, bool) else _key(key)
            opath, owhere = (*path, _key(key)), f"{where}/{name}"
            if name not in prop.paths:
                self.problem(opath, owhere, f"unknown output path {name!r}{_suggest(str(name), prop.paths)} "
                             f"(paths: {', '.join(prop.paths)})")
                continue
            if not isinstance(body, dict) or [_key(k) for k in body] != ["actions"]:
                self.problem(opath, owhere, "an output path needs exactly {actions: [...]}")
                continue
            self.actions((*opath, "actions"), owhere, body["actions"], scope)

    def statements(self, path: Path, where: str, items: Any, scope: _Container) -> None:
        if not isinstance(items, list) or not items:
            self.problem(path, where, f"needs a list of statements, got {_kind_of(items)}")
            return
        for index, item in enumerate(items):
            ipath = (*path, index)
            if not isinstance(item, dict) or len(item) != 1:
                self.problem(ipath, f"{where}[{index}]", "a statement must be one '- <type>: {variable, value}' entry")
                continue
            (kind, body), = item.items()
            kind = _key(kind)
            spath, swhere = (*ipath, kind), f"{where}[{index}]/{kind}"
            arch = self.model.statement_kinds.get(kind)
            if arch is None:
                self.problem(spath, swhere, f"unknown statement type {kind!r}{_suggest(kind, self.model.statement_kinds)}")
                continue
            if not isinstance(body, dict):
                self.problem(spath, swhere, f"needs {{variable:, value:}}, got {_kind_of(body)}")
                continue
            for key in body:
                if _key(key) not in ("variable", "value"):
                    self.problem((*spath, _key(key)), swhere, f"a statement has no key {_key(key)!r}")
            for key in ("variable", "value"):
                if key not in body:
                    self.problem(spath, swhere, f"a statement needs {key!r}")
            if "variable" in body:
                name = body["variable"]
                declared = scope.variables.get(name) if isinstance(name, str) else None
                if declared is not None and declared != arch:
                    self.problem((*spath, "variable"), swhere, f"{_a(kind)} statement needs {_a(arch)} variable; "
                                 f"{name!r} is {declared}")
                elif declared is None:
                    self.variable_use((*spath, "variable"), swhere, name, None, scope.variables, "is set to")
            if "value" in body:
                self.value((*spath, "value"), f"{swhere}/value", body["value"], arch, True, scope.variables, scope)

    def attributes(self, path: Path, where: str, items: Any, scope: _Container, get: bool) -> None:
        from genesys_identity.architect.types import STRING

        second = "variable" if get else "value"
        if not isinstance(items, list) or not items:
            self.problem(path, where, f"needs a list of '- attribute: {{name:, {second}:}}' items, got {_kind_of(items)}")
            return
        for index, item in enumerate(items):
            ipath = (*path, index)
            body = item.get("attribute") if isinstance(item, dict) and len(item) == 1 else None
            awhere = f"{where}[{index}]"
            if not isinstance(body, dict):
                self.problem(ipath, awhere, f"each item must be '- attribute: {{name:, {second}:}}'")
                continue
            apath = (*ipath, "attribute")
            for key in body:
                if _key(key) not in ("name", second):
                    self.problem((*apath, _key(key)), awhere, f"an attribute here has no key {_key(key)!r}"
                                 f"{_suggest(_key(key), ('name', second))}")
            for key in ("name", second):
                if key not in body:
                    self.problem(apath, awhere, f"an attribute needs {key!r}")
            if "name" in body:
                self.value((*apath, "name"), f"{awhere}/name", body["name"], STRING, False, scope.variables, scope)
            if second in body:
                if get:
                    self.variable_use((*apath, "variable"), f"{awhere}/variable", body["variable"], STRING,
                                      scope.variables, "receives")
                else:
                    self.value((*apath, "value"), f"{awhere}/value", body["value"], STRING, True, scope.variables, scope)

    def first_true(self, path: Path, where: str, value: Any, scope: _Container) -> None:
        from genesys_identity.architect.types import BOOLEAN

        body = value.get("firstTrue") if isinstance(value, dict) and len(value) == 1 else None
        if not isinstance(body, dict):
            self.problem(path, where, "needs {firstTrue: {cases: [...], default: {actions: [...]}}}")
            return
        fpath, fwhere = (*path, "firstTrue"), f"{where}/firstTrue"
        for key in body:
            if _key(key) not in ("cases", "default"):
                self.problem((*fpath, _key(key)), fwhere, f"firstTrue has no key {_key(key)!r}")
        if "default" in body:
            default = body["default"]
            if not isinstance(default, dict) or [_key(k) for k in default] != ["actions"]:
                self.problem((*fpath, "default"), f"{fwhere}/default", "needs exactly {actions: [...]}")
            else:
                self.actions((*fpath, "default", "actions"), f"{fwhere}/default", default["actions"], scope)
        cases = body.get("cases")
        if not isinstance(cases, list) or not cases:
            self.problem(fpath, fwhere, f"needs cases: a list of '- case: {{value:, actions:}}', got {_kind_of(cases)}")
            return
        for index, item in enumerate(cases):
            case = item.get("case") if isinstance(item, dict) and len(item) == 1 else None
            cpath, cwhere = (*fpath, "cases", index), f"{fwhere}/cases[{index}]"
            if not isinstance(case, dict):
                self.problem(cpath, cwhere, "each case must be '- case: {value:, actions:}'")
                continue
            cpath = (*cpath, "case")
            for key in case:
                if _key(key) not in ("value", "actions"):
                    self.problem((*cpath, _key(key)), cwhere, f"a case has no key {_key(key)!r}")
            if "value" not in case:
                self.problem(cpath, cwhere, "a case needs 'value' (its Boolean condition)")
            else:
                self.value((*cpath, "value"), f"{cwhere}/value", case["value"], BOOLEAN, False, scope.variables, scope)
            if "actions" in case:
                self.actions((*cpath, "actions"), cwhere, case["actions"], scope)

    def category(self, path: Path, where: str, value: Any, scope: _Container) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            self.problem(path, where, "needs exactly one integration: {<integration name>: {dataAction: {...}}}")
            return
        (category, body), = value.items()
        category = _key(category)
        cpath, cwhere = (*path, category), f"{where}[{category}]"
        actions = body.get("dataAction") if isinstance(body, dict) and [_key(k) for k in body] == ["dataAction"] else None
        if not isinstance(actions, dict) or len(actions) != 1:
            self.problem(cpath, cwhere, "needs exactly {dataAction: {<data action name>: {inputs:, successOutputs:, ...}}}")
            return
        (action_name, bindings), = actions.items()
        action_name = _key(action_name)
        bpath, bwhere = (*cpath, "dataAction", action_name), f"{cwhere}/dataAction[{action_name}]"
        contract: ActionDefinition | None = None
        if self.contracts is not None:
            contract = self.contracts.get((category, action_name))
            if contract is None:
                known = sorted(f"{c}/{a}" for c, a in self.contracts)
                self.problem(bpath, bwhere, f"no data action {action_name!r} in integration {category!r} "
                             f"(known: {', '.join(known) or 'none'})")
        if bindings is None:
            bindings = {}
        if not isinstance(bindings, dict):
            self.problem(bpath, bwhere, f"needs a mapping of inputs:/successOutputs:/failureOutputs:, got {_kind_of(bindings)}")
            return
        for key in bindings:
            if _key(key) not in ("inputs", "successOutputs", "failureOutputs"):
                self.problem((*bpath, _key(key)), bwhere, f"a data action call has no key {_key(key)!r}"
                             f"{_suggest(_key(key), ('inputs', 'successOutputs', 'failureOutputs'))}")
        contract_in = contract.input_schema.get("properties", {}) if contract is not None else None
        contract_out = contract.output_schema.get("properties", {}) if contract is not None else None
        self.bindings((*bpath, "inputs"), f"{bwhere}/inputs", bindings.get("inputs"), contract_in, "input", scope)
        self.bindings((*bpath, "successOutputs"), f"{bwhere}/successOutputs", bindings.get("successOutputs"),
                      contract_out, "success output", scope)
        failure = {name: {"type": "__" + str(arch)} for name, arch in self.model.failure_outputs.items()}
        self.bindings((*bpath, "failureOutputs"), f"{bwhere}/failureOutputs", bindings.get("failureOutputs"),
                      failure, "failure output", scope)

    def bindings(self, path: Path, where: str, value: Any, contract: Mapping[str, Any] | None, what: str,
                 scope: _Container) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.problem(path, where, f"needs a mapping of {what}s, got {_kind_of(value)}")
            return
        for key, form in value.items():
            name = _key(key)
            fpath, fwhere = (*path, name), f"{where}.{name}"
            arch: ArchType | None = None
            if contract is not None:
                field_spec = contract.get(name)
                if field_spec is None:
                    self.problem(fpath, fwhere, f"the data action has no {what} {name!r}{_suggest(name, contract)}")
                    continue
                arch = self.contract_type(field_spec)
            if what == "input":
                self.value(fpath, fwhere, form, arch, True, scope.variables, scope)
            else:
                self.output(fpath, fwhere, form, arch, scope.variables)

    def contract_type(self, spec: Any) -> ArchType | None:
        from genesys_identity.architect.types import type_named

        kind = spec.get("type", CONTRACT_DEFAULT) if isinstance(spec, dict) else CONTRACT_DEFAULT
        if isinstance(kind, str) and kind.startswith("__"):
            return type_named(kind[2:])
        if kind == "array":
            items = spec.get("items", {}) if isinstance(spec, dict) else {}
            element = self.model.contract_types.get(str(items.get("type", CONTRACT_DEFAULT)))
            from genesys_identity.architect.types import collection

            return collection(element) if element is not None else None
        return self.model.contract_types.get(str(kind))

    def end_task_path(self, path: Path, where: str, value: Any, scope: _Container) -> None:
        if not isinstance(value, dict) or [_key(k) for k in value] != ["name"] or not isinstance(value["name"], str):
            self.problem(path, where, "needs {name: <output path>}")
            return
        if scope.kind == "task" and value["name"] not in scope.output_paths:
            self.problem((*path, "name"), where, f"{scope.label} has no output path {value['name']!r} "
                         f"(paths: {', '.join(sorted(scope.output_paths))})")

    def acd_skills(self, path: Path, where: str, items: Any, scope: _Container) -> None:
        from genesys_identity.architect.types import SKILL

        if not isinstance(items, list):
            self.problem(path, where, f"needs a list of '- acdSkill: {{exp: ...}}' items, got {_kind_of(items)}")
            return
        for index, item in enumerate(items):
            body = item.get("acdSkill") if isinstance(item, dict) and len(item) == 1 else None
            if body is None:
                self.problem((*path, index), f"{where}[{index}]", "each item must be '- acdSkill: <value>'")
                continue
            self.value((*path, index, "acdSkill"), f"{where}[{index}]", body, SKILL, False, scope.variables, scope)

    def flow_call(self, path: Path, where: str, value: Any, prop: archy.Prop, scope: _Container) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            self.problem(path, where, "needs exactly one flow: {<flow name>: {ver_latestPublished: ...}}")
            return
        (callee, body), = value.items()
        cpath, cwhere = (*path, _key(callee)), f"{where}[{_key(callee)}]"
        version = body.get("ver_latestPublished") if isinstance(body, dict) and list(body) == ["ver_latestPublished"] else None
        if not isinstance(version, dict):
            self.problem(cpath, cwhere, "needs exactly {ver_latestPublished: {none: true} | {inputs:, outputs:}}")
            return
        vpath = (*cpath, "ver_latestPublished")
        if version == {"none": True}:
            return
        for key in version:
            if _key(key) not in ("inputs", "outputs"):
                self.problem((*vpath, _key(key)), cwhere, f"a flow call has no key {_key(key)!r}")
        for section in ("inputs", "outputs"):
            entries = version.get(section)
            if entries is None:
                continue
            if not isinstance(entries, dict):
                self.problem((*vpath, section), f"{cwhere}/{section}", f"needs a mapping, got {_kind_of(entries)}")
                continue
            for key, form in entries.items():
                name = _key(key)
                fpath, fwhere = (*vpath, section, name), f"{cwhere}/{section}.{name}"
                if not name.startswith(prop.prefix):
                    self.problem(fpath, fwhere, f"{name!r} is not a {prop.prefix}* variable of the called flow")
                if section == "inputs":
                    self.value(fpath, fwhere, form, None, True, scope.variables, scope)
                else:
                    self.output(fpath, fwhere, form, None, scope.variables)

    def schedule_evaluation(self, path: Path, where: str, value: Any, scope: _Container) -> None:
        from genesys_identity.architect.types import STRING

        body = value.get("schedule") if isinstance(value, dict) and [_key(k) for k in value] == ["schedule"] else None
        if not isinstance(body, dict):
            self.problem(path, where, "needs exactly {schedule: {selectedSchedule:, evaluationTimeZone:, "
                         "scheduleTimeZone:, evaluate:}} (the one evaluation type in the model)")
            return
        spath, swhere = (*path, "schedule"), f"{where}/schedule"
        keys = ("selectedSchedule", "evaluationTimeZone", "scheduleTimeZone", "evaluate")
        for key in body:
            if _key(key) not in keys:
                self.problem((*spath, _key(key)), swhere, f"a schedule evaluation has no key {_key(key)!r}"
                             f"{_suggest(_key(key), keys)}")
        for key in keys:
            if key not in body:
                self.problem(spath, swhere, f"a schedule evaluation needs {key!r}")
        selected = body.get("selectedSchedule")
        if selected is not None:
            literal = selected.get("lit") if isinstance(selected, dict) and list(selected) == ["lit"] else None
            if literal is not None:
                if not isinstance(literal, dict) or list(literal) != ["name"] or not isinstance(literal["name"], str):
                    self.problem((*spath, "selectedSchedule", "lit"), f"{swhere}/selectedSchedule",
                                 "a Schedule literal is {name: <schedule name>}")
            else:  # an expression: the expression language has no Schedule type, so any result is accepted
                self.value((*spath, "selectedSchedule"), f"{swhere}/selectedSchedule", selected, None, False,
                           scope.variables, scope)
        if "evaluationTimeZone" in body:
            self.text((*spath, "evaluationTimeZone"), f"{swhere}/evaluationTimeZone", body["evaluationTimeZone"])
        if "scheduleTimeZone" in body:
            self.value((*spath, "scheduleTimeZone"), f"{swhere}/scheduleTimeZone", body["scheduleTimeZone"], STRING,
                       False, scope.variables, scope)
        if "evaluate" in body and body["evaluate"] != {"now": True}:
            self.problem((*spath, "evaluate"), f"{swhere}/evaluate", "needs {now: true} (the one form in the model)")

    def script_call(self, path: Path, where: str, value: Any, scope: _Container) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            self.problem(path, where, "needs exactly one script: {<script name>: {inputs: {...}}}")
            return
        (script, body), = value.items()
        cpath, cwhere = (*path, _key(script)), f"{where}[{_key(script)}]"
        inputs = body.get("inputs") if isinstance(body, dict) and [_key(k) for k in body] == ["inputs"] else None
        if not isinstance(inputs, dict):
            self.problem(cpath, cwhere, "needs exactly {inputs: {<script input>: <value>}}")
            return
        for key, form in inputs.items():
            self.value((*cpath, "inputs", _key(key)), f"{cwhere}/inputs.{_key(key)}", form, None, True,
                       scope.variables, scope)
