"""Type checking Architect expressions against the function and builtin catalogs.

`check(text, expected, scope)` returns one line per problem (empty when the expression is accepted):
syntax errors with their column, unknown functions, builtins, variables and properties, calls that match
no overload or have the wrong number of arguments, the literal NOT_SET given to a parameter that refuses
it, operators applied to types they do not take, and a result that does not fit `expected`.
`infer(expr, scope)` gives an expression's type or raises ExpressionTypeError.

Operator typing follows the typed parse trees Architect stores in real exports (GenesysCloudBlueprints
`.i3*` files): `+(int,int)->int`, `+(str,str)->str`, `-(int,int)->int`, `*(dec,int)->dec`, `/(int,int)->dec`,
`<(dec,int)->bln`, `>=(dur,dur)->bln`, `==(str,str)->bln`, `and`/`or`/`OR(bln,bln)->bln`, `!(bln)->bln`,
`[(int, str_coll)->str`. Operators the precedence page lists without an export showing their types (`%`,
`^`, `&`, `|`, `~`) are typed on numbers only (`^` gives Decimal: unverified).

Conversions: inside an expression an Integer fits where a Decimal is expected (`*(dec,int)->dec`) and nothing
else converts. At the destination (`check`'s `expected`), Architect also applies the implicit conversions real
exports show (Json, DateTime, PhoneNumber and Collection(String) to String; String to Decimal or Integer), the
evaluator's `coerce` applies them at runtime; any other mismatch is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

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
from genesys_identity.architect.functions import Overload, bind, implicit_conversions, resolve
from genesys_identity.architect.functions import lookup as lookup_function
from genesys_identity.architect.types import (
    BOOLEAN,
    DECIMAL,
    DURATION,
    INTEGER,
    NOT_SET_TYPE,
    STRING,
    ArchType,
    type_named,
)


@dataclass(frozen=True)
class Scope:
    """What an expression can name: the flow type, its declared variables by full name, and the channel."""

    flow_type: str  # "inboundShortMessage" | "workflow"
    variables: Mapping[str, ArchType] = field(default_factory=dict)  # "Flow.x", "Task.y", "State.z"
    channel: str | None = None  # None, "sms", "webmessaging"

    @cached_property
    def folded_variables(self) -> Mapping[str, tuple[str, ArchType]]:
        """Declared variables by casefolded name (Architect's names are case-insensitive)."""
        return {name.casefold(): (name, typ) for name, typ in self.variables.items()}


_NUMBERS = (INTEGER, DECIMAL)
_ORDERED = (INTEGER, DECIMAL, DURATION)


def assignable(actual: ArchType, expected: ArchType) -> bool:
    """Can an expression of type `actual` be given to a destination (variable, action property) of type
    `expected`? Directly, with Integer widened to Decimal, or through one of Architect's implicit conversions
    (catalog/functions.yaml `implicit_conversions`, e.g. Json to String)."""
    return fits(actual, expected) or (actual, expected) in implicit_conversions()


def fits(actual: ArchType, expected: ArchType) -> bool:
    """Does `actual` fit `expected` without a conversion function (Integer widens to Decimal)?"""
    if actual in (expected, NOT_SET_TYPE):
        return True
    if actual == INTEGER and expected == DECIMAL:
        return True
    if actual.element is not None and expected.element is not None:
        return fits(actual.element, expected.element)
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
    except RecursionError:
        return ["the expression nests too deeply"]
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
            return _name_type(name.split("."), scope)
        assert isinstance(expr, Member)
        target = expr.target
        owner = f"{target.function}(...)" if isinstance(target, Call) else "the value"
        return _member_type(infer(target, scope), expr.name, owner)
    if isinstance(expr, Call):
        return _call_type(expr, scope)
    if isinstance(expr, Index):
        return _index_type(expr, scope)
    if isinstance(expr, Unary):
        return _unary_type(expr, scope)
    return _binary_type(expr, scope)


def _name_type(parts: list[str], scope: Scope) -> ArchType:
    """`Flow.x`, `Message.Message.body`, `Task.Queue.id`: a variable or builtin, then properties of its value."""
    cat = builtin_catalog()
    if scope.flow_type not in cat.variable_scopes:
        raise ExpressionTypeError(f"unknown flow type {scope.flow_type}")
    full = ".".join(parts)
    prefix = cat.scope_prefix(scope.flow_type, parts[0])
    if prefix is not None and len(parts) >= 2:
        variable = f"{prefix}.{parts[1]}"
        found = scope.folded_variables.get(variable.casefold())
        if found is not None:
            return _members(found[1], parts[2:], found[0])
        if cat.builtin(variable) is None:
            raise ExpressionTypeError(f"unknown variable {variable}")
    elif parts[0].casefold() in ("flow", "state", "task") and len(parts) >= 2:
        raise ExpressionTypeError(f"{parts[0]}. variables do not exist in a {scope.flow_type} flow: {full}")
    # The longest leading part that is a builtin, then properties of its value.
    for end in range(len(parts), 0, -1):
        head = ".".join(parts[:end])
        if cat.builtin(head) is not None:
            try:
                typ = lookup(head, scope.flow_type, scope.channel)
            except KeyError as exc:
                raise ExpressionTypeError(str(exc.args[0])) from None
            if end == len(parts):
                return typ
            member = builtin_catalog().member(typ, parts[end])
            if member is None:
                raise ExpressionTypeError(f"unknown builtin {full} ({head} is {typ}, which has no property {parts[end]})")
            return _members(member.type, parts[end + 1 :], f"{head}.{parts[end]}")
    raise ExpressionTypeError(f"unknown builtin {full}" if len(parts) > 1 else f"unknown name {full}")


def _members(typ: ArchType, names: list[str], owner: str) -> ArchType:
    for name in names:
        typ = _member_type(typ, name, owner)
        owner = f"{owner}.{name}"
    return typ


def _member_type(owner_type: ArchType, name: str, owner: str) -> ArchType:
    member = builtin_catalog().member(owner_type, name)
    if member is None:
        raise ExpressionTypeError(f"unknown property {name} of {owner} ({owner_type})")
    return member.type


def _call_type(expr: Call, scope: Scope) -> ArchType:
    spec = lookup_function(expr.function)
    if spec is None:
        raise ExpressionTypeError(f"unknown function {expr.function}")
    args = [infer(a, scope) for a in expr.args]
    counted = [o for o in spec.overloads if o.accepts_count(len(args))]
    if not counted:
        arities = sorted({o.arity() for o in spec.overloads})
        raise ExpressionTypeError(f"{spec.name} takes {' or '.join(arities)} argument(s), given {len(args)}")
    for overload in counted:
        result = _match(overload, args)
        if result is None:
            continue
        for position, arg in enumerate(expr.args):
            param = overload.param_for(position)
            assert param is not None
            if isinstance(arg, Literal) and arg.type is None and not param.not_set_allowed:
                raise ExpressionTypeError(f"{spec.name}: argument {position + 1} refuses NOT_SET")
        return result
    given = ", ".join(str(a) for a in args)
    raise ExpressionTypeError(f"{spec.name}({given}): no overload; known: {spec.signatures()}")


def _match(overload: Overload, args: list[ArchType]) -> ArchType | None:
    """The overload's result type if `args` fit it (exactly, or an Integer where a Decimal is wanted)."""
    bindings: dict[str, ArchType] = {}
    for position, arg in enumerate(args):
        param = overload.param_for(position)
        assert param is not None
        if bind(param.type, arg, bindings):
            continue
        if param.type not in ("T", "Collection(T)") and fits(arg, type_named(param.type)):
            continue
        return None
    return resolve(overload.returns, bindings)


def _index_type(expr: Index, scope: Scope) -> ArchType:
    target = infer(expr.target, scope)
    index = infer(expr.index, scope)
    if target.element is None:
        raise ExpressionTypeError(f"indexing [..] needs a collection, {target} is not one")
    if not fits(index, INTEGER):
        raise ExpressionTypeError(f"a collection index is {index}, needs Integer")
    return target.element


def _unary_type(expr: Unary, scope: Scope) -> ArchType:
    operand = infer(expr.operand, scope)
    if expr.op == "!":
        if not fits(operand, BOOLEAN):
            raise ExpressionTypeError(f"'!' needs a Boolean, given {operand}")
        return BOOLEAN
    if expr.op == "~":
        if not fits(operand, INTEGER):
            raise ExpressionTypeError(f"'~' needs an Integer, given {operand}")
        return INTEGER
    if operand in _NUMBERS or operand == NOT_SET_TYPE:
        return operand
    raise ExpressionTypeError(f"unary '-' needs a number, given {operand}")


def _binary_type(expr: Binary, scope: Scope) -> ArchType:
    left = infer(expr.left, scope)
    right = infer(expr.right, scope)
    op = expr.op
    if op in ("and", "or"):
        if fits(left, BOOLEAN) and fits(right, BOOLEAN):
            return BOOLEAN
        raise ExpressionTypeError(f"'{op}' needs Boolean operands, given {left} and {right}")
    if op in ("==", "!="):
        if _comparable(left, right):
            return BOOLEAN
        raise ExpressionTypeError(f"'{op}' cannot compare {left} with {right}")
    if op in ("<", "<=", ">", ">="):
        if _comparable(left, right) and all(t in _ORDERED or t == NOT_SET_TYPE for t in (left, right)):
            return BOOLEAN
        raise ExpressionTypeError(f"'{op}' cannot order {left} and {right}")
    return _arithmetic_type(op, left, right)


def _comparable(left: ArchType, right: ArchType) -> bool:
    if NOT_SET_TYPE in (left, right):
        return True
    if left.is_collection or right.is_collection:
        return False
    return left == right or (left in _NUMBERS and right in _NUMBERS)


def _arithmetic_type(op: str, left: ArchType, right: ArchType) -> ArchType:
    sides = [t for t in (left, right) if t != NOT_SET_TYPE]
    if all(t in _NUMBERS for t in sides):
        if op in ("&", "|"):
            if all(t == INTEGER for t in sides):
                return INTEGER
        elif op in ("/", "^"):
            return DECIMAL
        else:
            return INTEGER if all(t == INTEGER for t in sides) else DECIMAL
    if op == "+" and all(t == STRING for t in sides):
        return STRING
    raise ExpressionTypeError(f"'{op}' does not apply to {left} and {right}")
