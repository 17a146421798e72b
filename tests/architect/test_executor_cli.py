"""``python -m genesys_identity flow run``: the dev stack's rendered flows run for the example message files
against a live service; bad input gets one line and exit 2."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesys_identity.cli import main
from stitching import process
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples" / "flow-run"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    folder = tmp_path_factory.mktemp("flow-run")
    token = secrets.token_urlsafe(24)
    (folder / "token").write_text(token + "\n")
    started = process.start(f"sqlite:///{folder}/stitching.db", token, folder / "service.log")
    try:
        yield ["--service-url", started.url, "--token-file", str(folder / "token")]
    finally:
        started.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["flow", "run", "--root", str(ROOT), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("flow", "message", "queue"), [
    ("sms", "sms.json", "Acme Dev SMS Support"),
    ("web-messaging", "web-authenticated.json", "Acme Dev Web Support"),
    ("web-messaging", "web-guest.json", "Acme Dev Web Support"),
])
def test_a_message_runs_through_the_rendered_flow_and_prints_its_trace(
        capsys: pytest.CaptureFixture[str], service: list[str], flow: str, message: str, queue: str) -> None:
    code, out, err = run(capsys, "--flow", flow, "--message", str(EXAMPLES / message), *service)
    assert code == 0, err
    assert "| callData" in out and "Stitch Identity -> success" in out
    assert f"outcome: transfer to queue {queue!r}" in out

    code, out, _ = run(capsys, "--flow", flow, "--message", str(EXAMPLES / message), "--json", *service)
    trace = json.loads(out)
    assert code == 0 and trace["outcome"]["kind"] == "transfer" and trace["outcome"]["queue"] == queue
    assert trace["dataActionCalls"][0]["action"] == "Stitch Identity"


def test_the_outcome_workflow_runs_from_an_event_file(capsys: pytest.CaptureFixture[str], service: list[str]) -> None:
    # The example event's conversation never went through a flow here: the service answers 404 and the workflow
    # takes its failure path (the journey test shows the success path after a real web chat).
    code, out, err = run(capsys, "--flow", "outcome-workflow", "--message", str(EXAMPLES / "outcome-event.json"),
                         "--json", *service)
    assert code == 0, err
    trace = json.loads(out)
    assert trace["flowType"] == "workflow" and trace["outcome"]["kind"] == "end"
    (call,) = trace["dataActionCalls"]
    assert call["action"] == "Record Interaction Outcome" and call["status"] == "failure"
    assert call["error"].startswith("404") and "Not recorded" in trace["outcome"]["reason"]
    assert call["inputs"]["agentId"] == "6b1f0c2e-4d7a-4c39-9f3e-2a8d5e7b1c90" and call["stripped"] == ["topic", "occurredAt"]


def test_a_directory_file_decides_the_preferred_agent(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      service: list[str]) -> None:
    code, out, err = run(capsys, "--flow", "sms", "--message", str(EXAMPLES / "sms.json"),
                         "--directory", str(EXAMPLES / "directory.json"), *service)
    assert code == 0, err
    assert "outcome: transfer to queue 'Acme Dev SMS Support'" in out


def test_the_bench_prints_the_flows_own_cost(capsys: pytest.CaptureFixture[str], service: list[str]) -> None:
    code, out, _ = run(capsys, "--flow", "sms", "--message", str(EXAMPLES / "sms.json"), "--bench", "5", *service)
    assert code == 0 and "5 runs; the flow's own cost beyond its data action calls: median" in out


@pytest.mark.parametrize(("args", "error"), [
    (["--flow", "sms", "--message", "missing.json"], "missing.json: cannot read"),
    (["--flow", "fax", "--message", str(EXAMPLES / "sms.json")], "--flow 'fax': no such flow"),
    (["--flow", "sms", "--message", str(EXAMPLES / "directory.json")], "channel must be one of"),
    (["--flow", "sms", "--message", str(EXAMPLES / "sms.json")], "give --service-url and --token-file"),
    (["--flow", "sms", "--message", str(EXAMPLES / "sms.json"), "--directory", str(EXAMPLES / "sms.json")],
     "unknown key 'channel'"),
    (["--flow", "outcome-workflow", "--message", str(EXAMPLES / "sms.json"), "--service-url", "http://127.0.0.1:9",
      "--token-file", str(EXAMPLES / "sms.json")], "started with its input variables"),
])
def test_bad_input_gets_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], error: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and error in err


def test_a_flow_archy_would_not_publish_is_refused_before_it_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                                   service: list[str]) -> None:
    from genesys_identity import flowrun

    text = flowrun.StackFlows.render(ROOT, "dev").flows["sms"].text
    assert "- transferToAcd:" in text
    broken = tmp_path / "sms.yaml"
    broken.write_text(text.replace("- transferToAcd:", "- transferToQueue:", 1))
    code, out, err = run(capsys, "--flow", str(broken), "--message", str(EXAMPLES / "sms.json"), *service)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "Archy would not publish this flow: " in err and "transferToQueue" in err


def test_flow_bench_also_prints_a_runs_own_cost_for_every_flow(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["flow", "bench", "--root", str(ROOT), "--runs", "1", "--flow-runs", "3"])
    out = capsys.readouterr().out
    assert code == 0
    runs = [line for line in out.splitlines() if line.startswith("run ")]
    assert [line.split(":")[0] for line in runs] == [
        "run sms (sms.json)", "run web-messaging (web-authenticated.json)", "run web-messaging (web-guest.json)",
        "run outcome-workflow (outcome-event.json)"]
    assert all("3 runs; the flow's own cost beyond its data action calls: median" in line for line in runs)
