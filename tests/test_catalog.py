"""The participant attribute catalog: its rules, a stack's overlay, and everything derived from it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_identity.catalog import CatalogError, load
from genesys_identity.plan import evaluate
from genesys_identity.renderers.catalog_artifacts import messenger_snippet, reference_table


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "customerTier", "description": "tier", "type": "string", "source": "messenger_database",
        "routing": True, "agent_visible": True, "pii": "none", "max_length": 32,
    }
    base.update(changes)
    return base


def write_catalog(tmp_path: Path, *entries: dict[str, Any], name: str = "catalog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, "attributes": list(entries)}, sort_keys=False))
    return path


def refusal(tmp_path: Path, *entries: dict[str, Any]) -> str:
    with pytest.raises(CatalogError) as caught:
        load(write_catalog(tmp_path, *entries))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_catalog_loads() -> None:
    catalog = load()
    assert "lastAgentId" in catalog and "customerPhone" in catalog
    assert catalog.get("authSubject").identity_evidence


def test_case_duplicate_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(), entry(name="CustomerTier"))
    assert message == ("catalog.yaml: attribute 'CustomerTier' differs only by case from 'customerTier' "
                       "(names are unique ignoring case)")


def test_numeric_routing_attribute_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(name="priorityScore", type="integer"))
    assert message == "catalog.yaml: attribute 'priorityScore': routing attributes must be strings (declared integer)"


@pytest.mark.parametrize("name", ["card_number", "cardNumber", "customerPassword", "pin", "cvv", "resetPin"])
def test_secret_or_payment_names_are_refused(tmp_path: Path, name: str) -> None:
    message = refusal(tmp_path, entry(name=name, routing=False))
    assert message == (f"catalog.yaml: attribute {name!r}: secrets and payment data never go into participant "
                       "attributes (Genesys logs them)")


@pytest.mark.parametrize("name", ["shippingMethod", "spinnerState", "pineapple", "opinion"])
def test_innocent_names_that_contain_pin_are_accepted(tmp_path: Path, name: str) -> None:
    assert name in load(write_catalog(tmp_path, entry(name=name)))


@pytest.mark.parametrize("pii", ["secret", "payment"])
def test_secret_or_payment_classes_are_refused(tmp_path: Path, pii: str) -> None:
    assert "secrets and payment data never go" in refusal(tmp_path, entry(name="loyaltyCode", pii=pii))


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(colour="blue"))
    assert message == "catalog.yaml: attribute 'customerTier': unknown field 'colour'"


def test_wrong_type_of_a_field_names_attribute_and_field(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(max_length="long"))
    assert message.startswith("catalog.yaml: attribute 'customerTier' field 'max_length': 'long' is not of type")


def test_pii_is_not_agent_visible_without_a_reason(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(name="customerEmail", pii="contact", routing=False))
    assert "PII (contact) is agent-visible only with an agent_visible_reason" in message
    reasoned = entry(name="customerEmail", pii="contact", routing=False,
                     agent_visible_reason="Agents confirm where a receipt goes.")
    assert "customerEmail" in load(write_catalog(tmp_path, reasoned))


def test_unauthenticated_source_is_never_identity_evidence(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(name="customerPhone", routing=False, identity_evidence=True))
    assert "unauthenticated source (messenger_database) is never identity evidence" in message


def test_oidc_claim_needs_its_claim(tmp_path: Path) -> None:
    message = refusal(tmp_path, entry(name="subject", source="oidc_claim", routing=False))
    assert "'claim' is required for source oidc_claim" in message


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("version: 1\nattributes:\n  - name: [x\n")
    with pytest.raises(CatalogError, match=r"^catalog\.yaml: line \d+"):
        load(path)


def test_overlay_adds_and_overrides_with_the_same_rules(tmp_path: Path) -> None:
    overlay = write_catalog(tmp_path, {"name": "lastWebTopic", "max_length": 200},
                            entry(name="marketingSegment", routing=False), name="dev.yaml")
    catalog = load(overlay=overlay)
    assert catalog.get("lastWebTopic").max_length == 200
    assert catalog.get("marketingSegment").source == "messenger_database"
    assert catalog.sources == ("participant_attributes.yaml", "dev.yaml")


def test_overlay_cannot_break_a_rule(tmp_path: Path) -> None:
    overlay = write_catalog(tmp_path, {"name": "lastAgentId", "type": "integer"}, name="dev.yaml")
    with pytest.raises(CatalogError) as caught:
        load(overlay=overlay)
    assert str(caught.value) == ("participant_attributes.yaml + dev.yaml: attribute 'lastAgentId': "
                                 "routing attributes must be strings (declared integer)")


def test_overlay_case_duplicate_is_refused(tmp_path: Path) -> None:
    overlay = write_catalog(tmp_path, entry(name="CUSTOMERTIER", routing=False), name="dev.yaml")
    with pytest.raises(CatalogError, match="'CUSTOMERTIER' differs only by case from 'customerTier'"):
        load(overlay=overlay)


def test_a_new_overlay_entry_must_be_complete(tmp_path: Path) -> None:
    overlay = write_catalog(tmp_path, {"name": "brandNew", "type": "string"}, name="dev.yaml")
    with pytest.raises(CatalogError, match=r"^dev\.yaml: attribute 'brandNew': 'description' is a required property"):
        load(overlay=overlay)


def test_lookup_is_case_sensitive_with_a_hint() -> None:
    with pytest.raises(CatalogError, match="names are case-sensitive: did you mean 'lastAgentId'"):
        load().get("lastagentid")


# -- derived artifacts --------------------------------------------------------------------------------

def snippet_attributes(snippet: str) -> dict[str, Any]:
    match = re.search(r"var ATTRIBUTES = (\{.*?\n  \});", snippet, re.DOTALL)
    assert match, "the snippet declares its attributes"
    parsed: dict[str, Any] = json.loads(match.group(1))
    return parsed


def test_snippet_names_exactly_the_website_attributes_with_their_types() -> None:
    catalog = load()
    specs = snippet_attributes(messenger_snippet(catalog))
    website = {a.name: a for a in catalog.by_source("messenger_database")}
    assert set(specs) == set(website)
    for name, spec in specs.items():
        assert spec["type"] == website[name].type
        assert spec["maxLength"] == website[name].max_length
        assert spec.get("format") == website[name].format


def test_reference_table_has_one_row_per_attribute_with_its_type() -> None:
    catalog = load()
    rows = [line for line in reference_table(catalog).splitlines() if line.startswith("| `")]
    named = {re.match(r"\| `([^`]+)` \| (\w+)", row).groups() for row in rows}  # type: ignore[union-attr]
    assert named == {(a.name, a.type) for a in catalog.attributes}


@pytest.mark.golden
def test_snippet_matches_its_golden_file(golden) -> None:  # type: ignore[no-untyped-def]
    golden("catalog/messenger-attributes.js", messenger_snippet(load()))


@pytest.mark.golden
def test_reference_table_matches_its_golden_file(golden) -> None:  # type: ignore[no-untyped-def]
    golden("catalog/participant-attributes.md", reference_table(load()))


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the snippet's behaviour is checked where it is")
def test_snippet_checks_values_and_calls_database_set(tmp_path: Path) -> None:
    script = tmp_path / "run.js"
    script.write_text(messenger_snippet(load()) + """
