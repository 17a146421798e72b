"""The process automation trigger that starts the outcome workflow when an agent's after-call work ends.

Topic ``v2.detail.events.conversation.{id}.acw`` (the AfterCallWorkEvent, "triggered when a user finishes
after-call work by applying a wrap-up"; listed in help "Overview of triggers"): it ends the agent's part and is
the one conversation event that carries the agent (``userId``), the queue (``queueId``) and the wrap-up code
(``wrapupCode``) together (purecloudplatformclientv2 269.0.0 ``AcwDetailEventTopicAfterCallWorkEvent``).
``customer.end`` (the provider's example topic) fires when the customer leaves, before any wrap-up, and carries
no wrap-up code. The target's data format ``TopLevelPrimitives`` sends the event's top-level primitive fields
("strings, enums, numbers, and Boolean", help "Create a trigger") to the workflow; they arrive as the input
variables named like the fields, as Genesys' own trigger blueprints show (automatic-offer-callback-for-disconnected-
call: a ``customer.end`` trigger and a workflow whose inputs are ``Flow.ani`` and ``Flow.conversationId``). The
workflow declares exactly ``OUTCOME_WORKFLOW_INPUTS``. Shape: provider 1.84.1
``examples/resources/genesyscloud_processautomation_trigger/resource.tf``
(``target { type = "Workflow" workflow_target_settings { data_format } }``, ``match_criteria`` as a JSON list of
``{jsonPath, operator, value}``, ``event_ttl_seconds``).
"""

from __future__ import annotations

import json

import pulumi

from genesys_identity.genesys.binding import GenesysResource

TOPIC = "v2.detail.events.conversation.{id}.acw"
DATA_FORMAT = "TopLevelPrimitives"
# Message conversations on the channels the stack routes (the event's mediaType / messageType enums in the SDK
# model: MESSAGE; WEBMESSAGING, SMS). "In" with a JSON list: GenesysCloudBlueprints/automatic-offer-callback-for-
# disconnected-call terraform/modules/trigger/trigger.tf.
MATCH_CRITERIA = (
    {"jsonPath": "mediaType", "operator": "Equal", "value": "MESSAGE"},
    {"jsonPath": "messageType", "operator": "In", "value": ["WEBMESSAGING", "SMS"]},
)
# How old an event may be and still start the workflow: the provider example's 60 s. An outcome recorded later
# than that would be too late for the next message anyway; the event is then skipped, not queued up.
EVENT_TTL_SECONDS = 60


class OutcomeTrigger(pulumi.ComponentResource):
    """``genesyscloud_processautomation_trigger``: AfterCallWorkEvent of a message conversation -> the workflow."""

    def __init__(self, name: str, trigger_name: str, workflow_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:outcomes:OutcomeTrigger", name, {"topic": TOPIC}, opts)
        trigger = GenesysResource("genesyscloud_processautomation_trigger", f"{name}-trigger", {
            "name": trigger_name,
            "description": "Records the agent, queue and wrap-up of message conversations (managed by Pulumi).",
            "topic_name": TOPIC,
            "enabled": True,
            "target": {"id": workflow_id, "type": "Workflow",
                       "workflow_target_settings": {"data_format": DATA_FORMAT}},
            "match_criteria": json.dumps(list(MATCH_CRITERIA)),
            "event_ttl_seconds": EVENT_TTL_SECONDS,
        }, pulumi.ResourceOptions(parent=self))
        self.id = trigger.id
        self.register_outputs({"id": self.id})
