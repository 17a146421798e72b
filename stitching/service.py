"""The service's use cases: each is one unit of work (locks, read, decide, write, audit, idempotency).

The API parses HTTP into the request objects below and maps the exceptions of ``stitching.errors`` to
statuses; nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from stitching import journey
from stitching.config import ServiceSettings
from stitching.domain.identifiers import (
    Identifier,
    IdentifierError,
    IdentifierType,
    is_placeholder,
    normalize_email,
    normalize_oidc,
    normalize_opaque,
    normalize_phone,
    oidc_key,
    split_oidc_key,
)
from stitching.domain.rules import (
    PRIORITY,
    STRONG,
    Claim,
    Decision,
    Policy,
    Reason,
    Result,
    Traits,
    World,
    decide,
    independent_factors,
)
from stitching.domain.trust import Caller, verifiable
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
class EnrollRequest:
    """The customer's own systems register verified identifiers for an anchor (OIDC subject or CRM id)."""

    source: str  # who enrolls (``website-backend``, ``crm-sync``): recorded in the audit
    oidc_issuer: str | None = None
    oidc_subject: str | None = None
    anchor_crm_id: str | None = None
    crm_id: str | None = None
    phone: str | None = None
    email: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    occurred_at: int | None = None


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
    # ``body`` as the API sends it (``encode_body``), when the unit of work already serialized it for its
    # idempotency record: the answer is then serialized once, not twice.
    encoded: bytes | None = field(default=None, compare=False, repr=False)


_UUID4_VARIANT = {f"{n:x}": f"{8 | n & 3:x}" for n in range(16)}


