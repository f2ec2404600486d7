"""Checks that the deploy files say what the code does: entrypoints, environment variable
names and values, ports, probe paths, grace periods and the consumers autoscaled on.

Each check returns a list of problems (empty when all is well), so a test can both assert the
committed files are clean and prove, on a broken copy, that a drift is caught.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from deploy_facts import ROOT, ServiceFacts, image_env, services
from parley_runtime.probe import candidate_ports
from pydantic import ValidationError

#: Stand-in values for variables taken from Secrets (their names are checked, not their values).
SECRET_VALUE = {
    "DATABASE_URL": "postgresql://parley:secret@db:5432/parley",
    "PARLEY_JWT_SECRET": "a-secret-of-at-least-sixteen-chars",
}


def check_env(facts: ServiceFacts, env: dict[str, str], where: str) -> tuple[list[str], Any]:
    """Problems with the variables ``env`` gives service ``facts``, and its settings from them."""
    problems = [
        f"{where}: {name} is not a setting of {facts.name}"
        for name in sorted(env)
        if name not in facts.env_names and not facts.extra_env_allowed(name)
    ]
    try:
        settings = facts.settings({k: v for k, v in env.items() if k in facts.env_names})
    except ValidationError as exc:
        return [*problems, f"{where}: {facts.name} refuses its settings: {exc}"], None
    if settings.health_host != "0.0.0.0":
        problems.append(f"{where}: PARLEY_HEALTH_HOST must be 0.0.0.0 to be reachable")
    return problems, settings


def check_containerfile(text: str) -> list[str]:
    """The image's default command is a service, its ENV names are settings, and it exposes
    the ports the services listen on."""
    problems: list[str] = []
    known = services()
    cmd = re.findall(r'^CMD \["([^"]+)"', text, re.M)
    if not cmd or cmd[-1] not in known:
        problems.append(f"Containerfile: CMD {cmd} is not a service entrypoint")
    env = image_env(text)
    names = set().union(*(f.env_names for f in known.values()))
    problems += [f"Containerfile: ENV {n} is no service's setting" for n in env if n not in names]
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", text, re.M) for p in line.split()}
    for facts in known.values():
        _, settings = check_env(facts, {**env, **SECRET_VALUE}, "Containerfile")
        if settings is not None and facts.listen_port(settings) not in exposed:
            problems.append(f"Containerfile: {facts.name}'s port is not in EXPOSE {exposed}")
    if "parley-probe" not in text:
        problems.append("Containerfile: no HEALTHCHECK with parley-probe")
    # Every workspace package the services need is rebuilt from its sources (see the file).
    rebuilt = set(re.findall(r"--reinstall-package (\S+)", text))
    for pyproject in [*ROOT.glob("services/*/pyproject.toml"), *ROOT.glob("libs/*/pyproject.toml")]:
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        if name != "parley-cli" and name not in rebuilt:
            problems.append(f"Containerfile: {name} is not rebuilt from its sources")
    return problems


def _interpolate(value: Any, defaults: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(3) or ""
        return defaults.get(name, default)

    return re.sub(r"\$\{(\w+)(:?[-?]([^}]*))?\}", one, str(value))


def check_compose(
    compose: dict[str, Any], dotenv: dict[str, str], image: dict[str, str]
) -> list[str]:
    """Each Parley service of the compose file runs a real entrypoint with real settings,
    publishes and probes the port it listens on, and waits for healthy servers."""
    problems: list[str] = []
    known = services()
    seen: set[str] = set()
    for svc_name, svc in compose["services"].items():
        command = svc.get("command") or []
        if not command or not str(command[0]).startswith("parley-"):
            continue
        where = f"compose {svc_name}"
        facts = known.get(command[0])
        if facts is None:
            problems.append(f"{where}: {command[0]} is not a service entrypoint")
            continue
        seen.add(facts.name)
        env = {k: _interpolate(v, dotenv) for k, v in (svc.get("environment") or {}).items()}
        found, settings = check_env(facts, {**image, **env}, where)
        problems += found
        if settings is None:
            continue
        port = facts.listen_port(settings)
        if port not in candidate_ports({**image, **env}):
            problems.append(f"{where}: parley-probe would not ask port {port}")
        if "parley-probe" not in " ".join(svc.get("healthcheck", {}).get("test", [])):
            problems.append(f"{where}: the health check is not parley-probe")
        for published in svc.get("ports", []):
            target = int(_interpolate(published, dotenv).rsplit(":", 1)[-1])
            if target != port:
                problems.append(f"{where}: publishes container port {target}, listens on {port}")
        for dep in ("nats", "postgres"):
            if (svc.get("depends_on") or {}).get(dep, {}).get("condition") != "service_healthy":
                problems.append(f"{where}: does not wait for {dep} to be healthy")
        secrets = set(svc.get("secrets", []))
        for name, value in env.items():
            if name.endswith("_FILE") and value.removeprefix("/run/secrets/") not in secrets:
                problems.append(f"{where}: {name} names a secret the service does not get")
        if svc.get("stop_grace_period"):
            grace = float(str(svc["stop_grace_period"]).removesuffix("s"))
            if grace <= facts.handler_bound_s(settings):
                problems.append(
                    f"{where}: stop_grace_period {grace} s is not past its longest handler"
                )
    missing = {f.name for f in known.values()} - seen
    problems += [f"compose: no service runs {name}" for name in sorted(missing)]
    return problems
