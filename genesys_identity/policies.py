"""The rules of the policy pack (``policy/``), as plain functions over resources, and the pack itself.

Each rule takes the stack's resources as ``Resource`` records (type token, logical name, URN, properties,
aliases) and returns its violations as sentences naming the resource. The properties are what the Pulumi engine
hands a policy pack: a custom resource's outputs (under a preview, its inputs), and a component's *registered
outputs*, which replace whatever the component was constructed with. So the catalog and flows components
register what the rules read as outputs.

``policy/__main__.py`` serves ``pack_policies()`` as pulumi-policy stack validations. ``analyze`` runs the same
pack through pulumi-policy's own gRPC analyzer servicer, started in-process, on engine-shaped resources (the
``AnalyzeStack`` call a real preview makes), which is what ``python -m genesys_identity policy`` and the tests do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FORBIDDEN_PII = frozenset({"secret", "payment"})
PRODUCTION_STACKS = ("prod", "production", "prd", "live")
CANONICAL_FLOW_NAMES = frozenset({"flows-web-messaging", "flows-sms", "flows-outcome-workflow"})

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
    provider: str = ""  # the logical name of the provider resource it goes through ("" when none is known)

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


def kubernetes_through_the_stacks_provider(resources: Sequence[Resource]) -> list[str]:
    return [f"Kubernetes resource {r.name!r} goes through the default provider ({r.provider or 'none named'}): it would "
            "deploy to whatever cluster the current kubeconfig context points at; give it the stack's provider"
            for r in resources
            if r.type.startswith("kubernetes:") and (not r.provider or r.provider.startswith("default"))]


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
    Rule("kubernetes-through-the-stacks-provider", "Kubernetes resources use the stack's explicit provider, never the "
         "ambient kubeconfig context.", kubernetes_through_the_stacks_provider),
)


def stack_validation(rule: Rule) -> Callable[[Any, Callable[[str, str | None], None]], None]:
    """The rule as pulumi-policy's ``validate(args: StackValidationArgs, report_violation)``."""

    def validate(args: Any, report_violation: Callable[[str, str | None], None]) -> None:
        resources = [Resource(r.resource_type, r.name, r.urn, r.props, tuple(getattr(r.opts, "aliases", None) or ()),
                              r.provider.name if getattr(r, "provider", None) else "")
                     for r in args.resources]
        for message in rule.check(resources):
            report_violation(message, None)

    return validate


def evaluate(resources: Sequence[Resource]) -> dict[str, list[str]]:
    """Every rule's violations (an empty list when it passes)."""
    return {rule.name: rule.check(resources) for rule in RULES}


def engine_properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What the engine passes for one plan resource: a custom resource's inputs (its outputs under a preview), a
    component's registered outputs (never its constructor properties)."""
    props: dict[str, Any] = (resource.get("inputs") if resource.get("custom") else resource.get("outputs")) or {}
    return props


def from_plan(document: Mapping[str, Any]) -> list[Resource]:
    """The resources of an offline plan (``plan.json``) as the engine hands them to the pack."""
    return [Resource(r["type"], r["name"], r["urn"], engine_properties(r), tuple(r.get("aliases") or ()),
                     str(r.get("provider") or ""))
            for r in document["resources"]]


PACK_NAME = "genesys-identity"


def pack_policies() -> list[Any]:
    """Every rule as a mandatory pulumi-policy ``StackValidationPolicy``."""
    from pulumi_policy import EnforcementLevel, StackValidationPolicy

    return [StackValidationPolicy(name=rule.name, description=rule.description, validate=stack_validation(rule),
                                  enforcement_level=EnforcementLevel.MANDATORY) for rule in RULES]


def analyzer_resources(document: Mapping[str, Any]) -> list[Any]:
    """The plan's resources as the engine's ``AnalyzerResource`` messages (type, URN, name, properties, parent,
    dependencies, provider)."""
    from google.protobuf import struct_pb2  # type: ignore[import-untyped]
    from pulumi.runtime.proto import analyzer_pb2

    urns = {r["name"]: r["urn"] for r in document["resources"]}
    messages = []
    for r in document["resources"]:
        properties = struct_pb2.Struct()
        properties.update(engine_properties(r))
        provider = None
        if r.get("provider") in urns:
            provider = analyzer_pb2.AnalyzerProviderResource(urn=urns[r["provider"]], name=r["provider"],
                                                             type=urns[r["provider"]].split("::")[-2])
        messages.append(analyzer_pb2.AnalyzerResource(
            type=r["type"], urn=r["urn"], name=r["name"], properties=properties,
            options=analyzer_pb2.AnalyzerResourceOptions(parent=urns.get(r.get("parent", ""), ""),
                                                         aliases=list(r.get("aliases") or ())),
            provider=provider, parent=urns.get(r.get("parent", ""), ""),
            dependencies=[urns[d] for d in r.get("dependsOn", []) if d in urns]))
    return messages


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    mandatory: bool


def analyze(resources: Sequence[Any], policies: Sequence[Any] | None = None) -> list[Violation]:
    """Run the pack as the engine does: pulumi-policy's analyzer servicer on a loopback gRPC server, one
    ``AnalyzeStack`` call with ``resources`` (``AnalyzerResource`` messages)."""
    from concurrent import futures

    import grpc  # type: ignore[import-untyped]
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
    from pulumi_policy import EnforcementLevel
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", list(policies or pack_policies()), EnforcementLevel.MANDATORY)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            response = analyzer_pb2_grpc.AnalyzerStub(channel).AnalyzeStack(
                analyzer_pb2.AnalyzeStackRequest(resources=list(resources)), timeout=60)
    finally:
        server.stop(None)
    return [Violation(d.policyName, d.message.split("\n", 1)[-1], d.enforcementLevel == analyzer_pb2.MANDATORY)
            for d in response.diagnostics]
