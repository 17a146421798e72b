"""SMS numbers routed to the SMS flow, with identity resolution on (REST dynamic resources)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from genesys_identity.genesys.dynamic import MessageRouting, SmsIdentityResolution


class SmsRouting(pulumi.ComponentResource):
    """Each SMS number, named by its E.164 number, routed to the SMS flow with identity resolution on.

    The numbers' ids are read from the org when the resources are created (``genesys/dynamic.py``): a number
    the org does not have stops the deploy with an error naming it. Resource names carry the number's digits.
    """

    def __init__(self, name: str, *, region: str, numbers: Sequence[str], flow_id: pulumi.Input[str],
                 division_id: str | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:smsRouting:SmsRouting", name, None, opts)
        for number in numbers:
            label = number.lstrip("+")
            MessageRouting(f"{name}-{label}", region=region, phone_number=number, flow_id=flow_id,
                           opts=pulumi.ResourceOptions(parent=self))
            SmsIdentityResolution(f"{name}-{label}-identity-resolution", region=region, phone_number=number,
                                  resolve_identities=True, division_id=division_id,
                                  opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
