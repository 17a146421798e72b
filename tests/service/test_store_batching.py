"""The PostgreSQL unit of work binds statements on the client and reads results from libpq directly: what it sends
must mean exactly what the parameters say, and the database's errors must surface as psycopg raises them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import psycopg.errors
import pytest

from stitching.store.engine import Connection
from tests.service.conftest import PostgresServer

TRICKY = [
    "", "plain", "o'brien", "''", "'", "\\", "\\'", "C:\\new\\table", "\\x41", "E'x'", "$$", "$tag$ x $tag$", "--",
    "/* x */", "a;DROP TABLE links;--", "ünïcødé", "\uff41\uff4c\uff49\uff43\uff45", "\u212a", "emoji \U0001F600",
    "tab\there", "new\nline",
    "?", "a ? b", "%s", "%(x)s", "{}", "{a,b}", "NULL", "'NULL'", "\"quoted\"", "x" * 2000,
]


@pytest.fixture
def pg(postgres_server: PostgresServer) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_server.new_database(), autocommit=True) as conn:
        yield conn


def _round_trip(conn: Connection, value: object) -> object:
    row = conn.one("SELECT ?", (value,))
    assert row is not None
    return row[0]


@pytest.mark.parametrize("plain", [True, False], ids=["doubled-quotes", "libpq"])
def test_string_literals_mean_the_value(pg: psycopg.Connection[tuple[object, ...]], plain: bool) -> None:
    conn = Connection(pg, "postgresql", batched=True)
    assert conn._plain_quoting  # the server's defaults
    conn._plain_quoting = plain
    for value in TRICKY:
        assert _round_trip(conn, value) == value, repr(value)
    assert _round_trip(conn, ["o'brien", "\\", None]) == ["o'brien", "\\", None]


def test_other_literals(pg: psycopg.Connection[tuple[object, ...]]) -> None:
    conn = Connection(pg, "postgresql", batched=True)
    for value in (None, True, False, 0, -1, 2**62, 1.5, -0.25):
        assert _round_trip(conn, value) == value
    with pytest.raises(psycopg.DataError, match="NUL"):
        conn.execute("SELECT ?", ("a\x00b",))
    with pytest.raises(psycopg.ProgrammingError, match="1 placeholders, 2 parameters"):
        conn.execute("SELECT ?", (1, 2))


def test_quoting_falls_back_to_libpq_when_backslashes_escape(pg: psycopg.Connection[tuple[object, ...]]) -> None:
    """With standard_conforming_strings off, '\\' escapes inside '...': doubling quotes alone would be wrong, so the
    connection is quoted by libpq, which knows the setting."""
    pg.execute("SET standard_conforming_strings = off")
    conn = Connection(pg, "postgresql", batched=True)
    assert not conn._plain_quoting
    for value in TRICKY:
        assert _round_trip(conn, value) == value, repr(value)


def test_results_go_to_their_reads_and_errors_keep_their_class(pg: psycopg.Connection[tuple[object, ...]]) -> None:
    pg.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INT)")
    conn = Connection(pg, "postgresql", batched=True)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (?, ?)", ("a", 1))
    first = conn.send("SELECT n FROM t WHERE k = ?", ("a",))
    conn.execute("INSERT INTO t VALUES (?, ?)", ("b", 2))
    second = conn.send("SELECT k, n FROM t ORDER BY k")
    empty = conn.send("SELECT n FROM t WHERE k = ?", ("none",))
    assert second.fetchall() == [("a", 1), ("b", 2)]  # one round trip delivers all three
    assert first.fetchall() == [(1,)] and empty.fetchall() == []
    conn.execute("INSERT INTO t VALUES (?, ?)", ("a", 3))
    conn.execute("COMMIT")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.flush()
    assert pg.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    pg.execute("ROLLBACK")
    assert pg.execute("SELECT count(*) FROM t").fetchone() == (0,)
