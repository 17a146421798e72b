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
)
HEAD = MIGRATIONS[-1].version
