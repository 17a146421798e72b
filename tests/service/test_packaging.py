"""The service ships alone: its lock file, its image definition, and imports that need nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.service.conftest import ROOT

CONTAINERFILE = ROOT / "containers" / "stitching.Containerfile"


def _pins(path: str) -> dict[str, str]:
    lines = (ROOT / path).read_text().splitlines()
    return {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in lines
            if line and not line.startswith("#")}


def test_service_lock_pins_match_the_project_lock() -> None:
    service, project = _pins("requirements-service.lock"), _pins("requirements.lock")
    assert {name: version for name, version in service.items() if project.get(name) != version} == {}
    assert not {"pulumi", "jinja2", "jsonschema", "grpcio"} & set(service)


def test_the_service_starts_with_only_its_own_closure(tmp_path: Path) -> None:
    """Importing and building the app must not touch the generator's packages, which the image lacks."""
    probe = textwrap.dedent("""
        import sys
        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"pulumi", "jinja2", "jsonschema", "yaml", "components"}:
                    raise ImportError(f"the service image has no {name}")
        sys.meta_path.insert(0, Refuse())
        from stitching.api.app import asgi
        from stitching.config import ServiceSettings
        asgi(ServiceSettings.from_environ({"STITCHING_API_TOKEN": "x" * 20,
                                           "STITCHING_DATABASE_URL": "sqlite:///" + sys.argv[1] + "/s.db"}))
        import stitching.bench, stitching.genesys_mirror, stitching.server
    """)
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_containerfile_is_non_root_with_a_health_check_and_no_secrets_or_build_tools() -> None:
    text = CONTAINERFILE.read_text()
    final_stage = text.split("\nFROM ")[-1]
    assert "USER 10001:10001" in final_stage and "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    assert "gcc" not in final_stage and "apt-get install" not in final_stage
    assert "TOKEN=" not in text and "SECRET" not in text
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "*" and "!.venv/" not in ignore  # only named sources enter the build context


def test_image_builds_where_a_container_engine_is_available() -> None:
    engine = next((e for e in ("docker", "podman") if shutil.which(e)), None)
    if engine is None or subprocess.run([engine, "info"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no running container engine (docker or podman) on this machine")
    done = subprocess.run([engine, "build", "-f", str(CONTAINERFILE), "-t", "stitching:test", str(ROOT)],
                          capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
