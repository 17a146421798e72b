"""The closed-world model of Archy YAML: flow types, keys, variable kinds, statement kinds, action kinds with
their properties and value forms, literal shapes. Loaded once from ``catalog/archy.yaml``, where every entry
names its source (a GenesysCloudBlueprints export, a Terraform provider example, or a Resource Center page).

Nothing here decides what is valid on its own: ``validator.py`` walks a flow with this model, and whatever the
model does not list is reported as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.architect.types import ArchType, type_named
from genesys_identity.errors import GenesysIdentityError

CATALOG = Path(__file__).resolve().parent / "catalog" / "archy.yaml"
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROPERTY_FORMS = frozenset({
    "text", "flag", "value", "output", "reference", "division", "startUpRef", "supportedLanguages",
    "settingsErrorHandling", "variables", "states", "tasks", "actions", "outputPaths", "initialValue", "none",
    "statements", "outputs", "firstTrue", "category", "outputPath", "setAttributes", "getAttributes", "acdSkills",
    "flowCall", "scheduleEvaluation", "scriptCall",
})
LITERAL_SHAPES = frozenset({"string", "integer", "number", "boolean", "duration", "named"})


class ModelError(GenesysIdentityError):
    """``catalog/archy.yaml`` is malformed (a missing source, an unknown form or type)."""


@dataclass(frozen=True)
class Prop:
    """One key of a flow, container, variable or action: its form, and for values the Architect type."""

    name: str
    form: str
    type: ArchType | None = None
    required: bool = False
    no_value: bool = True  # `noValue: true` is accepted (form value/output)
    paths: tuple[str, ...] = ()  # form outputs: the output path names
    prefix: str = ""  # form flowCall: the callee's variable scope ("Slot.", "Common.")


@dataclass(frozen=True)
class LiteralShape:
    type: ArchType
    shape: str
    units: tuple[str, ...] = ()  # duration units


@dataclass(frozen=True)
class ActionKind:
    name: str
    properties: dict[str, Prop]
    sources: tuple[str, ...]
    tasks_only: bool = False


@dataclass(frozen=True)
class FlowType:
    name: str
    keys: dict[str, Prop]
    supported_language: dict[str, Prop]
    error_handling: dict[str, str]  # kind -> body form ("none": {none: true}; "targetQueue": {targetQueue: <Queue>})
    actions: frozenset[str]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    sources: dict[str, str]
    flow_types: dict[str, FlowType]
    containers: dict[str, dict[str, Prop]]  # "state" / "task" -> keys
    variable_keys: dict[str, Prop]
    variable_kinds: dict[str, ArchType]
    statement_kinds: dict[str, ArchType]
    contract_types: dict[str, ArchType]
    failure_outputs: dict[str, ArchType]
    literals: dict[ArchType, LiteralShape]
    actions: dict[str, ActionKind]
    inferred: dict[str, str]  # entries no public Archy export shows, with why they are modelled anyway

    def cite(self, names: tuple[str, ...]) -> str:
        """The sources of an entry, spelled out (for messages and the README)."""
        return "; ".join(self.sources.get(n, n) for n in names)


@cache
def load(path: Path = CATALOG) -> Model:
    """The model, read and checked once per process."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"{path.name}: cannot be read: {exc}") from None
    return _build(raw, path.name)


