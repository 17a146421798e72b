"""SMS numbers routed to the SMS flow, with identity resolution on (REST dynamic resources)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from genesys_identity.genesys.dynamic import MessageRouting, SmsIdentityResolution


class SmsRouting(pulumi.ComponentResource):
    def __init__(self, name: str, *, region: str, number_ids: Sequence[str], flow_id: pulumi.Input[str],
                 division_id: str | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:smsRouting:SmsRouting", name, None, opts)
        for number_id in number_ids:
            MessageRouting(f"{name}-{number_id}", region=region, recipient_id=number_id, flow_id=flow_id,
                           opts=pulumi.ResourceOptions(parent=self))
            SmsIdentityResolution(f"{name}-{number_id}-identity-resolution", region=region, address_id=number_id,
                                  resolve_identities=True, division_id=division_id,
                                  opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
