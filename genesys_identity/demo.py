"""``python -m genesys_identity demo``: the cross-channel journey, through the dev stack's rendered flows, live.

It starts the stitching service on a fresh SQLite file with a development clock (``--dev --clock-file``), then
sends a customer's day through the flows as rendered for the dev stack, run by the Architect flow executor: every
data action input comes from the flow's own expressions, every routing decision from the flow's own actions.
Nothing here chooses a data action input or copies a flow's rule. What the demo plays is what Genesys and the
customer's other systems would do: the messages (an authenticated web chat with its OIDC claims and what the
website set with ``Database.set``; SMS from a number), the clock, the agent directory, the conversation event that
starts the outcome workflow, and the website backend's enrollment call.

Steps that need parts of the stack that are not there yet (the enrollment API, the outcome workflow) say so and are
skipped; the flows' outcomes are printed as they are.
"""

from __future__ import annotations

import secrets
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from genesys_identity import flowrun
from genesys_identity.architect import directory as directories
from genesys_identity.architect import message
from genesys_identity.architect.executor import DataActionService
from genesys_identity.architect.trace import Trace
from genesys_identity.errors import GenesysIdentityError
from stitching import process
from stitching.errors import StitchingError

PHONE = "+12022017788"
SUBJECT = "alice-1001"
SECOND_SUBJECT = "bob-2002"
DEFAULT_AGENT = "6f1a3c2e-0b7d-4e59-a8f2-9c4d1e7b5a30"
TOPIC = "failed password reset"
START = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
OUTCOME_WORKFLOW = "outcome-workflow"
WRAPUP_CODE = "8f7a1b9c-1d2e-4f30-9a4b-5c6d7e8f9a0b"  # the wrap-up code the agent applied (an id, as events carry it)


