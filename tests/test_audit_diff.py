"""The reviewers' report: two plans compared by meaning, on a copy of the project changed the way people change it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


changed_transfer: list[str] = []


@pytest.fixture(scope="module")
def changed_report(tmp_path_factory: pytest.TempPathFactory) -> diff.Report:
    tmp = tmp_path_factory.mktemp("review")
    base = plan(project(tmp, "base"), tmp / "base-plan", GENESYS_IDENTITY_OIDC_CLIENT_SECRET="base-secret-Q1")
    head_copy = project(tmp, "head")
    catalog = head_copy / "catalog" / "participant_attributes.yaml"
    edit(catalog, "  - name: lastWebTopic\n    description: What the customer was doing on the website, "
                  "e.g. password-reset-failed.\n    type: string", "  - name: lastWebTopic\n    description: What the "
                  "customer was doing on the website, e.g. password-reset-failed.\n    type: integer")
    # The SMS flow's first queue transfer now goes to the web queue (whatever the transfer is called today).
    template = head_copy / "flows" / "sms.yaml.j2"
    text = template.read_text()
    start = text.index("- transferToAcd:")
    at = text.index("{{ stack.sms_queue | yq }}", start)
    template.write_text(text[:at] + "{{ stack.web_queue | yq }}" + text[at + len("{{ stack.sms_queue | yq }}"):])
    changed_transfer.append(re.search(r"- transferToAcd:\s*\n\s*name: ([^\n]+)", text[start:]).group(1).strip('"'))
    head = plan(head_copy, tmp / "head-plan", GENESYS_IDENTITY_OIDC_CLIENT_SECRET="head-secret-Q2")
    return diff.compare(base, head, date="2026-11-22")


def test_an_attribute_retyped_and_a_transfer_moved_are_named_in_plain_words_and_nothing_else(changed_report: diff.Report) -> None:
    filled = {s.title: s.lines for s in changed_report.sections if s.lines}
    assert set(filled) == {"Participant attributes", "Flows"}
    assert filled["Participant attributes"] == ["- Attribute `lastWebTopic` **retyped** from string to integer."]
    summary = filled["Flows"][: filled["Flows"].index("```mermaid")]
    meaning = [line for line in summary if line.startswith("- ") and "participant attributes" not in line]
    [name] = changed_transfer
    assert len(meaning) == 2
    assert re.fullmatch(rf'- Transfer "{re.escape(name)}" now goes to queue `Acme Dev Web Support`( preferring the last '
                        r'agent)? \(was `Acme Dev SMS Support`( preferring the last agent)?\)\.', meaning[0])
    assert meaning[1] == (f'- `targetQueue.lit.name` of "{name}" (transferToAcd) changed from `Acme Dev SMS Support` to '
                          '`Acme Dev Web Support`.')
    assert filled["Flows"][0] == "### acme-dev SMS Inbound (`sms.yaml`)"
    assert changed_report.approval is True
    markdown = changed_report.markdown()
    assert '-                  name: "Acme Dev SMS Support"' in markdown
    assert '+                  name: "Acme Dev Web Support"' in markdown


def test_secrets_never_appear_in_the_report(changed_report: diff.Report) -> None:
    text = changed_report.markdown() + "".join(changed_report.pictures.values())
    assert "base-secret-Q1" not in text and "head-secret-Q2" not in text


def test_changed_flows_are_drawn_in_the_markdown_with_the_changed_step_highlighted(changed_report: diff.Report,
                                                                                   tmp_path: Path) -> None:
    markdown = changed_report.markdown()
    assert "](flows/" not in markdown and changed_report.pictures == {}  # no links to files reviewers cannot open
    blocks = markdown.split("```mermaid\n")[1:]
    assert len(blocks) == 2
    before, after = (block.split("```", 1)[0] for block in blocks)
    for block in (before, after):
        assert "flowchart TD" in block and "Get Last Interaction Context" in block
    highlighted = re.search(r"class (\S+) changed", after)
    assert highlighted is not None
    [node] = highlighted.group(1).split(",")
    assert re.search(rf'{node}\["transfer to Acme Dev Web Support[^"]*\({re.escape(changed_transfer[0])}\)"\]', after)
    written = diff.write(changed_report, tmp_path / "out")
    assert written.read_text() == markdown


def test_the_header_names_commits_digests_and_date(changed_report: diff.Report) -> None:
    markdown = changed_report.markdown()
    assert "| plan digest (sha256 of plan.json) | `" in markdown and "Reviewed on 2026-11-22." in markdown
    digests = re.findall(r"`([0-9a-f]{16})`", markdown.split("Reviewed on")[0])
    assert len(digests) == 2 and digests[0] != digests[1]


def test_flows_reading_and_writing_attributes_are_listed(changed_report: diff.Report) -> None:
    flows = "\n".join(s for section in changed_report.sections if section.title == "Flows" for s in section.lines)
    assert re.search(r"- Writes participant attributes: .*`routingDecision`", flows)
    assert "- Reads participant attributes:" in flows


SMS_FLOW = """inboundShortMessage:
  name: SMS Inbound
  states:
    - state:
        name: Start
        actions:
          - callData:
              name: Ask
              category:
                acme:
                  dataAction:
                    Get Last Interaction Context: {}
          - sendResponse:
              name: Greet
              messageBody:
                exp: 'Append("Hello ", Flow.name, ", welcome back.")'
          - callData:
              name: Wait
              timeout:
                lit: 10
