"""The CI workflows do what the README says: tests, the reviewers' report, previews with the policy pack, gated ups."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import ROOT


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return loaded


def steps(job: dict[str, Any]) -> str:
    return yaml.safe_dump(job["steps"])


def test_pull_requests_run_tests_the_review_and_a_policy_checked_preview() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    assert "bash .ci/run" in steps(jobs["test"])
    review = steps(jobs["review"])
    assert "genesys_identity diff" in review and "--base-rev" in review and "sticky-pull-request-comment" in review
    preview = jobs["preview"]["steps"][-1]
    assert preview["uses"].startswith("pulumi/actions@") and preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policy"
    assert all(value.startswith("${{") for value in preview["env"].values())  # credentials only from the repository


def test_main_runs_pulumi_up_behind_an_environment_approval() -> None:
    job = workflow("deploy.yml")["jobs"]["dev"]
    assert job["environment"] == "dev"
    up = job["steps"][-1]
    assert up["with"]["command"] == "up" and up["with"]["policyPacks"] == "policy"
