"""The participant attribute catalog as a component: visible to `pulumi preview`, its diff and policy pack."""

from __future__ import annotations

import pulumi

from genesys_identity.catalog import Catalog


class ParticipantAttributes(pulumi.ComponentResource):
    """Declares nothing in Genesys (participant attributes need no resource there); it records the catalog
    in the stack so reviewers see attribute changes in previews and policies can check them."""

    def __init__(self, name: str, catalog: Catalog, opts: pulumi.ResourceOptions | None = None):
        attributes = [
            {"name": a.name, "type": a.type, "source": a.source, "routing": a.routing, "agentVisible": a.agent_visible,
             "pii": a.pii, "maxLength": a.max_length}
            for a in catalog.attributes
        ]
        super().__init__("genesys-identity:catalog:ParticipantAttributes", name, {"attributes": attributes}, opts)
        # The engine hands a policy pack a component's registered outputs, not its constructor properties.
        self.register_outputs({"attributes": attributes})
