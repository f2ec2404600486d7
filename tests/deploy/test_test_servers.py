"""How the suite picks its servers: embedded by default, containers when asked, and the
containers are the images the compose file deploys."""

from __future__ import annotations

import pytest
import yaml
from containers import NATS_IMAGE, POSTGRES_IMAGE, server_mode
from deploy_facts import DEPLOY


def test_embedded_servers_stay_the_default() -> None:
    assert server_mode({}) == "embedded"
    assert server_mode({"PARLEY_TEST_SERVERS": ""}) == "embedded"
    assert server_mode({"PARLEY_TEST_SERVERS": "embedded"}) == "embedded"


def test_containers_are_chosen_by_the_environment() -> None:
    assert server_mode({"PARLEY_TEST_SERVERS": "containers"}) == "containers"
    assert server_mode({"PARLEY_TEST_SERVERS": " Containers "}) == "containers"


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="PARLEY_TEST_SERVERS"):
        server_mode({"PARLEY_TEST_SERVERS": "docker"})


def test_the_test_containers_run_the_deployed_images() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["nats"]["image"] == NATS_IMAGE
    assert compose["services"]["postgres"]["image"] == POSTGRES_IMAGE


def test_the_testcontainers_modules_are_installed() -> None:
    from testcontainers.community.nats import NatsContainer
    from testcontainers.community.postgres import PostgresContainer

    assert callable(PostgresContainer.get_connection_url)
    assert "jetstream" in NatsContainer.__init__.__code__.co_varnames
