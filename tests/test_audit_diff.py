"""The reviewers' report: two plans compared by meaning, on a copy of the project changed the way people change it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from genesys_identity.audit import diff
from tests.conftest import ROOT

PROJECT = ("genesys_identity", "components", "catalog", "flows", "data_actions", "Pulumi.yaml", "Pulumi.dev.yaml",
           "__main__.py")


def project(tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    copy.mkdir()
    for item in PROJECT:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, copy / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / item)
    return copy


def plan(copy: Path, out: Path, **env: str) -> diff.PlanFolder:
    done = subprocess.run([sys.executable, "-m", "genesys_identity", "plan", "--root", str(copy), "--out", str(out)],
                          cwd=copy, capture_output=True, text=True, check=False, env={**os.environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return diff.PlanFolder.read(out / "dev")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"anchor gone from {path.name}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def changed_report(tmp_path_factory: pytest.TempPathFactory) -> diff.Report:
    tmp = tmp_path_factory.mktemp("review")
    base = plan(project(tmp, "base"), tmp / "base-plan", GENESYS_IDENTITY_OIDC_CLIENT_SECRET="base-secret-Q1")
    head_copy = project(tmp, "head")
    catalog = head_copy / "catalog" / "participant_attributes.yaml"
    edit(catalog, "  - name: lastWebTopic\n    description: What the customer was doing on the website, "
                  "e.g. password-reset-failed.\n    type: string", "  - name: lastWebTopic\n    description: What the "
                  "customer was doing on the website, e.g. password-reset-failed.\n    type: integer")
    edit(head_copy / "flows" / "sms.yaml.j2", 'transfer("Transfer to the SMS queue", false)',
         'transfer("Transfer to the SMS queue", false, stack.web_queue)')
    head = plan(head_copy, tmp / "head-plan", GENESYS_IDENTITY_OIDC_CLIENT_SECRET="head-secret-Q2")
    return diff.compare(base, head)


def test_an_attribute_retyped_and_a_transfer_moved_are_named_in_plain_words_and_nothing_else(changed_report: diff.Report) -> None:
    filled = {s.title: s.lines for s in changed_report.sections if s.lines}
    assert set(filled) == {"Participant attributes", "Flows"}
    assert filled["Participant attributes"] == ["- Attribute `lastWebTopic` **retyped** from string to integer."]
    summary = filled["Flows"][: next(i for i, line in enumerate(filled["Flows"]) if line.startswith("Before:"))]
    meaning = [line for line in summary if line.startswith("- ")]
    assert meaning == ['- Transfer "Transfer to the SMS queue" now goes to queue `Acme Dev Web Support` '
                       '(was `Acme Dev SMS Support`).']
    assert filled["Flows"][0] == "### acme-dev SMS Inbound (`sms.yaml`)"
    assert changed_report.approval is True
    markdown = changed_report.markdown()
    assert '-                  name: "Acme Dev SMS Support"' in markdown
    assert '+                  name: "Acme Dev Web Support"' in markdown


def test_secrets_never_appear_in_the_report(changed_report: diff.Report) -> None:
    text = changed_report.markdown() + "".join(changed_report.pictures.values())
    assert "base-secret-Q1" not in text and "head-secret-Q2" not in text


def test_changed_flows_are_pictured_before_and_after(changed_report: diff.Report, tmp_path: Path) -> None:
    assert set(changed_report.pictures) == {"flows/sms.before.svg", "flows/sms.after.svg"}
    after = ET.fromstring(changed_report.pictures["flows/sms.after.svg"])
    labels = [t.text for t in after.iter("{http://www.w3.org/2000/svg}text")]
    assert "transfer to Acme Dev Web Support (Transfer to the SMS queue)" in labels
    assert "call Get Last Interaction Context (Ask for the last interaction)" in labels
    written = diff.write(changed_report, tmp_path / "out")
    assert (written.parent / "flows" / "sms.before.svg").exists()


def test_the_command_exits_0_when_nothing_needs_approval_and_1_when_something_does(tmp_path: Path,
                                                                                    changed_report: diff.Report) -> None:
    folder = plan(project(tmp_path, "p"), tmp_path / "plan")
    same = subprocess.run([sys.executable, "-m", "genesys_identity", "diff", "--base", str(folder.path),
                           "--head", str(folder.path), "--out", str(tmp_path / "review")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert same.returncode == 0 and "No changes." in same.stdout
    assert changed_report.approval


def test_git_revisions_are_rendered_in_temporary_worktrees(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("the project is not a git checkout here")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    git = ["git", "-C", str(clone), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    edit(clone / "flows" / "sms.yaml.j2", "a little while ago", "earlier today")
    subprocess.run([*git, "commit", "-qam", "reword the SMS greeting"], check=True)
    done = subprocess.run([sys.executable, "-m", "genesys_identity", "diff", "--root", str(clone), "--base-rev", "HEAD~1",
                           "--head-rev", "HEAD", "--out", str(tmp_path / "review")],
                          cwd=clone, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "### acme-dev SMS Inbound (`sms.yaml`)" in done.stdout
    assert "- Wording or structure changed; no state, data action call or transfer target changed." in done.stdout
    worktrees = subprocess.run(["git", "-C", str(clone), "worktree", "list"], capture_output=True, text=True, check=True)
    assert len(worktrees.stdout.strip().splitlines()) == 1  # the temporary worktrees are gone