"""


def test_a_replaced_action_names_the_flows_at_risk_and_texts_and_parameters_read_plainly() -> None:
    def document(contract: str) -> dict[str, object]:
        action = {"name": "Get Last Interaction Context", "category": "acme", "contractOutput": contract}
        calls = {"flows": [{"name": "SMS Inbound", "dataActionCalls": [{"category": "acme", "action": action["name"]}]}]}
        return {"resources": [{"name": "a", "type": diff.ACTION, "inputs": action},
                              {"name": "flows", "type": "genesys-identity:flows:Flows", "inputs": calls}]}
    lines = diff._contracts(document('{"properties": {}}'), document('{"properties": {"x": {"type": "string"}}}'))
    assert lines[0].startswith("- Data action `Get Last Interaction Context`: **output contract changed** (added `x`)")
    assert lines[-1].startswith("- Flow `SMS Inbound` calls `acme` / `Get Last Interaction Context`, which is replaced "
                                "(output contract changed)")
    assert diff._contracts(document("{}"), document("{}")) == []
    changed = SMS_FLOW.replace("welcome back.", "good to see you.").replace("lit: 10", "lit: 20")
    steps = diff._step_changes(SMS_FLOW, changed)
    assert steps == ['- Parameter `timeout.lit` of "Wait" (callData) changed from `10` to `20`.',
                     '- Customer-facing text of "Greet" (sendResponse) changed: "Hello {Flow.name}, welcome back." → '
                     '"Hello {Flow.name}, good to see you.".']


def test_a_stack_added_or_removed_is_reviewed_not_an_error() -> None:
    head = diff.PlanFolder(Path("/x"), {"stack": "qa", "resources": [{"name": "q", "type": "t:t:Queue", "inputs": {}}],
                                        "participantAttributes": [], "settings": {"k": "v"}}, {"sms.yaml": SMS_FLOW})
    added = diff.compare(diff.PlanFolder.absent("qa", "abc123"), head, date="2026-11-22")
    markdown = added.markdown()
    assert "**Stack `qa` is added by this change**" in markdown and "`q` (Queue) added." in markdown
    assert "### SMS Inbound (`sms.yaml`) added" in markdown and added.approval
    removed = diff.compare(head, diff.PlanFolder.absent("qa"), date="2026-11-22").markdown()
    assert "**Stack `qa` is removed by this change**" in removed and "`q` (Queue) **removed**." in removed


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
    template = clone / "flows" / "sms.yaml.j2"
    # Whatever the SMS flow says today: the first literal message it sends, reworded.
    found = re.search(r'messageBody:\s*\n\s*lit: "([^"{}]+)"', template.read_text())
    assert found, "no literal messageBody in the SMS template"
    edit(template, f'lit: "{found.group(1)}"', f'lit: "{found.group(1)} Thanks for waiting."')
    subprocess.run([*git, "commit", "-qam", "reword the SMS greeting"], check=True)
    done = subprocess.run([sys.executable, "-m", "genesys_identity", "diff", "--root", str(clone), "--base-rev", "HEAD~1",
                           "--head-rev", "HEAD", "--out", str(tmp_path / "review")],
                          cwd=clone, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "### acme-dev SMS Inbound (`sms.yaml`)" in done.stdout
    assert f'changed: "{found.group(1)}" → "{found.group(1)} Thanks for waiting."' in done.stdout
    assert re.search(r'- Customer-facing text of "[^"]+" \(sendResponse\) changed: ', done.stdout)
    assert "- No state, data action call or transfer target changed." not in done.stdout  # the text is what changed
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert f"commit `{head.stdout.strip()[:12]}`" in done.stdout
    # A stack added by a commit: its base has no stack file, and the report shows everything as added.
    shutil.copy(clone / "Pulumi.dev.yaml", clone / "Pulumi.qa.yaml")
    subprocess.run([*git, "add", "Pulumi.qa.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "add the qa stack"], check=True)
    added = subprocess.run([sys.executable, "-m", "genesys_identity", "diff", "--root", str(clone), "--stack", "qa",
                            "--base-rev", "HEAD~1", "--head-rev", "HEAD", "--out", str(tmp_path / "review")],
                           cwd=clone, capture_output=True, text=True, check=False, timeout=300)
    assert added.returncode == 1, added.stderr
    assert "**Stack `qa` is added by this change**" in added.stdout
    assert "(no plan: the stack does not exist here)" in added.stdout and "`data-actions-integration`" in added.stdout
    worktrees = subprocess.run(["git", "-C", str(clone), "worktree", "list"], capture_output=True, text=True, check=True)
    assert len(worktrees.stdout.strip().splitlines()) == 1  # the temporary worktrees are gone


def test_a_report_too_long_for_a_comment_is_trimmed_and_says_so() -> None:
    big = SMS_FLOW + "".join(f"    - state:\n        name: S{i}\n        actions:\n          - sendResponse:\n"
                             f"              name: Say {i}\n              messageBody:\n                lit: \"{'x' * 200}\"\n"
                             for i in range(400))
    head = diff.PlanFolder(Path("/x"), {"stack": "dev", "resources": [], "participantAttributes": [], "settings": {}},
                           {"sms.yaml": big})
    base = diff.PlanFolder(Path("/y"), {"stack": "dev", "resources": [], "participantAttributes": [], "settings": {}},
                           {"sms.yaml": SMS_FLOW})
    report = diff.compare(base, head, date="2026-11-22")
    assert len(report.markdown()) > diff.COMMENT_LIMIT
    comment = report.comment()
    assert len(comment) <= diff.COMMENT_LIMIT and "Trimmed to fit a comment" in comment
    assert comment.count("```") % 2 == 0  # no fence left open
    small = diff.compare(base, base, date="2026-11-22")
    assert small.comment() == small.markdown()
