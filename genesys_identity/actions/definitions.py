"""Data action definitions: ``data_actions/*.json``, one per action, in Genesys' export format.

The files are the source of truth and stay JSON (never pushed through Jinja). One field is not verbatim:
``config.request.requestUrlTemplate`` is a path on the stitching service (``/v1/stitch``); ``rendered``
prefixes the stack's service URL, so the integration always points at what the stack deploys.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys_identity.errors import GenesysIdentityError

ACTIONS_DIR = Path(__file__).resolve().parents[2] / "data_actions"
INTEGRATION_TYPE = "custom-rest-actions"


class ActionDefinitionError(GenesysIdentityError):
    """A data action file cannot be read or breaks a rule; the message names the file, the action and the field."""


@dataclass(frozen=True)
class ActionDefinition:
    file: str  # file name, for messages
    document: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.document["name"])

    @property
    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = self.document["config"]["request"]
        return request

    @property
    def response(self) -> dict[str, Any]:
        response: dict[str, Any] = self.document["config"]["response"]
        return response

    @property
    def input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.document["contract"]["input"]["inputSchema"]
        return schema

    @property
    def output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.document["contract"]["output"]["successSchema"]
        return schema

    @property
    def timeout_seconds(self) -> int:
        return int(self.document["config"].get("timeoutSeconds", 60))

    @property
    def secure(self) -> bool:
        return bool(self.document.get("secure", False))

    def rendered(self, service_url: str) -> dict[str, Any]:
        """The export with the absolute URL of the stack's stitching service."""
        document = copy.deepcopy(self.document)
        document["config"]["request"]["requestUrlTemplate"] = service_url.rstrip("/") + self.request["requestUrlTemplate"]
        return document

    def contract_text(self, which: str) -> str:
        """The contract as the provider takes it (``contract_input``/``contract_output``): canonical JSON text."""
        schema = self.input_schema if which == "input" else self.output_schema
        return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def load(path: Path) -> ActionDefinition:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ActionDefinitionError(f"{path.name}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ActionDefinitionError(f"{path.name}: not JSON: {exc.msg} at line {exc.lineno}") from None
    missing = [key for key in ("name", "integrationType", "config", "contract") if key not in document]
    if missing:
        raise ActionDefinitionError(f"{path.name}: missing {', '.join(missing)}")
    for dotted in ("config.request", "config.response", "contract.input.inputSchema", "contract.output.successSchema"):
        node: Any = document
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ActionDefinitionError(f"{path.name}: {document.get('name')}: {dotted} must be an object")
    return ActionDefinition(path.name, document)


def load_all(directory: Path = ACTIONS_DIR) -> list[ActionDefinition]:
    definitions = [load(path) for path in sorted(directory.glob("*.json"))]
    names = [d.name for d in definitions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ActionDefinitionError(f"{directory.name}: two files define {', '.join(duplicates)}")
    return definitions


def by_name(definitions: list[ActionDefinition], name: str) -> ActionDefinition:
    for definition in definitions:
        if definition.name == name:
            return definition
    known = ", ".join(d.name for d in definitions)
    raise ActionDefinitionError(f"no data action named {name!r} (known: {known})")