def new_id() -> str:
    """``str(uuid.uuid4())`` without building a UUID object: 122 random bits, version 4 and the RFC 4122 variant set
    exactly as ``uuid.uuid4`` sets them, in its text form."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID4_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# ``json.dumps`` with options builds a JSONEncoder per call; these are the encoders it would build (stateless).
_BODY_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
_HASH_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def encode_body(body: dict[str, Any]) -> str:
    """The JSON text of an answer, byte for byte what ``starlette.responses.JSONResponse`` renders (compact, UTF-8
    text, no NaN: ``json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))``);
    stored for an Idempotency-Key and sent as the HTTP body."""
    return _BODY_ENCODER.encode(body)


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
        _keyed("conversationId", req.conversation_id)
        now = self._event_time(req.occurred_at)
        claims = self._claims(req)
        # Names and birth dates from a data action are context (a page or a flow sets them), never merge evidence.
        given = Traits(_last_name(req.last_name), _birth_date(req.date_of_birth, now))
        ignored = [name for name, value in (("last_name", given.last_name), ("date_of_birth", given.date_of_birth))
                   if value]
        keys = [f"id:{c.type}:{c.identifier.value}" for c in claims] + [f"conversation:{req.conversation_id}"]

        def work(conn: Connection) -> dict[str, Any]:
            body = self._stitch(conn, claims, Traits(), now, request_id, channel=req.channel,
                                conversation_id=req.conversation_id)
            if ignored:  # otherwise _apply's summary already covers every outcome
                for name in ignored:
                    body["outcomes"].append({"type": name, "result": "refused", "reason": "context_only"})
                body["summary"] = _summary(body["outcomes"])
            return body

        def prefetch(conn: Connection, idempotency_key: str | None) -> None:  # as _stitch reads: repo.stitch_snapshot
            repo.prefetch_stitch_snapshot(conn, [c.identifier.key for c in claims], req.conversation_id,
                                          [c.identifier.value for c in claims if c.type == IdentifierType.WEB_SESSION],
                                          idempotency_key)

        reply = self._unit("stitch", idempotency_key, _payload(req), keys, work, prefetch,
                           self._sms_one_trip(req, claims, now, request_id) if not ignored else None)
        if not reply.replayed:
            self.metrics.child(self.metrics.decisions, reply.body["decision"]).inc()
            for outcome in reply.body["outcomes"]:
                self.metrics.child(self.metrics.outcomes, outcome["result"], outcome["reason"]).inc()
        return reply

    def _sms_one_trip(self, req: StitchRequest, claims: list[Claim], now: int,
                      request_id: str | None) -> Callable[[Connection, str | None, str], repo.SentSms] | None:
        """A text from a phone number (SMS vouches for it) and nothing else, on PostgreSQL: the whole stitch as one
        ``stitch_sms`` call. It decides what ``decide`` decides for one verified phone claim: the phone's profile
        (matched), or a new profile (the phone linked) when neither the phone nor the conversation is known; anything
        else goes to the full unit of work. The answers and audit entries are made here, as ``_apply`` makes them."""
        if (self.store.dialect != "postgresql" or req.channel != "sms" or len(claims) != 1
                or claims[0].type != IdentifierType.PHONE or not claims[0].verified):
            return None
        phone, conversation = claims[0].identifier, req.conversation_id

        def outcome(result: Result, reason: Reason) -> list[dict[str, Any]]:
            return [{"type": phone.type.value, "result": result.value, "reason": reason.value}]

        def send(conn: Connection, idempotency_key: str | None, request_hash: str) -> repo.SentSms:
            new_profile = new_id()
            outbox = [("upsert_contact", repo.outbox_payload({"profileId": "?"})),
                      ("associate_conversation", repo.outbox_payload(
                          {"profileId": "?", "conversationId": conversation, "channel": req.channel}))] if self.mirror else []
            return repo.send_sms_stitch(conn, repo.SmsStitch(
                idempotency_key=idempotency_key, request_hash=request_hash, saved_at=self.clock(), phone=phone,
                conversation_id=conversation, now=now, new_profile_id=new_profile, request_id=request_id,
                audit_detail=_DATA_ACTION_AUDIT_DETAIL,
                matched_body=encode_body(_stitch_body("?", conversation, False, True,
                                                      outcome(Result.MATCHED, Reason.MATCHED), [])),
                created_body=encode_body(_stitch_body(new_profile, conversation, True, True,
                                                      outcome(Result.LINKED, Reason.VERIFIED_IDENTIFIER), [])),
                outbox=outbox,
            ))

        return send

    def context(self, *, phone: str | None = None, profile_id: str | None = None, window_s: int | None = None,
                as_of: int | None = None, exclude_conversation_id: str | None = None) -> Reply:
        if (phone is None) == (profile_id is None):
            raise InvalidRequest("phone", "give exactly one of phone or profileId")
        now = self._event_time(as_of, "asOf")
        if profile_id is not None and not _plausible_id(profile_id):
            raise NotFound("profile not found")
        if exclude_conversation_id is not None and not _plausible_id(exclude_conversation_id):
            raise InvalidRequest("excludeConversationId", "contains a NUL or control character")
        window_ms = (window_s or self.settings.context_window_s) * 1000
        ident = self._normalize("phone", lambda: normalize_phone(phone, self.settings.default_region)) if phone else None
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.store.unit_of_work(write=False, transaction=False) as conn:  # one statement
                    body = self._context(conn, ident, profile_id, now, window_ms, exclude_conversation_id)
                break
            except RetryTransaction:
                self._backoff(attempt)
        else:
            raise Conflict("the store stayed busy; retry")
        if body["found"] and not body["agentId"] and self.journey_reader is not None and body.get("externalContactId"):
            body = self._context_from_journey(body, now, window_ms)
        body.pop("externalContactId", None)
        self.metrics.child(self.metrics.context, body["reason"]).inc()
        return Reply(body)

    def enroll(self, req: EnrollRequest, idempotency_key: str, request_id: str | None = None) -> Reply:
        """Register verified identifiers for an anchor; the customer's own systems vouch for them (trust model)."""
        now = self._event_time(req.occurred_at)
        claims = self._enrollment_claims(req)
        traits = Traits(_last_name(req.last_name), _birth_date(req.date_of_birth, now))
        keys = [f"id:{c.type}:{c.identifier.value}" for c in claims]

        def work(conn: Connection) -> dict[str, Any]:
            body = self._stitch(conn, claims, traits, now, request_id, channel=None, conversation_id=None,
                                source=req.source)
            anchor = body["outcomes"][0]
            if anchor["result"] == Result.REFUSED.value:
                # The anchor's profile already has another login or CRM id: nothing of this request is kept (the
                # unit of work rolls back), the caller's data needs a look.
                raise Conflict(f"anchor: its profile already holds another {anchor['type']} identifier "
                               f"({anchor['reason']}); nothing was enrolled")
            body.pop("conversationId", None)
            body.pop("verified", None)
            return {"source": req.source, **body}

        reply = self._unit("enroll", idempotency_key, _payload(req), keys, work)
        if not reply.replayed:
            self.metrics.child(self.metrics.decisions, reply.body["decision"]).inc()
        return reply

    def record(self, req: RecordRequest, idempotency_key: str | None = None, request_id: str | None = None) -> Reply:
        _keyed("conversationId", req.conversation_id)
        for field_name, value in (("agentId", req.agent_id), ("queueId", req.queue_id)):
            if value is not None:
                _keyed(field_name, value)
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

        return self._unit("record", idempotency_key, _payload(req), [f"conversation:{req.conversation_id}"], work)

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
        if not _plausible_id(merge_id):
            raise NotFound("merge not found")

        def work(conn: Connection) -> dict[str, Any]:
            row = repo.merge_row(conn, merge_id)
            if row is None:
                raise NotFound(f"merge {merge_id!r} not found")
            # Merges made before migration 3 recorded OIDC links under the old "issuer|subject" key.
            row = replace(row, moved_links=[(k, _current_key(k, v)) for k, v in row.moved_links])
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
        if not _plausible_id(profile_id):
            raise NotFound("profile not found")
        with self.store.unit_of_work(write=False) as conn:
            status = repo.profile_status(conn, profile_id)
            if status is None:
                raise NotFound(f"profile {profile_id!r} not found")
            return {"profileId": profile_id, "status": status[0], "mergedInto": status[1],
                    "links": repo.links_of(conn, profile_id), "merges": repo.merges_of(conn, profile_id)}

    def audit_trail(self, profile_id: str, limit: int = 500) -> dict[str, Any]:
        if not _plausible_id(profile_id):
            raise NotFound("profile not found")
        with self.store.unit_of_work(write=False) as conn:
            if repo.profile_status(conn, profile_id) is None:
                raise NotFound(f"profile {profile_id!r} not found")
            return {"profileId": profile_id, "entries": repo.audit_trail(conn, profile_id, limit)}

    # -- stitch ----------------------------------------------------------------------------------------------

    def _stitch(self, conn: Connection, claims: list[Claim], traits: Traits, now: int, request_id: str | None, *,
                channel: str | None, conversation_id: str | None, source: str | None = None) -> dict[str, Any]:
        keys = [c.identifier.key for c in claims]
        session_ids = [c.identifier.value for c in claims if c.type == IdentifierType.WEB_SESSION]
        # One round trip on PostgreSQL: owners, conversation, profile row locks (re-read after locking, so a
        # concurrent merge cannot slip in between), profiles, sessions and claimant counts.
        snap = repo.stitch_snapshot(conn, keys, conversation_id, session_ids, now, self.settings.session_timeout_s * 1000)
        owners, involved, profiles = snap.owners, snap.involved, snap.profiles
        trait_claimants: dict[tuple[str, str], int] = {}
        undone: dict[frozenset[str], int] = {}
        if _merge_possible(claims, owners):  # load what guards a merge only when one could happen (rare path)
            wanted = {(name, value) for p in profiles.values() for name, value in
                      (("last_name", p.traits.last_name), ("date_of_birth", p.traits.date_of_birth)) if value}
            wanted |= {(n, v) for n, v in (("last_name", traits.last_name), ("date_of_birth", traits.date_of_birth)) if v}
            trait_claimants = repo.trait_claimants(conn, sorted(wanted))
            undone = {pair: max(independent_factors(f) for f in found)
                      for pair, found in repo.undone_merges(conn, involved).items()}
        world = World(
            owners=owners,
            profiles=profiles,
            sessions=snap.sessions,
            claimants=snap.claimants,
            conversation_profile=snap.conversation_profile,
            trait_claimants=trait_claimants,
            undone=undone,
        )
        decision = decide(claims, traits, world, self.policy)
        return self._apply(conn, claims, traits, decision, owners, now, request_id, channel, conversation_id, source)

    def _apply(self, conn: Connection, claims: list[Claim], traits: Traits, decision: Decision,
               owners: dict[tuple[str, str], str], now: int, request_id: str | None, channel: str | None,
               conversation_id: str | None, source: str | None) -> dict[str, Any]:
        created = decision.target_id is None
        target = decision.target_id or new_id()
        strong = decision.record_traits
        audit = _Auditor(conn, now, target, conversation_id, request_id, source)
        if created:
            repo.create_profile(conn, target, now)
            audit("create", "new_identity")
        merges = []
        for plan in decision.merges:
            merge_id = new_id()
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
                previous = decision.takeovers.get(ident.value)
                if previous is not None:
                    # Shared computer: the login owns the session from now on; the previous profile loses it.
                    repo.move_link(conn, ident, target, strong, outcome.reason, now)
                    audit("session_taken_over", outcome.reason, other=previous, identifier=ident)  # in both trails
                elif outcome.result == Result.LINKED:
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
                      other=owner if owner != target else None,
                      detail={"verified": claim.verified, "verifiedClaimedByCaller": claim.verified or claim.distrusted})
        if strong:
            repo.set_traits(conn, target, traits)
        if conversation_id is not None and channel is not None:
            repo.upsert_conversation(conn, conversation_id, target, channel, decision.verified, session_id, now)
        if self.mirror:
            repo.enqueue(conn, "upsert_contact", {"profileId": target}, now)
            for merge in merges:
                repo.enqueue(conn, "merge_contacts", {"survivorId": target, "absorbedId": merge["absorbedProfileId"]}, now)
            if conversation_id is not None:
                repo.enqueue(conn, "associate_conversation",
                             {"profileId": target, "conversationId": conversation_id, "channel": channel}, now)
        outcomes = [{"type": o.identifier.type.value, "result": o.result.value, "reason": o.reason.value}
                    for o in decision.outcomes]
        return _stitch_body(target, conversation_id, created, decision.verified, outcomes, merges)

    # -- context ---------------------------------------------------------------------------------------------

    def _context(self, conn: Connection, ident: Identifier | None, profile_id: str | None, now: int, window_ms: int,
                 exclude: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"found": False, "profileId": None, "advised": False, "channel": None, "agentId": None,
                                "queueId": None, "topic": None, "wrapupCode": None, "minutesAgo": None,
                                "conversationId": None, "reason": "no_verified_link"}
        # One statement: the profile (by link, or by id followed through merges) and its recent conversations.
        found = repo.context_snapshot(conn, ident.key if ident else None, profile_id, now - window_ms, now, exclude)
        if found is None:
            if ident is not None:
                return body
            raise NotFound(f"profile {profile_id!r} not found")
        profile_id = found.profile_id
        body.update(found=True, profileId=profile_id, reason="no_recent_interaction",
                    externalContactId=found.external_contact_id)
        recent = found.recent
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
              work: Callable[[Connection], dict[str, Any]],
              prefetch: Callable[[Connection, str | None], None] | None = None,
              one_trip: Callable[[Connection, str | None, str], repo.SentSms] | None = None) -> Reply:
        """One unit of work with its Idempotency-Key, retried on a serialization conflict. ``one_trip`` (PostgreSQL,
        the commonest stitch) first tries the whole request as one call sent with BEGIN and COMMIT; when it cannot
        decide the request, it wrote nothing and the full unit of work runs."""
        idempotency_key = idempotency_key or None
        if idempotency_key is not None and is_placeholder(idempotency_key):
            raise InvalidRequest("Idempotency-Key", "a placeholder value (null, undefined, 0, ...): every such call "
                                 "would share one key")
        # The text json.dumps(payload, sort_keys=True, default=str) gives: stored hashes stay comparable.
        request_hash = hashlib.sha256(_HASH_ENCODER.encode(payload).encode()).hexdigest()
        keys = [*lock_keys, f"idempotency:{idempotency_key}"] if idempotency_key else lock_keys
        for attempt in range(MAX_ATTEMPTS):
            try:
                if one_trip is not None:
                    with self.store.unit_of_work(keys) as conn:
                        sent = one_trip(conn, idempotency_key, request_hash)
                    done = sent.result()
                    if done is not None:
                        if done[0] == "stored":
                            return self._replay(done[1], operation, request_hash)
                        return Reply(json.loads(done[1]), encoded=done[1].encode())
                    one_trip = None
                with self.store.unit_of_work(keys) as conn:
                    if prefetch is not None:
                        prefetch(conn, idempotency_key)  # PostgreSQL: the work's first read and the lookup below in one
                    if idempotency_key:
                        stored = repo.idempotent_response(conn, idempotency_key)
                        if stored is not None:
                            return self._replay(stored, operation, request_hash)
                    body = work(conn)
                    if idempotency_key:
                        text = encode_body(body)
                        repo.save_idempotent_response(conn, idempotency_key, operation, request_hash, 200, text,
                                                      self.clock())
                        return Reply(body, encoded=text.encode())
                    return Reply(body)
            except RetryTransaction:
                self.metrics.retries.inc()
                self._backoff(attempt)
        raise Conflict("too many concurrent changes to the same identity; retry")

    def _replay(self, stored: tuple[str, str, int, str], operation: str, request_hash: str) -> Reply:
        """The stored answer to a repeated Idempotency-Key, or Conflict when the key came with another request."""
        if stored[0] != operation or stored[1] != request_hash:
            raise Conflict("Idempotency-Key was already used for a different request")
        self.metrics.idempotent_replays.inc()
        return Reply(json.loads(stored[3]), replayed=True)

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(0.2, 0.005 * (2 ** attempt)) * random.random())

    def _event_time(self, occurred_at: int | None, field: str = "occurredAt") -> int:
        now = self.clock()
        if occurred_at is None:
            return now
        if occurred_at > now + _FUTURE_SKEW_MS:
            raise InvalidRequest(field, "is in the future")
        if occurred_at < now - _PAST_LIMIT_MS:
            raise InvalidRequest(field, "is more than 30 days ago")
        return occurred_at

    def _claims(self, req: StitchRequest) -> list[Claim]:
        """The request's identifiers, each verified only where this caller may vouch for it on this channel."""
        region = self.settings.default_region
        issuer = req.oidc_issuer
        if issuer is not None and req.oidc_subject is None and not req.oidc_verified:
            issuer = None  # a flow that always sends its issuer: a guest has no subject, so no login to claim
        oidc = self._oidc("oidcIssuer", "oidcSubject", issuer, req.oidc_subject)
        allowed = verifiable(Caller.DATA_ACTION, req.channel, oidc_verified=oidc is not None and req.oidc_verified,
                             trust_email_claim=self.settings.trust_email_claim)

        def claim(ident: Identifier, flag: bool) -> Claim:
            if flag and ident.type not in allowed:
                return Claim(ident, False, distrusted=True)
            return Claim(ident, flag)

        claims: list[Claim] = []
        if oidc is not None:
            claims.append(claim(oidc, req.oidc_verified))
        if req.crm_id is not None:
            crm = req.crm_id
            claims.append(claim(self._normalize("crmId", lambda: normalize_opaque(crm, IdentifierType.CRM)), req.crm_id_verified))
        if req.phone is not None:
            phone = req.phone
            claims.append(claim(self._normalize("phone", lambda: normalize_phone(phone, region)), req.phone_verified))
        if req.email is not None:
            email = req.email
            claims.append(claim(self._normalize("email", lambda: normalize_email(email)), req.email_verified))
        if req.web_session_id is not None:
            session = req.web_session_id
            claims.append(Claim(self._normalize("webSessionId",
                                                lambda: normalize_opaque(session, IdentifierType.WEB_SESSION)), False))
        return claims

    def _enrollment_claims(self, req: EnrollRequest) -> list[Claim]:
        """The anchor first, then what is registered for it; the enrollment caller may vouch for every type."""
        region = self.settings.default_region
        oidc = self._oidc("anchor.oidcIssuer", "anchor.oidcSubject", req.oidc_issuer, req.oidc_subject)
        if (oidc is None) == (req.anchor_crm_id is None):
            raise InvalidRequest("anchor", "give exactly one anchor: oidcIssuer with oidcSubject, or crmId")
        claims: list[Claim] = []
        if oidc is not None:
            claims.append(Claim(oidc, True))
            if req.crm_id is not None:
                crm = req.crm_id
                claims.append(Claim(self._normalize("crmId", lambda: normalize_opaque(crm, IdentifierType.CRM)), True))
        else:
            anchor = req.anchor_crm_id
            assert anchor is not None
            claims.append(Claim(self._normalize("anchor.crmId", lambda: normalize_opaque(anchor, IdentifierType.CRM)),
                                True))
            if req.crm_id is not None:
                raise InvalidRequest("crmId", "the anchor is already a CRM id; enroll the other one under its own anchor")
        if req.phone is not None:
            phone = req.phone
            claims.append(Claim(self._normalize("phone", lambda: normalize_phone(phone, region)), True))
        if req.email is not None:
            email = req.email
            claims.append(Claim(self._normalize("email", lambda: normalize_email(email)), True))
        if len(claims) == 1 and not (req.last_name or req.date_of_birth):
            raise InvalidRequest("phone", "nothing to enroll: give phone, email, crmId, lastName or dateOfBirth")
        return claims

    def _oidc(self, issuer_field: str, subject_field: str, issuer: str | None, subject: str | None) -> Identifier | None:
        if issuer is None and subject is None:
            return None
        if not issuer:
            raise InvalidRequest(issuer_field, f"{issuer_field} and {subject_field} go together")
        if not subject:
            raise InvalidRequest(subject_field, f"{issuer_field} and {subject_field} go together")
        try:
            return normalize_oidc(issuer, subject)
        except IdentifierError as exc:
            raise InvalidRequest(issuer_field if exc.part == "issuer" else subject_field,
                                 str(exc).split(": ", 1)[-1]) from None

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
            # The key as the profile API shows it ("<len>:issuer|subject"), or "issuer|subject" (issuers hold no "|").
            parts = split_oidc_key(value)
            issuer, _, subject = value.partition("|") if parts is None else (parts[0], "|", parts[1])
            return self._normalize("value", lambda: normalize_oidc(issuer, subject))
        return self._normalize("value", lambda: normalize_opaque(value, ident_type))

    @staticmethod
    def _normalize(field: str, fn: Callable[[], Identifier]) -> Identifier:
        try:
            return fn()
        except IdentifierError as exc:
            raise InvalidRequest(field, str(exc).split(": ", 1)[-1]) from None


