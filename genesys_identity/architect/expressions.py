"""Architect expressions: lexer, parser and AST.

A hand-written Pratt parser. Operators and their precedence follow the Resource Center page "Operator
precedence in expressions" (tightest first): collection access `[]`, property access `.`, unary `-`,
logical not `!` and bitwise not `~`, power `^`, `* / %`, `+ -`, `< <=`, `> >=`, `== !=`, bitwise `&`,
bitwise `|`, `and`, `or`. Parentheses group. String literals are double-quoted with backslash escapes (help
"Use string literals in expressions"); numbers are integer or decimal literals; `true`, `false` and `NOT_SET`
are literals (help "Using NOT_SET expressions"). A call is `Name(args)`; member access and indexing chain
on any operand (`Message.Message.senderAddressInfo.addressDisplayable`, `Flow.list[0]`,
`ToPhoneNumber(Flow.ani).e164`). `and`/`or` are matched in any letter case, as in real exports (`OR`,
`AND`); negation is `!` (the precedence page; `!IsNotSetOrEmpty(...)` in real flows).

Expressions have no duration or date literal: real flows build them with MakeDuration(...) and
ToDateTime(...)/GetCurrentDateTimeUtc(); Archy's `lit: {minutes: 1}` and the exports' `P0D0H1M0S0F` are
literal forms of the flow document, not of the expression language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final, NamedTuple

from genesys_identity.architect.types import BOOLEAN, DECIMAL, INTEGER, NOT_SET, STRING, ArchType
from genesys_identity.errors import GenesysIdentityError


class ExpressionError(GenesysIdentityError):
    """Base of every error about an Architect expression (syntax, type or runtime)."""


class ExpressionSyntaxError(ExpressionError):
    """The text is not an Architect expression. The message names the problem and the 1-based column."""

    def __init__(self, message: str, column: int):
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.problem = message


class ExpressionTypeError(ExpressionError):
    """An expression is well formed but Architect would refuse it: unknown function, builtin or variable, no
    matching overload, or a result of the wrong type."""


class ExpressionRuntimeError(ExpressionError):
    """Evaluating an expression failed where Architect invokes the flow's error handling, e.g. NOT_SET given
    to a parameter that refuses it (help "Using NOT_SET expressions")."""


@dataclass(frozen=True)
class Literal:
    """A literal; `type` is None only for the untyped NOT_SET."""

    value: object
    type: ArchType | None
    column: int


@dataclass(frozen=True)
class Name:
    """A bare identifier: the first part of a variable or builtin (`Flow`, `Message`, `Task`)."""

    name: str
    column: int


@dataclass(frozen=True)
class Member:
    target: Expr
    name: str
    column: int


@dataclass(frozen=True)
class Index:
    target: Expr
    index: Expr
    column: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    column: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr
    column: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    column: int


Expr = Literal | Name | Member | Index | Call | Unary | Binary


def dotted_name(expr: Expr) -> str | None:
    """`Flow.x` / `Message.Message.body` as one string when `expr` is a plain dotted name, else None."""
    parts: list[str] = []
    node: Expr = expr
    while isinstance(node, Member):
        parts.append(node.name)
        node = node.target
    if not isinstance(node, Name):
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


# --- lexer -------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<unterminated>")
  | (?P<op>==|!=|<=|>=|[-+*/%^<>!~&|()\[\],.])
    """,
    re.VERBOSE | re.DOTALL,
)

