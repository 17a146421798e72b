"""Velocity as Genesys data actions run it: a real Velocity engine (airspeed) with the Genesys helpers.

Java semantics matter where Python's differ: booleans print ``true``/``false``, a null formal reference
(``${input.x}``) prints its own text while a silent one (``$!{input.x}``) prints nothing, and an escaping
helper given null returns null.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import airspeed

# Helper namespaces and the members the definitions may use: the checks refuse anything else.
HELPERS: Mapping[str, frozenset[str]] = {
    "esc": frozenset({"jsonString", "jsonEncode", "jsonDecode", "url", "urlFormEncode", "uriEncode", "quote"}),
    "successTemplateUtils": frozenset({"firstFromArray"}),
    "encoding": frozenset({"base64"}),
    "math": frozenset({"add", "sub", "mul", "div", "max", "min"}),
    "urlTool": frozenset({"optionalQueryParam"}),
}


class VelocityError(Exception):
    """A template cannot be parsed or rendered (the message is the engine's)."""


class JavaBoolean:
    """A boolean that prints as Java prints it, and tests as itself in ``#if``."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class _Esc:
    quote = '"'

    @staticmethod
    def jsonString(value: Any) -> str | None:
        return None if value is None else json.dumps(str(value), ensure_ascii=False)[1:-1]

    jsonEncode = jsonString

    @staticmethod
    def jsonDecode(value: Any) -> str | None:
        return None if value is None else str(json.loads(f'"{value}"'))

    @staticmethod
    def url(value: Any) -> str | None:
        return None if value is None else quote_plus(str(value), safe="")

    @staticmethod
    def urlFormEncode(value: Any) -> str | None:
        return None if value is None else quote_plus(str(value), safe="")

    @staticmethod
    def uriEncode(value: Any) -> str | None:
        return None if value is None else quote(str(value), safe="")


class _SuccessTemplateUtils:
    @staticmethod
    def firstFromArray(array_json: str, default: str = "") -> str:
        try:
            items = json.loads(array_json)
        except (TypeError, json.JSONDecodeError):
            return default
        return json.dumps(items[0]) if isinstance(items, list) and items else default


class _Encoding:
    @staticmethod
    def base64(value: Any) -> str:
        return base64.b64encode(str(value).encode()).decode()


class _Math:
    @staticmethod
    def add(a: float, b: float) -> float:
        return a + b

    @staticmethod
    def sub(a: float, b: float) -> float:
        return a - b

    @staticmethod
    def mul(a: float, b: float) -> float:
        return a * b

    @staticmethod
    def div(a: float, b: float) -> float | None:
        return None if b == 0 else a / b

    @staticmethod
    def max(a: float, b: float) -> float:
        return a if a >= b else b

    @staticmethod
    def min(a: float, b: float) -> float:
        return a if a <= b else b


class _UrlTool:
    @staticmethod
    def optionalQueryParam(name: str, value: Any) -> str:
        return "" if value in (None, "") else f"&{quote_plus(name)}={quote_plus(str(value))}"


def helpers() -> dict[str, Any]:
    return {"esc": _Esc(), "successTemplateUtils": _SuccessTemplateUtils(), "encoding": _Encoding(), "math": _Math(),
            "urlTool": _UrlTool()}


def java_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Input values as Velocity sees them: absent and null are the same, booleans print as Java's."""
    return {k: (JavaBoolean(v) if isinstance(v, bool) else v) for k, v in values.items() if v is not None}


def render(template: str, context: Mapping[str, Any]) -> str:
    try:
        return str(airspeed.Template(template).merge({**helpers(), **context}))
    except airspeed.TemplateSyntaxError as exc:
        raise VelocityError(f"syntax error: {exc}") from None
    except airspeed.TemplateExecutionError as exc:
        raise VelocityError(f"cannot render: {exc}") from None


_REFERENCE = re.compile(r"\$!?\{?([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z][A-Za-z0-9_]*)*)")


def references(template: str) -> list[tuple[str, str | None]]:
    """``(root, first member)`` of every ``$ref``, ``${ref}``, ``$!{ref}`` and ``$ref.member(...)`` in a template."""
    found = []
    for match in _REFERENCE.finditer(template):
        members = match.group(2).lstrip(".").split(".") if match.group(2) else []
        found.append((match.group(1), members[0] if members else None))
    return found
