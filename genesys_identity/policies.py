"""The rules of the policy pack (``policy/``), as plain functions over resources: tested without the engine.

Each rule takes the stack's resources as ``Resource`` records (type token, logical name, URN, properties,
aliases) and returns its violations as sentences naming the resource. ``policy/__main__.py`` wraps them as
pulumi-policy stack validations; the tests run them on resources built to break them and on the dev stack's
offline plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FORBIDDEN_PII = frozenset({"secret", "payment"})
PRODUCTION_STACKS = ("prod", "production", "prd", "live")
CANONICAL_FLOW_NAMES = frozenset({"flows-web-messaging", "flows-sms"})

CONFIGURATION = "genesyscloud:index/webdeploymentsConfiguration:WebdeploymentsConfiguration"
IDENTITY_RESOLUTION = "pulumi-python:dynamic/genesys:WebDeploymentIdentityResolution"
FLOW = "genesyscloud:index/flow:Flow"
FLOWS_COMPONENT = "genesys-identity:flows:Flows"
ACTION = "genesyscloud:index/integrationAction:IntegrationAction"
CATALOG = "genesys-identity:catalog:ParticipantAttributes"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    aliases: Sequence[str] = field(default_factory=tuple)

    @property
    def stack(self) -> str:
        # urn:pulumi:<stack>::<project>::<type chain>::<name>
        return self.urn.split("::")[0].removeprefix("urn:pulumi:")


def _of(resources: Iterable[Resource], token: str) -> list[Resource]:
    return [r for r in resources if r.type == token]


def automerge_requires_authentication(resources: Sequence[Resource]) -> list[str]:
    merging = [r for r in _of(resources, IDENTITY_RESOLUTION) if r.props.get("automerge_authenticated_web_messaging")]
    if not merging:
        return []
    unauthenticated = [c.name for c in _of(resources, CONFIGURATION)
                       if not (c.props.get("authenticationSettings") or {}).get("enabled")]
    return [f"{r.name} automerges web messaging, but Messenger configuration {name} has authentication off: "
            "anonymous visitors could be merged into customers' histories"
            for r in merging for name in unauthenticated]


def no_forbidden_pii_attributes(resources: Sequence[Resource]) -> list[str]:
    return [f"participant attribute {a.get('name')!r} is of PII class {a.get('pii')!r}: attributes are logged and "
            "shown in Genesys, secrets and payment data never go there"
            for catalog in _of(resources, CATALOG) for a in catalog.props.get("attributes") or []
            if a.get("pii") in FORBIDDEN_PII]


def flows_call_declared_data_actions(resources: Sequence[Resource]) -> list[str]:
    declared = {(str(a.props.get("category")), str(a.props.get("name"))) for a in _of(resources, ACTION)}
    return [f"flow {flow.get('name')!r} calls data action {call.get('action')!r} in category {call.get('category')!r}, "
            "which this stack does not declare"
            for component in _of(resources, FLOWS_COMPONENT) for flow in component.props.get("flows") or []
            for call in flow.get("dataActionCalls") or []
            if (str(call.get("category")), str(call.get("action"))) not in declared]


def flows_renamed_with_alias(resources: Sequence[Resource]) -> list[str]:
    return [f"flow resource {r.name!r} is not one of {', '.join(sorted(CANONICAL_FLOW_NAMES))} and has no alias: "
            "renaming it without `aliases` deletes the published flow and creates a new one (new id, SMS numbers "
            "and the web deployment briefly unrouted)"
            for r in _of(resources, FLOW) if r.name not in CANONICAL_FLOW_NAMES and not r.aliases]


def no_force_unlock_in_production(resources: Sequence[Resource], production: Sequence[str] = PRODUCTION_STACKS) -> list[str]:
    return [f"flow {r.name!r} has force_unlock on in production stack {r.stack!r}: it would discard an "
            "Architect user's unsaved work"
            for r in _of(resources, FLOW) if r.props.get("forceUnlock") and r.stack.lower() in production]


def stitching_service_is_https(resources: Sequence[Resource]) -> list[str]:
    return [f"data action {r.props.get('name')!r} calls {str(url).split('/v1/')[0]!r}: the stitching service must be "
            "reached over https"
            for r in _of(resources, ACTION)
            for url in [((r.props.get("configRequest") or {}).get("requestUrlTemplate") or "")]
            if not str(url).startswith("https://")]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[Sequence[Resource]], list[str]]


RULES: tuple[Rule, ...] = (
    Rule("automerge-requires-authentication", "Automerge of web messaging only where Messenger authentication is on.",
         automerge_requires_authentication),
    Rule("no-forbidden-pii-attributes", "No participant attribute of a secret or payment PII class.",
         no_forbidden_pii_attributes),
    Rule("flows-call-declared-data-actions", "Flows only call data actions the stack declares.",
         flows_call_declared_data_actions),
    Rule("flows-renamed-with-alias", "A flow resource is never renamed without an alias.", flows_renamed_with_alias),
    Rule("no-force-unlock-in-production", "force_unlock stays off on production stacks.", no_force_unlock_in_production),
    Rule("stitching-service-https", "The stitching service is called over https.", stitching_service_is_https),
)


def stack_validation(rule: Rule) -> Callable[[Any, Callable[[str, str | None], None]], None]:
    """The rule as pulumi-policy's ``validate(args: StackValidationArgs, report_violation)``."""

    def validate(args: Any, report_violation: Callable[[str, str | None], None]) -> None:
        resources = [Resource(r.resource_type, r.name, r.urn, r.props, tuple(getattr(r.opts, "aliases", None) or ()))
                     for r in args.resources]
        for message in rule.check(resources):
            report_violation(message, None)

    return validate


def evaluate(resources: Sequence[Resource]) -> dict[str, list[str]]:
    """Every rule's violations (an empty list when it passes)."""
    return {rule.name: rule.check(resources) for rule in RULES}


def from_plan(document: Mapping[str, Any]) -> list[Resource]:
    """The resources of an offline plan (``plan.json``) as policy records."""
    return [Resource(r["type"], r["name"], r["urn"], r.get("inputs") or {}) for r in document["resources"]]
