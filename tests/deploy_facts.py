"""What the code says a deployment must match: each service's entrypoint, settings and the
environment variables naming them, the port it listens on, its HTTP routes, its durable
consumers, and how long its longest handler may run.

Read from the code itself (pydantic settings, console scripts, the built apps), never copied,
so the deploy checks fail when the code and a manifest part ways.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"

#: The settings that bound each service's longest handler (seconds); the chassis drains its
#: consumers for up to 15 s on shutdown, which bounds the rest.
LONGEST_HANDLER = {
    "gateway": "stream_timeout_s",
    "chat": "turn_deadline_s",
    "namer": "attempt_timeout_s",
}
DRAIN_S = 15.0


@dataclass(frozen=True)
class ServiceFacts:
    """One service as its code defines it."""

    name: str
    entrypoint: str
    settings_cls: type[BaseSettings]

    @property
    def env_names(self) -> set[str]:
        """Every environment variable that sets one of its settings."""
        return settings_env_names(self.settings_cls)

    def extra_env_allowed(self, name: str) -> bool:
        """Variables read outside its settings: OpenTelemetry's ``OTEL_*``, and for a service
        that calls providers (one with a ``models_file`` setting but the gateway, which only
        checks model names) the keys the model catalogue names (or ``<key>_FILE``)."""
        if name.startswith("OTEL_"):
            return True
        calls_providers = "models_file" in self.settings_cls.model_fields and self.name != "gateway"
        return calls_providers and name in provider_key_names()

    def settings(self, env: dict[str, str]) -> Any:
        """Its settings as a process with exactly ``env`` would read them.

        Raises:
            pydantic.ValidationError: a value the settings refuse.
        """
        with mock.patch.dict(os.environ, env, clear=True):
            return self.settings_cls()

    def listen_port(self, settings: Any) -> int:
        """The port its HTTP server (API or health endpoints) binds."""
        return int(settings.port if self.name == "gateway" else settings.health_port)

    def handler_bound_s(self, settings: Any) -> float:
        """The longest a handler may run before shutdown must wait for it, in seconds."""
        field = LONGEST_HANDLER.get(self.name)
        return max(DRAIN_S, float(getattr(settings, field)) if field else 0.0)


def settings_env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variable names of ``cls``'s fields (aliases, else prefix + NAME)."""
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


@cache
def provider_key_names() -> frozenset[str]:
    """The API key variables of the bundled model catalogue, and their ``_FILE`` forms."""
    from parley_providers.catalogue import load_catalogue

    keys = {m.api_key_env for m in load_catalogue().models if m.api_key_env}
    return frozenset(keys | {f"{k}_FILE" for k in keys})


@cache
def services() -> dict[str, ServiceFacts]:
    """The four services by entrypoint (console script), checked against their pyproject."""
    from parley_chat.settings import ChatSettings
    from parley_gateway.settings import GatewaySettings
    from parley_namer.settings import NamerSettings
    from parley_tagger.settings import TaggerSettings

    classes = {
        "gateway": GatewaySettings,
        "chat": ChatSettings,
        "namer": NamerSettings,
        "tagger": TaggerSettings,
    }
    found: dict[str, ServiceFacts] = {}
    for name, cls in classes.items():
        project = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text())
        for script, target in project["project"]["scripts"].items():
            if target == f"parley_{name}.main:main":
                found[script] = ServiceFacts(name, script, cls)
    return found


@cache
def routes(name: str) -> frozenset[str]:
    """The HTTP paths service ``name``'s app serves (its build, not started)."""
    app = built(name)[1]
    return frozenset(getattr(route, "path", "") for route in app.routes)


@cache
def durables(name: str) -> frozenset[str]:
    """The durable JetStream consumers service ``name`` runs."""
    return frozenset(consumer.spec.durable for consumer in built(name)[0].consumers)


@cache
def built(name: str) -> tuple[Any, Any]:
    """Service ``name`` and its app, built with default settings (offline upstream), not started."""
    module = __import__(f"parley_{name}.app", fromlist=["build"])
    facts = next(f for f in services().values() if f.name == name)
    with mock.patch.dict(os.environ, {"PARLEY_UPSTREAM": "echo"}, clear=True):
        return module.build(facts.settings_cls())


def image_env(containerfile: str, *, everything: bool = False) -> dict[str, str]:
    """The ``ENV`` of the Containerfile's final stage (``KEY=value`` forms): the services'
    settings only, or ``everything``."""
    stage = containerfile.rsplit("\nFROM ", 1)[-1]
    logical = stage.replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in logical.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                key, _, value = pair.partition("=")
                env[key] = value
    if everything:
        return env
    return {k: v for k, v in env.items() if k.startswith(("PARLEY_", "NATS_", "DATABASE_"))}
