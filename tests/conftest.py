from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from tests.fakes.genesys_api import CLIENT_ID, CLIENT_SECRET, FakeGenesys, serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_genesys() -> Iterator[tuple[FakeGenesys, str]]:
    state = FakeGenesys()
    server, url = serve(state)
    try:
        yield state, url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api_client_factory(fake_genesys: tuple[FakeGenesys, str], sleeps: list[float]):  # type: ignore[no-untyped-def]
    _, url = fake_genesys

    def factory(region: str) -> GenesysApiClient:
        assert region == "us-east-1"
        return GenesysApiClient(api_base=url, login_base=url, credentials=ClientCredentials(CLIENT_ID, CLIENT_SECRET),
                                sleep=sleeps.append)

    return factory


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The project's program and stack files in a scratch folder, for tests that edit a stack file."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture(autouse=True)
def _no_ambient_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GENESYS_IDENTITY_", "GENESYSCLOUD_", "PULUMI_CONFIG")):
            monkeypatch.delenv(key)
