"""The routing queues the flows transfer to."""

from __future__ import annotations

from dataclasses import dataclass

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


class Queues(pulumi.ComponentResource):
    def __init__(self, name: str, specs: list[QueueSpec], division_id: str | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:queues:Queues", name, None, opts)
        self.ids: dict[str, pulumi.Output[str]] = {}
        self.names: dict[str, str] = {}
        for spec in specs:
            attributes = {
                "name": spec.name,
                "description": spec.description,
                "last_agent_routing_mode": spec.last_agent_routing_mode,
                "acw_wrapup_prompt": "MANDATORY_TIMEOUT",
                "enable_transcription": False,
            }
            if division_id:
                attributes["division_id"] = division_id
            queue = GenesysResource("genesyscloud_routing_queue", f"{name}-{spec.role}", attributes,
                                    pulumi.ResourceOptions(parent=self))
            self.ids[spec.role] = queue.id
            self.names[spec.role] = spec.name
        self.register_outputs({"ids": self.ids})
