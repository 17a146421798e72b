"""The main job from the command line: a byte-stable plan, and one-line errors for a user's mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run_plan(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genesys_identity", "plan", "--root", str(root), "--out", str(out), *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_plan_is_complete_and_byte_stable(tmp_path: Path) -> None:
    first = run_plan(ROOT, tmp_path / "a")
    second = run_plan(ROOT, tmp_path / "b")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    a = (tmp_path / "a" / "dev" / "plan.json").read_bytes()
    b = (tmp_path / "b" / "dev" / "plan.json").read_bytes()
    assert a == b
    document = json.loads(a)
    names = {r["name"] for r in document["resources"]}
    assert {"messenger-identity-resolution", "data-actions-integration", "data-actions-stitch-identity",
            "stitching-caller-token"} <= names
    assert "messenger-identity-resolution" in first.stdout
    assert f"{len(names)} resources for stack 'dev'" in first.stdout


def test_broken_stack_file_gives_one_line_naming_the_key(project_copy: Path, tmp_path: Path) -> None:
    path = project_copy / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("https://login.dev", "http://login.dev"))
    result = run_plan(project_copy, tmp_path / "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: Pulumi.dev.yaml: genesys-identity:oidcDiscoveryUri must be an https URL")
    assert not (tmp_path / "out").exists()


def test_attribute_the_provider_lacks_is_refused_with_its_name(project_copy: Path, tmp_path: Path) -> None:
    (project_copy / "__main__.py").write_text(
        "import pulumi\n"
        "from genesys_identity.errors import GenesysIdentityError\n"
        "from genesys_identity.genesys.binding import GenesysResource\n"
        "try:\n"
        "    GenesysResource('genesyscloud_routing_queue', 'q', {'name': 'Q', 'last_agent_routing': 'AnyAgent'})\n"
        "except GenesysIdentityError as error:\n"
        "    raise pulumi.RunError(str(error)) from None\n"
    )
    result = run_plan(project_copy, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: genesyscloud_routing_queue 'q': last_agent_routing: unknown attribute 'last_agent_routing' "
        "(not in provider 1.84.1); did you mean 'last_agent_routing_mode'?"
    )


def test_unknown_stack_is_reported(tmp_path: Path) -> None:
    result = run_plan(ROOT, tmp_path / "out", "--stack", "prod")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: Pulumi.prod.yaml: file not found in {ROOT}"