def _build(raw: dict[str, Any], file: str) -> Model:
    sources: dict[str, str] = dict(raw["sources"])
    inferred: dict[str, str] = {}

    def note(where: str, spec: Any) -> None:
        if isinstance(spec, dict) and spec.get("inferred"):
            inferred[where] = " ".join(str(spec["inferred"]).split())

    def cited(where: str, entry: Any) -> tuple[str, ...]:
        names = entry if isinstance(entry, list) else [entry] if entry else []
        if not names:
            raise ModelError(f"{file}: {where}: has no source")
        for name in names:
            if name not in sources and not str(name).startswith("Resource Center:"):
                raise ModelError(f"{file}: {where}: unknown source {name!r}")
        return tuple(str(n) for n in names)

    def typed(where: str, name: str) -> ArchType:
        try:
            return type_named(name)
        except KeyError:
            raise ModelError(f"{file}: {where}: unknown Architect type {name!r}") from None

    def prop(where: str, name: str, spec: dict[str, Any], need_source: bool) -> Prop:
        if spec.get("form") not in PROPERTY_FORMS:
            raise ModelError(f"{file}: {where}.{name}: unknown form {spec.get('form')!r}")
        if need_source:
            cited(f"{where}.{name}", spec.get("source"))
        return Prop(name, spec["form"], typed(f"{where}.{name}", spec["type"]) if spec.get("type") else None,
                    bool(spec.get("required", False)), bool(spec.get("noValue", True)),
                    tuple(str(p) for p in spec.get("paths", ())), str(spec.get("prefix", "")))

    literals: dict[ArchType, LiteralShape] = {}
    for type_name, spec in raw["literals"].items():
        cited(f"literals.{type_name}", spec.get("source"))
        if spec["shape"] not in LITERAL_SHAPES:
            raise ModelError(f"{file}: literals.{type_name}: unknown shape {spec['shape']!r}")
        arch = typed(f"literals.{type_name}", type_name)
        literals[arch] = LiteralShape(arch, spec["shape"], tuple(spec.get("units", ())))

    flow_types = {}
    for name, spec in raw["flowTypes"].items():
        where = f"flowTypes.{name}"
        error_handling = {}
        for kind, body in spec["errorHandling"].items():
            cited(f"{where}.errorHandling.{kind}", body.get("source"))
            note(f"{where}.errorHandling.{kind}", body)
            if body["body"] not in ("none", "targetQueue"):
                raise ModelError(f"{file}: {where}.errorHandling.{kind}: unknown body {body['body']!r}")
            error_handling[kind] = str(body["body"])
        flow_types[name] = FlowType(
            name, {k: prop(where, k, v, True) for k, v in spec["keys"].items()},
            {k: prop(f"{where}.supportedLanguage", k, v, True) for k, v in spec["supportedLanguage"].items()},
            error_handling, frozenset(spec["actions"]), cited(where, spec.get("source")))

    actions = {}
    for name, spec in raw["actions"].items():
        where = f"actions.{name}"
        actions[name] = ActionKind(name, {k: prop(where, k, v, False) for k, v in spec["properties"].items()},
                                   cited(where, spec.get("source")), bool(spec.get("tasksOnly", False)))
    for flow in flow_types.values():
        unknown = sorted(flow.actions - set(actions))
        if unknown:
            raise ModelError(f"{file}: flowTypes.{flow.name}.actions: {', '.join(unknown)} not modelled under actions")

    def kinds(section: str) -> dict[str, ArchType]:
        out = {}
        for kind, spec in raw[section].items():
            cited(f"{section}.{kind}", spec.get("source"))
            note(f"{section}.{kind}", spec)
            out[kind] = typed(f"{section}.{kind}", spec["type"])
        return out

    failure = raw["failureOutputs"]
    cited("failureOutputs", failure.get("source"))
    return Model(
        sources=sources,
        flow_types=flow_types,
        containers={k: {n: prop(f"containers.{k}", n, v, True) for n, v in spec["keys"].items()}
                    for k, spec in raw["containers"].items()},
        variable_keys={k: prop("variableKeys", k, v, True) for k, v in raw["variableKeys"].items()},
        variable_kinds=kinds("variableKinds"),
        statement_kinds=kinds("statementKinds"),
        contract_types={k: typed(f"contractTypes.{k}", v) for k, v in raw["contractTypes"].items()},
        failure_outputs={k: typed(f"failureOutputs.{k}", v) for k, v in failure["fields"].items()},
        literals=literals,
        actions=actions,
        inferred=inferred,
    )
