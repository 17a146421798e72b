"""The Architect inbound message flows, published from their rendered files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from genesys_identity.genesys.binding import GenesysResource


@dataclass(frozen=True)
class FlowFile:
    role: str  # child resource name suffix: "web-messaging", "sms"
    name: str  # the flow's name in Genesys, stable per stack
    path: str  # the rendered file, relative to the project (read by the provider at apply time)
    digest: str  # sha256 of the rendered text
    data_action_calls: tuple[tuple[str, str], ...] = ()  # (category, action) pairs the flow calls


class Flows(pulumi.ComponentResource):
    """One ``genesyscloud_flow`` per rendered file.

    ``update_trigger_hash`` is the rendered content's digest: an unchanged render leaves the flow alone (no
    republish); a changed one publishes a new version. ``force_unlock`` follows the stack setting.
    """

    def __init__(self, name: str, files: Sequence[FlowFile], force_unlock: bool,
                 depends_on: Sequence[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None):
        # What the flows call, as the component's properties: the policy pack checks it against the
        # data actions the stack declares (policies see resources, not the flow files).
        super().__init__("genesys-identity:flows:Flows", name, {"flows": [
            {"role": f.role, "name": f.name, "dataActionCalls": [{"category": c, "action": a} for c, a in f.data_action_calls]}
            for f in files
        ]}, opts)
        self.ids: dict[str, pulumi.Output[str]] = {}
        for file in files:
            flow = GenesysResource("genesyscloud_flow", f"{name}-{file.role}", {
                "filepath": file.path,
                "update_trigger_hash": file.digest,
                "force_unlock": force_unlock,
            }, pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
            self.ids[file.role] = flow.id
        self.register_outputs({"ids": self.ids})
