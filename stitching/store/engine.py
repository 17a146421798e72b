"""Connections, transactions and locks for SQLite and PostgreSQL, chosen by the database URL.

Per-identity serialization (rule 7), the same contract on both:
- SQLite: every write unit of work starts with ``BEGIN IMMEDIATE``, which takes the database's write lock
  across threads and processes; WAL lets readers go on meanwhile. One writer at a time is SQLite's nature
  and is what makes it correct here.
- PostgreSQL: a write unit of work takes transaction-scoped advisory locks on the identifier keys it
  touches, in sorted order (no deadlock between two units), then row locks on the profiles involved. Two
  replicas stitching the same identity queue on the same advisory lock. The primary key on
  ``links (type, value)`` is the backstop: a violation restarts the unit of work instead of duplicating.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from stitching.errors import RetryTransaction, StoreUnavailable
from stitching.store.migrations import HEAD, MIGRATIONS

_MIGRATION_LOCK = "stitching:migrations"
_MIGRATION_WAIT_S = 120
_SCHEMA_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")


DEFAULT_BUSY_TIMEOUT_S = 2.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lock_id(key: str) -> int:
    """A stable signed 64-bit advisory lock id for a key (the same in every process and replica)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Connection:
    """One open connection inside a unit of work; SQL is written with ``?`` placeholders for both dialects."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect
        self.prefetched: dict[Any, Any] = {}  # reads sent ahead of need (PostgreSQL pipeline), by what they read

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(self._sql(sql), tuple(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.raw.execute(self._sql(sql), tuple(params)).fetchall())

    def send(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """PostgreSQL: send a read without waiting for it (pipeline mode); its rows arrive with the next read's
        round trip. Returns the cursor to fetch them from."""
        assert self.dialect == "postgresql"
        return self.raw.execute(self._sql(sql), tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def lock_keys(self, keys: Sequence[str]) -> None:
        """Advisory locks in one round trip, taken left to right in a fixed order (two units never deadlock)."""
        if self.dialect == "postgresql" and keys:
            ids = sorted({lock_id(key) for key in keys})
            self.raw.execute("SELECT " + ", ".join("pg_advisory_xact_lock(%s)" for _ in ids), ids)

    def lock_profiles(self, ids: Sequence[str]) -> None:
        if self.dialect == "postgresql" and ids:
            self.raw.execute("SELECT id FROM profiles WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (sorted(set(ids)),))

    def in_clause(self, count: int) -> str:
        return "(" + ",".join("?" * count) + ")"


class Store:
    """The database behind one interface. ``unit_of_work`` yields a connection inside one transaction."""

    def __init__(self, url: str, pool_size: int = 10, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        """``busy_timeout_s`` bounds every wait for the database (SQLite's write lock, a pooled connection, a
        PostgreSQL lock, a connection attempt): past it the call fails with StoreUnavailable (503 + Retry-After),
        well before the data action calling it gives up."""
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self._sqlite = _SqlitePool(Path(url.removeprefix("sqlite:///")), pool_size, busy_timeout_s)
        else:
            self.dialect = "postgresql"
            wait_ms = max(1, int(busy_timeout_s * 1000))

            def configure(conn: psycopg.Connection[Any]) -> None:
                # A session setting (not a startup option, which connection poolers such as PgBouncer refuse).
                conn.execute(f"SET lock_timeout = {wait_ms}")

            self._pool = ConnectionPool(
                url.replace("postgres://", "postgresql://", 1), min_size=1, max_size=pool_size, open=False,
                kwargs={"autocommit": True, "connect_timeout": max(2, int(busy_timeout_s + 0.999))},
                configure=configure, timeout=busy_timeout_s, name="stitching",
            )
            try:
                self._pool.open(wait=False)
            except psycopg.Error as exc:
                raise StoreUnavailable(f"cannot connect to PostgreSQL: {_describe(exc)}") from None

    def close(self) -> None:
        if self.dialect == "sqlite":
            self._sqlite.close()
        else:
            self._pool.close()

    @contextmanager
    def unit_of_work(self, lock_keys: Sequence[str] = (), write: bool = True,
                     transaction: bool = True) -> Iterator[Connection]:
        """One transaction; retried by the caller on ``RetryTransaction``; 503-worthy failures become StoreUnavailable.

        PostgreSQL runs it in pipeline mode: statements whose results nobody reads (BEGIN, the advisory locks,
        the writes, COMMIT) go out without waiting, so a unit of work costs one round trip per read it makes
        plus one for COMMIT. Their errors surface at the next read or at COMMIT, as the same exceptions.
        ``transaction=False`` (reads of a single statement only, which is its own consistent snapshot) sends no
        BEGIN or COMMIT at all."""
        try:
            if self.dialect == "sqlite":
                with self._sqlite.connection() as raw:
                    if not transaction:
                        yield Connection(raw, "sqlite")
                        return
                    raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    try:
                        yield Connection(raw, "sqlite")
                        raw.execute("COMMIT")
                    except BaseException:
                        raw.execute("ROLLBACK")
                        raise
            elif not transaction:
                with self._pool.connection() as pg:
                    yield Connection(pg, "postgresql")
            else:
                with self._pool.connection() as pg:
                    yield from _pipelined_transaction(pg, lock_keys if write else ())
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, psycopg.errors.UniqueViolation,
                sqlite3.IntegrityError) as exc:
            raise RetryTransaction(_describe(exc)) from None
        except (psycopg.OperationalError, psycopg.errors.AdminShutdown, PoolTimeout, sqlite3.OperationalError) as exc:
            raise StoreUnavailable(_describe(exc)) from None

    def ping(self) -> int:
        """The schema version, or StoreUnavailable: what readiness reports."""
        with self.unit_of_work(write=False) as conn:
            row = conn.one("SELECT max(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> list[int]:
        """Apply pending migrations; safe when several processes start at once. Returns the versions applied."""
        applied: list[int] = []
        if self.dialect == "sqlite":
            with self._sqlite.connection() as raw:
                raw.execute(f"PRAGMA busy_timeout={_MIGRATION_WAIT_S * 1000}")  # another process may be migrating
                raw.execute(_SCHEMA_TABLE)
                for migration in MIGRATIONS:
                    raw.execute("BEGIN IMMEDIATE")
                    done = raw.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)).fetchone()
                    raw.execute("ROLLBACK")
                    if done:
                        continue
                    # executescript runs the whole migration and its record in one transaction.
                    raw.executescript(
                        f"BEGIN IMMEDIATE;\n{migration.sqlite}\nINSERT INTO schema_migrations VALUES "
                        f"({migration.version}, '{migration.name}', {now_ms()});\nCOMMIT;"
                    )
                    applied.append(migration.version)
                raw.execute(f"PRAGMA busy_timeout={max(1, int(self.busy_timeout_s * 1000))}")
            return applied
        with self._pool.connection(timeout=_MIGRATION_WAIT_S) as pg, pg.transaction():
            pg.execute(f"SET LOCAL lock_timeout = {_MIGRATION_WAIT_S * 1000}")  # another replica may be migrating
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id(_MIGRATION_LOCK),))
            pg.execute(_SCHEMA_TABLE)
            done = {row[0] for row in pg.execute("SELECT version FROM schema_migrations").fetchall()}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                pg.execute(migration.postgresql.encode())
                pg.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)", (migration.version, migration.name, now_ms()))
                applied.append(migration.version)
        return applied

    @property
    def head(self) -> int:
        return HEAD


def _pipelined_transaction(pg: psycopg.Connection[Any], lock_keys: Sequence[str]) -> Iterator[Connection]:
    """BEGIN, the advisory locks, the caller's statements and COMMIT in pipeline mode: only the caller's reads
    and the final sync wait for the server. (psycopg's own transaction block would sync after BEGIN and before
    COMMIT: two more round trips.) Any failure, in the caller or at COMMIT, rolls back."""
    try:
        with pg.pipeline():
            pg.execute("BEGIN")
            conn = Connection(pg, "postgresql")
            conn.lock_keys(lock_keys)
            yield conn
            pg.execute("COMMIT")
    except BaseException:
        if not pg.broken and pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                pg.execute("ROLLBACK")
        raise


class _SqlitePool:
    """A few SQLite connections (WAL, autocommit mode so transactions are explicit) handed out one at a time."""

    def __init__(self, path: Path, size: int, busy_timeout_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._size = size

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout_s)
        conn.execute(f"PRAGMA busy_timeout={max(1, int(self.busy_timeout_s * 1000))}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn, left = self._checkout()
        try:
            if left is not None:
                # The wait for a connection counts against the busy timeout: the whole call stays within it.
                conn.execute(f"PRAGMA busy_timeout={max(1, int(left * 1000))}")
            yield conn
        finally:
            if left is not None:
                conn.execute(f"PRAGMA busy_timeout={max(1, int(self.busy_timeout_s * 1000))}")
            self._idle.put(conn)

    def _checkout(self) -> tuple[sqlite3.Connection, float | None]:
        """An idle (or new) connection, and the seconds of busy timeout left when it had to be waited for."""
        try:
            return self._idle.get_nowait(), None
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self._size:
                conn = self._open()
                self._all.append(conn)
                return conn, None
        waiting_since = time.monotonic()
        try:
            conn = self._idle.get(timeout=self.busy_timeout_s)
        except queue.Empty:
            raise sqlite3.OperationalError(
                f"all {self._size} database connections stayed busy for {self.busy_timeout_s:g} s") from None
        left = self.busy_timeout_s - (time.monotonic() - waiting_since)
        if left <= 0.001:
            self._idle.put(conn)
            raise sqlite3.OperationalError(f"the database stayed busy for {self.busy_timeout_s:g} s")
        return conn, left

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _describe(exc: BaseException) -> str:
    """The database's message without connection strings (they may carry a password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" (connection")[0][:200]