# Escapes: \" and \\ (help "Use string literals in expressions"); \n (a real Append literal
# "\n\nYour question was answered by " that Architect parsed to two newlines: GenesysCloudBlueprints/
# limitless-flows-blueprint Limitless Messaging Flow export). Any other escape is refused.
_ESCAPES: Final = {'"': '"', "\\": "\\", "n": "\n"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


class _Token(NamedTuple):
    kind: str  # number, ident, string, op, end
    text: str
    value: object
    column: int


def _unescape(body: str, column: int) -> str:
    """The value of a string literal's body (between its quotes) whose first character is at `column`."""
    if "\\" not in body:
        return body

    def replace(m: re.Match[str]) -> str:
        escaped = m.group(1)
        if escaped not in _ESCAPES:
            raise ExpressionSyntaxError(f"unknown escape sequence \\{escaped} in a string literal", column + m.start())
        return _ESCAPES[escaped]

    return _ESCAPE.sub(replace, body)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    append = tokens.append
    pos = 0
    length = len(text)
    while pos < length:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionSyntaxError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup
        word = m.group()
        if kind == "ws":
            pass
        elif kind == "ident" or kind == "op":
            append(_Token(kind, word, None, pos + 1))
        elif kind == "string":
            append(_Token("string", word, _unescape(word[1:-1], pos + 2), pos + 1))
        elif kind == "number":
            append(_Token("number", word, Decimal(word) if "." in word else int(word), pos + 1))
        else:
            raise ExpressionSyntaxError("unterminated string literal", pos + 1)
        pos = m.end()
    append(_Token("end", "", None, length + 1))
    return tokens


# --- parser ------------------------------------------------------------------------------------------------

# Binding powers from "Operator precedence in expressions" (loosest first).
_BINARY: Final[dict[str, int]] = {
    "or": 1,
    "and": 2,
    "|": 3,
    "&": 4,
    "==": 5,
    "!=": 5,
    ">": 6,
    ">=": 6,
    "<": 7,
    "<=": 7,
    "+": 8,
    "-": 8,
    "*": 9,
    "/": 9,
    "%": 9,
    "^": 10,
}
_UNARY_POWER: Final = 11
_KEYWORD_LITERALS: Final[dict[str, tuple[object, ArchType | None]]] = {
    "true": (True, BOOLEAN),
    "false": (False, BOOLEAN),
    "NOT_SET": (NOT_SET, None),
}


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, op: str) -> _Token:
        token = self.peek()
        if token.kind != "op" or token.text != op:
            raise ExpressionSyntaxError(f"expected '{op}', found {_describe(token)}", token.column)
        return self.advance()

    def expression(self, min_power: int = 0) -> Expr:
        left = self.prefix()
        while True:
            token = self.peek()
            # `and`/`or` in any case: real exports write `OR` and `AND` (GenesysCloudBlueprints/
            # automatic-offer-callback-for-disconnected-call, send-message-transcript-by-email).
            op = token.text if token.kind == "op" else token.text.lower() if token.kind == "ident" else ""
            power = _BINARY.get(op)
            if power is None or power <= min_power:
                break
            self.advance()
            # `^` associates to the right (2^3^2 = 2^9), every other binary operator to the left.
            right = self.expression(power - 1 if op == "^" else power)
            left = Binary(op, left, right, token.column)
        return left

    def prefix(self) -> Expr:
        token = self.advance()
        if token.kind == "number":
            value = token.value
            node: Expr = Literal(value, DECIMAL if isinstance(value, Decimal) else INTEGER, token.column)
        elif token.kind == "string":
            node = Literal(token.value, STRING, token.column)
        elif token.kind == "ident":
            if token.text in _KEYWORD_LITERALS:
                value, typ = _KEYWORD_LITERALS[token.text]
                node = Literal(value, typ, token.column)
            elif token.text.lower() in ("and", "or"):
                raise ExpressionSyntaxError(f"'{token.text}' needs an operand before it", token.column)
            elif token.text.lower() == "not" and self.peek().kind != "end" and not (
                self.peek().kind == "op" and self.peek().text in (".", "[", ")", ",", "(")
            ):
                raise ExpressionSyntaxError("Architect has no 'not' keyword; negate with '!'", token.column)
            elif self.peek().kind == "op" and self.peek().text == "(":
                node = self.call(token)
            else:
                node = Name(token.text, token.column)
        elif token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
        elif token.kind == "op" and token.text in ("-", "!", "~"):
            operand = self.expression(_UNARY_POWER - 1)
            if token.text == "-" and isinstance(operand, Literal) and operand.type in (INTEGER, DECIMAL):
                assert isinstance(operand.value, int | Decimal)
                return Literal(-operand.value, operand.type, token.column)
            return Unary(token.text, operand, token.column)
        else:
            raise ExpressionSyntaxError(f"expected a value, found {_describe(token)}", token.column)
        return self.postfix(node)

    def call(self, name: _Token) -> Expr:
        self.expect("(")
        args: list[Expr] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                args.append(self.expression())
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.advance()
                    continue
                break
        token = self.peek()
        if token.kind != "op" or token.text != ")":
            raise ExpressionSyntaxError(
                f"expected ',' or ')' in the arguments of {name.text}, found {_describe(token)}", token.column
            )
        self.advance()
        return Call(name.text, tuple(args), name.column)

    def postfix(self, node: Expr) -> Expr:
        while True:
            token = self.peek()
            if token.kind == "op" and token.text == ".":
                self.advance()
                member = self.advance()
                if member.kind != "ident":
                    raise ExpressionSyntaxError(f"expected a property name after '.', found {_describe(member)}", member.column)
                node = Member(node, member.text, member.column)
            elif token.kind == "op" and token.text == "[":
                self.advance()
                index = self.expression()
                self.expect("]")
                node = Index(node, index, token.column)
            else:
                return node


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    return f"'{token.text}'"


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """The AST of one Architect expression; ExpressionSyntaxError naming the problem and column otherwise."""
    if not text.strip():
        raise ExpressionSyntaxError("empty expression", 1)
    parser = _Parser(text)
    try:
        expr = parser.expression()
    except RecursionError:
        raise ExpressionSyntaxError("the expression nests too deeply", 1) from None
    token = parser.peek()
    if token.kind != "end":
        raise ExpressionSyntaxError(f"unexpected {_describe(token)} after a complete expression", token.column)
    return expr
