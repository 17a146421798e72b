"""The rendered flows run by the flow executor, with the stitching service answered by a recorder: what each flow
really sends (guest vs authenticated), and where each run ends (a found, a deleted, a non-member last agent; the
outcome workflow's record).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from genesys_identity.actions.definitions import load_all
from genesys_identity.architect import directory as directories
from genesys_identity.architect import message
from genesys_identity.architect.executor import DataActionService, run_flow
from genesys_identity.architect.trace import Trace
from genesys_identity.catalog import load as load_catalog
from genesys_identity.flows.render import render
from genesys_identity.settings import StackSettings
from tests.conftest import load_dev_settings

AGENT = "6b1f0c2e-4d7a-4c39-9f3e-2a8d5e7b1c90"
PHONE = "+13125557788"
SMS_QUEUE = "Acme Dev SMS Support"


def rendered(settings: StackSettings) -> dict[str, str]:
    return {f.spec.output: f.text for f in render(settings, load_catalog(), load_all())}


@pytest.fixture(scope="module")
def flows() -> dict[str, str]:
    return rendered(load_dev_settings())


class Service:
    """Answers the data actions' requests like the stitching service and keeps every request body."""

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        # Every field the service answers (stitching/service.py context): the action's JSONPaths need them all.
        self.context = {"found": True, "profileId": "5a04a9e9-1953-40ae-8713-f63aa1eeb4c0", "advised": False,
                        "reason": "no_recent_interaction", "agentId": None, "queueId": None, "channel": None,
                        "topic": None, "wrapupCode": None, "minutesAgo": None, **(context or {})}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else dict(request.url.params)
        self.requests.append((request.url.path, body))
        if request.url.path == "/v1/stitch":
            return httpx.Response(200, json={"profileId": "5a04a9e9-1953-40ae-8713-f63aa1eeb4c0", "decision": "created",
                                             "verified": bool(body.get("oidcSubject")), "summary": ""})
        if request.url.path == "/v1/context":
            return httpx.Response(200, json=self.context)
        if request.url.path == "/v1/interactions":
            return httpx.Response(200, json={"recorded": True, "staleSession": False})
        return httpx.Response(404, json={"error": "not_found"})

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for where, body in self.requests if where == path]


Run = Callable[..., Trace]


@pytest.fixture
def run(flows: dict[str, str]) -> Run:
    def go(flow: str, start: dict[str, Any], service: Service, users: list[dict[str, Any]] | None = None,
           members: list[dict[str, Any]] | None = None) -> Trace:
        directory = directories.parse({"users": users or [], "queues": [
            {"name": "Acme Dev Web Support", "members": []}, {"name": SMS_QUEUE, "members": members or []}]})
        client = httpx.Client(transport=httpx.MockTransport(service), base_url="http://stitching.test")
        return run_flow(flows[flow], message.parse(start), actions=load_all(), directory=directory,
                        service=DataActionService("http://stitching.test", {"token": "t" * 40}, client), label=flow)
    return go


def test_a_guest_sends_nothing_as_verified_even_with_the_customers_phone(run: Run) -> None:
    service = Service()
    trace = run("web-messaging.yaml", {"channel": "webmessaging", "text": "hi",
                                       "database": {"customerPhone": PHONE, "customerEmail": "alice@example.com",
                                                    "customerTier": "gold"}}, service)
    [stitch] = service.bodies("/v1/stitch")
    assert not any(value is True for key, value in stitch.items() if key.endswith("Verified"))
    assert not stitch.get("oidcSubject") and not stitch.get("oidcIssuer")
    assert trace.outcome is not None and trace.outcome.queue == "Acme Dev Web Support"
    assert trace.outcome.priority == 0  # the website's tier counts only for a logged-in customer


