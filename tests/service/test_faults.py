"""Faults and abuse: a killed process mid-merge, the database going away, fuzzed and oversized requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stitching.devdb import PostgresUnavailable, TemporaryPostgres
from stitching.domain.identifiers import IdentifierError, normalize_email, normalize_oidc, normalize_phone
from stitching.errors import RetryTransaction
from stitching.store import Store
from tests.service.conftest import AUTH, ROOT, ServiceProcess, make_settings, run_async

ISSUER = "https://idp.example.com"
CUSTOMERS = 60


ENROLLMENT_TOKEN = "test-enrollment-token-0123456789"
ENROLLMENT_AUTH = {"Authorization": f"Bearer {ENROLLMENT_TOKEN}"}


def _enrollment(anchor: dict[str, str], **identifiers: str) -> dict[str, Any]:
    return {"source": "crm-sync", "anchor": anchor, **identifiers}


def _seed_pairs(url: str) -> None:
    """Per customer two profiles that one enrollment will merge: a web login's, and a CRM sync's with the phone."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        for i in range(CUSTOMERS):
            assert client.post("/v1/stitch", json={"channel": "web", "conversationId": f"w-{i}", "oidcIssuer": ISSUER,
                                                   "oidcSubject": f"user-{i}", "oidcVerified": True}).status_code == 200
            crm = client.post("/v1/enrollments", json=_enrollment({"crmId": f"CRM-{i}"}, phone=f"+1312300{i:04d}"),
                              headers={**ENROLLMENT_AUTH, "Idempotency-Key": f"seed-{i}"})
            assert crm.status_code == 200, crm.text


def _merging(i: int) -> dict[str, Any]:
    """The login's enrollment: the CRM id and the phone, two verified factors of the CRM profile, merge it."""
    return _enrollment({"oidcIssuer": ISSUER, "oidcSubject": f"user-{i}"}, crmId=f"CRM-{i}", phone=f"+1312300{i:04d}")


async def _fire(url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url, headers=ENROLLMENT_AUTH, timeout=30) as client:
        async def one(i: int) -> int:
            try:
                return (await client.post("/v1/enrollments", json=_merging(i),
                                          headers={"Idempotency-Key": f"merge-{i}"})).status_code
            except httpx.TransportError:
                return 0  # the process died under this request
        return await asyncio.gather(*(one(i) for i in range(CUSTOMERS)))


def _consistent(database_url: str) -> dict[str, int]:
    """The store's invariants after a crash; returns counts for the caller's expectations."""
    store = Store(database_url, 2)
    try:
        with store.unit_of_work(write=False) as conn:
            orphan_links = conn.one("SELECT count(*) FROM links l JOIN profiles p ON p.id = l.profile_id "
                                    "WHERE p.status <> 'active'")
            half_merged = conn.one("SELECT count(*) FROM profiles p WHERE p.status = 'merged' AND NOT EXISTS "
                                   "(SELECT 1 FROM merges m WHERE m.absorbed_id = p.id AND m.undone_at IS NULL)")
            unrecorded = conn.one("SELECT count(*) FROM merges m WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE "
                                  "a.action = 'merge' AND a.other_profile_id = m.absorbed_id)")
            links = conn.one("SELECT count(*) FROM links")
            merges = conn.one("SELECT count(*) FROM merges")
    finally:
        store.close()
    assert orphan_links and half_merged and unrecorded and links and merges
    assert orphan_links[0] == 0, "a link points at a merged profile: a half merge"
    assert half_merged[0] == 0, "a profile is marked merged without its merge record"
    assert unrecorded[0] == 0, "a merge without its audit entry"
    return {"links": int(links[0]), "merges": int(merges[0])}


def test_a_process_killed_during_concurrent_merges_leaves_a_consistent_store_and_recovers(
    database_url: str, services: Callable[..., ServiceProcess]
) -> None:
    first = services(database_url, STITCHING_ENROLLMENT_TOKEN=ENROLLMENT_TOKEN)
    _seed_pairs(first.url)
    before = _consistent(database_url)
    assert before == {"links": 3 * CUSTOMERS, "merges": 0}

    def merges_done() -> int:
        store = Store(database_url, 1)
        try:
            with store.unit_of_work(write=False) as conn:
                row = conn.one("SELECT count(*) FROM merges")
            return int(row[0]) if row else 0
        finally:
            store.close()

    async def kill_mid_burst() -> list[int]:
        burst = asyncio.create_task(_fire(first.url))
        # Kill as soon as the first merges have committed: the rest are in flight or queued behind them.
        deadline = time.monotonic() + 10
        while await asyncio.to_thread(merges_done) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        first.kill(signal.SIGKILL)
        return await burst

    statuses = run_async(kill_mid_burst())
    assert set(statuses) <= {0, 200} and 0 in statuses, "the kill should land mid-burst"
    mid = _consistent(database_url)
    assert mid["links"] == 3 * CUSTOMERS  # no link lost, none duplicated

    second = services(database_url, STITCHING_ENROLLMENT_TOKEN=ENROLLMENT_TOKEN)  # restart on the same store,
    # then retry what the callers saw fail (the same Idempotency-Keys: what committed before the kill replays)
    assert set(run_async(_fire(second.url))) == {200}
    after = _consistent(database_url)
    assert after == {"links": 3 * CUSTOMERS, "merges": CUSTOMERS}


