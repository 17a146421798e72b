"""Evaluating Architect expressions as a flow's runtime does.

Modelled, from help "Using NOT_SET expressions" (Resource Center ?p=8964):
- a function parameter that refuses NOT_SET (catalog/functions.yaml: no `?`) and is given NOT_SET raises
  ExpressionRuntimeError naming the function and argument: Architect "invokes an error handler", which the
  executor turns into the flow's error handling;
- arithmetic with a NOT_SET operand (`5+Flow.MyInteger`) is such an error; so are ordering comparisons,
  `and`/`or`/`!` on NOT_SET, indexing with or into NOT_SET and reading a property of NOT_SET;
- `==`/`!=` compare NOT_SET like a value: NOT_SET == NOT_SET is true and `ToString(NOT_SET) == ""` is false;
- `If(IsSet(x), x, 0)` works with x NOT_SET (the value branches accept NOT_SET);
- ToString(NOT_SET) is a NOT_SET String; IsSet/IsNotSetOrEmpty test for it; FindUserById with an id the
  directory does not know gives NOT_SET, not an error.
`and`/`or` evaluate both sides, and a function's arguments are all evaluated before the call (If included):
no public source says Architect short-circuits, so `IsSet(x) and x > 5` with x NOT_SET is an error here.
Integer / Integer is a Decimal (`/(int,int)->dec` in real exports); Integer arithmetic otherwise stays Integer.
`coerce(value, target, runtime)` applies, where a value reaches a destination of another type, the implicit
conversions real exports show (ToString of Json/DateTime/PhoneNumber/Collection(String), ToDecimal and ToInt of
a String), each through its function and that function's NOT_SET rule.

Not modelled (no public source): the exact text of ToDisplayString/ToString for DateTime, Duration and whole
collections (see functions.py), Architect's rounding of Decimal division, case-insensitive string equality
(`==` compares exactly; blueprint authors lower-case before comparing, e.g. `lower(Flow.transcriptRequested)
== "true"` in send-message-transcript-by-email), locale formatting, time zones other than UTC. Names reach
the runtime as written in the expression; a runtime that stores `Flow.ani` does not answer `flow.Ani`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, DivisionByZero, InvalidOperation

from genesys_identity.architect.expressions import (
    Binary,
    Call,
    Expr,
    ExpressionRuntimeError,
    Index,
    Literal,
    Member,
    Name,
    Unary,
    dotted_name,
    parse,
)
from genesys_identity.architect.functions import IMPLEMENTATIONS, FunctionSpec, Overload, Runtime, implicit_conversions, lookup
from genesys_identity.architect.types import (
    DATETIME,
    DECIMAL,
    JSON,
    NOT_SET,
    PHONE_NUMBER,
    STRING,
    ArchType,
    PhoneNumber,
    Queue,
    Skill,
    User,
    collection,
)

__all__ = ["ExpressionRuntimeError", "Runtime", "coerce", "evaluate"]


def evaluate(expr: Expr | str, runtime: Runtime) -> object:
    """The value of `expr` (an AST or its text) in `runtime`; ExpressionRuntimeError where Architect would
    invoke the flow's error handling."""
    node = parse(expr) if isinstance(expr, str) else expr
    try:
        return _eval(node, runtime)
    except RecursionError:
        raise ExpressionRuntimeError("the expression nests too deeply") from None


def coerce(value: object, target: ArchType, runtime: Runtime, source: ArchType | None = None) -> object:
    """`value` as its destination of type `target` (a variable, an action property) receives it: Integer widened
    to Decimal, or Architect's implicit conversion applied (catalog/functions.yaml `implicit_conversions`: the
    conversion function runs with its NOT_SET rule, so ToDecimal("abc") or a NOT_SET String into an Integer is
    an ExpressionRuntimeError). `source` is the expression's type (`typecheck.infer`); without it the type is
    read from the value, and a NOT_SET value then passes unchanged. Other values pass unchanged."""
    if target == DECIMAL and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if source is None:
        source = _runtime_type(value)
    conversion = None if source is None else implicit_conversions().get((source, target))
    if conversion is None:
        return value
    spec = lookup(conversion.function)
    assert spec is not None
    return _apply(spec, [value], runtime)


def _runtime_type(value: object) -> ArchType | None:
    """The Architect type a runtime value has, for the conversions that depend on it."""
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, PhoneNumber):
        return PHONE_NUMBER
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return collection(STRING)
    if isinstance(value, dict):
        return JSON
    return None


def _eval(node: Expr, rt: Runtime) -> object:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name | Member):
        name = dotted_name(node)
        if name is not None:
            return _read(name.split("."), rt)
        assert isinstance(node, Member)
        return member(_eval(node.target, rt), node.name)
    if isinstance(node, Call):
        return _call(node, rt)
    if isinstance(node, Index):
        return _index(node, rt)
    if isinstance(node, Unary):
        return _unary(node, rt)
    return _binary(node, rt)


def _read(parts: list[str], rt: Runtime) -> object:
    """The longest leading part the runtime knows (a variable or builtin), then properties of its value."""
    for end in range(len(parts), 0, -1):
        try:
            value = rt.variable(".".join(parts[:end]))
        except KeyError:
            continue
        for name in parts[end:]:
            value = member(value, name)
        return value
    raise ExpressionRuntimeError(f"unknown variable or builtin {'.'.join(parts)}")


