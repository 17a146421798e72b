"""The bundled stitching service on Kubernetes.

An explicit provider per stack (the stack's kubeconfig context, never the ambient one), the namespace (or an
existing one), a Secret mounted as files, the Deployment, Service, Ingress (only ``/v1``), PodDisruptionBudget,
HorizontalPodAutoscaler, a NetworkPolicy (in: the ingress controller, and Prometheus when set; out: DNS, the
database, Genesys over https) and metrics scraping (annotations, and an optional ServiceMonitor).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from genesys_identity.settings import ServiceDeployment

PORT = 8080
RUN_AS = 10001  # the image's non-root user
SECRETS_DIR = "/var/run/secrets/stitching"  # the Secret's keys, one file each (STITCHING_*_FILE)
DEFAULT_DATABASE_PORT = 5432
REQUESTS = {"cpu": "100m", "memory": "128Mi"}
LIMITS = {"cpu": "1", "memory": "512Mi"}


@dataclass(frozen=True)
class StitchingServiceArgs:
    deployment: ServiceDeployment
    public_url: str  # https URL the data actions call; its host is the Ingress host
    caller_token: pulumi.Input[str] = field(repr=False)
    context_window: timedelta = timedelta(hours=2)
    session_timeout: timedelta = timedelta(minutes=30)
    instance: str = "dev"  # the stack, as a label
    # The stack's trustEmailClaim: the web flow then sends the email claim as verified, and the service accepts it.
    trust_email_claim: bool = False
    # The enrollment credential of the website backend / CRM sync (distinct from the caller token; None: enrollment off).
    enrollment_token: pulumi.Input[str] | None = field(default=None, repr=False)


def _spec(value: dict[str, Any]) -> Any:
    """A Kubernetes object literal, typed loosely on purpose (the SDK's TypedDicts are checked by the provider)."""
    return value


def _duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


class StitchingService(pulumi.ComponentResource):
    """Deploys the service image from the stack's settings; ``url`` is what the data actions call.

    Several replicas need PostgreSQL (the settings refuse SQLite with more than one); with SQLite the one
    replica keeps its file on a persistent volume and is replaced with ``Recreate``, never two at once.
    """

    def __init__(self, name: str, args: StitchingServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("genesys-identity:stitchingService:StitchingService", name, None, opts)
        spec = args.deployment
        assert spec.target == "kubernetes" and spec.image and spec.database_url is not None and spec.kube_context
        # The stack's own cluster: a named context (and file), so `pulumi up` of prod never lands in the cluster
        # the shell's current context happens to point at. Every Kubernetes resource below uses this provider.
        provider_args: dict[str, Any] = {"context": spec.kube_context}
        if spec.kubeconfig:
            provider_args["kubeconfig"] = spec.kubeconfig
        self.provider = k8s.Provider(f"{name}-cluster", **provider_args, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        labels = {"app.kubernetes.io/name": "stitching", "app.kubernetes.io/part-of": "genesys-identity",
                  "app.kubernetes.io/instance": args.instance}
        selector = {"app.kubernetes.io/name": "stitching", "app.kubernetes.io/instance": args.instance}

        ns = spec.namespace
        if spec.create_namespace:
            namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": ns, "labels": labels}, opts=child)
            child = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[namespace])
        def _meta(object_name: str) -> Any:
            return {"name": object_name, "namespace": ns, "labels": labels}

        token = pulumi.Output.secret(args.caller_token)
        database_url = pulumi.Output.secret(spec.database_url.reveal())
        secret_data: dict[str, Any] = {"api-token": token, "database-url": database_url}
        if args.enrollment_token is not None:
            secret_data["enrollment-token"] = pulumi.Output.secret(args.enrollment_token)
        secret = k8s.core.v1.Secret(f"{name}-secret", metadata=_meta("stitching"),
                                    type="Opaque", string_data=_spec(secret_data), opts=child)
        # Pods roll when the token or the database URL changes (the digest of both is not secret: the token's
        # 48 random characters make it impossible to invert).
        revision = pulumi.Output.unsecret(pulumi.Output.all(*secret_data.values()).apply(
            lambda parts: hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:16]))

        # The secrets reach the process as read-only files (STITCHING_API_TOKEN_FILE, STITCHING_DATABASE_URL_FILE),
        # never as environment variables that a crash dump or `kubectl describe` could show.
        volumes: list[dict[str, Any]] = [
            {"name": "tmp", "emptyDir": {}},
            {"name": "secrets", "secret": {"secretName": "stitching", "defaultMode": 0o440}},
        ]
        if spec.uses_sqlite:
            claim = k8s.core.v1.PersistentVolumeClaim(f"{name}-data", metadata=_meta("stitching-data"),
                                                      spec=_spec({"accessModes": ["ReadWriteOnce"],
                                                            "resources": {"requests": {"storage": "1Gi"}}}), opts=child)
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": "stitching-data"}})
            child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[claim]))
        else:
            volumes.append({"name": "data", "emptyDir": {}})

        probe = {"port": PORT}
        container = {
            "name": "stitching",
            "image": spec.image,
            "args": ["serve", "--host", "0.0.0.0", "--port", str(PORT)],
            "ports": [{"name": "http", "containerPort": PORT}],
            "env": [
                {"name": "STITCHING_API_TOKEN_FILE", "value": f"{SECRETS_DIR}/api-token"},
                {"name": "STITCHING_DATABASE_URL_FILE", "value": f"{SECRETS_DIR}/database-url"},
                *([{"name": "STITCHING_ENROLLMENT_TOKEN_FILE", "value": f"{SECRETS_DIR}/enrollment-token"}]
                  if args.enrollment_token is not None else []),
                {"name": "STITCHING_DEFAULT_REGION", "value": spec.default_phone_region},
                {"name": "STITCHING_CONTEXT_WINDOW", "value": _duration(args.context_window)},
                {"name": "STITCHING_SESSION_TIMEOUT", "value": _duration(args.session_timeout)},
                {"name": "STITCHING_TRUST_EMAIL_CLAIM", "value": "true" if args.trust_email_claim else "false"},
                {"name": "STITCHING_DB_POOL_SIZE", "value": "10"},
            ],
            "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 10, "failureThreshold": 3},
            "startupProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 2, "failureThreshold": 30},
            "resources": {"requests": REQUESTS, "limits": LIMITS},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"},
                             {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}],
        }
        strategy = ({"type": "Recreate"} if spec.uses_sqlite else
                    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
        deployment = k8s.apps.v1.Deployment(f"{name}-deployment", metadata=_meta("stitching"), spec=_spec({
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    "genesys-identity/secret-revision": revision,
                    # Prometheus' conventional pod annotations: /metrics is served unauthenticated on the pod port
                    # (the Ingress does not expose it; the NetworkPolicy lets only the monitoring namespace in).
                    "prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics",
                }},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                   "whenUnsatisfiable": "ScheduleAnyway",
                                                   "labelSelector": {"matchLabels": selector}}],
                    "terminationGracePeriodSeconds": 20,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        }), opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[secret])))

        service = k8s.core.v1.Service(f"{name}-service", metadata=_meta("stitching"),
                                      spec=_spec({"selector": selector,
                                                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}),
                                      opts=child)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=_meta("stitching"),
                                          spec=_spec({"maxUnavailable": 1, "selector": {"matchLabels": selector}}), opts=child)
        if spec.max_replicas > spec.replicas:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-hpa", metadata=_meta("stitching"), spec=_spec({
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stitching"},
                "minReplicas": spec.replicas,
                "maxReplicas": spec.max_replicas,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                              "target": {"type": "Utilization", "averageUtilization": 70}}}],
            }), opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])))
        if spec.ingress:
            host = urlsplit(args.public_url).hostname
            ingress_spec: dict[str, Any] = {
                "tls": [{"hosts": [host], "secretName": spec.tls_secret}],
                # Only the API the data actions call; health and metrics stay inside the cluster.
                "rules": [{"host": host, "http": {"paths": [{"path": "/v1", "pathType": "Prefix", "backend": {
                    "service": {"name": "stitching", "port": {"name": "http"}}}}]}}],
            }
            if spec.ingress_class:
                ingress_spec["ingressClassName"] = spec.ingress_class
            k8s.networking.v1.Ingress(f"{name}-ingress", metadata=_meta("stitching"),
                                      spec=_spec(ingress_spec),
                                      opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[service])))

        self._network_policy(name, spec, selector, _meta("stitching"), child)
        if spec.service_monitor:
            k8s.apiextensions.CustomResource(f"{name}-service-monitor", api_version="monitoring.coreos.com/v1",
                                             kind="ServiceMonitor", metadata=_meta("stitching"), spec=_spec({
                                                 "selector": {"matchLabels": selector},
                                                 "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
                                             }), opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                                                 depends_on=[service])))

        # The URL is only handed on once the Deployment exists, so the data actions follow what was deployed.
        self.url: pulumi.Output[str] = pulumi.Output.all(deployment.id, service.id).apply(lambda _: args.public_url)
        self.register_outputs({"url": self.url})

    @staticmethod
    def _network_policy(name: str, spec: ServiceDeployment, selector: dict[str, str], metadata: Any,
                        opts: pulumi.ResourceOptions) -> None:
        """In: the ingress controller's namespace (and the monitoring one) on the pod port. Out: cluster DNS, the
        database on its port, and https (Genesys Cloud's API, whose addresses are not fixed)."""

        def namespace(name_: str) -> dict[str, Any]:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name_}}}

        sources = [namespace(spec.ingress_namespace)]
        if spec.monitoring_namespace:
            sources.append(namespace(spec.monitoring_namespace))
        egress: list[dict[str, Any]] = [
            {"to": [namespace("kube-system")], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"ports": [{"protocol": "TCP", "port": 443}]},
        ]
        if not spec.uses_sqlite:
            egress.insert(1, {"to": [{"ipBlock": {"cidr": spec.database_cidr}}],
                              "ports": [{"protocol": "TCP", "port": database_port(spec)}]})
        k8s.networking.v1.NetworkPolicy(f"{name}-network-policy", metadata=metadata, spec=_spec({
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": PORT}]}],
            "egress": egress,
        }), opts=opts)


def database_port(spec: ServiceDeployment) -> int:
    """The database URL's port (not secret), PostgreSQL's default when it names none."""
    assert spec.database_url is not None
    try:
        return urlsplit(spec.database_url.reveal()).port or DEFAULT_DATABASE_PORT
    except ValueError:
        return DEFAULT_DATABASE_PORT
