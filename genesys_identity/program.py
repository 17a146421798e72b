"""The Pulumi program: from validated settings to components. No config is read here."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_random

from components.catalog import ParticipantAttributes
from components.data_actions import DataActions, DataActionsArgs, refuse_secure_calls
from components.flows import FlowFile, Flows
from components.messenger import Messenger, MessengerArgs
from components.outcome_workflow import OutcomeTrigger
from components.queues import Membership, Queues, QueueSpec
from components.sms_routing import SmsRouting
from genesys_identity import catalog
from genesys_identity.actions import checks, definitions
from genesys_identity.files import write_atomically
from genesys_identity.flows import check as flow_check
from genesys_identity.flows import render as flow_render
from genesys_identity.genesys.binding import GenesysProvider
from genesys_identity.renderers.catalog_artifacts import digest
from genesys_identity.settings import StackSettings


def load_catalog(settings: StackSettings) -> catalog.Catalog:
    """The participant attribute catalog with the stack's overlay, validated; read again only when a file changed
    (the generator benchmark builds many contact centers from the same files)."""
    overlay = settings.catalog_overlay
    where = overlay.resolve() if overlay is not None else None
    return _catalog(overlay, where, _stamp(catalog.DEFAULT_CATALOG), _stamp(where))


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        status = path.stat() if path is not None else None
    except OSError:
        return None  # catalog.load names the missing file
    return (status.st_mtime_ns, status.st_size) if status is not None else None


@functools.lru_cache(maxsize=8)
def _catalog(overlay: Path | None, where: Path | None, *stamps: tuple[int, int] | None) -> catalog.Catalog:
    return catalog.load(overlay=overlay)  # keyed by the overlay's absolute path and both files' stamps


FLOWS_OUT = Path("build") / "flows"
# A real `pulumi preview/up` writes the rendered flows where the provider reads them (project-relative). The
# offline plan turns this off: it keeps the same text as artifacts beside plan.json and writes nothing else.
WRITE_FLOW_FILES = True


_ACTIONS_CHECKED: set[str] = set()


def _check_actions(actions: list[definitions.ActionDefinition], attributes: catalog.Catalog) -> None:
    """The data action checks are pure: run them once per process for each distinct set of definitions and catalog
    (the generator benchmark builds many contact centers from the same ones)."""
    key = hashlib.sha256(json.dumps([[a.file, a.document] for a in actions], sort_keys=True, default=str).encode()
                         + digest(attributes).encode()).hexdigest()
    if key not in _ACTIONS_CHECKED:
        checks.require_valid(actions, attributes)
        _ACTIONS_CHECKED.add(key)


def rendered_flows(settings: StackSettings, attributes: catalog.Catalog,
                   actions: list[definitions.ActionDefinition]) -> list[flow_render.RenderedFlow]:
    """Render the flows and run the checker on them: a flow that fails a check is never written or published."""
    flows = flow_render.render(settings, attributes, actions)
    queues = (settings.queues.web, settings.queues.sms)
    category = settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE)
    # Every render (message flows and the workflow): Archy conformance, then the project's policies.
    flow_check.require_valid(flow_check.check_rendered(flows, actions=actions, category=category,
                                                       catalog=attributes, queues=queues))
    return flows


def build(settings: StackSettings, scope: str = "") -> dict[str, pulumi.Output[Any]]:
    """Declare the stack's resources; return the stack outputs.

    ``scope`` prefixes every logical name: the generator benchmark declares many contact centers in one stack.
    """
    attributes = load_catalog(settings)
    actions = definitions.load_all()
    _check_actions(actions, attributes)
    flows = rendered_flows(settings, attributes, actions)
    ParticipantAttributes(f"{scope}participant-attributes", attributes)
    provider = GenesysProvider(f"{scope}genesyscloud", {"aws_region": settings.region})
    genesys = pulumi.ResourceOptions(providers=[provider])

    # The data actions' caller token: generated once per stack, kept in state as a secret, shared with the
    # stitching service. Rotate: `pulumi up --replace <urn of stitching-caller-token>`.
    caller_token = pulumi_random.RandomPassword(f"{scope}stitching-caller-token", length=48, special=False)
    service_url: pulumi.Input[str] = settings.stitching_service_url
    service_outputs: dict[str, pulumi.Output[Any]] = {}
    if settings.service.target == "kubernetes":
        # Imported here: the Kubernetes SDK is large, and external stacks never need it.
        from components.stitching_service import StitchingService, StitchingServiceArgs

        # The website backend's / CRM sync's enrollment credential for the deployed service, distinct from the
        # caller token: `pulumi stack output --show-secrets stitchingEnrollmentToken`.
        enrollment_token = pulumi_random.RandomPassword(f"{scope}stitching-enrollment-token", length=48, special=False)
        service_outputs["stitchingEnrollmentToken"] = pulumi.Output.secret(enrollment_token.result)

        service = StitchingService(f"{scope}stitching", StitchingServiceArgs(
            deployment=settings.service,
            public_url=settings.stitching_service_url,
            caller_token=caller_token.result,
            context_window=settings.last_agent_window,
            session_timeout=settings.web_session_timeout,
            trust_email_claim=settings.trust_email_claim,
            instance=settings.stack,
            enrollment_token=enrollment_token.result,
        ))
        service_url = service.url
    data_actions = DataActions(f"{scope}data-actions", DataActionsArgs(
        integration_name=settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE),
        service_url=service_url,
        caller_token=caller_token.result,
        definitions=actions,
    ), genesys)

    queues = Queues(f"{scope}queues", [
        QueueSpec("web", settings.queues.web, "Web messaging customers (managed by Pulumi).", "AnyAgent"),
        QueueSpec("sms", settings.queues.sms, "SMS customers; the SMS flow prefers the last agent (managed by Pulumi).",
                  "Disabled"),
    ], settings.division_id, genesys,
        membership=Membership(user_ids=settings.agent_user_ids, group_ids=settings.agent_group_ids))

    files = []
    for flow in flows:
        path = FLOWS_OUT / settings.stack / f"{scope}{flow.spec.output}"
        if WRITE_FLOW_FILES:
            write_atomically(path, flow.text)
        files.append(FlowFile(flow.spec.output.removesuffix(".yaml"), flow.name, path.as_posix(), flow.digest,
                              tuple(flow_check.data_action_calls(flow.text))))
    # Plain callData cannot call secure actions (those are for Call Secure Data in secure flows).
    refuse_secure_calls(actions, {f.name: f.data_action_calls for f in files},
                        settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE))
    # A flow is published after the queues and data actions it names exist.
    published = Flows(f"{scope}flows", files, settings.force_unlock_flows, depends_on=[queues, data_actions], opts=genesys,
                      action_ids=data_actions.bindings)

    messenger = Messenger(f"{scope}messenger", MessengerArgs(
        region=settings.region,
        integration_name=settings.name("Messenger OIDC"),
        integration_type_id=settings.oidc.integration_type_id,
        integration_schema=settings.oidc.schema,
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
        flow_id=published.ids["web-messaging"],
    ), genesys)

    SmsRouting(f"{scope}sms-routing", region=settings.region, numbers=settings.sms_numbers,
               flow_id=published.ids["sms"], division_id=settings.division_id, opts=genesys)
    # Genesys records each message conversation's agent, queue and wrap-up: the trigger starts the outcome workflow.
    OutcomeTrigger(f"{scope}outcomes", settings.name("Interaction Outcomes"), published.ids["outcome-workflow"], opts=genesys)

    return {
        "dataActionsIntegrationId": data_actions.integration_id,
        "stitchingServiceUrl": pulumi.Output.from_input(service_url),
        # For an external service: `pulumi stack output --show-secrets stitchingCallerToken`.
        "stitchingCallerToken": pulumi.Output.secret(caller_token.result),
        "webMessagingFlowId": published.ids["web-messaging"],
        "smsFlowId": published.ids["sms"],
        "outcomeWorkflowId": published.ids["outcome-workflow"],
        "deploymentId": messenger.deployment_id,
        "messengerSnippet": messenger.snippet,
        "configurationVersion": messenger.configuration_version,
        "externalSourceId": messenger.external_source_id,
        # A change to any participant attribute shows in `pulumi preview` as a changed output.
        "participantAttributeCatalog": pulumi.Output.from_input(digest(attributes)),
        **service_outputs,
    }
