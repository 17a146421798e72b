"""Evaluating Architect expressions as a flow's runtime does.

Modelled (help "Using NOT_SET expressions"): a function parameter that refuses NOT_SET and is given NOT_SET
raises ExpressionRuntimeError naming the function (Architect invokes the flow's error handling); arithmetic
with a NOT_SET operand (`5 + Flow.MyInteger`) is such an error too; `==`/`!=` compare NOT_SET like any value
(NOT_SET == NOT_SET is true, NOT_SET == "" is false). String equality follows Architect's case rules (see
`_equal`). FindUserById with an id the directory does not know gives NOT_SET, not an error.

Not modelled: locale-dependent formatting of ToDisplayString beyond the plain forms, time zones other than
UTC, and functions outside catalog/functions.yaml (the type checker refuses those before a run).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

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
from genesys_identity.architect.functions import IMPLEMENTATIONS, Runtime, catalog
from genesys_identity.architect.types import NOT_SET

__all__ = ["ExpressionRuntimeError", "Runtime", "evaluate"]


def evaluate(expr: Expr | str, runtime: Runtime) -> object:
    """The value of `expr` (an AST or its text) in `runtime`; ExpressionRuntimeError where Architect would
    invoke the flow's error handling."""
    node = parse(expr) if isinstance(expr, str) else expr
    return _eval(node, runtime)


def _eval(node: Expr, rt: Runtime) -> object:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name | Member):
        name = dotted_name(node)
        if name is None:
            raise ExpressionRuntimeError(f"cannot read property {node.name if isinstance(node, Member) else ''}")
        try:
            return rt.variable(name)
        except KeyError:
            raise ExpressionRuntimeError(f"unknown variable or builtin {name}") from None
    if isinstance(node, Call):
        return _call(node, rt)
    if isinstance(node, Index):
        return _index(node, rt)
    if isinstance(node, Unary):
        return _unary(node, rt)
    return _binary(node, rt)


def _call(node: Call, rt: Runtime) -> object:
    spec = catalog().get(node.function)
    if spec is None:
        raise ExpressionRuntimeError(f"unknown function {node.function}")
    args = [_eval(a, rt) for a in node.args]
    overloads = [o for o in spec.overloads if o.accepts_count(len(args))]
    if not overloads:
        raise ExpressionRuntimeError(f"{node.function}: no overload takes {len(args)} argument(s)")
    # Every overload of a function agrees on NOT_SET for a position in this catalog, so the first that
    # takes this many arguments decides.
    overload = overloads[0]
    for position, value in enumerate(args):
        param = overload.param_for(position)
        assert param is not None
        if value is NOT_SET and not param.not_set_allowed:
            raise ExpressionRuntimeError(f"{node.function}: argument {position + 1} is NOT_SET, which it refuses")
    try:
        return IMPLEMENTATIONS[node.function](rt, *args)
    except ExpressionRuntimeError:
        raise
    except (ValueError, TypeError, ArithmeticError, InvalidOperation, IndexError, KeyError) as exc:
        raise ExpressionRuntimeError(f"{node.function}: {exc}") from None


def _index(node: Index, rt: Runtime) -> object:
    target = _eval(node.target, rt)
    index = _eval(node.index, rt)
    if target is NOT_SET or index is NOT_SET:
        raise ExpressionRuntimeError("collection access with NOT_SET")
    if not isinstance(target, list) or not isinstance(index, int):
        raise ExpressionRuntimeError("collection access needs a collection and an Integer")
    if not 0 <= index < len(target):
        raise ExpressionRuntimeError(f"collection index {index} is out of range (count {len(target)})")
    return target[index]


def _unary(node: Unary, rt: Runtime) -> object:
    value = _eval(node.operand, rt)
    if value is NOT_SET:
        raise ExpressionRuntimeError(f"'{node.op}' applied to NOT_SET")
    if node.op == "!":
        return not value
    if node.op == "~":
        assert isinstance(value, int)
        return ~value
    assert isinstance(value, int | Decimal | timedelta)
    return -value


def _equal(left: object, right: object) -> bool:
    if left is NOT_SET or right is NOT_SET:
        return left is right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left == right


def _binary(node: Binary, rt: Runtime) -> object:
    op = node.op
    left = _eval(node.left, rt)
    if op in ("and", "or"):
        if left is NOT_SET:
            raise ExpressionRuntimeError(f"'{op}' applied to NOT_SET")
        # Short-circuit: the right side is not evaluated when the left decides.
        if op == "and" and left is False:
            return False
        if op == "or" and left is True:
            return True
        right = _eval(node.right, rt)
        if right is NOT_SET:
            raise ExpressionRuntimeError(f"'{op}' applied to NOT_SET")
        return right
    right = _eval(node.right, rt)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is NOT_SET or right is NOT_SET:
        raise ExpressionRuntimeError(f"'{op}' applied to NOT_SET")
    try:
        return _arith(op, left, right)
    except (ArithmeticError, InvalidOperation) as exc:
        raise ExpressionRuntimeError(f"'{op}': {exc}") from None


def _arith(op: str, left: object, right: object) -> object:
    a: object = Decimal(left) if isinstance(left, int) and isinstance(right, Decimal) else left
    b: object = Decimal(right) if isinstance(right, int) and isinstance(left, Decimal) else right
    if op in ("<", "<=", ">", ">="):
        assert isinstance(a, int | Decimal | str | timedelta | datetime | date | time)
        pairs = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}  # type: ignore[operator]
        return pairs[op]
    if op == "+":
        return a + b  # type: ignore[operator]
    if op == "-":
        return a - b  # type: ignore[operator]
    if op == "*":
        return a * b  # type: ignore[operator]
    if op == "/":
        if b == 0:
            raise ExpressionRuntimeError("division by zero")
        if isinstance(a, int) and isinstance(b, int):
            return Decimal(a) / Decimal(b)
        return a / b  # type: ignore[operator]
    if op == "%":
        if b == 0:
            raise ExpressionRuntimeError("modulus by zero")
        return a % b  # type: ignore[operator]
    if op == "^":
        return a**b  # type: ignore[operator]
    if op == "&":
        return a & b  # type: ignore[operator]
    if op == "|":
        return a | b  # type: ignore[operator]
    raise ExpressionRuntimeError(f"unknown operator {op}")
