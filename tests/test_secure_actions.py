"""Secure data actions are for Call Secure Data in secure flows; the message flows call with a plain callData."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.data_actions import refuse_secure_calls
from genesys_identity.actions.definitions import load_all
from genesys_identity.errors import SchemaViolation
from genesys_identity.flows.check import data_action_calls

GOLDEN = Path(__file__).resolve().parent / "golden" / "flows"
CATEGORY = "acme-dev Identity Stitching"


def _calls() -> dict[str, list[tuple[str, str]]]:
    return {path.name: data_action_calls(path.read_text()) for path in sorted(GOLDEN.glob("*.yaml"))}


def test_no_shipped_action_is_secure() -> None:
    assert [d.name for d in load_all() if d.secure] == []


def test_the_flows_call_actions_that_publish_with_a_plain_call_data() -> None:
    calls = _calls()
    category = {c for pairs in calls.values() for c, _ in pairs}
    assert len(category) == 1 and any(pairs for pairs in calls.values())
    refuse_secure_calls(load_all(), calls, category.pop())


def test_a_secure_action_called_by_a_message_flow_is_refused() -> None:
    calls = _calls()
    category = next(c for pairs in calls.values() for c, _ in pairs)
    definitions = [dataclasses.replace(d, document={**d.document, "secure": True}) if d.name == "Stitch Identity" else d
                   for d in load_all()]
    with pytest.raises(SchemaViolation, match=r"^data_actions: Stitch Identity: secure is true, but flow '.+' calls it"):
        refuse_secure_calls(definitions, calls, category)
    # The same action in another category is not this stack's action.
    refuse_secure_calls(definitions, calls, CATEGORY + " (other)")