def test_the_database_going_away_gives_503_and_service_resumes_when_it_returns(
    tmp_path: Path, services: Callable[..., ServiceProcess]
) -> None:
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        url = server.create_database("outage")
        service = services(url)
        body = {"channel": "sms", "conversationId": "c-1", "phone": "+13125550111", "phoneVerified": True}
        with httpx.Client(base_url=service.url, headers=AUTH, timeout=30) as client:
            profile = client.post("/v1/stitch", json=body).json()["profileId"]
            server.pause()
            down = client.post("/v1/stitch", json={**body, "conversationId": "c-2"})
            assert down.status_code == 503 and down.headers["Retry-After"] == "1"
            assert down.json()["error"] == "unavailable" and "postgres" not in down.text.lower()
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200  # alive: not to be restarted for the database's outage
            server.resume()
            deadline = time.monotonic() + 20
            while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            again = client.post("/v1/stitch", json={**body, "conversationId": "c-2"})
            assert again.status_code == 200 and again.json()["profileId"] == profile
    finally:
        server.stop()


# -- SQLite's write lock held elsewhere ------------------------------------------------------------------------

# The Stitch Identity data action gives up after its timeoutSeconds: a 503 must reach it well before that, with
# time left for the network and Genesys' own handling: within 60 % of the action's timeout (3 s of 5 s; the busy
# timeout is 2 s, the rest is headroom for this shared machine), and a caller that first queued for a connection
# within 70 % (waiting for a connection and then for the lock would take twice the busy timeout: 4 s).
STITCH_ACTION_TIMEOUT_S = json.loads((ROOT / "data_actions" / "stitch-identity.json").read_text())["config"]["timeoutSeconds"]
BUSY_BOUND_S = STITCH_ACTION_TIMEOUT_S * 0.6
QUEUED_BOUND_S = STITCH_ACTION_TIMEOUT_S * 0.7


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection in a write transaction (BEGIN IMMEDIATE)."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO profiles (id, created_at) VALUES ('holder', 0)")
    return holder


def _timed_stitch(client: httpx.Client, conversation: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post("/v1/stitch", json={"channel": "sms", "conversationId": conversation, "phone": "+13124442222",
                                               "phoneVerified": True})
    return response, time.monotonic() - started


def test_a_held_sqlite_write_lock_answers_503_well_within_the_data_actions_timeout(
    tmp_path: Path, services: Callable[..., ServiceProcess]
) -> None:
    path = tmp_path / "busy.db"
    service = services(f"sqlite:///{path}", STITCHING_DB_POOL_SIZE="2")  # the default busy timeout
    holder = _hold_write_lock(path)
    try:
        with httpx.Client(base_url=service.url, headers=AUTH, timeout=STITCH_ACTION_TIMEOUT_S * 3) as client:
            busy, elapsed = _timed_stitch(client, "c-1")
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) >= 1 and busy.json()["error"] == "unavailable"
            assert 1.0 <= elapsed < BUSY_BOUND_S, f"503 after {elapsed:.2f} s; the action gives up at {STITCH_ACTION_TIMEOUT_S} s"

            # More callers than pooled connections: the ones queued for a connection are bounded the same way.
            async def burst() -> list[tuple[int, float]]:
                async with httpx.AsyncClient(base_url=service.url, headers=AUTH, timeout=STITCH_ACTION_TIMEOUT_S * 3) as ac:
                    async def one(i: int) -> tuple[int, float]:
                        started = time.monotonic()
                        response = await ac.post("/v1/stitch", json={"channel": "sms", "conversationId": f"b-{i}",
                                                                     "phone": "+13124442222", "phoneVerified": True})
                        return response.status_code, time.monotonic() - started
                    return await asyncio.gather(*(one(i) for i in range(6)))

            results = run_async(burst())
            assert {status for status, _ in results} == {503}, results
            assert max(elapsed for _, elapsed in results) < QUEUED_BOUND_S, results  # one budget, queueing included

            holder.rollback()
            assert _timed_stitch(client, "c-2")[0].status_code == 200  # the lock gone, the service answers at once
    finally:
        holder.close()


