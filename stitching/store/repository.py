"""Reads and writes of the stitching tables, inside a unit of work. No decisions are made here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stitching.domain.identifiers import Identifier, IdentifierType
from stitching.domain.rules import LinkView, ProfileView, SessionState, SessionView, Traits
from stitching.store.engine import Connection
from stitching.store.writes import BY_NAME

_PROFILE, _LINK, _CLAIM, _SESSION = BY_NAME["profile"], BY_NAME["link"], BY_NAME["claim"], BY_NAME["session"]
_CONVERSATION, _AUDIT, _OUTBOX, _IDEMPOTENCY = (BY_NAME["conversation"], BY_NAME["audit"], BY_NAME["outbox"],
                                                BY_NAME["idempotency"])


@dataclass(frozen=True)
class ConversationRow:
    id: str
    profile_id: str
    channel: str
    verified: bool
    web_session_id: str | None
    started_at: int
    last_activity_at: int
    agent_id: str | None
    queue_id: str | None
    topic: str | None
    wrapup_code: str | None
    stale_session: bool


_CONVERSATION_COLUMNS = ("id, profile_id, channel, verified, web_session_id, started_at, last_activity_at, agent_id, "
                         "queue_id, topic, wrapup_code, stale_session")


def _conversation(row: tuple[Any, ...]) -> ConversationRow:
    return ConversationRow(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], row[8], row[9], row[10],
                           bool(row[11]))


def _pairs(keys: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """``(type, value) IN (...)`` with its parameters: one round trip for all of a request's identifiers."""
    params = [part for key in keys for part in key]
    return "(type, value) IN (" + ", ".join("(?, ?)" for _ in keys) + ")", params


