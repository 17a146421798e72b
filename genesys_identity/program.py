"""The Pulumi program: from validated settings to components. No config is read here."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_random

from components.data_actions import DataActions, DataActionsArgs
from components.messenger import Messenger, MessengerArgs
from genesys_identity import catalog
from genesys_identity.actions import checks, definitions
from genesys_identity.genesys.binding import GenesysProvider
from genesys_identity.renderers.catalog_artifacts import digest
from genesys_identity.settings import StackSettings


def load_catalog(settings: StackSettings) -> catalog.Catalog:
    """The participant attribute catalog with the stack's overlay, validated."""
    return catalog.load(overlay=settings.catalog_overlay)


def build(settings: StackSettings) -> dict[str, pulumi.Output[Any]]:
    """Declare the stack's resources; return the stack outputs."""
    attributes = load_catalog(settings)
    provider = GenesysProvider("genesyscloud", {"aws_region": settings.region})
    genesys = pulumi.ResourceOptions(providers=[provider])

    messenger = Messenger("messenger", MessengerArgs(
        region=settings.region,
        integration_name=settings.name("Messenger OIDC"),
        integration_type_id=settings.oidc.integration_type_id,
        discovery_uri=settings.oidc.discovery_uri,
        client_id=settings.oidc.client_id,
        client_secret=settings.oidc.client_secret,
        refresh_token_lifetime=settings.oidc.refresh_token_lifetime,
        configuration_name=settings.name("Messenger"),
        deployment_name=settings.name("Web Messaging"),
        allowed_domains=settings.allowed_domains,
        authentication_enabled=settings.authentication_enabled,
        external_source_name=settings.name("CRM"),
        crm_profile_url_template=settings.crm_profile_url_template,
        automerge_web_tracking=settings.automerge_web_tracking,
        division_id=settings.division_id,
    ), genesys)

    actions = definitions.load_all()
    checks.require_valid(actions, attributes)
    # The data actions' caller token: generated once per stack, kept in state as a secret, shared with the
    # stitching service. Rotate: `pulumi up --replace <urn of stitching-caller-token>`.
    caller_token = pulumi_random.RandomPassword("stitching-caller-token", length=48, special=False)
    data_actions = DataActions("data-actions", DataActionsArgs(
        integration_name=settings.name("Identity Stitching"),
        service_url=settings.stitching_service_url,
        caller_token=caller_token.result,
        definitions=actions,
    ), genesys)

    return {
        "dataActionsIntegrationId": data_actions.integration_id,
        "deploymentId": messenger.deployment_id,
        "messengerSnippet": messenger.snippet,
        "configurationVersion": messenger.configuration_version,
        "externalSourceId": messenger.external_source_id,
        # A change to any participant attribute shows in `pulumi preview` as a changed output.
        "participantAttributeCatalog": pulumi.Output.from_input(digest(attributes)),
    }
