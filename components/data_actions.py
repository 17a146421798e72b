"""The web services data actions that call the stitching service: integration, credential, one resource per action."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from genesys_identity.actions.definitions import INTEGRATION_TYPE, ActionDefinition
from genesys_identity.errors import SchemaViolation
from genesys_identity.genesys.binding import GenesysResource

# Genesys' "User Defined" credential type: the definitions read ``${credentials.token}`` in their headers.
CREDENTIAL_TYPE = "userDefined"
# The ``custom-rest-actions`` integration type has one credential slot, named ``basicAuth`` whatever the
# credential's type (provider 1.84.1 docs/resources/integration.md, docs/guides/custom_auth_action.md, whose
# userDefinedOAuth credential also goes under ``basicAuth``). Any other key leaves the integration without one.
CREDENTIAL_KEY = "basicAuth"


def refuse_secure_calls(definitions: Sequence[ActionDefinition], calls: Mapping[str, Sequence[tuple[str, str]]],
                        category: str) -> None:
    """A flow's plain ``callData`` may only call actions that are not ``secure``.

    Genesys documents secure data actions for the Call Secure Data action of secure call and voice bot flows,
    whose secure variables are write-only (help "Call Secure Data action", "About secure variables"). The
    inbound message flows call these actions with a plain Call Data Action and write the outputs to
    participant data, so a secure action there would not be offered to the flow. ``calls`` maps a flow's
    name to the (category, action) pairs it calls.
    """
    secure = {d.name for d in definitions if d.secure}
    for flow, pairs in sorted(calls.items()):
        for call_category, action in pairs:
            if call_category == category and action in secure:
                raise SchemaViolation(f"data_actions: {action}: secure is true, but flow {flow!r} calls it with a plain "
                                      "callData; secure actions are for Call Secure Data in secure flows: set secure false")


@dataclass(frozen=True)
class DataActionsArgs:
    integration_name: str
    service_url: pulumi.Input[str]
    caller_token: pulumi.Input[str]  # a Pulumi secret shared with the stitching service
    definitions: Sequence[ActionDefinition]


class DataActions(pulumi.ComponentResource):
    """A custom REST integration holding the service's caller token, and each data action on it.

    The integration's name is the actions' ``category``: flows address an action as category + name, so
    both come from here. A contract change replaces the action in Genesys (contracts are immutable after
    publish); the binding marks ``contract_input``/``contract_output`` replace-on-change so previews say so.

    A replaced action is deleted before its successor is created (``delete_before_replace``), the order
    Terraform uses for the provider's ForceNew attributes and the one the provider is built and tested with.
    Pulumi's bridge would otherwise create first (the dynamic bridge sets no ``DeleteBeforeReplace``), leaving
    two actions of one name in one category for a moment: no public source says whether Genesys refuses
    that, and Archy, which finds an action by category and name, could bind a republished flow to the old
    one. The flows that call the action are republished after it (their trigger hashes its id).
    """

    def __init__(self, name: str, args: DataActionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:dataActions:DataActions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.category = args.integration_name

        credential = GenesysResource("genesyscloud_integration_credential", f"{name}-credential", {
            "name": f"{args.integration_name} caller token",
            "credential_type_name": CREDENTIAL_TYPE,
            "fields": {"token": args.caller_token},
        }, child)

        integration = GenesysResource("genesyscloud_integration", f"{name}-integration", {
            "integration_type": INTEGRATION_TYPE,
            "intended_state": "ENABLED",
            "config": {
                "name": args.integration_name,
                "notes": "Managed by Pulumi (genesys-identity): calls the identity stitching service.",
                # What Genesys fills in for a custom-rest-actions integration (public CX-as-Code exports of such
                # integrations carry exactly this): declaring it keeps the next refresh from showing a change.
                "properties": json.dumps({"clientCertificateAuthority": "Genesys Cloud"}),
                "credentials": {CREDENTIAL_KEY: credential.id},
            },
        }, child)

        self.action_ids: dict[str, pulumi.Output[str]] = {}
        # (category, name) -> id: what a flow's callData resolves to when it is published (components/flows.py).
        self.bindings: dict[tuple[str, str], pulumi.Output[str]] = {}
        for definition in args.definitions:
            request = definition.request
            response = definition.response
            url = pulumi.Output.concat(
                pulumi.Output.from_input(args.service_url).apply(lambda base: str(base).rstrip("/")),
                request["requestUrlTemplate"])
            action = GenesysResource("genesyscloud_integration_action", f"{name}-{definition.file.removesuffix('.json')}", {
                "name": definition.name,
                "category": args.integration_name,
                "integration_id": integration.id,
                "secure": definition.secure,
                "config_timeout_seconds": definition.timeout_seconds,
                "contract_input": definition.contract_text("input"),
                "contract_output": definition.contract_text("output"),
                "config_request": {
                    "request_url_template": url,
                    "request_type": request["requestType"],
                    "request_template": request.get("requestTemplate", "${input.rawRequest}"),
                    "headers": dict(request.get("headers") or {}),
                },
                "config_response": {
                    "translation_map": dict(response.get("translationMap") or {}),
                    "translation_map_defaults": dict(response.get("translationMapDefaults") or {}),
                    "success_template": response.get("successTemplate", "${rawResult}"),
                },
            }, pulumi.ResourceOptions(parent=self, depends_on=[integration], delete_before_replace=True))
            self.action_ids[definition.name] = action.id
            self.bindings[(args.integration_name, definition.name)] = action.id

        self.integration_id = integration.id
        self.register_outputs({"integrationId": integration.id, "category": self.category})
