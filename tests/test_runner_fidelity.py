"""The offline runner evaluates as Genesys does: Jayway JsonPath, Java's URLEncoder, Velocity Tools' MathTool.

One test per place where a Python library would differ from Genesys (help "Response configuration for data
actions"; Velocity Tools EscapeTool.url = java.net.URLEncoder; MathTool.matchType).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from genesys_identity.actions import jsonpath
from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.actions.runner import ActionFailure, _translate
from genesys_identity.actions.velocity import JavaDouble, render

DOC = {"entities": [{"id": "a", "age": 2, "tags": ["x"]}, {"id": "b", "age": 5, "score": None},
                    {"id": "c", "age": 9}], "empty": [], "owner": None, "count": "7"}


def translate(mapping: dict[str, str], defaults: dict[str, str] | None = None, document: Any = DOC) -> dict[str, str]:
    definition = ActionDefinition("t.json", {"name": "T", "config": {"response": {
        "translationMap": mapping, "translationMapDefaults": defaults or {}, "successTemplate": "{}"}}})
    return _translate(definition, document)


def test_length_is_a_jayway_function() -> None:
    assert translate({"n": "$.entities.length()", "m": "$.empty.length()"}) == {"n": "3", "m": "0"}
    assert translate({"n": "$.entities[*].id.length()"}) == {"n": "3"}


def test_an_indefinite_path_with_no_match_is_an_empty_list_not_the_default() -> None:
    out = translate({"ids": "$.entities[?(@.age > 50)].id", "deep": "$..nothing", "all": "$.empty[*]"},
                    {"ids": '["default"]', "deep": '["d"]', "all": '["d"]'})
    assert out == {"ids": "[]", "deep": "[]", "all": "[]"}


def test_filters_and_slices_select_as_jayway_does() -> None:
    assert translate({"ids": "$.entities[?(@.age >= 5)].id"}) == {"ids": '["b", "c"]'}
    assert translate({"ids": "$.entities[?(@.score)].id"}) == {"ids": '["b"]'}  # existence, even of a null
    assert translate({"ids": "$.entities[0:2].id", "two": "$.entities[0,2].id"}) == {"ids": '["a", "b"]',
                                                                                    "two": '["a", "c"]'}


def test_a_definite_path_that_does_not_resolve_takes_the_default() -> None:
    assert translate({"x": "$.missing.deeper", "i": "$.entities[7].id"}, {"x": '"none"', "i": '"none"'}) == {
        "x": '"none"', "i": '"none"'}
    with pytest.raises(ActionFailure, match="resolved nothing and 'x' has no default"):
        translate({"x": "$.missing"})


def test_a_null_value_does_not_fall_back_to_the_default() -> None:
    assert translate({"owner": "$.owner", "score": "$.entities[1].score"}, {"owner": '"x"', "score": "0"}) == {
        "owner": "null", "score": "null"}


def test_aggregates_are_doubles_and_an_empty_one_fails() -> None:
    assert translate({"max": "$.entities[*].age.max()", "sum": "$.entities[*].age.sum()",
                      "avg": "$.entities[*].age.avg()"}) == {"max": "9.0", "sum": "16.0", "avg": "5.333333333333333"}
    with pytest.raises(ActionFailure, match="empty array"):
        translate({"m": "$.empty.min()"})


@pytest.mark.parametrize(("path", "message"), [
    ("$.entities.keys()", "keys() is not modelled by the offline runner"),
    ("$.entities.concat('x')", "concat() with arguments is not modelled"),
    ("$.entities.count()", "count() is not a Jayway JsonPath function"),
    ("$.entities[?(@.id =~ /a/)]", "this filter operator is not modelled"),
    ("$.entities[?(@.age > 1 && @.age < 3)]", "combining filter conditions with && or || is not modelled"),
    ("$.entities[0:4:2]", "slice steps are not modelled"),
    ("entities", "expected '$'"),
])
def test_what_is_not_modelled_is_refused_by_name(path: str, message: str) -> None:
    with pytest.raises(jsonpath.JsonPathError, match=re.escape(message)):
        jsonpath.parse(path)
    with pytest.raises(ActionFailure, match=r"translationMap\.x: JSONPath"):
        translate({"x": path})


def test_esc_url_is_javas_url_encoder() -> None:
    # URLEncoder keeps * (Python's quote_plus encodes it) and encodes ~ (Python keeps it); a space is +.
    assert render('$esc.url("a b*c~d/é+&")', {}) == "a+b*c%7Ed%2F%C3%A9%2B%26"


def test_math_parses_numeric_strings_and_prints_whole_results_without_a_point() -> None:
    assert render('$math.add("1", "2")', {}) == "3"
    assert render("$math.add($input.count, 1)", {"input": {"count": "7"}}) == "8"
    assert render("$math.div(4, 2) $math.div(1, 2) $math.mul(2.0, 3) $math.add(1.5, 1.5)", {}) == "2 0.5 6.0 3.0"
    assert render('$math.max("3", 10) $math.min(-1, "2")', {}) == "10 -1"


def test_math_gives_null_for_what_it_cannot_parse_or_divide() -> None:
    # Velocity prints a null result as the reference's own text; $!{} prints nothing.
    assert render('$math.add("x", 1)|$!{math.div(1, 0)}|', {}) == '$math.add("x", 1)||'


@pytest.mark.parametrize(("value", "text"), [
    (3.0, "3.0"), (0.5, "0.5"), (1e7, "1.0E7"), (1.5e7, "1.5E7"), (1e-4, "1.0E-4"), (0.001, "0.001"),
    (123456789.0, "1.23456789E8"), (-2.5e-5, "-2.5E-5"),
])
def test_doubles_print_as_java_prints_them(value: float, text: str) -> None:
    assert str(JavaDouble(value)) == text