def member(value: object, name: str) -> object:
    """Property `name` of a runtime value (Queue.id, PhoneNumber.e164, a Json or ShortMessage member)."""
    if value is NOT_SET:
        raise ExpressionRuntimeError(f"property {name} of a NOT_SET value")
    folded = name.casefold()
    if isinstance(value, Queue | User | Skill) and folded in ("id", "name"):
        found = getattr(value, folded)
        return NOT_SET if found is None else found
    if isinstance(value, PhoneNumber) and folded == "e164":
        return NOT_SET if value.e164 is None else value.e164
    if isinstance(value, dict):
        for key, item in value.items():
            if key == name or (isinstance(key, str) and key.casefold() == folded):
                return NOT_SET if item is None else item
        return NOT_SET
    raise ExpressionRuntimeError(f"a {type(value).__name__} value has no property {name}")


def _call(node: Call, rt: Runtime) -> object:
    spec = lookup(node.function)
    if spec is None:
        raise ExpressionRuntimeError(f"unknown function {node.function}")
    return _apply(spec, [_eval(a, rt) for a in node.args], rt)


def _apply(spec: FunctionSpec, args: list[object], rt: Runtime) -> object:
    overloads = [o for o in spec.overloads if o.accepts_count(len(args))]
    if not overloads:
        raise ExpressionRuntimeError(f"{spec.name}: no overload takes {len(args)} argument(s)")
    for position, value in enumerate(args):
        if value is NOT_SET and all(not _allows_not_set(o, position) for o in overloads):
            raise ExpressionRuntimeError(f"{spec.name}: argument {position + 1} is NOT_SET, which it refuses")
    try:
        return IMPLEMENTATIONS[spec.name](rt, *args)
    except ExpressionRuntimeError:
        raise
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as exc:
        raise ExpressionRuntimeError(f"{spec.name}: {exc}") from None


def _allows_not_set(overload: Overload, position: int) -> bool:
    param = overload.param_for(position)
    return param is not None and param.not_set_allowed


def _index(node: Index, rt: Runtime) -> object:
    target = _eval(node.target, rt)
    index = _eval(node.index, rt)
    if target is NOT_SET or index is NOT_SET:
        raise ExpressionRuntimeError("collection access [..] with NOT_SET")
    if not isinstance(target, list) or isinstance(index, bool) or not isinstance(index, int):
        raise ExpressionRuntimeError("collection access [..] needs a collection and an Integer")
    if not 0 <= index < len(target):
        raise ExpressionRuntimeError(f"collection index {index} is out of range (count {len(target)})")
    return target[index]


def _unary(node: Unary, rt: Runtime) -> object:
    value = _eval(node.operand, rt)
    if value is NOT_SET:
        raise ExpressionRuntimeError(f"'{node.op}' applied to NOT_SET")
    if node.op == "!":
        if not isinstance(value, bool):
            raise ExpressionRuntimeError("'!' needs a Boolean")
        return not value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ExpressionRuntimeError(f"'{node.op}' needs a number")
    if node.op == "~":
        if not isinstance(value, int):
            raise ExpressionRuntimeError("'~' needs an Integer")
        return ~value
    return -value


def _equal(left: object, right: object) -> bool:
    if left is NOT_SET or right is NOT_SET:
        return left is right
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def _binary(node: Binary, rt: Runtime) -> object:
    op = node.op
    left = _eval(node.left, rt)
    if op in ("and", "or"):
        # Both sides are evaluated: no public source says Architect short-circuits, so a NOT_SET or failing
        # right side is an error even when the left side would decide (closed world: never a silent pass).
        right = _eval(node.right, rt)
        for side in (left, right):
            if not isinstance(side, bool):
                raise ExpressionRuntimeError(f"'{op}' applied to {'NOT_SET' if side is NOT_SET else 'a non-Boolean'}")
        return (left and right) if op == "and" else (left or right)
    right = _eval(node.right, rt)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is NOT_SET or right is NOT_SET:
        raise ExpressionRuntimeError(f"'{op}' applied to NOT_SET")
    try:
        return _arith(op, left, right)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError, OverflowError) as exc:
        raise ExpressionRuntimeError(f"'{op}': {type(exc).__name__}") from None


def _number(value: object, op: str) -> int | Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ExpressionRuntimeError(f"'{op}' needs numbers")
    return value


def _arith(op: str, left: object, right: object) -> object:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op in ("<", "<=", ">", ">=") and isinstance(left, timedelta) and isinstance(right, timedelta):
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    a, b = _number(left, op), _number(right, op)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise ExpressionRuntimeError("'/': division by zero")
        return Decimal(a) / Decimal(b)
    if op == "%":
        if b == 0:
            raise ExpressionRuntimeError("'%': modulus by zero")
        return a % b
    if op == "^":
        return Decimal(a) ** Decimal(b)
    if isinstance(a, int) and isinstance(b, int):
        if op == "&":
            return a & b
        if op == "|":
            return a | b
    raise ExpressionRuntimeError(f"'{op}' does not apply to these values")
