"""Schema migrations, in order. Each one runs once, inside a transaction, under the store's migration lock.

Two dialects share one logical schema: times are epoch milliseconds, JSON is text, booleans are native in
PostgreSQL and 0/1 in SQLite. The audit log is append-only in the database itself (triggers), not only by
convention in the code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgresql: str


_TABLES = """
CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged')),
    merged_into TEXT REFERENCES profiles (id),
    last_name TEXT,
    date_of_birth TEXT,
    external_contact_id TEXT
);
-- The unique claim (rule 7): one owner per (type, normalized value), whatever the concurrency.
CREATE TABLE links (
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    raw TEXT NOT NULL,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    verified BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (type, value)
);
CREATE INDEX links_by_profile ON links (profile_id);
-- Every profile that ever presented a value, verified or not: suggestions, and the shared-value guard.
CREATE TABLE claims (
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    verified BOOLEAN NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (type, value, profile_id)
);
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    authenticated BOOLEAN NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at BIGINT,
    ended_reason TEXT
);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    channel TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    web_session_id TEXT,
    started_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    agent_id TEXT,
    queue_id TEXT,
    topic TEXT,
    wrapup_code TEXT,
    stale_session BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX conversations_by_profile ON conversations (profile_id, last_activity_at);
CREATE TABLE merges (
    id TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL REFERENCES profiles (id),
    absorbed_id TEXT NOT NULL REFERENCES profiles (id),
    reason TEXT NOT NULL,
    factors TEXT NOT NULL,
    moved_links TEXT NOT NULL,
    moved_conversations TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    undone_at BIGINT
);
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
"""

# The audit log and the outbox differ only in how each dialect numbers rows and forbids changes.
_SEQUENCED = """
CREATE TABLE audit (
    seq {serial},
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    profile_id TEXT,
    other_profile_id TEXT,
    identifier_type TEXT,
    identifier_value TEXT,
    conversation_id TEXT,
    request_id TEXT,
    detail TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX audit_by_profile ON audit (profile_id, seq);
CREATE INDEX audit_by_other_profile ON audit (other_profile_id, seq);
CREATE TABLE outbox (
    id {serial},
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    done_at BIGINT,
    last_error TEXT
);
"""

_SQLITE = _TABLES + _SEQUENCED.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT") + """
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

_POSTGRESQL = _TABLES + _SEQUENCED.format(serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY") + """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""

# One round trip for everything a stitch reads (PostgreSQL). Called after the unit of work's advisory locks on the
# request's identifier keys. Each query in a VOLATILE PL/pgSQL function reads with a fresh snapshot (READ
# COMMITTED), so what it reads after a lock wait is current. It reads the owners of the keys and the
# conversation's profile; when there are any, it locks those profiles (sorted, FOR UPDATE) and reads the owners
# and the conversation again: a concurrent merge of another identifier may have moved a link or the conversation
# in between; then it locks the new set too and reads again (a serialization failure after 5 rounds makes the
# unit of work start over). Nothing to lock means nothing can move: an unlinked key or an unknown conversation
# only gets an owner from a call holding its advisory lock. Then it reads the profiles, their links, the sessions
# and the claimant counts. Small statements with `=` on a key on purpose: each keeps one cached plan that uses
# the index (a statement with CTEs over array parameters was re-planned on every call and cost several times
# more; a generic plan for `id = ANY(array)` may scan the whole table).
_STITCH_SNAPSHOT = """
CREATE OR REPLACE FUNCTION stitch_snapshot(p_types TEXT[], p_values TEXT[], p_conversation TEXT, p_sessions TEXT[])
RETURNS JSONB LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_keys INT := coalesce(array_length(p_types, 1), 0);
    v_owner TEXT;
    v_owners JSONB;
    v_conversation TEXT;
    v_involved TEXT[];
    v_id TEXT;
    v_seen_owners JSONB;
    v_seen_conversation TEXT;
    v_row JSONB;
    v_rows JSONB;
    v_profiles JSONB := '[]'::jsonb;
    v_links JSONB := '[]'::jsonb;
    v_sessions JSONB := '[]'::jsonb;
    v_claimants JSONB := '[]'::jsonb;
    v_count BIGINT;
    v_round INT := 0;
BEGIN
    LOOP
        v_owners := '[]'::jsonb;
        v_involved := '{}';
        FOR i IN 1 .. v_keys LOOP
            SELECT profile_id INTO v_owner FROM links WHERE type = p_types[i] AND value = p_values[i];
            IF FOUND THEN
                v_owners := v_owners || jsonb_build_array(jsonb_build_array(p_types[i], p_values[i], v_owner));
                v_involved := v_involved || v_owner;
            END IF;
        END LOOP;
        SELECT profile_id INTO v_conversation FROM conversations WHERE id = p_conversation;
        IF FOUND THEN
            v_involved := v_involved || v_conversation;
        END IF;
        v_involved := ARRAY(SELECT DISTINCT x FROM unnest(v_involved) AS x ORDER BY x);
        EXIT WHEN cardinality(v_involved) = 0;
        EXIT WHEN v_round > 0 AND v_owners = v_seen_owners AND v_conversation IS NOT DISTINCT FROM v_seen_conversation;
        IF v_round >= 5 THEN
            RAISE EXCEPTION 'the owners of the identifiers kept changing' USING ERRCODE = 'serialization_failure';
        END IF;
        FOREACH v_id IN ARRAY v_involved LOOP  -- sorted: two callers lock in the same order
            PERFORM 1 FROM profiles WHERE id = v_id FOR UPDATE;
        END LOOP;
        v_seen_owners := v_owners;
        v_seen_conversation := v_conversation;
        v_round := v_round + 1;
    END LOOP;
    FOREACH v_id IN ARRAY v_involved LOOP
        SELECT jsonb_build_array(p.id, p.created_at, p.last_name, p.date_of_birth) INTO v_row FROM profiles p WHERE p.id = v_id;
        v_profiles := v_profiles || jsonb_build_array(v_row);
        SELECT coalesce(jsonb_agg(jsonb_build_array(l.profile_id, l.type, l.value, l.verified) ORDER BY l.type, l.value),
                        '[]'::jsonb)
          INTO v_rows FROM links l WHERE l.profile_id = v_id;
        v_links := v_links || v_rows;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_sessions, 1), 0) LOOP
        SELECT jsonb_build_array(s.id, s.authenticated, s.last_seen_at, s.ended_at) INTO v_row
          FROM web_sessions s WHERE s.id = p_sessions[i];
        IF FOUND THEN
            v_sessions := v_sessions || jsonb_build_array(v_row);
        END IF;
    END LOOP;
    FOR i IN 1 .. v_keys LOOP
        SELECT count(*) INTO v_count FROM claims WHERE type = p_types[i] AND value = p_values[i];
        IF v_count > 0 THEN
            v_claimants := v_claimants || jsonb_build_array(jsonb_build_array(p_types[i], p_values[i], v_count));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('owners', v_owners, 'conversation', v_conversation, 'profiles', v_profiles,
                              'links', v_links, 'sessions', v_sessions, 'claimants', v_claimants);
END;
$$;
"""


def _edited(text: str, *edits: tuple[str, str]) -> str:
    """``text`` with each ``(old, new)`` made once; a missing ``old`` is an error at import, never a silent no-op."""
    for old, new in edits:
        if text.count(old) != 1:
            raise AssertionError(f"migration text to edit not found exactly once: {old[:60]!r}")
        text = text.replace(old, new)
    return text


# stitch_snapshot as migration 4 defines it, with fewer statements per call (each costs an executor start): no sort
# of a single involved profile, and a profile with its links in one statement.
_LEANER_SNAPSHOT = _edited(
    _STITCH_SNAPSHOT,
    ("""        v_involved := ARRAY(SELECT DISTINCT x FROM unnest(v_involved) AS x ORDER BY x);""",
     """        IF cardinality(v_involved) > 1 THEN
            v_involved := ARRAY(SELECT DISTINCT x FROM unnest(v_involved) AS x ORDER BY x);
        END IF;"""),
    ("""        SELECT jsonb_build_array(p.id, p.created_at, p.last_name, p.date_of_birth) INTO v_row """
     """FROM profiles p WHERE p.id = v_id;
        v_profiles := v_profiles || jsonb_build_array(v_row);
        SELECT coalesce(jsonb_agg(jsonb_build_array(l.profile_id, l.type, l.value, l.verified) ORDER BY l.type, l.value),
                        '[]'::jsonb)
          INTO v_rows FROM links l WHERE l.profile_id = v_id;
        v_links := v_links || v_rows;""",
     """        SELECT jsonb_build_array(p.id, p.created_at, p.last_name, p.date_of_birth),
               (SELECT coalesce(jsonb_agg(jsonb_build_array(l.profile_id, l.type, l.value, l.verified)
                                          ORDER BY l.type, l.value), '[]'::jsonb)
                  FROM links l WHERE l.profile_id = p.id)
          INTO v_row, v_rows FROM profiles p WHERE p.id = v_id;
        v_profiles := v_profiles || jsonb_build_array(v_row);
        v_links := v_links || coalesce(v_rows, '[]'::jsonb);"""),
)


# The common writes of a unit of work in one call (stitching.store.writes: this text is what
# render_stitch_write() gives for its KINDS; a test keeps the two equal) and the first round trip of a stitch
# in one call. PL/pgSQL keeps a plan per statement and connection: no parse or plan per row and call.
_ONE_CALL_PATHS = """
CREATE OR REPLACE FUNCTION stitch_write(p_profile text[], p_link text[], p_claim text[], p_session text[],
    p_conversation text[], p_audit text[], p_outbox text[], p_idempotency text[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_profile IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_profile) - 1 BY 2 LOOP
            INSERT INTO profiles (id, created_at) VALUES (p_profile[o + 1], p_profile[o + 2]::bigint);
        END LOOP;
    END IF;
    IF p_link IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_link) - 1 BY 7 LOOP
            INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) VALUES (p_link[o + 1],
                p_link[o + 2], p_link[o + 3], p_link[o + 4], p_link[o + 5]::boolean, p_link[o + 6], p_link[o +
                7]::bigint);
        END LOOP;
    END IF;
    IF p_claim IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_claim) - 1 BY 6 LOOP
            INSERT INTO claims (type, value, profile_id, verified, first_at, last_at) VALUES (p_claim[o + 1],
                p_claim[o + 2], p_claim[o + 3], p_claim[o + 4]::boolean, p_claim[o + 5]::bigint, p_claim[o +
                6]::bigint) ON CONFLICT (type, value, profile_id) DO UPDATE SET last_at = excluded.last_at, verified
                = (claims.verified OR excluded.verified);
        END LOOP;
    END IF;
    IF p_session IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_session) - 1 BY 4 LOOP
            INSERT INTO web_sessions (id, authenticated, started_at, last_seen_at) VALUES (p_session[o + 1],
                p_session[o + 2]::boolean, p_session[o + 3]::bigint, p_session[o + 4]::bigint) ON CONFLICT (id) DO
                UPDATE SET last_seen_at = excluded.last_seen_at, authenticated = (web_sessions.authenticated OR
                excluded.authenticated);
        END LOOP;
    END IF;
    IF p_conversation IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_conversation) - 1 BY 7 LOOP
            INSERT INTO conversations (id, profile_id, channel, verified, web_session_id, started_at,
                last_activity_at) VALUES (p_conversation[o + 1], p_conversation[o + 2], p_conversation[o + 3],
                p_conversation[o + 4]::boolean, p_conversation[o + 5], p_conversation[o + 6]::bigint,
                p_conversation[o + 7]::bigint) ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id,
                verified = excluded.verified, web_session_id = COALESCE(excluded.web_session_id,
                conversations.web_session_id), last_activity_at = excluded.last_activity_at;
        END LOOP;
    END IF;
    IF p_audit IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_audit) - 1 BY 10 LOOP
            INSERT INTO audit (at, action, reason, profile_id, other_profile_id, identifier_type, identifier_value,
                conversation_id, request_id, detail) VALUES (p_audit[o + 1]::bigint, p_audit[o + 2], p_audit[o + 3],
                p_audit[o + 4], p_audit[o + 5], p_audit[o + 6], p_audit[o + 7], p_audit[o + 8], p_audit[o + 9],
                p_audit[o + 10]);
        END LOOP;
    END IF;
    IF p_outbox IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_outbox) - 1 BY 4 LOOP
            INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES (p_outbox[o + 1], p_outbox[o +
                2], p_outbox[o + 3]::bigint, p_outbox[o + 4]::bigint);
        END LOOP;
    END IF;
    IF p_idempotency IS NOT NULL THEN
        FOR o IN 0 .. cardinality(p_idempotency) - 1 BY 6 LOOP
            INSERT INTO idempotency (key, operation, request_hash, status, response, created_at) VALUES
                (p_idempotency[o + 1], p_idempotency[o + 2], p_idempotency[o + 3], p_idempotency[o + 4]::integer,
                p_idempotency[o + 5], p_idempotency[o + 6]::bigint);
        END LOOP;
    END IF;
END;
$$;

""" + _LEANER_SNAPSHOT + """
-- How a stitch starts: the unit of work's advisory locks (ids sorted by the caller: two callers lock in the same
-- order), then the stored answer for its Idempotency-Key, [operation, request_hash, status, response], or NULL.
CREATE OR REPLACE FUNCTION stitch_recall(p_locks BIGINT[], p_idempotency TEXT)
RETURNS JSONB LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_stored JSONB;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_id) FROM unnest(p_locks) AS lock_id;  -- in array order, one statement
    IF p_idempotency IS NOT NULL THEN
        SELECT jsonb_build_array(operation, request_hash, status, response) INTO v_stored
          FROM idempotency WHERE key = p_idempotency;
    END IF;
    RETURN v_stored;
END;
$$;

-- The first round trip of a stitch: stitch_recall, and when there is no stored answer (a replay needs nothing
-- else), everything the stitch decides on (stitch_snapshot, under those locks).
CREATE OR REPLACE FUNCTION stitch_begin(p_locks BIGINT[], p_idempotency TEXT, p_types TEXT[], p_values TEXT[],
                                        p_conversation TEXT, p_sessions TEXT[])
RETURNS JSONB LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_stored JSONB := stitch_recall(p_locks, p_idempotency);
BEGIN
    IF v_stored IS NOT NULL THEN
        RETURN jsonb_build_object('idempotency', v_stored);
    END IF;
    RETURN jsonb_build_object('idempotency', NULL,
                              'snapshot', stitch_snapshot(p_types, p_values, p_conversation, p_sessions));
END;
$$;
"""


# The commonest stitch, a text from a phone number (SMS vouches for the sender's phone; nothing else given), in one
# round trip: BEGIN, this call and COMMIT go together. It decides only what the rules make plain for such a
# request (stitching.domain.rules.decide with one verified phone claim): a linked phone is matched to its
# profile, an unknown phone with a new conversation creates a profile. Anything else (the conversation is already
# known, the owner changed while its profile was being locked) returns NULL having written nothing, and the
# service runs its full unit of work. The writes are the statements of stitching.store.writes, in the order the
# service makes them; the answer texts come from the service (the matched one with "?" for the profile id, which
# the caller's validated ids cannot contain). A test runs a corpus of requests both ways and compares every
# answer and every row.
_SMS_STITCH = """
CREATE OR REPLACE FUNCTION stitch_sms(
    p_locks BIGINT[], p_idempotency TEXT, p_request_hash TEXT, p_saved_at BIGINT, p_phone TEXT, p_raw TEXT,
    p_conversation TEXT, p_now BIGINT, p_new_profile TEXT, p_request_id TEXT, p_detail TEXT, p_matched TEXT,
    p_created TEXT, p_outbox_kinds TEXT[], p_outbox_payloads TEXT[]
) RETURNS JSONB LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_stored JSONB := stitch_recall(p_locks, p_idempotency);  -- migration 5
    v_owner TEXT;
    v_again TEXT;
    v_target TEXT;
    v_body TEXT;
BEGIN
    IF v_stored IS NOT NULL THEN
        RETURN jsonb_build_object('stored', v_stored);
    END IF;
    PERFORM 1 FROM conversations WHERE id = p_conversation;
    IF FOUND THEN
        RETURN NULL;  -- a known conversation: its profile is involved too (the full unit of work)
    END IF;
    SELECT profile_id INTO v_owner FROM links WHERE type = 'phone' AND value = p_phone;
    IF FOUND THEN
        -- as stitch_snapshot: lock the owner, then read again (a merge may have moved the link meanwhile)
        PERFORM 1 FROM profiles WHERE id = v_owner FOR UPDATE;
        SELECT profile_id INTO v_again FROM links WHERE type = 'phone' AND value = p_phone;
        IF v_again IS DISTINCT FROM v_owner THEN
            RETURN NULL;
        END IF;
        v_target := v_owner;
        INSERT INTO claims (type, value, profile_id, verified, first_at, last_at) VALUES ('phone', p_phone, v_target,
            true, p_now, p_now) ON CONFLICT (type, value, profile_id) DO UPDATE SET last_at = excluded.last_at,
            verified = (claims.verified OR excluded.verified);
        v_body := replace(p_matched, '"profileId":"?"', '"profileId":"' || v_target || '"');
    ELSE
        v_target := p_new_profile;
        INSERT INTO profiles (id, created_at) VALUES (v_target, p_now);
        INSERT INTO audit (at, action, reason, profile_id, other_profile_id, identifier_type, identifier_value,
            conversation_id, request_id, detail) VALUES (p_now, 'create', 'new_identity', v_target, NULL, NULL, NULL,
            p_conversation, p_request_id, p_detail);
        INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) VALUES ('phone', p_phone, p_raw,
            v_target, true, 'verified_identifier', p_now);
        INSERT INTO claims (type, value, profile_id, verified, first_at, last_at) VALUES ('phone', p_phone, v_target,
            true, p_now, p_now) ON CONFLICT (type, value, profile_id) DO UPDATE SET last_at = excluded.last_at,
            verified = (claims.verified OR excluded.verified);
        INSERT INTO audit (at, action, reason, profile_id, other_profile_id, identifier_type, identifier_value,
            conversation_id, request_id, detail) VALUES (p_now, 'link', 'verified_identifier', v_target, NULL, 'phone',
            p_phone, p_conversation, p_request_id, p_detail);
        v_body := p_created;
    END IF;
    INSERT INTO conversations (id, profile_id, channel, verified, web_session_id, started_at, last_activity_at)
        VALUES (p_conversation, v_target, 'sms', true, NULL, p_now, p_now);
    FOR i IN 1 .. coalesce(cardinality(p_outbox_kinds), 0) LOOP
        INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES (p_outbox_kinds[i],
            replace(p_outbox_payloads[i], '"profileId": "?"', '"profileId": "' || v_target || '"'), p_now, p_now);
    END LOOP;
    IF p_idempotency IS NOT NULL THEN
        INSERT INTO idempotency (key, operation, request_hash, status, response, created_at) VALUES (p_idempotency,
            'stitch', p_request_hash, 200, v_body, p_saved_at);
    END IF;
    RETURN jsonb_build_object('body', v_body);
END;
$$;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _SQLITE, _POSTGRESQL),
    Migration(
        2, "outbox index",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;",
    ),
    # OIDC keys were "issuer|subject", ambiguous when the subject holds a "|"; now "<len(issuer)>:issuer|subject"
    # (stitching.domain.identifiers.oidc_key). Issuers never contain "|" (it is not a URL character), so the
    # first "|" of an old key ends its issuer. Trait indexes: the shared-value guard counts profiles per trait.
    Migration(
        3, "unambiguous oidc keys, trait indexes",
        "UPDATE links SET value = (instr(value, '|') - 1) || ':' || value WHERE type = 'oidc' AND value LIKE 'https://%';\n"
        "UPDATE claims SET value = (instr(value, '|') - 1) || ':' || value WHERE type = 'oidc' AND value LIKE 'https://%';\n"
        "CREATE INDEX profiles_by_last_name ON profiles (last_name) WHERE status = 'active';\n"
        "CREATE INDEX profiles_by_date_of_birth ON profiles (date_of_birth) WHERE status = 'active';",
        "UPDATE links SET value = (strpos(value, '|') - 1)::text || ':' || value WHERE type = 'oidc' AND value LIKE 'https://%';\n"
        "UPDATE claims SET value = (strpos(value, '|') - 1)::text || ':' || value WHERE type = 'oidc' AND value LIKE 'https://%';\n"
        "CREATE INDEX profiles_by_last_name ON profiles (last_name) WHERE status = 'active';\n"
        "CREATE INDEX profiles_by_date_of_birth ON profiles (date_of_birth) WHERE status = 'active';",
    ),
    Migration(4, "stitch reads in one round trip", "-- SQLite runs in process: no round trips to save.", _STITCH_SNAPSHOT),
    Migration(5, "common writes and the first round trip of a stitch in one call each",
              "-- SQLite runs in process: no round trips to save.", _ONE_CALL_PATHS),
    Migration(6, "a text from a phone number stitched in one round trip",
              "-- SQLite runs in process: no round trips to save.", _SMS_STITCH),
)
HEAD = MIGRATIONS[-1].version
