"""Architect's expression functions: the catalog (catalog/functions.yaml) and their implementations.

The catalog is loaded once. Each function has overloads: parameter types (with a type variable `T` for the
generic ones), the return type, and whether each parameter accepts NOT_SET. The implementations follow the
catalog's NOT_SET rules: a refusing parameter given NOT_SET raises ExpressionRuntimeError naming the
function, which the executor turns into the flow's error handling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Protocol

import yaml

from genesys_identity.architect.types import NOT_SET, NOT_SET_TYPE, ArchType, Queue, User, collection, type_named


class Runtime(Protocol):
    """What an evaluated expression can see of the running flow."""

    def variable(self, name: str) -> object: ...  # "Flow.x", "Message.Message.body"; KeyError if unknown
    def find_user(self, user_id: str) -> User | None: ...
    def find_queue(self, name_or_id: str) -> Queue | None: ...
    def now(self) -> datetime: ...


TYPE_VARIABLE: Final = "T"


@dataclass(frozen=True)
class Param:
    """One parameter: its type pattern (`String`, `T`, `Collection(T)`), whether NOT_SET is allowed, and
    whether it repeats (one or more)."""

    type: str
    not_set_allowed: bool
    variadic: bool

    def __str__(self) -> str:
        return self.type + ("?" if self.not_set_allowed else "") + ("..." if self.variadic else "")


@dataclass(frozen=True)
class Overload:
    params: tuple[Param, ...]
    returns: str

    def __str__(self) -> str:
        return f"({', '.join(str(p) for p in self.params)}) -> {self.returns}"

    def param_for(self, position: int) -> Param | None:
        """The parameter an argument at `position` (0-based) binds to; None past the end."""
        if position < len(self.params):
            return self.params[position]
        if self.params and self.params[-1].variadic:
            return self.params[-1]
        return None

    def accepts_count(self, count: int) -> bool:
        if self.params and self.params[-1].variadic:
            return count >= len(self.params)
        return count == len(self.params)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    overloads: tuple[Overload, ...]
    source: str


_PARAM = re.compile(r"^(?P<type>[A-Za-z]+(?:\([A-Za-z]+\))?)(?P<optional>\?)?(?P<variadic>\.\.\.)?$")


def _pattern_is_known(pattern: str) -> bool:
    if pattern == TYPE_VARIABLE or pattern == f"Collection({TYPE_VARIABLE})":
        return True
    try:
        type_named(pattern)
    except KeyError:
        return False
    return True


def _parse_param(text: str, where: str) -> Param:
    m = _PARAM.match(text)
    if m is None or not _pattern_is_known(m["type"]):
        raise ValueError(f"functions.yaml: {where}: bad parameter {text!r}")
    return Param(m["type"], m["optional"] is not None, m["variadic"] is not None)


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, FunctionSpec]:
    """Every known function by name, loaded once from catalog/functions.yaml."""
    text = resources.files("genesys_identity.architect").joinpath("catalog/functions.yaml").read_text(encoding="utf-8")
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(text, Loader=loader)
    specs: dict[str, FunctionSpec] = {}
    for name, body in raw["functions"].items():
        overloads = []
        for i, item in enumerate(body["overloads"]):
            params = tuple(_parse_param(p, f"{name} overload {i + 1}") for p in item["params"])
            if any(p.variadic for p in params[:-1]):
                raise ValueError(f"functions.yaml: {name}: only the last parameter may repeat")
            if not _pattern_is_known(item["returns"]):
                raise ValueError(f"functions.yaml: {name}: bad return type {item['returns']!r}")
            overloads.append(Overload(params, item["returns"]))
        if not body.get("source"):
            raise ValueError(f"functions.yaml: {name}: no source")
        if name not in IMPLEMENTATIONS:
            raise ValueError(f"functions.yaml: {name} has no implementation in functions.py")
        specs[name] = FunctionSpec(name, tuple(overloads), str(body["source"]))
    return specs


def bind(pattern: str, actual: ArchType, bindings: dict[str, ArchType]) -> bool:
    """Does an argument of type `actual` fit `pattern` exactly? Binds `T` in `bindings`. The untyped NOT_SET
    fits any pattern and binds nothing."""
    if actual == NOT_SET_TYPE:
        return True
    if pattern == TYPE_VARIABLE:
        bound = bindings.get(TYPE_VARIABLE)
        if bound is None:
            bindings[TYPE_VARIABLE] = actual
            return True
        return bound == actual
    if pattern == f"Collection({TYPE_VARIABLE})":
        if actual.element is None:
            return False
        return bind(TYPE_VARIABLE, actual.element, bindings)
    return type_named(pattern) == actual


def resolve(pattern: str, bindings: Mapping[str, ArchType]) -> ArchType:
    """The concrete type of `pattern` under `bindings`; an unbound `T` (e.g. MakeList(NOT_SET)) stays NOT_SET."""
    if pattern == TYPE_VARIABLE:
        return bindings.get(TYPE_VARIABLE, NOT_SET_TYPE)
    if pattern == f"Collection({TYPE_VARIABLE})":
        return collection(bindings.get(TYPE_VARIABLE, NOT_SET_TYPE))
    return type_named(pattern)


# --- implementations ---------------------------------------------------------------------------------------

Implementation = Callable[..., object]


def _append(_rt: Runtime, *parts: object) -> object:
    # A NOT_SET part contributes nothing; all NOT_SET gives an empty string.
    return "".join(str(p) for p in parts if p is not NOT_SET)


def _to_string(_rt: Runtime, value: object) -> object:
    if value is NOT_SET:
        return NOT_SET
    return to_display(value)


def _to_display_string(_rt: Runtime, value: object) -> object:
    if value is NOT_SET:
        return ""
    return to_display(value)


def to_display(value: object) -> str:
    """How a value prints when converted to a String."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, User):
        return value.name or value.id
    if isinstance(value, Queue):
        return value.name
    return str(value)


def _not(_rt: Runtime, value: object) -> object:
    return not value


def _is_set(_rt: Runtime, value: object) -> object:
    return value is not NOT_SET


def _is_not_set_or_empty(_rt: Runtime, value: object) -> object:
    return value is NOT_SET or value == "" or (isinstance(value, list) and not value)


def _make_list(_rt: Runtime, *items: object) -> object:
    return list(items)


def _make_agent_score_pair(_rt: Runtime, user: object, score: object) -> object:
    from genesys_identity.architect.types import AgentScorePair

    assert isinstance(user, User) and isinstance(score, int)
    return AgentScorePair(user, score)


def _make_list_agent_score_pair(_rt: Runtime, users: object, scores: object) -> object:
    from genesys_identity.architect.types import AgentScorePair

    assert isinstance(users, list) and isinstance(scores, list)
    return [AgentScorePair(u, s) for u, s in zip(users, scores, strict=False) if u is not NOT_SET]


def _find_user_by_id(rt: Runtime, user_id: object) -> object:
    assert isinstance(user_id, str)
    user = rt.find_user(user_id)
    return NOT_SET if user is None else user


IMPLEMENTATIONS: Final[dict[str, Implementation]] = {
    "Append": _append,
    "ToString": _to_string,
    "ToDisplayString": _to_display_string,
    "Not": _not,
    "IsSet": _is_set,
    "IsNotSetOrEmpty": _is_not_set_or_empty,
    "MakeList": _make_list,
    "MakeAgentScorePair": _make_agent_score_pair,
    "MakeListAgentScorePair": _make_list_agent_score_pair,
    "FindUserById": _find_user_by_id,
}
