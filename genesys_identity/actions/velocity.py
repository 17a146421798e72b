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
from decimal import Decimal
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
        return None if value is None else java_url_encode(str(value))

    @staticmethod
    def urlFormEncode(value: Any) -> str | None:
        return None if value is None else java_url_encode(str(value))

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


def java_url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``, which Velocity Tools' ``EscapeTool.url`` calls: letters,
    digits and ``. - * _`` stay, a space becomes ``+``, every other byte of the UTF-8 text is ``%XX``."""
    return quote_plus(text, safe="*").replace("~", "%7E")


class JavaDouble(float):
    """A ``java.lang.Double``: prints as ``Double.toString`` does (``3.0``, ``0.5``, ``1.0E7``, ``1.0E-4``)."""

    def __str__(self) -> str:
        value = float(self)
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
        if value == 0 or 1e-3 <= abs(value) < 1e7:
            text = repr(value)
            return text if "." in text or "e" in text else text + ".0"
        # Computerized scientific notation from the shortest digits that read back as this double.
        sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
        text = "".join(map(str, digits))
        power = len(text) - 1 + int(exponent)
        return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"

    __repr__ = __str__


def _number(value: Any) -> int | float | None:
    """Velocity Tools' ``ConversionUtils.toNumber``: numbers as they are, numeric strings parsed, else null."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _floating(value: int | float, raw: Any) -> bool:
    return isinstance(value, float) and (isinstance(raw, float) or any(c in str(raw) for c in ".eE"))


def _match_type(out: float, *raws: Any) -> int | JavaDouble:
    """``MathTool.matchType``: a whole result of whole inputs is an Integer (printed without ``.0``), else a Double."""
    whole = out == int(out) if out == out and abs(out) != float("inf") else False
    if whole and not any(_floating(v, raw) for raw in raws if (v := _number(raw)) is not None):
        return int(out)
    return JavaDouble(out)


class _Math:
    """Velocity Tools' ``MathTool``: arguments may be numbers or numeric strings; an unparseable one gives null."""

    @staticmethod
    def _two(a: Any, b: Any) -> tuple[float, float] | None:
        x, y = _number(a), _number(b)
        return None if x is None or y is None else (float(x), float(y))

    @classmethod
    def add(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        return None if pair is None else _match_type(pair[0] + pair[1], a, b)

    @classmethod
    def sub(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        return None if pair is None else _match_type(pair[0] - pair[1], a, b)

    @classmethod
    def mul(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        return None if pair is None else _match_type(pair[0] * pair[1], a, b)

    @classmethod
    def div(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        if pair is None or pair[1] == 0:
            return None
        return _match_type(pair[0] / pair[1], a, b)

    @classmethod
    def max(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        return None if pair is None else _match_type(max(pair), a, b)

    @classmethod
    def min(cls, a: Any, b: Any) -> int | JavaDouble | None:
        pair = cls._two(a, b)
        return None if pair is None else _match_type(min(pair), a, b)


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
