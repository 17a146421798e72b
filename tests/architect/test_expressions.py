"""The Architect expression parser: precedence, literals, member access and syntax errors."""

from decimal import Decimal

import pytest

from genesys_identity.architect.expressions import (
    Binary,
    Call,
    ExpressionSyntaxError,
    Index,
    Literal,
    Member,
    Name,
    Unary,
    dotted_name,
    parse,
)
from genesys_identity.architect.types import NOT_SET


def shape(node: object) -> object:
    """A compact form of an AST for readable assertions."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name | Member):
        return dotted_name(node) or ("." , shape(node.target), node.name)  # type: ignore[union-attr]
    if isinstance(node, Call):
        return (node.function, *[shape(a) for a in node.args])
    if isinstance(node, Unary):
        return (node.op, shape(node.operand))
    if isinstance(node, Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, Index):
        return ("[]", shape(node.target), shape(node.index))
    raise AssertionError(node)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # help "Operator precedence in expressions": 3 + 4 * 5 is 23, (3+4) * 5 is 35
        ("3 + 4 * 5", ("+", 3, ("*", 4, 5))),
        ("(3+4) * 5", ("*", ("+", 3, 4), 5)),
        ("a or b and c", ("or", "a", ("and", "b", "c"))),
        ("a and b or c", ("or", ("and", "a", "b"), "c")),
        ("1 < 2 == true", ("==", ("<", 1, 2), True)),
        ("1 + 2 == 3 and x", ("and", ("==", ("+", 1, 2), 3), "x")),
        ("1 - 2 - 3", ("-", ("-", 1, 2), 3)),
        ("8 / 4 % 3", ("%", ("/", 8, 4), 3)),
        ("2 ^ 3 ^ 2", ("^", 2, ("^", 3, 2))),
        ("-2 ^ 2", ("^", -2, 2)),
        ("!a and b", ("and", ("!", "a"), "b")),
        ("-x * 2", ("*", ("-", "x"), 2)),
        ("1 & 2 | 4", ("|", ("&", 1, 2), 4)),
        ("1 == 1 & 3", ("&", ("==", 1, 1), 3)),
        # keywords in any case, as real exports write them (automatic-offer-callback-for-disconnected-call: `OR`;
        # send-message-transcript-by-email: `AND`)
        ("a OR b AND c", ("or", "a", ("and", "b", "c"))),
        ("a Or b", ("or", "a", "b")),
        ("1 < 2 > x", (">", ("<", 1, 2), "x")),
        ("x >= 1 == y", ("==", (">=", "x", 1), "y")),
        ("a != b or c == d", ("or", ("!=", "a", "b"), ("==", "c", "d"))),
        ("-(1 + 2)", ("-", ("+", 1, 2))),
        ("!(a or b)", ("!", ("or", "a", "b"))),
        ("--1", 1),  # unary minus on a literal folds into it
    ],
)
def test_operators_follow_architects_precedence(text: str, expected: object) -> None:
    assert shape(parse(text)) == expected


def test_literals() -> None:
    assert parse("42") == Literal(42, parse("1").type, 1)  # type: ignore[union-attr]
    assert shape(parse("4.25")) == Decimal("4.25")
    assert shape(parse("true")) is True
    assert shape(parse("false")) is False
    assert parse("NOT_SET") == Literal(NOT_SET, None, 1)


def test_string_escapes_from_the_help() -> None:
    # help "Use string literals in expressions": "He said, \"Hi\"" is He said, "Hi"
    assert shape(parse(r'"He said, \"Hi\""')) == 'He said, "Hi"'
    assert shape(parse(r'"Male\\Female"')) == "Male\\Female"
    # limitless-flows-blueprint Limitless Messaging Flow export: "\n\nYour question..." parsed to two newlines
    assert shape(parse(r'"\n\nYour question"')) == "\n\nYour question"
    # a real export's JSON-building concatenation (automated-callback-blueprint Proactive callback workbin)
    assert shape(parse(r'"\"phone\": \"" + Flow.phone')) == ("+", '"phone": "', "Flow.phone")


def test_expressions_may_span_lines() -> None:
    # send-message-transcript-by-email: If(\tIsNotSetOrEmpty(...), \n ...) with tabs and newlines between tokens
    assert shape(parse("If(\tIsSet(a),\n\t\tb,\n c)")) == ("If", ("IsSet", "a"), "b", "c")


def test_member_access_and_indexing_chain() -> None:
    assert shape(parse("Message.Message.senderAddressInfo.addressDisplayable")) == (
        "Message.Message.senderAddressInfo.addressDisplayable"
    )
    assert shape(parse("Flow.list[0]")) == ("[]", "Flow.list", 0)
    assert shape(parse("Flow.list[Flow.i + 1]")) == ("[]", "Flow.list", ("+", "Flow.i", 1))


def test_calls_nest() -> None:
    # GenesysCloudBlueprints/switch-voice-to-web-messaging, inbound-message-flow YAML
    text = "MakeListAgentScorePair(MakeList(FindUserById(Flow.preferredAgentId)), MakeList(100))"
    assert shape(parse(text)) == (
        "MakeListAgentScorePair",
        ("MakeList", ("FindUserById", "Flow.preferredAgentId")),
        ("MakeList", 100),
    )
    assert shape(parse("GetCurrentDateTimeUtc()")) == ("GetCurrentDateTimeUtc",)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("(1 + 2", 7, "expected ')'"),
        ("1 +", 4, "expected a value"),
        ('"abc', 1, "unterminated string"),
        ("Append(1, 2", 12, "expected ',' or ')'"),
        ("Append(1,, 2)", 10, "expected a value"),
        ("Flow.", 6, "property name"),
        ("1 2", 3, "after a complete expression"),
        ("a $ b", 3, "unexpected character"),
        ("", 1, "empty"),
        ("and x", 1, "needs an operand"),
        (r'"a\qb"', 3, "escape"),
        (r'"a\tb"', 3, "escape"),
        ("not x", 1, "no 'not' keyword"),
        ("a and not b", 7, "no 'not' keyword"),
        ("1..2", 3, "property name"),
        ("f(1))", 5, "after a complete expression"),
        ("Flow.x[1", 9, "expected ']'"),
        ("a ! b", 3, "after a complete expression"),
    ],
)
def test_syntax_errors_name_the_problem_and_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert info.value.column == column
    assert fragment in str(info.value)


def test_absurd_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(ExpressionSyntaxError, match="nests too deeply"):
        parse("(" * 5000 + "1" + ")" * 5000)
