"""Static checks of data action definitions: what Genesys would refuse at publish time or fail at run time.

Each problem is one line: ``<file>: <action>: <field>: <what is wrong>``. ``check`` returns them all;
``require_valid`` raises with every one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from genesys_identity.actions import jsonpath, velocity
from genesys_identity.actions.definitions import INTEGRATION_TYPE, ActionDefinition, ActionDefinitionError
from genesys_identity.catalog import Catalog

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
RESERVED_INPUTS = frozenset({"orgId", "integrationId", "rawRequest"})
PRIMITIVES = frozenset({"string", "integer", "number", "boolean", "null"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_CATALOG_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "number": "number"}
CREDENTIAL_FIELDS = frozenset({"token"})


def check(definition: ActionDefinition, catalog: Catalog | None = None) -> list[str]:
    problems: list[str] = []

    def problem(field: str, message: str) -> None:
        problems.append(f"{definition.file}: {definition.name}: {field}: {message}")

    doc = definition.document
    if doc.get("integrationType") != INTEGRATION_TYPE:
        problem("integrationType", f"must be {INTEGRATION_TYPE!r} (a web services data action)")
    timeout = doc["config"].get("timeoutSeconds")
    if not isinstance(timeout, int) or not 1 <= timeout <= 60:
        problem("config.timeoutSeconds", "must be a whole number of seconds from 1 to 60")
    _check_schema(definition.input_schema, "contract.input.inputSchema", problem, is_input=True)
    _check_schema(definition.output_schema, "contract.output.successSchema", problem, is_input=False)
    inputs = set(definition.input_schema.get("properties", {}))
    _check_request(definition, inputs, problem)
    _check_response(definition, problem)
    if catalog is not None:
        _check_catalog(definition, catalog, problem)
    return problems


def check_all(definitions: Iterable[ActionDefinition], catalog: Catalog | None = None) -> list[str]:
    definitions = list(definitions)
    problems = [p for d in definitions for p in check(d, catalog)]
    if catalog is not None:
        produced = {name for d in definitions for name in d.output_schema.get("properties", {})}
        for attribute in catalog.attributes:
            if attribute.source == "data_action" and attribute.name not in produced:
                problems.append(f"catalog: {attribute.name}: its source is data_action but no data action outputs it")
    return problems


def require_valid(definitions: Iterable[ActionDefinition], catalog: Catalog | None = None) -> None:
    problems = check_all(definitions, catalog)
    if problems:
        raise ActionDefinitionError("data actions failed their checks:\n  " + "\n  ".join(problems))


def _check_schema(schema: dict[str, Any], where: str, problem: Any, is_input: bool) -> None:
    if "$schema" in schema and schema["$schema"] != DRAFT_04:
        problem(f"{where}.$schema", f"contracts are JSON Schema draft-04 ({DRAFT_04})")
    if "$ref" in json.dumps(schema):
        problem(where, "contracts do not support $ref")
    if schema.get("type") != "object":
        problem(f"{where}.type", "must be object")
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        problem(f"{where}.properties", "must name at least one property")
        return
    for name in schema.get("required", []):
        if name not in properties:
            problem(f"{where}.required", f"{name!r} is required but not a property")
    for name, prop in properties.items():
        field = f"{where}.properties.{name}"
        if not _NAME.match(name):
            problem(field, "names start with a letter and use letters, digits, _ and -")
        if is_input and name in RESERVED_INPUTS:
            problem(field, f"{name!r} is reserved by Genesys")
        kind = prop.get("type") if isinstance(prop, dict) else None
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if is_input and not kinds <= PRIMITIVES:
            problem(field, "input contracts are flat: no nested objects or arrays")
        elif not is_input and "object" in kinds:
            problem(field, "keep outputs flat: no nested objects")
        elif not is_input and "array" in kinds:
            items = prop.get("items", {})
            if not isinstance(items, dict) or items.get("type") not in PRIMITIVES:
                problem(field, "output arrays hold primitives only (no nested arrays or objects)")
        elif None in kinds:
            problem(field, "needs a type")


def _check_request(definition: ActionDefinition, inputs: set[str], problem: Any) -> None:
    request = definition.request
    url = request.get("requestUrlTemplate", "")
    if not isinstance(url, str) or not url.startswith("/"):
        problem("config.request.requestUrlTemplate", "must be a path on the stitching service (starting with /)")
    if request.get("requestType") not in ("GET", "PUT", "POST", "PATCH", "DELETE"):
        problem("config.request.requestType", "must be GET, PUT, POST, PATCH or DELETE")
    templates = {"config.request.requestUrlTemplate": url, "config.request.requestTemplate": request.get("requestTemplate", "")}
    templates.update({f"config.request.headers.{k}": v for k, v in (request.get("headers") or {}).items()})
    string_inputs = {name for name, prop in definition.input_schema.get("properties", {}).items()
                     if isinstance(prop, dict) and prop.get("type") == "string"}
    for field, template in templates.items():
        if not isinstance(template, str):
            problem(field, "must be text")
            continue
        for root, member in velocity.references(template):
            if root == "input":
                if member not in inputs and member != "rawRequest":
                    problem(field, f"$input.{member} is not in the input contract")
            elif root == "credentials":
                if member not in CREDENTIAL_FIELDS:
                    problem(field, f"$credentials.{member} is not a field of the integration credential")
            elif root not in velocity.HELPERS:
                problem(field, f"${root} is not defined here")
            elif member not in velocity.HELPERS[root]:
                problem(field, f"${root}.{member} is not a Genesys helper")
        escape = "$esc.jsonString" if field.endswith("requestTemplate") else "$esc.url" if "Url" in field else None
        if escape is not None:
            for name in sorted(string_inputs):
                if _unescaped(template, name, escape):
                    problem(field, f"$input.{name} is inserted without {escape}(...): a quote or & in it breaks the call")
        try:
            velocity.render(template, {"input": {}, "credentials": {}})
        except velocity.VelocityError as exc:
            problem(field, str(exc))
    if request.get("requestType") != "GET":
        body = request.get("requestTemplate", "")
        sample = {name: ("x" if name in string_inputs else _sample(prop)) for name, prop
                  in definition.input_schema.get("properties", {}).items()}
        try:
            json.loads(velocity.render(body, {"input": velocity.java_values(sample), "credentials": {"token": "t"}}))
        except (velocity.VelocityError, json.JSONDecodeError) as exc:
            problem("config.request.requestTemplate", f"does not render JSON for a complete input: {exc}")


def _unescaped(template: str, name: str, escape: str) -> bool:
    """True when ``$input.name`` appears outside a call of the escaping helper."""
    for match in re.finditer(rf"\$!?\{{?input\.{re.escape(name)}\b\}}?", template):
        before = template[: match.start()]
        opened = max(before.rfind(f"{escape}("), before.rfind(f"${{{escape[1:]}("), before.rfind(f"$!{escape[1:]}("),
                     before.rfind(f"$!{{{escape[1:]}("))
        if opened < 0 or ")" in before[opened:]:
            return True
    return False


def _check_response(definition: ActionDefinition, problem: Any) -> None:
    response = definition.response
    mapping = response.get("translationMap") or {}
    defaults = response.get("translationMapDefaults") or {}
    template = response.get("successTemplate", "")
    for key, path in mapping.items():
        try:
            jsonpath.parse(path)  # Jayway JSONPath as the runner models it; the rest is refused, by name
        except jsonpath.JsonPathError as exc:
            problem(f"config.response.translationMap.{key}", str(exc))
    for key, value in defaults.items():
        if key not in mapping:
            problem(f"config.response.translationMapDefaults.{key}", "has no translationMap entry")
        try:
            json.loads(value)
        except (TypeError, json.JSONDecodeError):
            problem(f"config.response.translationMapDefaults.{key}", "must be a JSON literal (a string is written \"\\\"x\\\"\")")
    used = {root for root, _ in velocity.references(template)}
    for key in mapping:
        if key not in used:
            problem(f"config.response.translationMap.{key}", "is not used by the successTemplate")
    for root, member in velocity.references(template):
        if root in mapping or root == "rawResult":
            continue
        if root in velocity.HELPERS:
            if member not in velocity.HELPERS[root]:
                problem("config.response.successTemplate", f"${root}.{member} is not a Genesys helper")
        else:
            problem("config.response.successTemplate", f"${root} is not a translationMap key")
    outputs = definition.output_schema.get("properties", {})
    # Each key as a JSON string, or as a literal where the template quotes it ("${flag}" turns true into "true").
    sample = {key: "true" if re.search(rf'"\$!?\{{?{re.escape(key)}\}}?"', template) else '"x"' for key in mapping}
    try:
        rendered = json.loads(velocity.render(template, {**sample, "rawResult": "{}"}))
    except (velocity.VelocityError, json.JSONDecodeError) as exc:
        problem("config.response.successTemplate", f"does not render JSON: {exc}")
        return
    if not isinstance(rendered, dict):
        problem("config.response.successTemplate", "must render a JSON object")
        return
    for name in outputs:
        if name not in rendered:
            problem(f"contract.output.successSchema.properties.{name}", "is never produced by the successTemplate")
    for name in rendered:
        if name not in outputs:
            problem("config.response.successTemplate", f"produces {name!r}, which the output contract does not declare")


def _check_catalog(definition: ActionDefinition, catalog: Catalog, problem: Any) -> None:
    by_folded = {a.name.casefold(): a for a in catalog.attributes}
    for where, schema in (("contract.input.inputSchema", definition.input_schema),
                          ("contract.output.successSchema", definition.output_schema)):
        for name, prop in schema.get("properties", {}).items():
            attribute = by_folded.get(name.casefold())
            if attribute is None or not isinstance(prop, dict):
                continue
            field = f"{where}.properties.{name}"
            if attribute.name != name:
                problem(field, f"spelled differently from the catalog attribute {attribute.name!r} (names are case-sensitive)")
            if _CATALOG_TYPES.get(attribute.type) != prop.get("type"):
                problem(field, f"type {prop.get('type')!r} differs from the catalog's {attribute.type!r}")
            if prop.get("type") == "string" and not (isinstance(prop.get("maxLength"), int)
                                                      and prop["maxLength"] <= attribute.max_length):
                problem(field, f"needs maxLength <= {attribute.max_length} (the catalog's)")


def _sample(prop: Any) -> Any:
    kind = str(prop.get("type")) if isinstance(prop, dict) else "string"
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, "x")

