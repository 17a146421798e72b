"""The bundled stitching service on Kubernetes: namespace, Secret, Deployment, Service, Ingress, PDB, HPA."""

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
        assert spec.target == "kubernetes" and spec.image and spec.database_url is not None
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": "stitching", "app.kubernetes.io/part-of": "genesys-identity",
                  "app.kubernetes.io/instance": args.instance}
        selector = {"app.kubernetes.io/name": "stitching", "app.kubernetes.io/instance": args.instance}

        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": spec.namespace, "labels": labels},
                                          opts=child)
        ns = spec.namespace
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        def _meta(object_name: str) -> Any:
            return {"name": object_name, "namespace": ns, "labels": labels}

        token = pulumi.Output.secret(args.caller_token)
        database_url = pulumi.Output.secret(spec.database_url.reveal())
        secret = k8s.core.v1.Secret(f"{name}-secret", metadata=_meta("stitching"),
                                    type="Opaque", string_data=_spec({"api-token": token, "database-url": database_url}),
                                    opts=child)
        # Pods roll when the token or the database URL changes (the digest of both is not secret: the token's
        # 48 random characters make it impossible to invert).
        revision = pulumi.Output.unsecret(pulumi.Output.all(token, database_url).apply(
            lambda parts: hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:16]))

        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
        if spec.uses_sqlite:
            claim = k8s.core.v1.PersistentVolumeClaim(f"{name}-data", metadata=_meta("stitching-data"),
                                                      spec=_spec({"accessModes": ["ReadWriteOnce"],
                                                            "resources": {"requests": {"storage": "1Gi"}}}), opts=child)
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": "stitching-data"}})
            child = pulumi.ResourceOptions(parent=self, depends_on=[namespace, claim])
        else:
            volumes.append({"name": "data", "emptyDir": {}})

        def secret_env(variable: str, key: str) -> dict[str, Any]:
            return {"name": variable, "valueFrom": {"secretKeyRef": {"name": "stitching", "key": key}}}

        probe = {"port": PORT}
        container = {
            "name": "stitching",
            "image": spec.image,
            "args": ["serve", "--host", "0.0.0.0", "--port", str(PORT)],
            "ports": [{"name": "http", "containerPort": PORT}],
            "env": [
                secret_env("STITCHING_API_TOKEN", "api-token"),
                secret_env("STITCHING_DATABASE_URL", "database-url"),
                {"name": "STITCHING_DEFAULT_REGION", "value": spec.default_phone_region},
                {"name": "STITCHING_CONTEXT_WINDOW", "value": _duration(args.context_window)},
                {"name": "STITCHING_SESSION_TIMEOUT", "value": _duration(args.session_timeout)},
                {"name": "STITCHING_DB_POOL_SIZE", "value": "10"},
            ],
            "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 10, "failureThreshold": 3},
            "startupProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 2, "failureThreshold": 30},
            "resources": {"requests": REQUESTS, "limits": LIMITS},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"}],
        }
        strategy = ({"type": "Recreate"} if spec.uses_sqlite else
                    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
        deployment = k8s.apps.v1.Deployment(f"{name}-deployment", metadata=_meta("stitching"), spec=_spec({
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": labels, "annotations": {"genesys-identity/secret-revision": revision}},
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
                "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": "stitching", "port": {"name": "http"}}}}]}}],
            }
            if spec.ingress_class:
                ingress_spec["ingressClassName"] = spec.ingress_class
            k8s.networking.v1.Ingress(f"{name}-ingress", metadata=_meta("stitching"),
                                      spec=_spec(ingress_spec),
                                      opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[service])))

        # The URL is only handed on once the Deployment exists, so the data actions follow what was deployed.
        self.url: pulumi.Output[str] = pulumi.Output.all(deployment.id, service.id).apply(lambda _: args.public_url)
        self.register_outputs({"url": self.url})
