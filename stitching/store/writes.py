"""The row writes of a unit of work that PostgreSQL can take in one function call.

Each kind is one SQL statement with ``?`` parameters: SQLite (and PostgreSQL outside a batch) runs it as it is.
Inside a batched PostgreSQL unit of work, consecutive writes with nothing else between them go as one call of
``stitch_write`` (migration 5), which runs the same statements, row by row, from arrays: the server parses and
plans each statement once per connection instead of once per row and call. The function runs the kinds in
``KINDS`` order (profiles first: the other rows reference them); no kind reads what another kind of the same run
writes, so within a run only each kind's own row order matters, and that is kept. ``render_stitch_write`` gives
the function's definition from these statements; a test checks that the newest migration defining it matches.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WriteKind:
    name: str
    sql: str  # one statement, ``?`` per parameter
    types: tuple[str, ...]  # PostgreSQL type of each parameter, in order


KINDS: tuple[WriteKind, ...] = (
    WriteKind("profile", "INSERT INTO profiles (id, created_at) VALUES (?, ?)", ("text", "bigint")),
    WriteKind(
        "link",
        "INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("text", "text", "text", "text", "boolean", "text", "bigint"),
    ),
    WriteKind(
        "claim",
        "INSERT INTO claims (type, value, profile_id, verified, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (type, value, profile_id) DO UPDATE SET last_at = excluded.last_at, "
        "verified = (claims.verified OR excluded.verified)",
        ("text", "text", "text", "boolean", "bigint", "bigint"),
    ),
    WriteKind(
        "session",
        "INSERT INTO web_sessions (id, authenticated, started_at, last_seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
        "authenticated = (web_sessions.authenticated OR excluded.authenticated)",
        ("text", "boolean", "bigint", "bigint"),
    ),
    WriteKind(
        "conversation",
        "INSERT INTO conversations (id, profile_id, channel, verified, web_session_id, started_at, last_activity_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, "
        "verified = excluded.verified, web_session_id = COALESCE(excluded.web_session_id, conversations.web_session_id), "
        "last_activity_at = excluded.last_activity_at",
        ("text", "text", "text", "boolean", "text", "bigint", "bigint"),
    ),
    WriteKind(
        "audit",
        "INSERT INTO audit (at, action, reason, profile_id, other_profile_id, identifier_type, identifier_value, "
        "conversation_id, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("bigint", "text", "text", "text", "text", "text", "text", "text", "text", "text"),
    ),
    WriteKind(
        "outbox",
        "INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
        ("text", "text", "bigint", "bigint"),
    ),
    WriteKind(
        "idempotency",
        "INSERT INTO idempotency (key, operation, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ("text", "text", "text", "integer", "text", "bigint"),
    ),
)
BY_NAME = {kind.name: kind for kind in KINDS}
KIND_NAMES = tuple(kind.name for kind in KINDS)
for _kind in KINDS:
    assert _kind.sql.count("?") == len(_kind.types), _kind.name


@dataclass(frozen=True)
class Write:
    kind: WriteKind
    params: tuple[Any, ...]


def as_text(value: Any) -> str | None:
    """A parameter as PostgreSQL's text input of its type reads it back: ``stitch_write`` takes each kind's
    parameters, row after row, in one text array (NULL when the run has none of that kind) and casts each back to
    its column's type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"cannot pass a {type(value).__name__} to stitch_write")


def render_stitch_write() -> str:
    """The definition of ``stitch_write`` that runs ``KINDS``' statements, row by row, from their text arrays."""
    arguments = ", ".join(f"p_{kind.name} text[]" for kind in KINDS)
    loops = []
    for kind in KINDS:
        parts = kind.sql.split("?")
        width = len(kind.types)
        values = [f"p_{kind.name}[o + {n + 1}]" + ("" if t == "text" else f"::{t}") for n, t in enumerate(kind.types)]
        statement = parts[0] + "".join(value + part for value, part in zip(values, parts[1:], strict=True))
        wrapped = textwrap.fill(statement + ";", width=116, initial_indent=" " * 12, subsequent_indent=" " * 16,
                                break_long_words=False, break_on_hyphens=False)  # SQL: any run of spaces is one
        loops.append(f"    IF p_{kind.name} IS NOT NULL THEN\n"
                     f"        FOR o IN 0 .. cardinality(p_{kind.name}) - 1 BY {width} LOOP\n{wrapped}\n"
                     f"        END LOOP;\n    END IF;")
    header = textwrap.fill(f"CREATE OR REPLACE FUNCTION stitch_write({arguments})", width=116, subsequent_indent=" " * 4,
                           break_long_words=False, break_on_hyphens=False)
    return header + "\nRETURNS void LANGUAGE plpgsql VOLATILE AS $$\nBEGIN\n" + "\n".join(loops) + "\nEND;\n$$;\n"