def test_an_authenticated_session_sends_its_subject_as_verified(run: Run) -> None:
    service = Service()
    trace = run("web-messaging.yaml", {"channel": "webmessaging", "text": "hi",
                                       "authenticated": {"sub": "alice-1001", "email": "alice@example.com"},
                                       "database": {"customerPhone": PHONE, "customerTier": "gold",
                                                    "lastWebTopic": "password-reset-failed"}}, service)
    [stitch] = service.bodies("/v1/stitch")
    verified = sorted(key for key, value in stitch.items() if key.endswith("Verified") and value is True)
    assert stitch["oidcSubject"] == "alice-1001" and stitch["oidcIssuer"] == "https://login.dev.acme-support.example"
    assert verified == ["oidcVerified"]  # the subject only: the stack does not trust the email claim
    assert stitch["email"] == "alice@example.com" and stitch["phone"] == PHONE
    [topic] = service.bodies("/v1/interactions")
    assert topic["topic"] == "password-reset-failed"
    assert trace.outcome is not None and trace.outcome.priority == 20


def test_the_email_claim_is_verified_only_for_an_authenticated_session_of_a_trusting_stack() -> None:
    trusting = rendered(replace(load_dev_settings(), trust_email_claim=True))["web-messaging.yaml"]

    def email_verified(start: dict[str, Any]) -> Any:
        service = Service()
        client = httpx.Client(transport=httpx.MockTransport(service), base_url="http://stitching.test")
        run_flow(trusting, message.parse(start), actions=load_all(), directory=directories.for_queues(["Acme Dev Web Support"]),
                 service=DataActionService("http://stitching.test", {"token": "t" * 40}, client))
        [stitch] = service.bodies("/v1/stitch")
        return stitch["email"], stitch["emailVerified"]

    claims = {"sub": "alice-1001", "email": "alice@example.com"}
    assert email_verified({"channel": "webmessaging", "text": "hi", "authenticated": claims}) == ("alice@example.com", True)
    guest = {"channel": "webmessaging", "text": "hi", "database": {"customerEmail": "alice@example.com"}}
    assert email_verified(guest) == ("alice@example.com", False)


def sms(context: dict[str, Any]) -> tuple[dict[str, Any], Service]:
    return {"channel": "sms", "from": PHONE, "text": "hi again"}, Service(context)


ADVISED = {"advised": True, "reason": "last_agent_within_window", "agentId": AGENT, "channel": "web",
           "topic": "password-reset-failed", "minutesAgo": 60}


def test_the_last_agent_is_preferred_when_a_member_on_queue(run: Run) -> None:
    start, service = sms(ADVISED)
    trace = run("sms.yaml", start, service, users=[{"id": AGENT, "name": "Agent A"}],
                members=[{"userId": AGENT, "onQueue": True}])
    assert trace.outcome is not None and trace.outcome.kind == "transfer" and trace.outcome.queue == SMS_QUEUE
    assert trace.outcome.routed_to_agent == "Agent A" and not trace.outcome.by_error_handling
    assert trace.responses == ["Welcome back! About password-reset-failed. We will reply here soon."]
    [stitch] = service.bodies("/v1/stitch")
    assert stitch["phone"] == PHONE and stitch["phoneVerified"] is True


@pytest.mark.parametrize(("users", "members", "decision"), [
    ([{"id": AGENT, "name": "Ex Agent", "deleted": True}], [], "queue: last agent not found"),
    ([{"id": AGENT, "name": "Agent A"}], [], "last-agent preferred"),  # not a member: Genesys routes normally
])
def test_a_deleted_or_non_member_last_agent_gives_a_normal_queue_transfer(run: Run, users: list[dict[str, Any]],
                                                                          members: list[dict[str, Any]],
                                                                          decision: str) -> None:
    start, service = sms(ADVISED)
    trace = run("sms.yaml", start, service, users=users, members=members)
    assert trace.outcome is not None and trace.outcome.kind == "transfer" and trace.outcome.queue == SMS_QUEUE
    assert trace.outcome.routed_to_agent is None and not trace.outcome.by_error_handling
    assert trace.participant_data["routingDecision"] == decision


def test_the_outcome_workflow_records_agent_queue_and_wrapup(run: Run) -> None:
    service = Service()
    run("outcome-workflow.yaml", {"workflow": {"Flow.conversationId": "c-1", "Flow.userId": AGENT,
                                               "Flow.queueId": "q-web", "Flow.wrapupCode": "w-1"}}, service)
    [record] = service.bodies("/v1/interactions")
    assert (record["conversationId"], record["agentId"], record["queueId"], record["wrapupCode"]) == (
        "c-1", AGENT, "q-web", "w-1")
    assert not record.get("topic")