class _Auditor:
    def __init__(self, conn: Connection, now: int, profile_id: str, conversation_id: str | None, request_id: str | None,
                 source: str | None = None) -> None:
        self.conn, self.now, self.profile_id = conn, now, profile_id
        self.conversation_id, self.request_id, self.source = conversation_id, request_id, source

    def __call__(self, action: str, reason: str, *, other: str | None = None, identifier: Identifier | None = None,
                 detail: dict[str, Any] | None = None) -> None:
        detail = _audit_detail(self.source, detail)
        repo.audit(self.conn, self.now, action, reason, profile_id=self.profile_id, other_profile_id=other,
                   identifier=identifier.key if identifier else None, conversation_id=self.conversation_id,
                   request_id=self.request_id, detail=detail)


def _audit_detail(source: str | None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An audit entry's detail: who called (the data actions, or the customer's systems and which one)."""
    found = dict(detail or {})
    found["caller"] = Caller.ENROLLMENT.value if source is not None else Caller.DATA_ACTION.value
    if source is not None:
        found["source"] = source
    return found


_DATA_ACTION_AUDIT_DETAIL = repo.audit_detail(_audit_detail(None))  # an audit row's detail text for a data action


def _stitch_body(profile_id: str, conversation_id: str | None, created: bool, verified: bool,
                 outcomes: list[dict[str, Any]], merges: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer of a stitch or an enrollment."""
    return {
        "profileId": profile_id,
        "conversationId": conversation_id,
        "decision": "merged" if merges else ("created" if created else "matched"),
        "created": created,
        "verified": verified,
        "outcomes": outcomes,
        "merges": merges,
        "summary": _summary(outcomes),
    }


