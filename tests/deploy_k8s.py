"""Checks of rendered Kubernetes manifests against the code (see :mod:`deploy_drift`)."""

from __future__ import annotations

from typing import Any

from deploy_drift import SECRET_VALUE, check_env
from deploy_facts import durables, routes, services

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def container_env(
    container: dict[str, Any], configmaps: dict[str, Any], image: dict[str, str]
) -> dict[str, str]:
    """The environment a container starts with: image, then ConfigMaps, then its own env."""
    env = dict(image)
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        env.update(configmaps.get(ref, {}).get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        else:
            env[var["name"]] = SECRET_VALUE.get(var["name"], "from-a-secret")
    return env


def _check_container(
    facts: Any, dep: dict[str, Any], c: dict[str, Any], env: dict[str, str]
) -> list[str]:
    where = f"Deployment {dep['metadata']['name']}"
    problems, settings = check_env(facts, env, where)
    if settings is None:
        return problems
    port = facts.listen_port(settings)
    named = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    if port not in named.values():
        problems.append(f"{where}: listens on {port}, declares ports {sorted(named.values())}")
    for kind in PROBES:
        probe = c.get(kind, {}).get("httpGet")
        if probe is None:
            problems.append(f"{where}: no HTTP {kind}")
            continue
        path = probe["path"].split("?")[0]
        if path not in routes(facts.name):
            problems.append(f"{where}: {kind} asks {path}, which {facts.name} does not serve")
        target = named.get(probe["port"], probe["port"])
        if target != port:
            problems.append(f"{where}: {kind} asks port {probe['port']}, it listens on {port}")
    pod = dep["spec"]["template"]
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    if grace <= facts.handler_bound_s(settings):
        problems.append(f"{where}: grace period {grace} s is not past its longest handler")
    scrape = pod["metadata"].get("annotations", {}).get("prometheus.io/port")
    if scrape is not None and int(scrape) != port:
        problems.append(f"{where}: metrics annotated on port {scrape}, served on {port}")
    sc, psc = c.get("securityContext", {}), pod["spec"].get("securityContext", {})
    if not (
        psc.get("runAsNonRoot")
        and sc.get("allowPrivilegeEscalation") is False
        and sc.get("capabilities", {}).get("drop") == ["ALL"]
        and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    ):
        problems.append(f"{where}: the security context is not restricted")
    resources = c.get("resources", {})
    if not (resources.get("requests", {}).get("cpu") and resources.get("limits", {}).get("memory")):
        problems.append(f"{where}: no CPU request or memory limit")
    return problems


def check_manifests(docs: list[dict[str, Any]], image: dict[str, str]) -> list[str]:
    """Problems in one rendered overlay: the four services' Deployments, the gateway's Service
    and Ingress, PDBs, and what the autoscalers target."""
    problems: list[str] = []
    known = services()
    configmaps = _by_kind(docs, "ConfigMap")
    deployments = _by_kind(docs, "Deployment")
    running: dict[str, tuple[Any, dict[str, str], dict[str, Any]]] = {}
    for name, dep in deployments.items():
        for c in dep["spec"]["template"]["spec"]["containers"]:
            command = (c.get("command") or [""])[0]
            if not command.startswith("parley-"):
                continue
            facts = known.get(command)
            if facts is None:
                problems.append(f"Deployment {name}: {command} is not a service entrypoint")
                continue
            env = container_env(c, configmaps, image)
            problems += _check_container(facts, dep, c, env)
            running[name] = (facts, env, c)
    missing = {f.name for f in known.values()} - {facts.name for facts, _, _ in running.values()}
    problems += [f"no Deployment runs {name}" for name in sorted(missing)]
    pdb_targets = {
        p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name")
        for p in _by_kind(docs, "PodDisruptionBudget").values()
    }
    problems += [f"Deployment {n}: no PodDisruptionBudget" for n in running if n not in pdb_targets]
    services_ = _by_kind(docs, "Service")
    for name, svc in services_.items():
        target = svc["spec"]["selector"].get("app.kubernetes.io/name")
        if target in running:
            ports = {p.get("name") for p in running[target][2].get("ports", [])}
            for p in svc["spec"]["ports"]:
                if p.get("targetPort") not in ports:
                    problems.append(
                        f"Service {name}: targetPort {p.get('targetPort')} is not a port of {target}"
                    )
    for name, ing in _by_kind(docs, "Ingress").items():
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = services_.get(backend["name"])
                if svc is None or backend["port"].get("name") not in {
                    p.get("name") for p in svc["spec"]["ports"]
                }:
                    problems.append(f"Ingress {name}: no Service port {backend}")
    for name, hpa in _by_kind(docs, "HorizontalPodAutoscaler").items():
        if hpa["spec"]["scaleTargetRef"]["name"] not in running:
            problems.append(f"HPA {name}: targets no Parley Deployment")
    for name, so in _by_kind(docs, "ScaledObject").items():
        target = so["spec"]["scaleTargetRef"]["name"]
        if target not in running:
            problems.append(f"ScaledObject {name}: targets no Parley Deployment")
            continue
        facts, env, _ = running[target]
        stream = facts.settings({k: v for k, v in env.items() if k in facts.env_names}).stream
        for trigger in so["spec"]["triggers"]:
            meta = trigger["metadata"]
            if meta.get("consumer") not in durables(facts.name):
                problems.append(
                    f"ScaledObject {name}: {target} has no consumer {meta.get('consumer')}"
                )
            if meta.get("stream") != stream:
                problems.append(
                    f"ScaledObject {name}: stream {meta.get('stream')}, {target} uses {stream}"
                )
    return problems
