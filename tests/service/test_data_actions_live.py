"""Every data action executed by the runner, as Genesys would, against the real service on SQLite."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genesys_identity.actions import definitions
from genesys_identity.actions.runner import ActionFailure, execute
from tests.service.conftest import TOKEN, ServiceProcess

CREDENTIALS = {"token": TOKEN}


@pytest.fixture
def service(tmp_path: Path, services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services(f"sqlite:///{tmp_path}/stitching.db")


def run(service: ServiceProcess, name: str, **inputs: object) -> dict[str, object]:
    action = definitions.by_name(definitions.load_all(), name)
    return execute(action, inputs, service_url=service.url, credentials=CREDENTIALS).output


def test_web_stitch_then_sms_context_returns_the_web_chats_agent(service: ServiceProcess) -> None:
    web = run(service, "Stitch Identity", channel="web", conversationId="web-conv-1", requestKey="web-conv-1-stitch",
              authIssuer="https://login.example.com", authSubject="user-8812", authVerified=True,
              customerId="CRM-8812", customerIdVerified=True, customerPhone="(555) 201-7788", customerPhoneVerified=True,
              customerEmail='o"brien@example.com', customerEmailVerified=False, webSessionId="sess-42")
    assert web["stitchDecision"] == "created" and web["stitchVerified"] is True
    assert "email:suggested:unverified_claim" in str(web["stitchSummary"])

    recorded = run(service, "Record Interaction Outcome", conversationId="web-conv-1", agentId="agent-a1",
                   queueId="queue-web", topic='password reset failed: "code expired" & locked')
    assert recorded == {"recorded": True, "staleSession": False}
    assert run(service, "End Web Session", webSessionId="sess-42") == {"ended": True, "alreadyEnded": False}

    sms = run(service, "Stitch Identity", channel="sms", conversationId="sms-conv-1", customerPhone="+15552017788",
              authVerified=False, customerIdVerified=False, customerPhoneVerified=True, customerEmailVerified=False)
    assert sms["stitchedProfileId"] == web["stitchedProfileId"] and sms["stitchDecision"] == "matched"

    context = run(service, "Get Last Interaction Context", customerPhone="+1 555 201 7788", windowMinutes=120,
                  conversationId="sms-conv-1")
    assert context == {
        "lastAgentAdvised": "true", "contextReason": "last_agent_within_window", "lastAgentId": "agent-a1",
        "lastInteractionChannel": "web", "lastInteractionTopic": 'password reset failed: "code expired" & locked',
        "lastInteractionMinutesAgo": 0, "stitchedProfileId": web["stitchedProfileId"],
    }


def test_an_unknown_number_gets_empty_context_not_an_error(service: ServiceProcess) -> None:
    context = run(service, "Get Last Interaction Context", customerPhone="+15550009999", windowMinutes=120)
    assert context["lastAgentAdvised"] == "false" and context["lastAgentId"] == ""
    assert context["lastInteractionMinutesAgo"] == -1 and context["contextReason"] == "no_verified_link"


def test_failures_are_reported_as_genesys_reports_them(service: ServiceProcess) -> None:
    stitch = definitions.by_name(definitions.load_all(), "Stitch Identity")
    with pytest.raises(ActionFailure) as missing:
        execute(stitch, {"channel": "web"}, service_url=service.url, credentials=CREDENTIALS)
    assert missing.value.status == 400 and "Input did not match the Stitch Identity input contract" in missing.value.message

    with pytest.raises(ActionFailure) as unauthorized:
        execute(stitch, {"channel": "sms", "conversationId": "c", "customerPhone": "+15550001111", "authVerified": False,
                         "customerIdVerified": False, "customerPhoneVerified": True, "customerEmailVerified": False},
                service_url=service.url, credentials={"token": "wrong-token-0123456789"})
    assert unauthorized.value.status == 401 and "Response from web service" in unauthorized.value.message

    with pytest.raises(ActionFailure) as impossible:
        execute(stitch, {"channel": "sms", "conversationId": "c", "customerPhone": "12345", "authVerified": False,
                         "customerIdVerified": False, "customerPhoneVerified": True, "customerEmailVerified": False},
                service_url=service.url, credentials=CREDENTIALS)
    assert impossible.value.status == 422 and "phone" in impossible.value.message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_actions_timeout_is_enforced(silent_server: str) -> None:
    context = definitions.by_name(definitions.load_all(), "Get Last Interaction Context")
    with pytest.raises(ActionFailure) as timed_out:
        execute(context, {"customerPhone": "+15550001111", "windowMinutes": 120}, service_url=silent_server,
                credentials=CREDENTIALS, timeout_s=0.3)
    assert timed_out.value.status == 504 and "timed out" in timed_out.value.message