def test_a_write_lock_released_within_the_busy_timeout_is_waited_for(tmp_path: Path,
                                                                       services: Callable[..., ServiceProcess]) -> None:
    path = tmp_path / "busy.db"
    service = services(f"sqlite:///{path}", STITCHING_DB_BUSY_TIMEOUT="3s")
    holder = _hold_write_lock(path)
    release = threading.Timer(0.5, holder.rollback)
    locked_at = time.monotonic()
    release.start()
    try:
        with httpx.Client(base_url=service.url, headers=AUTH, timeout=STITCH_ACTION_TIMEOUT_S * 3) as client:
            response, elapsed = _timed_stitch(client, "c-1")
        assert response.status_code == 200, response.text  # it could only write once the lock was released
        assert time.monotonic() - locked_at >= 0.5 and elapsed < 3, elapsed
    finally:
        release.join()
        holder.close()


# -- fuzzing the API -----------------------------------------------------------------------------------------

SPECIMENS = ["", " ", "null", "+1", "0000000000", "a@b", "(555) 010-2030", "\uff46\uff55\uff4c\uff4c", "\u0000", "😀" * 40]
TEXT = st.one_of(st.none(), st.text(max_size=300), st.sampled_from(SPECIMENS))
FIELD_VALUES = st.one_of(TEXT, st.booleans(), st.integers(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=3))
# Text shaped like what each parser expects, so the fuzzer reaches inside the URL, email, phone and date parsers
# (random text is refused at their first check): "https://[" once made urlsplit raise past them.
URLISH = st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(["https://", "http://", "https:", "HTTPS://", ""]),
                   st.text(alphabet="ab.-_:@[]%/?#|\\ 09\u00e9\u0000", max_size=30))
EMAILISH = st.builds(lambda local, domain: f"{local}@{domain}", st.text(alphabet="aA.+-_\"\u00e9\uff41 \\", max_size=12),
                     st.text(alphabet="ab.-\u00e9\u212a[]:", max_size=20))
