"""What a flow run is started with: one inbound message (SMS or web messaging), or a workflow's input variables.

The message file (JSON)::

    {"channel": "sms", "from": "+15552017788", "text": "Hi, it's me again",
     "conversationId": "optional; a fresh UUID when absent"}

    {"channel": "webmessaging", "text": "Hello",
     "authenticated": {"sub": "alice-1001", "email": "alice@example.com", "name": "Alice Smith"},
     "database": {"customerPhone": "+15552017788", "webSessionId": "web-session-7f3a"}}

    {"workflow": {"Flow.conversationId": "c-1", "Flow.agentId": "6f1a3c2e-..."}}

- SMS: the sender's number arrives as ``Message.Message.senderAddress`` (a real SMS flow export reads it so:
  GenesysCloudBlueprints/automatic-offer-callback-for-disconnected-call, ``SMS Schedule Callback.i3InboundMessage``;
  help "Use the String Builder"). ``text`` is ``Message.Message.body``.
- Web messaging: ``authenticated`` present means an authenticated session: ``Message.IsAuthenticated`` is true and
  ``senderAddressInfo.addressDisplayable``/``.email``/``.name`` carry the OIDC ``sub``, ``email`` and ``name``
  claims (Resource Center, "Authenticated web messaging attributes", ?p=257026). Absent (or null) means a guest:
  ``IsAuthenticated`` false and no claims (NOT_SET).
- ``database``: the custom attributes the website set with the Messenger SDK's ``Database.set`` (``messaging.
  customAttributes``; developer center, Messenger SDK "Database plugin"); a flow reads each as participant data
  ``Context.<name>`` with getParticipantData.
- ``workflow``: values for the workflow's input variables (``isInput: true``), by full name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesys_identity.errors import GenesysIdentityError

CHANNELS = ("sms", "webmessaging")


class MessageFileError(GenesysIdentityError):
    """The message file cannot be read or has a wrong shape; the message names the file and the field."""


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "sms" | "webmessaging"
    text: str
    conversation_id: str
    message_id: str = ""
    sender: str | None = None  # SMS: the sender's number
    claims: Mapping[str, str] | None = None  # web: None = guest
    database: Mapping[str, str] = field(default_factory=dict)  # web: Database.set custom attributes

    @property
    def authenticated(self) -> bool:
        return self.claims is not None


@dataclass(frozen=True)
class WorkflowStart:
    inputs: Mapping[str, Any]


Start = InboundMessage | WorkflowStart


def load(path: Path) -> Start:
    try:
        text = path.read_text()
    except OSError as exc:
        raise MessageFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MessageFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    return parse(document, str(path))


def parse(document: Any, label: str = "message") -> Start:
    if not isinstance(document, dict):
        raise MessageFileError(f"{label}: must be a JSON object")
    if "workflow" in document:
        _only(document, {"workflow"}, label)
        inputs = document["workflow"]
        if not isinstance(inputs, dict) or not all(isinstance(k, str) for k in inputs):
            raise MessageFileError(f"{label}: workflow must be an object of input variables by name")
        return WorkflowStart(dict(inputs))
    channel = document.get("channel")
    if channel not in CHANNELS:
        raise MessageFileError(f"{label}: channel must be one of {', '.join(CHANNELS)} (got {channel!r}), "
                               "or give 'workflow' inputs")
    common = {"channel", "text", "conversationId"}
    text = _string(document, "text", label, default="")
    conversation = _string(document, "conversationId", label, default="") or str(uuid.uuid4())
    if channel == "sms":
        _only(document, common | {"from"}, label)
        sender = _string(document, "from", label)
        if not sender:
            raise MessageFileError(f"{label}: from: an SMS needs the sender's number")
        return InboundMessage("sms", text, conversation, str(uuid.uuid4()), sender=sender)
    _only(document, common | {"authenticated", "database"}, label)
    claims = document.get("authenticated")
    if claims is not None:
        if not isinstance(claims, dict):
            raise MessageFileError(f"{label}: authenticated must be an object of OIDC claims (sub, email, name) or null")
        _only(claims, {"sub", "email", "name"}, f"{label}: authenticated")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise MessageFileError(f"{label}: authenticated.sub: an authenticated session always has the sub claim")
        for key in ("email", "name"):
            if key in claims and not isinstance(claims[key], str):
                raise MessageFileError(f"{label}: authenticated.{key} must be a string")
    database = document.get("database") or {}
    if not isinstance(database, dict) or not all(isinstance(v, str) for v in database.values()):
        raise MessageFileError(f"{label}: database must be an object of string values (Database.set customAttributes)")
    return InboundMessage("webmessaging", text, conversation, str(uuid.uuid4()),
                          claims=dict(claims) if claims is not None else None,
                          database=dict(database))


def _only(document: Mapping[str, Any], allowed: set[str], label: str) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise MessageFileError(f"{label}: unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _string(document: Mapping[str, Any], key: str, label: str, default: str | None = None) -> str:
    value = document.get(key, default)
    if not isinstance(value, str):
        raise MessageFileError(f"{label}: {key} must be a string" if key in document else f"{label}: {key} is missing")
    return value
