"""The data actions as the rendered flows call them: every input comes from running the dev stack's flows (the
executor evaluates the flow's own bindings), executed by the runner against the real service on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genesys_identity import flowrun
from genesys_identity.architect import message
from genesys_identity.architect.executor import DataActionService
from genesys_identity.architect.trace import DataActionCall, Trace
from tests.conftest import ROOT
from tests.service.conftest import TOKEN, ServiceProcess

PHONE = "+12022017788"


@pytest.fixture(scope="module")
def flows() -> flowrun.StackFlows:
    return flowrun.StackFlows.render(ROOT, "dev")


@pytest.fixture
def service(tmp_path: Path, services: Callable[..., ServiceProcess]) -> Iterator[DataActionService]:
    started = services(f"sqlite:///{tmp_path}/stitching.db")
    with httpx.Client() as client:
        yield DataActionService(started.url, {"token": TOKEN}, client)


def run(flows: flowrun.StackFlows, which: str, document: dict[str, Any], service: DataActionService) -> Trace:
    return flowrun.run(flows, which, message.parse(document), directory=flows.directory(None), service=service)


def call(trace: Trace, action: str) -> DataActionCall:
    found = [c for c in trace.calls if c.action == action]
    assert len(found) == 1, [c.action for c in trace.calls]
    return found[0]


def web(sub: str | None, **database: str) -> dict[str, Any]:
    document: dict[str, Any] = {"channel": "webmessaging", "text": "hello", "conversationId": "web-conv-1",
                                "database": database}
    if sub:
        document["authenticated"] = {"sub": sub, "email": f"{sub}@example.com", "name": "Alice Smith"}
    return document


def test_an_authenticated_web_chat_stitches_with_the_sessions_subject(flows: flowrun.StackFlows,
                                                                      service: DataActionService) -> None:
    trace = run(flows, "web-messaging", web("alice-1001", customerPhone=PHONE, webSessionId="sess-42"), service)
    stitch = call(trace, "Stitch Identity")
    assert stitch.status == "success"
    assert stitch.inputs["authSubject"] == "alice-1001" and stitch.inputs["authVerified"] is True
    assert stitch.inputs["customerPhone"] == PHONE and stitch.inputs.get("customerPhoneVerified") is False
    assert stitch.inputs["conversationId"] == "web-conv-1"
    assert stitch.outputs is not None and stitch.outputs["stitchDecision"] == "created"
    assert trace.participant_data["stitchedProfileId"] == stitch.outputs["stitchedProfileId"]
    assert trace.outcome is not None and trace.outcome.kind == "transfer"
    assert trace.outcome.queue == flows.settings.queues.web


def test_a_guest_sends_nothing_as_verified(flows: flowrun.StackFlows, service: DataActionService) -> None:
    trace = run(flows, "web-messaging", web(None, customerPhone=PHONE), service)
    stitch = call(trace, "Stitch Identity")
    assert stitch.status == "success" and "authSubject" not in stitch.inputs
    assert not any(v is True for k, v in stitch.inputs.items() if k.endswith("Verified"))
    assert trace.outcome is not None and trace.outcome.queue == flows.settings.queues.web


def test_an_sms_stitches_the_sender_and_asks_for_context(flows: flowrun.StackFlows, service: DataActionService) -> None:
    trace = run(flows, "sms", {"channel": "sms", "from": PHONE, "text": "hi"}, service)
    stitch, context = call(trace, "Stitch Identity"), call(trace, "Get Last Interaction Context")
    assert stitch.inputs["customerPhone"] == PHONE and stitch.inputs["customerPhoneVerified"] is True
    assert context.status == "success" and context.inputs["customerPhone"] == PHONE
    assert context.outputs is not None and context.outputs["lastAgentAdvised"] == "false"
    assert trace.outcome is not None and trace.outcome.queue == flows.settings.queues.sms
    assert trace.outcome.routed_to_agent is None


def test_a_number_the_service_refuses_takes_the_failure_path_to_the_queue(flows: flowrun.StackFlows,
                                                                           service: DataActionService) -> None:
    trace = run(flows, "sms", {"channel": "sms", "from": "12345", "text": "hi"}, service)
    stitch = call(trace, "Stitch Identity")
    assert stitch.status == "failure" and stitch.error is not None and stitch.error.startswith("422")
    assert trace.outcome is not None and trace.outcome.kind == "transfer"
    assert trace.outcome.queue == flows.settings.queues.sms


def test_a_wrong_credential_fails_every_call_and_the_customer_still_reaches_the_queue(
        flows: flowrun.StackFlows, service: DataActionService) -> None:
    wrong = DataActionService(service.url, {"token": "wrong-token-0123456789"}, service.client)
    trace = run(flows, "sms", {"channel": "sms", "from": PHONE, "text": "hi"}, wrong)
    assert trace.calls and all(c.status == "failure" and str(c.error).startswith("401") for c in trace.calls)
    assert trace.outcome is not None and trace.outcome.kind == "transfer"
    assert trace.outcome.queue == flows.settings.queues.sms


def test_a_service_that_never_answers_gives_a_timeout_or_failure_path_within_the_timeouts(
        flows: flowrun.StackFlows, silent_server: str) -> None:
    trace = run(flows, "sms", {"channel": "sms", "from": PHONE, "text": "hi"},
                DataActionService(silent_server, {"token": TOKEN}))
    assert trace.calls and all(c.status in ("timeout", "failure") for c in trace.calls)
    assert all(c.elapsed_ms < 7000 for c in trace.calls)  # the actions' own timeouts are 3-5 s
    assert trace.outcome is not None and trace.outcome.kind == "transfer"
    assert trace.outcome.queue == flows.settings.queues.sms
