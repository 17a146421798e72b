"""Execute a data action definition offline, the way Genesys executes it.

Steps, as Genesys runs them: validate the input against the input contract; render the URL, headers and
body with Velocity (``$input``, ``$credentials``, the helpers); call the service with the action's timeout;
apply the translation map (Jayway JSONPath, ``actions/jsonpath.py``: the defaults when a definite path does not
resolve, ``[]`` for an indefinite path with no match); render the success
template; validate the result against the output contract. A failure at any step is an ``ActionFailure``
with a status and a message shaped like Genesys' own, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft4Validator

from genesys_identity.actions import jsonpath, velocity
from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.errors import GenesysIdentityError


class ActionFailure(GenesysIdentityError):
    """The action failed; ``status`` and ``message`` are what Genesys would report to the flow."""

    def __init__(self, status: int, message: str, code: str = "bad.request") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.message = message
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Execution:
    """What happened, step by step (the runner command prints it)."""

    url: str
    method: str
    request_body: str | None
    status: int
    raw_result: str
    translated: dict[str, str]
    output: dict[str, Any]


def execute(definition: ActionDefinition, inputs: Mapping[str, Any], *, service_url: str,
            credentials: Mapping[str, str], client: httpx.Client | None = None,
            timeout_s: float | None = None) -> Execution:
    _validate(definition.input_schema, inputs, "Input", definition.name)
    context = {"input": velocity.java_values({**inputs, "rawRequest": json.dumps(dict(inputs))}),
               "credentials": dict(credentials)}
    request = definition.rendered(service_url)["config"]["request"]
    url = _render(request["requestUrlTemplate"], context, "requestUrlTemplate")
    headers = {name: _render(value, context, f"headers.{name}") for name, value in (request.get("headers") or {}).items()}
    method = request["requestType"]
    body: str | None = None
    if method != "GET":
        body = _render(request.get("requestTemplate", "${input.rawRequest}"), context, "requestTemplate")
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise ActionFailure(400, f"The request template rendered invalid JSON ({exc.msg} at column {exc.colno}). "
                                     "Check the escaping of inputs with $esc.jsonString.") from None
    own = client is None
    http = client or httpx.Client()
    try:
        response = http.request(method, url, content=body.encode() if body is not None else None, headers=headers,
                                timeout=timeout_s or definition.timeout_seconds)
    except httpx.TimeoutException:
        raise ActionFailure(504, f"The request timed out after {timeout_s or definition.timeout_seconds} seconds.",
                            "gateway.timeout") from None
    except httpx.TransportError as exc:
        raise ActionFailure(502, f"Request to backend service failed: {type(exc).__name__}.", "bad.gateway") from None
    finally:
        if own:
            http.close()
    raw = response.text
    if response.status_code >= 300:
        raise ActionFailure(response.status_code, "REST call for action execute failed. Message: Request to backend "
                                                  f"service failed. Response from web service: {raw[:500]}",
                            "internal.server.error" if response.status_code >= 500 else "bad.request")
    try:
        document = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        raise ActionFailure(400, "The response from the web service is not JSON.") from None
    translated = _translate(definition, document)
    rendered = _render(definition.response.get("successTemplate", "${rawResult}"), {**translated, "rawResult": raw},
                       "successTemplate")
    try:
        output = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise ActionFailure(400, f"The success template rendered invalid JSON ({exc.msg} at column {exc.colno}).") from None
    _validate(definition.output_schema, output, "Output", definition.name)
    return Execution(url, method, body, response.status_code, raw, translated, output)


def _render(template: str, context: Mapping[str, Any], field: str) -> str:
    try:
        return velocity.render(template, context)
    except velocity.VelocityError as exc:
        raise ActionFailure(400, f"{field}: {exc}") from None


def _validate(schema: Mapping[str, Any], value: Any, which: str, action: str) -> None:
    errors = sorted(Draft4Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ActionFailure(400, f"{which} did not match the {action} {which.lower()} contract at {where}: {first.message}")


def _translate(definition: ActionDefinition, document: Any) -> dict[str, str]:
    """Each translation-map key as JSON text, the way the success template receives it (Jayway semantics)."""
    mapping: dict[str, str] = definition.response.get("translationMap") or {}
    defaults: dict[str, str] = definition.response.get("translationMapDefaults") or {}
    translated: dict[str, str] = {}
    for key, path in mapping.items():
        try:
            value = jsonpath.parse(path).find(document)
        except jsonpath.JsonPathError as exc:
            raise ActionFailure(400, f"translationMap.{key}: {exc}") from None
        except jsonpath.NotFound:
            # The path did not resolve: the default applies. A null value resolves (no fallback).
            if key not in defaults:
                raise ActionFailure(400, f"JSON path {path!r} for {key!r} resolved nothing and {key!r} has no default.") from None
            translated[key] = defaults[key]
            continue
        translated[key] = json.dumps(value, ensure_ascii=False)
    return translated
