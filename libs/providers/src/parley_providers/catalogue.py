"""The model catalogue: which models exist and who answers each (a TOML file).

The file (``PARLEY_MODELS_FILE``, else the bundled ``models.toml``) holds ``default_model``, an
optional ``naming_model`` (the model that names sessions) and one ``[[models]]`` table per model::

    [[models]]
    name = "gpt-4.1-mini"          # what sessions name
    provider = "openai"            # gemini | openai | openai-compatible | session-http | echo | replay
    model_id = "gpt-4.1-mini"      # the provider's name of the model (default: name)
    base_url = "https://..."       # optional: another endpoint (a proxy, a local server, the fake)
    api_key_env = "OPENAI_API_KEY" # the environment variable holding the key (optional)
    timeout_s = 60                 # one call's timeout, seconds
    max_concurrency = 4            # calls in flight at once per process

API keys come only from the environment: ``<api_key_env>``, or a file named by
``<api_key_env>_FILE`` (a mounted secret). They are never logged.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ProviderName = Literal["gemini", "openai", "openai-compatible", "session-http", "echo", "replay"]

#: Providers that need no key and no network.
OFFLINE_PROVIDERS = frozenset({"echo", "replay"})


class ModelSpec(BaseModel):
    """One model of the catalogue (see the module docstring for the fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    provider: ProviderName
    model_id: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_concurrency: int = Field(default=4, ge=1)
    description: str = ""

    @field_validator("model_id")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        return value.strip()

    @property
    def upstream_model(self) -> str:
        """The provider's name of the model (``model_id``, else ``name``)."""
        return self.model_id or self.name

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The API key from the environment (or the file ``<api_key_env>_FILE`` names); None if
        the model needs none or it is missing."""
        if not self.api_key_env:
            return None
        env = os.environ if environ is None else environ
        if env.get(self.api_key_env):
            return env[self.api_key_env]
        key_file = env.get(f"{self.api_key_env}_FILE")
        if key_file and Path(key_file).is_file():
            return Path(key_file).read_text().strip() or None
        return None

    def key_missing(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether the model needs a key that the environment does not give."""
        return bool(self.api_key_env) and self.api_key(environ) is None


class Catalogue(BaseModel):
    """The models, by name, the default for a session created without one, and the model that
    names sessions (``naming_model``; None: sessions are named offline)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_model: str = "echo-1"
    naming_model: str | None = None
    models: tuple[ModelSpec, ...]

    def get(self, name: str) -> ModelSpec | None:
        """The model called ``name``, or None."""
        return next((m for m in self.models if m.name == name), None)

    def names(self) -> list[str]:
        """Every model name, in file order."""
        return [m.name for m in self.models]

    def unusable(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Models that cannot be called here, with why (``"GEMINI_API_KEY is not set"``)."""
        return {
            m.name: f"{m.api_key_env} is not set" for m in self.models if m.key_missing(environ)
        }


def bundled_path() -> Path:
    """The catalogue shipped with Parley."""
    return Path(str(resources.files("parley_providers") / "models.toml"))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the catalogue from ``path``, else ``PARLEY_MODELS_FILE``, else the bundled one.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not TOML, a model is malformed, names repeat, or the default (or the
            naming model) is unknown.
    """
    chosen = Path(path or os.environ.get("PARLEY_MODELS_FILE") or bundled_path())
    try:
        data = tomllib.loads(chosen.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{chosen}: not TOML: {exc}") from exc
    catalogue = Catalogue.model_validate(data)
    names = catalogue.names()
    if len(set(names)) != len(names):
        raise ValueError(f"{chosen}: model names repeat")
    if catalogue.get(catalogue.default_model) is None:
        raise ValueError(f"{chosen}: default_model {catalogue.default_model!r} is not listed")
    if catalogue.naming_model is not None and catalogue.get(catalogue.naming_model) is None:
        raise ValueError(f"{chosen}: naming_model {catalogue.naming_model!r} is not listed")
    return catalogue
