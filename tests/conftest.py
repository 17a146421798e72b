from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from genesys_identity.genesys.rest import ClientCredentials, GenesysApiClient
from tests.fakes.genesys_api import CLIENT_ID, CLIENT_SECRET, FakeGenesys, serve

if TYPE_CHECKING:
    from genesys_identity.plan import Plan
    from genesys_identity.settings import StackSettings

ROOT = Path(__file__).resolve().parent.parent


def load_dev_settings() -> StackSettings:
    """The shipped dev stack's settings, read as the program reads them (secrets by their environment names)."""
    from genesys_identity.settings import KEYS, parse_settings
    from genesys_identity.stackfile import StackFileSource

    source = StackFileSource(ROOT, "dev", tuple(s.key for s in KEYS if s.secret))
    return parse_settings(source, stack="dev", project=source.project)


@pytest.fixture(scope="module")
def dev_settings() -> StackSettings:
    return load_dev_settings()


@pytest.fixture(scope="module")
def dev_plan() -> Plan:
    """The dev stack's offline plan (Pulumi's mocks), once per test module."""
    from genesys_identity.plan import evaluate

    return evaluate(ROOT, "dev")


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
def silent_server() -> Iterator[str]:
    """The URL of a server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with tests/golden/<name>; `make golden` rewrites them."""
    import difflib

    update = request.config.getoption("--update-golden")

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8") if path.exists() else ""
        if actual != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                f"golden/{name}", "rendered", n=2))
            pytest.fail(f"{name} differs from its golden file (refresh with `make golden`):\n{diff}", pytrace=False)

    return check
