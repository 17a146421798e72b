"""The participant attribute catalog: load, overlay per stack, validate, and answer questions about it.

Every rule failure is one line naming the file, the attribute and the rule. Flows, data actions, the
website snippet, the service's request validation and the auditors' table are derived from this.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from genesys_identity.errors import GenesysIdentityError

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"
DEFAULT_CATALOG = CATALOG_DIR / "participant_attributes.yaml"
SCHEMA_FILE = CATALOG_DIR / "participant_attributes.schema.json"

FORBIDDEN_PII = frozenset({"secret", "payment"})
UNAUTHENTICATED_SOURCES = frozenset({"messenger_database"})
# Words that betray a secret or payment value whatever the declared class (matched on whole words of
# the name, so "shipping" or "spinner" do not trip "pin").
_FORBIDDEN_WORDS = frozenset({"password", "passwd", "pwd", "passcode", "pin", "cvv", "cvv2", "cvc", "secret",
                              "otp", "iban", "pan", "ssn"})
_FORBIDDEN_PAIRS = frozenset({("card", "number"), ("card", "no"), ("credit", "card"), ("security", "code"),
                              ("account", "number")})


class CatalogError(GenesysIdentityError):
    """The catalog or a stack's overlay breaks the schema or a catalog rule."""


@dataclass(frozen=True)
class Attribute:
    name: str
    description: str
    type: str
    source: str
    routing: bool
    agent_visible: bool
    pii: str
    max_length: int
    identity_evidence: bool = False
    format: str | None = None
    claim: str | None = None
    agent_visible_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Catalog:
    attributes: tuple[Attribute, ...]
    sources: tuple[str, ...]  # files it was built from, for messages and the plan

    def get(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        hint = ""
        for attribute in self.attributes:
            if attribute.name.lower() == name.lower():
                hint = f"; names are case-sensitive: did you mean {attribute.name!r}?"
        raise CatalogError(f"participant attribute {name!r} is not in the catalog{hint}")

    def __contains__(self, name: object) -> bool:
        return any(a.name == name for a in self.attributes)

    def by_source(self, source: str) -> tuple[Attribute, ...]:
        return tuple(a for a in self.attributes if a.source == source)

    def to_document(self) -> dict[str, Any]:
        return {"version": 1, "attributes": [a.to_dict() for a in self.attributes]}


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[\s_]+", spaced.lower()) if w]


@functools.cache
def _schema(*, overlay: bool) -> dict[str, Any]:
    # Callers only read the result; the overlay variant is a modified deep copy of the base schema.
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    if overlay:
        schema = copy.deepcopy(schema)
        schema["$defs"]["attribute"]["required"] = ["name"]
    return schema


def _read(path: Path) -> Any:
    try:
        # libyaml's C parser when present (the catalog is read once per stack; the generator benchmark reads it often)
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"{path.name}:{where}: {getattr(exc, 'problem', None) or 'invalid YAML'}") from None


def _check_schema(document: Any, label: str, *, overlay: bool) -> None:
    validator = jsonschema.Draft202012Validator(_schema(overlay=overlay))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    where = label
    if len(path) >= 2 and path[0] == "attributes":
        entry = document["attributes"][path[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        where += f": attribute {name!r}" if name else f": attributes[{path[1]}]"
        if len(path) > 2:
            where += f" field {path[2]!r}"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        raise CatalogError(f"{where}: unknown field {unknown[0]!r}")
    raise CatalogError(f"{where}: {error.message}")


def check_rules(attributes: Iterable[Attribute], label: str) -> None:
    """The catalog's rules; the first broken one raises ``CatalogError`` naming the attribute."""
    seen: dict[str, str] = {}
    for a in attributes:
        where = f"{label}: attribute {a.name!r}"
        folded = a.name.lower()
        if folded in seen:
            other = seen[folded]
            rule = "is defined twice" if other == a.name else f"differs only by case from {other!r}"
            raise CatalogError(f"{where} {rule} (names are unique ignoring case)")
        seen[folded] = a.name
        words = _words(a.name)
        pairs = set(itertools.pairwise(words))
        if a.pii in FORBIDDEN_PII or _FORBIDDEN_WORDS & set(words) or _FORBIDDEN_PAIRS & pairs:
            raise CatalogError(
                f"{where}: secrets and payment data never go into participant attributes (Genesys logs them)"
            )
        if a.routing and a.type != "string":
            raise CatalogError(f"{where}: routing attributes must be strings (declared {a.type})")
        if a.pii != "none" and a.agent_visible and not a.agent_visible_reason:
            raise CatalogError(f"{where}: PII ({a.pii}) is agent-visible only with an agent_visible_reason")
        if a.identity_evidence and a.source in UNAUTHENTICATED_SOURCES:
            raise CatalogError(
                f"{where}: a value from an unauthenticated source ({a.source}) is never identity evidence"
            )
        if (a.source == "oidc_claim") != (a.claim is not None):
            raise CatalogError(f"{where}: 'claim' is required for source oidc_claim and only for it")
        if a.format is not None and a.type != "string":
            raise CatalogError(f"{where}: 'format' applies to strings only")


def _attributes(entries: Iterable[Mapping[str, Any]]) -> list[Attribute]:
    return [Attribute(**dict(entry)) for entry in entries]


def load(path: Path = DEFAULT_CATALOG, overlay: Path | None = None) -> Catalog:
    """Load the catalog, apply a stack's overlay (same name: fields replaced; new name: added), validate."""
    document = _read(path)
    _check_schema(document, path.name, overlay=False)
    entries: list[dict[str, Any]] = [dict(e) for e in document["attributes"]]
    check_rules(_attributes(entries), path.name)
    sources = [path.name]
    if overlay is not None:
        extra = _read(overlay)
        _check_schema(extra, overlay.name, overlay=True)
        index = {e["name"]: i for i, e in enumerate(entries)}
        for entry in extra["attributes"]:
            if entry["name"] in index:
                entries[index[entry["name"]]].update(entry)
            else:
                entries.append(dict(entry))
        # New entries must be complete: the merged list is held to the full schema.
        _check_schema({"version": 1, "attributes": entries}, overlay.name, overlay=False)
        sources.append(overlay.name)
    attributes = _attributes(entries)
    check_rules(attributes, " + ".join(sources))
    return Catalog(tuple(attributes), tuple(sources))
