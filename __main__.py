"""Entry point of `pulumi preview` / `pulumi up`: read settings once, build, export."""

import pulumi

from genesys_identity.errors import GenesysIdentityError
from genesys_identity.program import build
from genesys_identity.settings import from_pulumi

try:
    outputs = build(from_pulumi())
except GenesysIdentityError as error:
    # A mistake in the stack's settings or declarations: one line, no traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in outputs.items():
    pulumi.export(key, value)
