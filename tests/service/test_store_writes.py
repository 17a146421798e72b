"""``stitch_write`` (one call for a run of row writes) and ``stitch_begin`` (a stitch's first round trip) write and
answer exactly what the plain statements do: the statement path is the reference."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from stitching import service as service_module
from stitching.errors import RetryTransaction
from stitching.service import EnrollRequest, RecordRequest, StitchingService, StitchRequest
from stitching.store import Store
from stitching.store import engine as store_engine
from stitching.store.migrations import MIGRATIONS
from stitching.store.writes import KINDS, render_stitch_write
from tests.service.conftest import ISSUER, Clock, make_settings, spy_round_trips

TABLES = {
    "profiles": "id", "links": "type, value", "claims": "type, value, profile_id", "web_sessions": "id",
    "conversations": "id", "merges": "id", "idempotency": "key", "audit": "seq", "outbox": "id",
}


def test_the_newest_migration_defines_stitch_write_as_the_write_kinds_say() -> None:
    """A change to a write kind's statement needs a new migration that redefines the function."""
    defining = [m for m in MIGRATIONS if "FUNCTION stitch_write(" in m.postgresql]
    assert defining, "no migration defines stitch_write"
    assert render_stitch_write() in defining[-1].postgresql


def test_every_write_kind_is_a_plain_statement_with_one_type_per_parameter() -> None:
    for kind in KINDS:
        assert kind.sql.count("?") == len(kind.types), kind.name
        assert set(kind.types) <= {"text", "bigint", "integer", "boolean"}, kind.name


def _journey(service: StitchingService, clock: Clock) -> list[Any]:
    """Calls that take every write kind, alone and in runs: new and returning customers, sessions, a login adopting
    an anonymous visit (a merge), a refused merge, a takeover, an enrollment with traits, outcomes, replays."""
    answers: list[Any] = []

    def stitch(key: str | None = None, **fields: Any) -> None:
        answers.append(service.stitch(StitchRequest(**fields), key).body)

    stitch(channel="sms", conversation_id="c1", phone="+12025550101", phone_verified=True)
    stitch("k-1", channel="sms", conversation_id="c2", phone="+12025550101", phone_verified=True)
    stitch("k-1", channel="sms", conversation_id="c2", phone="+12025550101", phone_verified=True)  # replay
    stitch(channel="web", conversation_id="c3", web_session_id="s-1", phone="+12025550102")
    clock.advance(1)
    stitch("k-2", channel="web", conversation_id="c4", web_session_id="s-1", oidc_issuer=ISSUER, oidc_subject="alice",
           oidc_verified=True, email="alice@example.com")
    stitch(channel="web", conversation_id="c5", web_session_id="s-1", oidc_issuer=ISSUER, oidc_subject="bob",
           oidc_verified=True)
    stitch(channel="web", conversation_id="c7", web_session_id="s-2")  # an anonymous visit...
    stitch(channel="web", conversation_id="c8", web_session_id="s-2", oidc_issuer=ISSUER, oidc_subject="alice",
           oidc_verified=True)  # ...adopted by alice's login: a merge
    answers.append(service.record(RecordRequest("c4", "agent-1", "queue-1", "topic o'brien", "done")).body)
    answers.append(service.enroll(EnrollRequest(source="crm-sync", anchor_crm_id="crm-7", phone="+12025550103",
                                                email="o'hara\\x@example.com", last_name="O'Neil",
                                                date_of_birth="1980-02-03"), "e-1").body)
    stitch(channel="sms", conversation_id="c6", phone="+12025550103", phone_verified=True, crm_id="crm-7",
           crm_id_verified=True, last_name="x")
    answers.append(service.end_session("s-1", "logout", None, "end-1").body)
    return answers


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
                for table, order in TABLES.items()}