def owners(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not keys:
        return {}
    where, params = _pairs(keys)
    return {(row[0], row[1]): row[2] for row in conn.rows(f"SELECT type, value, profile_id FROM links WHERE {where}", params)}


def profiles(conn: Connection, ids: Iterable[str]) -> dict[str, ProfileView]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    links: dict[str, list[LinkView]] = {pid: [] for pid in wanted}
    for pid, kind, value, verified in conn.rows(
        f"SELECT profile_id, type, value, verified FROM links WHERE profile_id IN {conn.in_clause(len(wanted))} "
        "ORDER BY profile_id, type, value", wanted,
    ):
        links[pid].append(LinkView(IdentifierType(kind), value, bool(verified)))
    return {
        pid: ProfileView(pid, created_at, tuple(links[pid]), Traits(last_name, dob))
        for pid, created_at, last_name, dob in conn.rows(
            f"SELECT id, created_at, last_name, date_of_birth FROM profiles WHERE id IN {conn.in_clause(len(wanted))}",
            wanted)
    }


@dataclass(frozen=True)
class StitchSnapshot:
    """Everything a stitch decides on, read under the unit of work's locks."""

    owners: dict[tuple[str, str], str]
    conversation_profile: str | None
    profiles: dict[str, ProfileView]
    sessions: dict[str, SessionView]
    claimants: dict[tuple[str, str], int]

    @property
    def involved(self) -> set[str]:
        return set(self.owners.values()) | ({self.conversation_profile} if self.conversation_profile else set())


def stitch_snapshot(conn: Connection, keys: Sequence[tuple[str, str]], conversation_id: str | None, session_ids: Sequence[str],
                    now: int, timeout_ms: int) -> StitchSnapshot:
    """The owners of the request's identifiers, the conversation's profile, the involved profiles (row-locked on
    PostgreSQL, re-read after the lock so a concurrent merge cannot slip in), their sessions and the claimant
    counts. PostgreSQL: one call of the ``stitch_snapshot`` function (one round trip); SQLite: plain reads under
    its write lock."""
    if conn.dialect != "postgresql":
        owners_ = owners(conn, keys)
        row = conn.one("SELECT profile_id FROM conversations WHERE id = ?", (conversation_id,)) if conversation_id else None
        involved = set(owners_.values()) | ({row[0]} if row else set())
        return StitchSnapshot(owners_, row[0] if row else None, profiles(conn, involved),
                              sessions(conn, session_ids, owners_, now, timeout_ms), claimants(conn, keys))
    sent = conn.prefetched.pop(_snapshot_key(keys, conversation_id, session_ids), None)
    found = sent.fetchone() if sent is not None else None
    doc: dict[str, Any] | None = found[0].get("snapshot") if found is not None else None
    if doc is None:  # not sent ahead (or it found a stored answer, and the caller read on anyway)
        found = conn.one("SELECT stitch_snapshot(?, ?, ?, ?)",
                         ([k[0] for k in keys], [k[1] for k in keys], conversation_id, list(session_ids)))
        assert found is not None
        doc = found[0]
    assert doc is not None
    owners_ = {(kind, value): pid for kind, value, pid in doc["owners"]}
    links: dict[str, list[LinkView]] = {}
    for pid, kind, value, verified in doc["links"]:
        links.setdefault(pid, []).append(LinkView(IdentifierType(kind), value, bool(verified)))
    profiles_ = {pid: ProfileView(pid, int(created_at), tuple(links.get(pid, ())), Traits(last_name, dob))
                 for pid, created_at, last_name, dob in doc["profiles"]}
    session_rows = {sid: (bool(auth), int(last_seen), ended) for sid, auth, last_seen, ended in doc["sessions"]}
    counts = {key: 0 for key in keys}
    counts.update({(kind, value): int(n) for kind, value, n in doc["claimants"]})
    return StitchSnapshot(owners_, doc["conversation"], profiles_,
                          _session_views(session_ids, session_rows, owners_, now, timeout_ms), counts)


def prefetch_stitch_snapshot(conn: Connection, keys: Sequence[tuple[str, str]], conversation_id: str | None,
                             session_ids: Sequence[str], idempotency_key: str | None = None) -> None:
    """PostgreSQL: queue the stitch's first read now, as one ``stitch_begin`` call: the unit of work's advisory
    locks (when nothing was queued after them), the stored answer for ``idempotency_key`` and, when there is none,
    the snapshot. ``idempotent_response`` and ``stitch_snapshot`` with the same arguments then take its result.
    SQLite: nothing."""
    if conn.dialect == "postgresql":
        sent = conn.send("SELECT stitch_begin(?::bigint[], ?, ?::text[], ?::text[], ?, ?::text[])",
                         (conn.take_locks(), idempotency_key, [k[0] for k in keys], [k[1] for k in keys],
                          conversation_id, list(session_ids)))
        conn.prefetched[_snapshot_key(keys, conversation_id, session_ids)] = sent
        if idempotency_key:
            conn.prefetched[("idempotency", idempotency_key)] = sent


def _snapshot_key(keys: Sequence[tuple[str, str]], conversation_id: str | None,
                  session_ids: Sequence[str]) -> tuple[Any, ...]:
    return ("stitch_snapshot", tuple(keys), conversation_id, tuple(session_ids))


def _session_views(ids: Iterable[str], rows: dict[str, tuple[bool, int, int | None]],
                   owners_by_key: dict[tuple[str, str], str], now: int, timeout_ms: int) -> dict[str, SessionView]:
    found: dict[str, SessionView] = {}
    for session_id in ids:
        row = rows.get(session_id)
        owner = owners_by_key.get((IdentifierType.WEB_SESSION.value, session_id))
        if row is None or owner is None:
            continue
        authenticated, last_seen, ended = row
        state = SessionState.ENDED if ended is not None else (
            SessionState.EXPIRED if now - last_seen > timeout_ms else SessionState.LIVE)
        found[session_id] = SessionView(session_id, owner, authenticated, state)
    return found


def profile_status(conn: Connection, profile_id: str) -> tuple[str, str | None] | None:
    row = conn.one("SELECT status, merged_into FROM profiles WHERE id = ?", (profile_id,))
    return (row[0], row[1]) if row else None


def sessions(conn: Connection, ids: Iterable[str], owners_by_key: dict[tuple[str, str], str], now: int,
             timeout_ms: int) -> dict[str, SessionView]:
    wanted = list(ids)
    rows: dict[str, tuple[bool, int, int | None]] = {}
    for session_id in wanted:
        row = conn.one("SELECT authenticated, last_seen_at, ended_at FROM web_sessions WHERE id = ?", (session_id,))
        if row is not None:
            rows[session_id] = (bool(row[0]), int(row[1]), row[2])
    return _session_views(wanted, rows, owners_by_key, now, timeout_ms)


def claimants(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    counts = {key: 0 for key in keys}
    if keys:
        where, params = _pairs(keys)
        for kind, value, count in conn.rows(f"SELECT type, value, count(*) FROM claims WHERE {where} GROUP BY type, value",
                                            params):
            counts[(kind, value)] = int(count)
    return counts


def create_profile(conn: Connection, profile_id: str, now: int) -> None:
    conn.write(_PROFILE, (profile_id, now))


def set_traits(conn: Connection, profile_id: str, traits: Traits) -> None:
    if traits.last_name:
        conn.execute("UPDATE profiles SET last_name = ? WHERE id = ?", (traits.last_name, profile_id))
    if traits.date_of_birth:
        conn.execute("UPDATE profiles SET date_of_birth = ? WHERE id = ?", (traits.date_of_birth, profile_id))


def add_link(conn: Connection, ident: Identifier, profile_id: str, verified: bool, reason: str, now: int) -> None:
    conn.write(_LINK, (ident.type.value, ident.value, ident.raw, profile_id, verified, reason, now))


def remove_link(conn: Connection, kind: str, value: str) -> str | None:
    row = conn.one("SELECT profile_id FROM links WHERE type = ? AND value = ?", (kind, value))
    if row:
        conn.execute("DELETE FROM links WHERE type = ? AND value = ?", (kind, value))
    return row[0] if row else None


def record_claim(conn: Connection, ident: Identifier, profile_id: str, verified: bool, now: int) -> None:
    conn.write(_CLAIM, (ident.type.value, ident.value, profile_id, verified, now, now))


def touch_session(conn: Connection, session_id: str, authenticated: bool, now: int) -> None:
    conn.write(_SESSION, (session_id, authenticated, now, now))


def end_session(conn: Connection, session_id: str, reason: str, now: int) -> tuple[str | None, bool]:
    """Mark the session ended; returns (owner profile, whether it was live before)."""
    row = conn.one("SELECT ended_at FROM web_sessions WHERE id = ?", (session_id,))
    owner = conn.one("SELECT profile_id FROM links WHERE type = ? AND value = ?", (IdentifierType.WEB_SESSION.value, session_id))
    if row is None:
        return None, False
    if row[0] is None:
        conn.execute("UPDATE web_sessions SET ended_at = ?, ended_reason = ? WHERE id = ?", (now, reason, session_id))
    return (owner[0] if owner else None), row[0] is None


def session_row(conn: Connection, session_id: str) -> tuple[int, int | None] | None:
    row = conn.one("SELECT last_seen_at, ended_at FROM web_sessions WHERE id = ?", (session_id,))
    return (row[0], row[1]) if row else None


def conversation(conn: Connection, conversation_id: str) -> ConversationRow | None:
    row = conn.one(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,))
    return _conversation(row) if row else None


def upsert_conversation(conn: Connection, conversation_id: str, profile_id: str, channel: str, verified: bool,
                        web_session_id: str | None, now: int) -> None:
    conn.write(_CONVERSATION, (conversation_id, profile_id, channel, verified, web_session_id, now, now))


def record_outcome(conn: Connection, conversation_id: str, agent_id: str | None, queue_id: str | None, topic: str | None,
                   wrapup_code: str | None, stale: bool, now: int) -> None:
    conn.execute(
        "UPDATE conversations SET agent_id = COALESCE(?, agent_id), queue_id = COALESCE(?, queue_id), "
        "topic = COALESCE(?, topic), wrapup_code = COALESCE(?, wrapup_code), stale_session = ?, "
        "last_activity_at = ? WHERE id = ?",
        (agent_id, queue_id, topic, wrapup_code, stale, now, conversation_id),
    )


def recent_conversations(conn: Connection, profile_id: str, since: int, until: int, exclude: str | None) -> list[ConversationRow]:
    return [_conversation(row) for row in conn.rows(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE profile_id = ? AND last_activity_at >= ? "
        "AND last_activity_at <= ? AND id <> ? ORDER BY last_activity_at DESC, id LIMIT 50",
        (profile_id, since, until, exclude or ""),
    )]


@dataclass(frozen=True)
class ContextSnapshot:
    profile_id: str
    external_contact_id: str | None
    recent: list[ConversationRow]  # newest first, at most 50


def context_snapshot(conn: Connection, key: tuple[str, str] | None, profile_id: str | None, since: int, until: int,
                     exclude: str | None) -> ContextSnapshot | None:
    """The profile an identifier is linked to (or a profile id, followed through merges to the survivor) and its
    conversations active in ``[since, until]``, in one statement: one round trip, its own consistent snapshot
    (no transaction needed). None when the identifier is not linked or the profile does not exist."""
    if key is not None:
        start, params = "id = (SELECT l.profile_id FROM links l WHERE l.type = ? AND l.value = ?)", [key[0], key[1]]
    elif profile_id is not None:
        start, params = "id = ?", [profile_id]
    else:
        raise ValueError("context_snapshot needs an identifier key or a profile id")
    columns = ", ".join(f"c.{name.strip()}" for name in _CONVERSATION_COLUMNS.split(","))
    rows = conn.rows(
        "WITH RECURSIVE chain (id, external_contact_id, status, merged_into, depth) AS ("
        f" SELECT id, external_contact_id, status, merged_into, 0 FROM profiles WHERE {start}"
        " UNION ALL SELECT p.id, p.external_contact_id, p.status, p.merged_into, chain.depth + 1"
        " FROM chain JOIN profiles p ON p.id = chain.merged_into WHERE chain.status = 'merged' AND chain.depth < 16"
        "), target AS (SELECT id, external_contact_id FROM chain ORDER BY depth DESC LIMIT 1) "
        f"SELECT t.id, t.external_contact_id, {columns} FROM target t LEFT JOIN conversations c ON c.profile_id = t.id "
        "AND c.last_activity_at >= ? AND c.last_activity_at <= ? AND c.id <> ? "
        "ORDER BY c.last_activity_at DESC, c.id LIMIT 50",
        [*params, since, until, exclude or ""],
    )
    if not rows:
        return None
    recent = [_conversation(row[2:]) for row in rows if row[2] is not None]
    return ContextSnapshot(str(rows[0][0]), rows[0][1], recent)


def merge(conn: Connection, merge_id: str, survivor: str, absorbed: str, reason: str, factors: Sequence[str],
          now: int) -> tuple[list[tuple[str, str]], list[str]]:
    links = [(row[0], row[1]) for row in conn.rows("SELECT type, value FROM links WHERE profile_id = ? ORDER BY type, value",
                                                  (absorbed,))]
    moved_conversations = [row[0] for row in conn.rows("SELECT id FROM conversations WHERE profile_id = ? ORDER BY id",
                                                       (absorbed,))]
    conn.execute("UPDATE links SET profile_id = ? WHERE profile_id = ?", (survivor, absorbed))
    conn.execute("UPDATE conversations SET profile_id = ? WHERE profile_id = ?", (survivor, absorbed))
    conn.execute("UPDATE profiles SET status = 'merged', merged_into = ? WHERE id = ?", (survivor, absorbed))
    conn.execute(
        "INSERT INTO merges (id, survivor_id, absorbed_id, reason, factors, moved_links, moved_conversations, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (merge_id, survivor, absorbed, reason, json.dumps(list(factors)), json.dumps(links), json.dumps(moved_conversations),
         now),
    )
    return links, moved_conversations


