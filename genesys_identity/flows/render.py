"""Render the Architect flows (``flows/*.yaml.j2``) for a stack: pure, settings and sources of truth in, text out.

Templates see only what comes from a source of truth: the stack's settings (names, queues, window), the
participant attribute catalog (``attr.<name>``, an unknown name stops the render) and the data action
definitions (``action("Stitch Identity")``, whose ``inputs``/``outputs`` helpers write every contract field
and refuse a field the contract lacks). Jinja runs with StrictUndefined; a template error names the template.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from genesys_identity.actions.definitions import ActionDefinition
from genesys_identity.catalog import Catalog
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.flows.sms_text import topic_budget
from genesys_identity.settings import StackSettings

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
DATA_ACTIONS_INTEGRATION_ROLE = "Identity Stitching"

# Architect expressions the templates use, in one place.
# Web messaging (help "Authenticated web messaging attributes", ?p=257026): Message.IsAuthenticated (Boolean) says
# whether the session is authenticated; only then does senderAddressInfo carry the OIDC `sub` claim
# (addressDisplayable) and the `email` claim (email).
WEB_AUTHENTICATED = "Message.IsAuthenticated"
WEB_SUBJECT = "Message.Message.senderAddressInfo.addressDisplayable"
WEB_EMAIL_CLAIM = "Message.Message.senderAddressInfo.email"
# SMS: the sender's number. A real SMS flow export reads it as Message.Message.senderAddress
# (GenesysCloudBlueprints/automatic-offer-callback-for-disconnected-call `exports/SMS Schedule Callback.i3InboundMessage`:
# sysref "__MESSAGE_MESSAGE__.senderAddress", type str; help "Use the String Builder" names it too). The Address
# model's addressNormalized has no public evidence as an Architect builtin, so it is not used.
SMS_SENDER = "Message.Message.senderAddress"
CONVERSATION_ID = "Message.ConversationId"
# The outcome workflow's inputs: fields of the AfterCallWorkEvent (topic v2.detail.events.conversation.{id}.acw;
# purecloudplatformclientv2 AcwDetailEventTopicAfterCallWorkEvent) that the trigger's TopLevelPrimitives data format
# passes as input variables of the same names.
OUTCOME_WORKFLOW_INPUTS = ("conversationId", "userId", "queueId", "wrapupCode")


class FlowRenderError(GenesysIdentityError):
    """A flow template cannot be rendered (unknown name, syntax); the message names the template."""


@dataclass(frozen=True)
class FlowSpec:
    template: str  # file under flows/
    output: str  # rendered file name
    role: str  # the flow's name is "<prefix> <role>"
    flow_type: str = "inboundShortMessage"  # the Archy document's top-level key


FLOWS = (
    FlowSpec("web-messaging.yaml.j2", "web-messaging.yaml", "Web Messaging Inbound"),
    FlowSpec("sms.yaml.j2", "sms.yaml", "SMS Inbound"),
    # Started by a process automation trigger when an agent's after-call work ends (components/outcome_workflow.py).
    FlowSpec("outcome-workflow.yaml.j2", "outcome-workflow.yaml", "Interaction Outcome Workflow", "workflow"),
)


@dataclass(frozen=True)
class RenderedFlow:
    spec: FlowSpec
    name: str
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


class ActionRef:
    """A data action as a template sees it: its category and name, and YAML for its inputs and outputs."""

    def __init__(self, definition: ActionDefinition, category: str) -> None:
        self.definition = definition
        self.category = category
        self.name = definition.name
        self.timeout_seconds = definition.timeout_seconds
        # The callData's own timeout: one second shorter than the action's timeoutSeconds. The action fails
        # (Failure path) when its request outlives timeoutSeconds; the flow takes the Timeout path when the
        # call outlives the callData timeout. Only a shorter callData timeout lets the Timeout path run.
        self.flow_timeout_seconds = max(1, definition.timeout_seconds - 1)
        self.input_names = tuple(definition.input_schema.get("properties", {}))
        self.output_types = {k: v.get("type") for k, v in definition.output_schema.get("properties", {}).items()}

    def inputs(self, bindings: Mapping[str, str]) -> str:
        """YAML of every input: bound ones with their value form, the rest ``noValue``."""
        unknown = sorted(set(bindings) - set(self.input_names))
        if unknown:
            raise jinja2.TemplateRuntimeError(f"{self.name} has no input {', '.join(unknown)}")
        return _yaml_map({name: bindings.get(name, "noValue: true") for name in self.input_names})

    def outputs(self, bindings: Mapping[str, str]) -> str:
        """YAML of every success output: bound ones to their variable, the rest ``noValue``."""
        unknown = sorted(set(bindings) - set(self.output_types))
        if unknown:
            raise jinja2.TemplateRuntimeError(f"{self.name} has no output {', '.join(unknown)}")
        return _yaml_map({name: f"var: {bindings[name]}" if name in bindings else "noValue: true"
                          for name in self.output_types})


def _yaml_map(entries: Mapping[str, str]) -> str:
    return "\n".join(f"{json.dumps(name)}:\n  {form}" for name, form in entries.items())


def _quoted(value: Any) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's); an undefined name stops the render."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming what is missing
    return json.dumps(value, ensure_ascii=False)


def lit(value: Any) -> str:
    return f"lit: {_quoted(value)}"


def exp(expression: str) -> str:
    return f"exp: {_quoted(expression)}"


@functools.lru_cache(maxsize=16)  # compiled templates are reused across renders (Jinja reloads changed files)
def environment(directory: Path = FLOWS_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        autoescape=False, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["yq"] = _quoted
    env.globals.update(lit=lit, exp=exp, topic_budget=topic_budget)
    return env


def context(settings: StackSettings, attributes: Catalog, actions: list[ActionDefinition]) -> dict[str, Any]:
    category = settings.name(DATA_ACTIONS_INTEGRATION_ROLE)
    refs = {d.name: ActionRef(d, category) for d in actions}

    def action(name: str) -> ActionRef:
        if name not in refs:
            raise jinja2.TemplateRuntimeError(f"no data action named {name!r} in data_actions/")
        return refs[name]

    issuer = settings.oidc.discovery_uri.removesuffix("/.well-known/openid-configuration")
    return {
        "stack": {
            "web_queue": settings.queues.web,
            "sms_queue": settings.queues.sms,
            "window_minutes": int(settings.last_agent_window.total_seconds() // 60),
            "authentication_enabled": settings.authentication_enabled,
            "oidc_issuer": issuer,
            "trust_email_claim": settings.trust_email_claim,
        },
        "attr": {a.name: a.name for a in attributes.attributes},
        "website_attributes": [a.name for a in attributes.attributes if a.source == "messenger_database"],
        "action": action,
        "workflow_inputs": OUTCOME_WORKFLOW_INPUTS,
        "expr": {"web_authenticated": WEB_AUTHENTICATED, "web_subject": WEB_SUBJECT, "web_email_claim": WEB_EMAIL_CLAIM,
                 "sms_sender": SMS_SENDER, "conversation": CONVERSATION_ID},
    }


def render(settings: StackSettings, attributes: Catalog, actions: list[ActionDefinition],
           directory: Path = FLOWS_DIR) -> list[RenderedFlow]:
    env = environment(directory)
    base = context(settings, attributes, actions)
    rendered = []
    for spec in FLOWS:
        name = settings.name(spec.role)
        try:
            text = env.get_template(spec.template).render(**base, flow={"name": name, "division": settings.division_name})
        except jinja2.TemplateNotFound:
            raise FlowRenderError(f"flows/{spec.template}: template not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise FlowRenderError(f"flows/{spec.template}:{exc.lineno}: {exc.message}") from None
        except (jinja2.UndefinedError, jinja2.TemplateRuntimeError) as exc:
            raise FlowRenderError(f"flows/{spec.template}: {exc}") from None
        rendered.append(RenderedFlow(spec, name, text))
    return rendered
