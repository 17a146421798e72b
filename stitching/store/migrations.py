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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _SQLITE, _POSTGRESQL),
    Migration(
        2, "outbox index",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;",
    ),
)
HEAD = MIGRATIONS[-1].version
