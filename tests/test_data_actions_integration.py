"""The data actions' integration as the provider and Genesys expect it, in the dev stack's plan."""

from __future__ import annotations

import json

import pytest

from genesys_identity.plan import Plan, evaluate
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, object]]:
    plan: Plan = evaluate(ROOT, "dev")
    return {r["name"]: r["inputs"] for r in plan.resources}


def test_the_credential_sits_in_the_basic_auth_slot(resources: dict[str, dict[str, object]]) -> None:
    integration = resources["data-actions-integration"]
    assert integration["integrationType"] == "custom-rest-actions"
    config = integration["config"]
    assert isinstance(config, dict)
    # custom-rest-actions has one slot, basicAuth, whatever the credential's type (provider integration docs).
    assert config["credentials"] == {"basicAuth": "(id of data-actions-credential)"}
    assert resources["data-actions-credential"]["credentialTypeName"] == "userDefined"
    assert json.loads(str(config["properties"])) == {"clientCertificateAuthority": "Genesys Cloud"}


def test_no_declared_action_is_secure(resources: dict[str, dict[str, object]]) -> None:
    actions = [inputs for name, inputs in resources.items() if name.startswith("data-actions-")
               and "contractInput" in inputs]
    assert len(actions) == 4 and all(inputs["secure"] is False for inputs in actions)
