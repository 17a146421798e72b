"""The routing queues the flows transfer to, and who is a member of them.

Genesys offers a conversation to a preferred agent only when the agent is a member of the target queue and on
queue (help "Preferred agent routing behavior"). The SMS flow prefers the agent of the customer's web chat, so
the agents who answer web chats must also be members of the SMS queue: the stack's ``agentUserIds`` and
``agentGroupIds`` become members (``members`` block) and groups (``groups``) of both queues. With neither set,
the provider leaves membership alone (1.84.1: "If not set, this resource will not manage members") and the
SMS preference only works for agents someone made members by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from genesys_identity.genesys.binding import GenesysResource


@dataclass(frozen=True)
class QueueSpec:
    role: str  # "web" or "sms": the child resource's name
    name: str
    description: str
    # Set deliberately, never left to the org default. Genesys switches last agent routing off on a queue
    # whenever a flow transfers to it with preferred agents, so the SMS queue says Disabled instead of
    # pretending; the web queue keeps native last agent routing for threaded web messaging replies.
    last_agent_routing_mode: str


@dataclass(frozen=True)
class Membership:
    """Users and groups that are members of every queue of the stack."""

    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()


class Queues(pulumi.ComponentResource):
    def __init__(self, name: str, specs: list[QueueSpec], division_id: str | None = None,
                 opts: pulumi.ResourceOptions | None = None, membership: Membership = Membership()):
        super().__init__("genesys-identity:queues:Queues", name, None, opts)
        self.ids: dict[str, pulumi.Output[str]] = {}
        self.names: dict[str, str] = {}
        for spec in specs:
            attributes: dict[str, Any] = {
                "name": spec.name,
                "description": spec.description,
                "last_agent_routing_mode": spec.last_agent_routing_mode,
                "acw_wrapup_prompt": "MANDATORY_TIMEOUT",
                "enable_transcription": False,
            }
            if division_id:
                attributes["division_id"] = division_id
            if membership.user_ids:
                attributes["members"] = [{"user_id": user, "ring_num": 1} for user in membership.user_ids]
            if membership.group_ids:
                attributes["groups"] = list(membership.group_ids)
            queue = GenesysResource("genesyscloud_routing_queue", f"{name}-{spec.role}", attributes,
                                    pulumi.ResourceOptions(parent=self))
            self.ids[spec.role] = queue.id
            self.names[spec.role] = spec.name
        self.register_outputs({"ids": self.ids})
