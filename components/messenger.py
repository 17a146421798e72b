"""The authenticated Messenger: OIDC integration, web deployment, CRM external source, identity resolution."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pulumi

from genesys_identity.genesys.binding import GenesysResource
from genesys_identity.genesys.dynamic import WebDeploymentIdentityResolution
from genesys_identity.settings import OidcIntegrationSchema, Secret

MESSENGER_LANGUAGE = "en-us"


@dataclass(frozen=True)
class MessengerArgs:
    region: str
    integration_name: str
    integration_type_id: str
    # The "OpenID Connect Messenger Configuration" type's property keys, credential slot, credential type and
    # fields: no public source gives them; `python -m genesys_identity genesys discover` reads them from the org.
    integration_schema: OidcIntegrationSchema
    discovery_uri: str
    client_id: str
    client_secret: Secret = field(repr=False)
    refresh_token_lifetime: timedelta
    configuration_name: str
    deployment_name: str
    allowed_domains: Sequence[str]
    authentication_enabled: bool
    external_source_name: str
    crm_profile_url_template: str | None
    automerge_web_tracking: bool = False
    division_id: str | None = None
    flow_id: pulumi.Input[str] | None = None  # the web messaging inbound message flow, once flows exist


class Messenger(pulumi.ComponentResource):
    """Web messaging with OpenID Connect authentication and identity resolution.

    Identity resolution automerges authenticated web messaging only when authentication is enabled (Genesys
    refuses it otherwise) and is ordered after the configuration and the deployment.
    """

    def __init__(self, name: str, args: MessengerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:messenger:Messenger", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        schema = args.integration_schema

        credential = GenesysResource("genesyscloud_integration_credential", f"{name}-oidc-credential", {
            "name": f"{args.integration_name} client",
            "credential_type_name": schema.credential_type,
            "fields": {schema.client_id_field: args.client_id, schema.client_secret_field: args.client_secret.reveal()},
        }, child)

        integration = GenesysResource("genesyscloud_integration", f"{name}-oidc", {
            "integration_type": args.integration_type_id,
            "intended_state": "ENABLED",
            "config": {
                "name": args.integration_name,
                "notes": "Managed by Pulumi (genesys-identity): Messenger authentication.",
                "properties": json.dumps({
                    schema.discovery_uri_property: args.discovery_uri,
                    schema.refresh_token_lifetime_property: int(args.refresh_token_lifetime.total_seconds()),
                }, sort_keys=True),
                "credentials": {schema.credential_slot: credential.id},
            },
        }, child)

        configuration = GenesysResource("genesyscloud_webdeployments_configuration", f"{name}-configuration", {
            "name": args.configuration_name,
            "description": "Authenticated Messenger with identity resolution (managed by Pulumi).",
            "default_language": MESSENGER_LANGUAGE,
            "languages": [MESSENGER_LANGUAGE],
            "authentication_settings": {
                "enabled": args.authentication_enabled,
                "integration_id": integration.id,
                "allow_session_upgrade": True,
            },
            "messenger": {
                "enabled": True,
                "apps": {"conversations": {
                    "enabled": True,
                    "show_agent_typing_indicator": True,
                    "show_user_typing_indicator": True,
                }},
            },
            "journey_events": {"enabled": args.automerge_web_tracking},
        }, child)

        deployment = GenesysResource("genesyscloud_webdeployments_deployment", f"{name}-deployment", {
            "name": args.deployment_name,
            "description": "Web messaging deployment (managed by Pulumi).",
            "allowed_domains": list(args.allowed_domains),
            "flow_id": args.flow_id,
            "configuration": {"id": configuration.id, "version": configuration.output("version")},
        }, child)

        link = {"uri_template": args.crm_profile_url_template} if args.crm_profile_url_template else None
        external_source = GenesysResource("genesyscloud_externalcontacts_external_source", f"{name}-crm-source", {
            "name": args.external_source_name,
            "active": True,
            "link_configuration": link,
        }, child)

        identity_resolution = WebDeploymentIdentityResolution(
            f"{name}-identity-resolution",
            region=args.region,
            deployment_id=deployment.id,
            division_id=args.division_id,
            resolve_identities=True,
            external_source_id=external_source.id,
            automerge_authenticated_web_messaging=args.authentication_enabled,
            automerge_web_tracking=args.automerge_web_tracking,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[configuration, deployment]),
        )

        self.integration_id: pulumi.Output[str] = integration.id
        self.configuration_id: pulumi.Output[str] = configuration.id
        self.configuration_version: pulumi.Output[str] = configuration.output("version")
        self.deployment_id: pulumi.Output[str] = deployment.id
        self.snippet: pulumi.Output[str] = deployment.output("snippet")
        self.external_source_id: pulumi.Output[str] = external_source.id
        self.identity_resolution_id: pulumi.Output[str] = identity_resolution.id
        self.register_outputs({
            "deploymentId": self.deployment_id,
            "snippet": self.snippet,
            "configurationVersion": self.configuration_version,
        })
