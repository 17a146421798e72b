"""The real program under Pulumi's mocks: the resource graph a `pulumi up` would register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genesys_identity.catalog import load
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.plan import MASK, Plan, evaluate
from genesys_identity.renderers.catalog_artifacts import digest


def by_name(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in plan.resources}


def test_resources_use_the_bridged_type_tokens(dev_plan: Plan) -> None:
    types = {name: r["type"] for name, r in by_name(dev_plan).items()}
    assert types == {
        "genesyscloud": "pulumi:providers:genesyscloud",
        "messenger": "genesys-identity:messenger:Messenger",
        "messenger-oidc-credential": "genesyscloud:index/integrationCredential:IntegrationCredential",
        "messenger-oidc": "genesyscloud:index/integration:Integration",
        "messenger-configuration": "genesyscloud:index/webdeploymentsConfiguration:WebdeploymentsConfiguration",
        "messenger-deployment": "genesyscloud:index/webdeploymentsDeployment:WebdeploymentsDeployment",
        "messenger-crm-source": "genesyscloud:index/externalcontactsExternalSource:ExternalcontactsExternalSource",
        "messenger-identity-resolution": "pulumi-python:dynamic/genesys:WebDeploymentIdentityResolution",
        "stitching-caller-token": "random:index/randomPassword:RandomPassword",
        "data-actions": "genesys-identity:dataActions:DataActions",
        "data-actions-credential": "genesyscloud:index/integrationCredential:IntegrationCredential",
        "data-actions-integration": "genesyscloud:index/integration:Integration",
        "data-actions-stitch-identity": "genesyscloud:index/integrationAction:IntegrationAction",
        "data-actions-get-last-interaction-context": "genesyscloud:index/integrationAction:IntegrationAction",
        "data-actions-record-interaction-outcome": "genesyscloud:index/integrationAction:IntegrationAction",
        "data-actions-end-web-session": "genesyscloud:index/integrationAction:IntegrationAction",
        "participant-attributes": "genesys-identity:catalog:ParticipantAttributes",
        "queues": "genesys-identity:queues:Queues",
        "queues-web": "genesyscloud:index/routingQueue:RoutingQueue",
        "queues-sms": "genesyscloud:index/routingQueue:RoutingQueue",
        "flows": "genesys-identity:flows:Flows",
        "flows-web-messaging": "genesyscloud:index/flow:Flow",
        "flows-sms": "genesyscloud:index/flow:Flow",
        "flows-outcome-workflow": "genesyscloud:index/flow:Flow",
        "outcomes": "genesys-identity:outcomes:OutcomeTrigger",
        "outcomes-trigger": "genesyscloud:index/processautomationTrigger:ProcessautomationTrigger",
        "sms-routing": "genesys-identity:smsRouting:SmsRouting",
        "sms-routing-13175550100": "pulumi-python:dynamic/genesys:MessageRouting",
        "sms-routing-13175550100-identity-resolution":
            "pulumi-python:dynamic/genesys:SmsIdentityResolution",
    }


def test_every_genesys_resource_goes_through_the_stack_provider(dev_plan: Plan) -> None:
    resources = by_name(dev_plan)
    assert resources["genesyscloud"]["inputs"] == {"awsRegion": "us-east-1"}
    genesys = [r for r in dev_plan.resources if r["type"].startswith("genesyscloud:")]
    assert genesys and all(r["provider"] == "genesyscloud" for r in genesys)
    assert {r["parent"] for r in genesys} == {"messenger", "data-actions", "queues", "flows", "outcomes"}


def test_configuration_enables_oidc_authentication_with_bridged_names(dev_plan: Plan) -> None:
    configuration = by_name(dev_plan)["messenger-configuration"]
    assert configuration["inputs"]["authenticationSettings"] == {
        "enabled": True, "integrationId": "(id of messenger-oidc)", "allowSessionUpgrade": True,
    }
    assert configuration["inputs"]["defaultLanguage"] == "en-us"
    assert configuration["dependsOn"] == ["messenger-oidc"]


def test_deployment_takes_the_allowed_domains_and_configuration_version(dev_plan: Plan) -> None:
    deployment = by_name(dev_plan)["messenger-deployment"]["inputs"]
    assert deployment["allowedDomains"] == ["www.dev.acme-support.example", "app.dev.acme-support.example"]
    assert deployment["configuration"] == {
        "id": "(id of messenger-configuration)", "version": "(version of messenger-configuration)",
    }


def test_identity_resolution_is_ordered_after_configuration_and_deployment(dev_plan: Plan) -> None:
    resolution = by_name(dev_plan)["messenger-identity-resolution"]
    assert {"messenger-configuration", "messenger-deployment"} <= set(resolution["dependsOn"])
    assert resolution["inputs"] == {
        "region": "us-east-1",
        "deployment_id": "(id of messenger-deployment)",
        "resolve_identities": True,
        "external_source_id": "(id of messenger-crm-source)",
        "automerge_authenticated_web_messaging": True,
        "automerge_web_tracking": False,
    }


def test_client_credentials_are_secret_everywhere(dev_plan: Plan) -> None:
    credential = by_name(dev_plan)["messenger-oidc-credential"]
    assert credential["inputs"]["fields"] == MASK
    assert dev_plan.document["settings"]["genesys-identity:oidcClientSecret"] == MASK
    assert "offline-plan-placeholder" not in dev_plan.to_json()


def test_oidc_integration_carries_discovery_uri_and_token_lifetime(dev_plan: Plan) -> None:
    config = by_name(dev_plan)["messenger-oidc"]["inputs"]["config"]
    assert '"discoveryUri": "https://login.dev.acme-support.example/.well-known/openid-configuration"' in config["properties"]
    assert '"maxRefreshTokenLifetimeSeconds": 2592000' in config["properties"]
    assert config["credentials"] == {"oauthClient": "(id of messenger-oidc-credential)"}


def test_outputs_are_deployment_snippet_and_configuration_version(dev_plan: Plan) -> None:
    assert dev_plan.document["outputs"] == {
        "configurationVersion": "(version of messenger-configuration)",
        "dataActionsIntegrationId": "(id of data-actions-integration)",
        "deploymentId": "(id of messenger-deployment)",
        "externalSourceId": "(id of messenger-crm-source)",
        "smsFlowId": "(id of flows-sms)",
        "outcomeWorkflowId": "(id of flows-outcome-workflow)",
        "stitchingCallerToken": MASK,
        "stitchingServiceUrl": "https://stitching.dev.acme-support.example",
        "webMessagingFlowId": "(id of flows-web-messaging)",
        "messengerSnippet": "(snippet of messenger-deployment)",
        "participantAttributeCatalog": digest(load()),
    }


def set_key(root: Path, key: str, value: str) -> None:
    path = root / "Pulumi.dev.yaml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"  genesys-identity:{key}:")]
    lines.append(f"  genesys-identity:{key}: {value}")
    path.write_text("\n".join(lines) + "\n")


def test_without_authentication_there_is_no_automerge(project_copy: Path) -> None:
    set_key(project_copy, "authenticationEnabled", "false")
    plan = evaluate(project_copy, "dev")
    resources = by_name(plan)
    assert resources["messenger-identity-resolution"]["inputs"]["automerge_authenticated_web_messaging"] is False
    assert resources["messenger-configuration"]["inputs"]["authenticationSettings"]["enabled"] is False


def test_broken_stack_setting_stops_the_program_with_one_line(project_copy: Path) -> None:
    set_key(project_copy, "oidcDiscoveryUri", "http://login.example/.well-known/openid-configuration")
    with pytest.raises(GenesysIdentityError) as caught:
        evaluate(project_copy, "dev")
    assert str(caught.value).startswith("Pulumi.dev.yaml: genesys-identity:oidcDiscoveryUri must be an https URL")
