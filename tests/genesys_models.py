"""Request and response bodies checked against the official Platform API models (tests only).

The models are those of the official Python SDK, ``PureCloudPlatformClientV2`` 269.0.0 (a dev dependency):
each model's ``attribute_map`` gives the JSON field names, ``swagger_types`` their types, and its property
setters the allowed values of enumerations (a value outside them reads back as ``outdated_sdk_version``).

The SDK's Python models do not say which fields are required; its model docs do (``build/docs/<Model>.md``
in ``MyPureCloud/platform-client-sdk-python``: a field whose notes lack ``[optional]`` is required). The
required fields of the models this project sends are recorded in ``REQUIRED`` from those docs. The table is
closed: a request model missing from it is an error, never a pass.

A nested object holding only ``id`` (and ``selfUri``) is an entity reference, the Platform API's way to name
another object (``division: {id}``, ``flow: {id}``); the referenced model's required fields do not apply.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

REQUIRED: Mapping[str, frozenset[str]] = {
    # build/docs/ContactEnrichRequest.md, ContactIdentifier.md, ExternalContact.md, ExternalSource.md
    "ContactEnrichRequest": frozenset({"matchingIdentifiers", "action"}),
    "ContactIdentifier": frozenset({"type", "value"}),
    "ExternalContact": frozenset({"firstName", "lastName"}),
    "ExternalSource": frozenset({"name"}),
    # build/docs/ConversationAssociation.md, MergeContactsRequest.md
    "ConversationAssociation": frozenset({"conversationId", "communicationId", "mediaType"}),
    "MergeContactsRequest": frozenset({"contactIds"}),
    # build/docs/RecipientRequest.md, RecipientFlow.md
    "RecipientRequest": frozenset(),
    "RecipientFlow": frozenset(),
    # build/docs/SmsIdentityResolutionConfig.md, DeploymentIdentityResolutionConfig.md and their parts
    "SmsIdentityResolutionConfig": frozenset({"resolveIdentities"}),
    "DeploymentIdentityResolutionConfig": frozenset({"resolveIdentities"}),
    "IdentityResolutionExternalSource": frozenset(),
    "IdentityResolutionAutomergeConfig": frozenset(),
    "WritableStarrableDivision": frozenset(),
}

_REFERENCE_KEYS = frozenset({"id", "selfUri"})
_SCALARS: Mapping[str, tuple[type, ...]] = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float),
                                            "datetime": (str,), "date": (str,)}


def _module_name(model: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()


@cache
def model_class(model: str) -> Any:
    """The SDK class of ``model`` (imports only that model's module, not the whole SDK)."""
    module = importlib.import_module(f"PureCloudPlatformClientV2.models.{_module_name(model)}")
    return getattr(module, model)


@cache
def fields(model: str) -> dict[str, tuple[str, str]]:
    """JSON name -> (Python attribute, swagger type) of ``model``."""
    instance = model_class(model)()
    return {json_name: (attr, instance.swagger_types[attr]) for attr, json_name in instance.attribute_map.items()}


def _allowed(model: str, attr: str, value: str) -> bool:
    instance = model_class(model)()
    try:
        setattr(instance, attr, value)
    except (TypeError, ValueError):
        return False
    return bool(getattr(instance, attr) != "outdated_sdk_version")


def problems(model: str, body: Any, *, request: bool = True, path: str = "") -> list[str]:
    """Every way ``body`` differs from ``model``: unknown fields, wrong types, values outside the enumeration,
    and (for requests) missing required fields. Empty when the body conforms."""
    where = path or model
    if not isinstance(body, Mapping):
        return [f"{where}: expected an object ({model}), got {type(body).__name__}"]
    known = fields(model)
    found: list[str] = []
    for key, value in body.items():
        if key not in known:
            found.append(f"{where}.{key}: not a field of {model} (fields: {', '.join(sorted(known))})")
            continue
        if value is None:
            continue
        attr, kind = known[key]
        found += _value(model, attr, kind, value, f"{where}.{key}", request)
    reference = request and bool(path) and set(body) <= _REFERENCE_KEYS and "id" in body
    if request and not reference:
        if model not in REQUIRED:
            found.append(f"{where}: the required fields of {model} are not recorded (tests/genesys_models.py REQUIRED)")
        else:
            found += [f"{where}.{key}: required by {model} but missing" for key in sorted(REQUIRED[model])
                      if body.get(key) is None]
    return found


def _value(model: str, attr: str, kind: str, value: Any, where: str, request: bool) -> list[str]:
    if kind in _SCALARS:
        ok = isinstance(value, _SCALARS[kind]) and not (kind != "bool" and isinstance(value, bool))
        if not ok:
            return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
        if kind == "str" and not _allowed(model, attr, value):
            return [f"{where}: {value!r} is not an allowed value of {model}.{attr}"]
        return []
    if kind == "object":
        return []
    if kind.startswith("list["):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        inner = kind[5:-1]
        return [p for i, item in enumerate(value) for p in _item(inner, item, f"{where}[{i}]", request)]
    if kind.startswith("dict("):
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        inner = kind[kind.index(",") + 1:-1].strip()
        return [p for key, item in value.items() for p in _item(inner, item, f"{where}[{key!r}]", request)]
    return problems(kind, value, request=request, path=where)


def _item(kind: str, value: Any, where: str, request: bool) -> list[str]:
    if kind in _SCALARS:
        ok = isinstance(value, _SCALARS[kind]) and not (kind != "bool" and isinstance(value, bool))
        return [] if ok else [f"{where}: expected {kind}, got {type(value).__name__}"]
    if kind == "object":
        return []
    return problems(kind, value, request=request, path=where)


def require(model: str, body: Any, *, request: bool = True) -> None:
    """Assert that ``body`` conforms to ``model``, listing every difference."""
    found = problems(model, body, request=request)
    assert not found, "\n".join(found)



@cache
def query_parameters(api: str, method: str) -> frozenset[str]:
    """The query parameters an SDK call may send (its ``query_params['name']`` lines), for ``apis/<api>.py``."""
    import inspect

    module = importlib.import_module(f"PureCloudPlatformClientV2.apis.{api}")
    source = inspect.getsource(module)
    start = source.index(f"def {method}(")
    end = source.find("\n    def ", start + 1)
    return frozenset(re.findall(r"query_params\['(\w+)'\]", source[start:end if end > 0 else None]))
