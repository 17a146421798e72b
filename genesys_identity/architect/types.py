"""Architect data types and the runtime values that stand for them.

Type names are spelled as Architect spells them in its expression help and its variable pickers (String,
Integer, Decimal, Boolean, Json, User, Queue, AgentScorePair, Duration, DateTime, ...). A collection is
`ArchType("Collection", element)`, printed `Collection(String)`.

Runtime values used by the evaluator: str, int, decimal.Decimal, bool, Json as parsed (dict, list, str, number,
bool), list (collections),
`User`, `Queue`, `Skill`, `PhoneNumber`, `AgentScorePair`, datetime.timedelta (Duration), datetime.datetime
(DateTime, UTC), dict (ShortMessage / ExternalContact: members by name), and the `NOT_SET` sentinel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ArchType:
    """One Architect data type; `element` is set only for collections."""

    name: str
    element: ArchType | None = None

    @property
    def is_collection(self) -> bool:
        return self.name == "Collection"

    def __str__(self) -> str:
        if self.element is not None:
            return f"Collection({self.element})"
        return self.name


STRING: Final = ArchType("String")
INTEGER: Final = ArchType("Integer")
DECIMAL: Final = ArchType("Decimal")
BOOLEAN: Final = ArchType("Boolean")
JSON: Final = ArchType("Json")
USER: Final = ArchType("User")
QUEUE: Final = ArchType("Queue")
GROUP: Final = ArchType("Group")
SKILL: Final = ArchType("Skill")
LANGUAGE: Final = ArchType("Language")
LANGUAGE_SKILL: Final = ArchType("LanguageSkill")
AGENT_SCORE_PAIR: Final = ArchType("AgentScorePair")
DURATION: Final = ArchType("Duration")
DATETIME: Final = ArchType("DateTime")
DATE: Final = ArchType("Date")
TIME: Final = ArchType("Time")
CURRENCY: Final = ArchType("Currency")
COMMUNICATION: Final = ArchType("Communication")
PHONE_NUMBER: Final = ArchType("PhoneNumber")
EMAIL: Final = ArchType("Email")
WRAPUP_CODE: Final = ArchType("WrapupCode")
SHORT_MESSAGE: Final = ArchType("ShortMessage")
EXTERNAL_CONTACT: Final = ArchType("ExternalContact")

# The type of the bare literal NOT_SET before context gives it one: it fits wherever a value is expected
# (help "Using NOT_SET expressions": NOT_SET applies to scalar values of any type).
NOT_SET_TYPE: Final = ArchType("NOT_SET")

SCALARS: Final[dict[str, ArchType]] = {
    t.name: t
    for t in (
        STRING, INTEGER, DECIMAL, BOOLEAN, JSON, USER, QUEUE, GROUP, SKILL, LANGUAGE, LANGUAGE_SKILL,
        AGENT_SCORE_PAIR, DURATION, DATETIME, DATE, TIME, CURRENCY, COMMUNICATION, PHONE_NUMBER, EMAIL,
        WRAPUP_CODE, SHORT_MESSAGE, EXTERNAL_CONTACT,
    )
}


def collection(element: ArchType) -> ArchType:
    """The collection type of `element` (Architect has no collections of collections)."""
    if element.is_collection:
        raise ValueError(f"Architect has no collection of collections: Collection({element})")
    return ArchType("Collection", element)


def type_named(name: str) -> ArchType:
    """`String` -> STRING, `Collection(User)` -> collection(USER); unknown name -> KeyError."""
    if name.startswith("Collection(") and name.endswith(")"):
        return collection(SCALARS[name[len("Collection(") : -1]])
    return SCALARS[name]


# Archy's variable kinds (the keys under a flow's `variables:`), without the `Variable` / `CollectionVariable`
# suffix. Spellings seen in real Archy exports, e.g. `agentScorePairCollectionVariable`
# (GenesysCloudBlueprints/switch-voice-to-web-messaging, inbound-message-flow YAML) and `stringVariable`,
# `integerVariable`, `booleanVariable` (GenesysCloudBlueprints/design-architect-flow-data-actions-for-resiliency
# blueprint/src/CacheExampleFlow.yaml).
_KIND_PREFIXES: Final[dict[str, ArchType]] = {
    "string": STRING,
    "integer": INTEGER,
    "decimal": DECIMAL,
    "boolean": BOOLEAN,
    "json": JSON,
    "user": USER,
    "queue": QUEUE,
    "group": GROUP,
    "skill": SKILL,
    "languageSkill": LANGUAGE_SKILL,
    "agentScorePair": AGENT_SCORE_PAIR,
    "duration": DURATION,
    "dateTime": DATETIME,
    "date": DATE,
    "time": TIME,
    "currency": CURRENCY,
    "communication": COMMUNICATION,
    "phoneNumber": PHONE_NUMBER,
    "wrapupCode": WRAPUP_CODE,
    # GenesysCloudBlueprints/send-message-transcript-by-email
    # terraform/modules/flow/send-message-transcript-to-customer-by-email.yaml
    "externalContact": EXTERNAL_CONTACT,
}


def variable_kind_type(kind: str) -> ArchType:
    """The Architect type of an Archy variable kind: `stringVariable` -> String,
    `agentScorePairCollectionVariable` -> Collection(AgentScorePair). Unknown kind -> KeyError."""
    if kind.endswith("CollectionVariable"):
        return collection(_KIND_PREFIXES[kind[: -len("CollectionVariable")]])
    if kind.endswith("Variable"):
        return _KIND_PREFIXES[kind[: -len("Variable")]]
    raise KeyError(kind)


class _NotSet:
    """Architect's NOT_SET: a scalar value that is not defined (help "Using NOT_SET expressions")."""

    _instance: _NotSet | None = None

    def __new__(cls) -> _NotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_SET"

    def __bool__(self) -> bool:
        raise TypeError("NOT_SET has no truth value; test it with IsSet/IsNotSetOrEmpty")

    def __reduce__(self) -> str:
        return "NOT_SET"


NOT_SET: Final = _NotSet()


@dataclass(frozen=True)
class User:
    """A Genesys Cloud user as a flow sees it (FindUserById returns one)."""

    id: str
    name: str | None = None


@dataclass(frozen=True)
class Queue:
    """An ACD queue as a flow sees it; a literal queue in Archy is given by name."""

    id: str | None
    name: str


@dataclass(frozen=True)
class PhoneNumber:
    """A parsed phone number (ToPhoneNumber); `e164` is NOT_SET-like None when the text is no valid number."""

    raw: str
    e164: str | None


@dataclass(frozen=True)
class Skill:
    """An ACD skill (FindSkill)."""

    id: str | None
    name: str


@dataclass(frozen=True)
class AgentScorePair:
    """A preferred agent and its score (MakeAgentScorePair)."""

    user: User
    score: int
