"""The deploy files, checked offline: the Containerfile linted (hadolint), the compose file
validated against the Compose specification, every kustomize overlay rendered and validated
against the Kubernetes schemas (and KEDA's ScaledObject schema), and no drift between them and
the code (entrypoints, settings, ports, probes). Each drift check is also shown to fail on a
broken copy of the files."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from deploy_drift import check_compose, check_containerfile
from deploy_facts import DEPLOY, image_env
from deploy_k8s import check_manifests

BIN = Path(sys.executable).parent
OVERLAYS = sorted(p.name for p in (DEPLOY / "k8s" / "overlays").iterdir() if p.is_dir())
#: The oldest and newest Kubernetes versions the manifests are validated against.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.latest_version())
KEDA_SCHEMA = DEPLOY / "schemas" / "keda-scaledobject-v1alpha1.json"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize`` of one overlay, as documents."""
    out = _run(BIN / "kubectl", "kustomize", DEPLOY / "k8s" / "overlays" / overlay)
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def _image() -> dict[str, str]:
    return image_env((DEPLOY / "Containerfile").read_text())


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _dotenv() -> dict[str, str]:
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_the_containerfile_passes_hadolint() -> None:
    out = _run(BIN / "hadolint", "--failure-threshold", "info", DEPLOY / "Containerfile")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_compose_file_follows_the_compose_specification() -> None:
    out = _run(
        BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml"
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_each_overlay_renders_to_valid_kubernetes_objects(overlay: str, version: str) -> None:
    keda = json.loads(KEDA_SCHEMA.read_text())
    kinds = set()
    for doc in rendered(overlay):
        kinds.add(doc["kind"])
        if doc["apiVersion"].startswith("keda.sh/"):
            assert doc["kind"] == "ScaledObject"
            jsonschema.validate(doc, keda)
        else:
            kubernetes_validate.validate(doc, version, strict=True)
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget", "ConfigMap"} <= kinds


def test_prod_autoscales_the_gateway_on_cpu_and_workers_on_their_backlog() -> None:
    docs = rendered("prod")
    hpas = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert [h["spec"]["scaleTargetRef"]["name"] for h in hpas] == ["gateway"]
    assert hpas[0]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    assert sorted(scaled) == ["chat", "namer", "tagger"]
    assert {t["type"] for s in scaled.values() for t in s["spec"]["triggers"]} == {"nats-jetstream"}


def test_the_keda_schema_refuses_a_broken_scaled_object() -> None:
    keda = json.loads(KEDA_SCHEMA.read_text())
    scaled = next(d for d in rendered("prod") if d["kind"] == "ScaledObject")
    broken = copy.deepcopy(scaled)
    del broken["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, keda)


def test_the_containerfile_matches_the_code() -> None:
    assert check_containerfile((DEPLOY / "Containerfile").read_text()) == []


def test_the_compose_file_matches_the_code() -> None:
    assert check_compose(_compose(), _dotenv(), _image()) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_matches_the_code(overlay: str) -> None:
    assert check_manifests(list(rendered(overlay)), _image()) == []


def _container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
    return dep["spec"]["template"]["spec"]["containers"][0]


def test_a_manifest_naming_a_setting_the_code_lacks_fails() -> None:
    docs = copy.deepcopy(list(rendered("dev")))
    _container(docs, "chat")["env"].append({"name": "PARLEY_TURN_DEADLINE", "value": "60"})
    assert check_manifests(docs, _image()) == [
        "Deployment chat: PARLEY_TURN_DEADLINE is not a setting of chat"
    ]


def test_a_manifest_with_a_wrong_port_probe_or_consumer_fails() -> None:
    docs = copy.deepcopy(list(rendered("prod")))
    gateway = _container(docs, "gateway")
    gateway["ports"][0]["containerPort"] = 8001
    _container(docs, "tagger")["readinessProbe"]["httpGet"]["path"] = "/ready"
    next(d for d in docs if d["kind"] == "ScaledObject")["spec"]["triggers"][0]["metadata"][
        "consumer"
    ] = "chatter"
    problems = "\n".join(check_manifests(docs, _image()))
    assert "Deployment gateway: listens on 8000, declares ports [8001]" in problems
    assert "tagger does not serve" in problems
    assert "has no consumer chatter" in problems


def test_a_compose_file_naming_a_setting_the_code_lacks_fails() -> None:
    compose = _compose()
    compose["services"]["namer"]["environment"]["PARLEY_NAMER_MODEL"] = "x"
    compose["services"]["gateway"]["ports"] = ["8000:8080"]
    problems = check_compose(compose, _dotenv(), _image())
    assert "compose namer: PARLEY_NAMER_MODEL is not a setting of namer" in problems
    assert "compose gateway: publishes container port 8080, listens on 8000" in problems


def test_a_containerfile_with_an_unknown_command_or_setting_fails() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    broken = text.replace('CMD ["parley-gateway"]', 'CMD ["parley-api"]').replace(
        "PARLEY_ENV=prod", "PARLEY_ENVIRONMENT=prod"
    )
    broken = broken.replace("--reinstall-package parley-providers ", "")
    problems = check_containerfile(broken)
    assert any("parley-api" in p for p in problems)
    assert "Containerfile: parley-providers is not rebuilt from its sources" in problems
    assert "Containerfile: ENV PARLEY_ENVIRONMENT is no service's setting" in problems


def test_the_base_catalogue_is_the_bundled_one() -> None:
    from importlib import resources

    bundled = (resources.files("parley_providers") / "models.toml").read_text()
    assert (DEPLOY / "k8s" / "base" / "models.toml").read_text() == bundled


def test_prod_relies_on_what_the_nats_and_postgres_values_provide() -> None:
    services_dir = DEPLOY / "k8s" / "prod-services"
    nats = yaml.safe_load((services_dir / "nats-values.yaml").read_text())
    cluster = yaml.safe_load((services_dir / "cloudnative-pg-cluster.yaml").read_text())
    docs = rendered("prod")
    assert nats["config"]["jetstream"]["enabled"] and nats["config"]["jetstream"]["fileStore"]
    assert nats["config"]["cluster"]["replicas"] >= 3
    major, minor = (int(x) for x in nats["container"]["image"]["tag"].split(".")[:2])
    assert (major, minor) >= (2, 10)
    settings = next(d for d in docs if d["kind"] == "ConfigMap" and "NATS_URL" in d["data"])
    assert settings["data"]["NATS_URL"] == "nats://nats.nats.svc.cluster.local:4222"
    assert (
        1 < int(settings["data"]["PARLEY_STREAM_REPLICAS"]) <= nats["config"]["cluster"]["replicas"]
    )
    for scaled in (d for d in docs if d["kind"] == "ScaledObject"):
        endpoint = scaled["spec"]["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"]
        assert (
            endpoint == f"nats-headless.nats.svc.cluster.local:{nats['config']['monitor']['port']}"
        )
    # CloudNativePG writes <cluster>-app with the application user's uri.
    assert cluster["metadata"]["namespace"] == "parley"
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "parley", "owner": "parley"}
    assert cluster["spec"]["imageName"].rsplit(":", 1)[1].startswith("16.")
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        refs = [
            e["valueFrom"]["secretKeyRef"]
            for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
            if e["name"] == "DATABASE_URL"
        ]
        assert refs == [{"name": f"{cluster['metadata']['name']}-app", "key": "uri"}]
    assert {d["metadata"].get("namespace") for d in docs} == {"parley"}