@dataclass(frozen=True)
class MergeRow:
    id: str
    survivor_id: str
    absorbed_id: str
    reason: str
    moved_links: list[tuple[str, str]]
    moved_conversations: list[str]
    undone_at: int | None


def merge_row(conn: Connection, merge_id: str) -> MergeRow | None:
    row = conn.one("SELECT id, survivor_id, absorbed_id, reason, moved_links, moved_conversations, undone_at "
                   "FROM merges WHERE id = ?", (merge_id,))
    if row is None:
        return None
    return MergeRow(row[0], row[1], row[2], row[3], [tuple(x) for x in json.loads(row[4])], json.loads(row[5]), row[6])


def undo_merge(conn: Connection, row: MergeRow, now: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Move the absorbed profile's links and conversations back. Returns (restored, gone since the merge)."""
    restored: list[tuple[str, str]] = []
    gone: list[tuple[str, str]] = []
    for kind, value in row.moved_links:
        owner = conn.one("SELECT profile_id FROM links WHERE type = ? AND value = ?", (kind, value))
        if owner and owner[0] == row.survivor_id:
            conn.execute("UPDATE links SET profile_id = ? WHERE type = ? AND value = ?", (row.absorbed_id, kind, value))
            restored.append((kind, value))
        else:
            gone.append((kind, value))
    for conversation_id in row.moved_conversations:
        conn.execute("UPDATE conversations SET profile_id = ? WHERE id = ? AND profile_id = ?",
                     (row.absorbed_id, conversation_id, row.survivor_id))
    conn.execute("UPDATE profiles SET status = 'active', merged_into = NULL WHERE id = ?", (row.absorbed_id,))
    conn.execute("UPDATE merges SET undone_at = ? WHERE id = ?", (now, row.id))
    return restored, gone


def merges_of(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    return [
        {"mergeId": r[0], "survivorProfileId": r[1], "absorbedProfileId": r[2], "reason": r[3], "factors": json.loads(r[4]),
         "undone": r[5] is not None}
        for r in conn.rows("SELECT id, survivor_id, absorbed_id, reason, factors, undone_at FROM merges "
                           "WHERE survivor_id = ? OR absorbed_id = ? ORDER BY created_at, id", (profile_id, profile_id))
    ]


def links_of(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    return [{"type": r[0], "value": r[1], "verified": bool(r[2]), "reason": r[3]}
            for r in conn.rows("SELECT type, value, verified, reason FROM links WHERE profile_id = ? ORDER BY type, value",
                               (profile_id,))]


def audit(conn: Connection, at: int, action: str, reason: str, *, profile_id: str | None = None,
          other_profile_id: str | None = None, identifier: tuple[str, str] | None = None,
          conversation_id: str | None = None, request_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
    conn.write(_AUDIT, (at, action, reason, profile_id, other_profile_id, identifier[0] if identifier else None,
                        identifier[1] if identifier else None, conversation_id, request_id, audit_detail(detail)))


def audit_detail(detail: dict[str, Any] | None) -> str:
    """An audit row's ``detail`` text."""
    return json.dumps(detail or {}, sort_keys=True)


def audit_trail(conn: Connection, profile_id: str, limit: int) -> list[dict[str, Any]]:
    return [
        {"seq": r[0], "at": r[1], "action": r[2], "reason": r[3], "profileId": r[4], "otherProfileId": r[5],
         "identifierType": r[6], "identifierValue": r[7], "conversationId": r[8], "requestId": r[9],
         "detail": json.loads(r[10])}
        for r in conn.rows("SELECT seq, at, action, reason, profile_id, other_profile_id, identifier_type, identifier_value, "
                           "conversation_id, request_id, detail FROM audit WHERE profile_id = ? OR other_profile_id = ? "
                           "ORDER BY seq LIMIT ?", (profile_id, profile_id, limit))
    ]


def idempotent_response(conn: Connection, key: str) -> tuple[str, str, int, str] | None:
    """The stored answer for an Idempotency-Key; taken from ``stitch_begin`` when the stitch's first read sent it."""
    sent = conn.prefetched.pop(("idempotency", key), None)
    if sent is not None:
        found = sent.fetchone()
        assert found is not None
        stored = found[0]["idempotency"]
        return (stored[0], stored[1], int(stored[2]), stored[3]) if stored is not None else None
    row = conn.one("SELECT operation, request_hash, status, response FROM idempotency WHERE key = ?", (key,))
    return (row[0], row[1], int(row[2]), row[3]) if row else None


def save_idempotent_response(conn: Connection, key: str, operation: str, request_hash: str, status: int, response: str,
                             now: int) -> None:
    conn.write(_IDEMPOTENCY, (key, operation, request_hash, status, response, now))


def enqueue(conn: Connection, kind: str, payload: dict[str, Any], now: int) -> None:
    conn.write(_OUTBOX, (kind, outbox_payload(payload), now, now))


def outbox_payload(payload: dict[str, Any]) -> str:
    """An outbox row's ``payload`` text."""
    return json.dumps(payload, sort_keys=True)


@dataclass(frozen=True)
class SmsStitch:
    """What ``send_sms_stitch`` needs: a text from a verified phone number (see migration 6, ``stitch_sms``)."""

    idempotency_key: str | None
    request_hash: str
    saved_at: int  # the idempotency record's time (the service's clock)
    phone: Identifier
    conversation_id: str
    now: int  # the event's time
    new_profile_id: str  # the profile to create when the phone is unknown
    request_id: str | None
    audit_detail: str
    matched_body: str  # the answer when the phone is linked, with "?" for the profile id
    created_body: str  # the answer when a profile is created
    outbox: list[tuple[str, str]]  # (kind, payload with "?" for the profile id), for the Genesys mirror


def send_sms_stitch(conn: Connection, call: SmsStitch) -> SentSms:
    """PostgreSQL: queue the whole stitch of a text as one ``stitch_sms`` call, taking the unit of work's advisory
    locks; it goes with BEGIN and COMMIT. ``SentSms.result()`` (after the unit of work) is ``("stored", row)`` for
    a stored answer to the Idempotency-Key (nothing written), ``("body", text)`` once stitched, or None when the
    request needs the full unit of work (nothing written)."""
    if conn.dialect != "postgresql":
        raise ValueError("stitch_sms is a PostgreSQL function")
    return SentSms(conn.send(
        "SELECT stitch_sms(?::bigint[], ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::text[], ?::text[])",
        (conn.take_locks(), call.idempotency_key, call.request_hash, call.saved_at, call.phone.value, call.phone.raw,
         call.conversation_id, call.now, call.new_profile_id, call.request_id, call.audit_detail, call.matched_body,
         call.created_body, [kind for kind, _ in call.outbox], [payload for _, payload in call.outbox])))


class SentSms:
    """A queued ``stitch_sms`` call; its result is read after the unit of work."""

    def __init__(self, pending: Any) -> None:
        self.pending = pending

    def result(self) -> tuple[str, Any] | None:
        row = self.pending.fetchone()
        doc = row[0] if row is not None else None
        if doc is None:
            return None
        if "stored" in doc:
            stored = doc["stored"]
            return "stored", (stored[0], stored[1], int(stored[2]), stored[3])
        return "body", doc["body"]


# -- merge evidence and the shared computer (added for issue 17 by the service's owner) -------------------------


def trait_claimants(conn: Connection, traits: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Active profiles holding each ``("last_name" | "date_of_birth", value)``: the shared-value guard on traits."""
    counts: dict[tuple[str, str], int] = {}
    for name, value in traits:
        if name not in ("last_name", "date_of_birth"):
            raise ValueError(f"not a trait: {name}")
        row = conn.one(f"SELECT count(*) FROM profiles WHERE {name} = ? AND status = 'active'", (value,))
        counts[(name, value)] = int(row[0]) if row else 0
    return counts


def undone_merges(conn: Connection, ids: Iterable[str]) -> dict[frozenset[str], list[list[str]]]:
    """The factors of every undone merge between two of ``ids``, by pair."""
    wanted = sorted(set(ids))
    found: dict[frozenset[str], list[list[str]]] = {}
    if len(wanted) < 2:
        return found
    clause = conn.in_clause(len(wanted))
    for survivor, absorbed, factors in conn.rows(
        f"SELECT survivor_id, absorbed_id, factors FROM merges WHERE undone_at IS NOT NULL AND survivor_id IN {clause} "
        f"AND absorbed_id IN {clause}", [*wanted, *wanted],
    ):
        found.setdefault(frozenset({survivor, absorbed}), []).append(list(json.loads(factors)))
    return found


def move_link(conn: Connection, ident: Identifier, profile_id: str, verified: bool, reason: str, now: int) -> None:
    """Give an existing link to another profile (a web session taken over by a login)."""
    conn.execute("UPDATE links SET profile_id = ?, raw = ?, verified = ?, reason = ?, created_at = ? "
                 "WHERE type = ? AND value = ?",
                 (profile_id, ident.raw, verified, reason, now, ident.type.value, ident.value))
