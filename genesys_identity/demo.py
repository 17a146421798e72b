"""``python -m genesys_identity demo``: the cross-channel journey, live, on the embedded default.

It starts the stitching service on a fresh SQLite file, then replays a customer's day through the real data
action definitions (executed by the runner, as Genesys would) and the SMS flow's routing rule:

1. an authenticated web chat, handled by an agent, about a failed password reset;
2. the customer logs out;
3. an hour later, an SMS from the same customer: routed to the same agent, greeted with the topic;
4. three hours after the chat, another SMS: routed normally;
5. an anonymous web visitor types the customer's phone number: refused, never linked.

Event times are passed as the data actions' optional ``occurredAt``/``asOf`` inputs, so the three hours take
seconds. The service is stopped cleanly at the end.
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from genesys_identity.actions import definitions
from genesys_identity.actions.runner import ActionFailure, execute
from genesys_identity.errors import GenesysIdentityError
from stitching import process
from stitching.errors import StitchingError

ISSUER = "https://login.dev.acme-support.example"
PHONE_ON_FILE = "+15552017788"
AGENT = "6f1a3c2e-0b7d-4e59-a8f2-9c4d1e7b5a30"
WINDOW_MINUTES = 120


class Demo:
    def __init__(self, service_url: str, token: str) -> None:
        self.url = service_url
        self.credentials = {"token": token}
        self.actions = definitions.load_all()
        self.client = httpx.Client()

    def run(self, name: str, **inputs: Any) -> dict[str, Any]:
        action = definitions.by_name(self.actions, name)
        return execute(action, inputs, service_url=self.url, credentials=self.credentials, client=self.client).output


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def journey(demo: Demo, start: datetime, say: Any = print) -> list[str]:
    """Replay the journey; return the routing decision of each step (also printed)."""
    decisions: list[str] = []
    t0 = start

    say(f"1. {t0:%H:%M} web chat, logged in (OIDC subject alice-1001, phone {PHONE_ON_FILE} from the ID token)")
    web = demo.run("Stitch Identity", channel="web", conversationId="web-conv-1", requestKey="web-conv-1-stitch",
                   authIssuer=ISSUER, authSubject="alice-1001", authVerified=True, customerId="CRM-1001",
                   customerIdVerified=True, customerPhone="(555) 201-7788", customerPhoneVerified=True,
                   customerEmailVerified=False, webSessionId="web-session-7f3a", occurredAt=_at(t0))
    profile = str(web["stitchedProfileId"])
    say(f"   Stitch Identity: {web['stitchDecision']} profile {profile[:8]}, verified={web['stitchVerified']} "
        f"({web['stitchSummary']})")
    demo.run("Record Interaction Outcome", conversationId="web-conv-1", agentId=AGENT, queueId="web-queue",
             topic="failed password reset", occurredAt=_at(t0 + timedelta(minutes=12)))
    say(f"   agent {AGENT[:8]} handled it; topic \"failed password reset\" recorded")
    decisions.append("web chat: queue (web)")

    logout = demo.run("End Web Session", webSessionId="web-session-7f3a", occurredAt=_at(t0 + timedelta(minutes=15)))
    say(f"2. {t0 + timedelta(minutes=15):%H:%M} logout: web session ended={logout['ended']}")

    for step, minutes, conversation in ((3, 60, "sms-conv-1"), (4, 180, "sms-conv-2")):
        moment = t0 + timedelta(minutes=minutes)
        say(f"{step}. {moment:%H:%M} SMS from (555) 201-7788, {minutes // 60} hour{'s' if minutes > 60 else ''} "
            "after the web chat")
        sms = demo.run("Stitch Identity", channel="sms", conversationId=conversation, customerPhone="(555) 201-7788",
                       customerPhoneVerified=True, authVerified=False, customerIdVerified=False,
                       customerEmailVerified=False, occurredAt=_at(moment))
        say(f"   Stitch Identity: {sms['stitchDecision']} profile {str(sms['stitchedProfileId'])[:8]}"
            f"{' (the web customer)' if sms['stitchedProfileId'] == profile else ''}")
        context = demo.run("Get Last Interaction Context", customerPhone="(555) 201-7788", windowMinutes=WINDOW_MINUTES,
                           conversationId=conversation, asOf=_at(moment))
        # The SMS flow's rule (flows/sms.yaml.j2): advised and an agent known -> preferred agent, else the queue.
        if context["lastAgentAdvised"] == "true" and context["lastAgentId"]:
            decision = f"route to the last agent {str(context['lastAgentId'])[:8]}"
            say(f"   Get Last Interaction Context: advised, {context['lastInteractionChannel']} chat "
                f"{context['lastInteractionMinutesAgo']} minutes ago about \"{context['lastInteractionTopic']}\"")
            say(f"   -> {decision}, greeting: \"Welcome back. We can see you were getting help with "
                f"{context['lastInteractionTopic']} ...\"")
        else:
            decision = "route normally (SMS queue)"
            say(f"   Get Last Interaction Context: not advised ({context['contextReason']})")
            say(f"   -> {decision}")
        decisions.append(f"sms after {minutes} min: {decision}")

    moment = t0 + timedelta(minutes=185)
    say(f"5. {moment:%H:%M} anonymous web visitor types {PHONE_ON_FILE}")
    visitor = demo.run("Stitch Identity", channel="web", conversationId="web-conv-2", customerPhone=PHONE_ON_FILE,
                       customerPhoneVerified=False, authVerified=False, customerIdVerified=False,
                       customerEmailVerified=False, webSessionId="web-session-9c1d", occurredAt=_at(moment))
    refused = "phone:refused" in str(visitor["stitchSummary"])
    same = visitor["stitchedProfileId"] == profile
    say(f"   Stitch Identity: {visitor['stitchDecision']} profile {str(visitor['stitchedProfileId'])[:8]}, "
        f"verified={visitor['stitchVerified']} ({visitor['stitchSummary']})")
    decision = "refused: the phone stays with its owner" if refused and not same else "LINKED (wrong)"
    say(f"   -> {decision}")
    decisions.append(f"anonymous claim: {decision}")
    return decisions


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    work = root / "build" / "demo"
    work.mkdir(parents=True, exist_ok=True)
    for leftover in work.glob("stitching.db*"):
        leftover.unlink()
    token = secrets.token_urlsafe(32)
    database = work / "stitching.db"
    print(f"Starting the stitching service on SQLite ({database})...")
    try:
        service = process.start(f"sqlite:///{database}", token, work / "service.log")
    except StitchingError as exc:
        raise GenesysIdentityError(str(exc)) from None
    try:
        demo = Demo(service.url, token)
        start = (datetime.now(UTC) - timedelta(hours=3, minutes=10)).replace(second=0, microsecond=0)
        print(f"Replaying the journey through the real data action definitions ({service.url}):\n")
        decisions = journey(demo, start)
        demo.client.close()
    except ActionFailure as failure:
        print(f"error: a data action failed: {failure}", file=sys.stderr)
        return 1
    finally:
        code = service.stop()
    print(f"\nStitching service stopped cleanly (exit {code}). Decisions:")
    for line in decisions:
        print(f"  - {line}")
    return 0 if code == 0 else 1
