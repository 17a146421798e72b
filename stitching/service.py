"""The service's use cases: each is one unit of work (locks, read, decide, write, audit, idempotency).

The API parses HTTP into the request objects below and maps the exceptions of ``stitching.errors`` to
statuses; nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from stitching import journey
from stitching.config import ServiceSettings
from stitching.domain.identifiers import (
    Identifier,
    IdentifierError,
    IdentifierType,
    normalize_email,
    normalize_oidc,
    normalize_opaque,
    normalize_phone,
)
from stitching.domain.rules import Claim, Decision, Policy, Result, Traits, World, decide
from stitching.errors import Conflict, InvalidRequest, NotFound, RetryTransaction
from stitching.metrics import Metrics
from stitching.store import repository as repo
from stitching.store.engine import Connection, Store, now_ms

MAX_ATTEMPTS = 12
_PAST_LIMIT_MS = 30 * 86400 * 1000  # event times older than this are refused
_FUTURE_SKEW_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class StitchRequest:
    channel: str
    conversation_id: str
    oidc_issuer: str | None = None
    oidc_subject: str | None = None
    oidc_verified: bool = False
    crm_id: str | None = None
    crm_id_verified: bool = False
    phone: str | None = None
    phone_verified: bool = False
    email: str | None = None
    email_verified: bool = False
    web_session_id: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    occurred_at: int | None = None  # epoch ms; the event's time when the caller knows it


@dataclass(frozen=True)
class RecordRequest:
    conversation_id: str
    agent_id: str | None = None
    queue_id: str | None = None
    topic: str | None = None
    wrapup_code: str | None = None
    occurred_at: int | None = None


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    replayed: bool = False


class StitchingService:
    def __init__(self, store: Store, settings: ServiceSettings, metrics: Metrics | None = None,
                 clock: Callable[[], int] = now_ms, journey_reader: journey.JourneyReader | None = None) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.policy = Policy(shared_value_limit=settings.shared_value_limit, shadow_mode=settings.shadow_mode)
        self.journey_reader = journey_reader
        self.mirror = settings.genesys is not None

    # -- use cases -------------------------------------------------------------------------------------------

    def stitch(self, req: StitchRequest, idempotency_key: str | None = None, request_id: str | None = None) -> Reply:
        now = self._event_time(req.occurred_at)
        claims = self._claims(req)
        traits = Traits(_last_name(req.last_name), _birth_date(req.date_of_birth, now))
        keys = [f"id:{c.type}:{c.identifier.value}" for c in claims] + [f"conversation:{req.conversation_id}"]

        def work(conn: Connection) -> dict[str, Any]:
            return self._stitch(conn, req, claims, traits, now, request_id)

        reply = self._unit("stitch", idempotency_key, asdict(req), keys, work)
        if not reply.replayed:
            self.metrics.decisions.labels(reply.body["decision"]).inc()
            for outcome in reply.body["outcomes"]:
                self.metrics.outcomes.labels(outcome["result"], outcome["reason"]).inc()
        return reply

    def context(self, *, phone: str | None = None, profile_id: str | None = None, window_s: int | None = None,
                as_of: int | None = None, exclude_conversation_id: str | None = None) -> Reply:
        if (phone is None) == (profile_id is None):
            raise InvalidRequest("phone", "give exactly one of phone or profileId")
        now = self._event_time(as_of)
        window_ms = (window_s or self.settings.context_window_s) * 1000
        ident = self._normalize("phone", lambda: normalize_phone(phone, self.settings.default_region)) if phone else None
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.store.unit_of_work(write=False) as conn:
                    body = self._context(conn, ident, profile_id, now, window_ms, exclude_conversation_id)
                break
            except RetryTransaction:
                self._backoff(attempt)
        else:
            raise Conflict("the store stayed busy; retry")
        if body["found"] and not body["agentId"] and self.journey_reader is not None and body.get("externalContactId"):
            body = self._context_from_journey(body, now, window_ms)
        body.pop("externalContactId", None)
        self.metrics.context.labels(body["reason"]).inc()
        return Reply(body)

    def record(self, req: RecordRequest, idempotency_key: str | None = None, request_id: str | None = None) -> Reply:
        now = self._event_time(req.occurred_at)

        def work(conn: Connection) -> dict[str, Any]:
            row = repo.conversation(conn, req.conversation_id)
            if row is None:
                raise NotFound(f"conversation {req.conversation_id!r} was never stitched")
            stale = row.stale_session
            if row.web_session_id:
                session = repo.session_row(conn, row.web_session_id)
                if session is not None:
                    last_seen, ended_at = session
                    idle = now - max(last_seen, row.last_activity_at)
                    stale = stale or (ended_at is not None and ended_at <= now) or idle > self.settings.session_timeout_s * 1000
                    if not stale:
                        repo.touch_session(conn, row.web_session_id, False, now)
            repo.record_outcome(conn, row.id, req.agent_id, req.queue_id, req.topic, req.wrapup_code, stale, now)
            repo.audit(conn, now, "record", "stale_web_session" if stale else "interaction_recorded", profile_id=row.profile_id,
                       conversation_id=row.id, request_id=request_id,
                       detail={"agentId": req.agent_id, "queueId": req.queue_id, "topic": req.topic,
                               "wrapupCode": req.wrapup_code})
            return {"conversationId": row.id, "profileId": row.profile_id, "recorded": True, "staleSession": stale}

        return self._unit("record", idempotency_key, asdict(req), [f"conversation:{req.conversation_id}"], work)

    def end_session(self, web_session_id: str, reason: str = "logout", occurred_at: int | None = None,
                    idempotency_key: str | None = None, request_id: str | None = None) -> Reply:
        ident = self._normalize("webSessionId", lambda: normalize_opaque(web_session_id, IdentifierType.WEB_SESSION))
        now = self._event_time(occurred_at)

        def work(conn: Connection) -> dict[str, Any]:
            owner, was_live = repo.end_session(conn, ident.value, reason, now)
            if owner is None and not was_live and repo.session_row(conn, ident.value) is None:
                raise NotFound("web session not known")
            if was_live:
                repo.audit(conn, now, "logout", reason, profile_id=owner, identifier=ident.key, request_id=request_id)
            return {"webSessionId": ident.value, "ended": True, "alreadyEnded": not was_live}

        return self._unit("end_session", idempotency_key, {"id": ident.value, "reason": reason},
                          [f"id:{ident.type}:{ident.value}"], work)

    def unmerge(self, merge_id: str, note: str | None = None, idempotency_key: str | None = None,
                request_id: str | None = None) -> Reply:
        now = self.clock()

        def work(conn: Connection) -> dict[str, Any]:
            row = repo.merge_row(conn, merge_id)
            if row is None:
                raise NotFound(f"merge {merge_id!r} not found")
            conn.lock_profiles([row.survivor_id, row.absorbed_id])
            if row.undone_at is not None:
                raise Conflict(f"merge {merge_id!r} was already undone")
            survivor = repo.profile_status(conn, row.survivor_id)
            if survivor is None or survivor[0] != "active":
                raise Conflict(f"profile {row.survivor_id!r} was merged again since; undo that merge first")
            restored, gone = repo.undo_merge(conn, row, now)
            repo.audit(conn, now, "unmerge", "requested", profile_id=row.absorbed_id, other_profile_id=row.survivor_id,
                       request_id=request_id,
                       detail={"mergeId": merge_id, "restoredLinks": len(restored), "linksGoneSinceMerge": gone,
                               "note": note})
            if self.mirror:
                repo.enqueue(conn, "upsert_contact", {"profileId": row.absorbed_id}, now)
            return {"mergeId": merge_id, "restoredProfileId": row.absorbed_id, "survivorProfileId": row.survivor_id,
                    "restoredLinks": len(restored), "linksGoneSinceMerge": len(gone)}

        reply = self._unit("unmerge", idempotency_key, {"mergeId": merge_id, "note": note}, [f"merge:{merge_id}"], work)
        if not reply.replayed:
            self.metrics.merges.labels("undone").inc()
        return reply

    def unlink(self, kind: str, value: str, note: str | None = None, idempotency_key: str | None = None,
               request_id: str | None = None) -> Reply:
        ident = self._identifier(kind, value)
        now = self.clock()

        def work(conn: Connection) -> dict[str, Any]:
            owner = repo.remove_link(conn, ident.type.value, ident.value)
            if owner is None:
                raise NotFound(f"{ident.type.value} identifier is not linked")
            if ident.type == IdentifierType.WEB_SESSION:
                repo.end_session(conn, ident.value, "unlinked", now)
            repo.audit(conn, now, "unlink", "requested", profile_id=owner, identifier=ident.key, request_id=request_id,
                       detail={"note": note})
            return {"profileId": owner, "type": ident.type.value, "unlinked": True}

        return self._unit("unlink", idempotency_key, {"type": kind, "value": ident.value, "note": note},
                          [f"id:{ident.type}:{ident.value}"], work)

    def profile(self, profile_id: str) -> dict[str, Any]:
        with self.store.unit_of_work(write=False) as conn:
            status = repo.profile_status(conn, profile_id)
            if status is None:
                raise NotFound(f"profile {profile_id!r} not found")
            return {"profileId": profile_id, "status": status[0], "mergedInto": status[1],
                    "links": repo.links_of(conn, profile_id), "merges": repo.merges_of(conn, profile_id)}

    def audit_trail(self, profile_id: str, limit: int = 500) -> dict[str, Any]:
        with self.store.unit_of_work(write=False) as conn:
            if repo.profile_status(conn, profile_id) is None:
                raise NotFound(f"profile {profile_id!r} not found")
            return {"profileId": profile_id, "entries": repo.audit_trail(conn, profile_id, limit)}

    # -- stitch ----------------------------------------------------------------------------------------------

    def _stitch(self, conn: Connection, req: StitchRequest, claims: list[Claim], traits: Traits, now: int,
                request_id: str | None) -> dict[str, Any]:
        keys = [c.identifier.key for c in claims]
        owners = repo.owners(conn, keys)
        conversation = repo.conversation(conn, req.conversation_id)
        involved = set(owners.values()) | ({conversation.profile_id} if conversation else set())
        if conn.dialect == "postgresql" and involved:
            conn.lock_profiles(sorted(involved))
            if repo.owners(conn, keys) != owners:  # a concurrent merge moved a link between the read and the lock
                raise RetryTransaction("owners changed")
        session_ids = [c.identifier.value for c in claims if c.type == IdentifierType.WEB_SESSION]
        world = World(
            owners=owners,
            profiles=repo.profiles(conn, involved),
            sessions=repo.sessions(conn, session_ids, owners, now, self.settings.session_timeout_s * 1000),
            claimants=repo.claimants(conn, keys),
            conversation_profile=conversation.profile_id if conversation else None,
        )
        decision = decide(claims, traits, world, self.policy)
        return self._apply(conn, req, claims, traits, decision, owners, now, request_id)

    def _apply(self, conn: Connection, req: StitchRequest, claims: list[Claim], traits: Traits, decision: Decision,
               owners: dict[tuple[str, str], str], now: int, request_id: str | None) -> dict[str, Any]:
        created = decision.target_id is None
        target = decision.target_id or str(uuid.uuid4())
        strong = decision.record_traits
        audit = _Auditor(conn, now, target, req.conversation_id, request_id)
        if created:
            repo.create_profile(conn, target, now)
            audit("create", "new_identity")
        merges = []
        for plan in decision.merges:
            merge_id = str(uuid.uuid4())
            moved, conversations = repo.merge(conn, merge_id, target, plan.absorbed_id, plan.reason, plan.factors, now)
            audit("merge", plan.reason, other=plan.absorbed_id,
                  detail={"mergeId": merge_id, "factors": list(plan.factors), "movedLinks": len(moved),
                          "movedConversations": len(conversations)})
            merges.append({"mergeId": merge_id, "absorbedProfileId": plan.absorbed_id, "reason": plan.reason.value})
            self.metrics.merges.labels("merged").inc()
        for plan in decision.shadow_merges:
            audit("merge_shadowed", plan.reason, other=plan.absorbed_id, detail={"factors": list(plan.factors)})
            self.metrics.merges.labels("shadowed").inc()
        for other, reason in decision.refused_merges:
            audit("merge_refused", reason, other=other)
            self.metrics.merges.labels("refused").inc()
        session_id = None
        for outcome in decision.outcomes:
            ident = outcome.identifier
            claim = next(c for c in claims if c.identifier == ident)
            if ident.type == IdentifierType.WEB_SESSION:
                if outcome.result == Result.LINKED:
                    repo.add_link(conn, ident, target, strong, outcome.reason, now)
                if outcome.result in (Result.LINKED, Result.MATCHED):
                    repo.touch_session(conn, ident.value, strong, now)
                    session_id = ident.value
            elif outcome.result == Result.LINKED:
                repo.add_link(conn, ident, target, True, outcome.reason, now)
            if ident.type != IdentifierType.WEB_SESSION and claim.verified:
                repo.record_claim(conn, ident, target, True, now)
            if outcome.result == Result.LINKED:
                audit("link", outcome.reason, identifier=ident)
            elif outcome.result in (Result.SUGGESTED, Result.REFUSED):
                # The owner is named in the audit (both profiles' trails show the attempt), never in the answer.
                owner = owners.get(ident.key)
                audit("suggest" if outcome.result == Result.SUGGESTED else "refuse", outcome.reason, identifier=ident,
                      other=owner if owner != target else None, detail={"verified": claim.verified})
        if strong:
            repo.set_traits(conn, target, traits)
        repo.upsert_conversation(conn, req.conversation_id, target, req.channel, decision.verified, session_id, now)
        if self.mirror:
            repo.enqueue(conn, "upsert_contact", {"profileId": target}, now)
            for merge in merges:
                repo.enqueue(conn, "merge_contacts", {"survivorId": target, "absorbedId": merge["absorbedProfileId"]}, now)
            repo.enqueue(conn, "associate_conversation",
                         {"profileId": target, "conversationId": req.conversation_id, "channel": req.channel}, now)
        outcomes = [{"type": o.identifier.type.value, "result": o.result.value, "reason": o.reason.value}
                    for o in decision.outcomes]
        return {
            "profileId": target,
            "conversationId": req.conversation_id,
            "decision": "merged" if merges else ("created" if created else "matched"),
            "created": created,
            "verified": decision.verified,
            "outcomes": outcomes,
            "merges": merges,
            "summary": ";".join(f"{o['type']}:{o['result']}:{o['reason']}" for o in outcomes),
        }

    # -- context ---------------------------------------------------------------------------------------------

    def _context(self, conn: Connection, ident: Identifier | None, profile_id: str | None, now: int, window_ms: int,
                 exclude: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"found": False, "profileId": None, "advised": False, "channel": None, "agentId": None,
                                "queueId": None, "topic": None, "wrapupCode": None, "minutesAgo": None,
                                "conversationId": None, "reason": "no_verified_link"}
        if ident is not None:
            # Links always point at active profiles (a merge moves them): one query finds the profile.
            row = conn.one("SELECT p.id, p.external_contact_id FROM links l JOIN profiles p ON p.id = l.profile_id "
                           "WHERE l.type = ? AND l.value = ?", ident.key)
            if row is None:
                return body
        else:
            assert profile_id is not None
            for _ in range(16):  # follow merges to the surviving profile
                row = conn.one("SELECT id, external_contact_id, status, merged_into FROM profiles WHERE id = ?",
                               (profile_id,))
                if row is None:
                    raise NotFound(f"profile {profile_id!r} not found")
                if row[2] != "merged" or row[3] is None:
                    break
                profile_id = row[3]
        assert row is not None
        profile_id = str(row[0])
        body.update(found=True, profileId=profile_id, reason="no_recent_interaction", externalContactId=row[1])
        recent = repo.recent_conversations(conn, profile_id, now - window_ms, now, exclude)
        if not recent:
            return body
        last = next((c for c in recent if c.agent_id), recent[0])
        body.update(channel=last.channel, agentId=last.agent_id, queueId=last.queue_id, topic=last.topic,
                    wrapupCode=last.wrapup_code, minutesAgo=max(0, (now - last.last_activity_at) // 60000),
                    conversationId=last.id)
        if not last.agent_id:
            body["reason"] = "no_agent"
        elif not last.verified:
            body["reason"] = "unverified_link"
        elif last.stale_session:
            body["reason"] = "stale_web_session"
        else:
            body.update(advised=True, reason="last_agent_within_window")
        return body

    def _context_from_journey(self, body: dict[str, Any], now: int, window_ms: int) -> dict[str, Any]:
        assert self.journey_reader is not None
        hit = self.journey_reader.last_connected(body["externalContactId"], now - window_ms, now)
        if hit is None:
            return body
        body.update(channel=hit.channel, agentId=hit.agent_id, queueId=hit.queue_id, wrapupCode=hit.wrapup_code,
                    minutesAgo=max(0, (now - hit.at) // 60000), conversationId=hit.conversation_id)
        if hit.authenticated:
            body.update(advised=True, reason="last_agent_from_genesys_journey")
        else:
            body.update(advised=False, reason="unverified_link")
        return body

    # -- plumbing --------------------------------------------------------------------------------------------

    def _unit(self, operation: str, idempotency_key: str | None, payload: dict[str, Any], lock_keys: list[str],
              work: Callable[[Connection], dict[str, Any]]) -> Reply:
        idempotency_key = idempotency_key or None
        request_hash = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        keys = [*lock_keys, f"idempotency:{idempotency_key}"] if idempotency_key else lock_keys
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.store.unit_of_work(keys) as conn:
                    if idempotency_key:
                        stored = repo.idempotent_response(conn, idempotency_key)
                        if stored is not None:
                            if stored[0] != operation or stored[1] != request_hash:
                                raise Conflict("Idempotency-Key was already used for a different request")
                            self.metrics.idempotent_replays.inc()
                            return Reply(json.loads(stored[3]), replayed=True)
                    body = work(conn)
                    if idempotency_key:
                        repo.save_idempotent_response(conn, idempotency_key, operation, request_hash, 200,
                                                      json.dumps(body), self.clock())
                    return Reply(body)
            except RetryTransaction:
                self.metrics.retries.inc()
                self._backoff(attempt)
        raise Conflict("too many concurrent changes to the same identity; retry")

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(0.2, 0.005 * (2 ** attempt)) * random.random())

    def _event_time(self, occurred_at: int | None) -> int:
        now = self.clock()
        if occurred_at is None:
            return now
        if occurred_at > now + _FUTURE_SKEW_MS:
            raise InvalidRequest("occurredAt", "is in the future")
        if occurred_at < now - _PAST_LIMIT_MS:
            raise InvalidRequest("occurredAt", "is more than 30 days ago")
        return occurred_at

    def _claims(self, req: StitchRequest) -> list[Claim]:
        region = self.settings.default_region
        claims: list[Claim] = []
        if req.oidc_issuer is not None or req.oidc_subject is not None:
            if not (req.oidc_issuer and req.oidc_subject):
                raise InvalidRequest("oidcSubject", "oidcIssuer and oidcSubject go together")
            issuer, subject = req.oidc_issuer, req.oidc_subject
            claims.append(Claim(self._normalize("oidcSubject", lambda: normalize_oidc(issuer, subject)), req.oidc_verified))
        if req.crm_id is not None:
            crm = req.crm_id
            claims.append(Claim(self._normalize("crmId", lambda: normalize_opaque(crm, IdentifierType.CRM)), req.crm_id_verified))
        if req.phone is not None:
            phone = req.phone
            claims.append(Claim(self._normalize("phone", lambda: normalize_phone(phone, region)), req.phone_verified))
        if req.email is not None:
            email = req.email
            claims.append(Claim(self._normalize("email", lambda: normalize_email(email)), req.email_verified))
        if req.web_session_id is not None:
            session = req.web_session_id
            claims.append(Claim(self._normalize("webSessionId",
                                                lambda: normalize_opaque(session, IdentifierType.WEB_SESSION)), False))
        return claims

    def _identifier(self, kind: str, value: str) -> Identifier:
        try:
            ident_type = IdentifierType(kind)
        except ValueError:
            raise InvalidRequest("type", f"expected one of {', '.join(t.value for t in IdentifierType)}") from None
        if ident_type == IdentifierType.PHONE:
            return self._normalize("value", lambda: normalize_phone(value, self.settings.default_region))
        if ident_type == IdentifierType.EMAIL:
            return self._normalize("value", lambda: normalize_email(value))
        if ident_type == IdentifierType.OIDC:
            issuer, _, subject = value.rpartition("|")
            return self._normalize("value", lambda: normalize_oidc(issuer, subject))
        return self._normalize("value", lambda: normalize_opaque(value, ident_type))

    @staticmethod
    def _normalize(field: str, fn: Callable[[], Identifier]) -> Identifier:
        try:
            return fn()
        except IdentifierError as exc:
            raise InvalidRequest(field, str(exc).split(": ", 1)[-1]) from None


class _Auditor:
    def __init__(self, conn: Connection, now: int, profile_id: str, conversation_id: str, request_id: str | None) -> None:
        self.conn, self.now, self.profile_id = conn, now, profile_id
        self.conversation_id, self.request_id = conversation_id, request_id

    def __call__(self, action: str, reason: str, *, other: str | None = None, identifier: Identifier | None = None,
                 detail: dict[str, Any] | None = None) -> None:
        repo.audit(self.conn, self.now, action, reason, profile_id=self.profile_id, other_profile_id=other,
                   identifier=identifier.key if identifier else None, conversation_id=self.conversation_id,
                   request_id=self.request_id, detail=detail)


def _last_name(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    return " ".join(unicodedata.normalize("NFKC", raw).casefold().split())


def _birth_date(raw: str | None, now_ms_: int) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        parsed = date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidRequest("dateOfBirth", "expected an ISO date (YYYY-MM-DD)") from None
    today = date.fromtimestamp(now_ms_ / 1000)
    if parsed.year < 1900 or parsed > today:
        raise InvalidRequest("dateOfBirth", "outside 1900-01-01 .. today")
    return parsed.isoformat()
