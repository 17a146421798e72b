"""Type checking Architect expressions against the function and builtin catalogs.

`check(text, expected, scope)` returns one line per problem (empty when Architect would accept the
expression): syntax errors with their column, unknown functions, builtins and variables, calls that match no
overload, NOT_SET literals given to parameters that refuse it, and a result that does not fit `expected`.
`infer(expr, scope)` gives an expression's type or raises ExpressionTypeError.

Conversions: an Integer fits where a Decimal is expected (both are numbers; Architect's arithmetic mixes
them); nothing else converts implicitly: a String is produced with ToString/ToDisplayString.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from genesys_identity.architect.builtins import builtin_catalog, lookup
from genesys_identity.architect.expressions import (
    Binary,
    Call,
    Expr,
    ExpressionSyntaxError,
    ExpressionTypeError,
    Index,
    Literal,
    Member,
    Name,
    Unary,
    dotted_name,
    parse,
)
from genesys_identity.architect.functions import Overload, bind, catalog, resolve
from genesys_identity.architect.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    JSON,
    NOT_SET_TYPE,
    STRING,
    TIME,
    ArchType,
)


@dataclass(frozen=True)
class Scope:
    """What an expression can name: the flow type, its declared variables by full name, and the channel."""

    flow_type: str  # "inboundShortMessage" | "workflow"
    variables: Mapping[str, ArchType] = field(default_factory=dict)  # "Flow.x", "Task.y", "State.z"
    channel: str | None = None  # None, "sms", "webmessaging"


_NUMBERS = (INTEGER, DECIMAL)
_ORDERED = (INTEGER, DECIMAL, STRING, DURATION, DATETIME, DATE, TIME)


def assignable(actual: ArchType, expected: ArchType) -> bool:
    """Can a value of type `actual` be used where `expected` is needed?"""
    if actual in (expected, NOT_SET_TYPE):
        return True
    if actual == INTEGER and expected == DECIMAL:
        return True
    if actual.element is not None and expected.element is not None:
        return assignable(actual.element, expected.element)
    return False


def check(text: str, expected: ArchType | None, scope: Scope) -> list[str]:
    """Problems with expression `text` where a value of type `expected` (None: any) is needed; [] if fine."""
    try:
        expr = parse(text)
    except ExpressionSyntaxError as exc:
        return [f"syntax error at {exc}"]
    try:
        actual = infer(expr, scope)
    except ExpressionTypeError as exc:
        return [str(exc)]
    if expected is not None and not assignable(actual, expected):
        return [f"expression is {actual}, needs {expected}"]
    return []


def infer(expr: Expr, scope: Scope) -> ArchType:
    """The type of `expr` in `scope`; ExpressionTypeError with a one-line reason when Architect refuses it."""
    if isinstance(expr, Literal):
        return NOT_SET_TYPE if expr.type is None else expr.type
    if isinstance(expr, Name | Member):
        name = dotted_name(expr)
        if name is not None:
            return _name_type(name, scope)
        assert isinstance(expr, Member)
        return _member_of_value(expr, scope)
    if isinstance(expr, Call):
        return _call_type(expr, scope)
    if isinstance(expr, Index):
        return _index_type(expr, scope)
    if isinstance(expr, Unary):
        return _unary_type(expr, scope)
    return _binary_type(expr, scope)


def _name_type(name: str, scope: Scope) -> ArchType:
    head = name.split(".", 1)[0]
    prefixes = builtin_catalog().variable_scopes.get(scope.flow_type)
    if prefixes is None:
        raise ExpressionTypeError(f"unknown flow type {scope.flow_type}")
    if head in prefixes:
        declared = scope.variables.get(name)
        if declared is None:
            raise ExpressionTypeError(f"unknown variable {name}")
        return declared
    if head in ("Flow", "State", "Task"):
        raise ExpressionTypeError(f"{head}. variables do not exist in a {scope.flow_type} flow: {name}")
    try:
        return lookup(name, scope.flow_type, scope.channel)
    except KeyError as exc:
        raise ExpressionTypeError(str(exc.args[0])) from None


def _member_of_value(expr: Member, scope: Scope) -> ArchType:
    target = infer(expr.target, scope)
    raise ExpressionTypeError(f"a {target} value has no property {expr.name} that this model knows")


def _call_type(expr: Call, scope: Scope) -> ArchType:
    spec = catalog().get(expr.function)
    if spec is None:
        raise ExpressionTypeError(f"unknown function {expr.function}")
    args = [infer(a, scope) for a in expr.args]
    counted = [o for o in spec.overloads if o.accepts_count(len(args))]
    if not counted:
        arities = sorted({_arity(o) for o in spec.overloads})
        raise ExpressionTypeError(
            f"{expr.function} takes {' or '.join(arities)} argument(s), given {len(args)}"
        )
    for overload in counted:
        result = _match(overload, args)
        if result is not None:
            for position, (arg, argtype) in enumerate(zip(expr.args, args, strict=True)):
                param = overload.param_for(position)
                assert param is not None
                if argtype == NOT_SET_TYPE and isinstance(arg, Literal) and not param.not_set_allowed:
                    raise ExpressionTypeError(f"{expr.function}: argument {position + 1} refuses NOT_SET")
            return result
    given = ", ".join(str(a) for a in args)
    raise ExpressionTypeError(f"{expr.function}({given}): no overload")


def _arity(overload: Overload) -> str:
    if overload.params and overload.params[-1].variadic:
        return f"{len(overload.params)}+"
    return str(len(overload.params))


def _match(overload: Overload, args: list[ArchType]) -> ArchType | None:
    """The overload's result type if `args` fit it (exactly, or with Integer widened to Decimal), else None."""
    bindings: dict[str, ArchType] = {}
    for position, arg in enumerate(args):
        param = overload.param_for(position)
        assert param is not None
        if bind(param.type, arg, bindings):
            continue
        if arg == INTEGER and param.type == "Decimal":
            continue
        if arg.element == INTEGER and param.type == "Collection(Decimal)":
            continue
        return None
    return resolve(overload.returns, bindings)


