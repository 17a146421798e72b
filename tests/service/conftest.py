"""Fixtures for the stitching service: both stores, an in-process client, and real server processes.

PostgreSQL: ``STITCHING_TEST_POSTGRES_URL`` names a server to use (an admin URL; each test gets its own
database); otherwise a throwaway server is started from the machine's PostgreSQL binaries. Where neither
exists the PostgreSQL half of the tests is skipped with the reason, unless ``STITCHING_REQUIRE_POSTGRES=1``
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import hypothesis.configuration
import psycopg
import pytest
from fastapi.testclient import TestClient

from stitching import process
from stitching.api.app import asgi
from stitching.config import ApiCredential, ServiceSettings
from stitching.devdb import PostgresUnavailable, TemporaryPostgres
from stitching.store import Store

# Hypothesis keeps no example database (tests never write into the repo tree); CI explores the same examples
# every run (HYPOTHESIS_PROFILE=ci in .ci/run), a developer's run explores new ones.
hypothesis.configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))  # its caches, too
hypothesis.settings.register_profile("default", database=None)
hypothesis.settings.register_profile("ci", database=None, derandomize=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-caller-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ISSUER = "https://login.example.com"
ENROLLMENT_TOKEN = "test-enrollment-token-0123456789"


class PostgresServer:
    def __init__(self, admin_url: str, temporary: TemporaryPostgres | None) -> None:
        self.admin_url = admin_url
        self.temporary = temporary

    def new_database(self) -> str:
        name = f"stitching_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    given = os.environ.get("STITCHING_TEST_POSTGRES_URL")
    if given:
        yield PostgresServer(given, None)
        return
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailable as exc:
        if os.environ.get("STITCHING_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (STITCHING_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield PostgresServer(server.admin_url, server)
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/stitching.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@dataclass
class Clock:
    now: int = field(default_factory=lambda: 1_795_000_000_000)

    def __call__(self) -> int:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += int(minutes * 60_000)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(database_url: str, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(credential=ApiCredential("genesys", TOKEN), database_url=database_url, **overrides)


@pytest.fixture
def settings(database_url: str) -> ServiceSettings:
    return make_settings(database_url)


@pytest.fixture
def migrated(settings: ServiceSettings) -> Iterator[Store]:
    store = Store(settings.database_url, settings.pool_size)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


class Api:
    """The service in process, over HTTP semantics (starlette's TestClient), with the caller's credential."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def stitch(self, expect: int = 200, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        return self._call("POST", "/v1/stitch", body, expect, headers)

    def record(self, expect: int = 200, **body: Any) -> dict[str, Any]:
        return self._call("POST", "/v1/interactions", body, expect)

    def logout(self, session: str, expect: int = 200) -> dict[str, Any]:
        return self._call("POST", "/v1/sessions/end", {"webSessionId": session}, expect)

    def context(self, expect: int = 200, **params: Any) -> dict[str, Any]:
        response = self.client.get("/v1/context", params=params, headers=AUTH)
        assert response.status_code == expect, response.text
        return dict(response.json())

    def profile(self, profile_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/profiles/{profile_id}", None, 200)

    def audit(self, profile_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/v1/profiles/{profile_id}/audit", None, 200)["entries"])

    def unmerge(self, merge_id: str, expect: int = 200) -> dict[str, Any]:
        return self._call("POST", f"/v1/merges/{merge_id}/undo", {"note": "wrong merge reported by agent"}, expect)

    def _call(self, method: str, path: str, body: Any, expect: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.request(method, path, json=body, headers={**AUTH, **(headers or {})})
        assert response.status_code == expect, response.text
        return dict(response.json())


@pytest.fixture
def app_factory(clock: Clock) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(settings: ServiceSettings, **kwargs: Any) -> TestClient:
        store = Store(settings.database_url, settings.pool_size)
        store.migrate()
        store.close()
        client = TestClient(asgi(settings, clock=kwargs.pop("clock", clock), **kwargs))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(settings: ServiceSettings, app_factory: Callable[..., TestClient]) -> Api:
    return Api(app_factory(settings))


def web_login(api: Api, conversation: str, subject: str, **extra: Any) -> dict[str, Any]:
    """A web conversation with a verified OIDC login of ISSUER."""
    return api.stitch(channel="web", conversationId=conversation, oidcIssuer=ISSUER, oidcSubject=subject,
                      oidcVerified=True, **extra)


def count(store: Store, table: str) -> int:
    """How many rows a table holds."""
    with store.unit_of_work(write=False) as conn:
        row = conn.one(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a private loop: ``asyncio.run`` would leave the main thread without a current loop,
    which Pulumi's ``Output`` (used by other tests in this process) expects to find."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


# -- real server processes -----------------------------------------------------------------------------------


class ServiceProcess(process.ServiceProcess):
    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)


def start_service(database_url: str, log_dir: Path, workers: int = 1, **extra: str) -> ServiceProcess:
    started = process.start(database_url, TOKEN, log_dir / f"service-{uuid.uuid4().hex[:8]}.log", workers=workers,
                            env=extra)
    return ServiceProcess(started.url, started.process, started.log)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(database_url: str, **kwargs: Any) -> ServiceProcess:
        service = start_service(database_url, tmp_path, **kwargs)
        started.append(service)
        return service

    yield start
    for service in started:
        service.kill(signal.SIGTERM)


def spy_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """What batched PostgreSQL units of work send from now on: the statements of each round trip, in order."""
    from stitching.store import engine

    sent: list[list[bytes]] = []
    original = engine.Connection._statements

    def spy(self: engine.Connection, queued: Any) -> Any:
        statements = original(self, queued)
        sent.append([statement for statement, _ in statements])
        return statements

    monkeypatch.setattr(engine.Connection, "_statements", spy)
    return sent


@pytest.fixture
def new_pg_store(postgres_server: PostgresServer) -> Iterator[Callable[[], tuple[Store, str]]]:
    """Makes migrated PostgreSQL stores, each on a database of its own: ``(store, url)``; closed after the test."""
    stores: list[Store] = []

    def make() -> tuple[Store, str]:
        url = postgres_server.new_database()
        store = Store(url, 2)
        stores.append(store)
        store.migrate()
        return store, url

    yield make
    for store in stores:
        store.close()
