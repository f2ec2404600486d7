"""Which namer names, by configuration: the naming model when there is one (and, in ``auto``, its
key), else the offline namer; and the catalogue's ``naming_model`` checked on load."""

from __future__ import annotations

from pathlib import Path

import pytest
from parley_cli.fake_upstream import models_toml
from parley_namer.adapters.choice import build_namers
from parley_namer.adapters.llm import LlmNamer
from parley_namer.adapters.offline import OfflineNamer
from parley_namer.settings import NamerSettings
from parley_providers import load_catalogue


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(models_toml("http://127.0.0.1:9", naming_model="fake-openai"))
    return path


def settings(models: Path, **kwargs) -> NamerSettings:
    return NamerSettings(models_file=models, **kwargs)


def test_auto_names_with_the_model_only_when_its_key_is_set(models, monkeypatch) -> None:
    monkeypatch.delenv("FAKE_API_KEY", raising=False)
    namer, offline = build_namers(settings(models))
    assert namer is offline and isinstance(namer, OfflineNamer)
    monkeypatch.setenv("FAKE_API_KEY", "k")
    namer, _ = build_namers(settings(models))
    assert isinstance(namer, LlmNamer) and namer.label == "llm:fake-openai"


def test_the_naming_model_can_be_chosen_and_must_exist(models, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k")
    namer, _ = build_namers(settings(models, naming_model="fake-gemini"))
    assert isinstance(namer, LlmNamer) and namer.spec.provider == "gemini"
    with pytest.raises(ValueError, match="not in the catalogue"):
        build_namers(settings(models, naming_model="nope"))
    with pytest.raises(ValueError, match="no structured output"):
        build_namers(settings(models, naming_model="fake-session"))


def test_extractive_never_asks_a_model_and_llm_needs_one(models, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k")
    namer, offline = build_namers(settings(models, namer="extractive"))
    assert namer is offline
    bare = tmp_path / "bare.toml"
    bare.write_text(models_toml("http://127.0.0.1:9"))
    with pytest.raises(ValueError, match="needs a naming model"):
        build_namers(settings(bare, namer="llm"))
    monkeypatch.delenv("FAKE_API_KEY")
    namer, _ = build_namers(settings(models, namer="llm"))  # asked even without a key
    assert isinstance(namer, LlmNamer)


def test_the_bundled_catalogue_names_with_gemini_and_unknown_naming_models_are_refused(
    tmp_path,
) -> None:
    assert load_catalogue().naming_model == "gemini-2.5-flash"
    bad = tmp_path / "bad.toml"
    bad.write_text(models_toml("http://127.0.0.1:9", naming_model="missing"))
    with pytest.raises(ValueError, match="naming_model 'missing' is not listed"):
        load_catalogue(bad)
