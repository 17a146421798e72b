"""JSONPath as Genesys data actions evaluate it: Jayway JsonPath, for the subset this runner models.

Genesys applies a response's ``translationMap`` with Jayway JsonPath (help "Response configuration for data
actions"). What matters for a translation, and differs from other JSONPath libraries:

- A *definite* path (only names and single indexes) gives one value; when it does not resolve (a missing
  property, an index out of range, a property of a non-object) it fails, and Genesys then uses the key's
  default. A value that resolves to ``null`` is ``null``: "Null values do not fall back to defaults".
- An *indefinite* path (``..``, ``*``, a filter ``[?(...)]``, a slice, several indexes or names) gives a list,
  ``[]`` when nothing matches, never a failure.
- A path may end in a function: ``length()`` (size of an array or object), ``min()``, ``max()``, ``avg()``,
  ``sum()`` (numbers, as doubles), ``first()``, ``last()``.

Anything outside that subset (other functions, filter operators such as ``=~``, ``in``, ``&&``, script
expressions) is refused with a message naming it, never evaluated differently from Genesys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

FUNCTIONS = ("length", "min", "max", "avg", "sum", "first", "last")
JAYWAY_FUNCTIONS = ("length", "size", "min", "max", "avg", "stddev", "sum", "keys", "concat", "append", "first", "last",
                    "index")
_OPS = ("==", "!=", "<=", ">=", "<", ">")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class JsonPathError(ValueError):
    """The path is not valid JSONPath, or uses what this runner does not model (the message says which)."""


class NotFound(Exception):
    """A definite path did not resolve."""


@dataclass(frozen=True)
class Step:
    kind: str  # name, index, wildcard, deep, names, indexes, slice, filter
    names: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    slice: tuple[int | None, int | None] = (None, None)
    filter: tuple[tuple[str, ...], str | None, Any] | None = None  # (relative names, operator, literal)


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]
    function: str | None

    @property
    def definite(self) -> bool:
        return all(step.kind in ("name", "index") for step in self.steps)

    def find(self, document: Any) -> Any:
        """The value (definite path) or the list of matches (indefinite path); raises ``NotFound``."""
        if self.definite:
            value = document
            for step in self.steps:
                value = _definite_step(step, value)
            inner: Any = value
        else:
            matches = [document]
            for step in self.steps:
                matches = [found for node in matches for found in _steps(step, node)]
            inner = matches
        return _apply(self.function, inner, self.text) if self.function else inner


def parse(text: str) -> JsonPath:
    """Parse ``text``; raise ``JsonPathError`` naming what is wrong or not modelled."""
    parser = _Parser(text)
    return parser.path()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def fail(self, what: str) -> JsonPathError:
        return JsonPathError(f"JSONPath {self.text!r}: {what} (at column {self.at + 1})")

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.at)

    def take(self, token: str) -> None:
        if not self.peek(token):
            raise self.fail(f"expected {token!r}")
        self.at += len(token)

    def path(self) -> JsonPath:
        text = self.text.strip()
        if text != self.text:
            raise self.fail("leading or trailing spaces")
        self.take("$")
        steps: list[Step] = []
        function: str | None = None
        while self.at < len(self.text):
            if self.peek(".."):
                self.at += 2
                if self.peek("*"):
                    self.at += 1
                    steps.append(Step("deep", names=("*",)))
                else:
                    steps.append(Step("deep", names=(self.name(),)))
            elif self.peek("."):
                self.at += 1
                if self.peek("*"):
                    self.at += 1
                    steps.append(Step("wildcard"))
                    continue
                name = self.name()
                if self.peek("("):
                    function = self.function(name)
                    break
                steps.append(Step("name", names=(name,)))
            elif self.peek("["):
                steps.append(self.bracket())
            else:
                raise self.fail("expected '.', '..' or '['")
        if self.at != len(self.text):
            raise self.fail("a function must end the path")
        return JsonPath(self.text, tuple(steps), function)

    def name(self) -> str:
        match = _NAME.match(self.text, self.at)
        if not match:
            raise self.fail("expected a property name")
        self.at = match.end()
        return match.group(0)

    def function(self, name: str) -> str:
        self.take("(")
        if not self.peek(")"):
            raise self.fail(f"{name}() with arguments is not modelled by the offline runner")
        self.take(")")
        if name not in JAYWAY_FUNCTIONS:
            raise self.fail(f"{name}() is not a Jayway JsonPath function")
        if name not in FUNCTIONS:
            raise self.fail(f"{name}() is not modelled by the offline runner (modelled: "
                            f"{', '.join(f + '()' for f in FUNCTIONS)})")
        return name

    def bracket(self) -> Step:
        self.take("[")
        if self.peek("?"):
            step = self.filter()
        elif self.peek("*"):
            self.at += 1
            step = Step("wildcard")
        elif self.peek("'") or self.peek('"'):
            names = [self.quoted()]
            while self.peek(","):
                self.at += 1
                self.spaces()
                names.append(self.quoted())
            step = Step("name", names=tuple(names)) if len(names) == 1 else Step("names", names=tuple(names))
        else:
            step = self.indexes()
        self.take("]")
        return step

    def spaces(self) -> None:
        while self.peek(" "):
            self.at += 1

    def quoted(self) -> str:
        quote = self.text[self.at]
        end = self.text.find(quote, self.at + 1)
        if end < 0:
            raise self.fail("unterminated quoted name")
        value = self.text[self.at + 1:end]
        if "\\" in value:
            raise self.fail("escapes in quoted names are not modelled by the offline runner")
        self.at = end + 1
        return value

    def integer(self) -> int | None:
        match = re.compile(r"-?\d+").match(self.text, self.at)
        if not match:
            return None
        self.at = match.end()
        return int(match.group(0))

    def indexes(self) -> Step:
        first = self.integer()
        if self.peek(":"):
            self.at += 1
            end = self.integer()
            if self.peek(":"):
                raise self.fail("slice steps are not modelled by the offline runner")
            return Step("slice", slice=(first, end))
        if first is None:
            raise self.fail("expected an index, a quoted name, '*', a slice or a filter")
        found = [first]
        while self.peek(","):
            self.at += 1
            self.spaces()
            value = self.integer()
            if value is None:
                raise self.fail("expected an index")
            found.append(value)
        return Step("index", indexes=(first,)) if len(found) == 1 else Step("indexes", indexes=tuple(found))

    def filter(self) -> Step:
        self.take("?(")
        self.spaces()
        self.take("@")
        names: list[str] = []
        while self.peek(".") or self.peek("['") or self.peek('["'):
            if self.peek("."):
                self.at += 1
                names.append(self.name())
            else:
                self.at += 1
                names.append(self.quoted())
                self.take("]")
        self.spaces()
        operator: str | None = None
        literal: Any = None
        if not self.peek(")"):
            operator = next((op for op in _OPS if self.peek(op)), None)
            if operator is None:
                raise self.fail("this filter operator is not modelled by the offline runner (modelled: "
                                + ", ".join(_OPS) + ", or a bare @.name for existence)")
            self.at += len(operator)
            self.spaces()
            literal = self.literal()
            self.spaces()
        if self.peek("&&") or self.peek("||"):
            raise self.fail("combining filter conditions with && or || is not modelled by the offline runner")
        self.take(")")
        return Step("filter", filter=(tuple(names), operator, literal))

    def literal(self) -> Any:
        if self.peek("'") or self.peek('"'):
            return self.quoted()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.peek(word):
                self.at += len(word)
                return value
        match = _NUMBER.match(self.text, self.at)
        if not match:
            raise self.fail("expected a string, number, true, false or null")
        self.at = match.end()
        text = match.group(0)
        return float(text) if any(c in text for c in ".eE") else int(text)


def _definite_step(step: Step, value: Any) -> Any:
    if step.kind == "name":
        if not isinstance(value, dict) or step.names[0] not in value:
            raise NotFound
        return value[step.names[0]]
    if not isinstance(value, list):
        raise NotFound
    index = step.indexes[0]
    if not -len(value) <= index < len(value):
        raise NotFound
    return value[index]


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return list(node)
    return []


def _steps(step: Step, node: Any) -> list[Any]:
    if step.kind in ("name", "names"):
        return [node[name] for name in step.names if isinstance(node, dict) and name in node]
    if step.kind in ("index", "indexes"):
        if not isinstance(node, list):
            return []
        return [node[i] for i in step.indexes if -len(node) <= i < len(node)]
    if step.kind == "wildcard":
        return _children(node)
    if step.kind == "slice":
        start, end = step.slice
        return list(node[start:end]) if isinstance(node, list) else []
    if step.kind == "filter":
        assert step.filter is not None
        # Jayway filters an array's items, and an object as itself.
        items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
        return [item for item in items if _matches(item, step.filter)]
    # deep scan: the node and every descendant, in document order
    found: list[Any] = []
    pending = [node]
    while pending:
        current = pending.pop(0)
        if step.names == ("*",):
            found += _children(current)
        elif isinstance(current, dict) and step.names[0] in current:
            found.append(current[step.names[0]])
        pending += [c for c in _children(current) if isinstance(c, dict | list)]
    return found


def _matches(item: Any, condition: tuple[tuple[str, ...], str | None, Any]) -> bool:
    names, operator, literal = condition
    value = item
    for name in names:
        if not isinstance(value, dict) or name not in value:
            return False
        value = value[name]
    if operator is None:
        return True
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }
    numeric = (isinstance(value, int | float) and not isinstance(value, bool)
               and isinstance(literal, int | float) and not isinstance(literal, bool))
    if operator in ("<", "<=", ">", ">=") and not (numeric or (isinstance(value, str) and isinstance(literal, str))):
        return False
    if operator in ("==", "!=") and isinstance(value, bool) != isinstance(literal, bool):
        return operator == "!="
    return compare[operator](value, literal)


def _numbers(values: Sequence[Any], path: str, function: str) -> list[float]:
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        raise JsonPathError(f"JSONPath {path!r}: Aggregation function attempted to calculate value using empty array "
                            f"({function}())")
    return numbers


def _apply(function: str, value: Any, path: str) -> Any:
    if function == "length":
        return len(value) if isinstance(value, list | dict) else None
    if function in ("first", "last"):
        if not isinstance(value, list) or not value:
            raise NotFound
        return value[0] if function == "first" else value[-1]
    values = value if isinstance(value, list) else [value]
    numbers = _numbers(values, path, function)
    if function == "min":
        return min(numbers)
    if function == "max":
        return max(numbers)
    if function == "sum":
        return sum(numbers)
    return sum(numbers) / len(numbers)  # avg
