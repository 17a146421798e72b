"""The policy pack: each rule of genesys_identity/policies.py as a mandatory stack validation."""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genesys_identity.policies import PACK_NAME, pack_policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=pack_policies())
