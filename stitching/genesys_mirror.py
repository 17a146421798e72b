"""Optional Genesys backend: mirror profiles into Genesys external contacts through an outbox.

Stitch, merge and unmerge write outbox rows in the same transaction as the change, so a Genesys outage
never loses or half-applies a mirror operation and never slows a stitch. A worker claims due rows with a
short lease (so several replicas never run the same row at once, and a crashed worker's rows come back),
calls the API (the client already honours 429 Retry-After and retries 5xx), and marks them done or backs off.

Operations (bodies as the Platform API models define them, checked against the official SDK in the tests):
- ``upsert_contact``: ``POST /api/v2/externalcontacts/contacts/enrich`` (``ContactEnrichRequest``) with
  ``action: Upsert`` keyed on the profile's verified identifiers (Genesys keeps one owner per identifier, so
  this never search-then-creates); the contact id is kept on the profile. The request's ``id`` is a tracker
  for bulk enrich and selects nothing, so it is never sent. A CRM id is an ``ExternalId`` identifier of the
  stack's CRM external source (``STITCHING_GENESYS_EXTERNAL_SOURCE_ID``; without it CRM ids stay here). A
  website's session id is not mirrored: Genesys' ``Cookie`` identifier is its own journey-tracking cookie.
- ``associate_conversation``: ``PUT /api/v2/externalcontacts/conversations/{conversationId}``
  (``ConversationAssociation``: conversation, the customer's communication, media type ``MESSAGE`` for SMS,
  web messaging and the other messaging channels, ``CALL`` for voice, ``EMAIL``). The communication id is
  read from the conversation (``GET /api/v2/conversations/{id}``, the customer participant's communication).
- ``merge_contacts``: ``POST /api/v2/externalcontacts/contacts/merge``. Genesys merges cannot be undone: an
  unmerge here re-upserts the restored profile, which claims its identifiers back into a new contact.

A 4xx answer that retrying cannot change (400, 403, 404, 422, ...) is a dead letter: the row leaves the queue
(``done_at`` set, ``last_error`` kept), the ``stitching_genesys_dead_letters_total`` metric counts it and the
profile's audit trail records it. 408, 409, 423 and 429 are retried like outages.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from genesys_identity.errors import GenesysApiError
from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from stitching.config import GenesysBackendSettings
from stitching.errors import StitchingError
from stitching.metrics import Metrics
from stitching.store import repository as repo
from stitching.store.engine import Store, now_ms

log = logging.getLogger("stitching.genesys")

LEASE_MS = 60_000
MAX_BACKOFF_MS = 10 * 60_000
# An operation waiting for a contact (an anonymous profile's conversation) backs off and, after this long, is
# dead-lettered instead of being polled forever.
NOT_YET_LIMIT_MS = 24 * 3600_000
# Our identifier types -> Genesys ContactIdentifier types. OIDC subjects are not mirrored: Genesys links
# authenticated web messaging itself (identity resolution automerge). Web session ids are the website's
# own, not Genesys journey cookies, so they have no Genesys type.
IDENTIFIER_TYPES = {"phone": "Phone", "email": "Email", "crm": "ExternalId"}
# Our channels -> ConversationAssociation.mediaType (allowed: CALL, CALLBACK, CHAT, COBROWSE, EMAIL, MESSAGE, ...).
MEDIA_TYPES = {"web": "MESSAGE", "sms": "MESSAGE", "whatsapp": "MESSAGE", "facebook": "MESSAGE", "instagram": "MESSAGE",
               "line": "MESSAGE", "apple": "MESSAGE", "voice": "CALL", "email": "EMAIL"}
# The Participant list of each media type's communications (Conversation.participants[].<list>[].id).
COMMUNICATIONS = {"MESSAGE": "messages", "CALL": "calls", "EMAIL": "emails"}
CUSTOMER_PURPOSES = ("customer", "external")
# 4xx answers a later attempt may get past: timeout, conflict, locked, rate limit (the client retried it already).
RETRYABLE_4XX = frozenset({408, 409, 423, 429})


class DeadLetter(StitchingError):
    """Genesys refused the operation for good, or it can never be built (no such conversation)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


class NotYet(StitchingError):
    """The operation depends on one not done yet (no contact id): retried later, not counted as a failure."""


