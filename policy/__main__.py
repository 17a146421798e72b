"""The policy pack: each rule of genesys_identity/policies.py as a mandatory stack validation."""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genesys_identity.policies import RULES, stack_validation

PolicyPack(
    name="genesys-identity",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[StackValidationPolicy(name=rule.name, description=rule.description, validate=stack_validation(rule))
              for rule in RULES],
)
