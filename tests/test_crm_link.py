"""The CRM link of the external source: Genesys fills {{externalId.value}} (provider 1.84.1 docs, example and test)."""

from __future__ import annotations

import pytest

from genesys_identity.settings import CRM_PLACEHOLDER, parse_crm_template
from tests.test_settings import error_for


def test_the_placeholder_is_the_external_id_value() -> None:
    assert CRM_PLACEHOLDER == "{{externalId.value}}"
    url = "https://crm.example.com/customers/{{externalId.value}}?tab=profile"
    assert parse_crm_template(url) == url


@pytest.mark.parametrize(("value", "expected"), [
    ("https://crm.example.com/customers/{{id}}",
     "{{id}} is not a placeholder Genesys fills; the CRM id is {{externalId.value}}"),
    ("https://crm.example.com/customers/{{ externalId }}", "{{externalId}} is not a placeholder Genesys fills"),
    ("https://crm.example.com/customers/", "which has no {{externalId.value}} where the contact's CRM id goes"),
    ("https://crm.example.com/customers/{{externalId.value}}}", "unbalanced brace"),
    ("http://crm.example.com/customers/{{externalId.value}}", "which is not https"),
])
def test_a_template_genesys_would_not_fill_is_refused_in_one_line(value: str, expected: str) -> None:
    message = error_for(crmProfileUrlTemplate=value)
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:crmProfileUrlTemplate must be an https URL template")
    assert expected in message and "\n" not in message


def test_the_shipped_stack_uses_the_placeholder() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "Pulumi.dev.yaml").read_text()
    assert "crmProfileUrlTemplate: https://crm.dev.acme-support.example/customers/{{externalId.value}}" in text