PHONEISH = st.text(alphabet="+0123456789 ()-.xtA\u0660\uff11", max_size=24)
TIMEISH = st.text(alphabet="0123456789-:TZ+. ", max_size=30)
KEYED = {"oidcIssuer": URLISH, "email": EMAILISH, "phone": PHONEISH, "dateOfBirth": TIMEISH, "occurredAt": TIMEISH}
STITCH_BODIES = st.fixed_dictionaries(
    {"channel": st.one_of(st.sampled_from(["web", "sms", "voice"]), FIELD_VALUES),
     "conversationId": st.one_of(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True), FIELD_VALUES)},
    optional={key: st.one_of(FIELD_VALUES, KEYED[key]) if key in KEYED else FIELD_VALUES
              for key in ("oidcIssuer", "oidcSubject", "oidcVerified", "crmId", "crmIdVerified", "phone",
                          "phoneVerified", "email", "emailVerified", "webSessionId", "lastName", "dateOfBirth",
                          "occurredAt", "unexpected")},
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from stitching.api.app import asgi

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    settings_ = make_settings(f"sqlite:///{path}")
    store = Store(settings_.database_url)
    store.migrate()
    store.close()
    with TestClient(asgi(settings_), raise_server_exceptions=False) as client:
        yield client, settings_.database_url


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=STITCH_BODIES)
def test_fuzzed_stitch_bodies_never_get_a_500_nor_store_garbage(fuzz_client: Any, body: dict[str, Any]) -> None:
    client, database_url = fuzz_client
    response = client.post("/v1/stitch", content=json.dumps(body, allow_nan=True), headers={**AUTH,
                                                                                           "Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 413, 422), response.text
    if response.status_code == 200:
        store = Store(database_url, 1)
        try:
            with store.unit_of_work(write=False) as conn:
                for kind, value in conn.rows("SELECT type, value FROM links"):
                    if kind == "phone":
                        assert E164.match(value), value
                    elif kind == "email":
                        assert value == value.lower() and "@" in value, value
                    assert value.strip() == value and value.lower() not in ("", "null", "undefined"), value
        finally:
            store.close()


@settings(max_examples=400, deadline=None)
@given(issuer=st.one_of(URLISH, TEXT.filter(lambda t: t is not None)), subject=st.text(max_size=20),
       email=st.one_of(EMAILISH, st.text(max_size=40)), phone=st.one_of(PHONEISH, st.text(max_size=30)))
def test_identifier_parsers_answer_an_identifier_or_an_identifier_error_only(issuer: str, subject: str, email: str,
                                                                              phone: str) -> None:
    """Whatever the text, a parser gives an identifier or IdentifierError (a 422 naming the field), never another
    exception (a 500): the request-level fuzz above rarely builds a body valid enough to reach them."""
    for parse in (lambda: normalize_oidc(issuer, subject), lambda: normalize_email(email),
                  lambda: normalize_phone(phone, "US"), lambda: normalize_phone(phone, "GB")):
        with contextlib.suppress(IdentifierError):
            parse()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phone=st.text(max_size=80), window=st.one_of(st.none(), st.integers(), st.text(max_size=8)),
       as_of=st.one_of(st.none(), st.text(max_size=40)))
def test_fuzzed_context_queries_never_get_a_500(fuzz_client: Any, phone: str, window: Any, as_of: Any) -> None:
    client, _ = fuzz_client
    params = {"phone": phone, **({"windowMinutes": window} if window is not None else {}),
              **({"asOf": as_of} if as_of is not None else {})}
    response = client.get("/v1/context", params=params, headers=AUTH)
    assert response.status_code in (200, 422), response.text


def test_a_chunked_body_over_the_limit_is_refused_without_a_length(fuzz_client: Any) -> None:
    client, _ = fuzz_client

    def chunks() -> Any:
        yield b'{"channel": "web", "conversationId": "c", "lastName": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    response = client.post("/v1/stitch", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413


# -- a unit of work fails as a whole, also when PostgreSQL reports the error only at COMMIT (pipeline mode) --------


def test_a_write_that_fails_at_commit_rolls_back_the_whole_unit_and_the_connection_stays_usable(database_url: str) -> None:
    store = Store(database_url, 1)  # one connection: the next unit of work must get it back clean
    store.migrate()
    try:
        with store.unit_of_work(["id:test"]) as conn:
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-1', 0)")
        with pytest.raises(RetryTransaction), store.unit_of_work(["id:test"]) as conn:
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-2', 0)")
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-1', 0)")  # duplicate key
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-3', 0)")
        with pytest.raises(ZeroDivisionError), store.unit_of_work(["id:test"]) as conn:
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-4', 0)")
            raise ZeroDivisionError  # the caller fails after queuing a write
        with store.unit_of_work(["id:test"]) as conn:
            conn.execute("INSERT INTO profiles (id, created_at) VALUES ('p-5', 0)")
        with store.unit_of_work(write=False, transaction=False) as conn:
            assert [row[0] for row in conn.rows("SELECT id FROM profiles ORDER BY id")] == ["p-1", "p-5"]
    finally:
        store.close()


TRICKY_TEXT = ["O'Brien", "back\\slash\\'", "100%s %(x)s", "? ?", "é 漢字 😀", "$$ $x$", "-- c", "'; DROP TABLE audit; --",
               "E'\\x41'", "\t\n\r", ""]


def test_values_reach_the_database_exactly_as_given_whatever_they_contain(database_url: str) -> None:
    """PostgreSQL units of work bind values as literals on the client (to batch statements): quoting must be exact."""
    store = Store(database_url, 1)
    store.migrate()
    try:
        with store.unit_of_work(["id:test"]) as conn:
            for number, text in enumerate(TRICKY_TEXT):
                conn.execute("INSERT INTO profiles (id, created_at, last_name, date_of_birth) VALUES (?, ?, ?, ?)",
                             (f"p-{number}", -(2**62) + number, text, None))
            conn.execute("UPDATE profiles SET date_of_birth = ? WHERE id = ? AND last_name = ?", ("x", "p-0", TRICKY_TEXT[0]))
            read_inside = conn.rows("SELECT id FROM profiles WHERE last_name = ANY(?) ORDER BY id", (TRICKY_TEXT,)) \
                if conn.dialect == "postgresql" else None
        with store.unit_of_work(write=False) as conn:
            stored = conn.rows("SELECT id, created_at, last_name, date_of_birth FROM profiles ORDER BY created_at")
        assert [(row[1], row[2]) for row in stored] == [(-(2**62) + n, text) for n, text in enumerate(TRICKY_TEXT)]
        assert [row[3] for row in stored] == ["x"] + [None] * (len(TRICKY_TEXT) - 1)
        if read_inside is not None:
            assert len(read_inside) == len(TRICKY_TEXT)
        if store.dialect == "postgresql":  # PostgreSQL text cannot hold NUL: refused before anything is sent
            with pytest.raises(psycopg.DataError, match="NUL"), store.unit_of_work(["id:test"]) as conn:
                conn.execute("INSERT INTO profiles (id, created_at) VALUES (?, ?)", ("nul\x00id", 0))
    finally:
        store.close()
