"""Reading Genesys journey sessions for the last connected agent (optional Genesys backend).

Used by ``context`` when the service itself has no agent recorded for a profile within the window but the
profile is mirrored to a Genesys external contact: the contact's journey sessions name the last connected
user and queue of each conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from genesys_identity.errors import GenesysApiError
from genesys_identity.genesys.rest import GenesysApiClient

MAX_PAGES = 5


@dataclass(frozen=True)
class JourneyHit:
    conversation_id: str | None
    channel: str | None
    agent_id: str
    queue_id: str | None
    wrapup_code: str | None
    at: int  # epoch ms of the session's end (or start, while it is open)
    authenticated: bool


class JourneyReader(Protocol):
    def last_connected(self, external_contact_id: str, since: int, until: int) -> JourneyHit | None: ...


class GenesysJourneyReader:
    def __init__(self, client: GenesysApiClient) -> None:
        self.client = client

    def last_connected(self, external_contact_id: str, since: int, until: int) -> JourneyHit | None:
        # The sessions of every contact merged into this one too (includeMerged), 200 a page (the maximum), following
        # the listing's nextUri cursor for a few pages.
        path: str | None = (f"/api/v2/externalcontacts/contacts/{external_contact_id}/journey/sessions"
                            "?pageSize=200&includeMerged=true")
        sessions: list[dict[str, Any]] = []
        try:
            for _ in range(MAX_PAGES):
                if not path:
                    break
                page = self.client.get(path) or {}
                sessions += [s for s in page.get("entities") or [] if isinstance(s, dict)]
                next_uri = page.get("nextUri")
                path = str(next_uri) if isinstance(next_uri, str) and next_uri.startswith("/api/v2/") else None
        except GenesysApiError:
            return None  # context still answers from the service's own records; never a 500 for Genesys' outage
        best: JourneyHit | None = None
        for session in sessions:
            hit = _hit(session)
            if hit is None or not since <= hit.at <= until:
                continue
            if best is None or hit.at > best.at:
                best = hit
        return best


# ConversationChannel: ``type`` is the media (Messaging, Message, Call, ...); the messaging platform is
# ``messageType`` (Sms, WebMessaging, ...). Both map to the service's channel names.
MESSAGE_TYPES = {"Sms": "sms", "WebMessaging": "web", "WhatsApp": "whatsapp", "Facebook": "facebook",
                 "Instagram": "instagram", "Line": "line", "Apple": "apple", "Twitter": "twitter", "Open": "open"}
MEDIA_CHANNELS = {"Call": "voice", "Voice": "voice", "Callback": "voice", "Email": "email"}


def _channel(entry: dict[str, Any]) -> str | None:
    message_type = entry.get("messageType")
    if message_type and message_type != "Unknown":
        return MESSAGE_TYPES.get(str(message_type), str(message_type).lower())
    return MEDIA_CHANNELS.get(str(entry.get("type")))


def _hit(session: dict[str, Any]) -> JourneyHit | None:
    user = (session.get("lastConnectedUser") or {}).get("id")
    stamp = session.get("endedDate") or session.get("createdDate")
    if not user or not stamp:
        return None
    try:
        at = int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
    channels = session.get("conversationChannels") or []
    channel = _channel(channels[0]) if channels and isinstance(channels[0], dict) else None
    disposition = session.get("lastUserDisposition") or {}
    return JourneyHit(
        conversation_id=(session.get("conversation") or {}).get("id"),
        channel=channel,
        agent_id=str(user),
        queue_id=(session.get("lastConnectedQueue") or {}).get("id"),
        wrapup_code=disposition.get("code") if isinstance(disposition, dict) else None,
        at=at,
        authenticated=bool(session.get("authenticated")),
    )
