"""Values in a running flow: the expression runtime (variables, builtins, directory, clock), the value forms of
Archy properties (``lit``/``exp``/``var``/``noValue``) evaluated into Architect runtime values, and their
conversion to and from what data actions send and return."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genesys_identity.architect import functions
from genesys_identity.architect import types as t
from genesys_identity.architect.directory import Directory
from genesys_identity.architect.evaluate import coerce, evaluate
from genesys_identity.architect.expressions import (
    Call,
    Expr,
    ExpressionError,
    ExpressionRuntimeError,
    parse,
)
from genesys_identity.architect.message import InboundMessage, Start
from genesys_identity.architect.typecheck import Scope, infer
from genesys_identity.errors import GenesysIdentityError

NOT_SET = t.NOT_SET
# Data action contract types as Architect sees them (the Archy model's contractTypes).
CONTRACT_TYPES = {"string": t.STRING, "integer": t.INTEGER, "number": t.DECIMAL, "boolean": t.BOOLEAN}


class FlowRunError(GenesysIdentityError):
    """The flow cannot be run: an action kind, property or value form the executor does not know (closed world),
    a reference to a state or task that does not exist, or a mismatch between the flow and what started it."""


_PARSED: dict[str, Expr] = {}
_STATIC_TYPES: dict[tuple[str, Any], t.ArchType | None] = {}


def parsed(text: str) -> Expr:
    """The expression's AST, parsed once per text. A function the catalog does not know is a flow Archy would not
    publish: ``FlowRunError`` (the evaluator would report it as a runtime error, i.e. error handling)."""
    expr = _PARSED.get(text)
    if expr is None:
        expr = parse(text)
        pending: list[Any] = [expr]
        while pending:
            node = pending.pop()
            if isinstance(node, Call) and functions.lookup(node.function) is None:
                raise FlowRunError(f"unknown function {node.function} in {text!r}")
            pending.extend(v for v in vars(node).values() if isinstance(v, Expr))
            pending.extend(a for v in vars(node).values() if isinstance(v, list | tuple) for a in v if isinstance(a, Expr))
        _PARSED[text] = expr
    return expr


@dataclass
class FlowRuntime:
    """The expression runtime (``evaluate.Runtime``): variables, builtins, the directory and the clock."""

    variables: dict[str, Any]
    builtins: dict[str, Any]
    directory: Directory
    clock: Callable[[], dt.datetime]

    def variable(self, name: str) -> object:
        if name in self.variables:
            return self.variables[name]
        if name in self.builtins:
            return self.builtins[name]
        # Architect names are case-insensitive (real exports write `flow.Ani` for a declared `Flow.ani`).
        folded = name.casefold()
        for scope in (self.variables, self.builtins):
            for key, value in scope.items():
                if key.casefold() == folded:
                    return value
        raise KeyError(name)  # as evaluate.Runtime expects: the evaluator reports it

    def find_user(self, user_id: str) -> t.User | None:
        user = self.directory.find_user(user_id)
        return t.User(user.id, user.name) if user else None

    def find_queue(self, name_or_id: str) -> t.Queue | None:
        queue = self.directory.find_queue(name_or_id)
        return t.Queue(queue.id, queue.name) if queue else None

    def now(self) -> dt.datetime:
        return self.clock()


def builtins_for(start: Start, now: dt.datetime) -> dict[str, Any]:
    """The builtins of ``catalog/builtins.yaml`` as Genesys sets them for the start (see ``message.py`` for the
    sources). ``Message.Message`` is the inbound ShortMessage (``body``, ``id``, ``senderAddress``). What a channel
    does not carry (a guest's claims), or what is only known later (``CurrentQueue``), is NOT_SET."""
    values: dict[str, Any] = {"Flow.StartDateTimeUtc": now}
    if not isinstance(start, InboundMessage):
        return values
    values.update({
        "Message.ConversationId": start.conversation_id,
        "Message.IsNewConversation": True,
        "Message.CurrentQueue": NOT_SET,
        "Message.EstimatedWaitTime": NOT_SET,
        "Message.ExternalTag": NOT_SET,
        "Message.Language": NOT_SET,
        "Message.Message": {"body": start.text, "id": start.message_id,
                            "senderAddress": start.sender if start.channel == "sms" else NOT_SET},
    })
    if start.channel == "webmessaging":
        claims = start.claims or {}
        values.update({
            "Message.IsAuthenticated": start.authenticated,
            "Message.Message.senderAddressInfo.addressDisplayable": claims.get("sub", NOT_SET),
            "Message.Message.senderAddressInfo.email": claims.get("email", NOT_SET),
            "Message.Message.senderAddressInfo.name": claims.get("name", NOT_SET),
        })
    return values


@dataclass
class Values:
    """Evaluates a property's value form in the run's runtime; errors name the flow (``label``) and the place."""

    label: str
    runtime: FlowRuntime
    directory: Directory
    start_kind: str  # "sms", "webmessaging" or "workflow", for messages
    scope: Scope | None = None  # for the static type of an expression (the implicit conversions depend on it)

    def __post_init__(self) -> None:
        scope = self.scope
        self._scope_key = None if scope is None else (
            scope.flow_type, scope.channel, tuple(sorted((k, str(v)) for k, v in scope.variables.items())))

    def static_type(self, text: str, expr: Expr) -> t.ArchType | None:
        """The expression's type in the flow's scope, inferred once per text and scope in a process."""
        if self.scope is None:
            return None
        key = (text, self._scope_key)
        if key not in _STATIC_TYPES:
            try:
                _STATIC_TYPES[key] = infer(expr, self.scope)
            except ExpressionError:
                _STATIC_TYPES[key] = None
        return _STATIC_TYPES[key]

    def value(self, form: Any, expected: t.ArchType | None, where: str) -> Any:
        if not isinstance(form, dict) or len(form) != 1:
            raise FlowRunError(f"{self.label}: {where}: a value needs exactly one of lit, exp, var, noValue")
        ((how, raw),) = form.items()
        if how == "noValue":
            return NOT_SET
        if how == "var":
            try:
                return self.runtime.variable(str(raw))
            except KeyError:
                raise FlowRunError(f"{self.label}: {where}: unknown variable {raw!r}") from None
        if how == "exp":
            try:
                expr = parsed(str(raw))
            except FlowRunError as error:
                raise FlowRunError(f"{self.label}: {where}: {error}") from None
            except ExpressionError as error:
                raise FlowRunError(f"{self.label}: {where}: {error}") from None
            try:
                value = evaluate(expr, self.runtime)
                # Architect converts an expression into its destination's type (ToString, ToInt, ToDecimal...).
                if expected is None:
                    return value
                return coerce(value, expected, self.runtime, source=self.static_type(str(raw), expr))
            except ExpressionRuntimeError as error:
                if str(error).startswith("unknown variable or builtin"):
                    # An undeclared name is a flow Archy would not publish: the run stops (closed world) rather
                    # than invoking the flow's error handling.
                    raise FlowRunError(f"{self.label}: {where}: {error} (not declared, or not set for a "
                                       f"{self.start_kind} start)") from None
                raise ExpressionRuntimeError(f"{where}: {error}") from None
            except KeyError as missing:
                raise FlowRunError(f"{self.label}: {where}: {missing} has no value for this start "
                                   f"({self.start_kind})") from None
            except ExpressionError as error:
                raise FlowRunError(f"{self.label}: {where}: {error}") from None
        if how == "lit":
            return self.literal(raw, expected, where)
        raise FlowRunError(f"{self.label}: {where}: unknown value form {how!r}")

    def literal(self, raw: Any, expected: t.ArchType | None, where: str) -> Any:
        if expected == t.DURATION:
            if not isinstance(raw, dict) or not raw or not set(raw) <= {"days", "hours", "minutes", "seconds",
                                                                      "milliseconds"}:
                raise FlowRunError(f"{self.label}: {where}: a duration literal is {{seconds: N}} (or minutes, hours...)")
            return dt.timedelta(**{k: float(v) for k, v in raw.items()})
        if expected == t.QUEUE:
            if not isinstance(raw, dict) or "name" not in raw:
                raise FlowRunError(f"{self.label}: {where}: a queue literal is {{name: ...}}")
            queue = self.runtime.find_queue(str(raw["name"]))
            if queue is None:
                raise FlowRunError(f"{self.label}: {where}: queue {raw['name']!r} is not in the directory "
                                   f"({self.directory.source})")
            return queue
        if isinstance(raw, float):
            return decimal.Decimal(str(raw))
        return raw

    def coerce(self, value: Any, arch_type: t.ArchType, where: str) -> Any:
        if value is NOT_SET:
            return [] if arch_type.is_collection else NOT_SET
        expected: dict[str, tuple[type, ...]] = {
            "String": (str,), "Integer": (int,), "Decimal": (int, decimal.Decimal), "Boolean": (bool,),
            "Json": (dict, list), "User": (t.User,), "Queue": (t.Queue,), "AgentScorePair": (t.AgentScorePair,),
            "Duration": (dt.timedelta,), "DateTime": (dt.datetime,),
        }
        if arch_type.is_collection:
            if not isinstance(value, list):
                raise FlowRunError(f"{self.label}: {where}: {show(value)} is not a {arch_type}")
            assert arch_type.element is not None
            return [self.coerce(v, arch_type.element, where) for v in value]
        kinds = expected.get(arch_type.name)
        if kinds is None:
            return value
        if isinstance(value, bool) and arch_type.name in ("Integer", "Decimal"):
            raise FlowRunError(f"{self.label}: {where}: {show(value)} is not a {arch_type}")
        if not isinstance(value, kinds):
            raise FlowRunError(f"{self.label}: {where}: {show(value)} is not a {arch_type}")
        return value


def from_json(value: Any) -> Any:
    if value is None:
        return NOT_SET
    if isinstance(value, float):
        return decimal.Decimal(str(value))
    return value


def to_json(value: Any, schema_type: Any, where: str) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and schema_type == "integer" else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, t.User):
        return value.id
    if isinstance(value, t.Queue):
        return value.id or value.name
    if isinstance(value, str | int | bool | dict | list):
        return value
    raise FlowRunError(f"{where}: {show(value)} cannot be sent to a data action")


def display(value: Any) -> str:
    """A value as participant data holds it (participant data values are strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, t.User | t.Queue):
        return value.id or ""
    return str(value)


def show(value: Any) -> str:
    if value is NOT_SET:
        return "NOT_SET"
    if isinstance(value, t.User):
        return f"User({value.name or value.id})"
    if isinstance(value, t.AgentScorePair):
        return f"AgentScorePair({value.user.name or value.user.id}, {value.score})"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
