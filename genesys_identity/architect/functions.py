"""Architect's expression functions: the catalog (catalog/functions.yaml) and their implementations.

The catalog is loaded once (libyaml when available). Each function has overloads: parameter types (with a
type variable `T` for the generic ones), the return type, and whether each parameter accepts NOT_SET.
Names are looked up case-insensitively, as Architect does. The implementations assume the evaluator has
already refused NOT_SET where the catalog says a parameter refuses it (raising ExpressionRuntimeError
naming the function), so they only see NOT_SET where it is allowed.

Behaviour that no public source pins down is chosen and marked "unverified" in the docstrings below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Protocol

import yaml

from genesys_identity.architect.expressions import ExpressionRuntimeError
from genesys_identity.architect.types import (
    NOT_SET,
    NOT_SET_TYPE,
    AgentScorePair,
    ArchType,
    PhoneNumber,
    Queue,
    Skill,
    User,
    collection,
    type_named,
)


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

    def arity(self) -> str:
        return f"{len(self.params)}+" if self.params and self.params[-1].variadic else str(len(self.params))


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    overloads: tuple[Overload, ...]
    source: str
    not_set: str | None

    def signatures(self) -> str:
        return "; ".join(f"{self.name}{o}" for o in self.overloads)


_PARAM = re.compile(r"^(?P<type>[A-Za-z]+(?:\([A-Za-z]+\))?)(?P<optional>\?)?(?P<variadic>\.\.\.)?$")


def _pattern_is_known(pattern: str) -> bool:
    if pattern in (TYPE_VARIABLE, f"Collection({TYPE_VARIABLE})"):
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


def _expand_sources(text: str, sources: Mapping[str, str]) -> str:
    """`SVW (...)` -> `SVW (...) [SVW = GenesysCloudBlueprints/... path]` so each entry carries its citation."""
    keys = [k for k in sources if re.search(rf"\b{re.escape(k)}\b", text)]
    if not keys and "help " not in text and "GenesysCloudBlueprints/" not in text:
        raise ValueError(f"functions.yaml: source {text!r} names no known source")
    return text + "".join(f" [{k} = {sources[k]}]" for k in keys)


@lru_cache(maxsize=1)
def _catalog_file() -> Any:
    """catalog/functions.yaml as read, once: the functions and the implicit conversions share it."""
    text = resources.files("genesys_identity.architect").joinpath("catalog/functions.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, FunctionSpec]:
    """Every known function by its canonical name, loaded once from catalog/functions.yaml."""
    raw = _catalog_file()
    sources: dict[str, str] = raw["sources"]
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
        if any(p.not_set_allowed for o in overloads for p in o.params) and not body.get("not_set"):
            raise ValueError(f"functions.yaml: {name}: a parameter allows NOT_SET but no `not_set:` evidence is given")
        if name not in IMPLEMENTATIONS:
            raise ValueError(f"functions.yaml: {name} has no implementation in functions.py")
        source = _expand_sources(str(body.get("source") or ""), sources)
        specs[name] = FunctionSpec(name, tuple(overloads), source, body.get("not_set"))
    missing = set(IMPLEMENTATIONS) - set(specs)
    if missing:
        raise ValueError(f"functions.py implements functions the catalog does not list: {sorted(missing)}")
    return specs


@dataclass(frozen=True)
class Conversion:
    """An implicit conversion Architect applies at a destination: `function` wraps the expression."""

    source_type: ArchType
    target_type: ArchType
    function: str
    source: str


@lru_cache(maxsize=1)
def implicit_conversions() -> Mapping[tuple[ArchType, ArchType], Conversion]:
    """The conversions of catalog/functions.yaml `implicit_conversions`, by (from, to)."""
    raw = _catalog_file()
    table: dict[tuple[ArchType, ArchType], Conversion] = {}
    for item in raw["implicit_conversions"]:
        function = str(item["function"])
        if function not in catalog():
            raise ValueError(f"functions.yaml: implicit conversion through unknown function {function}")
        conversion = Conversion(
            type_named(item["from"]), type_named(item["to"]), function, _expand_sources(str(item["source"]), raw["sources"])
        )
        table[(conversion.source_type, conversion.target_type)] = conversion
    return table


@lru_cache(maxsize=1)
def _by_folded_name() -> Mapping[str, FunctionSpec]:
    return {name.casefold(): spec for name, spec in catalog().items()}


def lookup(name: str) -> FunctionSpec | None:
    """The function called `name` in any letter case (Architect's names are case-insensitive), or None."""
    return _by_folded_name().get(name.casefold())


def bind(pattern: str, actual: ArchType, bindings: dict[str, ArchType]) -> bool:
    """Does an argument of type `actual` fit `pattern` exactly? Binds `T` in `bindings`. The untyped NOT_SET
    fits any pattern and binds nothing."""
    if actual == NOT_SET_TYPE:
        return True
    if pattern == TYPE_VARIABLE:
        bound = bindings.get(TYPE_VARIABLE)
        if bound is None or bound == NOT_SET_TYPE:
            bindings[TYPE_VARIABLE] = actual
            return True
        return _same(bound, actual, bindings)
    if pattern == f"Collection({TYPE_VARIABLE})":
        if actual.element is None:
            return False
        return bind(TYPE_VARIABLE, actual.element, bindings)
    expected = type_named(pattern)
    return expected == actual or (expected.element is not None and actual.element == NOT_SET_TYPE)


def _same(bound: ArchType, actual: ArchType, bindings: dict[str, ArchType]) -> bool:
    """A second argument for an already bound `T`: equal, or one of them a collection of NOT_SET, or the
    Integer/Decimal pair (then `T` widens to Decimal, as If(b, 1, 2.5) is a number either way)."""
    if bound == actual:
        return True
    if {bound, actual} == {type_named("Integer"), type_named("Decimal")}:
        bindings[TYPE_VARIABLE] = type_named("Decimal")
        return True
    if bound.element is not None and actual.element is not None:
        if actual.element == NOT_SET_TYPE:
            return True
        if bound.element == NOT_SET_TYPE:
            bindings[TYPE_VARIABLE] = actual
            return True
    return False


def resolve(pattern: str, bindings: Mapping[str, ArchType]) -> ArchType:
    """The concrete type of `pattern` under `bindings`; an unbound `T` (e.g. MakeList(NOT_SET)) stays NOT_SET."""
    if pattern == TYPE_VARIABLE:
        return bindings.get(TYPE_VARIABLE, NOT_SET_TYPE)
    if pattern == f"Collection({TYPE_VARIABLE})":
        return collection(bindings.get(TYPE_VARIABLE, NOT_SET_TYPE))
    return type_named(pattern)


# --- implementations ---------------------------------------------------------------------------------------
# Each takes the runtime and the evaluated arguments. NOT_SET reaches only parameters marked `?`.

Implementation = Callable[..., object]


def _str(value: object, function: str) -> str:
    if not isinstance(value, str):
        raise ExpressionRuntimeError(f"{function}: expected a String, got {type(value).__name__}")
    return value


def _int(value: object, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExpressionRuntimeError(f"{function}: expected an Integer, got {type(value).__name__}")
    return value


def _list(value: object, function: str) -> list[object]:
    if not isinstance(value, list):
        raise ExpressionRuntimeError(f"{function}: expected a collection, got {type(value).__name__}")
    return value


def format_datetime(value: datetime) -> str:
    """A DateTime as text: ISO 8601 in UTC with milliseconds and a Z (unverified: the exact Architect format
    is not public; ToDateTime reads it back, as the CacheExample blueprint round-trips its cache time)."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_duration(value: timedelta) -> str:
    """A Duration as text, in the form Archy exports use for duration literals: P<d>D<h>H<m>M<s>S<ms>F
    (e.g. P0D0H0M15S0F in GenesysCloudBlueprints/limitless-flows-blueprint exports)."""
    total_ms = round(value.total_seconds() * 1000)
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    days, rest = divmod(total_ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{sign}P{days}D{hours}H{minutes}M{seconds}S{millis}F"


def to_text(value: object) -> str:
    """How a (set) value reads as a String."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, User):
        return value.name or value.id
    if isinstance(value, Queue):
        return value.name
    if isinstance(value, Skill):
        return value.name
    if isinstance(value, PhoneNumber):
        return value.e164 or value.raw
    if isinstance(value, AgentScorePair):
        return f"{to_text(value.user)}:{value.score}"
    if isinstance(value, list):
        # unverified: the text of a whole collection is not public; items joined with a comma.
        return ",".join("" if item is NOT_SET else to_text(item) for item in value)
    if isinstance(value, dict | float) or value is None:
        return json.dumps(value, separators=(",", ":"))
    raise ExpressionRuntimeError(f"cannot convert a {type(value).__name__} to a String")


def _add_item(_rt: Runtime, items: object, item: object) -> object:
    return [*_list(items, "AddItem"), item]


def _add_hours(_rt: Runtime, when: object, hours: object) -> object:
    if not isinstance(when, datetime):
        raise ExpressionRuntimeError("AddHours: expected a DateTime")
    return when + timedelta(hours=_int(hours, "AddHours"))


def _add_minutes(_rt: Runtime, when: object, minutes: object) -> object:
    if not isinstance(when, datetime):
        raise ExpressionRuntimeError("AddMinutes: expected a DateTime")
    return when + timedelta(minutes=_int(minutes, "AddMinutes"))


def _append(_rt: Runtime, *parts: object) -> object:
    return "".join(_str(p, "Append") for p in parts)


def _are_equal(_rt: Runtime, left: object, right: object) -> object:
    return _str(left, "AreEqual") == _str(right, "AreEqual")


def _contains(_rt: Runtime, text: object, part: object) -> object:
    return _str(part, "Contains") in _str(text, "Contains")


def _count(_rt: Runtime, items: object) -> object:
    return len(_list(items, "Count"))


def _date_time_diff(_rt: Runtime, first: object, second: object) -> object:
    # CacheExample: DateTimeDiff(GetCurrentDateTimeUtc(), ToDateTime(updated)) >= cacheDuration, i.e. first - second.
    if not isinstance(first, datetime) or not isinstance(second, datetime):
        raise ExpressionRuntimeError("DateTimeDiff: expected two DateTimes")
    return first - second


def _find_first(_rt: Runtime, items: object, wanted: object) -> object:
    # The CacheExample flow tests FindFirst(...) >= 0 before GetAt: -1 when absent, 0-based otherwise.
    values = _list(items, "FindFirst")
    return values.index(wanted) if wanted in values else -1


def _find_queue(rt: Runtime, name_or_id: object) -> object:
    queue = rt.find_queue(_str(name_or_id, "FindQueue"))
    return NOT_SET if queue is None else queue


def _find_skill(rt: Runtime, name: object) -> object:
    finder = getattr(rt, "find_skill", None)
    if finder is None:
        raise ExpressionRuntimeError("FindSkill: this run has no skill directory")
    skill = finder(_str(name, "FindSkill"))
    return NOT_SET if skill is None else skill


def _find_string(_rt: Runtime, text: object, part: object) -> object:
    return _str(text, "FindString").find(_str(part, "FindString"))


def _find_user_by_id(rt: Runtime, user_id: object) -> object:
    # An id the directory does not know gives NOT_SET (ARCHITECT-API; the wording of Architect's help for
    # FindUserById is not public).
    user = rt.find_user(_str(user_id, "FindUserById"))
    return NOT_SET if user is None else user


def _get_at(_rt: Runtime, items: object, index: object) -> object:
    values = _list(items, "GetAt")
    position = _int(index, "GetAt")
    if not 0 <= position < len(values):
        raise ExpressionRuntimeError(f"GetAt: index {position} is out of range (count {len(values)})")
    return values[position]


def _now(rt: Runtime) -> object:
    return rt.now()


def _get_json_object_property(_rt: Runtime, document: object, key: object) -> object:
    # unverified: a missing property is modelled as NOT_SET.
    name = _str(key, "GetJsonObjectProperty")
    if not isinstance(document, dict):
        raise ExpressionRuntimeError("GetJsonObjectProperty: the Json value is not an object")
    return document.get(name, NOT_SET)


def _if(_rt: Runtime, condition: object, when_true: object, when_false: object) -> object:
    if not isinstance(condition, bool):
        raise ExpressionRuntimeError("If: the condition is not a Boolean")
    return when_true if condition else when_false


def _is_not_set_or_empty(_rt: Runtime, value: object) -> object:
    return value is NOT_SET or value == "" or (isinstance(value, list) and not value)


def _is_set(_rt: Runtime, value: object) -> object:
    return value is not NOT_SET


def _json_parse(_rt: Runtime, text: object) -> object:
    try:
        return json.loads(_str(text, "JsonParse"), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ExpressionRuntimeError(f"JsonParse: not JSON ({exc.msg} at {exc.pos})") from None


def _non_negative(value: object, function: str) -> int:
    count = _int(value, function)
    if count < 0:
        raise ExpressionRuntimeError(f"{function}: a negative count ({count})")
    return count


def _left(_rt: Runtime, text: object, count: object) -> object:
    return _str(text, "Left")[: _non_negative(count, "Left")]


def _right(_rt: Runtime, text: object, count: object) -> object:
    n = _non_negative(count, "Right")
    return _str(text, "Right")[-n:] if n else ""


def _lower(_rt: Runtime, text: object) -> object:
    return _str(text, "Lower").lower()


def _make_agent_score_pair(_rt: Runtime, user: object, score: object) -> object:
    if not isinstance(user, User):
        raise ExpressionRuntimeError("MakeAgentScorePair: expected a User")
    return AgentScorePair(user, _int(score, "MakeAgentScorePair"))


def _make_duration(_rt: Runtime, days: object, hours: object, minutes: object, seconds: object, millis: object = 0) -> object:
    parts = [_int(v, "MakeDuration") for v in (days, hours, minutes, seconds, millis)]
    return timedelta(days=parts[0], hours=parts[1], minutes=parts[2], seconds=parts[3], milliseconds=parts[4])


def _make_list(_rt: Runtime, *items: object) -> object:
    return list(items)


def _make_list_agent_score_pair(_rt: Runtime, users: object, scores: object) -> object:
    people = _list(users, "MakeListAgentScorePair")
    values = _list(scores, "MakeListAgentScorePair")
    if len(people) != len(values):
        raise ExpressionRuntimeError(f"MakeListAgentScorePair: {len(people)} users but {len(values)} scores")
    pairs: list[object] = []
    for user, score in zip(people, values, strict=True):
        if user is NOT_SET or score is NOT_SET:
            raise ExpressionRuntimeError("MakeListAgentScorePair: a NOT_SET user or score")
        pairs.append(_make_agent_score_pair(_rt, user, score))
    return pairs


def _replace(_rt: Runtime, text: object, old: object, new: object) -> object:
    return _str(text, "Replace").replace(_str(old, "Replace"), _str(new, "Replace"))


def _split(_rt: Runtime, text: object, separator: object) -> object:
    sep = _str(separator, "Split")
    if not sep:
        raise ExpressionRuntimeError("Split: an empty separator")
    return _str(text, "Split").split(sep)


def _substring(_rt: Runtime, text: object, start: object, length: object) -> object:
    value = _str(text, "Substring")
    begin = _non_negative(start, "Substring")
    if begin > len(value):
        raise ExpressionRuntimeError(f"Substring: start {begin} is past the end (length {len(value)})")
    return value[begin : begin + _non_negative(length, "Substring")]


def _to_date_time(_rt: Runtime, text: object) -> object:
    raw = _str(text, "ToDateTime").strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ExpressionRuntimeError(f"ToDateTime: {raw!r} is not a date and time") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _to_decimal(_rt: Runtime, text: object) -> object:
    raw = _str(text, "ToDecimal").strip()
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ExpressionRuntimeError(f"ToDecimal: {raw!r} is not a number") from None


def _to_display_string(_rt: Runtime, value: object) -> object:
    return "" if value is NOT_SET else to_text(value)


def _to_int(_rt: Runtime, value: object) -> object:
    if isinstance(value, Decimal):
        return int(value)  # unverified: truncation toward zero
    raw = _str(value, "ToInt").strip()
    if not re.fullmatch(r"[-+]?\d+", raw):
        raise ExpressionRuntimeError(f"ToInt: {raw!r} is not an integer")
    return int(raw)


def _to_phone_number(_rt: Runtime, text: object) -> object:
    import phonenumbers  # imported here: it costs ~150 ms and only a run that parses a number needs it

    raw = _str(text, "ToPhoneNumber")
    try:
        number = phonenumbers.parse(raw.removeprefix("tel:"), None)
    except phonenumbers.NumberParseException:
        return PhoneNumber(raw, None)
    valid = phonenumbers.is_possible_number(number)
    return PhoneNumber(raw, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if valid else None)


def _to_string(_rt: Runtime, value: object, separator: object = None) -> object:
    if separator is not None:
        return _str(separator, "ToString").join(_str(item, "ToString") for item in _list(value, "ToString"))
    if value is NOT_SET:
        return NOT_SET  # help "Using NOT_SET expressions": ToString(NOT_SET) is a NOT_SET String
    return to_text(value)


def _trim(_rt: Runtime, text: object) -> object:
    return _str(text, "Trim").strip()


IMPLEMENTATIONS: Final[dict[str, Implementation]] = {
    "AddItem": _add_item,
    "AddHours": _add_hours,
    "AddMinutes": _add_minutes,
    "Append": _append,
    "AreEqual": _are_equal,
    "Contains": _contains,
    "Count": _count,
    "DateTimeDiff": _date_time_diff,
    "FindFirst": _find_first,
    "FindQueue": _find_queue,
    "FindQueueById": _find_queue,
    "FindSkill": _find_skill,
    "FindString": _find_string,
    "FindUserById": _find_user_by_id,
    "GetAt": _get_at,
    "GetCurrentDateTimeUtc": _now,
    "GetJsonObjectProperty": _get_json_object_property,
    "If": _if,
    "IsNotSetOrEmpty": _is_not_set_or_empty,
    "IsSet": _is_set,
    "JsonParse": _json_parse,
    "Left": _left,
    "Lower": _lower,
    "MakeAgentScorePair": _make_agent_score_pair,
    "MakeDuration": _make_duration,
    "MakeList": _make_list,
    "MakeListAgentScorePair": _make_list_agent_score_pair,
    "Replace": _replace,
    "Right": _right,
    "Split": _split,
    "Substring": _substring,
    "ToDateTime": _to_date_time,
    "ToDecimal": _to_decimal,
    "ToDisplayString": _to_display_string,
    "ToInt": _to_int,
    "ToPhoneNumber": _to_phone_number,
    "ToString": _to_string,
    "Trim": _trim,
}
