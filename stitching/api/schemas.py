"""Request and response bodies of the HTTP API. Field names are what the data actions send and read.

Data actions render absent inputs as empty strings, so an empty optional field means "not given". Every
text field has a length limit; unknown fields are refused (a misspelled field must not be ignored silently).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

CHANNELS = ("web", "sms", "voice", "whatsapp", "facebook", "instagram", "line", "email", "apple")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


_Blank = BeforeValidator(_blank_is_none)
Text10 = Annotated[Annotated[str, StringConstraints(max_length=10)] | None, _Blank]
Text64 = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, _Blank]
Text100 = Annotated[Annotated[str, StringConstraints(max_length=100)] | None, _Blank]
Text128 = Annotated[Annotated[str, StringConstraints(max_length=128)] | None, _Blank]
Text200 = Annotated[Annotated[str, StringConstraints(max_length=200)] | None, _Blank]
Text255 = Annotated[Annotated[str, StringConstraints(max_length=255)] | None, _Blank]
Text500 = Annotated[Annotated[str, StringConstraints(max_length=500)] | None, _Blank]


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
OptionalId = Annotated[Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")] | None,
                       BeforeValidator(_blank_is_none)]
Flag = Annotated[bool, BeforeValidator(lambda v: False if v in ("", None) else v)]
EventTime = Annotated[datetime | None, BeforeValidator(_blank_is_none), Field(default=None)]


# U+0000-U+001F, U+007F and the surrogate range (one compiled scan instead of a Python loop over every character).
_FORBIDDEN_CHAR = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """No NUL or other control character in any text (PostgreSQL cannot store NUL; SQLite must answer the same)."""
        if isinstance(value, str) and _FORBIDDEN_CHAR.search(value):
            raise ValueError("contains a NUL, a control character or a lone surrogate")
        return value


class StitchBody(_Body):
    channel: Literal["web", "sms", "voice", "whatsapp", "facebook", "instagram", "line", "email", "apple"]
    conversationId: Id
    oidcIssuer: Text255 = None
    oidcSubject: Text255 = None
    oidcVerified: Flag = False
    crmId: Text128 = None
    crmIdVerified: Flag = False
    phone: Text64 = None
    phoneVerified: Flag = False
    email: Text255 = None
    emailVerified: Flag = False
    webSessionId: OptionalId = None
    lastName: Text100 = None
    dateOfBirth: Text10 = None
    occurredAt: EventTime = None


Source = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Anchor(_Body):
    """Whose identifiers these are: an OIDC login (issuer and subject) or a CRM id."""

    oidcIssuer: Text255 = None
    oidcSubject: Text255 = None
    crmId: Text128 = None


class EnrollBody(_Body):
    source: Source
    anchor: Anchor
    phone: Text64 = None
    email: Text255 = None
    crmId: Text128 = None
    lastName: Text100 = None
    dateOfBirth: Text10 = None
    occurredAt: EventTime = None


class RecordBody(_Body):
    conversationId: Id
    agentId: OptionalId = None
    queueId: OptionalId = None
    topic: Text200 = None
    wrapupCode: Text128 = None
    occurredAt: EventTime = None


class EndSessionBody(_Body):
    webSessionId: Id
    reason: Literal["logout", "timeout", "admin"] = "logout"
    occurredAt: EventTime = None


class UnmergeBody(_Body):
    note: Text500 = None


class UnlinkBody(_Body):
    type: Literal["oidc", "crm", "phone", "email", "web_session"]
    value: Annotated[str, Field(min_length=1, max_length=512)]
    note: Text500 = None


class Outcome(BaseModel):
    type: str
    result: Literal["matched", "linked", "suggested", "refused"]
    reason: str


class MergeMade(BaseModel):
    mergeId: str
    absorbedProfileId: str
    reason: str


class StitchResponse(BaseModel):
    profileId: str
    conversationId: str
    decision: Literal["created", "matched", "merged"]
    created: bool
    verified: bool
    outcomes: list[Outcome]
    merges: list[MergeMade]
    summary: str


class ContextResponse(BaseModel):
    found: bool
    profileId: str | None
    advised: bool
    reason: str
    channel: str | None
    agentId: str | None
    queueId: str | None
    topic: str | None
    wrapupCode: str | None
    minutesAgo: int | None
    conversationId: str | None


class RecordResponse(BaseModel):
    conversationId: str
    profileId: str
    recorded: bool
    staleSession: bool


class EndSessionResponse(BaseModel):
    webSessionId: str
    ended: bool
    alreadyEnded: bool


class UnmergeResponse(BaseModel):
    mergeId: str
    restoredProfileId: str
    survivorProfileId: str
    restoredLinks: int
    linksGoneSinceMerge: int


class UnlinkResponse(BaseModel):
    profileId: str
    type: str
    unlinked: bool


class ErrorResponse(BaseModel):
    error: str
    message: str
    field: str | None = None


class EnrollResponse(BaseModel):
    profileId: str
    source: str
    decision: Literal["created", "matched", "merged"]
    created: bool
    outcomes: list[Outcome]
    merges: list[MergeMade]
    summary: str
