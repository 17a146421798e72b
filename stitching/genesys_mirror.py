"""Optional Genesys backend: mirror profiles into Genesys external contacts through an outbox.

Stitch, merge and unmerge write outbox rows in the same transaction as the change, so a Genesys outage
never loses or half-applies a mirror operation and never slows a stitch. A worker claims due rows with a
short lease (so several replicas never run the same row at once, and a crashed worker's rows come back),
calls the API (the client already honours 429 Retry-After and retries 5xx), and marks them done or backs off.

Operations:
- ``upsert_contact``: ``POST /api/v2/externalcontacts/contacts/enrich`` with ``action: Upsert`` keyed on the
  profile's verified identifiers (Genesys keeps one owner per identifier, so this never search-then-creates);
  the contact id is kept on the profile.
- ``associate_conversation``: ``PUT /api/v2/externalcontacts/conversations/{conversationId}``.
- ``merge_contacts``: ``POST /api/v2/externalcontacts/contacts/merge``. Genesys merges cannot be undone: an
  unmerge here re-upserts the restored profile, which claims its identifiers back into a new contact.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from genesys_identity.errors import GenesysApiError
from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from stitching.config import GenesysBackendSettings
from stitching.errors import StitchingError
from stitching.metrics import Metrics
from stitching.store.engine import Store, now_ms

log = logging.getLogger("stitching.genesys")

LEASE_MS = 60_000
MAX_BACKOFF_MS = 10 * 60_000
# Our identifier types -> Genesys ContactIdentifier types. OIDC subjects are not mirrored: Genesys links
# authenticated web messaging itself (identity resolution automerge).
IDENTIFIER_TYPES = {"phone": "Phone", "email": "Email", "crm": "ExternalId", "web_session": "Cookie"}
MEDIA_TYPES = {"sms": "SMS", "voice": "PHONE", "email": "EMAIL"}


class NotYet(StitchingError):
    """The operation depends on one not done yet (no contact id): retried later, not counted as a failure."""


class MirrorWorker:
    def __init__(self, store: Store, client: GenesysApiClient, division_id: str | None, metrics: Metrics | None = None,
                 interval_s: float = 1.0) -> None:
        self.store = store
        self.client = client
        self.division_id = division_id
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
        return cls(store, client, settings.division_id, metrics)

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
        for row_id, kind, payload, attempts in rows:
            try:
                self._run(kind, json.loads(payload))
            except NotYet:
                self._finish(row_id, None, attempts, retry_in_ms=2_000)
            except GenesysApiError as exc:
                log.warning("genesys mirror %s failed (attempt %d): %s", kind, attempts + 1, exc)
                self._finish(row_id, str(exc)[:500], attempts + 1, retry_in_ms=min(MAX_BACKOFF_MS, 1000 * 2 ** attempts))
            else:
                self._finish(row_id, None, attempts, retry_in_ms=None)
        if self.metrics is not None:
            with self.store.unit_of_work(write=False) as conn:
                pending = conn.one("SELECT count(*) FROM outbox WHERE done_at IS NULL")
            self.metrics.outbox_pending.set(int(pending[0]) if pending else 0)
        return len(rows)

    def _claim(self, limit: int) -> list[tuple[int, str, str, int]]:
        now = now_ms()
        with self.store.unit_of_work(["outbox"]) as conn:
            rows = conn.rows("SELECT id, kind, payload, attempts FROM outbox WHERE done_at IS NULL AND next_attempt_at <= ? "
                             "ORDER BY id LIMIT ?", (now, limit))
            for row in rows:
                conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (now + LEASE_MS, row[0]))
        return [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def _finish(self, row_id: int, error: str | None, attempts: int, retry_in_ms: int | None) -> None:
        now = now_ms()
        with self.store.unit_of_work(["outbox"]) as conn:
            if retry_in_ms is None:
                conn.execute("UPDATE outbox SET done_at = ?, last_error = NULL WHERE id = ?", (now, row_id))
            else:
                conn.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                             (attempts, now + retry_in_ms, error, row_id))

    def _run(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "upsert_contact":
            self._upsert(payload["profileId"])
        elif kind == "associate_conversation":
            contact = self._contact_id(payload["profileId"])
            if contact is None:
                raise NotYet("contact not mirrored yet")
            body = {"externalContactId": contact, "conversationId": payload["conversationId"],
                    "mediaType": MEDIA_TYPES.get(payload["channel"], "MESSAGE")}
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

    def _contact_id(self, profile_id: str) -> str | None:
        with self.store.unit_of_work(write=False) as conn:
            row = conn.one("SELECT external_contact_id FROM profiles WHERE id = ?", (profile_id,))
        return str(row[0]) if row and row[0] else None

    def _upsert(self, profile_id: str) -> None:
        with self.store.unit_of_work(write=False) as conn:
            status = conn.one("SELECT status, external_contact_id FROM profiles WHERE id = ?", (profile_id,))
            links = conn.rows("SELECT type, value FROM links WHERE profile_id = ? AND verified ORDER BY created_at, type",
                              (profile_id,))
        if status is None or status[0] != "active":
            return  # merged since: the survivor's own upsert covers it
        identifiers = [{"type": IDENTIFIER_TYPES[kind], "value": value} for kind, value in links if kind in IDENTIFIER_TYPES]
        if not identifiers:
            return  # an anonymous profile: nothing Genesys could key a contact on
        body: dict[str, Any] = {"matchingIdentifiers": identifiers[:25], "action": "Upsert", "contact": {}}
        if self.division_id:
            body["division"] = {"id": self.division_id}
        if status[1]:
            body["id"] = status[1]
        contact = self.client.post("/api/v2/externalcontacts/contacts/enrich", body)
        with self.store.unit_of_work([f"profile:{profile_id}"]) as conn:
            conn.execute("UPDATE profiles SET external_contact_id = ? WHERE id = ?", (contact["id"], profile_id))