@pytest.fixture
def run_journey(new_pg_store: Callable[[], tuple[Store, str]],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], Any]]:
    def run(combined: bool, plain_quoting: bool = True) -> tuple[list[Any], dict[str, list[tuple[Any, ...]]], list[bytes]]:
        counter = itertools.count()
        if not plain_quoting:
            monkeypatch.setattr(store_engine, "_plain_quoting", lambda pgconn: False)
        monkeypatch.setattr(service_module, "new_id", lambda: str(uuid.UUID(int=next(counter))))
        monkeypatch.setattr(store_engine.Connection, "combine_writes", combined)
        round_trips = spy_round_trips(monkeypatch)
        store, url = new_pg_store()
        clock = Clock()
        service = StitchingService(store, make_settings(url), clock=clock)
        service.mirror = True  # the Genesys mirror's outbox rows too
        answers = _journey(service, clock)
        return answers, _tables(url), [statement for trip in round_trips for statement in trip]

    yield run


@pytest.mark.parametrize("plain_quoting", [True, False], ids=["doubled-quotes", "libpq-quoting"])
def test_one_call_writes_exactly_what_the_statements_write(run_journey: Callable[..., Any], plain_quoting: bool) -> None:
    combined_answers, combined_rows, combined_sent = run_journey(True, plain_quoting)
    plain_answers, plain_rows, plain_sent = run_journey(False)
    assert combined_answers == plain_answers
    assert combined_rows == plain_rows
    assert all(combined_rows.values()), "the journey must write every table"
    assert any(row[1] == "o'hara\\x@example.com" for row in combined_rows["links"])  # quotes and a backslash
    assert any(answer.get("decision") == "merged" for answer in combined_answers)
    # the two paths really differ: runs of writes went as stitch_write calls, and not a single one in the reference
    assert sum(b"stitch_write(" in s for s in combined_sent) >= 5
    assert not any(b"stitch_write(" in s for s in plain_sent)


def test_a_failing_row_in_a_call_fails_the_unit_of_work_like_its_statement(
        new_pg_store: Callable[[], tuple[Store, str]]) -> None:
    """A duplicate link inside a stitch_write call fails the unit of work as the plain INSERT does (a unique
    violation, which the service retries) and leaves nothing behind."""
    store, url = new_pg_store()
    link = next(k for k in KINDS if k.name == "link")
    profile = next(k for k in KINDS if k.name == "profile")
    with pytest.raises(RetryTransaction, match="links_pkey"), store.unit_of_work(["id:phone:+1"]) as conn:
        conn.write(profile, ("p1", 1))
        conn.write(link, ("phone", "+1", "+1", "p1", True, "r", 1))
        conn.write(link, ("phone", "+1", "+1", "p1", True, "r", 1))
    assert _tables(url)["profiles"] == []


def test_stitch_snapshot_reads_what_migration_4_read(new_pg_store: Callable[[], tuple[Store, str]]) -> None:
    """Migration 5 redefines stitch_snapshot with fewer statements; on every state the journey leaves, for every
    identifier, conversation and session (and combinations, unknown ones included), it answers as migration 4's."""
    store, url = new_pg_store()
    first = next(m for m in MIGRATIONS if m.version == 4).postgresql
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(first.replace("FUNCTION stitch_snapshot(", "FUNCTION stitch_snapshot_v4(").encode())
        _journey(StitchingService(store, make_settings(url), clock=Clock()), Clock())
        keys = conn.execute("SELECT type, value FROM links UNION SELECT 'phone', '+19999999999' ORDER BY 1, 2").fetchall()
        conversations = [row[0] for row in conn.execute("SELECT id FROM conversations ORDER BY id")] + ["nope", None]
        sessions = [[row[0]] for row in conn.execute("SELECT id FROM web_sessions ORDER BY id")] + [[], ["nope"]]
        compared = 0
        for width in (1, 2, 3):
            for chosen in itertools.combinations(keys, width):
                for conversation in conversations[::2]:
                    for session in sessions:
                        args = ([k[0] for k in chosen], [k[1] for k in chosen], conversation, session)
                        (old,) = conn.execute("SELECT stitch_snapshot_v4(%s, %s, %s, %s)", args).fetchone() or (None,)
                        (new,) = conn.execute("SELECT stitch_snapshot(%s, %s, %s, %s)", args).fetchone() or (None,)
                        assert new == old, args
                        compared += 1
        assert compared > 500
        assert any(len(doc["profiles"]) > 1 for (doc,) in [conn.execute(
            "SELECT stitch_snapshot(%s, %s, NULL, '{}')", ([k[0] for k in keys], [k[1] for k in keys])).fetchone()])