var calls = [];
globalThis.Genesys = function () { calls.push(Array.prototype.slice.call(arguments)); };
var results = {};
function attempt(label, values) {
  try { genesysIdentity.setCustomerContext(values); results[label] = "ok"; }
  catch (e) { results[label] = e.message; }
}
attempt("good", {customerTier: "gold", customerPhone: "+14155550100", lastWebTopic: "password-reset-failed"});
attempt("case", {CustomerTier: "gold"});
attempt("phone", {customerPhone: "415-555-0100"});
attempt("long", {customerTier: "x".repeat(33)});
attempt("flowOnly", {lastAgentId: "a"});
console.log(JSON.stringify({calls: calls, results: results}));
""")
    out = subprocess.run([str(NODE), str(script)], capture_output=True, text=True, check=True, timeout=60)
    report = json.loads(out.stdout)
    assert report["calls"] == [["command", "Database.set", {"messaging": {"customAttributes": {
        "customerTier": "gold", "customerPhone": "+14155550100", "lastWebTopic": "password-reset-failed"}}}]]
    assert report["results"] == {
        "good": "ok",
        "case": "unknown participant attribute 'CustomerTier' (names are case-sensitive)",
        "phone": "participant attribute 'customerPhone' is not a valid e164 value",
        "long": "participant attribute 'customerTier' is longer than 32 characters",
        "flowOnly": "unknown participant attribute 'lastAgentId' (names are case-sensitive)",
    }


# -- the plan shows the catalog -----------------------------------------------------------------------

def test_plan_carries_the_catalog_and_its_artifacts(project_copy: Path) -> None:
    (project_copy / "catalog").mkdir()
    plan = evaluate(project_copy, "dev")
    names = [a["name"] for a in plan.document["participantAttributes"]]
    assert "lastAgentId" in names
    assert set(plan.artifacts) == {"messenger-attributes.js", "participant-attributes.md", "flows/sms.yaml",
                                   "flows/web-messaging.yaml", "flows/outcome-workflow.yaml"}
    before = plan.document["artifacts"]["participant-attributes.md"]

    (project_copy / "catalog" / "dev.yaml").write_text(
        "version: 1\nattributes:\n  - name: lastWebTopic\n    max_length: 200\n")
    stack = project_copy / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  genesys-identity:catalogOverlay: catalog/dev.yaml\n")
    changed = evaluate(project_copy, "dev")
    topic = next(a for a in changed.document["participantAttributes"] if a["name"] == "lastWebTopic")
    assert topic["max_length"] == 200
    assert changed.document["artifacts"]["participant-attributes.md"] != before
    assert changed.document["outputs"]["participantAttributeCatalog"] != plan.document["outputs"]["participantAttributeCatalog"]


def test_overlay_path_must_stay_inside_the_project(project_copy: Path) -> None:
    stack = project_copy / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  genesys-identity:catalogOverlay: ../elsewhere.yaml\n")
    from genesys_identity.errors import GenesysIdentityError

    with pytest.raises(GenesysIdentityError, match="genesys-identity:catalogOverlay must be a project-relative path"):
        evaluate(project_copy, "dev")
