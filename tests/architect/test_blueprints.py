"""Real Archy flows from Genesys' blueprints and provider examples (tests/architect/blueprints/SOURCES.md) pass the
validator with no problem: the closed-world model accepts the valid Archy Genesys itself publishes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from genesys_identity.architect.validator import validate
from tests.conftest import ROOT

BLUEPRINTS = Path(__file__).resolve().parent / "blueprints"
FLOWS = sorted(p.name for p in BLUEPRINTS.glob("*.yaml"))
# The Terraform variables these flows are deployed with (names from each blueprint's modules); any other
# placeholder gets a plain name.
VALUES = {"division": "Home", "home_division_name": "Home", "default_language": "en-us",
          "queue_id": "3d5b1f0e-2c4a-4e8b-9f1d-6a7c8b9d0e1f", "sms_number": "+13175550100"}


def filled(name: str) -> str:
    """The flow as the provider uploads it: every ``{{key}}`` replaced by its value, text before YAML."""
    text = (BLUEPRINTS / name).read_text(encoding="utf-8")
    return re.sub(r"\{\{([A-Za-z_]+)\}\}", lambda m: VALUES.get(m[1], f"Blueprint {m[1].replace('_', ' ')}"), text)


def test_the_test_data_is_what_sources_md_lists() -> None:
    listed = set(re.findall(r"^\| `([^`]+\.yaml)` \|", (BLUEPRINTS / "SOURCES.md").read_text(), re.MULTILINE))
    assert listed == set(FLOWS)
    assert len(FLOWS) >= 3


@pytest.mark.parametrize("name", FLOWS)
def test_real_archy_passes_with_no_false_positive(name: str) -> None:
    channel = "webmessaging" if "inboundShortMessage:" in filled(name) else None
    assert [str(p) for p in validate(filled(name), name, channel=channel)] == []


def test_the_blueprints_hold_what_the_old_checker_refused() -> None:
    voice = filled("switch-voice-to-web-messaging.yaml")
    for construct in ("agentScorePairCollectionVariable:", "- agentScorePairCollection:", "tasks:", "- callTask:",
                      "- endTask:", "exp: FindQueueById(", "acdSkills:", "- jsonVariable:"):
        assert construct in voice
    assert "- wait:" in filled("negative-sentiment-workflow.yaml")
    assert "- evaluateSchedule:" in filled("hours-differentiator-message-flow.yaml")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("evaluate:\n                    now: true", "evaluate:\n                    later: true", "needs {now: true}"),
    ("evaluationTimeZone:", "evaluationTimezone:", "a schedule evaluation has no key 'evaluationTimezone'"),
    ("                inactive:\n", "                inactiv:\n", "unknown output path 'inactiv'"),
    ("customer question:\n                                exp: State.Question",
     "customer question:\n                                exp: State.Questions", "State.Questions"),
])
def test_an_edit_of_the_schedule_blueprint_is_caught(old: str, new: str, message: str) -> None:
    text = filled("hours-differentiator-message-flow.yaml")
    assert old in text
    problems = validate(text.replace(old, new, 1), "hours.yaml", channel="webmessaging")
    assert any(message in p.message for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("- agentScorePairCollection:", "- agentScorePairCollections:", "unknown statement type 'agentScorePairCollections'"),
    ("targetTaskRef: \"/inboundShortMessage/tasks/task[Set Up Flow Defaults_56]\"",
     "targetTaskRef: \"/inboundShortMessage/tasks/task[Set Up Flow Default_56]\"", "names no task"),
    ("exp: FindQueueById(Flow.targetQueueId)", "exp: FindQueueById(Flow.targetQueueID2)", "Flow.targetQueueID2"),
    (" " * 46 + "name: Success\n", " " * 46 + "name: Succes\n", "has no output path 'Succes'"),
])
def test_an_edit_of_a_blueprint_is_caught(old: str, new: str, message: str) -> None:
    text = filled("switch-voice-to-web-messaging.yaml")
    assert old in text
    problems = validate(text.replace(old, new, 1), "switch-voice.yaml", channel="webmessaging")
    assert any(message in p.message for p in problems), [str(p) for p in problems]


def test_flow_validate_cli_on_a_blueprint(tmp_path: Path) -> None:
    good = tmp_path / "triage.yaml"
    good.write_text(filled("web-messaging-triage-bot.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(filled("web-messaging-triage-bot.yaml").replace("transferToAcd:", "transferToACD:", 1))
    run = [sys.executable, "-m", "genesys_identity", "flow", "validate", "--no-contracts", "--channel", "webmessaging"]
    clean = subprocess.run([*run, str(good)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (clean.returncode, clean.stdout) == (0, "")
    caught = subprocess.run([*run, str(good), str(bad)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert caught.returncode == 1
    assert re.fullmatch(rf"{re.escape(str(bad))}:\d+: state\[Initial State_10\]/decision\[Decision\]/outputs/yes/"
                        r"transferToACD\[Transfer to ACD\]: unknown action kind 'transferToACD' "
                        r"\(did you mean transferToAcd\?\)\n", caught.stdout), caught.stdout
