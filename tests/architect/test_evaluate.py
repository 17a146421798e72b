"""Evaluating Architect expressions: values, NOT_SET rules (help "Using NOT_SET expressions") and every function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from genesys_identity.architect.evaluate import ExpressionRuntimeError, evaluate
from genesys_identity.architect.expressions import parse
from genesys_identity.architect.functions import catalog
from genesys_identity.architect.types import NOT_SET, AgentScorePair, PhoneNumber, Queue, Skill, User

NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
ANN = User("3f1c0a52-0000-4000-8000-000000000001", "Ann Agent")
SMS_QUEUE = Queue("q-1", "SMS Support")


@dataclass
class FakeRuntime:
    values: dict[str, object] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=lambda: {ANN.id: ANN})
    queues: dict[str, Queue] = field(default_factory=lambda: {SMS_QUEUE.name: SMS_QUEUE, str(SMS_QUEUE.id): SMS_QUEUE})

    def variable(self, name: str) -> object:
        return self.values[name]

    def find_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def find_queue(self, name_or_id: str) -> Queue | None:
        return self.queues.get(name_or_id)

    def now(self) -> datetime:
        return NOW


def run(text: str, **values: object) -> object:
    return evaluate(text, FakeRuntime({k.replace("__", "."): v for k, v in values.items()}))


def fails(text: str, fragment: str, **values: object) -> None:
    with pytest.raises(ExpressionRuntimeError) as info:
        run(text, **values)
    assert fragment in str(info.value), str(info.value)


# -- cases from the documentation -----------------------------------------------------------------------------------


def test_operator_precedence_from_the_help() -> None:
    # help "Operator precedence in expressions": 3 + 4 * 5 is 23; (3+4) * 5 is 35
    assert run("3 + 4 * 5") == 23
    assert run("(3+4) * 5") == 35


def test_not_set_cases_from_the_help() -> None:
    # help "Using NOT_SET expressions"
    assert run('ToString(NOT_SET) == ""') is False
    assert run("ToString(NOT_SET)") is NOT_SET
    fails("5+Flow.MyInteger", "'+' applied to NOT_SET", Flow__MyInteger=NOT_SET)
    assert run("5+If(IsSet(Flow.MyInteger),Flow.MyInteger,0)", Flow__MyInteger=NOT_SET) == 5
    assert run("5+If(IsSet(Flow.MyInteger),Flow.MyInteger,0)", Flow__MyInteger=3) == 8


def test_string_literals_from_the_help() -> None:
    # help "Use string literals in expressions"
    assert run('Append("Hello", " ", "World")') == "Hello World"
    assert run(r'"He said, \"Hi\""') == 'He said, "Hi"'


# -- values and operators -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", Decimal("3.5")),  # /(int,int)->dec
        ("7 % 4", 3),
        ("2 ^ 3", Decimal(8)),
        ("1.5 * 2", Decimal("3.0")),
        ("-(2 + 3)", -5),
        ("5 & 3", 1),
        ("5 | 3", 7),
        ("~0", -1),
        ('"a" + "b"', "ab"),
        ("1 < 2.5", True),
        ("2 >= 2", True),
        ("1 == 1.0", True),
        ('"Agent" == "agent"', False),  # exact: case-insensitive equality has no public source
        ("true != false", True),
        ("NOT_SET == NOT_SET", True),
        ("!true", False),
        ("true OR false AND false", True),
        ("MakeDuration(0, 0, 1, 0) < MakeDuration(0, 0, 0, 61)", True),
    ],
)
def test_operators(text: str, expected: object) -> None:
    value = run(text)
    assert value == expected and type(value) is type(expected)


def test_and_or_evaluate_both_sides_and_refuse_not_set() -> None:
    # No public source says Architect short-circuits: the model evaluates both sides (an error, never a silent pass).
    fails("false and Flow.x", "'and' applied to NOT_SET", Flow__x=NOT_SET)
    fails("true or Flow.x", "'or' applied to NOT_SET", Flow__x=NOT_SET)
    fails("IsSet(Flow.x) and Flow.x > 5", "'>' applied to NOT_SET", Flow__x=NOT_SET)
    assert run("IsSet(Flow.x) and Flow.x > 5", Flow__x=6) is True
    assert run("false or Flow.x", Flow__x=True) is True
    fails("true and Flow.x", "'and' applied to NOT_SET", Flow__x=NOT_SET)
    fails("Flow.x or true", "'or' applied to NOT_SET", Flow__x=NOT_SET)
    fails("!Flow.x", "'!' applied to NOT_SET", Flow__x=NOT_SET)
    fails("-Flow.x", "'-' applied to NOT_SET", Flow__x=NOT_SET)


def test_comparisons_with_not_set() -> None:
    assert run('Flow.x == ""', Flow__x=NOT_SET) is False
    assert run('Flow.x != "a"', Flow__x=NOT_SET) is True
    fails("Flow.x < 120", "'<' applied to NOT_SET", Flow__x=NOT_SET)


def test_arithmetic_errors_are_runtime_errors() -> None:
    fails("1 / 0", "division by zero")
    fails("1 % 0", "modulus by zero")
    fails("Flow.list[3]", "out of range", Flow__list=["a"])
    fails("Flow.list[Flow.i]", "with NOT_SET", Flow__list=["a"], Flow__i=NOT_SET)


def test_names_read_properties_of_values() -> None:
    assert run("Task.Queue.id", Task__Queue=SMS_QUEUE) == "q-1"
    assert run("Flow.doc.customer.tier", Flow__doc={"customer": {"tier": "gold"}}) == "gold"
    assert run("Flow.doc.missing", Flow__doc={"customer": 1}) is NOT_SET
    assert run("Message.Message.body", Message__Message__body="hi") == "hi"
    assert run("Message.Message.body", Message__Message={"body": "hi", "id": "m1"}) == "hi"
    assert run('ToPhoneNumber("+1 202-555-0111").e164') == "+12025550111"
    assert run('ToPhoneNumber("not a number").e164') is NOT_SET
    fails("Task.Queue.id", "property id of a NOT_SET value", Task__Queue=NOT_SET)
    fails("Flow.nothing", "unknown variable or builtin Flow.nothing")


def test_an_unknown_function_at_runtime_is_an_error() -> None:
    fails("Not(true)", "unknown function Not")


# -- every function -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('AddItem(Flow.names, "c")', ["a", "b", "c"]),
        ("AddMinutes(Flow.when, 90)", NOW + timedelta(minutes=90)),
        ("AddHours(Flow.when, -2)", NOW - timedelta(hours=2)),
        ('append("a", "b", "c")', "abc"),
        ('AreEqual("a", "a")', True),
        ('Contains("Hello World", "World")', True),
        ('contains(Lower("ANONYMOUS caller"), "anonymous")', True),  # ani-blacklist
        ("Count(Flow.names)", 2),
        ("DateTimeDiff(GetCurrentDateTimeUtc(), Flow.when)", timedelta(0)),
        ('FindFirst(Flow.names, "b")', 1),
        ('FindFirst(Flow.names, "z")', -1),
        ('FindQueue("SMS Support")', SMS_QUEUE),
        ('FindQueueById("q-1")', SMS_QUEUE),
        ('FindQueue("Nope")', NOT_SET),
        ('FindString("abcabc", "ca")', 2),
        ('FindString("abc", "z")', -1),
        (f'FindUserById("{ANN.id}")', ANN),
        ('FindUserById("no-such-user")', NOT_SET),
        ("GetAt(Flow.names, 1)", "b"),
        ("GetCurrentDateTimeUtc()", NOW),
        ('GetJsonObjectProperty(JsonParse("{\\"a\\": {\\"b\\": 2}}"), "a")', {"b": 2}),
        ('If(false, "a", "b")', "b"),
        ("IsNotSetOrEmpty(Flow.unset)", True),
        ('IsNotSetOrEmpty("")', True),
        ("IsNotSetOrEmpty(Flow.empty)", True),
        ('IsNotSetOrEmpty("x")', False),
        ("IsSet(Flow.unset)", False),
        ('IsSet("")', True),
        ('JsonParse("[1, 2]")', [1, 2]),
        ('Left("abcdef", 3)', "abc"),
        ('Left("ab", 5)', "ab"),
        ('Lower("AbC")', "abc"),
        ("MakeAgentScorePair(Flow.ann, 100)", AgentScorePair(ANN, 100)),
        ("MakeDuration(1, 2, 3, 4)", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("MakeDuration(0, 0, 0, 1, 500)", timedelta(seconds=1, milliseconds=500)),
        ("MakeList(1, 2, 3)", [1, 2, 3]),
        ("MakeListAgentScorePair(MakeList(Flow.ann), MakeList(100))", [AgentScorePair(ANN, 100)]),
        ('Replace("+1202", "+", "")', "1202"),
        ('Right("+12025550111", 10)', "2025550111"),
        ('Right("abc", 0)', ""),
        ('Split("a|b|c", "|")', ["a", "b", "c"]),
        ('Substring("abcdef", 2, 3)', "cde"),
        ('ToDateTime("2026-11-22T05:00:00.000Z")', NOW),
        ('ToDecimal("2.50")', Decimal("2.50")),
        ("ToDisplayString(Flow.unset)", ""),
        ("ToDisplayString(Task.Queue)", "SMS Support"),
        ("ToDisplayString(true)", "true"),
        ('ToInt(" 42 ")', 42),
        ("ToInt(7.9)", 7),
        ('ToPhoneNumber("+12025550111")', PhoneNumber("+12025550111", "+12025550111")),
        ("ToString(12)", "12"),
        ("ToString(GetCurrentDateTimeUtc())", "2026-11-22T05:00:00.000Z"),
        ("ToString(MakeDuration(0, 0, 15, 0))", "P0D0H15M0S0F"),
        ('ToString(Flow.names, "</p>")', "a</p>b"),
        ('ToString(JsonParse("{\\"a\\":1}"))', '{"a":1}'),
        ('Trim("  x  ")', "x"),
    ],
)
def test_functions(text: str, expected: object) -> None:
    runtime = FakeRuntime({"Flow.names": ["a", "b"], "Flow.when": NOW, "Flow.unset": NOT_SET, "Flow.empty": [],
                           "Flow.ann": ANN, "Task.Queue": SMS_QUEUE})
    assert evaluate(text, runtime) == expected


def test_every_catalogued_function_has_a_behaviour_case() -> None:
    import inspect

    source = inspect.getsource(test_functions) + inspect.getsource(test_functions_fail_where_architect_would)
    named = {n.lower() for n in __import__("re").findall(r"([A-Za-z]+)\(", source)}
    missing = [name for name in catalog() if name.lower() not in named]
    assert missing == ["FindSkill"] or missing == [], missing
    fails('FindSkill("Spanish")', "no skill directory")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('GetAt(Flow.names, 5)', "GetAt: index 5 is out of range"),
        ('ToInt("12a")', "ToInt: '12a' is not an integer"),
        ('ToDecimal("x")', "ToDecimal: 'x' is not a number"),
        ('ToDateTime("yesterday")', "ToDateTime: 'yesterday' is not a date and time"),
        ('JsonParse("{")', "JsonParse: not JSON"),
        ('GetJsonObjectProperty(JsonParse("[1]"), "a")', "not an object"),
        ('Left("abc", -1)', "Left: a negative count"),
        ('Substring("abc", 5, 1)', "Substring: start 5 is past the end"),
        ('Split("abc", "")', "Split: an empty separator"),
        ("MakeListAgentScorePair(MakeList(Flow.ann), MakeList(1, 2))", "1 users but 2 scores"),
        ('MakeListAgentScorePair(MakeList(FindUserById("gone")), MakeList(100))', "MakeList: argument 1 is NOT_SET"),
    ],
)
def test_functions_fail_where_architect_would(text: str, fragment: str) -> None:
    runtime = FakeRuntime({"Flow.names": ["a", "b"], "Flow.ann": ANN})
    with pytest.raises(ExpressionRuntimeError) as info:
        evaluate(text, runtime)
    assert fragment in str(info.value)


# -- NOT_SET into every parameter -----------------------------------------------------------------------------------

SAMPLES: dict[str, object] = {
    "String": "12",
    "Integer": 1,
    "Decimal": Decimal("1.5"),
    "Boolean": True,
    "Json": {"a": 1},
    "User": ANN,
    "Queue": SMS_QUEUE,
    "Skill": Skill(None, "Spanish"),
    "DateTime": NOW,
    "Duration": timedelta(minutes=1),
    "PhoneNumber": PhoneNumber("+12025550111", "+12025550111"),
    "T": "12",
}


def sample(pattern: str) -> object:
    if pattern.startswith("Collection("):
        return [sample(pattern[len("Collection(") : -1])]
    return SAMPLES[pattern]


def not_set_cases() -> list[tuple[str, int, int, bool]]:
    cases = []
    for spec in catalog().values():
        for number, overload in enumerate(spec.overloads):
            for position, param in enumerate(overload.params):
                cases.append((spec.name, number, position, param.not_set_allowed))
    return cases


@pytest.mark.parametrize(("function", "overload", "position", "allowed"), not_set_cases())
def test_not_set_into_each_parameter_follows_the_catalog(function: str, overload: int, position: int, allowed: bool) -> None:
    params = catalog()[function].overloads[overload].params
    values = {f"Flow.a{i}": sample(p.type) for i, p in enumerate(params)}
    values[f"Flow.a{position}"] = NOT_SET
    text = f"{function}({', '.join(values)})"
    runtime = FakeRuntime(values)
    if allowed:
        evaluate(text, runtime)  # no error: the parameter takes NOT_SET
    else:
        with pytest.raises(ExpressionRuntimeError) as info:
            evaluate(text, runtime)
        assert str(info.value) == f"{function}: argument {position + 1} is NOT_SET, which it refuses"


def test_the_repos_routing_condition() -> None:
    # The SMS flow's decision: route to the last agent only when advised and the agent is known.
    condition = parse('Flow.lastAgentAdvised == "true" and !IsNotSetOrEmpty(Flow.lastAgentId)')
    assert evaluate(condition, FakeRuntime({"Flow.lastAgentAdvised": "true", "Flow.lastAgentId": ANN.id})) is True
    assert evaluate(condition, FakeRuntime({"Flow.lastAgentAdvised": "true", "Flow.lastAgentId": NOT_SET})) is False
    assert evaluate(condition, FakeRuntime({"Flow.lastAgentAdvised": "false", "Flow.lastAgentId": NOT_SET})) is False
    assert evaluate(condition, FakeRuntime({"Flow.lastAgentAdvised": NOT_SET, "Flow.lastAgentId": ANN.id})) is False


# -- implicit conversions at a destination --------------------------------------------------------------------------


def test_values_are_converted_as_architect_converts_them_at_a_destination() -> None:
    from genesys_identity.architect.evaluate import coerce
    from genesys_identity.architect.types import DECIMAL, INTEGER, STRING

    rt = FakeRuntime()
    # The conversions real exports show (catalog/functions.yaml implicit_conversions).
    assert coerce({"a": 1}, STRING, rt) == '{"a":1}'
    assert coerce(NOW, STRING, rt) == "2026-11-22T05:00:00.000Z"
    assert coerce(["a", "b"], STRING, rt) == "a,b"
    assert coerce(PhoneNumber("+12025550111", "+12025550111"), STRING, rt) == "+12025550111"
    assert coerce("2.5", DECIMAL, rt) == Decimal("2.5")
    assert coerce("42", INTEGER, rt) == 42
    assert coerce(3, DECIMAL, rt) == Decimal(3)
    # Unconverted values pass unchanged; a failing conversion is an error, as the conversion function fails.
    assert coerce("x", STRING, rt) == "x" and coerce(NOT_SET, STRING, rt) is NOT_SET
    with pytest.raises(ExpressionRuntimeError, match="ToInt: 'abc' is not an integer"):
        coerce("abc", INTEGER, rt)
    with pytest.raises(ExpressionRuntimeError, match="ToDecimal: argument 1 is NOT_SET"):
        coerce(NOT_SET, DECIMAL, rt, source=STRING)


# -- robustness: any text evaluates or fails with an ExpressionError, never another exception ------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from genesys_identity.architect.expressions import ExpressionError  # noqa: E402

_PIECES = st.sampled_from([
    "Flow.name", "Flow.count", "Flow.names", "Flow.unset", "NOT_SET", "true", "0", "1", "2.5", '"a"', '"12"', "(", ")",
    "[", "]", ",", ".", "e164", "+", "-", "*", "/", "%", "^", "==", "<", "!", "~", "&", " and ", " or ", "Append(", "If(",
    "MakeList(", "GetAt(", "ToString(", "ToInt(", "Left(", "Substring(", "JsonParse(", "Split(", "ToPhoneNumber(",
    "MakeDuration(", "FindUserById(", "Count(", " ",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=12).map("".join))
def test_any_text_evaluates_or_raises_an_expression_error(text: str) -> None:
    runtime = FakeRuntime({"Flow.name": "Ann", "Flow.count": 3, "Flow.names": ["a", "b"], "Flow.unset": NOT_SET})
    try:
        evaluate(text, runtime)
    except ExpressionError as exc:
        assert str(exc) and "\n" not in str(exc)