def _merge_possible(claims: list[Claim], owners: dict[tuple[str, str], str]) -> bool:
    """A verified strong claim, and an owner of the request's identifiers other than the profile the request
    belongs to (the owner of its highest-priority strong identifier, as ``rules._choose_target`` picks it)."""
    strong = sorted((c for c in claims if c.verified and c.type in STRONG), key=lambda c: PRIORITY.index(c.type))
    if not strong:
        return False
    target = next((owners[c.identifier.key] for c in strong if c.identifier.key in owners), None)
    return bool(set(owners.values()) - {target})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _payload(req: StitchRequest | EnrollRequest | RecordRequest) -> dict[str, Any]:
    """The request's fields for its idempotency hash: what ``dataclasses.asdict`` gives for these flat requests
    (every field is None, bool, int or str), without its recursive deep copy (a measurable share of a stitch).
    The field names of each request class are listed once."""
    names = _FIELD_NAMES.get(type(req))
    if names is None:
        names = _FIELD_NAMES[type(req)] = tuple(f.name for f in fields(req))
    return {name: getattr(req, name) for name in names}


def _summary(outcomes: list[dict[str, Any]]) -> str:
    return ";".join(f"{o['type']}:{o['result']}:{o['reason']}" for o in outcomes)


def _plausible_id(value: str) -> bool:
    """An id the store could hold: short, printable, no NUL (PostgreSQL text cannot hold one). Others are 404."""
    return 0 < len(value) <= 128 and value.isprintable()


def _keyed(field: str, value: str) -> None:
    """Values that key rows (conversation, agent, queue ids) refuse what a broken flow sends for a missing id."""
    if is_placeholder(value):
        raise InvalidRequest(field, "a placeholder value (null, undefined, NaN, [object Object], ...), not an id")


def _current_key(kind: str, value: str) -> str:
    if kind == IdentifierType.OIDC.value and split_oidc_key(value) is None and "|" in value:
        issuer, _, subject = value.partition("|")
        return oidc_key(issuer, subject)
    return value


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
    if parsed == date(1900, 1, 1):
        return None  # the usual "unknown" of CRM systems: no evidence either way
    return parsed.isoformat()