class MirrorWorker:
    def __init__(self, store: Store, client: GenesysApiClient, division_id: str | None, metrics: Metrics | None = None,
                 interval_s: float = 1.0, external_source_id: str | None = None,
                 clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock  # epoch ms, the service's clock (tests inject theirs)
        self.store = store
        self.client = client
        self.division_id = division_id
        self.external_source_id = external_source_id
        self.metrics = metrics
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: GenesysBackendSettings, metrics: Metrics | None = None) -> MirrorWorker:
        credentials = ClientCredentials(settings.client_id, settings.client_secret)
        if settings.api_base:
            client = GenesysApiClient(api_base=settings.api_base, login_base=settings.api_base, credentials=credentials)
        else:
            client = GenesysApiClient.for_region(settings.region, credentials)
        return cls(store, client, settings.division_id, metrics, external_source_id=settings.external_source_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="genesys-mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.drain() == 0:
                    self._stop.wait(self.interval_s)
            except StitchingError as exc:  # database down: try again later, keep the worker alive
                log.warning("genesys mirror paused: %s", exc)
                self._stop.wait(self.interval_s * 5)

    def drain(self, limit: int = 50) -> int:
        """Run the due operations once; returns how many were attempted."""
        rows = self._claim(limit)
        for row_id, kind, payload, attempts, created_at in rows:
            try:
                self._run(kind, json.loads(payload))
            except NotYet as exc:
                if self.clock() - created_at > NOT_YET_LIMIT_MS:
                    self._dead_letter(row_id, kind, json.loads(payload), f"{exc} after 24 hours", None, attempts + 1)
                else:
                    self._finish(row_id, None, attempts + 1, retry_in_ms=min(MAX_BACKOFF_MS, 2_000 * 2 ** attempts))
            except DeadLetter as exc:
                self._dead_letter(row_id, kind, json.loads(payload), str(exc), exc.status, attempts + 1)
            except GenesysApiError as exc:
                if exc.status is not None and 400 <= exc.status < 500 and exc.status not in RETRYABLE_4XX:
                    self._dead_letter(row_id, kind, json.loads(payload), str(exc), exc.status, attempts + 1)
                    continue
                log.warning("genesys mirror %s failed (attempt %d): %s", kind, attempts + 1, exc)
                self._finish(row_id, str(exc)[:500], attempts + 1, retry_in_ms=min(MAX_BACKOFF_MS, 1000 * 2 ** attempts))
            else:
                self._finish(row_id, None, attempts, retry_in_ms=None)
        if self.metrics is not None:
            with self.store.unit_of_work(write=False) as conn:
                pending = conn.one("SELECT count(*) FROM outbox WHERE done_at IS NULL")
            self.metrics.outbox_pending.set(int(pending[0]) if pending else 0)
        return len(rows)

    def _claim(self, limit: int) -> list[tuple[int, str, str, int, int]]:
        now = self.clock()
        with self.store.unit_of_work(["outbox"]) as conn:
            rows = conn.rows("SELECT id, kind, payload, attempts, created_at FROM outbox WHERE done_at IS NULL "
                             "AND next_attempt_at <= ? "
                             "ORDER BY id LIMIT ?", (now, limit))
            for row in rows:
                conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (now + LEASE_MS, row[0]))
        return [(int(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows]

    def _finish(self, row_id: int, error: str | None, attempts: int, retry_in_ms: int | None) -> None:
        now = self.clock()
        with self.store.unit_of_work(["outbox"]) as conn:
            if retry_in_ms is None:
                conn.execute("UPDATE outbox SET done_at = ?, last_error = NULL WHERE id = ?", (now, row_id))
            else:
                conn.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                             (attempts, now + retry_in_ms, error, row_id))

    def _dead_letter(self, row_id: int, kind: str, payload: dict[str, Any], error: str, status: int | None,
                     attempts: int) -> None:
        """Take the row out of the queue for good, count it and write it to the profile's audit trail."""
        log.error("genesys mirror %s dead-lettered (HTTP %s): %s", kind, status, error)
        now = self.clock()
        profile_id = payload.get("profileId") or payload.get("survivorId")
        with self.store.unit_of_work(["outbox"]) as conn:
            conn.execute("UPDATE outbox SET attempts = ?, done_at = ?, last_error = ? WHERE id = ?",
                         (attempts, now, f"dead letter: {error}"[:500], row_id))
            repo.audit(conn, now, "genesys_mirror", "dead_letter", profile_id=profile_id,
                       other_profile_id=payload.get("absorbedId"), conversation_id=payload.get("conversationId"),
                       detail={"operation": kind, "status": status, "outboxId": row_id, "error": error[:300]})
        if self.metrics is not None:
            self.metrics.dead_letters.labels(kind=kind, status=str(status or "none")).inc()

    def _communication_id(self, conversation_id: str, media_type: str) -> str:
        """The customer's communication of ``media_type`` in the conversation (``Conversation.participants``)."""
        conversation = self.client.get(f"/api/v2/conversations/{conversation_id}") or {}
        field = COMMUNICATIONS.get(media_type)
        for participant in conversation.get("participants") or []:
            if participant.get("purpose") not in CUSTOMER_PURPOSES or field is None:
                continue
            for communication in participant.get(field) or []:
                if communication.get("id"):
                    return str(communication["id"])
        raise DeadLetter(f"conversation {conversation_id} has no customer {media_type} communication", None)

    def _run(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "upsert_contact":
            self._upsert(payload["profileId"])
        elif kind == "associate_conversation":
            contact = self._contact_id(payload["profileId"], follow_merges=True)
            if contact is None:
                raise NotYet("contact not mirrored yet")
            media_type = MEDIA_TYPES.get(payload["channel"])
            if media_type is None:
                raise DeadLetter(f"channel {payload['channel']!r} has no Genesys media type", None)
            # externalContactId names the contact (the path names only the conversation).
            body = {"externalContactId": contact, "conversationId": payload["conversationId"],
                    "communicationId": self._communication_id(payload["conversationId"], media_type),
                    "mediaType": media_type}
            self.client.put(f"/api/v2/externalcontacts/conversations/{payload['conversationId']}", body)
        elif kind == "merge_contacts":
            survivor, absorbed = self._contact_id(payload["survivorId"]), self._contact_id(payload["absorbedId"])
            if absorbed is None:
                return  # the absorbed profile never reached Genesys: the survivor's upsert carries its identifiers
            if survivor is None:
                raise NotYet("survivor not mirrored yet")
            merged = self.client.post("/api/v2/externalcontacts/contacts/merge", {"contactIds": [survivor, absorbed]})
            with self.store.unit_of_work([f"profile:{payload['survivorId']}"]) as conn:
                conn.execute("UPDATE profiles SET external_contact_id = ? WHERE id = ?", (merged["id"], payload["survivorId"]))
                conn.execute("UPDATE profiles SET external_contact_id = NULL WHERE id = ?", (payload["absorbedId"],))
        else:
            log.error("unknown outbox operation %r skipped", kind)

    def _identifier(self, kind: str, value: str) -> dict[str, Any] | None:
        genesys_type = IDENTIFIER_TYPES.get(kind)
        if genesys_type is None:
            return None
        if genesys_type == "ExternalId":
            if not self.external_source_id:
                return None  # an ExternalId belongs to an external source; without one it cannot be mirrored
            return {"type": genesys_type, "value": value, "externalSource": {"id": self.external_source_id}}
        return {"type": genesys_type, "value": value}

    def _contact_id(self, profile_id: str, *, follow_merges: bool = False) -> str | None:
        """The profile's contact; with ``follow_merges``, that of the profile it was merged into, if so."""
        with self.store.unit_of_work(write=False) as conn:
            for _ in range(16):  # a merge chain is short; the bound only guards against a cycle
                row = conn.one("SELECT external_contact_id, status, merged_into FROM profiles WHERE id = ?", (profile_id,))
                if row is None:
                    return None
                if row[0] or not follow_merges or row[1] != "merged" or not row[2]:
                    return str(row[0]) if row[0] else None
                profile_id = str(row[2])
        return None

    def _upsert(self, profile_id: str) -> None:
        with self.store.unit_of_work(write=False) as conn:
            status = conn.one("SELECT status, external_contact_id FROM profiles WHERE id = ?", (profile_id,))
            links = conn.rows("SELECT type, value FROM links WHERE profile_id = ? AND verified ORDER BY created_at, type",
                              (profile_id,))
        if status is None or status[0] != "active":
            return  # merged since: the survivor's own upsert covers it
        identifiers = [identifier for kind, value in links if (identifier := self._identifier(kind, value)) is not None]
        if not identifiers:
            return  # an anonymous profile: nothing Genesys could key a contact on
        # No ``id``: it is a bulk-enrich tracker, not a contact selector; the identifiers find the contact.
        body: dict[str, Any] = {"matchingIdentifiers": identifiers[:25], "action": "Upsert"}
        if self.division_id:
            body["division"] = {"id": self.division_id}
        contact = self.client.post("/api/v2/externalcontacts/contacts/enrich", body)
        with self.store.unit_of_work([f"profile:{profile_id}"]) as conn:
            conn.execute("UPDATE profiles SET external_contact_id = ? WHERE id = ?", (contact["id"], profile_id))
