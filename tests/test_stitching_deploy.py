"""The stitching service deployed from the stack: Kubernetes resources under mocks, and the settings' refusals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from genesys_identity.errors import GenesysIdentityError
from genesys_identity.plan import MASK, Plan, evaluate
from tests.test_program import set_key

IMAGE = "registry.example.com/genesys-identity/stitching:1.4.2"


def kubernetes_stack(root: Path, monkeypatch: pytest.MonkeyPatch, database_url: str = "postgresql://stitching@db:5432/ids",
                     **keys: str) -> Plan:
    monkeypatch.setenv("GENESYS_IDENTITY_STITCHING_DATABASE_URL", database_url)
    set_key(root, "stitchingDeployment", "kubernetes")
    set_key(root, "stitchingImage", IMAGE)
    set_key(root, "stitchingKubeContext", "dev-cluster")
    for key, value in keys.items():
        set_key(root, key, value)
    return evaluate(root, "dev")


def by_type(plan: Plan, token: str) -> list[dict[str, Any]]:
    return [r for r in plan.resources if r["type"] == token]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def reveal(value: Any) -> Any:
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    return value


def test_deployment_service_and_secret_exist_with_probes_and_limits(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch)
    [deployment] = by_type(plan, "kubernetes:apps/v1:Deployment")
    spec = deployment["inputs"]["spec"]
    assert spec["replicas"] == 2 and spec["strategy"]["type"] == "RollingUpdate"
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == IMAGE
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e for e in container["env"]}
    assert "STITCHING_API_TOKEN" not in env and "STITCHING_DATABASE_URL" not in env  # files, never variables
    assert env["STITCHING_API_TOKEN_FILE"]["value"] == "/var/run/secrets/stitching/api-token"
    assert env["STITCHING_DATABASE_URL_FILE"]["value"] == "/var/run/secrets/stitching/database-url"
    assert {"name": "secrets", "mountPath": "/var/run/secrets/stitching", "readOnly": True} in container["volumeMounts"]
    assert {"name": "secrets", "secret": {"secretName": "stitching", "defaultMode": 0o440}} in pod["volumes"]
    assert env["STITCHING_CONTEXT_WINDOW"]["value"] == "7200s"
    [service] = by_type(plan, "kubernetes:core/v1:Service")
    assert service["inputs"]["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    [secret] = by_type(plan, "kubernetes:core/v1:Secret")
    assert secret["inputs"]["stringData"] == MASK
    [ingress] = by_type(plan, "kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress["inputs"]["spec"]["tls"] == [{"hosts": ["stitching.dev.acme-support.example"], "secretName": "stitching-tls"}]
    [hpa] = by_type(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert (hpa["inputs"]["spec"]["minReplicas"], hpa["inputs"]["spec"]["maxReplicas"]) == (2, 6)
    assert by_type(plan, "kubernetes:policy/v1:PodDisruptionBudget")
    assert "postgresql://" not in plan.to_json()


def test_the_data_actions_call_the_deployed_service_with_the_same_secret(project_copy: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch)
    resources = {r["name"]: r for r in plan.resources}
    url = resources["data-actions-stitch-identity"]["inputs"]["configRequest"]["requestUrlTemplate"]
    assert url == "https://stitching.dev.acme-support.example/v1/stitch"
    raw = {r.name: r.inputs for r in plan.registrations}
    service_side, genesys_side = raw["stitching-secret"]["stringData"], raw["data-actions-credential"]["fields"]
    assert is_secret(service_side) and is_secret(genesys_side)
    assert reveal(service_side)["api-token"] == reveal(genesys_side)["token"] == "(result of stitching-caller-token)"


def test_sqlite_with_more_than_one_replica_is_refused(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GenesysIdentityError) as refused:
        kubernetes_stack(project_copy, monkeypatch, database_url="sqlite:////data/stitching.db")
    message = str(refused.value)
    assert message.startswith("Pulumi.dev.yaml: genesys-identity:stitchingReplicas (2, up to 6) needs PostgreSQL")
    assert "sqlite:" not in message  # the secret's value never reaches a message


def test_sqlite_with_one_replica_keeps_its_file_on_a_volume(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch, database_url="sqlite:////data/stitching.db",
                            stitchingReplicas="1", stitchingMaxReplicas="1")
    [deployment] = by_type(plan, "kubernetes:apps/v1:Deployment")
    assert deployment["inputs"]["spec"]["strategy"] == {"type": "Recreate"}
    assert by_type(plan, "kubernetes:core/v1:PersistentVolumeClaim")
    assert not by_type(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("stitchingImage", "registry.example.com/stitching:latest", "uses :latest"),
    ("stitchingImage", "registry.example.com/stitching", "has no tag"),
    ("stitchingMaxReplicas", "1", "must be at least stitchingReplicas (2)"),
    ("stitchingDeployment", "nomad", "must be external or kubernetes"),
])
def test_bad_deployment_settings_name_the_key(project_copy: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str,
                                              expected: str) -> None:
    with pytest.raises(GenesysIdentityError, match=rf"genesys-identity:{key} .*{re.escape(expected)}"):
        kubernetes_stack(project_copy, monkeypatch, **{key: value})


def test_the_external_target_only_takes_the_url(project_copy: Path) -> None:
    plan = evaluate(project_copy, "dev")
    assert not [r for r in plan.resources if r["type"].startswith("kubernetes:")]
    assert "stitchingEnrollmentToken" not in plan.document["outputs"]  # that service keeps its own
    url = {r["name"]: r for r in plan.resources}["data-actions-end-web-session"]["inputs"]["configRequest"]
    assert url["requestUrlTemplate"] == "https://stitching.dev.acme-support.example/v1/sessions/end"


def test_every_kubernetes_resource_goes_through_the_stacks_own_cluster(project_copy: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch, stitchingKubeconfig="/etc/genesys-identity/kubeconfig")
    [provider] = by_type(plan, "pulumi:providers:kubernetes")
    assert provider["inputs"]["context"] == "dev-cluster"
    assert provider["inputs"]["kubeconfig"] == "/etc/genesys-identity/kubeconfig"
    kubernetes = [r for r in plan.resources if r["type"].startswith("kubernetes:")]
    assert kubernetes and {r["provider"] for r in kubernetes} == {provider["name"]}


def test_without_a_context_the_stack_refuses_the_ambient_cluster(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESYS_IDENTITY_STITCHING_DATABASE_URL", "postgresql://stitching@db:5432/ids")
    set_key(project_copy, "stitchingDeployment", "kubernetes")
    set_key(project_copy, "stitchingImage", IMAGE)
    with pytest.raises(GenesysIdentityError, match=r"genesys-identity:stitchingKubeContext is missing"):
        evaluate(project_copy, "dev")


def test_the_network_policy_lets_in_the_ingress_controller_only_and_out_dns_the_database_and_https(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch, database_url="postgresql://stitching@db:6432/ids",
                            stitchingDatabaseCidr="10.20.0.0/16")
    [policy] = by_type(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    spec = policy["inputs"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    egress = spec["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 6432}]} in egress
    assert {"ports": [{"protocol": "TCP", "port": 443}]} in egress
    assert any(rule.get("ports") == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}] for rule in egress)
    [ingress] = by_type(plan, "kubernetes:networking.k8s.io/v1:Ingress")
    assert [p["path"] for p in ingress["inputs"]["spec"]["rules"][0]["http"]["paths"]] == ["/v1"]  # no /metrics outside


def test_metrics_are_scraped_by_annotation_and_optionally_by_a_service_monitor(project_copy: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plain = kubernetes_stack(project_copy, monkeypatch)
    [deployment] = by_type(plain, "kubernetes:apps/v1:Deployment")
    annotations = deployment["inputs"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert not by_type(plain, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    with pytest.raises(GenesysIdentityError, match="stitchingMonitoringNamespace is missing"):
        kubernetes_stack(project_copy, monkeypatch, stitchingServiceMonitor="true")
    monitored = kubernetes_stack(project_copy, monkeypatch, stitchingServiceMonitor="true",
                                 stitchingMonitoringNamespace="monitoring")
    [monitor] = by_type(monitored, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    assert monitor["inputs"]["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    [policy] = by_type(monitored, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in \
        policy["inputs"]["spec"]["ingress"][0]["from"]


def test_an_existing_namespace_is_used_not_created(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch, stitchingCreateNamespace="false", stitchingNamespace="shared-apps")
    assert not by_type(plan, "kubernetes:core/v1:Namespace")
    [deployment] = by_type(plan, "kubernetes:apps/v1:Deployment")
    assert deployment["inputs"]["metadata"]["namespace"] == "shared-apps"


def test_the_service_reads_its_secrets_from_mounted_files(tmp_path: Path) -> None:
    from stitching.config import ServiceSettings

    (tmp_path / "api-token").write_text("t" * 32 + "\n")
    (tmp_path / "database-url").write_text("postgresql://stitching:pw@db:5432/ids\n")
    settings = ServiceSettings.from_environ({"STITCHING_API_TOKEN_FILE": str(tmp_path / "api-token"),
                                             "STITCHING_DATABASE_URL_FILE": str(tmp_path / "database-url")})
    assert settings.database_url == "postgresql://stitching:pw@db:5432/ids"
    assert "pw" not in repr(settings)


def test_the_policy_pack_passes_the_kubernetes_stack_and_catches_the_default_provider(project_copy: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from genesys_identity import policies

    plan = kubernetes_stack(project_copy, monkeypatch)
    assert policies.analyze(policies.analyzer_resources(plan.document)) == []
    (project_copy / "__main__.py").write_text(
        "import pulumi_kubernetes as k8s\n"
        "k8s.core.v1.ConfigMap('ambient', metadata={'name': 'x', 'namespace': 'default'}, data={'a': 'b'})\n")
    ambient = evaluate(project_copy, "dev")
    [violation] = policies.analyze(policies.analyzer_resources(ambient.document))
    assert violation.policy == "kubernetes-through-the-stacks-provider" and violation.mandatory
    assert violation.message.startswith("Kubernetes resource 'ambient' goes through the default provider (")


def test_the_enrollment_credential_is_its_own_secret_file_and_a_secret_output(project_copy: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    plan = kubernetes_stack(project_copy, monkeypatch)
    raw = {r.name: r.inputs for r in plan.registrations}
    data = reveal(raw["stitching-secret"]["stringData"])
    assert data["enrollment-token"] == "(result of stitching-enrollment-token)" != data["api-token"]
    [deployment] = by_type(plan, "kubernetes:apps/v1:Deployment")
    env = {e["name"]: e for e in deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STITCHING_ENROLLMENT_TOKEN_FILE"]["value"] == "/var/run/secrets/stitching/enrollment-token"
    assert plan.document["outputs"]["stitchingEnrollmentToken"] == MASK
