"""The compose observability profile: Prometheus scrapes each service where it serves
/metrics, and Grafana gets the dashboard and a Prometheus data source that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from deploy_drift import SECRET_VALUE
from deploy_facts import DEPLOY, image_env, routes, services

PROMETHEUS = DEPLOY / "observability" / "prometheus.yml"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def scrape_problems(prometheus: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    """Targets that are not a Parley service's metrics port, and services not scraped."""
    image = image_env((DEPLOY / "Containerfile").read_text())
    by_entrypoint = services()
    problems: list[str] = []
    scraped: set[str] = set()
    for job in prometheus["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.partition(":")
                svc = compose["services"].get(host, {})
                facts = by_entrypoint.get((svc.get("command") or [""])[0])
                if facts is None:
                    problems.append(f"{target}: no Parley service {host} in compose")
                    continue
                own = {k: str(v) for k, v in svc["environment"].items() if "${" not in str(v)}
                env = {**image, **SECRET_VALUE, **own}  # interpolated values are no ports
                listens = facts.listen_port(
                    facts.settings({k: v for k, v in env.items() if k in facts.env_names})
                )
                if int(port) != listens:
                    problems.append(f"{target}: {host} serves /metrics on {listens}")
                if path not in routes(facts.name):
                    problems.append(f"{target}: {host} does not serve {path}")
                scraped.add(host)
    problems += [
        f"{name} is not scraped"
        for name in ("gateway", "chat", "namer", "tagger")
        if name not in scraped
    ]
    return problems


def test_prometheus_scrapes_every_service_where_it_serves_metrics() -> None:
    assert scrape_problems(yaml.safe_load(PROMETHEUS.read_text()), _compose()) == []


def test_a_wrong_scrape_port_is_caught() -> None:
    prometheus = yaml.safe_load(PROMETHEUS.read_text())
    prometheus["scrape_configs"][0]["static_configs"][1]["targets"] = ["chat:8081"]
    assert scrape_problems(prometheus, _compose()) == ["chat:8081: chat serves /metrics on 8080"]


def test_the_profile_mounts_files_that_exist_and_points_grafana_at_prometheus() -> None:
    compose = _compose()
    for name in ("prometheus", "grafana", "jaeger"):
        assert compose["services"][name]["profiles"] == ["observability"]
        for volume in compose["services"][name].get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / Path(source)).exists(), source
    datasources = yaml.safe_load(
        (DEPLOY / "observability" / "grafana" / "datasources.yaml").read_text()
    )
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    assert "9090:9090" in compose["services"]["prometheus"]["ports"][0]