def _index_type(expr: Index, scope: Scope) -> ArchType:
    target = infer(expr.target, scope)
    index = infer(expr.index, scope)
    if target.element is None:
        raise ExpressionTypeError(f"indexing needs a collection, {target} is not one")
    if not assignable(index, INTEGER):
        raise ExpressionTypeError(f"a collection index is {index}, needs Integer")
    return target.element


def _unary_type(expr: Unary, scope: Scope) -> ArchType:
    operand = infer(expr.operand, scope)
    if expr.op == "!":
        if not assignable(operand, BOOLEAN):
            raise ExpressionTypeError(f"'!' needs a Boolean, given {operand}")
        return BOOLEAN
    if expr.op == "~":
        if not assignable(operand, INTEGER):
            raise ExpressionTypeError(f"'~' needs an Integer, given {operand}")
        return INTEGER
    if operand in (INTEGER, DECIMAL, DURATION):
        return operand
    raise ExpressionTypeError(f"unary '-' needs a number or Duration, given {operand}")


def _binary_type(expr: Binary, scope: Scope) -> ArchType:
    left = infer(expr.left, scope)
    right = infer(expr.right, scope)
    op = expr.op
    if op in ("and", "or"):
        for side in (left, right):
            if not assignable(side, BOOLEAN):
                raise ExpressionTypeError(f"'{op}' needs Boolean operands, given {left} and {right}")
        return BOOLEAN
    if op in ("==", "!="):
        if _comparable(left, right):
            return BOOLEAN
        raise ExpressionTypeError(f"'{op}' cannot compare {left} with {right}")
    if op in ("<", "<=", ">", ">="):
        if _comparable(left, right) and all(t in _ORDERED or t == NOT_SET_TYPE for t in (left, right)):
            return BOOLEAN
        raise ExpressionTypeError(f"'{op}' cannot order {left} and {right}")
    if op in ("&", "|"):
        if assignable(left, INTEGER) and assignable(right, INTEGER):
            return INTEGER
        raise ExpressionTypeError(f"'{op}' needs Integer operands, given {left} and {right}")
    return _arithmetic_type(op, left, right)


def _comparable(left: ArchType, right: ArchType) -> bool:
    if NOT_SET_TYPE in (left, right) or left == right:
        return True
    if left in _NUMBERS and right in _NUMBERS:
        return True
    return left.element is not None and right.element is not None and _comparable(left.element, right.element)


def _arithmetic_type(op: str, left: ArchType, right: ArchType) -> ArchType:
    if left in _NUMBERS and right in _NUMBERS:
        return INTEGER if left == right == INTEGER else DECIMAL
    if NOT_SET_TYPE in (left, right):
        other = right if left == NOT_SET_TYPE else left
        if other in _NUMBERS or other == NOT_SET_TYPE:
            return other if other != NOT_SET_TYPE else NOT_SET_TYPE
    if op == "+" and left == STRING and right == STRING:
        return STRING
    if op in ("+", "-") and left in (DATETIME, DATE) and right == DURATION:
        return left
    if op in ("+", "-") and left == right == DURATION:
        return DURATION
    if op == "+" and left == DURATION and right == DATETIME:
        return DATETIME
    if op == "-" and left == right and left in (DATETIME, DATE):
        return DURATION
    if op in ("*", "/") and left == DURATION and right in _NUMBERS:
        return DURATION
    if left == JSON or right == JSON:
        raise ExpressionTypeError(f"'{op}' does not apply to Json; convert it first (ToString, ToInt)")
    raise ExpressionTypeError(f"'{op}' does not apply to {left} and {right}")
