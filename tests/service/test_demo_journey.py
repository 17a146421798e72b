"""The README's main command: the cross-channel journey, sent through the dev stack's rendered flows (run by the
flow executor) against the live service with a development clock, routes as issue 14 promises, each step
decided by the flows themselves."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from genesys_identity import demo, flowrun
from genesys_identity.architect.executor import DataActionService
from stitching import process
from tests.conftest import ROOT
from tests.service.conftest import TOKEN


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, demo.Result]]:
    folder = tmp_path_factory.mktemp("journey")
    clock = folder / "clock"
    process.set_clock(clock, demo.START)
    enrollment = secrets.token_urlsafe(24)
    service = process.start(f"sqlite:///{folder}/journey.db", TOKEN, folder / "service.log", clock_file=clock,
                            env={"STITCHING_ENROLLMENT_TOKEN": enrollment})
    printed: list[str] = []
    try:
        with httpx.Client() as client:
            journey = demo.Journey(flowrun.StackFlows.render(ROOT, "dev"), DataActionService(service.url, {"token": TOKEN},
                                   client), clock, enrollment, say=printed.append)
            found = journey.journey()
    finally:
        assert service.stop() == 0
    steps = {r.step: r for r in found}
    assert len(steps) == len(found), [r.step for r in found]
    yield steps


def sent(result: demo.Result) -> list[str]:
    assert result.trace is not None
    return result.trace.responses


def test_the_web_chat_queues_and_the_website_backend_enrolls_the_phone(results: dict[str, demo.Result]) -> None:
    assert results["web chat (alice-1001)"].outcome == "queue 'Acme Dev Web Support'"
    enrollment = results["enrollment by the website backend"]
    assert enrollment.outcome.startswith("matched profile") and "phone:linked:verified_identifier" in enrollment.rule


def test_the_outcome_workflow_records_the_agent_when_the_work_ends(results: dict[str, demo.Result]) -> None:
    workflow = results["agent's work ends"]
    assert workflow.outcome == "end" and workflow.trace is not None
    (call,) = workflow.trace.calls
    assert call.action == "Record Interaction Outcome" and call.status == "success"
    assert call.outputs == {"recorded": True, "staleSession": False}


def test_the_sms_an_hour_later_prefers_the_web_agent_with_the_topic_in_the_greeting(
        results: dict[str, demo.Result]) -> None:
    sms = results["sms after 1 h"]
    assert sms.outcome == "queue 'Acme Dev SMS Support' preferring Dana Reyes"
    assert sms.trace is not None and not sms.trace.errors and sms.trace.outcome is not None
    assert "a member of 'Acme Dev SMS Support' and on queue" in sms.trace.outcome.reason
    (greeting,) = sent(sms)
    assert demo.TOPIC in greeting and len(greeting) <= 160


def test_the_sms_three_hours_later_goes_to_the_queue_normally(results: dict[str, demo.Result]) -> None:
    sms = results["sms after 3 h"]
    assert sms.outcome == "queue 'Acme Dev SMS Support'"
    assert sms.trace is not None and sms.trace.outcome is not None and not sms.trace.outcome.preferred_agents
    assert not any(demo.TOPIC in reply for reply in sms.trace.responses)


def test_a_guest_who_types_the_phone_is_never_linked_and_never_told_whose_it_is(
        results: dict[str, demo.Result]) -> None:
    guest = results["guest types the phone"]
    assert guest.outcome == "queue 'Acme Dev Web Support', never linked"
    assert guest.trace is not None
    stitch = next(c for c in guest.trace.calls if c.action == "Stitch Identity")
    assert not any(v is True for k, v in stitch.inputs.items() if k.endswith("Verified"))
    alice = results["web chat (alice-1001)"].trace
    assert alice is not None
    replies = " ".join(guest.trace.responses)
    assert alice.participant_data["stitchedProfileId"] not in replies and demo.TOPIC not in replies


@pytest.mark.parametrize(("step", "why"), [
    ("sms, the last agent was deleted", "queue: last agent not found"),
    ("sms, the last agent is not a member of the SMS queue", "not a member of 'Acme Dev SMS Support'"),
])
def test_a_last_agent_who_cannot_take_it_gives_a_normal_queue_transfer_never_a_disconnect(
        results: dict[str, demo.Result], step: str, why: str) -> None:
    sms = results[step]
    assert sms.outcome == "queue 'Acme Dev SMS Support'"
    assert sms.trace is not None and sms.trace.outcome is not None
    assert sms.trace.outcome.kind == "transfer" and sms.trace.outcome.routed_to_agent is None
    assert why in f"{sms.rule} {sms.trace.outcome.reason}"


def test_on_a_shared_computer_the_second_login_owns_the_session(results: dict[str, demo.Result]) -> None:
    second = results["web chat (bob-2002, same browser)"]
    assert second.outcome == "queue 'Acme Dev Web Support', a profile of its own"
    assert "phone:linked" not in second.rule and "oidc:linked:verified_identifier" in second.rule
    assert "web_session:linked:web_session_taken_over_by_login" in second.rule
