"""The Grafana dashboard queries only metrics the services expose."""

from __future__ import annotations

import json
import re
from typing import Any

from deploy_facts import DEPLOY, routes
from prometheus_client import REGISTRY

DASHBOARD = DEPLOY / "grafana" / "parley-dashboard.json"
#: Metric names: Parley's own and those of the Prometheus client's process and Python collectors.
_METRIC = re.compile(r"\b((?:parley|process|python)_[a-z0-9_]+)\b")
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def exposed_metric_names() -> set[str]:
    """The sample names of every metric registered once the four services are built."""
    for name in ("gateway", "chat", "namer", "tagger"):
        assert "/metrics" in routes(name)
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def queried_metric_names(dashboard: dict[str, Any]) -> set[str]:
    """Every metric name in the dashboard's panel targets and template queries."""
    texts = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    texts += [v.get("definition", "") for v in dashboard["templating"]["list"]]
    return {name for text in texts for name in _METRIC.findall(text)}


def missing_metrics(dashboard: dict[str, Any]) -> set[str]:
    """The metrics the dashboard queries that no service exposes."""
    return queried_metric_names(dashboard) - exposed_metric_names()


def test_every_panel_queries_something() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert _METRIC.search(target["expr"]), (panel["title"], target["expr"])


def test_every_queried_metric_exists_in_the_code() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = queried_metric_names(dashboard)
    assert {
        "parley_events_handled_total",
        "parley_event_handling_seconds_bucket",
        "parley_outbox_published_total",
    } <= queried
    assert missing_metrics(dashboard) == set()


def test_a_dashboard_querying_an_unknown_metric_is_caught() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    dashboard["panels"][0]["targets"][0]["expr"] = "sum(rate(parley_replies_total[5m]))"
    assert missing_metrics(dashboard) == {"parley_replies_total"}
