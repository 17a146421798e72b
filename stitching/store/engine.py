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
import functools
import hashlib
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.abc
import psycopg.errors
from psycopg import generators
from psycopg.adapt import Transformer
from psycopg_pool import ConnectionPool, PoolTimeout

from stitching.errors import RetryTransaction, StoreUnavailable
from stitching.store import writes
from stitching.store.migrations import HEAD, MIGRATIONS
from stitching.store.writes import Write, WriteKind

_MIGRATION_LOCK = "stitching:migrations"
_MIGRATION_WAIT_S = 120
_SCHEMA_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")


DEFAULT_BUSY_TIMEOUT_S = 2.0
_FATAL_ERROR = psycopg.pq.ExecStatus.FATAL_ERROR
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lock_id(key: str) -> int:
    """A stable signed 64-bit advisory lock id for a key (the same in every process and replica)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Connection:
    """One open connection inside a unit of work; SQL is written with ``?`` placeholders for both dialects.

    A PostgreSQL unit of work is *batched*: statements whose results nobody reads yet (BEGIN, the advisory
    locks, writes) are bound on the client (literals, strings quoted by libpq) and queued;
    the next read sends the queue and the read as one multi-statement query, and COMMIT sends what is left. So
    a unit of work costs one round trip per read plus one for COMMIT, and the driver's per-statement work is
    done once per round trip. An error in any queued statement aborts the rest and surfaces where it is sent
    (at the next read or at COMMIT) as the same exception.

    Row writes of the kinds in ``writes.KINDS`` (``write``) are queued as rows; when sent, each run of them with
    nothing else between goes as one ``stitch_write`` call (see ``stitching.store.writes``). The advisory locks
    are queued as ids: the first read may take them into its own statement (``take_locks``, used by
    ``stitch_begin``) when nothing was queued after them; otherwise they go as their own statement."""

    combine_writes = True  # False: every row write as its own statement (the reference the tests compare with)

    def __init__(self, raw: Any, dialect: str, batched: bool = False) -> None:
        self.raw = raw
        self.dialect = dialect
        self.prefetched: dict[Any, Any] = {}  # reads sent ahead of need, by what they read
        self._queue: list[_Queued] | None = [] if batched else None
        self._escaping = psycopg.pq.Escaping(raw.pgconn) if batched else None
        self._plain_quoting = batched and _plain_quoting(raw.pgconn)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._queue is not None:
            self._queue.append((self._bind(sql, params), None))
        else:
            self.raw.execute(self._sql(sql), tuple(params))

    def write(self, kind: WriteKind, params: Sequence[Any]) -> None:
        """One row write of a known kind: queued as a row in a batch, run as its statement elsewhere."""
        if self._queue is not None:
            if len(params) != len(kind.types):
                raise psycopg.ProgrammingError(f"{kind.name}: {len(kind.types)} parameters, {len(params)} given")
            self._queue.append(Write(kind, tuple(params)))
        else:
            self.execute(kind.sql, params)

    def take_locks(self) -> list[int]:
        """The advisory lock ids queued last and not sent yet, removed from the queue: the caller's statement,
        queued next, takes them (in this order) before anything else. Empty when anything was queued after them."""
        if self._queue and isinstance(last := self._queue[-1], _Locks):
            self._queue.pop()
            return last.ids
        return []

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._queue is not None:
            return self.send(sql, params).fetchall()
        return list(self.raw.execute(self._sql(sql), tuple(params)).fetchall())

    def send(self, sql: str, params: Sequence[Any] = ()) -> _Pending:
        """Queue a read without waiting for it (PostgreSQL); its rows arrive with the next round trip. Elsewhere
        the read runs at once."""
        pending = _Pending(self)
        if self._queue is not None:
            self._queue.append((self._bind(sql, params), pending))
        else:
            pending.rows = self.rows(sql, params)
        return pending

    def flush(self) -> None:
        """Send what is queued, as one query, and hand each queued read its rows.

        The query goes to libpq directly (``send_query``, then psycopg's own wait and row loader): the statements
        are already bound, so a cursor would only add per-result bookkeeping (prepared-statement tracking,
        column descriptions) that nothing here reads. Errors are raised as the cursor raises them
        (``error_from_result``: the same SQLSTATE classes, e.g. UniqueViolation)."""
        if not self._queue:
            return
        queued = self._statements(self._queue)
        self._queue = []
        raw = self.raw
        with raw.lock:
            raw.pgconn.send_query(b";\n".join(statement for statement, _ in queued))
            results = raw.wait(generators.execute(raw.pgconn))
        if len(results) != len(queued):
            for result in results:
                if result.status == _FATAL_ERROR:
                    raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
            raise psycopg.InterfaceError(f"{len(queued)} statements sent, {len(results)} results received")
        loader: psycopg.abc.Transformer | None = None
        for result, (_, pending) in zip(results, queued, strict=True):
            status = result.status
            if status == _FATAL_ERROR:
                raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
            if pending is None:
                continue
            if status == _TUPLES_OK:
                loader = loader or Transformer(raw)
                loader.set_pgresult(result)
                pending.rows = loader.load_rows(0, result.ntuples, tuple)
            else:
                pending.rows = []

    def _statements(self, queued: list[_Queued]) -> list[tuple[bytes, _Pending | None]]:
        """The queue as statements: locks as one SELECT, each run of row writes as one call (a single row as its
        own statement)."""
        out: list[tuple[bytes, _Pending | None]] = []
        run: list[Write] = []
        for item in [*queued, None]:
            if isinstance(item, Write):
                run.append(item)
                continue
            if len(run) == 1 or (run and not self.combine_writes):
                out.extend((self._bind(write.kind.sql, write.params), None) for write in run)
            elif run:
                out.append((self._write_call(run), None))
            run = []
            if isinstance(item, _Locks):
                out.append((self._bind("SELECT " + ", ".join("pg_advisory_xact_lock(?)" for _ in item.ids), item.ids), None))
            elif item is not None:
                out.append(item)
        return out

    def _write_call(self, run: list[Write]) -> bytes:
        """The ``stitch_write`` call for a run: per kind in ``writes.KINDS`` order, its rows' parameters in one text
        array literal (``writes.as_text``), NULL for a kind not in the run. Written out inline: this is most of the
        client's work per unit of work."""
        plain = self._plain_quoting
        columns: dict[str, list[str]] = {}
        for write in run:
            values = columns.setdefault(write.kind.name, [])
            for value in write.params:
                kind = type(value)
                if kind is str and plain and "\x00" not in value:
                    values.append("'" + value.replace("'", "''") + "'")
                elif value is None:
                    values.append("NULL")
                elif kind is int:
                    values.append(f"'{value}'")
                else:
                    values.append(self._literal(writes.as_text(value)))
        return ("SELECT stitch_write(" + ", ".join(
            f"ARRAY[{', '.join(columns[name])}]::text[]" if name in columns else "NULL::text[]"
            for name in writes.KIND_NAMES) + ")").encode()

    def _bind(self, sql: str, params: Sequence[Any]) -> bytes:
        """The statement with its ``?`` replaced by SQL literals (see ``_literal``)."""
        parts = _split_placeholders(sql)
        if len(parts) != len(params) + 1:
            raise psycopg.ProgrammingError(f"{len(parts) - 1} placeholders, {len(params)} parameters")
        out = [parts[0]]
        for value, part in zip(params, parts[1:], strict=True):
            out.append(self._literal(value))
            out.append(part)
        return "".join(out).encode()

    def _literal(self, value: Any) -> str:
        """An SQL literal. Strings: on a connection with ``standard_conforming_strings`` on and UTF-8 client
        encoding (PostgreSQL's defaults since 9.1, read from the server's own report), a backslash is an ordinary
        character inside '...' and doubling ``'`` is the whole of quoting, which is what PQescapeLiteral produces
        for such a string; on any other connection libpq quotes it (PQescapeLiteral knows the settings)."""
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
            if self._plain_quoting:
                return "'" + str(value).replace("'", "''") + "'"
            assert self._escaping is not None
            return bytes(self._escaping.escape_literal(value.encode())).decode()
        if value is None:
            return "NULL"
        if kind is int:
            return str(value)
        if kind is bool:
            return "true" if value else "false"
        if isinstance(value, str):  # a str subclass
            return self._literal(str(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(int(value))
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else f"'{value}'::float8"
        if isinstance(value, list | tuple):
            return "ARRAY[" + ", ".join([self._literal(item) for item in value]) + "]" if value else "'{}'"
        raise psycopg.ProgrammingError(f"cannot send a {type(value).__name__} as an SQL literal")

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def lock_keys(self, keys: Sequence[str]) -> None:
        """Advisory locks taken left to right in a fixed order (two units never deadlock); queued with BEGIN."""
        if self.dialect == "postgresql" and keys:
            ids = sorted({lock_id(key) for key in keys})
            if self._queue is not None:
                self._queue.append(_Locks(ids))
            else:
                self.execute("SELECT " + ", ".join("pg_advisory_xact_lock(?)" for _ in ids), ids)

    def lock_profiles(self, ids: Sequence[str]) -> None:
        if self.dialect == "postgresql" and ids:
            self.rows("SELECT id FROM profiles WHERE id = ANY(?) ORDER BY id FOR UPDATE", (sorted(set(ids)),))

    def in_clause(self, count: int) -> str:
        return "(" + ",".join("?" * count) + ")"


@dataclass(frozen=True)
class _Locks:
    ids: list[int]  # sorted


_Queued = tuple[bytes, "_Pending | None"] | Write | _Locks


@functools.lru_cache(maxsize=512)
def _split_placeholders(sql: str) -> tuple[str, ...]:
    """The text around each ``?`` (statements are a few fixed strings: split once each)."""
    return tuple(sql.split("?"))


def _plain_quoting(pgconn: Any) -> bool:
    """Whether doubling ``'`` quotes a string on this connection (see ``Connection._literal``)."""
    return bool(pgconn.parameter_status(b"standard_conforming_strings") == b"on"
                and pgconn.parameter_status(b"client_encoding") == b"UTF8")


class _Pending:
    """The rows of a queued read; asking for them sends the queue if it has not gone yet."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: list[tuple[Any, ...]] | None = None

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self.rows is None:
            self.conn.flush()
        assert self.rows is not None
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        found = self.fetchall()
        return found[0] if found else None


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

        PostgreSQL batches it (see ``Connection``): statements whose results nobody reads (BEGIN, the advisory
        locks, the writes, COMMIT) go with the next read or with COMMIT, so a unit of work costs one round trip
        per read it makes plus one for COMMIT. Their errors surface there, as the same exceptions.
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
                    yield from _batched_transaction(pg, lock_keys if write else ())
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
                        f"({migration.version}, '{_quoted(migration.name)}', {now_ms()});\nCOMMIT;"
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


def _batched_transaction(pg: psycopg.Connection[Any], lock_keys: Sequence[str]) -> Iterator[Connection]:
    """BEGIN and the advisory locks go with the first read, the writes and COMMIT together at the end (see
    ``Connection``). Any failure, in the caller or in what the server ran, rolls back."""
    conn = Connection(pg, "postgresql", batched=True)
    try:
        conn.execute("BEGIN")
        conn.lock_keys(lock_keys)
        yield conn
        conn.execute("COMMIT")
        conn.flush()
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


def _quoted(text: str) -> str:
    """Text inside an SQL '...' literal."""
    return text.replace("'", "''")


def _describe(exc: BaseException) -> str:
    """The database's message without connection strings (they may carry a password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" (connection")[0][:200]