def queue_id(name: str) -> str:
    """A stable id for a queue of the demo org (Genesys events carry queue ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"queue:{name}"))


@dataclass
class Result:
    """One step: what happened, as the flows decided it, and the rule that decided it."""

    step: str
    outcome: str
    rule: str
    trace: Trace | None = field(default=None, repr=False)

    def line(self) -> str:
        return f"{self.step}: {self.outcome} [{self.rule}]"


@dataclass
class Journey:
    flows: flowrun.StackFlows
    service: DataActionService
    clock_file: Path
    enrollment_token: str | None
    say: Callable[[str], None] = print
    results: list[Result] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.flows.settings
        declared = tuple(getattr(settings, "agent_user_ids", ()))
        self.agent = declared[0] if declared else DEFAULT_AGENT
        self.web_queue, self.sms_queue = settings.queues.web, settings.queues.sms
        self.declared_members = declared
        self.now = START

    # -- what Genesys and the other systems do ------------------------------------------------------------------

    def directory(self, *, agent_deleted: bool = False, agent_in_sms_queue: bool | None = None) -> directories.Directory:
        """The org's users and queues: the agent answers the web queue; the SMS queue has the members the stack
        declares (``agentUserIds``), all on queue."""
        sms_members = list(self.declared_members)
        if agent_in_sms_queue is False:
            sms_members = [u for u in sms_members if u != self.agent]
        users = [{"id": self.agent, "name": "Dana Reyes", "deleted": agent_deleted}]
        users += [{"id": u, "name": f"Agent {u[:8]}"} for u in sms_members if u != self.agent]
        web_members = [] if agent_deleted else [{"userId": self.agent, "onQueue": True}]
        return directories.parse({
            "users": users,
            "queues": [{"name": self.web_queue, "id": queue_id(self.web_queue), "members": web_members},
                       {"name": self.sms_queue, "id": queue_id(self.sms_queue),
                        "members": [{"userId": u, "onQueue": True} for u in sms_members
                                    if not (agent_deleted and u == self.agent)]}],
        }, "demo directory")

    def at(self, when: datetime) -> None:
        self.now = when
        process.set_clock(self.clock_file, when)

    def run(self, which: str, start: message.Start, directory: directories.Directory | None = None) -> Trace:
        return flowrun.run(self.flows, which, start, directory=directory or self.directory(), service=self.service,
                           clock=lambda: self.now)

    def web(self, conversation: str, sub: str | None, database: dict[str, str]) -> Trace:
        document: dict[str, Any] = {"channel": "webmessaging", "text": "Hi, I need help", "conversationId": conversation,
                                    "database": database}
        if sub is not None:
            document["authenticated"] = {"sub": sub, "email": f"{sub.split('-')[0]}@example.com",
                                         "name": sub.split("-")[0].title()}
        return self.run("web-messaging", message.parse(document, "web message"))

    def sms(self, conversation: str, directory: directories.Directory | None = None) -> Trace:
        start = message.parse({"channel": "sms", "from": PHONE, "text": "Hi, it's me again",
                               "conversationId": conversation}, "sms")
        return self.run("sms", start, directory)

    def enroll(self, subject: str) -> str | None:
        """The website backend, after login, tells the service that this subject's phone is theirs."""
        if self.enrollment_token is None:
            return None
        body = {"source": "website-backend", "anchor": {"oidcIssuer": self._issuer(), "oidcSubject": subject},
                "phone": PHONE}
        response = httpx.post(f"{self.service.url}/v1/enrollments", json=body, timeout=5,
                              headers={"Authorization": f"Bearer {self.enrollment_token}",
                                       "Idempotency-Key": f"enroll-{subject}"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GenesysIdentityError(f"enrollment failed: {response.status_code} {response.text[:200]}")
        answer = response.json()
        return f"{answer.get('decision')} profile {str(answer.get('profileId'))[:8]} ({answer.get('summary')})"

    def agent_work_ends(self, conversation: str, queue: str, ended: datetime) -> Trace | None:
        """The conversation event Genesys publishes when the agent wraps up starts the outcome workflow."""
        if OUTCOME_WORKFLOW not in self.flows.flows:
            return None
        self.at(ended)
        start = message.parse({"workflow": {
            "Flow.conversationId": conversation, "Flow.userId": self.agent, "Flow.queueId": queue_id(queue),
            "Flow.wrapupCode": WRAPUP_CODE}}, "conversation event")
        return self.run(OUTCOME_WORKFLOW, start)

    def _issuer(self) -> str:
        return self.flows.settings.oidc.discovery_uri.removesuffix("/.well-known/openid-configuration")

    # -- printing ------------------------------------------------------------------------------------------------

    def record(self, step: str, trace: Trace) -> Result:
        outcome = trace.outcome
        assert outcome is not None
        if outcome.kind == "transfer":
            target = f"queue {outcome.queue!r}" + (f" preferring {outcome.routed_to_agent}" if outcome.routed_to_agent
                                                   else "")
        else:
            target = outcome.kind + (" (error handling)" if outcome.by_error_handling else "")
        rule = trace.participant_data.get("routingDecision") or outcome.reason
        if outcome.preferred_agents:  # what the directory made of the flow's preferred agents
            rule += "; " + ", ".join(f"{p['name'] or p['userId']}: {p['reason']}" for p in outcome.preferred_agents)
        for call in trace.calls:
            line = f"   {call.action}: {call.status}" + (f" {_outputs(call.outputs)}" if call.outputs else f" ({call.error})")
            self.say(line if len(line) <= 150 else line[:147] + "...")
        for response in trace.responses:
            self.say(f"   sent: \"{response}\"")
        if trace.errors:
            self.say(f"   error handling: {trace.errors[0]}")
        self.say(f"   -> {target}")
        self.say(f"      because: {outcome.reason}")
        result = Result(step, target, rule, trace)
        self.results.append(result)
        return result

    def chat(self, number: int, when: datetime, sub: str, database: dict[str, str], label: str) -> tuple[str, Trace]:
        """An authenticated web chat; the agent answers it from the web queue and wraps up 12 minutes later."""
        self.at(when)
        conversation = str(uuid.uuid4())
        self.say(f"{number}. {when:%H:%M} web chat, logged in (OIDC sub {sub}); the website set "
                 + ", ".join(f"{k}={v}" for k, v in database.items()))
        web = self.web(conversation, sub, database)
        self.record(label, web)
        return conversation, web

    def wrap_up(self, number: int, conversation: str, when: datetime, label: str) -> None:
        self.say(f"{number}. {when:%H:%M} agent {self.agent[:8]} wraps up the web chat; Genesys' after-call-work "
                 "event starts the outcome workflow")
        workflow = self.agent_work_ends(conversation, self.web_queue, when)
        if workflow is None:
            self.say("   nothing in the stack records who handled it (no outcome workflow yet)")
        else:
            self.record(label, workflow)

    def journey(self) -> list[Result]:
        t0 = START
        website = {"customerPhone": PHONE, "webSessionId": "web-session-7f3a", "lastWebTopic": TOPIC}
        conversation, web = self.chat(1, t0, SUBJECT, website, f"web chat ({SUBJECT})")
        alice = web.participant_data.get("stitchedProfileId")

        self.say(f"2. {t0:%H:%M} the website backend, after the login, enrolls the customer's phone")
        enrolled = self.enroll(SUBJECT)
        self.say(f"   enrollment: {enrolled}" if enrolled else "   (no enrollment API in this service yet: skipped)")
        if enrolled:
            decision, _, summary = enrolled.partition(" (")
            self.results.append(Result("enrollment by the website backend", decision,
                                       f"{summary.rstrip(')')}: the enrollment credential may assert the phone"))
        self.wrap_up(3, conversation, t0 + timedelta(minutes=12), "agent's work ends")

        for number, minutes in ((4, 60), (5, 180)):
            self.at(t0 + timedelta(minutes=minutes))
            self.say(f"{number}. {self.now:%H:%M} SMS from {PHONE}, {minutes // 60} h after the web chat")
            self.record(f"sms after {minutes // 60} h", self.sms(str(uuid.uuid4())))

        self.at(t0 + timedelta(minutes=185))
        self.say(f"6. {self.now:%H:%M} a guest on another computer opens the chat and types {PHONE}")
        guest = self.web(str(uuid.uuid4()), None, {"customerPhone": PHONE, "webSessionId": "web-session-9c1d"})
        result = self.record("guest types the phone", guest)
        linked = guest.participant_data.get("stitchedProfileId") == alice
        told = any(alice and alice in r for r in guest.responses)
        stitch = next((c for c in guest.calls if c.action == "Stitch Identity"), None)
        summary = str((stitch.outputs or {}).get("stitchSummary", "")) if stitch else ""
        result.outcome += ", linked to the customer" if linked else ", never linked"
        result.outcome += " and told whose phone it is" if told else ""
        result.rule = f"{result.rule}; {next((p for p in summary.split(';') if p.startswith('phone:')), summary)}"
        self.say(f"   the guest's profile is {'THE CUSTOMER' if linked else 'a new one'}; "
                 f"{'told' if told else 'nothing'} about the owner in the replies")

        start = t0 + timedelta(hours=4)
        website = {**website, "webSessionId": "web-session-2b1e"}  # a new visit: a new Messenger session
        conversation, _ = self.chat(7, start, SUBJECT, website, f"another web chat ({SUBJECT})")
        self.wrap_up(8, conversation, start + timedelta(minutes=12), "agent's work ends again")
        later = start + timedelta(minutes=20)
        self.say(f"9. {later:%H:%M} shared computer: {SECOND_SUBJECT} logs in on the same browser "
                 "(same Messenger session, the website's old context still set)")
        self.at(later)
        second = self.web(str(uuid.uuid4()), SECOND_SUBJECT, website)
        result = self.record(f"web chat ({SECOND_SUBJECT}, same browser)", second)
        owner = second.participant_data.get("stitchedProfileId")
        result.outcome += ", a profile of its own" if owner and owner != alice else ", THE FIRST CUSTOMER'S PROFILE"
        stitch = next((c for c in second.calls if c.action == "Stitch Identity"), None)
        result.rule = f"{result.rule}; {str((stitch.outputs or {}).get('stitchSummary', '')) if stitch else ''}"
        self.say(f"   {SECOND_SUBJECT}'s chat is tied to {'a profile of its own' if owner != alice else 'ALICE'}")
        for number, minutes, label, directory in (
                (10, 40, "the last agent was deleted", self.directory(agent_deleted=True)),
                (11, 45, "the last agent is not a member of the SMS queue", self.directory(agent_in_sms_queue=False))):
            self.at(start + timedelta(minutes=minutes))
            self.say(f"{number}. {self.now:%H:%M} SMS from {PHONE}; {label}")
            self.record(f"sms, {label}", self.sms(str(uuid.uuid4()), directory))

        return self.results


def _outputs(outputs: dict[str, Any]) -> str:
    shown = {k: v for k, v in outputs.items() if v not in ("", None, -1) and k not in ("stitchedProfileId", "staleSession")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    work = root / "build" / "demo"
    work.mkdir(parents=True, exist_ok=True)
    for leftover in work.glob("stitching.db*"):
        leftover.unlink()
    token = secrets.token_urlsafe(32)
    enrollment_token = secrets.token_urlsafe(32)
    database = work / "stitching.db"
    clock_file = work / "clock"
    process.set_clock(clock_file, START)
    flows = flowrun.StackFlows.render(root, "dev")
    print(f"Starting the stitching service on SQLite ({database}) with a development clock...")
    try:
        service = process.start(f"sqlite:///{database}", token, work / "service.log", clock_file=clock_file,
                                env={"STITCHING_ENROLLMENT_TOKEN": enrollment_token})
    except StitchingError as exc:
        raise GenesysIdentityError(str(exc)) from None
    client = httpx.Client()
    try:
        print(f"Sending the journey through the dev stack's rendered flows ({service.url}):\n")
        journey = Journey(flows, DataActionService(service.url, {"token": token}, client), clock_file, enrollment_token)
        results = journey.journey()
    finally:
        client.close()
        code = service.stop()
    print(f"\nStitching service stopped cleanly (exit {code}). What the flows decided:")
    for result in results:
        print(f"  - {result.line()}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
